"""Route optimisation benchmark: what each [route_optimisation] mode does to cn1 ↔ mn1.

    .venv/bin/python -m benchmarks.route_optimisation [--delay-ms 10] [--handovers 5]
        [--modes off rr network] [--out DIR]

The reference network with the userspace delay element on the s5-s1 link
(mininet_topos/delay_link.py: s5 - d1 - s1, ``--delay-ms`` each way), so a path through
the home switch costs distance. For each mode (``off``, ``rr``, ``network``), on a
fresh controller and network:

1. mn1 runs the agent (``--route-optimise 2001:db8:c::/64`` when the agent has it) and
   moves to visit-b (s3); the benchmark waits for the home binding and for cn1 to reach
   the home address (its first packet makes cn1 a correspondent of the agent), then in
   ``rr`` for cn1's correspondent binding, in ``network`` for the ingress rule that a few
   pings set up.
2. RTT cn1 → mn1's home address: ``ping -c 100 -i 0.02``, every time kept; the switches
   the pings cross: those whose trunk ports (the LLDP links of the controller's view)
   counted at least as many packets as pings (received plus sent, OpenFlow port
   counters), and, for comparison, the labelled packets that arrived at each switch
   (harness.labelled_arrivals: data on label-switched paths only, no LLDP).
3. ``--handovers`` handovers visit-b ↔ visit-a under a 1 kHz probe stream cn1 → home
   address: the interruption (largest gap between arrivals, the window's edges
   included, so a stream that stops counts as a failure, not as a small gap) and the
   probes lost; in ``rr`` the time from the home binding change to cn1's binding for
   the new care-of address (the controller's view, and the Binding Acknowledgements on
   mn1's interface), and, in every mode, the mobility messages to or from cn1 per
   handover (a tshark capture on mn1's interface).

Before the modes, ping hh1 → cn1 (a path over s1-s5) runs on the network without the
delay element and with it: the element's own effect. Prints a table; writes every ping
time, gap, arrival and timing as JSON, and an SVG plot (matplotlib, as benchmarks/report
uses) into ``--out``. mn1 runs the real agent, one node on its port: source address
validation (RFC 6620) stays on at every port (no trusted port, no load generator).
A benchmark, not a test: it asserts nothing about speed.
"""
import argparse
import functools
import gzip
import ipaddress
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import matplotlib
from mininet.log import setLogLevel

matplotlib.use("Agg")
from matplotlib import pyplot  # noqa: E402  (the backend must be chosen first)

from mininet_topos import delay_link, harness, probe, roaming

HOME = "2001:db8:1::100"
HOME_AGENT = "2001:db8:1::1"
CN1 = "2001:db8:c::10"   # cn1's static address; it sends from its SLAAC address too
HH1 = "2001:db8:1::10"
CORRESPONDENTS = "2001:db8:c::/64"
CORR_PREFIX = ipaddress.IPv6Network(CORRESPONDENTS)
PREFIXES = {"s2": "2001:db8:a:", "s3": "2001:db8:b:"}
MODES = ("off", "rr", "network")
PINGS, PING_INTERVAL = 100, 0.02
PROBE_RATE, PROBE_PORT = 1000, 9000
SETTLE = 1.5          # s of stream kept after each binding change
MH_TYPES = {1: "HoTI", 2: "CoTI", 3: "HoT", 4: "CoT", 5: "BU", 6: "BA", 7: "BRR", 8: "BE"}
SOURCE_VALIDATION_NOTE = ("source address validation (RFC 6620) on at every host port, "
                          "mn1's included: no trusted port (no load generator)")
DEFAULT_OUT = (pathlib.Path(__file__).resolve().parent / "results"
               / "2026-11-30-route-optimisation")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# ---------------------------------------------------------------- measurements

def ping_times(output):
    """{icmp_seq: rtt ms} from ping's per-packet lines (duplicates ignored)."""
    times = {}
    for seq, rtt in re.findall(r"icmp_seq=(\d+) .*?time=([\d.]+) ms", output):
        times.setdefault(int(seq), float(rtt))
    return times


def ping_run(host, address, count, interval):
    """Ping ``count`` times; returns the RTTs (ms) in order and the count lost."""
    _, output = harness.ping(host, address, count=count, wait=1, interval=interval)
    times = ping_times(output)
    return [times[seq] for seq in sorted(times)], count - len(times)


