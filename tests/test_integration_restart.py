"""The controller killed (SIGKILL) and restarted while mn1 is away (root, Mininet, OVS).

The binding is back without any refresh from mn1, a 1 kHz probe stream to the home
address keeps flowing through the restart (the switches keep their rules), and the
rules afterwards are exactly those of the restored state.
"""
import contextlib
import re
import subprocess
import time

import pytest

from mininet_topos import harness, probe, roaming

pytestmark = pytest.mark.integration
PROBE = harness.ROOT / "mininet_topos" / "probe.py"
PYTHON = "/usr/bin/python3"
VOLATILE = re.compile(r"(duration|n_packets|n_bytes|idle_age|hard_age)=[^ ,]+,? ?")


def our_rules(net):
    """Our switches' rules without counters, except learned-host rules (cookie kind 4)."""
    rules = set()
    for switch in net.switches:
        dump = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", switch.name],
                              capture_output=True, text=True, check=True).stdout
        for line in dump.splitlines():
            match = re.search(r"cookie=0x([0-9a-f]+)", line)
            if match and int(match.group(1), 16) >> 56 not in (0, 4):
                rules.add(f"{switch.name} {VOLATILE.sub('', line.strip())}")
    return rules


@contextlib.contextmanager
def crashable_network(tmp_path):
    """(net, controller, restart): the reference network whose switches reconnect
    within a second, and ``restart()`` to start a controller on the same ports and
    journal after the first one is killed."""
    journal = str(tmp_path / "bindings.sqlite")
    of_port, rest_port = harness.free_port(), harness.free_port()
    config = harness.config_with(harness.REFERENCE_CONFIG, ra_interval=60)
    with harness.reference_network(config, of_port=of_port, rest_port=rest_port,
                                   journal=journal, log_path=tmp_path / "first.log") as (
            net, controller):
        for switch in net.switches:  # reconnect within a second once the controller is back
            switch.vsctl(f"set controller {switch.name} max_backoff=1000")
        yield net, controller, lambda: harness.Controller(
            controller_config(journal, config), of_port, rest_port, tmp_path / "second.log")


def test_binding_and_forwarding_survive_a_controller_crash(tmp_path):
    with crashable_network(tmp_path) as (net, controller, restart):
        mn1, cn1 = net.get("mn1"), net.get("cn1")
        intf, home = mn1.defaultIntf().name, harness.host_address("mn1")
        roaming.move_host(net, "mn1", "s2")
        care_of = harness.wait_for(lambda: harness.addresses(mn1, "2001:db8:a:"), 10,
                                   "mn1's care-of address")[0]
        mn1.cmd(f"ip -6 addr flush dev {intf} to 2001:db8:1::/64; "
                f"ip -6 addr add {home}/128 dev {intf} nodad noprefixroute")
        venv_python = harness.LAUNCHER.parent / "python"
        mn1.cmd(f"{venv_python} {harness.ROOT / 'tests' / 'mipv6_frames.py'} bu {intf} "
                f"{care_of} 40 120 now")
        harness.wait_for(lambda: controller.view("bindings"), 5, "the binding")
        stale = "cookie=0x60000000000dead,table=4,priority=2500,ipv6,ipv6_dst=2001:db8:1::dead"
        subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "add-flow", "s1",
                        stale + ",actions=drop"], check=True)
        arrivals = tmp_path / "arrivals.txt"
        receiver = mn1.popen([PYTHON, str(PROBE), "receive", "9000", str(arrivals)])
        sender = cn1.popen([PYTHON, str(PROBE), "send", home, "9000", "1000", "12"])
        try:
            # A second of probes before the crash, so the window measured below (from a
            # second before it) begins inside the stream: its edges count (probe.window).
            harness.wait_for(lambda: arrivals.exists() and len(probe.arrivals(arrivals))
                             > 1100, 5, "a second of probes before the crash")
            before = our_rules(net) - {r for r in our_rules(net) if "0xdead" in r}
            crash = time.time()
            controller.kill()
            time.sleep(1.0)  # the switches are on their own
            restarted = restart()
            try:
                [restored] = harness.wait_for(lambda: restarted.view("bindings"), 10,
                                              "the restored binding")
                assert (restored["care_of_address"], restored["sequence"]) == (care_of, 40)
                harness.wait_for(lambda: len(restarted.view("links")) >= 10, 15, "LLDP")
                harness.wait_for(lambda: not any("0xdead" in r for r in our_rules(net)), 15,
                                 "reconciliation to remove the stale rule")
                assert our_rules(net) == before
                sender.wait(20)
                # To the sender's end: a stream that stopped is one long gap and a stop.
                stream = probe.final_window(probe.ArrivalLog(arrivals), crash - 1,
                                            time.time())
                assert not stream["stopped"] and stream["largest_gap_s"] < 0.1 \
                    and stream["lost"] <= 20, stream
            finally:
                restarted.stop()
        finally:
            harness.kill(sender, receiver)


def controller_config(journal, config):
    return harness.config_with(config, journal=f'"{journal}"')


def test_a_handover_interrupted_by_a_controller_crash_completes(tmp_path):
    """mn1 (the real agent) moves visit-a → visit-b and the controller is killed at
    once, before or while it handles the Binding Update. Restarted, it has no stale
    binding: mn1's next BU (its retransmission, or a refresh) is accepted, and the
    probe stream to its home address comes back and runs to its end."""
    with crashable_network(tmp_path) as (net, controller, restart):
        mn1, cn1 = net.get("mn1"), net.get("cn1")
        home = harness.host_address("mn1")
        agent = harness.start_agent(mn1, lifetime=60, log_path=tmp_path / "agent.log")
        arrivals = tmp_path / "arrivals.txt"
        receiver = mn1.popen([PYTHON, str(PROBE), "receive", "9000", str(arrivals)])
        sender = None
        try:
            roaming.move_host(net, "mn1", "s2")
            harness.wait_for(lambda: [b for b in controller.view("bindings")
                                      if b["care_of_address"].startswith("2001:db8:a:")],
                             10, "the binding on visit-a")
            sender = cn1.popen([PYTHON, str(PROBE), "send", home, "9000", "200", "14"])
            harness.wait_for(lambda: arrivals.exists() and len(probe.arrivals(arrivals))
                             > 200, 5, "a second of probes on visit-a")
            moved = time.time()
            roaming.move_host(net, "mn1", "s3")
            controller.kill()  # during the handover
            time.sleep(0.5)
            restarted = restart()
            try:
                harness.wait_for(lambda: [b for b in restarted.view("bindings")
                                          if b["care_of_address"].startswith("2001:db8:b:")],
                                 20, "the binding on visit-b after the restart")
                sender.wait(30)
                stream = probe.window(probe.arrivals(arrivals), start=moved,
                                      end=moved + 12, rate=200)
                assert not stream["stopped"] and stream["received"] > 1000, stream
                print("handover through a controller crash: largest gap "
                      f"{stream['largest_gap_s']:.3f} s, {stream['lost']} of 200/s lost")
            finally:
                restarted.stop()
        finally:
            harness.kill(sender, receiver, agent)
