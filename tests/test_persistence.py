"""Nothing the controller accepted is lost: the journal, restore, and reconciliation."""
import ipaddress
import sqlite3

from mipv6_sdn import ofmsg
from mipv6_sdn.binding_cache import HOME_CACHE, Attachment, Binding
from mipv6_sdn.journal import SqliteBindingStore
from mipv6_sdn.pipeline import CookieKind, Priority, Table, cookie, flow_identity
from mipv6_sdn.router import Router
from mipv6_sdn.testing.core_harness import CONFIG, PORTS, TRUNKS, Harness, routed
from tests import mipv6_frames as frames

HOME = ipaddress.IPv6Address(frames.MN1_HOME)
CARE_OF = "2001:db8:a:0:200:ff:fe00:100"


def a_binding(expires=500.0, sequence=4):
    return Binding(home_address=HOME, care_of_address=ipaddress.IPv6Address(CARE_OF),
                   sequence=sequence, lifetime=420, expires=expires, home_registration=True,
                   link_local=True, attachment=Attachment(2, 5, frames.MN1_MAC))


def test_journal_restores_live_bindings_and_state(tmp_path):
    store = SqliteBindingStore(tmp_path / "j.sqlite")
    store.save("home", a_binding())
    store.save("home", a_binding(sequence=5))
    store.save("other", a_binding(sequence=9))
    store.save_state("home", str(HOME), b"\xff" * 8)
    store.close()
    store = SqliteBindingStore(tmp_path / "j.sqlite")
    assert store.load("home", now=100.0) == [a_binding(sequence=5)]
    assert store.load("other", now=100.0) == [a_binding(sequence=9)]
    assert store.load_state("home") == {str(HOME): b"\xff" * 8}
    assert store.load_state("other") == {}


def test_journal_forgets_removed_and_expired_bindings(tmp_path):
    store = SqliteBindingStore(tmp_path / "j.sqlite")
    store.save("home", a_binding())
    store.remove("home", HOME)
    assert store.load("home", now=100.0) == []
    store.save("home", a_binding(expires=50.0))
    assert store.load("home", now=100.0) == []


def first_format_journal(path, timestamp):
    """A journal as the first format wrote it: mn1 away, and its replay timestamp."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE binding (home_address TEXT PRIMARY KEY, care_of_address TEXT NOT NULL,
            sequence INTEGER NOT NULL, lifetime INTEGER NOT NULL, expires REAL NOT NULL,
            home_registration INTEGER NOT NULL, link_local INTEGER NOT NULL,
            dpid INTEGER, port INTEGER, mac TEXT);
        CREATE TABLE replay (home_address TEXT PRIMARY KEY, timestamp INTEGER NOT NULL);""")
    db.execute("INSERT INTO binding VALUES (?, ?, 4, 420, 500.0, 1, 1, 2, 5, ?)",
               (str(HOME), CARE_OF, frames.MN1_MAC))
    db.execute("INSERT INTO replay VALUES (?, ?)", (str(HOME), timestamp - 2 ** 63))
    db.commit()
    db.close()


def test_a_journal_of_the_first_format_is_carried_over(tmp_path):
    """A journal written before the store held several caches keeps its bindings and
    replay timestamps (shifted into SQLite's signed integers then)."""
    first_format_journal(tmp_path / "j.sqlite", 2 ** 64 - 1)
    router = Router(CONFIG, store=SqliteBindingStore(tmp_path / "j.sqlite"))
    router.restore(100.0)
    assert router.home_agent.cache.get(HOME) == a_binding()
    assert router.home_agent.last_timestamp[HOME] == 2 ** 64 - 1


def test_carrying_over_never_replaces_newer_state(tmp_path):
    """Old tables beside new ones (an older build ran in between): the newer binding and
    the later replay timestamp win, so the replay window never reopens."""
    path = tmp_path / "j.sqlite"
    store = SqliteBindingStore(path)
    store.save(HOME_CACHE, a_binding(sequence=9))
    store.save_state(HOME_CACHE, str(HOME), (2 ** 40).to_bytes(8, "big"))
    store.close()
    first_format_journal(path, 2 ** 30)
    store = SqliteBindingStore(path)
    assert store.load(HOME_CACHE, now=100.0) == [a_binding(sequence=9)]
    assert store.load_state(HOME_CACHE) == {str(HOME): (2 ** 40).to_bytes(8, "big")}


def away_harness(store):
    harness = Harness(router=Router(CONFIG, store=store))
    harness.run(harness.router.port_up(harness.now, 2, 5))
    harness.net.hosts["mn1@visit-a"] = (2, 5)
    harness.net.host_at[(2, 5)] = "mn1@visit-a"
    harness.learn("cn1")
    return harness


