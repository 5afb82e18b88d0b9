"""Care-of forwarding driven by the binding cache, on fake switches (docs/pipeline.md)."""
import pytest

from mipv6_sdn.pipeline import CookieKind
from mipv6_sdn.testing.core_harness import ROUTER_MAC, Harness, routed
from tests import mipv6_frames as frames

MN1_MAC = frames.MN1_MAC
AWAY = {"visit-a": (2, 5), "visit-b": (3, 5)}
HOME_SWITCH = 1
CARE_OF = {"visit-a": "2001:db8:a:0:200:ff:fe00:100", "visit-b": "2001:db8:b:0:200:ff:fe00:100"}


@pytest.fixture
def harness():
    return away_harness()


def away_harness():
    """The core with mn1's ports on visit-a and visit-b up, cn1, hh1 and va1 learned."""
    harness = Harness()
    for name, (dpid, port) in AWAY.items():
        harness.run(harness.router.port_up(harness.now, dpid, port))
        harness.net.hosts[f"mn1@{name}"] = (dpid, port)
        harness.net.host_at[(dpid, port)] = f"mn1@{name}"
    harness.learn("cn1", "hh1", "va1")
    return harness


def register(harness, link, seq, lifetime=420):
    """mn1 sends a BU from ``link``; returns the flow-mods the controller sent."""
    harness.now += 1
    dpid, port = AWAY[link]
    frame = frames.binding_update(care_of=CARE_OF[link], seq=seq, lifetime=lifetime,
                                  timestamp=frames.ntp(harness.now))
    msgs = harness.router.packet_in(harness.now, dpid, port, frame)
    harness.run(msgs)
    return [m for _, m in msgs if type(m).__name__ == "OFPFlowMod"]


def binding_rules(harness, dpid):
    return [e for e in harness.net.switch(dpid).entries if e.cookie >> 56 == CookieKind.BINDING]


def to_home_address(sender, **fields):
    return routed(sender, frames.MN1_HOME, **fields)


def test_correspondent_traffic_to_the_home_address_reaches_the_care_of_address(harness):
    register(harness, "visit-a", 1)
    [(where, pkt)] = harness.net.send("cn1", to_home_address("cn1"))
    assert where == "mn1@visit-a"
    assert (pkt["eth_src"], pkt["eth_dst"], pkt["ipv6_dst"]) == (ROUTER_MAC, MN1_MAC,
                                                                 frames.MN1_HOME)
    assert pkt["hop_limit"] == 63 and pkt["mpls"] == []
    assert HOME_SWITCH in harness.net.path  # intercepted at the home link's switch


def test_home_link_host_reaches_the_away_mobile_node_through_proxy_nd(harness):
    register(harness, "visit-a", 1)
    [(where, _)] = harness.net.send("hh1", to_home_address("hh1"))
    assert where == "mn1@visit-a"


def test_a_neighbour_on_the_visited_link_goes_through_the_home_agent_too(harness):
    register(harness, "visit-a", 1)
    [(where, _)] = harness.net.send("va1", to_home_address("va1"))
    assert where == "mn1@visit-a" and HOME_SWITCH in harness.net.path


def test_mobile_node_traffic_is_reverse_tunnelled_through_the_home_link(harness):
    register(harness, "visit-a", 1)
    pkt = dict(routed("cn1", "2001:db8:c::10"), eth_src=MN1_MAC, ipv6_src=frames.MN1_HOME)
    [(where, out)] = harness.net.send("mn1@visit-a", pkt)
    assert where == "cn1" and out["ipv6_src"] == frames.MN1_HOME and out["hop_limit"] == 63
    assert harness.net.path[:3] == [2, 5, 1]


def test_only_the_mobile_nodes_port_and_mac_may_use_the_home_address(harness):
    register(harness, "visit-a", 1)
    spoofed = dict(routed("va1", "2001:db8:c::10"), ipv6_src=frames.MN1_HOME)
    harness.net.send("va1", spoofed)
    assert HOME_SWITCH not in harness.net.path


def forwarding(flow_mods):
    """The flow-mods of care-of forwarding (source address validation sends its own)."""
    return [m for m in flow_mods if m.cookie >> 56 == CookieKind.BINDING]


def test_handover_rewrites_a_constant_number_of_rules(harness):
    assert len(forwarding(register(harness, "visit-a", 1))) == 3
    flow_mods = forwarding(register(harness, "visit-b", 2))
    assert len(flow_mods) == 4  # interception rewritten, care-of rules moved
    assert binding_rules(harness, 2) == [] and len(binding_rules(harness, 3)) == 2
    [(where, _)] = harness.net.send("cn1", to_home_address("cn1"))
    assert where == "mn1@visit-b"


def test_refresh_changes_no_rule(harness):
    register(harness, "visit-a", 1)
    assert register(harness, "visit-a", 2) == []


@pytest.mark.parametrize("end", ["deregistration", "expiry"])
def test_no_rule_is_left_behind_when_the_binding_goes(harness, end):
    register(harness, "visit-a", 1)
    if end == "deregistration":
        register(harness, "visit-a", 2, lifetime=0)
    else:
        harness.run(harness.router.tick(harness.now + 421))
    assert all(binding_rules(harness, dpid) == [] for dpid in range(1, 6))
    [(where, _)] = harness.net.send("cn1", to_home_address("cn1"))
    assert where == ("controller", 1, "controller")  # plain routing: resolve on home link


def test_a_reconnecting_switch_gets_the_binding_rules_back(harness):
    register(harness, "visit-a", 1)
    harness.run(harness.router.switch_up(harness.now, 1, [1, 2, 3]))
    harness.run(harness.router.link_up(harness.now, 1, 3, 5, 1))
    harness.run(harness.router.link_up(harness.now, 5, 1, 1, 3))
    assert len(binding_rules(harness, 1)) == 1
    [(where, _)] = harness.net.send("cn1", to_home_address("cn1"))
    assert where == "mn1@visit-a"
