"""The routing core on the reference graph, with fake switches and a fake clock.

Packets that hosts send are built with Scapy (not our codec); packets the router sends
are decoded with Scapy.
"""
import dataclasses
import ipaddress

import pytest
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest,
                                ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS,
                                ICMPv6NDOptAdvInterval, ICMPv6NDOptDstLLAddr,
                                ICMPv6NDOptHAInfo, ICMPv6NDOptMTU, ICMPv6NDOptPrefixInfo,
                                ICMPv6NDOptSrcLLAddr, ICMPv6TimeExceeded, IPv6)
from scapy.layers.l2 import Ether

from mipv6_sdn.config import SourceValidationConfig
from mipv6_sdn.pipeline import CookieKind, Table
from mipv6_sdn.neighbour_discovery import INITIAL_RA_REPEAT
from mipv6_sdn.testing.core_harness import (CONFIG, LABEL, ROUTER_MAC, Harness,
                                             echo_request, link_local, neighbour_solicit,
                                             routed)

PROBE_TIMEOUT = SourceValidationConfig().probe_timeout  # RFC 6620 TENT_LT


@pytest.fixture
def harness():
    return Harness()


def test_routes_between_links_over_the_lsp_of_the_destination(harness):
    harness.learn("cn1", "hh1")
    [(where, pkt)] = harness.net.send("cn1", routed("cn1", "2001:db8:1::10"))
    assert where == "hh1"
    assert (pkt["eth_src"], pkt["eth_dst"]) == (ROUTER_MAC, "00:00:00:00:00:10")
    assert pkt["hop_limit"] == 63 and pkt["mpls"] == []
    [entry] = [e for e in harness.net.switch(5).table(Table.LSP)
               if dict(e.match.items()).get("mpls_label") == LABEL["home"]]
    assert entry.instructions[0].actions[-1].port == 1  # s5 label-switches towards s1


def test_hosts_of_one_link_are_switched_directly(harness):
    harness.learn("mn1", "hh1")
    pkt = dict(routed("mn1", "2001:db8:1::10"), eth_dst="00:00:00:00:00:10")
    [(where, out)] = harness.net.send("mn1", pkt)
    assert where == "hh1" and out["hop_limit"] == 64


def test_link_down_moves_the_lsp_onto_the_other_path(harness):
    harness.learn("cn1", "va1")
    label = LABEL["visit-a"]
    assert harness.router.lsps.installed[5][label] == 2
    msgs = harness.router.link_down(harness.now, 5, 2, 2, 3) + harness.router.link_down(
        harness.now, 2, 3, 5, 2)
    harness.run(msgs)
    assert harness.router.lsps.installed[5][label] == 3  # s5 → s3 → s2
    [(where, pkt)] = harness.net.send("cn1", routed("cn1", "2001:db8:a::10"))
    assert where == "va1" and pkt["hop_limit"] == 63
    kinds = {m.cookie >> 56 for _, m in msgs if type(m).__name__ == "OFPFlowMod"}
    # paths and ports (their roles, and their metered way to the controller), never hosts
    assert kinds == {CookieKind.LSP, CookieKind.TRUNK, CookieKind.PUNT}
    changed = {(dpid, m.cookie & 0xFFFFF) for dpid, m in msgs
               if type(m).__name__ == "OFPFlowMod" and m.cookie >> 56 == CookieKind.LSP}
    assert changed == {(5, label), (2, LABEL["home"]), (2, LABEL["corr"])}


def test_core_rules_do_not_grow_with_hosts():
    # 40 hosts behind one port (a bridge): more than the default cap of bound addresses.
    harness = Harness(dataclasses.replace(CONFIG, source_validation=SourceValidationConfig(
        max_addresses_per_port=64)))
    harness.learn("cn1")
    before = len(harness.net.switch(5).entries)
    for i in range(40):
        mac = f"00:00:00:00:77:{i:02x}"
        frame = (Ether(src=mac, dst="33:33:ff:00:00:01") / IPv6(
            src=f"2001:db8:1::{i + 0x200:x}", dst="ff02::1:ff00:1", hlim=255)
            / ICMPv6ND_NS(tgt="2001:db8:1::1") / ICMPv6NDOptSrcLLAddr(lladdr=mac))
        harness.run(harness.router.packet_in(harness.now, 1, 2, bytes(frame)))
    # Each source is bound, and its host learned, once its probe went unanswered.
    harness.run(harness.router.tick(harness.now + PROBE_TIMEOUT))
    assert len(harness.router.hosts.hosts) == 41
    assert len(harness.net.switch(5).entries) == before


