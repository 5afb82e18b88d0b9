"""The access network's attacks on the reference network with two extra SLAAC hosts,
va2 on visit-a and hx1 on the home link (root, Open vSwitch, the real controller).

Each attack is tried from a real host and must fail, while legitimate traffic in the
same test flows; each capture that shows an attack arriving nowhere also shows a
legitimate packet arriving, so it could have seen the attack succeed
(docs/security.md).
"""
import subprocess

import pytest

from mininet_topos import harness, roaming

pytestmark = pytest.mark.integration
ATTACKS = harness.ROOT / "tests" / "attacks.py"
PYTHON = harness.LAUNCHER.parent / "python"
HH1, CN1, HOME = "2001:db8:1::10", "2001:db8:c::10", "2001:db8:1::100"
EXTRA_HOSTS = {"va2": {"mac": "00:00:00:00:0a:20", "switch": "s2", "address": None},
               "hx1": {"mac": "00:00:00:00:00:20", "switch": "s1", "address": None}}


def SecurityTopo():
    """The reference network and two ordinary SLAAC hosts."""
    return roaming.RoamingTopo(extra_hosts=EXTRA_HOSTS)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    log = tmp_path_factory.mktemp("security") / "controller.log"
    with harness.reference_network(topo_factory=SecurityTopo, of_port=harness.free_port(),
                                   rest_port=harness.free_port(), log_path=log) as (net, ctl):
        for name, prefix in (("va2", "2001:db8:a:"), ("hx1", "2001:db8:1:")):
            harness.wait_for(lambda: harness.addresses(net.get(name), prefix), 10,
                             f"{name}'s SLAAC address")
        for src, dst in (("cn1", HH1), ("va2", CN1), ("hx1", CN1), ("hh1", CN1)):
            harness.wait_for(lambda: harness.ping(net.get(src), dst)[0], 10,
                             f"{src} to reach {dst}")
        yield net, ctl


def send(host, mode, *args):
    """Run one attack of tests/attacks.py in ``host``."""
    out = host.cmd(f"{PYTHON} {ATTACKS} {mode} {host.defaultIntf().name} "
                   f"{' '.join(map(str, args))}; echo exit=$?")
    assert "exit=0" in out, out


def echo_sources(pcap, dst):
    """The source addresses of the echo requests to ``dst`` in ``pcap``."""
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y",
                          f"icmpv6.type == 128 && ipv6.dst == {dst}", "-T", "fields",
                          "-e", "ipv6.src"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_spoofed_sources_from_visit_a_and_the_home_link_do_not_reach_cn1(network, tmp_path):
    net, _ = network
    va2, hx1, cn1 = net.get("va2"), net.get("hx1"), net.get("cn1")
    own_va2 = harness.addresses(va2, "2001:db8:a:")[0]
    own_hx1 = harness.addresses(hx1, "2001:db8:1:")[0]
    spoofed = {"2001:db8:b::99": va2, HOME: va2, HH1: hx1, "2001:db8:a::1:99": hx1}
    pcap = tmp_path / "cn1.pcap"
    with harness.capture(cn1, pcap):
        for source, host in spoofed.items():
            send(host, "echo", source, CN1, 3)
        send(va2, "echo", own_va2, CN1, 3)  # the control: their own addresses
        send(hx1, "echo", own_hx1, CN1, 3)
        harness.wait_for(lambda: {own_va2, own_hx1} <= set(echo_sources(pcap, CN1)), 10,
                         "the legitimate echo requests at cn1")
    arrived = echo_sources(pcap, CN1)
    assert arrived.count(own_va2) == 3 and arrived.count(own_hx1) == 3
    assert not set(spoofed) & set(arrived), arrived


