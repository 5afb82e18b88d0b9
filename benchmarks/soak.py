"""Soak: many mobile nodes register, refresh, move and deregister for a long time, and
nothing is lost, invented or leaked (docs/security.md, "Faults and soak").

    .venv/bin/python -m benchmarks.soak [--count 1000] [--seconds 600] [--out DIR]

The reference network with two load generators (benchmarks/load_generator.py), ``ga1``
on visit-a and ``gb1`` on visit-b, each emulating every mobile node of one
``[[mobile_node_range]]`` behind its port, so both ports are trusted (not
source-validated; the report says so). Rounds run until ``seconds`` have passed: every
node registers from ga1's care-of address, moves to gb1's, moves back (three sequence
numbers), and every third round deregisters and registers again. After the last round
every node must be bound at ga1's care-of address with the last sequence number (no
binding lost, none left over), the controller's resident memory is compared with the
one after the warm-up round, and the switches' rules of our cookie kinds are counted:
rules per binding × bindings + what the network holds without any binding.
Prints the figures and writes them as JSON into ``--out``; raises when a binding is lost
or left over or the rules do not add up.
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import time

from mininet_topos import harness, roaming
from mipv6_sdn.pipeline import CookieKind

VENV_PYTHON = harness.LAUNCHER.parent / "python"
FIRST_HOME = "2001:db8:1::3:0"
FIRST_SPI = 16384
SECRET = bytes(range(32)).hex()
GENERATORS = {"ga1": ("s2", "visit-a", "2001:db8:a:"), "gb1": ("s3", "visit-b", "2001:db8:b:")}
EXTRA_HOSTS = {"ga1": {"mac": "00:00:00:00:0a:40", "switch": "s2", "address": None},
               "gb1": {"mac": "00:00:00:00:0b:40", "switch": "s3", "address": None}}
RULES_PER_BINDING = {CookieKind.BINDING: 3, CookieKind.SOURCE: 2}  # docs/pipeline.md
DEFAULT_OUT = pathlib.Path("bench-results") / "soak"


def SoakTopo():
    """The reference network and a load generator on each visited link."""
    return roaming.RoamingTopo(extra_hosts=EXTRA_HOSTS)


def generator_ports():
    """{generator: OpenFlow port}: the reference hosts take their switch's low ports."""
    topo = SoakTopo()
    return {name: next(port for port, (node, _) in topo.ports[switch].items()
                       if node == name) for name, (switch, _, _) in GENERATORS.items()}


def config(count):
    return harness.load_generator_config(
        {GENERATORS[name][1]: port for name, port in generator_ports().items()},
        FIRST_HOME, count, FIRST_SPI, SECRET)


def send_round(host, care_of, count, sequence, lifetime=420):
    args = [str(VENV_PYTHON), "-m", "benchmarks.load_generator", "--interface",
            host.defaultIntf().name, "--care-of", care_of, "--count", str(count),
            "--first-home", FIRST_HOME, "--first-spi", str(FIRST_SPI), "--secret", SECRET,
            "--window", "64", "--timeout", "2", "--sequence", str(sequence), "--lifetime",
            str(lifetime)]
    process = host.popen(args, cwd=str(harness.ROOT), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=120 + count * 0.05)
    if process.returncode != 0:
        raise RuntimeError(f"load generator: exit {process.returncode}: {err}")
    [figures] = json.loads(out.strip().splitlines()[-1])["phases"].values()
    return figures