def test_router_solicitation_gets_an_advertisement_on_that_port(harness):
    harness.learn("mn1")  # its link-local source is bound: nothing to verify
    rs = Ether(src="00:00:00:00:01:00", dst="33:33:00:00:00:02") / IPv6(
        src="fe80::200:ff:fe00:100", dst="ff02::2", hlim=255) / ICMPv6ND_RS() / \
        ICMPv6NDOptSrcLLAddr(lladdr="00:00:00:00:01:00")
    [(dpid, ports, ra)] = harness.packet_in("mn1", rs)
    assert (dpid, ports) == (1, [1])
    assert ra[Ether].src == ROUTER_MAC and ra[IPv6].src == "fe80::1" and ra[IPv6].hlim == 255
    assert ra[ICMPv6ND_RA].H == 1 and ra[ICMPv6ND_RA].routerlifetime == CONFIG.router_lifetime
    assert ra[ICMPv6NDOptMTU].mtu == 1496
    assert ra[ICMPv6NDOptAdvInterval].advint == 10000
    assert ra[ICMPv6NDOptSrcLLAddr].lladdr == ROUTER_MAC
    prefix = ra[ICMPv6NDOptPrefixInfo]
    assert (prefix.prefix, prefix.prefixlen, prefix.L, prefix.A, prefix.R) == (
        "2001:db8:1::1", 64, 1, 1, 1)
    assert ra[ICMPv6NDOptHAInfo].lifetime == CONFIG.router_lifetime


def test_visited_link_advertisement_has_no_home_agent_bits(harness):
    [(dpid, ports, ra)] = harness.run(harness.router.port_down(harness.now, 2, 1)
                                      + harness.router.port_up(harness.now, 2, 1))
    assert (dpid, ports) == (2, [1])
    assert ra[ICMPv6ND_RA].H == 0 and ICMPv6NDOptHAInfo not in ra
    prefix = ra[ICMPv6NDOptPrefixInfo]
    assert (prefix.prefix, prefix.R) == ("2001:db8:a::", 0)


def test_port_up_sends_an_advertisement_at_once_and_once_more_shortly_after(harness):
    sent = harness.run(harness.router.port_up(harness.now, 2, 7))
    assert [(dpid, ports) for dpid, ports, _ in sent] == [(2, [7])]
    assert ICMPv6ND_RA in sent[0][2]
    assert harness.router.next_due() == harness.now + INITIAL_RA_REPEAT
    assert harness.run(harness.router.tick(harness.now + INITIAL_RA_REPEAT - 0.01)) == []
    again = harness.run(harness.router.tick(harness.now + INITIAL_RA_REPEAT))
    assert [(dpid, ports) for dpid, ports, _ in again] == [(2, [7])]
    assert ICMPv6ND_RA in again[0][2]
    assert harness.run(harness.router.tick(harness.now + 2 * INITIAL_RA_REPEAT)) == []


def test_periodic_advertisements_come_between_min_and_max_interval(harness):
    assert harness.run(harness.router.tick(harness.now + CONFIG.ra_min_interval - 0.01)) == []
    sent = harness.run(harness.router.tick(harness.now + CONFIG.ra_interval + 0.01))
    assert sorted((dpid, ports) for dpid, ports, _ in sent) == [
        (1, [1, 2]), (2, [1]), (3, [1]), (4, [1])]
    assert all(ICMPv6ND_RA in frame for _, _, frame in sent)


@pytest.mark.parametrize("target", ["2001:db8:1::1", "fe80::1"])
def test_solicitation_for_a_router_address_is_answered(harness, target):
    harness.learn("mn1")
    [(dpid, ports, na)] = harness.packet_in("mn1", neighbour_solicit("mn1", target))
    assert (dpid, ports) == (1, [1])
    assert na[IPv6].dst == "2001:db8:1::100" and na[Ether].dst == "00:00:00:00:01:00"
    assert (na[ICMPv6ND_NA].tgt, na[ICMPv6ND_NA].R, na[ICMPv6ND_NA].S) == (target, 1, 1)
    assert na[ICMPv6NDOptDstLLAddr].lladdr == ROUTER_MAC


def test_duplicate_address_detection_of_a_router_address_is_defended(harness):
    dad = Ether(src="00:00:00:00:01:00", dst="33:33:ff:00:00:01") / IPv6(
        src="::", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="2001:db8:1::1")
    [(_, ports, na)] = harness.packet_in("mn1", dad)
    assert ports == [1] and na[IPv6].dst == "ff02::1" and na[ICMPv6ND_NA].S == 0
    router_address = ipaddress.IPv6Address("2001:db8:1::1")
    assert harness.router.hosts.for_address(router_address) is None
    assert harness.router.validation.table.anchor_of(1, router_address) is None