def trunk_ports(controller):
    """{switch name: [port numbers]} of the LLDP links in the controller's view."""
    ports = {}
    for link in controller.view("links"):
        ports.setdefault(f"s{link['src']}", set()).add(link["src_port"])
    return {name: sorted(numbers) for name, numbers in sorted(ports.items())}


def port_counters(switch):
    """{port number: (rx packets, tx packets)} from ovs-ofctl dump-ports."""
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "--no-names", "dump-ports",
                          switch], capture_output=True, text=True, check=True).stdout
    counters = {}
    for port, rx, tx in re.findall(r"port\s+(\w+):\s*rx pkts=(\d+).*?\n\s*tx pkts=(\d+)",
                                   out):
        if port.isdigit():
            counters[int(port)] = (int(rx), int(tx))
    return counters


def crossings(net, controller, action, pings):
    """Run ``action``; per switch, the packets its trunk ports received and sent and
    the labelled packets that arrived at it meanwhile; the switches crossed."""
    trunks = trunk_ports(controller)
    names = [switch.name for switch in net.switches]
    harness.flow_counters_settled()  # earlier packets counted first
    before = {name: port_counters(name) for name in names}
    labelled_before = {name: harness.labelled_arrivals(name) for name in names}
    action()
    harness.flow_counters_settled()
    after = {name: port_counters(name) for name in names}
    labelled = {name: harness.labelled_arrivals(name) - labelled_before[name]
                for name in names}
    per_switch = {}
    for name in names:
        rx = sum(after[name][p][0] - before[name][p][0] for p in trunks.get(name, []))
        tx = sum(after[name][p][1] - before[name][p][1] for p in trunks.get(name, []))
        per_switch[name] = {"trunk_rx": rx, "trunk_tx": tx, "labelled_arrivals":
                            labelled[name], "trunk_ports": trunks.get(name, [])}
    crossed = [name for name, c in per_switch.items()
               if c["trunk_rx"] + c["trunk_tx"] >= pings]
    return per_switch, crossed


def capture_messages(pcap):
    """[(time, src, dst, type name, care-of hint)] of the mobility messages captured."""
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", "mipv6 and not icmpv6", "-T", "fields",
                          "-e", "frame.time_epoch", "-e", "ipv6.src", "-e", "ipv6.dst",
                          "-e", "mip6.mhtype"], capture_output=True, text=True).stdout
    messages = []
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or not fields[3]:
            continue
        kind = int(fields[3].split(",")[0])
        messages.append((float(fields[0]), fields[1].split(",")[0],
                         fields[2].split(",")[0], MH_TYPES.get(kind, str(kind))))
    # mn1's kernel (no CONFIG_IPV6_MIP6) answers each Mobility Header that reaches it
    # (HoT, CoT: unknown Next Header; a BA's type 2 routing header) with a Parameter
    # Problem; counted as signalling too
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", "icmpv6.type == 4", "-T",
                          "fields", "-e", "frame.time_epoch", "-e", "ipv6.src", "-e",
                          "ipv6.dst"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3:
            messages.append((float(fields[0]), fields[1].split(",")[0],
                             fields[2].split(",")[0], "ParamProblem"))
    return sorted(messages)


def signalling(messages, handovers, capture_end):
    """Per handover: the mobility messages to or from cn1 from its attachment to the
    next one (by type), and on mn1 the home BA → cn1's BA gap."""
    for index, result in enumerate(handovers):
        start = result["move_started_at"]
        end = handovers[index + 1]["move_started_at"] if index + 1 < len(handovers) \
            else capture_end
        mine = [m for m in messages if start <= m[0] < end]
        with_cn1 = [m for m in mine if on_corr_link(m[1]) or on_corr_link(m[2])]
        counts = {}
        for _, src, _, kind in with_cn1:
            direction = "from_cn1" if on_corr_link(src) else "to_cn1"
            counts[f"{kind} {direction}"] = counts.get(f"{kind} {direction}", 0) + 1
        result["messages_with_cn1"] = counts
        result["messages_with_cn1_total"] = sum(1 for m in with_cn1
                                                if m[3] != "ParamProblem")
        result["param_problems_to_cn1"] = sum(1 for m in with_cn1
                                              if m[3] == "ParamProblem")
        result["messages_with_home_agent"] = sum(1 for m in mine if HOME_AGENT in m[1:3]
                                                 and m[3] != "ParamProblem")
        result["messages_with_cn1_list"] = [[round(t, 6), src, dst, kind]
                                            for t, src, dst, kind in with_cn1]
        prefix = PREFIXES[result["to"]]
        home_ba = next((t for t, src, dst, kind in mine if kind == "BA"
                        and src == HOME_AGENT and dst.startswith(prefix)), None)
        cn1_ba = next((t for t, src, dst, kind in mine if kind == "BA" and on_corr_link(src)
                       and dst.startswith(prefix) and home_ba is not None
                       and t >= home_ba), None)
        result["home_ba_on_mn1"] = home_ba
        result["cn1_ba_on_mn1"] = cn1_ba
        result["home_ba_to_cn1_ba_on_mn1_ms"] = (cn1_ba - home_ba) * 1000 \
            if home_ba is not None and cn1_ba is not None else None


