"""Source address validation (FCFS SAVI, RFC 6620) and ND that nobody can hijack.

Each attack is tried by a host on an access port of the fake reference network; each
test has a control that sees the same attack succeed, or the legitimate traffic flow,
so it could fail. docs/security.md states what is defended.
"""
import dataclasses
import ipaddress

import pytest
from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPv6,
                                MIP6MH_BA)
from scapy.layers.l2 import Ether

from mipv6_sdn import ofmsg
from mipv6_sdn.binding_cache import Attachment
from mipv6_sdn.journal import SqliteBindingStore
from mipv6_sdn.pipeline import CookieKind
from mipv6_sdn.router import Router
from mipv6_sdn.testing.core_harness import (CONFIG, HOST_ADDR, ROUTER_MAC, Harness,
                                            duplicate_address_detection, echo_request,
                                            link_local, neighbour_solicit, routed)
from tests import mipv6_frames as frames

ATTACKER_MAC = "00:00:00:00:0e:01"
CARE_OF = "2001:db8:a:0:200:ff:fe00:100"


def unvalidated_config():
    return dataclasses.replace(CONFIG, source_validation=dataclasses.replace(
        CONFIG.source_validation, enabled=False))


def add_attacker(harness, dpid, port, name="att", mac=ATTACKER_MAC):
    """One more host on ``dpid:port`` of the fake network."""
    harness.run(harness.router.port_up(harness.now, dpid, port))
    harness.net.hosts[name] = (dpid, port)
    harness.net.host_at[(dpid, port)] = name
    return mac


def attacker_packet(mac, src, dst, eth_dst=ROUTER_MAC):
    return dict(eth_src=mac, eth_dst=eth_dst, eth_type=0x86DD, ipv6_src=src, ipv6_dst=dst,
                hop_limit=64, ip_proto=58, icmpv6_type=128)


def wait(harness, seconds=1.0):
    """Let probes go unanswered: time passes and the router ticks."""
    harness.now += seconds
    return harness.run(harness.router.tick(harness.now))


def override_advert(mac, target, src=None):
    """An unsolicited NA with the Override flag for ``target`` (RFC 4861 §7.2.6)."""
    return (Ether(src=mac, dst="33:33:00:00:00:01") /
            IPv6(src=src or target, dst="ff02::1", hlim=255) /
            ICMPv6ND_NA(tgt=target, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac))


def packet_in_at(harness, dpid, port, frame):
    return harness.run(harness.router.packet_in(harness.now, dpid, port, bytes(frame)))


@pytest.fixture(params=[True, False], ids=["validated", "control: not validated"])
def validated(request):
    return request.param


def harness_for(validated):
    return Harness() if validated else Harness(config=unvalidated_config())


# ---------------------------------------------------------------- spoofed sources


@pytest.mark.parametrize("spoofed", ["2001:db8:b::10", "2001:db8:1::100", "2001:db8:1::10",
                                     "fe80::200:ff:fe00:10"])
def test_a_spoofed_source_goes_no_further_than_the_switch(validated, spoofed):
    """From the home link: another link's prefix, mn1's home address, hh1's address to
    cn1, and hh1's link-local address to mn1 on the link (a link-local source is never
    routed); hh1, mn1 and cn1 are known, so each address is bound."""
    harness = harness_for(validated)
    harness.learn("mn1", "hh1", "cn1")
    mac = add_attacker(harness, 1, 4)
    if spoofed.startswith("fe80:"):
        victim, pkt = "mn1", attacker_packet(mac, spoofed, link_local("mn1"),
                                             eth_dst=HOST_ADDR["mn1"][0])
    else:
        victim, pkt = "cn1", attacker_packet(mac, spoofed, "2001:db8:c::10")
    arrived = [where for where, _ in harness.net.send("att", pkt)]
    if validated:
        assert victim not in arrived
        assert all(where[0] != "controller" for where in arrived if isinstance(where, tuple))
    else:
        assert arrived == [victim]  # the control: without validation the lie is delivered