def test_host_solicitation_is_relayed_inside_its_link_only(harness):
    harness.learn("mn1")
    sent = harness.packet_in("mn1", neighbour_solicit("mn1", "2001:db8:1::10"))
    [(dpid, ports, frame)] = sent
    assert (dpid, ports) == (1, [2])  # hh1's port: not back to mn1, not the trunk
    assert frame[ICMPv6ND_NS].tgt == "2001:db8:1::10"


def test_hosts_are_never_learned_on_trunk_ports(harness):
    frame = neighbour_solicit("mn1", "2001:db8:1::1")
    assert harness.run(harness.router.packet_in(harness.now, 1, 3, bytes(frame))) == []
    assert harness.router.hosts.hosts == {}


def test_link_multicast_stays_on_the_host_ports_of_the_link(harness):
    harness.learn("mn1")
    pkt = dict(routed("mn1", "ff02::16"), eth_dst="33:33:00:00:00:16", icmpv6_type=143)
    assert [where for where, _ in harness.net.send("mn1", pkt)] == ["hh1"]


def test_router_address_answers_echo(harness):
    harness.learn("cn1")
    [(dpid, ports, reply)] = harness.packet_in("cn1", echo_request("cn1", "2001:db8:1::1"))
    assert (dpid, ports) == (4, [1])
    assert (reply[IPv6].src, reply[IPv6].dst) == ("2001:db8:1::1", "2001:db8:c::10")
    assert reply[ICMPv6EchoReply].id == 7 and reply[ICMPv6EchoReply].data == b"x" * 32


def test_no_route_gives_destination_unreachable_rate_limited(harness):
    harness.learn("cn1")
    [(where, _)] = harness.net.send("cn1", routed("cn1", "2001:db8:77::1"))
    assert where == ("controller", 4, "controller")
    replies = []
    for _ in range(15):
        replies += harness.packet_in("cn1", echo_request("cn1", "2001:db8:77::1"))
    assert len(replies) == 10  # RFC 4443 §2.4(f)
    error = replies[0][2]
    assert error[ICMPv6DestUnreach].code == 0 and error[IPv6].src == "2001:db8:c::1"
    harness.now += 1.0
    assert len(harness.packet_in("cn1", echo_request("cn1", "2001:db8:77::1"))) == 1


def test_unknown_host_is_solicited_then_reported_unreachable(harness):
    harness.learn("cn1")
    request = echo_request("cn1", "2001:db8:1::99")
    [(dpid, ports, ns)] = harness.run(harness.router.packet_in(
        harness.now, 1, 3, bytes(request)))  # popped at s1, arriving from the trunk
    assert (dpid, ports) == (1, [1, 2]) and ns[ICMPv6ND_NS].tgt == "2001:db8:1::99"
    assert ns[IPv6].dst == "ff02::1:ff00:99"
    sent = []
    for step in range(1, 4):
        sent += harness.run(harness.router.tick(harness.now + step * CONFIG.ns_retransmit))
    assert [ICMPv6ND_NS in f for _, _, f in sent] == [True, True, False]
    error = sent[-1][2]
    assert error[ICMPv6DestUnreach].code == 3 and error[IPv6].dst == "2001:db8:c::10"


def test_resolved_host_gets_the_queued_packet(harness):
    harness.learn("cn1")
    harness.run(harness.router.packet_in(harness.now, 1, 3, bytes(
        echo_request("cn1", "2001:db8:1::10"))))
    na = Ether(src="00:00:00:00:00:10", dst=ROUTER_MAC) / IPv6(
        src="2001:db8:1::10", dst="fe80::1", hlim=255) / ICMPv6ND_NA(
        tgt="2001:db8:1::10", R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr="00:00:00:00:00:10")
    # hh1's source is not bound yet: the controller probes for it on the link first.
    [(dpid, ports, probe)] = harness.packet_in("hh1", na)
    assert (dpid, ports) == (1, [1]) and probe[IPv6].src == "::"
    assert probe[ICMPv6ND_NS].tgt == "2001:db8:1::10"
    [(dpid, ports, frame)] = harness.run(harness.router.tick(harness.now + PROBE_TIMEOUT))
    assert (dpid, ports) == (1, [2]) and frame[IPv6].hlim == 63
    assert ICMPv6EchoRequest in frame and frame[Ether].src == ROUTER_MAC


