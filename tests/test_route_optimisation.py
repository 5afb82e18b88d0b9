"""Route optimisation in the switches (docs/pipeline.md), traced through the fake
switches: which switches a packet crosses in each mode, and what a handover costs."""
import ipaddress

import pytest
from scapy.layers.inet6 import MIP6MH_BA, ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether

from mipv6_sdn import ofmsg
from mipv6_sdn.pipeline import CookieKind
from mipv6_sdn.testing.core_harness import Harness, routed
from tests import mipv6_frames as frames
from tests.test_correspondent_node import (CARE_OF, CN1, PORT, arrive, attach, configured,
                                           correspondent_bu, only, register_home, tokens)

HOME_SWITCH = 1
MN2_HOME = "2001:db8:1::200"


def network(mode="rr", **extra):
    harness = Harness(config=configured(mode=mode, **extra))
    for link in ("visit-a", "visit-b"):
        attach(harness, link)
    harness.learn("cn1", "hh1", "vb1")
    return harness


@pytest.fixture
def harness():
    return network()


def route_optimise(harness, link, seq):
    """mn1 on ``link``: home registration, return routability, correspondent BU."""
    if harness.router.home_agent.cache.get(ipaddress.IPv6Address(frames.MN1_HOME)) is None \
            or harness.router.home_agent.cache.get(ipaddress.IPv6Address(
                frames.MN1_HOME)).care_of_address != ipaddress.IPv6Address(CARE_OF[link]):
        register_home(harness, link, seq)
    sent = correspondent_bu(harness, link, seq, tokens(harness, link))
    assert only(sent, MIP6MH_BA)[2][MIP6MH_BA].status == 0


def from_cn1(harness):
    """Where a packet from cn1 to mn1's home address ends, and the switches it crossed."""
    results = harness.net.send("cn1", routed("cn1", frames.MN1_HOME))
    return [where for where, _ in results], list(harness.net.path)


def from_mn1(harness, link):
    pkt = dict(routed("cn1", CN1), eth_src=frames.MN1_MAC, ipv6_src=frames.MN1_HOME)
    results = harness.net.send(f"mn1@{link}", pkt)
    return [where for where, _ in results], list(harness.net.path)


def route_optimised_rules(harness):
    return {dpid: len([e for e in switch.entries
                       if e.cookie >> 56 == CookieKind.ROUTE_OPTIMISED])
            for dpid, switch in harness.net.switches.items()}


def flow_mods(msgs, kind=None):
    return [m for _, m in msgs if type(m).__name__ == "OFPFlowMod"
            and (kind is None or m.cookie >> 56 == kind)]


def test_rr_after_the_correspondent_binding_data_never_crosses_the_home_switch(harness):
    register_home(harness, "visit-a", 1)
    assert from_cn1(harness) == (["mn1@visit-a"], [4, 5, 1, 5, 2])  # control: triangle
    assert HOME_SWITCH in from_mn1(harness, "visit-a")[1]
    route_optimise(harness, "visit-a", 2)
    assert from_cn1(harness) == (["mn1@visit-a"], [4, 5, 2])
    assert from_mn1(harness, "visit-a") == (["cn1"], [2, 5, 4])
    assert route_optimised_rules(harness) == {1: 0, 2: 1, 3: 0, 4: 1, 5: 0}


def test_rr_falls_back_to_the_home_path_until_the_new_correspondent_binding(harness):
    route_optimise(harness, "visit-a", 1)
    register_home(harness, "visit-b", 2)  # the home binding moves first
    assert from_cn1(harness) == (["mn1@visit-b"], [4, 5, 1, 5, 3])  # nothing lost
    assert route_optimised_rules(harness) == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    route_optimise(harness, "visit-b", 3)
    assert from_cn1(harness) == (["mn1@visit-b"], [4, 5, 3])
    assert from_mn1(harness, "visit-b") == (["cn1"], [3, 5, 4])


def test_rr_flow_mods_per_handover_are_constant(harness):
    route_optimise(harness, "visit-a", 1)
    harness.now += 1
    arrive(harness, "visit-b")
    home = harness.router.packet_in(harness.now, *PORT["visit-b"], frames.binding_update(
        care_of=CARE_OF["visit-b"], seq=2, timestamp=frames.ntp(harness.now)))
    harness.run(home)
    assert len(flow_mods(home, CookieKind.ROUTE_OPTIMISED)) == 2  # the old pair deleted
    assert len(flow_mods(home, CookieKind.BINDING)) == 4
    correspondent = harness.router.packet_in(harness.now, *PORT["visit-b"],
                                             _correspondent_bu_frame(harness, "visit-b", 3))
    assert len(flow_mods(correspondent)) == 2  # the new pair


def _correspondent_bu_frame(harness, link, seq):
    rr = tokens(harness, link)
    return frames.correspondent_binding_update(
        care_of=CARE_OF[link], correspondent=CN1, seq=seq, home_index=rr[0],
        careof_index=rr[2], key=frames.kbm(rr[1], rr[3]))


def test_rr_rules_go_with_the_correspondent_binding(harness):
    route_optimise(harness, "visit-a", 1)
    rr = tokens(harness, "visit-a")
    only(correspondent_bu(harness, "visit-a", 2, rr, lifetime=0, key=frames.kbm(rr[1])),
         MIP6MH_BA)
    assert sum(route_optimised_rules(harness).values()) == 0
    assert HOME_SWITCH in from_cn1(harness)[1]
    route_optimise(harness, "visit-a", 3)
    harness.now += 421
    harness.run(harness.router.tick(harness.now))  # both bindings expire
    assert sum(route_optimised_rules(harness).values()) == 0