def test_a_bound_source_is_delivered_and_the_same_address_from_a_neighbour_is_not():
    harness = Harness()
    harness.learn("va1", "cn1")
    mac = add_attacker(harness, 2, 5)
    own = attacker_packet(HOST_ADDR["va1"][0], HOST_ADDR["va1"][1], "2001:db8:c::10")
    assert [where for where, _ in harness.net.send("va1", own)] == ["cn1"]
    stolen = dict(own, eth_src=mac)
    assert harness.net.send("att", stolen) == []
    stolen_mac_too = dict(own)  # the neighbour's MAC as well: the port still differs
    assert harness.net.send("att", stolen_mac_too) == []


def test_the_unspecified_source_is_only_for_duplicate_address_detection():
    harness = Harness()
    harness.learn("cn1")
    mac = add_attacker(harness, 2, 5)
    assert harness.net.send("att", attacker_packet(mac, "::", "2001:db8:c::10")) == []
    dad = harness.net.send("att", dict(attacker_packet(mac, "::", "ff02::1:ff00:99"),
                                       eth_dst="33:33:ff:00:00:99", icmpv6_type=135))
    assert [where for where, _ in dad] == [("controller", 2, "controller")]


# ---------------------------------------------------------------- verification


def test_data_from_an_unbound_address_waits_for_the_probe_then_goes_on():
    """A static address configured without DAD (as hh1 and cn1 are) keeps working: its
    first packet reaches the controller, which probes the link's other ports, holds
    the packet, and after an unanswered probe binds the address and lets it go."""
    harness = Harness()
    harness.learn("cn1")
    add_attacker(harness, 1, 4, name="other")
    where = harness.net.send("hh1", routed("hh1", "2001:db8:c::10"))
    assert [w for w, _ in where] == [("controller", 1, "controller")]
    sent = harness.router.packet_in(harness.now, 1, 2, bytes(echo_request("hh1",
                                                                           "2001:db8:c::10")))
    probes = harness.run(sent)
    assert [(dpid, ports) for dpid, ports, _ in probes] == [(1, [1, 4])]
    probe = probes[0][2]
    assert probe[IPv6].src == "::" and probe[ICMPv6ND_NS].tgt == "2001:db8:1::10"
    assert harness.router.hosts.for_address(_address("2001:db8:1::10")) is None
    released = harness.router.tick(harness.now + 0.1)
    assert not any(getattr(m, "in_port", None) == 2 for _, m in released)  # still held
    msgs = harness.router.tick(harness.now + 0.6)
    again = [(dpid, m) for dpid, m in msgs if getattr(m, "in_port", None) == 2]
    assert len(again) == 1 and again[0][1].actions[0].port == ofmsg.OFP.OFPP_TABLE
    harness.run(msgs)
    assert harness.router.hosts.for_address(_address("2001:db8:1::10")).port == 2
    assert [w for w, _ in harness.net.send("hh1", routed("hh1", "2001:db8:c::10"))] == ["cn1"]


def test_an_address_someone_answers_for_is_theirs_not_the_claimants():
    harness = Harness()
    mac = add_attacker(harness, 1, 4)
    probes = packet_in_at(harness, 1, 4, Ether(src=mac, dst=ROUTER_MAC) /
                          echo_request("hh1", "2001:db8:1::1")[IPv6])
    assert [(dpid, ports) for dpid, ports, _ in probes] == [(1, [1, 2])]
    # hh1 answers the controller's DAD probe for its address: hh1 keeps it.
    packet_in_at(harness, 1, 2, override_advert(HOST_ADDR["hh1"][0], "2001:db8:1::10"))
    wait(harness)
    assert harness.router.validation.table.anchor_of(1, _address("2001:db8:1::10")) == \
        Attachment(1, 2, HOST_ADDR["hh1"][0])


# ---------------------------------------------------------------- neighbour discovery


def test_an_unsolicited_override_advert_does_not_move_a_neighbours_address(validated):
    """The attack seen on the home link: an NA with the Override flag for hh1's
    address from another port. Without validation (the control) traffic from cn1 to
    hh1 goes to the attacker."""
    harness = harness_for(validated)
    harness.learn("hh1", "cn1")
    wait(harness)
    mac = add_attacker(harness, 1, 4)
    relayed = packet_in_at(harness, 1, 4, override_advert(mac, "2001:db8:1::10"))
    arrived = [where for where, _ in harness.net.send("cn1", routed("cn1", "2001:db8:1::10"))]
    if validated:
        assert arrived == ["hh1"]
        assert not [frame for _, _, frame in relayed if ICMPv6ND_NA in frame]
        probes = [(dpid, ports, f) for dpid, ports, f in relayed if ICMPv6ND_NS in f]
        assert [(dpid, ports) for dpid, ports, _ in probes] == [(1, [2])]  # hh1 asked
        # hh1 answers the probe: it keeps its address whatever time passes.
        packet_in_at(harness, 1, 2, override_advert(HOST_ADDR["hh1"][0], "2001:db8:1::10"))
        wait(harness)
        assert [w for w, _ in harness.net.send("cn1", routed("cn1", "2001:db8:1::10"))] \
            == ["hh1"]
    else:
        assert arrived == ["att"]