def correspondent_accepted(controller, care_of_prefix):
    """When cn1's binding for mn1 at a care-of address in ``care_of_prefix`` was
    accepted (controller wall clock: expires - lifetime), or None."""
    for correspondent, entries in controller.view("correspondent_bindings").items():
        for entry in entries:
            if on_corr_link(correspondent) and entry["home_address"] == HOME and \
                    entry["care_of_address"].startswith(care_of_prefix):
                return entry["expires"] - entry["lifetime"]
    return None


def on_corr_link(address):
    """Whether ``address`` is cn1's: an address of the corr link. cn1 has its static
    2001:db8:c::10 and the SLAAC address it forms from the RA, and its kernel chooses
    the SLAAC one as the source towards mn1's home address, so the agent's correspondent
    is 2001:db8:c:0:200:ff:fe00:c10."""
    try:
        return ipaddress.IPv6Address(address) in CORR_PREFIX
    except ValueError:
        return False


def home_bound(controller, prefix):
    return [b for b in controller.view("bindings")
            if b["home_address"] == HOME and b["care_of_address"].startswith(prefix)]


def ingress_switches(controller):
    return controller.view("route_optimisation").get("ingress_switches", {}).get(HOME, [])


# ---------------------------------------------------------------- one mode

def run_mode(mode, delay_ms, handovers, work):
    """Everything measured in one mode, on its own controller and network."""
    config = harness.config_with(harness.REFERENCE_CONFIG, mode=f'"{mode}"')
    topo = functools.partial(delay_link.DelayedHomeTopo, delay_ms=delay_ms,
                             relay_log=f"{work}/relay-{mode}.log")
    probes, pcap = f"{work}/probes-{mode}.txt", f"{work}/mn1-{mode}.pcap"
    raw = {"mode": mode, "failures": []}
    extra = ("--route-optimise", CORRESPONDENTS)
    with harness.reference_network(config, of_port=harness.free_port(),
                                   rest_port=harness.free_port(), topo_factory=topo,
                                   expected_links=10,
                                   log_path=f"{work}/controller-{mode}.log") as (net,
                                                                                controller):
        mn1, cn1, hh1 = net.get("mn1"), net.get("cn1"), net.get("hh1")
        raw["links"] = controller.view("links")
        harness.wait_for(lambda: harness.ping(hh1, CN1)[0], 15, "hh1 to reach cn1")
        raw["hh1_cn1_rtt_ms"], raw["hh1_cn1_lost"] = ping_run(hh1, CN1, 50, PING_INTERVAL)
        agent = harness.start_agent(mn1, log_path=f"{work}/agent-{mode}.log", extra=extra)
        capture = mn1.popen(["tshark", "-q", "-i", mn1.defaultIntf().name, "-w", pcap,
                             "-f", "ip6 and not udp"], stderr=subprocess.DEVNULL)
        receiver = sender = None
        results = []
        try:
            harness.wait_for(lambda: os.path.exists(pcap), 15, "tshark to start")
            time.sleep(0.5)
            # 1. mn1 to visit-b and the route settled
            moved_at = time.time()
            roaming.move_host(net, "mn1", "s3")
            harness.wait_for(lambda: home_bound(controller, PREFIXES["s3"]), 15,
                             "the home binding at visit-b")
            raw["home_bound_after_s"] = time.time() - moved_at
            # cn1's first packet to the home address makes it mn1's correspondent
            harness.wait_for(lambda: harness.ping(cn1, HOME)[0], 10, "cn1 to reach mn1")
            if mode == "rr":
                try:
                    harness.wait_for(lambda: correspondent_accepted(controller,
                                                                    PREFIXES["s3"]),
                                     15, "cn1's correspondent binding at visit-b")
                except TimeoutError as error:
                    raw["failures"].append(str(error))
            if mode == "network":
                harness.ping(cn1, HOME, count=3, interval=0.05)
                try:
                    harness.wait_for(lambda: 4 in ingress_switches(controller), 5,
                                     "the ingress rule at s4")
                except TimeoutError as error:
                    raw["failures"].append(str(error))
            raw["route_optimisation_view"] = controller.view("route_optimisation")
            raw["correspondent_bindings"] = controller.view("correspondent_bindings")
            raw["binding_rules"] = harness.binding_rules(net)
            # 2. RTT and the switches crossed
            pinged = {}
            raw["switches"], raw["crossed"] = crossings(
                net, controller, lambda: pinged.update(zip(("rtt_ms", "lost"), ping_run(
                    cn1, HOME, PINGS, PING_INTERVAL))), PINGS)
            raw["rtt_ms"], raw["ping_lost"] = pinged["rtt_ms"], pinged["lost"]
            # 3. handovers under the probe stream
            receiver = mn1.popen([harness.HOST_PYTHON, str(harness.PROBE), "receive",
                                  str(PROBE_PORT), probes])
            sender = cn1.popen([harness.HOST_PYTHON, str(harness.PROBE), "send", HOME,
                                str(PROBE_PORT), str(PROBE_RATE), str(30 + handovers * 8)])
            probe_log = probe.ArrivalLog(probes)
            harness.wait_for(probe_log.read, 10, "the first probe")
            for index in range(handovers):
                switch = "s2" if index % 2 == 0 else "s3"
                try:
                    result = harness.handover(net, controller, "mn1", switch, HOME,
                                              probe_log, settle=SETTLE, rate=PROBE_RATE)
                except TimeoutError as error:
                    raw["failures"].append(f"handover {index + 1} to {switch}: {error}")
                    result = {"to": switch, "move_started_at": None, "failed": str(error)}
                    results.append(result)
                    break
                result["window_end"] = time.time()
                # the change harness.handover waited for (its attach->BA is measured to it)
                change_at = result["link_up_at"] + result["link_up_to_ba_ms"] / 1000
                result["home_change_at"] = change_at
                result["care_of_address"] = controller.view("binding_changes").get(
                    HOME, {}).get("care_of_address")
                if mode == "rr":
                    try:
                        accepted = harness.wait_for(lambda: correspondent_accepted(
                            controller, PREFIXES[switch]), 5, "cn1's binding")
                    except TimeoutError:
                        accepted = None
                        raw["failures"].append(f"handover {index + 1}: no correspondent "
                                               f"binding at {switch}")
                    result["cn1_binding_at"] = accepted
                    result["home_change_to_cn1_binding_ms"] = None if accepted is None \
                        else (accepted - change_at) * 1000
                if mode == "network":
                    result["ingress_switches"] = ingress_switches(controller)
                results.append(result)
                time.sleep(0.5)
            time.sleep(1.0)
            raw["capture_end"] = time.time()
        finally:
            harness.kill(sender, receiver)
            agent_status = harness.stop_process(agent)
            time.sleep(0.5)
            capture.terminate()
            capture.wait(10)
        raw["agent_exit"] = agent_status
        raw["bindings_at_end"] = controller.view("bindings")
        raw["relay"] = net.get(delay_link.DELAY_NODE).stop_relay()
    arrivals = probe.arrivals(probes) if os.path.exists(probes) else []
    for result in results:
        if result.get("move_started_at") is None:
            continue
        measured = probe.window(arrivals, result["move_started_at"] - 0.2, result["window_end"],
                                rate=PROBE_RATE)
        result.update(measured)
        result["interruption_ms"] = measured["largest_gap_s"] * 1000
        if measured["stopped"]:
            raw["failures"].append(f"probe stream stopped after the handover to "
                                   f"{result['to']} at {result['move_started_at']:.3f}")
    messages = capture_messages(pcap)
    attached = [r for r in results if r.get("move_started_at")]
    signalling(messages, attached, raw.get("capture_end", time.time()))
    first = attached[0]["move_started_at"] if attached else raw.get("capture_end", time.time())
    raw["first_registration_messages"] = [[round(t, 6), src, dst, kind]
                                          for t, src, dst, kind in messages
                                          if moved_at <= t < first]
    raw["handovers"] = results
    raw["arrivals"] = arrivals
    return raw


