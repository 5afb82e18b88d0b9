"""Route optimisation end to end with the real controller, agent and Open vSwitch (root),
in each mode of ``[route_optimisation]``.

mn1 runs the agent with ``--route-optimise 2001:db8:c::/64`` and moves home → visit-a →
visit-b → home while cn1 streams TCP to its home address, byte exact. On visit-b, 200
pings between cn1 and mn1 are counted at the home switch: the labelled packets that
arrive there (what a triangle or a reverse tunnel carries through it; mobility messages
never cross it, they go to the controller at the access switch). In ``off`` mode that
count is the control: every ping and every reply cross the home switch.
"""
import pytest

from mininet_topos import harness, roaming
from tests.decoders import mobility_header_types

pytestmark = pytest.mark.integration
HOME = "2001:db8:1::100"
CN1_PREFIX = "2001:db8:c:"
PREFIXES = {"s2": "2001:db8:a:", "s3": "2001:db8:b:"}
PINGS = 200


def correspondent_binding(controller, prefix):
    """cn1's binding for mn1 at a care-of address in ``prefix``. cn1 sends from its
    SLAAC address as well as 2001:db8:c::10: either is a correspondent."""
    return [b for correspondent, bindings in controller.view("correspondent_bindings").items()
            if correspondent.startswith(CN1_PREFIX) for b in bindings
            if b["home_address"] == HOME and b["care_of_address"].startswith(prefix)]


def bound_at(controller, prefix):
    return [b for b in controller.view("bindings")
            if b["home_address"] == HOME and b["care_of_address"].startswith(prefix)]


def crossings_at_home(net, cn1):
    """Labelled arrivals at s1 while cn1 pings mn1's home address PINGS times."""
    result = []
    arrivals = harness.labelled_arrivals_during(net, lambda: result.extend(harness.ping(
        cn1, HOME, count=PINGS, wait=1, interval=0.01)))
    return (arrivals["s1"], *result)


@pytest.mark.parametrize("mode", ["off", "rr", "network"])
def test_tcp_survives_roaming_and_data_avoids_the_home_switch(mode, tmp_path):
    config = harness.config_with(harness.REFERENCE_CONFIG, ra_interval=60,
                                 mode=f'"{mode}"')
    with harness.reference_network(config, of_port=harness.free_port(),
                                   rest_port=harness.free_port(),
                                   log_path=tmp_path / "controller.log") as (net, controller):
        mn1, cn1 = net.get("mn1"), net.get("cn1")
        agent = harness.start_agent(mn1, lifetime=60, log_path=tmp_path / "agent.log",
                                    extra=("--route-optimise", "2001:db8:c::/64"))
        pcap = tmp_path / "mn1.pcap"
        try:
            with harness.capture(mn1, pcap), \
                    harness.tcp_transfer(cn1, mn1, HOME, 2_000_000, 150_000) as finished:
                for switch in ("s2", "s3"):
                    roaming.move_host(net, "mn1", switch)
                    harness.wait_for(lambda: bound_at(controller, PREFIXES[switch]), 10,
                                     f"the home binding to follow mn1 to {switch}")
                    if mode == "rr":
                        harness.wait_for(lambda: correspondent_binding(
                            controller, PREFIXES[switch]), 15, f"cn1's binding at {switch}")
                    assert harness.wait_for(lambda: harness.ping(cn1, HOME)[0], 5,
                                            "cn1 to reach mn1")
                crossed, reached, output = crossings_at_home(net, cn1)
                assert reached, output
                if mode == "off":
                    assert crossed >= 2 * PINGS  # control: both directions cross it
                else:
                    assert crossed < PINGS // 20, f"{crossed} labelled packets at s1"
                if mode == "rr":
                    assert controller.view("route_optimisation")["rules"] == {HOME: 2}
                roaming.move_host(net, "mn1", "s1")
                harness.wait_for(lambda: not controller.view("bindings"), 10,
                                 "deregistration")
                if mode == "rr":
                    harness.wait_for(lambda: not controller.view("correspondent_bindings"),
                                     10, "the correspondent deregistration")
                assert harness.wait_for(lambda: harness.ping(cn1, HOME)[0], 5,
                                        "cn1 to reach mn1 home")
                assert finished()  # every byte, in order
            assert harness.binding_rules(net) == []
        finally:
            assert harness.stop_process(agent) == 0
    types = mobility_header_types(pcap)  # every message decodes cleanly in tshark
    if mode == "rr":  # return routability and correspondent registration were seen
        assert {1, 2, 3, 4} <= set(types) and types.count(6) >= 6
