"""The reference network against the real controller process and Open vSwitch (root).

Periodic RAs are set to 60 s here, so a host that moves can only learn its new prefix
from the RA the controller sends when the port comes up.
"""
import ipaddress
import pathlib

import pytest

from mininet_topos import harness, roaming

pytestmark = pytest.mark.integration
HOSTS = ("hh1", "mn1", "cn1")
TRANSFER = pathlib.Path(roaming.__file__).parent / "tcp_transfer.py"
PYTHON = "/usr/bin/python3"  # Debian's, inside the hosts: standard library only


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    config = harness.config_with(harness.REFERENCE_CONFIG, ra_interval=60)
    log = tmp_path_factory.mktemp("controller") / "controller.log"
    with harness.reference_network(config, of_port=harness.free_port(),
                                   rest_port=harness.free_port(), log_path=log) as running:
        yield running
        print(running[1].log_tail())


def lsp_port(controller, dpid, link_name):
    label = next(l["label"] for l in controller.view("access_links") if l["name"] == link_name)
    return next(r["action"] for r in controller.view("routes")
                if r["dpid"] == dpid and r["label"] == label)


def port_towards(net, switch, neighbour):
    [(intf, _)] = [(link.intf1, link.intf2) if link.intf1.node.name == switch else
                   (link.intf2, link.intf1) for link in net.linksBetween(
                       net.get(switch), net.get(neighbour))]
    return net.get(switch).ports[intf]


def test_every_host_reaches_every_other(network):
    net, _ = network
    matrix = harness.reachability(net, HOSTS)
    assert all(matrix.values()), matrix


def test_router_addresses_answer_echo(network):
    net, _ = network
    for name, link in (("hh1", "2001:db8:1::1"), ("cn1", "2001:db8:c::1"), ("cn1", "2001:db8:1::1")):
        assert harness.ping(net.get(name), link)[0], (name, link)
    cn1 = net.get("cn1")
    assert harness.ping(cn1, f"fe80::1%{cn1.defaultIntf().name}")[0]


def test_tcp_transfer_arrives_intact(network):
    net, _ = network
    hh1, cn1 = net.get("hh1"), net.get("cn1")
    server = hh1.popen([PYTHON, str(TRANSFER), "serve", "5001"], text=True)
    try:
        harness.wait_for(lambda: ":5001 " in hh1.cmd("ss -Htln"), 10, "the TCP server")
        sent = cn1.cmd(f"{PYTHON} {TRANSFER} send {harness.host_address('hh1')} 5001 4000000")
        received, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert sent.split() == received.split()[-2:] and sent.split()[0] == "4000000"


def test_advertised_mtu_is_the_largest_packet_that_crosses_the_core(network):
    net, _ = network
    cn1 = net.get("cn1")
    intf = cn1.defaultIntf().name
    harness.wait_for(lambda: cn1.cmd(f"cat /proc/sys/net/ipv6/conf/{intf}/mtu").strip() == "1496",
                     10, "cn1 to take MTU 1496 from the RA")
    largest = 1496 - 40 - 8
    assert harness.ping(cn1, harness.host_address("hh1"), size=largest, dont_fragment=True)[0]
    reached, output = harness.ping(cn1, harness.host_address("hh1"), size=largest + 1,
                                   dont_fragment=True)
    assert not reached and "too long" in output.lower()


def test_router_sends_icmp_errors(network):
    net, _ = network
    cn1 = net.get("cn1")
    _, output = harness.ping(cn1, harness.host_address("hh1"), hop_limit=1)
    assert "Time exceeded" in output and "From 2001:db8:c::1" in output
    _, output = harness.ping(cn1, "2001:db8:77::1")
    assert "No route" in output
    _, output = harness.ping(cn1, "2001:db8:1::99", wait=6)
    assert "Address unreachable" in output


def move_and_wait_for_care_of_address(net, switch, prefix, deadline):
    """Move mn1 to ``switch``; return its address in ``prefix`` once it reaches cn1."""
    mn1 = net.get("mn1")
    roaming.move_host(net, "mn1", switch)

    def reaches_cn1():
        for address in harness.addresses(mn1, prefix):
            if harness.ping(mn1, harness.host_address("cn1"), source=address, wait=1)[0]:
                return address
        return None
    return harness.wait_for(reaches_cn1, deadline, f"mn1 on {switch} to reach cn1")


def return_home(net):
    mn1 = net.get("mn1")
    roaming.move_host(net, "mn1", "s1")
    for address in harness.addresses(mn1):
        if address != harness.host_address("mn1"):
            mn1.cmd(f"ip -6 addr del {address}/64 dev {mn1.defaultIntf().name}")
    harness.wait_for(lambda: harness.ping(mn1, harness.host_address("cn1"))[0], 10,
                     "mn1 back home to reach cn1")


def test_moved_host_learns_the_new_prefix_from_the_port_up_advertisement(network):
    net, _ = network
    try:
        care_of = move_and_wait_for_care_of_address(net, "s2", "2001:db8:a:", deadline=5)
        assert ipaddress.IPv6Address(care_of) in ipaddress.IPv6Network("2001:db8:a::/64")
    finally:
        return_home(net)


def test_link_failure_moves_traffic_onto_the_other_path(network):
    net, controller = network
    try:
        care_of = move_and_wait_for_care_of_address(net, "s2", "2001:db8:a:", deadline=10)
        assert lsp_port(controller, 5, "visit-a") == port_towards(net, "s5", "s2")
        net.configLinkStatus("s5", "s2", "down")
        harness.wait_for(lambda: lsp_port(controller, 5, "visit-a") == port_towards(
            net, "s5", "s3"), 10, "the LSP to visit-a to go through s3")
        assert lsp_port(controller, 3, "visit-a") == port_towards(net, "s3", "s2")
        harness.wait_for(lambda: harness.ping(net.get("cn1"), care_of)[0], 5,
                         "cn1 to reach mn1 on visit-a through s3")
    finally:
        net.configLinkStatus("s5", "s2", "up")
        return_home(net)
    harness.wait_for(lambda: lsp_port(controller, 5, "visit-a") == port_towards(
        net, "s5", "s2"), 20, "the LSP to visit-a to return to the direct link")
