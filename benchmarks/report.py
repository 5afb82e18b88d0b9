"""`make bench`: run the benchmark suites and write bench-results/report.md with plots.

    .venv/bin/python -m benchmarks.report [--quick] [--out DIR] [--suites a,b,...]

Every figure is measured in the same run as its baseline, on this machine; the report
records the machine and the versions. Each suite's raw results are a small JSON file
beside the report (``<suite>.json``): the figures the README quotes are a copy of one
such folder in benchmarks/results/ (benchmarks/README.md). Each suite also runs alone (``python -m
benchmarks.<suite>``).
"""
import argparse
import datetime
import gzip
import io
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot  # noqa: E402  (the backend must be chosen first)

from benchmarks import (core, flood, handover, route_optimisation, scale, soak,  # noqa: E402
                        throughput)
from mininet_topos import harness  # noqa: E402

SUITES = ("handover", "throughput", "core", "scale", "route_optimisation", "flood", "soak")


def machine():
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                     if line.startswith("MemTotal"))
    ovs = subprocess.run(["ovs-vsctl", "--version"], capture_output=True,
                         text=True).stdout.splitlines()[0]
    import ryu
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": cpu,
            "cores": os.cpu_count(), "memory_gib": round(memory_kb / 2 ** 20, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "ryu": ryu.__version__ if hasattr(ryu, "__version__") else "4.34", "ovs": ovs}


HANDOVER_FIGURES = (("l2_outage_ms", "L2 outage"), ("l3_handover_ms", "L3 handover"),
                    ("interruption_ms", "interruption"))


def handover_plots(raw, out):
    """The three figures of every handover, each on its own: a CDF per figure, ours and
    the baseline's."""
    figure, axes = pyplot.subplots(1, 3, figsize=(13, 4))
    for axis, (key, title) in zip(axes, HANDOVER_FIGURES):
        for name in handover.RUNS:
            if name not in raw:
                continue
            values = sorted(r[key] for r in raw[name]["handovers"] if r[key] is not None)
            if values:
                axis.step(values, [(i + 1) / len(values) for i in range(len(values))],
                          where="post", label=name, marker=".")
        axis.set_xscale("log")
        axis.set_xlabel(f"{title} (ms)")
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("fraction of handovers")
    axes[-1].legend()
    figure.suptitle(f"handovers of mn1 visit-a <-> visit-b, {raw['probe_rate_hz'] // 1000} kHz "
                    "probes cn1 -> home address")
    figure.tight_layout()
    figure.savefig(out / "handover-figures.png", dpi=110)
    pyplot.close(figure)


def _median(values):
    present = [v for v in values if v is not None]
    return f"{statistics.median(present):.2f} ms" if present else "--"