def test_expired_hop_limit_gets_time_exceeded(harness):
    harness.learn("cn1", "hh1")
    [(where, _)] = harness.net.send("cn1", routed("cn1", "2001:db8:1::10", hop_limit=1))
    assert where == ("controller", 1, "controller-invalid-ttl")
    [(dpid, ports, error)] = harness.run(harness.router.packet_in(
        harness.now, 1, 3, bytes(echo_request("cn1", "2001:db8:1::10", hlim=1)),
        invalid_ttl=True))
    assert (dpid, ports) == (4, [1])
    assert error[ICMPv6TimeExceeded].code == 0 and error[IPv6].dst == "2001:db8:c::10"


def test_host_that_moves_is_learned_at_its_new_port(harness):
    """Its old port goes down (the link moved), which forgets it there; from its new
    port its link-local address is verified and bound, and it is learned there."""
    harness.learn("mn1")
    assert [e for e in harness.net.switch(1).entries if e.cookie >> 56 == 4]
    harness.run(harness.router.port_down(harness.now, 1, 1))
    assert [e for e in harness.net.switch(1).entries if e.cookie >> 56 == 4] == []
    frame = neighbour_solicit("mn1", "2001:db8:a::1", src=link_local("mn1"))
    harness.run(harness.router.packet_in(harness.now, 2, 1, bytes(frame)))
    harness.run(harness.router.tick(harness.now + PROBE_TIMEOUT))  # its link-local, bound
    host = harness.router.hosts.hosts["00:00:00:00:01:00"]
    assert (host.dpid, host.port, host.addresses) == (2, 1, set())


@pytest.mark.parametrize("data", [b"", b"\x00" * 13, bytes(range(60)), b"\xff" * 200])
def test_malformed_packet_in_is_dropped_and_changes_nothing(harness, data):
    before = harness.router.view()
    assert harness.router.packet_in(harness.now, 1, 1, data) == []
    assert harness.router.view() == before


def test_the_domain_is_one_router_hop(harness):
    harness.learn("cn1", "hh1")
    [(where, pkt)] = harness.net.send("cn1", routed("cn1", "2001:db8:1::10", hop_limit=2))
    assert where == "hh1" and pkt["hop_limit"] == 1


def test_switch_down_withdraws_the_paths_through_it(harness):
    msgs = harness.router.switch_down(harness.now, 5)
    harness.run(msgs)
    assert harness.router.lsps.installed[1] == {LABEL["home"]: "pop"}
    assert harness.router.lsps.installed[2] == {LABEL["visit-a"]: "pop", LABEL["visit-b"]: 4}
    assert [e for e in harness.net.switch(1).entries
            if dict(e.match.items()).get("mpls_label") == LABEL["corr"]] == []


def test_the_baseline_answers_solicitations_after_a_random_delay_and_nothing_on_attachment():
    """The "typical deployment" of the benchmarks: no RA on attachment, and each RS
    answered after a random delay of up to MAX_RA_DELAY_TIME (RFC 4861 §6.2.6)."""
    harness = Harness(dataclasses.replace(CONFIG, ra_on_attachment=False,
                                          ra_solicited_delay=0.5))
    assert harness.run(harness.router.port_up(harness.now, 2, 7)) == []
    harness.learn("mn1")
    rs = Ether(src="00:00:00:00:01:00", dst="33:33:00:00:00:02") / IPv6(
        src="fe80::200:ff:fe00:100", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    assert harness.packet_in("mn1", rs) == []
    due = harness.router.next_due()
    assert harness.now <= due <= harness.now + 0.5
    assert harness.packet_in("mn1", rs) == []  # one answer pending per port
    assert harness.router.next_due() == due
    if due > harness.now:
        assert harness.run(harness.router.tick(due - 1e-6)) == []
    [(dpid, ports, frame)] = harness.run(harness.router.tick(due))
    assert (dpid, ports) == (1, [1]) and frame.haslayer(ICMPv6ND_RA)  # mn1 at s1:1
    assert harness.router.next_due() is None
    sent = harness.run(harness.router.tick(harness.now + CONFIG.ra_interval + 0.01))
    assert (2, [1, 7]) in [(dpid, ports) for dpid, ports, _ in sent]
    # Control: with no delay configured the same RS is answered at once.
    control = Harness()
    control.learn("mn1")
    [(dpid, ports, frame)] = control.packet_in("mn1", rs)
    assert (dpid, ports) == (1, [1]) and frame.haslayer(ICMPv6ND_RA)  # mn1 at s1:1
    # The delays drawn spread over the whole range.
    draws = []
    for seed in range(40):
        baseline = Harness(dataclasses.replace(CONFIG, ra_solicited_delay=0.5))
        baseline.router.nd.rng.seed(seed)
        baseline.learn("mn1")
        baseline.packet_in("mn1", rs)
        draws.append(baseline.router.next_due() - baseline.now)
    assert min(draws) < 0.1 and max(draws) > 0.4