def delay_check(delay_ms, work):
    """hh1 → cn1 RTT (over s1-s5) without and with the delay element."""
    figures = {}
    for label, factory in (("without", roaming.RoamingTopo),
                           ("with", functools.partial(delay_link.DelayedHomeTopo,
                                                      delay_ms=delay_ms,
                                                      relay_log=f"{work}/relay-check.log"))):
        with harness.reference_network(harness.REFERENCE_CONFIG, of_port=harness.free_port(),
                                       rest_port=harness.free_port(), topo_factory=factory,
                                       expected_links=10,
                                       log_path=f"{work}/controller-check-{label}.log") as (
                net, controller):
            hh1 = net.get("hh1")
            harness.wait_for(lambda: harness.ping(hh1, CN1)[0], 15, "hh1 to reach cn1")
            rtts, lost = ping_run(hh1, CN1, PINGS, PING_INTERVAL)
            figures[label] = {"rtt_ms": rtts, "lost": lost}
            if label == "with":
                figures["relay"] = net.get(delay_link.DELAY_NODE).stop_relay()
    return figures


# ---------------------------------------------------------------- output

def fmt(values, digits=1):
    if not values:
        return "--"
    return (f"{statistics.median(values):.{digits}f} / {percentile(values, 0.95):.{digits}f}"
            f" / {max(values):.{digits}f}")