def handover_section(raw):
    moves = raw["link_moves"]
    lines = ["## Handover", "",
             f"visit-a ↔ visit-b handovers of mn1 on the reference network with a "
             f"{raw['probe_rate_hz'] // 1000} kHz UDP probe stream (kernel receive times) "
             "from cn1 to its home address. L2 outage: the link move; L3 handover: link up "
             "to the first probe at the new place; interruption: the largest probe gap. "
             f"mipv6_sdn: {moves['mipv6_sdn']}; mipv6_sdn_triggered: the same move with "
             "the network-triggered handover on (docs/pipeline.md); mipv6_sdn_reattach: "
             f"{moves['mipv6_sdn_reattach']}. Baseline, same run and the re-attach move, no "
             "network trigger: no RA on attachment, RS answered after 0-0.5 s (RFC 4861 §6.2.6), periodic RAs "
             "(MinRtrAdvInterval 1 s, MaxRtrAdvInterval 3 s, RFC 6275 §7.5), ordinary DAD "
             "on the care-of address.", "",
             "| | handovers | L2 outage median | L3 handover median | p95 | interruption "
             "median | p95 | max | streams stopped | probes lost (median) | BU→BA median "
             "| flow-mods/handover |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in handover.RUNS:
        if name not in raw:
            continue
        runs = raw[name]["handovers"]
        l3 = [r["l3_handover_ms"] for r in runs if r["l3_handover_ms"] is not None]
        cuts = [r["interruption_ms"] for r in runs]
        lines.append(
            f"| {name} | {len(runs)} | {_median(r['l2_outage_ms'] for r in runs)} | "
            f"{_median(l3)} | "
            f"{f'{handover.percentile(l3, 0.95):.2f} ms' if l3 else '--'} | "
            f"{_median(cuts)} | {handover.percentile(cuts, 0.95):.2f} ms | "
            f"{max(cuts):.2f} ms | {sum(r['stopped'] for r in runs)} | "
            f"{statistics.median(r['lost'] or 0 for r in runs):.0f} | "
            f"{_median(raw[name]['bu_to_ba_ms'])} | "
            f"{statistics.median(r['flow_mods'] for r in runs):.0f} |")
    if "baseline" in raw and "mipv6_sdn_reattach" in raw:
        lines += ["", "Median interruption, baseline / mipv6-sdn (both by the re-attach "
                  f"move): **{handover.interruption_ratio(raw):.1f}×**."]
    lines += ["", "![L2 outage, L3 handover and interruption](handover-figures.png)", ""]
    return lines


def throughput_section(figures):
    lines = ["## Signalling throughput", "",
             f"{figures['count']:,} distinct mobile nodes send authenticated BUs from a Mininet "
             f"host through the switches (window {figures['window']} outstanding). Ceiling, "
             "same run and path: a minimal Ryu app answering each packet-in with the same "
             "number and kind of messages (benchmarks/ceiling_app.py).", "",
             *([throughput.trusted_note(figures["ours"]["trusted_port"]["port"]) + ".", ""]
               if "trusted_port" in figures.get("ours", {}) else []),
             "| controller | phase | accepted BAs/s | rejected | lost | p50 | p95 | p99 |",
             "|---|---|---|---|---|---|---|---|"]
    for name in ("ours", "ceiling"):
        for phase, r in figures[name]["phases"].items():
            lat = r["latency_ms"]
            lines.append(f"| {name} | {phase} | {r['accepted_per_s']:,.0f} | {r['rejected']} | "
                         f"{r['lost']} | "
                         f"{lat['p50']:.1f} ms | {lat['p95']:.1f} ms | {lat['p99']:.1f} ms |")
    lines += [""] + [f"Ratio ours/ceiling, {phase}: **{ratio}** (target "
                     f"{figures['target_ratio']})." for phase, ratio in figures["ratios"].items()]
    return lines + [""]


def core_section(figures):
    lines = ["## Core: Binding Update processing without Ryu", "",
             f"{figures['mobile_nodes']} mobile nodes through `Router.packet_in` with the "
             f"SQLite journal ({figures['journal']}), one core. Baselines in the same run: "
             "parsing the same frames only, and the same BUs without a journal. "
             + core.trusted_note(figures["source_validation"]["trusted_ports"]) + ".", "",
             "| phase | BUs/s | µs/BU | parse only, BUs/s | no journal, BUs/s | flow-mods/BU "
             "(forwarding) | flow-mods in reply |",
             "|---|---|---|---|---|---|---|"]
    for name, phase in figures["phases"].items():
        lines.append(f"| {name.replace('_', ' ')} | {phase['bus_per_second']:,.0f} | "
                     f"{phase['us_per_bu']:.0f} | {phase['parse_only_per_second']:,.0f} | "
                     f"{phase['no_journal_per_second']:,.0f} | {phase['flow_mods_per_bu']:.0f} | "
                     f"{phase['reply_flow_mods_per_bu']} |")
    met = "met" if figures["target_met"] else "not met"
    lines += ["", f"Target {figures['target_refreshes_per_second']:,} refreshes/s: **{met}**. "
              "Where the time goes: benchmarks/README.md (cProfile: `python -m "
              "benchmarks.core --profile`).", ""]
    return lines


def scale_section(figures):
    lines = ["## Scale", "",
             core.trusted_note(figures["source_validation"]["trusted_ports"]) + "; the "
             f"handovers' mn1 is one node on port {scale.MN1_PORT}, source-validated.", "",
             "| bindings | heap bytes/binding | RSS bytes/binding | "
             "flow entries/binding | entries per switch |", "|---|---|---|---|---|"]
    for row in figures["bindings"]:
        per_switch = ", ".join(f"s{k}: {v}" for k, v in row["entries_per_switch"].items())
        lines.append(f"| {row['bindings']:,} | {row['heap_bytes_per_binding']:.0f} | "
                     f"{row['rss_bytes_per_binding']:.0f} | {row['flow_entries_per_binding']} "
                     f"| {per_switch} |")
    lines += ["", "| access links | switches | flow-mods per handover |", "|---|---|---|"]
    for row in figures["handover"]:
        lines.append(f"| {row['access_links']} | {row['switches']} | "
                     f"{row['flow_mods_per_handover']} |")
    lines += ["", "![memory and rules](scale-memory-rules.png)", "",
              "![flow-mods per handover](scale-handover.png)", ""]
    return lines


def route_optimisation_section(summary, delay_ms):
    lines = ["## Route optimisation", "",
             f"mn1 on visit-b, the home link {delay_ms:g} ms away each way (a userspace "
             "delay element on s5-s1); 100 pings cn1 → home address, then handovers "
             "visit-a ↔ visit-b under 1 kHz probes, per `[route_optimisation] mode` "
             "(`python -m benchmarks.route_optimisation`).", "",
             "| mode | RTT median | switches crossed | labelled at s1 | interruption median "
             "| streams stopped | home binding → cn1's binding, median |", "|---|---|---|---|---|---|---|"]
    for mode, row in summary.items():
        def ms(value):
            return "--" if value is None else f"{value:.2f} ms"
        lines.append(f"| {mode} | {ms(row['rtt_median_ms'])} | {' '.join(row['crossed'])} | "
                     f"{row['s1_labelled']} | {ms(row['interruption_median_ms'])} | "
                     f"{row['stopped']} | {ms(row['home_to_cn1_binding_median_ms'])} |")
    return lines + ["", "![route optimisation](route-optimisation.svg)", ""]


def printed_section(title, module, figures):
    """A suite's own printed report as a section (flood, soak: docs/security.md)."""
    text = io.StringIO()
    module.report(figures, out=text)
    return [f"## {title}", "", "```", text.getvalue().rstrip(), "```", ""]


def progress(suite, suites):
    """Which suite runs now: `make bench` takes half an hour."""
    print(f"make bench: {suite} ({suites.index(suite) + 1} of {len(suites)}), "
          f"{datetime.datetime.now():%H:%M:%S}", flush=True)


def run_suite(module, args, out, name):
    """A suite's own main with --json; its figures."""
    path = out / f"{name}.json"
    module.main([*args, "--json", str(path)])
    return json.loads(path.read_text())


def run_handover(quick, out):
    raw = handover.measure(2 if quick else 50, 2 if quick else 20, 1 if quick else 20,
                           1 if quick else 20)
    (out / "handover.json").write_text(json.dumps(raw, indent=1))
    handover_plots(raw, out)
    return raw, handover_section(raw)


def run_throughput(quick, out):
    figures = run_suite(throughput, ["--quick"] if quick else [], out, "throughput")
    return figures, throughput_section(figures)


def run_core(quick, out):
    figures = run_suite(core, ["--quick"] if quick else [], out, "core")
    return figures, core_section(figures)


def run_scale(quick, out):
    figures = run_suite(scale, (["--quick"] if quick else []) + ["--plots", str(out)],
                        out, "scale")
    return figures, scale_section(figures)


def run_route_optimisation(quick, out):
    route_optimisation.main(["--handovers", "1" if quick else "10", "--out", str(out)])
    with gzip.open(out / "results.json.gz", "rt") as handle:
        raw = json.load(handle)
    figures = route_optimisation.figures(raw)
    (out / "route_optimisation.json").write_text(json.dumps(figures, indent=1))
    return figures, route_optimisation_section(figures, raw["delay_ms"])


def run_flood(quick, out):
    raw = flood.run(20000, 20 if quick else 200)
    (out / "flood.json").write_text(json.dumps(raw, indent=1))
    return raw["summary"], printed_section("Flood", flood, raw)


def run_soak(quick, out):
    result = soak.run(200 if quick else 1000, 20 if quick else 600)
    (out / "soak.json").write_text(json.dumps(result, indent=1))
    section = printed_section("Soak", soak, result)
    soak.check(result)
    return {key: value for key, value in result.items() if key != "rounds"}, section


# Each runs one suite, keeps its raw results in ``out`` and returns (figures, section).
RUNNERS = {"handover": run_handover, "throughput": run_throughput, "core": run_core,
           "scale": run_scale, "route_optimisation": run_route_optimisation,
           "flood": run_flood, "soak": run_soak}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: proves the harness")
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--suites", default=",".join(SUITES))
    args = parser.parse_args(argv)
    harness.main_guard()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    unknown = set(args.suites.split(",")) - set(SUITES)
    if unknown:
        parser.error(f"unknown suites {', '.join(sorted(unknown))}; known: {', '.join(SUITES)}")
    suites = [name for name in SUITES if name in args.suites.split(",")]
    report = ["# mipv6-sdn benchmark report", ""]
    info = machine()
    report += [f"- {key}: {value}" for key, value in info.items()] + [""]
    data = {"machine": info}
    for name in suites:
        progress(name, suites)
        data[name], section = RUNNERS[name](args.quick, out)
        report += section
    (out / "report.md").write_text("\n".join(report))
    (out / "results.json").write_text(json.dumps(data, indent=1))
    print(f"wrote {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