def test_an_anchor_that_no_longer_answers_loses_its_address_to_the_new_claimant():
    """RFC 6620 TESTING_VP: the address shows up elsewhere and the old anchor stays
    silent (a host that moved to another port without its port going down)."""
    harness = Harness()
    harness.learn("hh1", "cn1")
    wait(harness)  # hh1's DAD is over: its binding is valid, and may be contested
    mac = add_attacker(harness, 1, 4, name="hh1-again", mac=HOST_ADDR["hh1"][0])
    sent = packet_in_at(harness, 1, 4, neighbour_solicit("hh1", "2001:db8:1::1"))
    assert [w for w, _ in harness.net.send("cn1", routed("cn1", "2001:db8:1::10"))] == ["hh1"]
    assert any(ICMPv6ND_NS in f and f[Ether].dst == mac for _, _, f in sent)
    wait(harness)
    assert harness.router.validation.table.anchor_of(1, _address("2001:db8:1::10")).port == 4
    assert [w for w, _ in harness.net.send("cn1", routed("cn1", "2001:db8:1::10"))] == \
        ["hh1-again"]


def test_a_mac_proven_at_one_port_cannot_claim_from_another(validated):
    """A host on port 4 uses hh1's MAC to claim a fresh address (by DAD and by data):
    nothing is bound and hh1's MAC stays where it is. The control (no validation)
    moves hh1's MAC, and with it every frame for hh1, to the liar."""
    harness = harness_for(validated)
    harness.learn("hh1", "cn1")
    add_attacker(harness, 1, 4)
    liar = HOST_ADDR["hh1"][0]
    packet_in_at(harness, 1, 4, Ether(src=liar) / duplicate_address_detection(
        "hh1", "2001:db8:1::66")[IPv6])
    packet_in_at(harness, 1, 4, Ether(src=liar, dst=ROUTER_MAC) / IPv6(
        src="2001:db8:1::67", dst="2001:db8:c::10") / echo_request("hh1", "::1")[IPv6].payload)
    wait(harness)
    where = harness.router.hosts.get(liar)
    if validated:
        assert (where.dpid, where.port) == (1, 2)
        assert harness.router.validation.table.anchor_of(1, _address("2001:db8:1::66")) is None
        assert harness.router.validation.table.anchor_of(1, _address("2001:db8:1::67")) is None
    else:
        assert (where.dpid, where.port) == (1, 4)


def test_duplicate_address_detection_for_an_address_owned_elsewhere_is_defended():
    """The claimant's DAD NS reaches only the owner, whose answer the link hears; the
    binding stays. A tentative claim is not contested at all: the first claim stands."""
    harness = Harness()
    harness.learn("hh1")
    wait(harness)
    mac = add_attacker(harness, 1, 4)
    dad = Ether(src=mac) / duplicate_address_detection("hh1")[IPv6]
    sent = packet_in_at(harness, 1, 4, dad)
    assert [(dpid, ports) for dpid, ports, _ in sent] == [(1, [2])]
    answer = packet_in_at(harness, 1, 2, override_advert(HOST_ADDR["hh1"][0],
                                                          "2001:db8:1::10"))
    assert [(dpid, sorted(ports)) for dpid, ports, f in answer if ICMPv6ND_NA in f] == \
        [(1, [1, 4])]
    wait(harness)
    assert harness.router.validation.table.anchor_of(1, _address("2001:db8:1::10")).port == 2
    fresh = Harness()
    add_attacker(fresh, 1, 4)
    packet_in_at(fresh, 1, 2, duplicate_address_detection("hh1", "2001:db8:1::77"))
    assert packet_in_at(fresh, 1, 4, Ether(src=ATTACKER_MAC) / duplicate_address_detection(
        "hh1", "2001:db8:1::77")[IPv6]) == []


