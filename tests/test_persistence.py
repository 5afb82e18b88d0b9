"""Nothing the controller accepted is lost: the journal, restore, and reconciliation."""
import ipaddress

from mipv6_sdn import ofmsg
from mipv6_sdn.binding_cache import Attachment, Binding, BindingEvent
from mipv6_sdn.journal import BindingJournal
from mipv6_sdn.pipeline import CookieKind, Priority, Table, cookie, flow_identity as rule_key
from mipv6_sdn.router import Router
from mipv6_sdn.testing.core_harness import CONFIG, PORTS, TRUNKS, Harness, routed
from tests import mipv6_frames as frames

HOME = ipaddress.IPv6Address(frames.MN1_HOME)
CARE_OF = "2001:db8:a:0:200:ff:fe00:100"


def a_binding(expires=500.0, sequence=4):
    return Binding(home_address=HOME, care_of_address=ipaddress.IPv6Address(CARE_OF),
                   sequence=sequence, lifetime=420, expires=expires, home_registration=True,
                   link_local=True, attachment=Attachment(2, 5, frames.MN1_MAC))


def test_journal_restores_live_bindings_and_replay_state(tmp_path):
    journal = BindingJournal(tmp_path / "j.sqlite")
    journal.record(BindingEvent.ADDED, a_binding())
    journal.record(BindingEvent.UPDATED, a_binding(sequence=5))
    journal.record_timestamp(HOME, 2 ** 64 - 1)
    journal.close()
    bindings, stamps = BindingJournal(tmp_path / "j.sqlite").restore(now=100.0)
    assert bindings == [a_binding(sequence=5)] and stamps == {HOME: 2 ** 64 - 1}


def test_journal_forgets_deleted_and_expired_bindings(tmp_path):
    journal = BindingJournal(tmp_path / "j.sqlite")
    journal.record(BindingEvent.ADDED, a_binding())
    journal.record(BindingEvent.DELETED, a_binding())
    assert journal.restore(now=100.0)[0] == []
    journal.record(BindingEvent.ADDED, a_binding(expires=50.0))
    assert journal.restore(now=100.0)[0] == []


def away_harness(journal):
    harness = Harness(router=Router(CONFIG, journal=journal))
    harness.run(harness.router.port_up(harness.now, 2, 5))
    harness.net.hosts["mn1@visit-a"] = (2, 5)
    harness.net.host_at[(2, 5)] = "mn1@visit-a"
    harness.learn("cn1")
    return harness


def test_binding_is_journaled_before_the_acknowledgement(tmp_path):
    journal = BindingJournal(tmp_path / "j.sqlite")
    harness = away_harness(journal)
    seen = []
    original = journal.record
    journal.record = lambda *args: (seen.append(args[0]), original(*args))
    harness.router.home_agent.cache.subscribers[0] = journal.record
    msgs = harness.router.packet_in(harness.now, 2, 5, frames.binding_update(
        care_of=CARE_OF, seq=3, timestamp=frames.ntp(harness.now)))
    assert seen == [BindingEvent.ADDED] and msgs  # written while the BA was being built
    assert BindingJournal(tmp_path / "j.sqlite").restore(harness.now)[0][0].sequence == 3


def test_restarted_controller_restores_bindings_and_reconciles_the_switches(tmp_path):
    path = tmp_path / "j.sqlite"
    before = away_harness(BindingJournal(path))
    stamp = frames.ntp(before.now)
    before.run(before.router.packet_in(before.now, 2, 5, frames.binding_update(
        care_of=CARE_OF, seq=3, timestamp=stamp)))
    # A stale rule the old controller left behind, and one the switch lost.
    stale = cookie(CookieKind.BINDING, 0xDEAD)
    before.net.switch(1).apply(ofmsg.flow_add(Table.ROUTING, Priority.BINDING, ofmsg.match(
        eth_type=0x86DD, ipv6_dst="2001:db8:1::dead"), [], stale))
    assert any(e.cookie == stale for e in before.net.switch(1).entries)
    # The controller restarts (SIGKILL); the switches keep their rules.
    router = Router(CONFIG, journal=BindingJournal(path))
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
        ours = {rule_key(t, p, m) for t, p, m, c in before.net.switch(dpid).flows()
                if c >> 56 in {int(k) for k in CookieKind}}
        assert ours == {rule_key(r.table_id, r.priority, r.match)
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
    assert rule_key(2, 3000, exact) == rule_key(2, 3000, masked)
    half = parser.OFPMatch(eth_type=0x86DD, ipv6_dst=("2001:db8:1::", "ffff:ffff:ffff:ffff::"))
    assert rule_key(2, 3000, half) != rule_key(2, 3000, exact)


def test_reconciliation_leaves_trunk_and_path_rules_to_topology(tmp_path):
    harness = Harness()

    def trunk_rules():
        return {rule_key(e.table, e.priority, e.match) for e in harness.net.switch(5).entries
                if e.cookie >> 56 == CookieKind.TRUNK}
    before = trunk_rules()
    router = Router(CONFIG)  # restarted: knows no link yet
    harness.run(router.switch_up(harness.now, 5, PORTS[5]))
    harness.run(router.reconcile(harness.now, 5, harness.net.switch(5).flows()))
    assert before and trunk_rules() == before
    [(where, _)] = harness.net.send("cn1", routed("cn1", "2001:db8:1::10"))
    assert where == ("controller", 1, "controller")  # still label-switched through s5