def test_binding_is_journaled_before_the_acknowledgement(tmp_path):
    store = SqliteBindingStore(tmp_path / "j.sqlite")
    harness = away_harness(store)
    seen = []
    original = store.save
    store.save = lambda cache, binding: (seen.append(
        (cache, binding.sequence, len(harness.router.forwarding.placements))),
        original(cache, binding))
    msgs = harness.router.packet_in(harness.now, 2, 5, frames.binding_update(
        care_of=CARE_OF, seq=3, timestamp=frames.ntp(harness.now)))
    # Written before the binding's rules were planned, so before the BA was built.
    assert seen == [("home", 3, 0)] and msgs
    assert SqliteBindingStore(tmp_path / "j.sqlite").load("home", harness.now)[0].sequence == 3


def test_restarted_controller_restores_bindings_and_reconciles_the_switches(tmp_path):
    path = tmp_path / "j.sqlite"
    before = away_harness(SqliteBindingStore(path))
    stamp = frames.ntp(before.now)
    before.run(before.router.packet_in(before.now, 2, 5, frames.binding_update(
        care_of=CARE_OF, seq=3, timestamp=stamp)))
    # A stale rule the old controller left behind, and one the switch lost.
    stale = cookie(CookieKind.BINDING, 0xDEAD)
    before.net.switch(1).apply(ofmsg.flow_add(Table.ROUTING, Priority.BINDING, ofmsg.match(
        eth_type=0x86DD, ipv6_dst="2001:db8:1::dead"), [], stale))
    assert any(e.cookie == stale for e in before.net.switch(1).entries)
    # The controller restarts (SIGKILL); the switches keep their rules.
    router = Router(CONFIG, store=SqliteBindingStore(path))
    router.restore(before.now + 5)
    assert router.home_agent.cache.get(HOME).sequence == 3
    assert router.home_agent.last_timestamp[HOME] == stamp
    before.router = router
    for dpid, ports in PORTS.items():
        before.run(router.switch_up(before.now, dpid, ports + ([5] if dpid == 2 else [])))
    for a, ap, b, bp in TRUNKS:
        before.run(router.link_up(before.now, a, ap, b, bp))
        before.run(router.link_up(before.now, b, bp, a, ap))
    [(where, _)] = before.net.send("cn1", routed("cn1", frames.MN1_HOME))
    assert where == "mn1@visit-a"  # forwarding never depended on the dead controller
    for dpid in PORTS:
        before.run(router.reconcile(before.now, dpid, before.net.switch(dpid).flows()))
        ours = {flow_identity(t, p, m) for t, p, m, c in before.net.switch(dpid).flows()
                if c >> 56 in {int(k) for k in CookieKind}}
        assert ours == {flow_identity(r.table_id, r.priority, r.match)
                        for r in router.desired_rules(dpid)}
    assert router.reconcile(before.now, 1, before.net.switch(1).flows()) == []
    assert all(e.cookie != stale for e in before.net.switch(1).entries)
    [(where, _)] = before.net.send("cn1", routed("cn1", frames.MN1_HOME))
    assert where == "mn1@visit-a"
    # A replay of the BU that made the binding is still refused after the restart.
    replay = router.packet_in(before.now + 6, 2, 5, frames.binding_update(
        care_of=CARE_OF, seq=4, timestamp=stamp))
    assert router.home_agent.cache.get(HOME).sequence == 3 and replay


def test_a_mask_of_all_ones_is_no_mask_as_ovs_reports_it():
    from ryu.ofproto import ofproto_v1_3_parser as parser
    exact = parser.OFPMatch(eth_type=0x86DD, ipv6_dst="2001:db8:1::1")
    masked = parser.OFPMatch(eth_type=0x86DD, ipv6_dst=("2001:db8:1::1", "ffff:" * 7 + "ffff"))
    assert flow_identity(Table.ROUTING, Priority.ROUTER_ADDRESS, exact) == \
        flow_identity(Table.ROUTING, Priority.ROUTER_ADDRESS, masked)
    half = parser.OFPMatch(eth_type=0x86DD, ipv6_dst=("2001:db8:1::", "ffff:ffff:ffff:ffff::"))
    assert flow_identity(Table.ROUTING, Priority.ROUTER_ADDRESS, half) != \
        flow_identity(Table.ROUTING, Priority.ROUTER_ADDRESS, exact)


def test_reconciliation_leaves_trunk_and_path_rules_to_topology(tmp_path):
    harness = Harness()
    harness.learn("cn1")  # its source is bound at s4, which the restart does not touch

    def trunk_rules():
        return {flow_identity(e.table, e.priority, e.match) for e in harness.net.switch(5).entries
                if e.cookie >> 56 == CookieKind.TRUNK}
    before = trunk_rules()
    router = Router(CONFIG)  # restarted: knows no link yet
    harness.run(router.switch_up(harness.now, 5, PORTS[5]))
    harness.run(router.reconcile(harness.now, 5, harness.net.switch(5).flows()))
    assert before and trunk_rules() == before
    [(where, _)] = harness.net.send("cn1", routed("cn1", "2001:db8:1::10"))
    assert where == ("controller", 1, "controller")  # still label-switched through s5
