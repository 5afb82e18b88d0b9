"""Run a scenario file against the controller and keep the evidence (docs/scenarios.md).

    .venv/bin/python -m mininet_topos.scenario scenarios/roam.toml [--out DIR]

A scenario (TOML) says what happens when on the reference network: which mobile nodes
there are, probe streams from a host to another's (home) address, and at t seconds
"move host X to switch Y". The run starts the controller and the network, the mobile
nodes' agents (as the Mininet CLI does), a capture on every host, the streams, and
plays the moves on time. Into one folder it writes:

- ``<link>.pcap``: the signalling of each access link (mobility headers and ICMPv6, ND
  included), from the captures of the hosts that were on it, for Wireshark and tshark;
- ``events.jsonl``: the controller's event stream during the run (docs/web.md);
- ``handovers.json`` and ``handovers.png``: for every move, the L2 outage, L3 handover
  and interruption of each stream to the moved host (benchmarks/README.md);
- ``scenario.toml`` (a copy), the agents' logs, the controller's log.
"""
import argparse
import contextlib
import dataclasses
import functools
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

import matplotlib
from mininet.log import setLogLevel

matplotlib.use("Agg")
from matplotlib import pyplot  # noqa: E402  (the backend must be chosen first)

from mininet_topos import harness, probe, roaming  # noqa: E402

SIGNALLING = "mipv6 or icmpv6"  # what each link's pcap keeps
SETTLE = 1.0  # s the streams run before the first move can be measured
TAIL = 1.5  # s after the last move


class ScenarioError(Exception):
    """A scenario file that cannot run: one line that says what to change."""


@dataclasses.dataclass(frozen=True)
class Move:
    at: float
    host: str
    switch: str


@dataclasses.dataclass(frozen=True)
class Stream:
    source: str
    to: str
    rate: int


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    mobile_nodes: int
    duration: float
    streams: tuple
    moves: tuple