def test_proxy_nd_for_an_away_home_address_wins_over_the_home_link():
    harness = Harness()
    harness.learn("hh1", "cn1")
    harness.run(harness.router.packet_in(harness.now, 2, 1, frames.binding_update(
        care_of=CARE_OF, seq=1, timestamp=frames.ntp(harness.now))))
    mac = add_attacker(harness, 1, 4)
    relayed = packet_in_at(harness, 1, 4, override_advert(mac, frames.MN1_HOME))
    assert relayed == []
    dad = packet_in_at(harness, 1, 4, Ether(src=mac) / duplicate_address_detection(
        "mn1")[IPv6])
    [(dpid, ports, na)] = dad
    assert (dpid, ports) == (1, [4]) and na[ICMPv6ND_NA].tgt == frames.MN1_HOME
    assert na[Ether].src == ROUTER_MAC  # the Home Agent defends it
    spoofed = attacker_packet(mac, frames.MN1_HOME, "2001:db8:c::10")
    assert harness.net.send("att", spoofed) == []
    # Traffic for the home address goes to mn1's care-of port (2:1, va1's in the fake
    # network), never to the home link.
    assert [w for w, _ in harness.net.send("cn1", routed("cn1", frames.MN1_HOME))] == ["va1"]


# ---------------------------------------------------------------- registrations


def test_a_copy_of_the_binding_update_from_another_port_is_discarded(validated):
    """A copy of mn1's valid BU (captured on a shared medium) reaches the controller
    first from another port on visit-a. Validated, its care-of address is bound at
    mn1's port (by mn1's DAD), so the copy is discarded and mn1's own BU is accepted;
    the control puts the binding on the attacker's port."""
    harness = harness_for(validated)
    harness.learn("cn1")
    mac = add_attacker(harness, 2, 5)
    packet_in_at(harness, 2, 1, Ether(src=frames.MN1_MAC) / duplicate_address_detection(
        "mn1", CARE_OF)[IPv6])
    update = frames.binding_update(care_of=CARE_OF, seq=1, timestamp=frames.ntp(harness.now))
    copy = bytes(Ether(src=mac, dst=ROUTER_MAC) / Ether(update)[IPv6])
    copied = harness.router.packet_in(harness.now, 2, 5, copy)
    home = _address(frames.MN1_HOME)
    if not validated:
        harness.run(copied)
        assert harness.router.home_agent.cache.get(home).attachment.port == 5
        assert [w for w, _ in harness.net.send("cn1", routed("cn1", frames.MN1_HOME))] == \
            ["att"]
        return
    assert copied == [] and harness.router.home_agent.cache.get(home) is None
    harness.run(harness.router.packet_in(harness.now, 2, 1, update))
    assert harness.router.home_agent.cache.get(home).attachment == \
        Attachment(2, 1, frames.MN1_MAC)
    assert [w for w, _ in harness.net.send("cn1", routed("cn1", frames.MN1_HOME))] == ["va1"]


def test_a_node_cannot_aim_its_home_traffic_at_a_neighbours_address():
    """RFC 6275 §15.4 bombing: mn1 (with valid keys) registers va1's address as its
    care-of address from its own port. va1's address is bound at va1's port: the BU
    is discarded and nothing goes to va1."""
    harness = Harness()
    harness.learn("cn1", "va1")
    add_attacker(harness, 2, 5, name="mn1@visit-a", mac=frames.MN1_MAC)
    victim = HOST_ADDR["va1"][1]
    update = frames.binding_update(care_of=victim, seq=1, timestamp=frames.ntp(harness.now))
    assert harness.router.packet_in(harness.now, 2, 5, update) == []
    assert harness.router.home_agent.cache.get(_address(frames.MN1_HOME)) is None
    # Control: from va1's own port the same BU is taken (as an unvalidated port would).
    harness.run(harness.router.packet_in(harness.now, 2, 1, bytes(
        Ether(src=HOST_ADDR["va1"][0], dst=ROUTER_MAC) / Ether(update)[IPv6])))
    assert harness.router.home_agent.cache.get(_address(frames.MN1_HOME)) is not None


