"""Handover benchmark: repeat visit-a ↔ visit-b handovers of mn1 on the reference network.

    .venv/bin/python -m benchmarks.handover [--count 20] [--baseline-count 0]

A 1 kHz UDP probe stream runs from cn1 to mn1's home address; for each handover it
records the interruption (largest gap between probes), probes lost, the time from
attachment to the binding change, the BU→BA round trip seen on mn1's interface (from a
tshark capture) and the flow-mods the controller sent. Prints median, p95 and max.

With ``--baseline-count N`` the same run repeats N handovers with the timers of a
typical Mobile IPv6 deployment: no RA on attachment (periodic RAs only, MinRtrAdvInterval
1 s and MaxRtrAdvInterval 3 s, which RFC 6275 §7.5 permits) and ordinary DAD on the
care-of address, so the gain of network-assisted movement detection and optimistic DAD
shows as a ratio measured on the same machine in the same run.
mn1 runs the real mobile node agent, one node on its port: source address validation
(RFC 6620) stays on at every port, mn1's included (no trusted port, no load generator).
A benchmark, not a test: it asserts nothing about speed.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

from mininet.log import setLogLevel

from mininet_topos import harness

HOME = "2001:db8:1::100"
SOURCE_VALIDATION_NOTE = ("source address validation (RFC 6620) on at every host port, "
                          "mn1's included: no trusted port (no load generator)")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bu_to_ba_ms(pcap):
    """BU→BA round trips (ms) by sequence number, from a capture on the MN."""
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", "mipv6", "-T", "fields",
                          "-e", "frame.time_epoch", "-e", "mip6.mhtype", "-e", "mip6.bu.seqnr",
                          "-e", "mip6.ba.seqnr"], capture_output=True, text=True).stdout
    sent, rtts = {}, []
    for line in out.splitlines():
        at, kind, bu_seq, ba_seq = (line.split("\t") + ["", "", ""])[:4]
        if kind == "5" and bu_seq:
            sent.setdefault(bu_seq, float(at))
        elif kind == "6" and ba_seq in sent:
            rtts.append((float(at) - sent.pop(ba_seq)) * 1000)
    return rtts


def summary(name, values, unit):
    if not values:
        return f"  {name:22} (none)"
    return (f"  {name:22} median {statistics.median(values):8.1f} {unit}   p95 "
            f"{percentile(values, 0.95):8.1f} {unit}   max {max(values):8.1f} {unit}")


BASELINE_CONFIG = {"ra_interval": 3, "ra_min_interval": 1, "ra_on_attachment": "false"}


def run(count, baseline=False):
    work = tempfile.mkdtemp(prefix="mipv6-bench-")
    probes, pcap = f"{work}/probes.txt", f"{work}/signalling.pcap"
    results = []
    config = harness.config_with(harness.REFERENCE_CONFIG,
                                 **(BASELINE_CONFIG if baseline else {}))
    with harness.reference_network(config, optimistic_dad=not baseline) as (net, controller):
        mn1, cn1 = net.get("mn1"), net.get("cn1")
        agent = harness.start_agent(mn1, log_path=f"{work}/agent.log")
        capture = mn1.popen(["tshark", "-q", "-i", mn1.defaultIntf().name, "-w", pcap, "-f",
                             "ip6 and not udp"], stderr=subprocess.DEVNULL)
        receiver = mn1.popen([harness.HOST_PYTHON, str(harness.PROBE), "receive", "9000",
                              probes])
        sender = cn1.popen([harness.HOST_PYTHON, str(harness.PROBE), "send", HOME, "9000",
                            "1000", str(20 + count * (8 if baseline else 3))])
        try:
            results.append(harness.handover(net, controller, "mn1", "s2", HOME, probes))
            for index in range(count):
                time.sleep(0.5)
                switch = "s3" if index % 2 == 0 else "s2"
                results.append(harness.handover(net, controller, "mn1", switch, HOME, probes))
        finally:
            for process in (sender, receiver):
                process.kill()
                process.wait()
            harness.stop_process(agent)
            capture.terminate()
            capture.wait(10)
    from mininet_topos import probe
    return results[1:], bu_to_ba_ms(pcap), probe.arrivals(probes)


def report(title, results, rtts):
    print(f"{title}: {len(results)} handovers visit-a <-> visit-b, 1 kHz probes cn1 -> {HOME}")
    print(f"  {SOURCE_VALIDATION_NOTE}")
    print(summary("interruption", [r["interruption_ms"] for r in results], "ms"))
    print(summary("probes lost", [r["lost"] for r in results], "  "))
    stopped = sum(r["stopped"] for r in results)
    if stopped:
        print(f"  FAILED: the probe stream stopped after {stopped} handover(s)")
    print(summary("attachment -> BA", [r["attach_to_ba_ms"] for r in results], "ms"))
    print(summary("BU -> BA (on mn1)", rtts, "ms"))
    print(summary("flow-mods/handover", [r["flow_mods"] for r in results], "  "))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--baseline-count", type=int, default=0)
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args(argv)
    harness.main_guard()
    setLogLevel("warning")
    raw = measure(args.count, args.baseline_count)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(raw, out, indent=1)
    return 0


def measure(count, baseline_count):
    """Run both (the baseline only if ``baseline_count``), print, return the raw data."""
    raw = {}
    results, rtts, arrivals = run(count)
    report("mipv6-sdn", results, rtts)
    raw["mipv6_sdn"] = {"handovers": results, "bu_to_ba_ms": rtts, "arrivals": arrivals}
    if baseline_count:
        base, base_rtts, base_arrivals = run(baseline_count, baseline=True)
        report("baseline (periodic RAs 1-3 s, ordinary DAD)", base, base_rtts)
        ratio = statistics.median(r["interruption_ms"] for r in base) / statistics.median(
            r["interruption_ms"] for r in results)
        print(f"median interruption, baseline / mipv6-sdn: {ratio:.1f}x")
        raw["baseline"] = {"handovers": base, "bu_to_ba_ms": base_rtts,
                           "arrivals": base_arrivals}
    return raw


if __name__ == "__main__":
    sys.exit(main())