def load(path):
    """The :class:`Scenario` in the TOML file ``path``; ScenarioError if it is wrong."""
    try:
        data = tomllib.loads(pathlib.Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ScenarioError(f"{path}: {error}") from None
    return parse(data, str(path))


def parse(data, where="scenario"):
    unknown = set(data) - {"name", "mobile_nodes", "duration", "stream", "move"}
    if unknown:
        raise ScenarioError(f"{where}: unknown key {sorted(unknown)[0]!r} (name, "
                            "mobile_nodes, duration, [[stream]], [[move]])")
    mobile_nodes = data.get("mobile_nodes", 1)
    if not isinstance(mobile_nodes, int) or not 1 <= mobile_nodes <= \
            roaming.MAX_REFERENCE_MOBILE_NODES:
        raise ScenarioError(f"{where}: mobile_nodes must be "
                            f"1..{roaming.MAX_REFERENCE_MOBILE_NODES}")
    topo = roaming.RoamingTopo(mobile_nodes=mobile_nodes)
    hosts = set(topo.hosts())
    switches = {switch for switch, _ in roaming.REFERENCE_LINKS.values()}  # access switches
    moves = tuple(sorted((_move(entry, index, hosts, switches, where)
                          for index, entry in enumerate(data.get("move", []))),
                         key=lambda move: move.at))
    streams = tuple(_stream(entry, index, hosts, where)
                    for index, entry in enumerate(data.get("stream", [])))
    last = moves[-1].at if moves else 0.0
    duration = data.get("duration", last + TAIL + 1)
    if not isinstance(duration, (int, float)) or duration < last + TAIL:
        raise ScenarioError(f"{where}: duration must be at least the last move's time + "
                            f"{TAIL} s ({last + TAIL:g})")
    return Scenario(str(data.get("name", where)), mobile_nodes, float(duration), streams,
                    moves)


def _move(entry, index, hosts, switches, where):
    here = f"{where}: move[{index}]"
    if set(entry) != {"at", "host", "switch"}:
        raise ScenarioError(f"{here}: needs exactly at, host and switch")
    if entry["host"] not in hosts:
        raise ScenarioError(f"{here}: no host {entry['host']!r} ({', '.join(sorted(hosts))})")
    if entry["switch"] not in switches:
        raise ScenarioError(f"{here}: no switch {entry['switch']!r} "
                            f"({', '.join(sorted(switches))})")
    if not isinstance(entry["at"], (int, float)) or entry["at"] < SETTLE:
        raise ScenarioError(f"{here}: at must be a time of at least {SETTLE} s")
    return Move(float(entry["at"]), entry["host"], entry["switch"])


def _stream(entry, index, hosts, where):
    here = f"{where}: stream[{index}]"
    if set(entry) - {"from", "to", "rate"} or not {"from", "to"} <= set(entry):
        raise ScenarioError(f"{here}: needs from and to, and may have rate")
    for key in ("from", "to"):
        if entry[key] not in hosts:
            raise ScenarioError(f"{here}: no host {entry[key]!r} ({', '.join(sorted(hosts))})")
    rate = entry.get("rate", 1000)
    if not isinstance(rate, int) or not 1 <= rate <= harness.PROBE_RATE:
        raise ScenarioError(f"{here}: rate must be 1..{harness.PROBE_RATE} probes/s")
    return Stream(entry["from"], entry["to"], rate)


def address_of(topo, host):
    """The address a stream to ``host`` is sent to: its (home) address."""
    return topo.nodeInfo(host)["ipv6_address"].split("/")[0]


def run(scenario, out, source=None):
    """Play ``scenario``; write everything into ``out``; the handover figures."""
    out.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copy(source, out / "scenario.toml")
    topo_factory = functools.partial(roaming.RoamingTopo, mobile_nodes=scenario.mobile_nodes)
    topo = topo_factory()
    raw = out / "captures"
    raw.mkdir(exist_ok=True)
    with harness.reference_network(topo_factory=topo_factory,
                                   log_path=out / "controller.log") as (net, controller):
        events = controller.follow_events()
        agents = roaming.start_agents(net, log_dir=out)
        moves = []
        try:
            with harness.capture_hosts(net, raw), contextlib.ExitStack() as streams:
                logs = [streams.enter_context(harness.probe_stream(
                    net.get(stream.source), net.get(stream.to), address_of(topo, stream.to),
                    raw / f"stream{index}.txt", scenario.duration + 5, stream.rate,
                    9000 + index)) for index, stream in enumerate(scenario.streams)]
                start = time.time()
                for index, move in enumerate(scenario.moves):
                    _sleep_until(start + move.at)
                    print(f"  t={move.at:5.1f} s  move {move.host} -> {move.switch} "
                          f"({index + 1}/{len(scenario.moves)})", flush=True)
                    moves.append((move, roaming.move_host(net, move.host, move.switch)))
                _sleep_until(start + scenario.duration)
                figures = _figures(topo, scenario, logs, moves)
        finally:
            roaming.stop_agents(agents)
            events.close()
        (out / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events.events))
    pcaps = _pcaps_per_link(topo, raw, moves, out)
    (out / "handovers.json").write_text(json.dumps(figures, indent=1))
    _plot(figures, out / "handovers.png")
    return figures, pcaps


def _sleep_until(moment):
    delay = moment - time.time()
    if delay > 0:
        time.sleep(delay)


def _figures(topo, scenario, logs, moves):
    """For each move, each stream to the moved host: L2, L3, interruption, lost."""
    figures = []
    for index, (move, timing) in enumerate(moves):
        following = moves[index + 1][1].started if index + 1 < len(moves) else time.time()
        for stream, log in zip(scenario.streams, logs):
            if stream.to != move.host:
                continue
            measured = probe.final_window(log, timing.started - 0.2, following, stream.rate)
            first = probe.first_after(log.received, timing.link_up)
            figures.append({
                "at": move.at, "host": move.host, "to": move.switch, "stream": stream.source,
                "rate": stream.rate, "l2_outage_ms": (timing.link_up - timing.started) * 1000,
                "l3_handover_ms": None if measured["stopped"] or first is None
                else (first - timing.link_up) * 1000,
                "interruption_ms": measured["largest_gap_s"] * 1000,
                "lost": measured["lost"], "stopped": measured["stopped"]})
    return figures