def test_the_first_binding_update_from_a_fresh_care_of_address_is_answered_at_once():
    """Its care-of address was never seen: the authenticated BU is accepted in the same
    packet-in (no probe to wait for) and the care-of address is claimed for it."""
    harness = Harness()
    sent = harness.run(harness.router.packet_in(harness.now, 2, 1, frames.binding_update(
        care_of=CARE_OF, seq=1, timestamp=frames.ntp(harness.now))))
    assert harness.router.home_agent.cache.get(_address(frames.MN1_HOME)) is not None
    [ack] = [frame for _, _, frame in sent if MIP6MH_BA in frame]
    assert ack[MIP6MH_BA].status == 0 and ack[IPv6].dst == CARE_OF
    assert harness.router.validation.table.anchor_of(2, _address(CARE_OF)) == \
        Attachment(2, 1, frames.MN1_MAC)


def test_the_home_address_away_is_valid_only_from_the_home_bindings_port_and_mac():
    harness = Harness()
    harness.learn("cn1")
    harness.run(harness.router.packet_in(harness.now, 2, 1, frames.binding_update(
        care_of=CARE_OF, seq=1, timestamp=frames.ntp(harness.now))))
    harness.net.hosts["mn1"] = (2, 1)
    harness.net.host_at[(2, 1)] = "mn1"
    own = dict(routed("mn1", "2001:db8:c::10"), ipv6_src=frames.MN1_HOME)
    assert [w for w, _ in harness.net.send("mn1", own)] == ["cn1"]
    mac = add_attacker(harness, 2, 5)
    assert harness.net.send("att", dict(own, eth_src=mac)) == []
    assert harness.net.send("att", own) == []


def test_an_authenticated_deregistration_anchors_the_home_address_at_home_again():
    harness = Harness()
    harness.learn("cn1")
    stamp = frames.ntp(harness.now)
    harness.run(harness.router.packet_in(harness.now, 2, 1, frames.binding_update(
        care_of=CARE_OF, seq=1, timestamp=stamp)))
    harness.now += 2
    home = frames.binding_update(care_of=frames.MN1_HOME, seq=2, lifetime=0,
                                 timestamp=frames.ntp(harness.now))
    harness.run(harness.router.packet_in(harness.now, 1, 1, home))
    assert harness.router.home_agent.cache.get(_address(frames.MN1_HOME)) is None
    assert harness.router.validation.table.anchor_of(1, _address(frames.MN1_HOME)) == \
        Attachment(1, 1, frames.MN1_MAC)
    assert [w for w, _ in harness.net.send("mn1", routed("mn1", "2001:db8:c::10"))] == \
        ["cn1"]


# ---------------------------------------------------------------- limits and state


def test_a_port_binds_no_more_than_its_cap():
    harness = Harness()
    cap = CONFIG.source_validation.max_addresses_per_port
    for i in range(cap + 3):
        packet_in_at(harness, 1, 2, duplicate_address_detection("hh1", f"2001:db8:1::a:{i}"))
    assert harness.router.validation.table.per_port[1, 2] == cap
    assert harness.router.validation.table.refused[1, 2] == 3
    assert harness.router.validation.table.per_port[1, 1] == 0
    packet_in_at(harness, 1, 1, duplicate_address_detection("mn1"))  # another port is not
    assert harness.router.validation.table.per_port[1, 1] == 1


def test_rules_per_bound_address_are_two_whatever_the_network():
    harness = Harness()
    before = sum(len(s.entries) for s in harness.net.switches.values())
    harness.learn("va1")
    source = [e for s in harness.net.switches.values() for e in s.entries
              if e.cookie >> 56 == CookieKind.SOURCE]
    assert len(source) == 2 * 2  # va1's link-local and global address
    assert sum(len(s.entries) for s in harness.net.switches.values()) > before


def test_a_trusted_port_is_not_validated():
    links = tuple(dataclasses.replace(link, trusted_ports=frozenset({1}))
                  if link.dpid == 2 else link for link in CONFIG.links)
    harness = Harness(config=dataclasses.replace(CONFIG, links=links))
    harness.learn("cn1")
    spoofed = attacker_packet(HOST_ADDR["va1"][0], "2001:db8:77::1", "2001:db8:c::10")
    assert [w for w, _ in harness.net.send("va1", spoofed)] == ["cn1"]
    assert harness.net.send("vb1", dict(spoofed, eth_src=HOST_ADDR["vb1"][0])) == []