def figures(raw):
    """{mode: the medians the report quotes} of a run's raw results."""
    summary = {}
    for mode, m in raw["modes"].items():
        handovers = [h for h in m["handovers"] if h.get("move_started_at")]
        gaps = [h["interruption_ms"] for h in handovers if not h["stopped"]]
        gap_to_cn1 = [h["home_change_to_cn1_binding_ms"] for h in handovers
                      if h.get("home_change_to_cn1_binding_ms") is not None]
        summary[mode] = {
            "rtt_median_ms": statistics.median(m["rtt_ms"]) if m["rtt_ms"] else None,
            "crossed": m["crossed"], "s1_labelled": m["switches"]["s1"]["labelled_arrivals"],
            "interruption_median_ms": statistics.median(gaps) if gaps else None,
            "stopped": len(m["handovers"]) - len(gaps),
            "home_to_cn1_binding_median_ms":
                statistics.median(gap_to_cn1) if gap_to_cn1 else None}
    return summary


def report(raw):
    check = raw["delay_check"]
    without, with_ = check["without"]["rtt_ms"], check["with"]["rtt_ms"]
    print(f"delay element d1 on s5-s1, {raw['delay_ms']} ms each way: RTT hh1 -> cn1 median "
          f"{statistics.median(without):.2f} ms without, {statistics.median(with_):.2f} ms "
          f"with (+{statistics.median(with_) - statistics.median(without):.2f} ms)")
    print(SOURCE_VALIDATION_NOTE)
    print()
    print(f"{'mode':8} {'RTT cn1->HoA median / p95 ms':>29} {'lost':>5}  {'switches crossed':18}"
          f" {'s1 trunk pkts':>13} {'interruption med / p95 / max ms':>32} {'lost med':>8}"
          f" {'fail':>4} {'RR gap med / max (mn1) ms':>26} {'msgs/ho':>8}")
    for mode, m in raw["modes"].items():
        rtt = f"{statistics.median(m['rtt_ms']):.2f} / {percentile(m['rtt_ms'], 0.95):.2f}" \
            if m["rtt_ms"] else "--"
        s1 = m["switches"]["s1"]
        ok = [h for h in m["handovers"] if h.get("interruption_ms") is not None
              and not h.get("stopped")]
        failed = len(m["handovers"]) - len(ok)
        gaps = [h["interruption_ms"] for h in ok]
        lost = [h["lost"] for h in ok if h.get("lost") is not None]
        rr = [h["home_change_to_cn1_binding_ms"] for h in m["handovers"]
              if h.get("home_change_to_cn1_binding_ms") is not None]
        rr_mn1 = [h["home_ba_to_cn1_ba_on_mn1_ms"] for h in m["handovers"]
                  if h.get("home_ba_to_cn1_ba_on_mn1_ms") is not None]
        msgs = [h.get("messages_with_cn1_total", 0) for h in m["handovers"]
                if h.get("move_started_at")]
        rr_text = f"{statistics.median(rr):.1f} / {max(rr):.1f}" if rr else "--"
        if rr_mn1:
            rr_text += f" ({statistics.median(rr_mn1):.1f})"
        print(f"{mode:8} {rtt:>29} {m['ping_lost']:>5}  {' '.join(m['crossed']):18}"
              f" {s1['trunk_rx'] + s1['trunk_tx']:>13} {fmt(gaps):>32}"
              f" {statistics.median(lost) if lost else '--':>8} {failed:>4} {rr_text:>26}"
              f" {statistics.median(msgs) if msgs else '--':>8}")
    print()
    for mode, m in raw["modes"].items():
        print(f"{mode}: labelled arrivals per switch during the pings: " + ", ".join(
            f"{name} {c['labelled_arrivals']}" for name, c in m["switches"].items()))
        for h in m["handovers"]:
            if not h.get("move_started_at"):
                print(f"  handover to {h['to']}: FAILED ({h.get('failed')})")
                continue
            extra = ""
            if h.get("home_change_to_cn1_binding_ms") is not None:
                extra += f", home change -> cn1 binding {h['home_change_to_cn1_binding_ms']:.1f} ms"
            if h.get("home_ba_to_cn1_ba_on_mn1_ms") is not None:
                extra += f" (BAs on mn1 {h['home_ba_to_cn1_ba_on_mn1_ms']:.1f} ms)"
            print(f"  to {h['to']}: interruption {h['interruption_ms']:.1f} ms, lost "
                  f"{h['lost']}{' STOPPED' if h['stopped'] else ''}, link up->BA "
                  f"{h['link_up_to_ba_ms']:.1f} ms, flow-mods {h['flow_mods']}{extra}; "
                  f"with cn1: {h.get('messages_with_cn1') or 'none'}")
        for failure in m["failures"]:
            print(f"  FAILURE: {failure}")


