"""Handover benchmark: repeat visit-a ↔ visit-b handovers of mn1 on the reference network.

    .venv/bin/python -m benchmarks.handover [--count 20] [--l2-outage-ms 0]
        [--triggered-count 0] [--reattach-count 0] [--baseline-count 0] [--json F]

A 10 kHz UDP probe stream (kernel receive timestamps) runs from cn1 to mn1's home
address. mn1 moves by the radio move (``roaming.move_host`` with a radio hub,
docs/mininet.md): its old patch port is blocked, ``--l2-outage-ms`` pass, the new one is
unblocked, and the host's carrier never drops; ``--reattach-count N`` adds N handovers by
the re-attach move of before (down, an ovsdb transaction, up) for comparison, and
``--triggered-count N`` N radio handovers with the network-triggered handover on
(delivery moves on mn1's first frame at the new port, docs/pipeline.md). For each
handover it records three figures (benchmarks/README.md):

- **L2 outage**: mn1's link is gone, from the start of the move to link up;
- **L3 handover**: from link up to the first probe delivered at the new place;
- **interruption**: the largest gap between probes around the move (the window's edges
  count, so a stream that stops and never resumes is a failure, not a small gap);

and the probes lost, link up → binding change (the BA goes out with it), the BU→BA
round trip seen on mn1's interface (from a tshark capture) and the flow-mods the
controller sent. Prints median, p95 and max of each.

With ``--baseline-count N`` the same run repeats N re-attach handovers with the timers
of a typical Mobile IPv6 deployment: no RA on attachment, periodic RAs (MinRtrAdvInterval
1 s, MaxRtrAdvInterval 3 s, which RFC 6275 §7.5 permits), solicitations answered after
a random delay of up to MAX_RA_DELAY_TIME (0.5 s, RFC 4861 §6.2.6) and ordinary DAD on
the care-of address, so the gain of network-assisted movement detection and optimistic
DAD shows as a ratio against our own re-attach handovers, on the same machine in the
same run. The baseline keeps the re-attach move because there the host sees its carrier
come back and solicits a router at once; on a radio link without carrier events it
would wait for a periodic RA, and the ratio would flatter us.
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

from mininet_topos import harness, roaming

HOME = "2001:db8:1::100"
LINK_MOVES = {
    "radio": "the radio move: mn1's hub blocks the old patch port and unblocks the new "
             "one by port-mods, {outage} ms apart; mn1's carrier stays up",
    "reattach": "the re-attach move: mn1's veth moved between bridges (down, one ovsdb "
                "transaction, up)",
}
# name: (link move, network-triggered handover on); the baseline has neither of ours
RUNS = {"mipv6_sdn": ("radio", False), "mipv6_sdn_triggered": ("radio", True),
        "mipv6_sdn_reattach": ("reattach", False), "baseline": ("reattach", False)}
TITLES = {"mipv6_sdn": "mipv6-sdn, radio move",
          "mipv6_sdn_triggered": "mipv6-sdn, radio move, network-triggered handover on",
          "mipv6_sdn_reattach": "mipv6-sdn, re-attach move",
          "baseline": "baseline, re-attach move (no RA on attachment, RS answered after "
                      "0-0.5 s, periodic RAs 1-3 s, ordinary DAD, no network trigger)"}
NETWORK_TRIGGER = "\n[network_handover]\nenabled = true\n"
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
    """One line: median, p95 and max of the values that exist (a stopped stream has no
    L3 figure: it is counted as a failure, not left out silently)."""
    present = [v for v in values if v is not None]
    missing = len(values) - len(present)
    tail = f"   ({missing} without a figure)" if missing else ""
    if not present:
        return f"  {name:22} (none){tail}"
    return (f"  {name:22} median {statistics.median(present):8.2f} {unit}   p95 "
            f"{percentile(present, 0.95):8.2f} {unit}   max {max(present):8.2f} {unit}{tail}")


BASELINE_CONFIG = {"ra_interval": 3, "ra_min_interval": 1, "ra_on_attachment": "false",
                   "ra_solicited_delay": 0.5}
SETTLE = 0.5  # s between handovers


def run(count, baseline=False, move="radio", l2_outage=0.0, network_triggered=False):
    """``count`` handovers by ``move`` ("radio" or "reattach"; after a first one to
    visit-a, not counted); the results, the BU→BA round trips and the folder with the
    probe file, capture and agent log."""
    work = tempfile.mkdtemp(prefix="mipv6-bench-")
    pcap = f"{work}/signalling.pcap"
    results = []
    config = harness.config_with(harness.REFERENCE_CONFIG,
                                 NETWORK_TRIGGER if network_triggered else "",
                                 **(BASELINE_CONFIG if baseline else {}))
    seconds = 20 + count * (8 if baseline else 3)
    with harness.reference_network(config, optimistic_dad=not baseline,
                                   topo_factory=lambda: roaming.RoamingTopo(
                                       radio=move == "radio")) as (net, controller):
        mn1, cn1 = net.get("mn1"), net.get("cn1")
        agent = harness.start_agent(mn1, log_path=f"{work}/agent.log")
        capture = mn1.popen(["tshark", "-q", "-i", mn1.defaultIntf().name, "-w", pcap, "-f",
                             "ip6 and not udp"], stderr=subprocess.DEVNULL)
        try:
            with harness.probe_stream(cn1, mn1, HOME, f"{work}/probes.txt", seconds) as probes:
                harness.handover(net, controller, "mn1", "s2", HOME, probes,
                                 l2_outage=l2_outage)
                for index in range(count):
                    time.sleep(SETTLE)
                    switch = "s3" if index % 2 == 0 else "s2"
                    results.append(harness.handover(net, controller, "mn1", switch, HOME,
                                                    probes, l2_outage=l2_outage))
                    print(f"  {'baseline ' if baseline else move} handover "
                          f"{index + 1}/{count}: interruption "
                          f"{results[-1]['interruption_ms']:.1f} ms", file=sys.stderr)
        finally:
            harness.stop_process(agent)
            capture.terminate()
            capture.wait(10)
    return results, bu_to_ba_ms(pcap), work


def report(title, results, rtts, out=sys.stdout):
    print(f"{title}: {len(results)} handovers visit-a <-> visit-b, "
          f"{harness.PROBE_RATE // 1000} kHz probes cn1 -> {HOME}", file=out)
    print(f"  {SOURCE_VALIDATION_NOTE}", file=out)
    for name, key, unit in (("L2 outage", "l2_outage_ms", "ms"),
                            ("L3 handover", "l3_handover_ms", "ms"),
                            ("interruption", "interruption_ms", "ms"),
                            ("probes lost", "lost", "  "),
                            ("link up -> BA", "link_up_to_ba_ms", "ms")):
        print(summary(name, [r[key] for r in results], unit), file=out)
    print(summary("BU -> BA (on mn1)", rtts, "ms"), file=out)
    print(summary("flow-mods/handover", [r["flow_mods"] for r in results], "  "), file=out)
    stopped = sum(r["stopped"] for r in results)
    if stopped:
        print(f"  FAILED: the probe stream stopped after {stopped} handover(s)", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--l2-outage-ms", type=float, default=0.0,
                        help="the radio move's L2 outage (default 0)")
    parser.add_argument("--triggered-count", type=int, default=0,
                        help="radio handovers with the network-triggered handover on")
    parser.add_argument("--reattach-count", type=int, default=0)
    parser.add_argument("--baseline-count", type=int, default=0)
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args(argv)
    harness.main_guard()
    setLogLevel("warning")
    raw = measure(args.count, args.triggered_count, args.reattach_count,
                  args.baseline_count, args.l2_outage_ms / 1000)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(raw, out, indent=1)
    return 0


def measure(count, triggered_count, reattach_count, baseline_count, l2_outage=0.0):
    """Run ours by the radio move, then (when their counts are not 0) ours by the radio
    move with the network-triggered handover on, ours by the re-attach move and the
    baseline; print, return the raw data: every handover's figures and gaps over 2 ms,
    and the BU→BA round trips."""
    raw = {"probe_rate_hz": harness.PROBE_RATE, "l2_outage_ms": l2_outage * 1000,
           "link_moves": {name: LINK_MOVES[move].format(outage=f"{l2_outage * 1000:g}")
                          for name, (move, _) in RUNS.items()},
           "network_triggered": {name: on for name, (_, on) in RUNS.items()}}
    counts = {"mipv6_sdn": count, "mipv6_sdn_triggered": triggered_count,
              "mipv6_sdn_reattach": reattach_count, "baseline": baseline_count}
    for name, (move, network_triggered) in RUNS.items():
        if not counts[name]:
            continue
        results, rtts, work = run(counts[name], baseline=name == "baseline", move=move,
                                  l2_outage=l2_outage if move == "radio" else 0.0,
                                  network_triggered=network_triggered)
        report(TITLES[name], results, rtts)
        print(f"  {raw['link_moves'][name]}")
        print(f"  probes, capture and agent log in {work}")
        raw[name] = {"handovers": results, "bu_to_ba_ms": rtts}
    if "baseline" in raw and "mipv6_sdn_reattach" in raw:
        print("median interruption, baseline / mipv6-sdn (both by the re-attach move): "
              f"{interruption_ratio(raw):.1f}x")
    return raw


def interruption_ratio(raw):
    """Median interruption of the baseline over ours, both by the re-attach move."""
    return statistics.median(r["interruption_ms"] for r in raw["baseline"]["handovers"]) \
        / statistics.median(r["interruption_ms"]
                            for r in raw["mipv6_sdn_reattach"]["handovers"])


if __name__ == "__main__":
    sys.exit(main())