def test_bindings_on_a_port_that_goes_down_are_forgotten():
    harness = Harness()
    harness.learn("hh1")
    harness.run(harness.router.port_down(harness.now, 1, 2))
    assert harness.router.validation.table.anchor_of(1, _address("2001:db8:1::10")) is None
    assert harness.router.validation.table.per_port[1, 2] == 0


def test_bindings_survive_a_restart_and_their_hosts_are_known_at_once(tmp_path):
    store = SqliteBindingStore(str(tmp_path / "journal.sqlite"))
    first = Harness(router=Router(CONFIG, store=store))
    first.learn("hh1", "cn1")
    wait(first)
    store.close()
    store = SqliteBindingStore(str(tmp_path / "journal.sqlite"))
    router = Router(CONFIG, store=store)
    router.restore(first.now)
    second = Harness(router=router, now=first.now)
    assert router.hosts.for_address(_address("2001:db8:1::10")).port == 2
    assert [w for w, _ in second.net.send("cn1", routed("cn1", "2001:db8:1::10"))] == ["hh1"]
    assert [w for w, _ in second.net.send("hh1", routed("hh1", "2001:db8:c::10"))] == ["cn1"]
    store.close()


def _address(text):
    return ipaddress.IPv6Address(text)


def test_claims_that_fail_leave_no_host_behind():
    """Each round a fresh MAC claims a fresh address by DAD on one port and another
    host defends it: the claimant's DAD fails, and with its binding goes its place in
    the host table and the switches (so a port cannot fill them this way)."""
    harness = Harness()
    add_attacker(harness, 1, 4)
    before = len(harness.net.switch(1).entries)
    for i in range(40):
        mac = f"00:00:00:00:ee:{i:02x}"
        target = f"2001:db8:1::e:{i:x}"
        packet_in_at(harness, 1, 4, Ether(src=mac) / duplicate_address_detection(
            "hh1", target)[IPv6])
        assert harness.router.hosts.get(mac) is not None  # the control: it was learned
        packet_in_at(harness, 1, 2, override_advert(HOST_ADDR["hh1"][0], target))
    assert all(harness.router.hosts.get(f"00:00:00:00:ee:{i:02x}") is None
               for i in range(40))
    assert len(harness.net.switch(1).entries) <= before + 4


def test_a_claim_whose_port_goes_meanwhile_binds_nothing():
    harness = Harness()
    add_attacker(harness, 1, 4)
    packet_in_at(harness, 1, 4, Ether(src=ATTACKER_MAC, dst=ROUTER_MAC) /
                 echo_request("hh1", "2001:db8:1::1")[IPv6])
    assert harness.router.validation.claims  # the control: a claim is under way
    harness.run(harness.router.port_down(harness.now, 1, 4))
    wait(harness)
    assert harness.router.validation.table.anchor_of(1, _address("2001:db8:1::10")) is None
    assert harness.router.validation.table.per_port[1, 4] == 0


def test_a_link_local_source_is_never_routed():
    """RFC 4291 §2.5.6: from hh1's own (bound) link-local address, a packet for
    another link goes no further; from its global address it does (the control)."""
    harness = Harness()
    harness.learn("hh1", "cn1")
    local = dict(routed("hh1", "2001:db8:c::10"), ipv6_src=link_local("hh1"))
    assert harness.net.send("hh1", local) == []
    assert [w for w, _ in harness.net.send("hh1", routed("hh1", "2001:db8:c::10"))] == ["cn1"]


def test_a_refresh_claims_the_care_of_address_again_after_its_port_flapped():
    """A refresh changes no rule of forwarding, but its care-of address's claim went
    with the port's flap (released on port down): the refresh claims it again."""
    from tests.test_care_of_forwarding import AWAY, CARE_OF, away_harness, register
    harness = away_harness()
    register(harness, "visit-a", 1)
    key = (2, _address(CARE_OF["visit-a"]))
    assert key in harness.router.validation.bindings  # claimed by the registration
    harness.run(harness.router.port_down(harness.now, *AWAY["visit-a"]))
    harness.run(harness.router.port_up(harness.now, *AWAY["visit-a"]))
    assert key not in harness.router.validation.bindings
    register(harness, "visit-a", 2)  # a refresh: same care-of address and port
    assert harness.router.forwarding.changes[_address(frames.MN1_HOME)]["event"] == \
        "refreshed"
    assert key in harness.router.validation.bindings