def _pcaps_per_link(topo, raw, moves, out):
    """One pcap per access link: the signalling of the hosts while they were on it."""
    switch_link = {switch: name for name, (switch, _) in roaming.REFERENCE_LINKS.items()}
    spans = {}  # link -> [(host, from, to)]
    for host in topo.hosts():
        where, since = _first_switch(topo, host), 0.0
        for move, timing in ((m, t) for m, t in moves if m.host == host):
            spans.setdefault(switch_link[where], []).append((host, since, timing.started))
            where, since = move.switch, timing.link_up
        spans.setdefault(switch_link[where], []).append((host, since, float("inf")))
    pcaps = {}
    with tempfile.TemporaryDirectory() as parts:
        for link, entries in sorted(spans.items()):
            pieces = []
            for index, (host, begin, end) in enumerate(entries):
                piece = pathlib.Path(parts) / f"{link}-{index}.pcap"
                window = f"frame.time_epoch >= {begin}" + (
                    f" && frame.time_epoch < {end}" if end != float("inf") else "")
                subprocess.run(["tshark", "-r", str(raw / f"{host}.pcap"), "-Y",
                                f"({SIGNALLING}) && {window}", "-w", str(piece)],
                               check=True, capture_output=True)
                pieces.append(str(piece))
            pcaps[link] = out / f"{link}.pcap"
            # mergecap refuses a piece without packets (no link type): leave those out,
            # and a link that saw no signalling gets an empty capture.
            full = [piece for piece in pieces if _packets(piece)]
            if full:
                subprocess.run(["mergecap", "-w", str(pcaps[link]), *full], check=True,
                               capture_output=True)
            else:
                shutil.copyfile(pieces[0], pcaps[link])
    return pcaps


def _packets(pcap):
    """How many packets the capture file ``pcap`` holds."""
    out = subprocess.run(["capinfos", "-c", "-M", "-T", "-r", pcap], check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[-1])


def _first_switch(topo, host):
    """The switch ``host`` starts on: its link's other end, or its radio hub's first."""
    node = next(b if a == host else a for a, b in topo.links() if host in (a, b))
    return topo.nodeInfo(node).get("active", node)


def _plot(figures, path):
    figure, axis = pyplot.subplots(figsize=(9, 4))
    labels = [f"t={f['at']:g} {f['host']}→{f['to']}\n({f['stream']})" for f in figures]
    positions = range(len(figures))
    for offset, (key, name) in enumerate((("l2_outage_ms", "L2 outage"),
                                          ("l3_handover_ms", "L3 handover"),
                                          ("interruption_ms", "interruption"))):
        axis.bar([p + (offset - 1) * 0.27 for p in positions],
                 [f[key] or 0 for f in figures], width=0.27, label=name)
    axis.set_xticks(list(positions), labels, fontsize=8)
    axis.set_ylabel("ms")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", help="a scenario file (TOML), e.g. scenarios/roam.toml")
    parser.add_argument("--out", help="the folder for the results (default: a new one "
                                      "under /tmp)")
    args = parser.parse_args(argv)
    try:
        scenario = load(args.scenario)
    except ScenarioError as error:
        print(f"scenario: {error}", file=sys.stderr)
        return 2
    harness.main_guard()
    setLogLevel("warning")
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="mipv6-scenario-"))
    print(f"scenario {scenario.name!r}: {len(scenario.moves)} moves, "
          f"{len(scenario.streams)} streams, {scenario.duration:g} s; results in {out}",
          flush=True)
    figures, pcaps = run(scenario, out, args.scenario)
    for f in figures:
        l3 = "STOPPED" if f["l3_handover_ms"] is None else f"{f['l3_handover_ms']:.1f} ms"
        print(f"  t={f['at']:5.1f} s {f['host']} -> {f['to']} ({f['stream']} stream): L2 "
              f"{f['l2_outage_ms']:.1f} ms, L3 {l3}, interruption "
              f"{f['interruption_ms']:.1f} ms, lost {f['lost']}")
    print(f"pcaps: {', '.join(str(p) for p in pcaps.values())}")
    print(f"events: {out / 'events.jsonl'}; figures: {out / 'handovers.json'}, "
          f"{out / 'handovers.png'}")
    return 1 if any(f["stopped"] for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
