"""Group commit (Router.packet_ins): the home registrations that arrive together are
kept in one journal transaction, and none is acknowledged unless it committed."""
import sqlite3

from ryu.ofproto import ofproto_v1_3_parser as parser

from benchmarks.core import NOW, build_frames, make_router, reference_config
from mipv6_sdn import mobility, packets
from mipv6_sdn.journal import SqliteBindingStore

COUNT = 12


class CountingConnection:
    """Stands in for the journal's SQLite connection: counts the commits, and makes
    them fail (as a full disk or an I/O error does at commit time) when told to."""

    def __init__(self, db):
        self.db, self.commits, self.fail_commit = db, 0, False

    def execute(self, sql, *args):
        if sql == "COMMIT":
            if self.fail_commit:
                raise sqlite3.OperationalError("disk I/O error")
            self.commits += 1
        return self.db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.db, name)


def journaled_router(tmp_path):
    store = SqliteBindingStore(str(tmp_path / "journal.sqlite"))
    store.db = CountingConnection(store.db)
    router, _ = make_router(reference_config(COUNT), store)
    return router, store


def ba_status(msgs):
    """The statuses of the BAs among ``msgs``, in order."""
    metas = [packets.parse_frame(m.data) for _, m in msgs if isinstance(m, parser.OFPPacketOut)]
    return [meta.mobility.message.status for meta in metas
            if meta.mobility is not None and isinstance(meta.mobility.message,
                                                        mobility.BindingAck)]


def batch(frames):
    return [(dpid, port, frame, False) for dpid, port, frame in frames]


def test_registrations_that_arrive_together_are_kept_in_one_commit(tmp_path):
    router, store = journaled_router(tmp_path)
    msgs = router.packet_ins(NOW, batch(build_frames(COUNT, 1, NOW)))
    assert store.db.commits == 1
    assert ba_status(msgs) == [0] * COUNT and len(router.home_agent.cache) == COUNT
    kept = SqliteBindingStore(str(tmp_path / "journal.sqlite")).load("home", NOW)
    assert len(kept) == COUNT
    # control: the same registrations one by one take a commit each
    (tmp_path / "one-by-one").mkdir()
    router, store = journaled_router(tmp_path / "one-by-one")
    for dpid, port, frame in build_frames(COUNT, 1, NOW):
        router.packet_in(NOW, dpid, port, frame)
    assert store.db.commits == COUNT


def test_a_group_that_cannot_commit_is_not_acknowledged_and_changes_nothing(tmp_path):
    router, store = journaled_router(tmp_path)
    first = build_frames(COUNT, 1, NOW)
    assert ba_status(router.packet_ins(NOW, batch(first))) == [0] * COUNT  # control
    bindings = {b.home_address: b.sequence for b in router.home_agent.cache}
    timestamps = dict(router.home_agent.last_timestamp)
    changes = dict(router.forwarding.changes)
    store.db.fail_commit = True
    assert router.packet_ins(NOW + 1, batch(build_frames(COUNT, 2, NOW + 1))) == []
    assert {b.home_address: b.sequence for b in router.home_agent.cache} == bindings
    assert router.home_agent.last_timestamp == timestamps
    assert router.forwarding.changes == changes
    store.db.fail_commit = False  # room again: the mobile nodes' retransmissions land
    msgs = router.packet_ins(NOW + 2, batch(build_frames(COUNT, 2, NOW + 2)))
    assert ba_status(msgs) == [0] * COUNT
    assert {b.sequence for b in router.home_agent.cache} == {2}


def test_a_second_registration_of_one_node_closes_the_group_and_is_taken_in_order(
        tmp_path):
    router, store = journaled_router(tmp_path)
    frames = build_frames(3, 1, NOW) + build_frames(1, 2, NOW + 0.5)  # MN 0 again
    msgs = router.packet_ins(NOW + 0.5, batch(frames))
    assert ba_status(msgs) == [0, 0, 0, 0] and store.db.commits == 2
    assert router.home_agent.cache.get(min(b.home_address
                                           for b in router.home_agent.cache)).sequence == 2


def test_a_group_admits_no_more_new_bindings_than_max_bindings(tmp_path):
    store = SqliteBindingStore(str(tmp_path / "journal.sqlite"))
    router, _ = make_router(reference_config(COUNT, max_bindings=5), store)
    statuses = ba_status(router.packet_ins(NOW, batch(build_frames(8, 1, NOW))))
    assert statuses == [0] * 5 + [mobility.INSUFFICIENT_RESOURCES] * 3
    assert len(router.home_agent.cache) == 5