def plot(raw, path):
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text
    modes = list(raw["modes"])
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(10, 4.2))
    left.boxplot([raw["modes"][mode]["rtt_ms"] for mode in modes], tick_labels=modes,
                 showfliers=True)
    left.set_title(f"RTT cn1 → mn1's home address on visit-b\n"
                   f"({PINGS} pings, {raw['delay_ms']} ms each way on s5–s1)")
    left.set_ylabel("ms")
    left.set_ylim(0, max(max(raw["modes"][mode]["rtt_ms"]) for mode in modes) * 1.15)
    for position, mode in enumerate(modes, start=1):
        median = statistics.median(raw["modes"][mode]["rtt_ms"])
        left.annotate(f"median {median:.1f} ms", (position, median),
                      textcoords="offset points", xytext=(0, 12), ha="center")
    for position, mode in enumerate(modes, start=1):
        handovers = [h for h in raw["modes"][mode]["handovers"] if h.get("move_started_at")]
        values = [h["interruption_ms"] for h in handovers]
        right.scatter([position] * len(values), values, color=[
            "red" if h["stopped"] else "tab:blue" for h in handovers], zorder=3)
        if values:
            right.hlines(statistics.median(values), position - 0.25, position + 0.25,
                         color="black")
    right.set_xticks(range(1, len(modes) + 1), modes)
    right.set_xlim(0.5, len(modes) + 0.5)
    right.set_ylim(bottom=0)
    right.set_title("interruption per handover visit-a ↔ visit-b\n"
                    "(1 kHz probes cn1 → home address; line: median)")
    right.set_ylabel("ms")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=10.0)
    parser.add_argument("--handovers", type=int, default=5)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="directory for results.json.gz and route-optimisation.svg")
    args = parser.parse_args(argv)
    harness.main_guard()
    setLogLevel("warning")
    work = tempfile.mkdtemp(prefix="mipv6-ro-bench-")
    print(f"logs, captures and probe files in {work}")
    started = time.monotonic()
    raw = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "delay_ms": args.delay_ms,
           "handovers_per_mode": args.handovers, "pings": PINGS,
           "ping_interval_s": PING_INTERVAL, "probe_rate_hz": PROBE_RATE,
           "machine": {"python": platform.python_version(), "kernel": platform.release(),
                       "cpus": os.cpu_count()},
           "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=harness.ROOT,
                                    capture_output=True, text=True).stdout.strip(),
           "work_dir": work, "modes": {}}
    raw["delay_check"] = delay_check(args.delay_ms, work)
    for mode in args.modes:
        raw["modes"][mode] = run_mode(mode, args.delay_ms, args.handovers, work)
    raw["duration_s"] = time.monotonic() - started
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(out / "results.json.gz", "wt") as handle:
        json.dump(raw, handle, indent=1)
    plot(raw, out / "route-optimisation.svg")
    report(raw)
    print(f"\nraw results: {out / 'results.json.gz'}; plot: {out / 'route-optimisation.svg'};"
          f" {raw['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
