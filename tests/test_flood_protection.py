"""Flood protection: every way to the controller is metered per access port, and the
controller serves ports in turn (docs/security.md, "Floods")."""
import dataclasses

from ryu.ofproto import ofproto_v1_3_parser as parser

from mipv6_sdn.fair_queue import FairQueue
from mipv6_sdn.flood_protection import SHARED_METER, port_meter
from mipv6_sdn.pipeline import CookieKind, Table
from mipv6_sdn.testing.core_harness import CONFIG, HOSTS, Harness, routed


def meter_of(harness, dpid, port, pkt):
    """The meter the packet ``pkt`` from ``dpid:port`` passes on its way to the
    controller (None: not metered), and whether it got there."""
    switch = harness.net.switch(dpid)
    [entry] = [e for e in switch.table(Table.PUNT) if e.matches(pkt, port)][:1]
    meters = [i.meter_id for i in entry.instructions
              if isinstance(i, parser.OFPInstructionMeter)]
    reached = [w for w, _ in harness.net.send(
        next(name for name, at in HOSTS.items() if at == (dpid, port)), pkt)]
    return (meters[0] if meters else None), reached


def test_every_way_from_a_host_port_to_the_controller_is_its_ports_meter():
    harness = Harness()
    harness.learn("hh1", "cn1")
    ways = {
        "ND": dict(routed("hh1", "ff02::1:ff00:1"), ip_proto=58, icmpv6_type=135,
                   eth_dst="33:33:ff:00:00:01"),
        "mobility header": dict(routed("hh1", "2001:db8:1::1"), ip_proto=135),
        "unbound source": dict(routed("hh1", "2001:db8:c::10"), ipv6_src="2001:db8:1::77"),
        "router address": routed("hh1", "2001:db8:1::1"),
        "no route": routed("hh1", "2001:db8:99::1"),
        "own prefix, unknown host": routed("hh1", "2001:db8:1::99"),
    }
    for what, pkt in ways.items():
        meter, reached = meter_of(harness, 1, 2, pkt)
        assert reached == [("controller", 1, "controller")], what
        assert meter == port_meter(2), what
    assert port_meter(2) in harness.net.switch(1).meters
    assert port_meter(1) in harness.net.switch(1).meters  # each host port its own


def test_what_comes_through_the_domain_shares_the_switchs_meter():
    harness = Harness()
    harness.learn("cn1")
    [(where, _)] = harness.net.send("cn1", routed("cn1", "2001:db8:1::99"))
    assert where == ("controller", 1, "controller")  # resolution at the home switch
    trunk = [e for e in harness.net.switch(1).table(Table.PUNT) if not e.match.items()]
    assert [i.meter_id for i in trunk[0].instructions
            if isinstance(i, parser.OFPInstructionMeter)] == [SHARED_METER]


def test_a_trusted_port_is_not_metered():
    links = tuple(dataclasses.replace(link, trusted_ports=frozenset({1}))
                  if link.dpid == 2 else link for link in CONFIG.links)
    harness = Harness(config=dataclasses.replace(CONFIG, links=links))
    meter, reached = meter_of(harness, 2, 1, routed("va1", "2001:db8:a::1"))
    assert meter is None and reached == [("controller", 2, "controller")]
    assert port_meter(1) not in harness.net.switch(2).meters


def test_a_port_that_goes_loses_its_meter_and_one_that_comes_gets_one():
    harness = Harness()
    harness.run(harness.router.port_down(harness.now, 1, 2))
    assert port_meter(2) not in harness.net.switch(1).meters
    assert not [e for e in harness.net.switch(1).entries
                if e.cookie >> 56 == CookieKind.PUNT and dict(e.match.items()) == {"in_port": 2}]
    harness.run(harness.router.port_up(harness.now, 1, 7))
    assert port_meter(7) in harness.net.switch(1).meters


def test_a_switch_that_connects_again_gets_its_meters_first():
    """OVS deletes every meter (and the rules that use them) when the controller
    connects again: the meters come back before the rules that need them."""
    harness = Harness()
    msgs = harness.router.switch_up(harness.now, 1, [1, 2, 3])
    kinds = [type(m).__name__ for _, m in msgs]
    assert kinds.index("OFPMeterMod") < kinds.index("OFPFlowMod")
    harness.run(msgs)
    assert {port_meter(1), port_meter(2), SHARED_METER} <= set(harness.net.switch(1).meters)
    harness.learn("hh1")
    meter, reached = meter_of(harness, 1, 2, routed("hh1", "2001:db8:1::1"))
    assert meter == port_meter(2) and reached == [("controller", 1, "controller")]


def test_without_flood_protection_nothing_is_metered():
    config = dataclasses.replace(CONFIG, flood_protection=dataclasses.replace(
        CONFIG.flood_protection, enabled=False))
    harness = Harness(config=config)
    harness.learn("hh1")
    meter, reached = meter_of(harness, 1, 2, routed("hh1", "2001:db8:1::1"))
    assert meter is None and reached == [("controller", 1, "controller")]
    assert harness.net.switch(1).meters == {}


def test_drops_are_counted_per_port_from_meter_statistics():
    harness = Harness()
    harness.router.meter_stats(harness.now, 1, [(port_meter(2), 1234), (SHARED_METER, 5),
                                                (999, 7)])
    dropped = harness.router.view()["flood_protection"]["dropped"]
    assert dropped == {"1:2": 1234, "1:shared": 5}


def test_the_controller_serves_ports_in_turn_and_a_flood_waits_behind_itself():
    queue = FairQueue(per_key=4)
    for i in range(10):
        queue.push("flood", f"f{i}")
    queue.push("mn1", "bu")
    served = [queue.pop() for _ in range(3)]
    assert ("mn1", "bu") in served[:2]  # not behind the flood's backlog
    assert queue.dropped == {"flood": 6}  # the rest of the flood did not fit
    assert [key for key, _ in (queue.pop() for _ in range(len(queue)))] == ["flood"] * 2


def test_a_fair_queue_without_a_bound_would_have_kept_the_flood():
    """The control of the test above: one port's backlog is what the bound stops."""
    queue = FairQueue(per_key=100)
    for i in range(10):
        queue.push("flood", f"f{i}")
    assert len(queue) == 10 and not queue.dropped


def test_a_key_with_its_own_bound_keeps_that_many():
    queue = FairQueue(per_key=2, bounds={"generator": 5})
    accepted = [queue.push("generator", i) for i in range(7)]
    assert accepted == [True] * 5 + [False] * 2
    assert [queue.push("host", i) for i in range(3)] == [True, True, False]


def test_what_waits_from_a_port_that_went_is_dropped():
    queue = FairQueue(per_key=4)
    queue.push((1, 4), "spoofed")
    queue.push((1, 2), "hh1")
    queue.discard(lambda key: key == (1, 4))
    assert [queue.pop() for _ in range(len(queue))] == [((1, 2), "hh1")]
