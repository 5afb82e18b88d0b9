"""Faults the controller must survive without losing or inventing anything (issue list
of docs/security.md, "Faults"): a journal that cannot commit, a switch that reconnects
during a handover, bindings that expire under load."""
import logging
import sqlite3

import pytest
from scapy.layers.inet6 import MIP6MH_BA

from benchmarks import core
from mipv6_sdn.journal import SqliteBindingStore
from mipv6_sdn.pipeline import CookieKind
from mipv6_sdn.router import Router
from mipv6_sdn.testing.core_harness import CONFIG, Harness, routed
from mipv6_sdn.testing.fake_switch import FakeSwitch
from tests import mipv6_frames as frames

CARE_OF = {"visit-a": "2001:db8:a:0:200:ff:fe00:100", "visit-b": "2001:db8:b:0:200:ff:fe00:100"}
AT = {"visit-a": (2, 1), "visit-b": (3, 1)}


def register(harness, link, seq, lifetime=420):
    """mn1's BU from ``link``: the BA statuses sent back."""
    harness.now += 1
    frame = frames.binding_update(care_of=CARE_OF[link], seq=seq, lifetime=lifetime,
                                  timestamp=frames.ntp(harness.now))
    sent = harness.run(harness.router.packet_in(harness.now, *AT[link], frame))
    return [f[MIP6MH_BA].status for _, _, f in sent if MIP6MH_BA in f]


def stored_bindings(path, now):
    store = SqliteBindingStore(str(path))
    try:
        return {str(b.home_address): str(b.care_of_address) for b in store.load("home", now)}
    finally:
        store.close()


def refuse_writes(action, *_):
    """An SQLite authorizer that refuses every write, as a full disk does in WAL mode
    (every write needs room in the write-ahead log)."""
    writes = (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE)
    return sqlite3.SQLITE_DENY if action in writes else sqlite3.SQLITE_OK


@pytest.mark.parametrize("fault", ["writes refused", "read-only"])
def test_a_journal_that_cannot_commit_acknowledges_nothing_and_changes_nothing(
        tmp_path, caplog, fault):
    path = tmp_path / "journal.sqlite"
    store = SqliteBindingStore(str(path))
    harness = Harness(router=Router(CONFIG, store=store))
    harness.learn("cn1")
    assert register(harness, "visit-a", 1) == [0]  # the control: accepted and kept
    kept = stored_bindings(path, harness.now)
    assert kept == {frames.MN1_HOME: CARE_OF["visit-a"]}
    if fault == "writes refused":
        store.db.set_authorizer(refuse_writes)
    else:
        store.db.execute("PRAGMA query_only = 1")
    before = (harness.router.view()["bindings"], dict(harness.router.home_agent.last_timestamp))
    flows = {dpid: len(s.entries) for dpid, s in harness.net.switches.items()}
    with caplog.at_level(logging.ERROR, logger="mipv6_sdn.journal"):
        for seq in (2, 3, 4):
            assert register(harness, "visit-b", seq) == []  # no accepting BA, no BA at all
    assert (harness.router.view()["bindings"],
            dict(harness.router.home_agent.last_timestamp)) == before
    assert {dpid: len(s.entries) for dpid, s in harness.net.switches.items()} == flows
    assert stored_bindings(path, harness.now) == kept
    assert len([r for r in caplog.records if "cannot keep changes" in r.message]) == 1
    store.db.execute("PRAGMA query_only = 0")
    store.db.set_authorizer(None)
    assert register(harness, "visit-b", 5) == [0]  # room again: accepted, kept
    assert stored_bindings(path, harness.now) == {frames.MN1_HOME: CARE_OF["visit-b"]}
    [(where, _)] = harness.net.send("cn1", routed("cn1", frames.MN1_HOME))
    assert where == "vb1"  # mn1 at visit-b's port 1 in the fake network


def test_a_switch_that_reconnects_during_a_handover_gets_the_new_placement():
    """The home switch is away while mn1's BU from visit-b is accepted; it comes back
    empty (as after a restart of Open vSwitch) and gets every rule of the new binding."""
    harness = Harness()
    harness.learn("cn1")
    assert register(harness, "visit-a", 1) == [0]
    harness.run(harness.router.switch_down(harness.now, 1))
    assert register(harness, "visit-b", 2) == [0]
    harness.net.switches[1] = FakeSwitch(1)
    harness.run(harness.router.switch_up(harness.now, 1, [1, 2, 3]))
    harness.run(harness.router.link_up(harness.now, 1, 3, 5, 1))
    harness.run(harness.router.link_up(harness.now, 5, 1, 1, 3))
    [(where, _)] = harness.net.send("cn1", routed("cn1", frames.MN1_HOME))
    assert where == "vb1"
    interception = [e for e in harness.net.switch(1).entries
                    if e.cookie >> 56 == CookieKind.BINDING]
    assert len(interception) == 1


def test_bindings_that_expire_under_load_leave_exactly_the_rules_of_the_rest():
    """400 mobile nodes register; half refresh; time passes beyond the others' lifetime
    while refreshes keep coming. The expired ones leave no rule behind; the switches
    hold the rules of the live bindings and a constant."""
    count = 400
    config = core.reference_config(count)
    router, net = core.make_router(config)
    baseline = sum(len(s.entries) for s in net.switches.values())
    for dpid, port, frame in core.build_frames(count, 1, core.NOW):
        net.apply(router.packet_in(core.NOW, dpid, port, frame))
    assert len(router.home_agent.cache) == count
    later = core.NOW + core.LIFETIME - 10
    for dpid, port, frame in core.build_frames(count // 2, 2, later):
        net.apply(router.packet_in(later, dpid, port, frame))
    for step in range(30):  # the tick runs on, under refresh load
        net.apply(router.tick(later + step))
    assert len(router.home_agent.cache) == count // 2
    entries = sum(len(s.entries) for s in net.switches.values())
    binding_rules = sum(1 for s in net.switches.values() for e in s.entries if e.cookie >> 56
                        in (CookieKind.BINDING, CookieKind.SOURCE, CookieKind.HOST))
    # per binding: 3 of care-of forwarding, 2 of its home address's source validation,
    # 1 to switch to its MAC (each emulated mobile node has its own)
    assert binding_rules == 6 * (count // 2)
    assert entries - binding_rules == baseline