def test_an_override_advert_does_not_take_hh1s_address(network, tmp_path):
    net, _ = network
    hx1, cn1 = net.get("hx1"), net.get("cn1")
    own_hx1 = harness.addresses(hx1, "2001:db8:1:")[0]
    pcap = tmp_path / "hx1.pcap"
    with harness.capture(hx1, pcap):
        send(hx1, "override", HH1, 3)
        reached, output = harness.ping(cn1, HH1, count=5, wait=1, interval=0.2)
        assert reached, output  # 5 of 5 to hh1 itself
        assert harness.ping(cn1, own_hx1, count=2)[0]  # the control: hx1's own traffic
        harness.wait_for(lambda: echo_sources(pcap, own_hx1), 10, "cn1's pings at hx1")
    assert echo_sources(pcap, HH1) == []
    hosts = {h["mac"]: h["addresses"] for h in network[1].view("hosts")}
    assert HH1 in hosts["00:00:00:00:00:10"]


def test_duplicate_address_detection_for_hh1s_address_fails_on_the_home_link(network):
    net, _ = network
    hx1, intf = net.get("hx1"), net.get("hx1").defaultIntf().name
    hx1.cmd(f"ip -6 addr add {HH1}/64 dev {intf}")
    hx1.cmd(f"ip -6 addr add 2001:db8:1::77/64 dev {intf}")  # the control: a free one
    try:
        harness.wait_for(lambda: "dadfailed" in hx1.cmd(f"ip -6 addr show dev {intf} to "
                                                        f"{HH1}/128"), 10,
                         "hx1's DAD for hh1's address to fail")
        harness.wait_for(lambda: "2001:db8:1::77" in harness.addresses(hx1), 10,
                         "the free address to pass DAD")
        assert harness.ping(hx1, CN1, source="2001:db8:1::77")[0]
        assert harness.ping(net.get("cn1"), HH1, count=3)[0]
    finally:
        hx1.cmd(f"ip -6 addr del {HH1}/64 dev {intf}; "
                f"ip -6 addr del 2001:db8:1::77/64 dev {intf}")


def test_a_copy_of_mn1s_binding_update_from_another_port_is_discarded(network):
    """mn1 on visit-a; va2, a neighbour there, sends a copy of a valid BU of mn1's
    (made with mn1's key, as if captured), from mn1's care-of address and MAC, before
    mn1 does: it is discarded, since mn1's care-of address is bound at mn1's port. The
    control: the same BU from mn1 itself is accepted, at mn1's port."""
    net, controller = network
    mn1, va2 = net.get("mn1"), net.get("va2")
    port = roaming.move_host(net, "mn1", "s2").port
    try:
        care_of = harness.wait_for(lambda: harness.addresses(mn1, "2001:db8:a:"), 10,
                                   "mn1's care-of address")[0]
        harness.wait_for(lambda: any(b["address"] == care_of and b["port"] == port for b in
                                     controller.view("source_validation")["bindings"]),
                         10, "mn1's care-of address bound at its port")
        frames = harness.ROOT / "tests" / "mipv6_frames.py"
        va2.cmd(f"{PYTHON} {frames} bu {va2.defaultIntf().name} {care_of} 50 120 now")
        # The controller serves va2's port in order: once it has answered va2's echo
        # to the router, it has judged the copy sent before it.
        assert harness.ping(va2, "2001:db8:a::1")[0]
        assert not [b for b in controller.view("bindings") if b["home_address"] == HOME]
        mn1.cmd(f"{PYTHON} {frames} bu {mn1.defaultIntf().name} {care_of} 51 120 now")
        [binding] = harness.wait_for(lambda: [b for b in controller.view("bindings")
                                              if b["home_address"] == HOME], 5,
                                     "mn1's own BU to be accepted")
        assert (binding["care_of_address"], binding["attachment"]["port"]) == (care_of, port)
    finally:
        mn1.cmd(f"{PYTHON} {harness.ROOT / 'tests' / 'mipv6_frames.py'} bu "
                f"{mn1.defaultIntf().name} {HOME} 52 0 now")  # deregister (from away)
        roaming.move_host(net, "mn1", "s1")