def test_route_optimised_paths_survive_a_core_path_change(harness):
    route_optimise(harness, "visit-a", 1)
    harness.run(harness.router.link_down(harness.now, 2, 3, 5, 2))
    harness.run(harness.router.link_down(harness.now, 5, 2, 2, 3))
    assert from_cn1(harness) == (["mn1@visit-a"], [4, 5, 3, 2])
    assert from_mn1(harness, "visit-a") == (["cn1"], [2, 3, 5, 4])


# ---------------------------------------------------------------------- network mode


def test_network_mode_gives_the_ingress_switch_a_direct_path_on_the_first_packet():
    harness = network("network")
    register_home(harness, "visit-a", 1)
    results = harness.net.send("cn1", routed("cn1", frames.MN1_HOME))
    assert sorted(str(where) for where, _ in results) == [
        "('controller', 1, 'controller')", "mn1@visit-a"]  # delivered, and a copy
    [(_, copy)] = [(w, p) for w, p in results if w != "mn1@visit-a"]
    msgs = harness.router.packet_in(harness.now, 1, 3, _frame(copy))
    harness.run(msgs)
    assert [m.idle_timeout for m in flow_mods(msgs)] == [60]
    assert from_cn1(harness) == (["mn1@visit-a"], [4, 5, 2])
    assert from_mn1(harness, "visit-a") == (["cn1"], [2, 5, 4])  # no reverse tunnel
    # A handover rewrites the detection rule and the one ingress path.
    harness.now += 1
    arrive(harness, "visit-b")
    home = harness.router.packet_in(harness.now, *PORT["visit-b"], frames.binding_update(
        care_of=CARE_OF["visit-b"], seq=2, timestamp=frames.ntp(harness.now)))
    harness.run(home)
    assert len(flow_mods(home, CookieKind.ROUTE_OPTIMISED)) == 2
    assert from_cn1(harness) == (["mn1@visit-b"], [4, 5, 3])
    # The switch drops the idle path: the controller forgets it, the next packet goes
    # home and the path is given again.
    rule = flow_mods(msgs)[0]
    harness.net.switch(4).apply(_delete_strict(rule))
    harness.run(harness.router.flow_removed(harness.now, 4, rule.cookie, rule.match))
    assert harness.router.route_optimisation.ingress[ipaddress.IPv6Address(
        frames.MN1_HOME)] == {}
    assert HOME_SWITCH in from_cn1(harness)[1]


def _frame(pkt):
    return bytes(Ether(src=pkt["eth_src"], dst=pkt["eth_dst"]) / IPv6(
        src=pkt["ipv6_src"], dst=pkt["ipv6_dst"], hlim=pkt["hop_limit"]) /
        ICMPv6EchoRequest())


def _delete_strict(rule):
    return ofmsg.flow_delete_strict(rule.table_id, rule.priority, rule.match, rule.cookie)


# ---------------------------------------------------------------------- a mobile correspondent

MN2_MAC = "00:00:00:00:02:00"
MN2_KEY = bytes(range(20, 40))
MN2_CARE_OF = "2001:db8:b:0:200:ff:fe00:200"


@pytest.mark.parametrize("mode,direct", [("rr", False), ("network", True)])
def test_two_mobile_nodes_reach_each_other_through_their_home_agent(mode, direct):
    """A correspondent that is itself a mobile node is not one the controller answers
    for (its home prefix holds home addresses): mn1 → mn2 goes through the home link
    in rr mode, and directly after the first packet in network mode
    (docs/pipeline.md)."""
    config = configured(mode=mode)
    config = type(config)(**{**config.__dict__, "mobile_nodes": config.mobile_nodes + (
        type(config.mobile_nodes[0])(ipaddress.IPv6Address(MN2_HOME), 257, MN2_KEY),)})
    harness = Harness(config=config)
    attach(harness, "visit-a")
    harness.net.hosts["mn2@visit-b"] = (3, 6)
    harness.net.host_at[(3, 6)] = "mn2@visit-b"
    harness.run(harness.router.port_up(harness.now, 3, 6))
    register_home(harness, "visit-a", 1)
    harness.run(harness.router.packet_in(harness.now, 3, 6, frames.binding_update(
        care_of=MN2_CARE_OF, seq=1, home=MN2_HOME, spi=257, key=MN2_KEY, mac=MN2_MAC,
        timestamp=frames.ntp(harness.now))))
    pkt = dict(routed("cn1", MN2_HOME), eth_src=frames.MN1_MAC, ipv6_src=frames.MN1_HOME)
    results = harness.net.send("mn1@visit-a", pkt)
    assert "mn2@visit-b" in [where for where, _ in results]
    assert HOME_SWITCH in harness.net.path
    for where, copy in results:
        if where != "mn2@visit-b":
            harness.run(harness.router.packet_in(harness.now, where[1], 3, _frame(copy)))
    results = harness.net.send("mn1@visit-a", pkt)
    assert [where for where, _ in results] == ["mn2@visit-b"]
    assert (HOME_SWITCH not in harness.net.path) == direct
