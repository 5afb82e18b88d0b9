"""The mobile-node agent against the real controller on the reference network (root).

mipv6-mn runs in mn1 with the reference security association and no --home-agent (so
it finds the HA by DHAAD); mn1 roams home → visit-a → visit-b → home, and the
controller's REST view must follow: a binding to mn1's care-of address on each visited
link, none at home. Traffic to the home address is not tested here (care-of forwarding
in the switches is separate work).
"""
import pathlib
import re
import signal
import subprocess
import sys

import pytest

from mininet_topos import harness, roaming

pytestmark = pytest.mark.integration
AGENT = pathlib.Path(sys.executable).parent / "mipv6-mn"
HOME_ADDRESS = "2001:db8:1::100"
SPI = 256
KEY = "000102030405060708090a0b0c0d0e0f10111213"  # mininet_topos/roaming.toml
DEADLINE = 20  # seconds for a registration: DHAAD and the BU, with retransmissions


@pytest.fixture
def network(tmp_path):
    config = harness.config_with(harness.REFERENCE_CONFIG, ra_interval=60)
    with harness.reference_network(config, of_port=harness.free_port(),
                                   rest_port=harness.free_port(),
                                   log_path=tmp_path / "controller.log") as (net, ctl):
        yield net, ctl, tmp_path


def binding(ctl):
    return next((b for b in ctl.view("bindings") if b["home_address"] == HOME_ADDRESS), None)


def bound_to(ctl, care_of):
    entry = binding(ctl)
    return entry if entry is not None and entry["care_of_address"] == care_of else None


def care_of_address(mn1, prefix):
    return harness.wait_for(lambda: harness.addresses(mn1, prefix), 10,
                            f"mn1's SLAAC address in {prefix}")[0]


def show(mn1, what):
    return mn1.cmd(f"ip -6 {what} show dev {mn1.defaultIntf().name}")


def registration_times(log_text):
    """(after link up, after attachment) of each registration BA in the agent's log;
    after link up is None when the router advertisement reached the agent before the
    kernel's carrier-up notice did (the two come on different sockets)."""
    return [(float(up) if up else None, float(attached)) for up, attached in re.findall(
        r"registered care-of \S+ for \d+ s, (?:([\d.]+) s after link up, )?"
        r"([\d.]+) s after attachment", log_text)]


def test_the_agent_registers_on_each_visited_link_and_deregisters_at_home(network):
    net, ctl, tmp_path = network
    mn1 = net.get("mn1")
    log_path = tmp_path / "mipv6-mn.log"
    with open(log_path, "w") as log:
        agent = mn1.popen([str(AGENT), "--interface", mn1.defaultIntf().name,
                           "--home-address", f"{HOME_ADDRESS}/64", "--spi", str(SPI),
                           "--key-hex", KEY], stdout=log, stderr=subprocess.STDOUT)
    try:
        harness.wait_for(lambda: "attached to 2001:db8:1::/64" in log_path.read_text(), 10,
                         "the agent to see the home link's advertisement")
        assert binding(ctl) is None

        roaming.move_host(net, "mn1", "s2")
        care_of_a = care_of_address(mn1, "2001:db8:a:")
        entry = harness.wait_for(lambda: bound_to(ctl, care_of_a), DEADLINE,
                                 f"a binding of {HOME_ADDRESS} to {care_of_a}")
        assert entry["lifetime"] == 420 and entry["attachment"]["dpid"] == 2
        # Away: the home address is a /128, the home prefix off-link, traffic from it.
        assert f"{HOME_ADDRESS}/128" in show(mn1, "addr") and "noprefixroute" in show(mn1, "addr")
        assert "2001:db8:1::/64" not in show(mn1, "route")
        assert f"default via fe80::1 proto static src {HOME_ADDRESS} metric 512" in \
            show(mn1, "route")

        roaming.move_host(net, "mn1", "s3")
        care_of_b = care_of_address(mn1, "2001:db8:b:")
        entry = harness.wait_for(lambda: bound_to(ctl, care_of_b), DEADLINE,
                                 f"the binding to move to {care_of_b}")
        assert entry["attachment"]["dpid"] == 3
        assert not harness.addresses(mn1, "2001:db8:a:")  # the old care-of address is gone

        roaming.move_host(net, "mn1", "s1")
        harness.wait_for(lambda: binding(ctl) is None, DEADLINE, "the binding to go")
        harness.wait_for(lambda: f"{HOME_ADDRESS}/64" in show(mn1, "addr"), 10,
                         "the home address back as a /64")
        harness.wait_for(lambda: "unsolicited NA" in log_path.read_text(), 10,
                         "the unsolicited neighbour advertisement")

        agent.send_signal(signal.SIGTERM)
        assert agent.wait(5) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(10)
        print(log_path.read_text())
    text = log_path.read_text()
    assert "Traceback" not in text
    times = registration_times(text)
    assert len(times) == 2, text
    print("attachment to BA (s after link up, s after the RA):", times)
