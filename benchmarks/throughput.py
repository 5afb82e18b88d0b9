"""Signalling-throughput benchmark: BUs per second, ours vs Ryu's ceiling.

    .venv/bin/python -m benchmarks.throughput [--count 10000] [--quick] [--window 64]
        [--timeout 2] [--repeat N] [--json PATH] [--profile DIR]

On the reference network, hh1 is moved to visit-a (s2) and runs the load generator
(benchmarks/load_generator.py) with the venv's python: ``count`` distinct mobile nodes
of one ``[[mobile_node_range]]`` (appended to the reference configuration) register
their care-of address (hh1's SLAAC address on visit-a) with the home agent, then
refresh it. Closed loop: ``window`` BUs outstanding at most; a BU unanswered after
``timeout`` seconds counts lost. The generator's port (hh1's on s2, the port
``roaming.move_host`` gives it) is the only one in visit-a's ``trusted_ports``: one port
and MAC speaking for many mobile nodes is not source-validated (RFC 6620); every other
port of the network is, and the printed report says which port is trusted.

Same run, same network, same path, same generator: the baseline, benchmarks/ceiling_app.py,
a minimal Ryu app answering each BU with the same number and kind of OpenFlow messages
(first registration: BA packet-out, NA packet-out on the home switch, 3 flow-mods of
care-of forwarding and 2 of source address validation for the home address; refresh:
BA packet-out) without any Mobile IPv6 work: the ceiling of the framework on
this machine. Prints sustained BAs/s, loss and latency percentiles for both phases and
both controllers, and the ratios ours/ceiling (target 0.8).

``--profile DIR`` samples each controller with py-spy (the venv's, pinned in
requirements.txt; or ``PY_SPY``) during each phase and writes collapsed stacks there
(``ours-register.txt``, ``ceiling-refresh.txt``, ...; ``py-spy record --format raw``).
With ``--repeat N`` the pair is measured N times and the median of each figure and of
the per-round ratios is printed too: on a small machine the controller, ovs-vswitchd
(userspace datapath) and the generator compete for the CPUs, and single rounds vary
(the ceiling's first registrations by up to 2x between rounds on 2 vCPUs).
A benchmark, not a test: it asserts nothing about speed.
"""
import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

from mininet.log import setLogLevel

from mininet_topos import harness, roaming
from mipv6_sdn.config import load_config

ROOT = harness.ROOT
VENV_PYTHON = harness.LAUNCHER.parent / "python"
RYU_MANAGER = harness.LAUNCHER.parent / "ryu-manager"
CEILING_APP = ROOT / "benchmarks" / "ceiling_app.py"
PY_SPY = os.environ.get("PY_SPY", str(pathlib.Path(sys.executable).parent / "py-spy"))
GENERATOR_HOST = "hh1"
VISITED_SWITCH = "s2"
VISITED_LINK = "visit-a"  # the [[link]] of VISITED_SWITCH in the reference configuration
VISITED_PREFIX = "2001:db8:a:"
FIRST_HOME = "2001:db8:1::1000"
FIRST_SPI = 4096
SECRET = bytes(range(32)).hex()
PHASES = ("register", "refresh")
TARGET_RATIO = 0.8
QUICK_COUNT = 300
# Seconds of quiet before the load: the controller reconciles flows 3 s after the
# topology settles (apps/mipv6_controller.py), which should not fall into a phase.
SETTLE = 4.0


def generator_port():
    """The OpenFlow port the generator's host gets on VISITED_SWITCH: roaming.move_host
    gives it the switch's next port after those of the reference topology."""
    return max(roaming.RoamingTopo().ports[VISITED_SWITCH]) + 1


def trusted_note(port):
    """The report's line on source address validation."""
    return (f"source address validation (RFC 6620) on; the load generator's port "
            f"({GENERATOR_HOST} on {VISITED_SWITCH} port {port}, {VISITED_LINK}) is "
            "trusted (trusted_ports): not source-validated, it emulates every MN; "
            "every other port is validated")


