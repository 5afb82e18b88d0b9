"""Roaming end to end with the real controller, agent and Open vSwitch (root).

mn1 runs the mobile-node agent and moves home → visit-a → visit-b → home while cn1
streams TCP to its home address; every signalling message is captured and decoded by
tshark.
"""

import pytest

from mininet_topos import harness, roaming
from tests.decoders import mobility_header_types

pytestmark = pytest.mark.integration
HOME = "2001:db8:1::100"
PREFIXES = {"s2": "2001:db8:a:", "s3": "2001:db8:b:"}


@pytest.fixture
def network(tmp_path):
    config = harness.config_with(harness.REFERENCE_CONFIG, ra_interval=60)
    with harness.reference_network(config, of_port=harness.free_port(),
                                   rest_port=harness.free_port(),
                                   log_path=tmp_path / "controller.log") as running:
        yield running




def care_of_in_binding(controller, prefix):
    return [b for b in controller.view("bindings")
            if b["home_address"] == HOME and b["care_of_address"].startswith(prefix)]


def test_tcp_session_survives_roaming_and_signalling_decodes_cleanly(network, tmp_path):
    net, controller = network
    mn1, cn1, hh1 = net.get("mn1"), net.get("cn1"), net.get("hh1")
    pcap = tmp_path / "signalling.pcap"
    agent = harness.start_agent(mn1, lifetime=60, log_path=tmp_path / "agent.log")
    try:
        with harness.capture(mn1, pcap), \
                harness.tcp_transfer(cn1, mn1, HOME, 1_500_000, 150_000) as finished:
            for switch in ("s2", "s3"):
                roaming.move_host(net, "mn1", switch)
                harness.wait_for(lambda: care_of_in_binding(controller, PREFIXES[switch]), 10,
                                 f"the binding to follow mn1 to {switch}")
                assert harness.wait_for(lambda: harness.ping(cn1, HOME)[0], 5,
                                        "cn1 to reach mn1")
                assert harness.wait_for(lambda: harness.ping(hh1, HOME)[0], 5,
                                        "hh1 to reach mn1")
            roaming.move_host(net, "mn1", "s1")
            harness.wait_for(lambda: not controller.view("bindings"), 10, "deregistration")
            assert harness.wait_for(lambda: harness.ping(cn1, HOME)[0], 5,
                                    "cn1 to reach mn1 home")
            assert finished()  # every byte, in order
        assert harness.binding_rules(net) == []  # ordinary routing only
        assert controller.view("binding_changes")[HOME]["event"] == "deleted"
    finally:
        assert harness.stop_process(agent) == 0
    types = mobility_header_types(pcap)
    assert types.count(5) >= 3 and types.count(6) >= 3  # BUs and BAs


def test_bindings_of_a_killed_agent_expire_with_their_rules(network, tmp_path):
    net, controller = network
    mn1 = net.get("mn1")
    agent = harness.start_agent(mn1, lifetime=8, log_path=tmp_path / "agent.log")
    try:
        roaming.move_host(net, "mn1", "s2")
        [entry] = harness.wait_for(lambda: care_of_in_binding(controller, "2001:db8:a:"), 10,
                                   "the binding")
        assert entry["lifetime"] == 8 and len(harness.binding_rules(net)) == 3
    finally:
        agent.kill()  # SIGKILL: no deregistration, no refresh
        agent.wait()
    harness.wait_for(lambda: not controller.view("bindings"), 15, "the binding to expire")
    assert controller.view("binding_changes")[HOME]["event"] == "expired"
    assert harness.binding_rules(net) == []