def resident_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def our_rules(net):
    """{cookie kind: rules} over every switch (dump-flows), our kinds only."""
    kinds = {}
    for switch in net.switches:
        dump = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", switch.name],
                              capture_output=True, text=True, check=True).stdout
        for cookie in re.findall(r"cookie=0x([0-9a-f]+)", dump):
            kind = int(cookie, 16) >> 56
            if kind:
                kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def run(count, seconds, progress=print):
    with harness.reference_network(config(count), of_port=harness.free_port(),
                                   rest_port=harness.free_port(),
                                   topo_factory=SoakTopo) as (net, controller):
        hosts = {name: net.get(name) for name in GENERATORS}
        care_of = {}
        for name, host in hosts.items():
            host.cmd("sysctl -q -w net.ipv6.icmp.ratelimit=60000")
            care_of[name] = harness.wait_for(
                lambda: harness.addresses(host, GENERATORS[name][2]), 30,
                f"{name}'s SLAAC address")[0]
        time.sleep(4.0)  # reconciliation after the topology settles
        harness.flow_counters_settled()
        empty = our_rules(net)
        pid = controller.process.pid
        sequence, rounds, lost, warm_rss, started = 0, [], 0, None, time.monotonic()
        while not rounds or time.monotonic() - started < seconds:
            figures = []
            if len(rounds) % 3 == 2:  # every third round: deregister, then register again
                sequence += 1
                figures.append(send_round(hosts["ga1"], care_of["ga1"], count, sequence, 0))
            for name in ("ga1", "gb1", "ga1"):  # register (or refresh), move, move back
                sequence += 1
                figures.append(send_round(hosts[name], care_of[name], count, sequence))
            lost += sum(f["lost"] + f["rejected"] for f in figures)
            rounds.append({"sequence": sequence, "rss_kib": resident_kib(pid),
                           "accepted_per_s": [f["accepted_per_s"] for f in figures],
                           "lost": sum(f["lost"] for f in figures),
                           "rejected": sum(f["rejected"] for f in figures)})
            if warm_rss is None:
                warm_rss = rounds[-1]["rss_kib"]  # after the warm-up round
            progress(f"soak: round {len(rounds)}, {time.monotonic() - started:.0f} s of "
                     f"{seconds} s, controller RSS {rounds[-1]['rss_kib']} KiB")
        bindings = controller.view("bindings")
        ours = [b for b in bindings if b["home_address"].startswith(FIRST_HOME[:-3])]
        misplaced = [b for b in ours if b["care_of_address"] != care_of["ga1"]
                     or b["sequence"] != sequence]
        harness.flow_counters_settled()
        rules = our_rules(net)
        per_binding = {str(kind): rules.get(kind, 0) - empty.get(kind, 0)
                       for kind in RULES_PER_BINDING}
        return {"count": count, "seconds": round(time.monotonic() - started, 1),
                "rounds": rounds, "bindings": len(ours), "misplaced": len(misplaced),
                "lost_or_rejected_bas": lost, "rss_warm_kib": warm_rss,
                "rss_end_kib": rounds[-1]["rss_kib"],
                "rss_growth": round(rounds[-1]["rss_kib"] / warm_rss - 1, 4),
                "rules_without_bindings": {str(k): v for k, v in empty.items()},
                "rules_added_per_kind": per_binding,
                "trusted": "ga1 (s2) and gb1 (s3), the load generators: not source-validated"}


def check(result):
    """Raise when a binding is lost or left over, or the rules do not add up."""
    if result["bindings"] != result["count"] or result["misplaced"]:
        raise RuntimeError(f"{result['bindings']} bindings of {result['count']}, "
                           f"{result['misplaced']} not where the last round put them")
    expected = {str(kind): n * result["count"] for kind, n in RULES_PER_BINDING.items()}
    if result["rules_added_per_kind"] != expected:
        raise RuntimeError(f"rules added {result['rules_added_per_kind']}, expected "
                           f"{expected} (rules per binding × bindings)")


def report(result, out=sys.stdout):
    print(f"soak: {result['count']} mobile nodes, {len(result['rounds'])} rounds in "
          f"{result['seconds']} s ({result['trusted']})", file=out)
    print(f"  bindings at the end {result['bindings']} of {result['count']}, misplaced "
          f"{result['misplaced']}, BAs lost or rejected {result['lost_or_rejected_bas']}",
          file=out)
    print(f"  controller RSS {result['rss_warm_kib']} KiB after warm-up, "
          f"{result['rss_end_kib']} KiB at the end ({result['rss_growth'] * 100:+.1f} %)",
          file=out)
    added = ", ".join(f"{CookieKind(int(kind)).name} {count}"
                      for kind, count in result["rules_added_per_kind"].items())
    expected = " + ".join(f"{n} {kind.name}" for kind, n in RULES_PER_BINDING.items())
    print(f"  rules added: {added} (expected {expected} per binding)", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    harness.main_guard()
    result = run(args.count, args.seconds)
    report(result)
    harness.keep_results(args.out, "soak", result)
    check(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