def range_config(count, port=None):
    """The reference configuration plus ``count`` MNs in one [[mobile_node_range]], and
    the generator's port ``port`` (``generator_port()``) as VISITED_LINK's only trusted
    port."""
    port = generator_port() if port is None else port
    path = harness.load_generator_config({VISITED_LINK: port}, FIRST_HOME, count,
                                         FIRST_SPI, SECRET)
    trusted = {link.name: set(link.trusted_ports) for link in load_config(path).links
               if link.trusted_ports}
    if trusted != {VISITED_LINK: {port}}:
        raise RuntimeError(f"{path}: trusted ports {trusted}, expected only port {port} "
                           f"of {VISITED_LINK}")
    return path


def _quiet_icmp(host):
    """The host's kernel has no Mobile IPv6: it answers each BA (type 2 routing header)
    with an ICMPv6 Parameter Problem to the HA. Rate-limit those to a trickle so they do
    not add load to the controller under test."""
    host.cmd("sysctl -q -w net.ipv6.icmp.ratelimit=60000")


def _start_profiler(pid, path):
    if pid is None or not os.path.exists(PY_SPY):
        return None
    spy = subprocess.Popen([PY_SPY, "record", "--pid", str(pid), "--format", "raw",
                            "--rate", "200", "-o", str(path)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # py-spy attaches
    return spy


def _stop_profiler(spy):
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(10)


def run_generator(host, care_of, count, window, timeout, profile_pid=None,
                  profile_prefix=None, after_phase=None):
    """The load generator in ``host``, one run per phase (so each phase can be profiled
    alone); the phases' results merged into one dict."""
    merged = None
    for number, phase in enumerate(PHASES):
        if number:
            time.sleep(1)  # late BAs of the previous phase drain
        spy = _start_profiler(profile_pid, f"{profile_prefix}-{phase}.txt")
        args = [str(VENV_PYTHON), "-m", "benchmarks.load_generator", "--interface",
                host.defaultIntf().name, "--care-of", care_of, "--count", str(count),
                "--first-home", FIRST_HOME, "--first-spi", str(FIRST_SPI), "--secret",
                SECRET, "--window", str(window), "--timeout", str(timeout), "--phases",
                phase]
        process = host.popen(args, cwd=str(ROOT), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            out, err = process.communicate(timeout=120 + count * 0.05)
        finally:
            harness.stop_process(process)
            _stop_profiler(spy)
        if process.returncode != 0:
            raise RuntimeError(f"load generator exited with {process.returncode}:\n{err}")
        result = json.loads(out.strip().splitlines()[-1])
        if after_phase is not None:
            after_phase(phase, result["phases"][phase])
        if merged is None:
            merged = result
        else:
            merged["phases"].update(result["phases"])
    return merged


def measure_ours(count, window, timeout, profile_dir=None):
    """Our controller on the reference network; (generator result, care-of address)."""
    trusted = generator_port()
    config = range_config(count, trusted)
    with harness.reference_network(config, of_port=harness.free_port(),
                                   rest_port=harness.free_port()) as (net, controller):
        host = net.get(GENERATOR_HOST)
        _quiet_icmp(host)
        port = roaming.move_host(net, GENERATOR_HOST, VISITED_SWITCH).port
        if port != trusted:
            raise RuntimeError(f"{GENERATOR_HOST} got port {port} on {VISITED_SWITCH}, but "
                               f"the configuration trusts port {trusted}")
        care_of = harness.wait_for(lambda: harness.addresses(host, VISITED_PREFIX), 30,
                                   f"{GENERATOR_HOST}'s SLAAC address on visit-a")[0]
        # Let the controller learn the care-of address (where its rules go).
        harness.wait_for(lambda: harness.ping(host, harness.host_address("cn1"),
                                              source=care_of)[0],
                         30, f"{GENERATOR_HOST} to reach cn1 from {care_of}")
        time.sleep(SETTLE)

        def binding_changes(phase, figures):
            # Care-of forwarding's flow-mods per binding change of this phase (source
            # address validation adds 2 to a first registration, which the ceiling
            # sends too).
            changes = controller.view("binding_changes").values()
            figures["flow_mods_per_binding_change"] = sorted(
                {change["flow_mods"] for change in changes})

        result = run_generator(
            host, care_of, count, window, timeout,
            controller.process.pid if profile_dir else None,
            pathlib.Path(profile_dir or ".") / "ours", after_phase=binding_changes)
        result["bindings"] = len(controller.view("bindings") or [])
        result["trusted_port"] = {"host": GENERATOR_HOST, "switch": VISITED_SWITCH,
                                  "port": port, "link": VISITED_LINK}
        return result, care_of


def _ceiling_ready(switch):
    dump = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", switch],
                          capture_output=True, text=True).stdout
    return "nw_proto=135" in dump or "ip_proto=135" in dump


def measure_ceiling(count, window, timeout, care_of, profile_dir=None):
    """benchmarks/ceiling_app.py on the same network and path; the generator's result."""
    port = harness.free_port()
    topo = roaming.RoamingTopo()
    log_path = tempfile.NamedTemporaryFile(prefix="bench-ceiling-", suffix=".log",
                                           delete=False).name
    with harness._one_network_at_a_time():
        clash = harness.existing_bridges() & set(topo.switches())
        if clash:
            raise RuntimeError(f"bridges {sorted(clash)} already exist: another Mininet "
                               "network is running; stop it first (this never removes it)")
        with open(log_path, "w") as log:
            ryu = subprocess.Popen([str(RYU_MANAGER), str(CEILING_APP),
                                    "--ofp-tcp-listen-port", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        net = None
        try:
            harness.wait_for(lambda: _listening(port, ryu), 30, "the ceiling app to listen")
            net = _start_network(topo, port)
            harness.wait_for(lambda: all(_ceiling_ready(s) for s in roaming.REFERENCE_SWITCHES),
                             30, "the ceiling app's punt rule on every switch")
            host = net.get(GENERATOR_HOST)
            _quiet_icmp(host)
            roaming.move_host(net, GENERATOR_HOST, VISITED_SWITCH)
            # No RAs here: give hh1 the same care-of address as in our run.
            roaming.run_in(host, "ip", "-6", "addr", "replace", f"{care_of}/64", "dev",
                         host.defaultIntf().name, "nodad")
            time.sleep(SETTLE)
            result = run_generator(
                host, care_of, count, window, timeout, ryu.pid if profile_dir else None,
                pathlib.Path(profile_dir or ".") / "ceiling")
            if ryu.poll() is not None:
                raise RuntimeError(f"the ceiling app exited with {ryu.returncode}")
            return result
        finally:
            if net is not None:
                net.stop()
            harness.stop_process(ryu)


def _start_network(topo, port, attempts=5):
    """roaming.start_network; retried when Mininet's listening check (telnet to the
    OpenFlow port, decoded as UTF-8) chokes on a byte of Ryu's binary HELLO."""
    for attempt in range(attempts):
        try:
            return roaming.start_network(topo, controller_port=port)
        except UnicodeDecodeError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def _listening(port, process):
    import socket
    if process.poll() is not None:
        raise RuntimeError(f"ryu-manager exited with {process.returncode}")
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def profile_summary(path, top=25):
    """[(share, function)] of the ``top`` functions by inclusive samples in a py-spy
    ``--format raw`` file (collapsed stacks), the share in percent of all samples."""
    import collections
    import re
    inclusive, total = collections.Counter(), 0
    for line in pathlib.Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        total += int(count)
        for frame in {re.sub(r":\d+\)", ")", frame) for frame in stack.split(";")}:
            inclusive[frame] += int(count)
    return [(round(100 * n / total, 1), frame) for frame, n in inclusive.most_common(top)]


def ratios(ours, ceiling):
    found = {}
    for phase in PHASES:
        mine = ours["phases"][phase]["accepted_per_s"]
        top = ceiling["phases"][phase]["accepted_per_s"]
        found[phase] = round(mine / top, 3) if top else None
    return found


def report(result, out=None):
    out = out or sys.stdout
    print(f"Signalling throughput: {result['count']} mobile nodes, window "
          f"{result['window']}, timeout {result['timeout_s']} s", file=out)
    print(f"  {trusted_note(result['ours']['trusted_port']['port'])}", file=out)
    header = (f"  {'controller':10} {'phase':9} {'sent':>6} {'accepted':>8} {'rejected':>8} "
              f"{'lost':>5} {'accepted/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8}")
    print(header, file=out)
    for name in ("ours", "ceiling"):
        for phase in PHASES:
            r = result[name]["phases"][phase]
            lat = r["latency_ms"]
            fmt = lambda v: f"{v:8.2f}" if v is not None else "       -"
            print(f"  {name:10} {phase:9} {r['sent']:6d} {r['accepted']:8d} {r['rejected']:8d} "
                  f"{r['lost']:5d} {r['accepted_per_s']:10.1f} {fmt(lat['p50'])} "
                  f"{fmt(lat['p95'])} {fmt(lat['p99'])} {fmt(lat['max'])}", file=out)
    for phase, ratio in result["ratios"].items():
        verdict = "met" if ratio is not None and ratio >= TARGET_RATIO else "missed"
        print(f"  ratio ours/ceiling, {phase}: {ratio} (target {TARGET_RATIO}: {verdict})",
              file=out)


def median_summary(rounds):
    """Median over rounds of BAs/s and p50/p99 latency per controller and phase, and of
    the per-round ratios (each round pairs the two controllers in the same conditions)."""
    import statistics
    summary = {"ratios": {}}
    for name in ("ours", "ceiling"):
        summary[name] = {}
        for phase in PHASES:
            figures = [r[name]["phases"][phase] for r in rounds]
            summary[name][phase] = {
                "accepted_per_s": statistics.median(f["accepted_per_s"] for f in figures),
                "accepted_per_s_range": [min(f["accepted_per_s"] for f in figures),
                                         max(f["accepted_per_s"] for f in figures)],
                "p50_ms": statistics.median(f["latency_ms"]["p50"] for f in figures),
                "p99_ms": statistics.median(f["latency_ms"]["p99"] for f in figures),
                "lost": sum(f["lost"] for f in figures),
                "rejected": sum(f["rejected"] for f in figures)}
    for phase in PHASES:
        summary["ratios"][phase] = round(statistics.median(
            r["ratios"][phase] for r in rounds), 3)
    return summary


def print_median(summary, rounds, out=None):
    out = out or sys.stdout
    print(f"Median of {rounds} rounds:", file=out)
    for name in ("ours", "ceiling"):
        for phase in PHASES:
            f = summary[name][phase]
            low, high = f["accepted_per_s_range"]
            print(f"  {name:10} {phase:9} {f['accepted_per_s']:9.1f} accepted BAs/s "
                  f"(range {low:.0f}-{high:.0f})  p50 {f['p50_ms']:.2f} ms  p99 "
                  f"{f['p99_ms']:.2f} ms  rejected {f['rejected']}  lost {f['lost']}",
                  file=out)
    for phase, ratio in summary["ratios"].items():
        print(f"  median ratio ours/ceiling, {phase}: {ratio} (target {TARGET_RATIO})",
              file=out)


def run(count, window=64, timeout=2.0, profile_dir=None):
    if profile_dir:
        os.makedirs(profile_dir, exist_ok=True)
    ours, care_of = measure_ours(count, window, timeout, profile_dir)
    ceiling = measure_ceiling(count, window, timeout, care_of, profile_dir)
    return {"count": count, "window": window, "timeout_s": timeout, "care_of": care_of,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "ours": ours,
            "ceiling": ceiling, "ratios": ratios(ours, ceiling),
            "target_ratio": TARGET_RATIO}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_COUNT} mobile nodes: proves the harness works")
    parser.add_argument("--window", type=int, default=64,
                        help="BUs outstanding at most (closed loop)")
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="seconds after which an unanswered BU counts lost")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds (ours then the ceiling in each); the summary gives "
                             "the median of each figure and of the per-round ratios")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample both controllers with py-spy into DIR")
    args = parser.parse_args(argv)
    harness.main_guard()
    setLogLevel("warning")
    count = QUICK_COUNT if args.quick else args.count
    rounds = []
    for number in range(max(1, args.repeat)):
        rounds.append(run(count, args.window, args.timeout,
                          args.profile if number == 0 else None))
        report(rounds[-1])
    result = dict(rounds[0])
    if len(rounds) > 1:
        result["rounds"] = rounds
        result["median"] = median_summary(rounds)
        print_median(result["median"], len(rounds))
    if args.profile:
        for name in ("ours", "ceiling"):
            for phase in PHASES:
                path = pathlib.Path(args.profile) / f"{name}-{phase}.txt"
                if path.exists():
                    print(f"py-spy, {name}, {phase} (inclusive share of samples):")
                    for share, frame in profile_summary(path):
                        print(f"  {share:5.1f}% {frame}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
