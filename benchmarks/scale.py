"""Scale benchmark: memory, rules and flow-mods against bindings.

    .venv/bin/python -m benchmarks.scale [--bindings 10000 100000] [--links 4 16 64]
                                         [--quick] [--json PATH] [--plots DIR]

Pure core, no Ryu runtime, no root. Three measurements:

1. Controller memory per binding. A router on the reference graph
   (mipv6_sdn/testing/core_harness.py) configured with N mobile nodes (one
   ``[[mobile_node_range]]``) registers all N, each from a care-of address on visit-a or
   visit-b, by authenticated BUs through ``Router.packet_in`` (frames built beforehand).
   Python heap growth of the process over the registrations (tracemalloc, after a
   garbage collection, with the replies dropped) divided by N is the controller's state
   per binding: binding cache entry and deadline, replay timestamp, rule placement and
   last-change record. RSS growth (/proc/self/status VmRSS) over the same registrations
   is given too, measured in a separate run without tracemalloc; it is coarse (the
   allocator keeps freed memory, and the replies' OpenFlow objects come and go; heap
   pages are shared). No journal: its state is on disk (benchmarks/core.py measures its
   time). The memory of the configuration itself (N MobileNode entries with their keys)
   is reported separately, per MN. As in benchmarks/core.py, the registrations come
   from a load generator: all N MNs behind one host port on visit-a and one on visit-b,
   the configuration's ``trusted_ports`` (not source-validated, RFC 6620); every other
   port is validated, and the printed report says which ports are trusted.
2. Flow entries per binding. Every message the controller returned (switch set-up and
   the N registrations) is applied to the fake switches of mipv6_sdn.testing.fake_switch
   (entries identified by table, priority and match as OpenFlow 1.3 §6.4 says, replaced
   by an ADD of the same identity, deleted by cookie); the entries with a cookie of kind
   BINDING (6) are counted per binding, and all entries per switch. A binding's entries
   must be at its home and care-of switches only (checked; the run stops otherwise);
   how many at each is reported.
3. Flow-mods per handover. On generated star topologies of 4, 16 and 64 access links
   (mininet_topos/roaming.py ``access_plan`` and ``access_config_toml``; the core switch
   joined to every access switch as in ``AccessTopo``), mn1 registers on link 2, then
   hands over link 2 → link n → link 3 → link 2 ... ; the OFPFlowMods the controller
   returns for each handover BU are counted. mn1 is one node on port 2, which is
   source-validated: as its kernel does on each attachment, it claims its care-of address
   by duplicate address detection and then solicits the router from it, before its BU;
   that neighbour discovery is not counted (it is host learning and source address
   validation, the same with or without mobility). A handover's flow-mods are care-of
   forwarding's and the two source-validation rules of the home address (valid at the
   new port, dropped at the home switch), deleted by cookie and added again. After the
   last handover, the FakeNetwork must hold exactly 3 entries of the binding, and the
   home address exactly 2 source-validation entries: at the home switch and at the last
   care-of switch.

PNG plots (``--plots DIR``) need matplotlib, which is optional and NOT a dependency of
the project: without it the plots are skipped with a note, everything else runs.
"""
import argparse
import gc
import ipaddress
import json
import pathlib
import sys
import time
import tomllib
import tracemalloc

from mininet_topos import roaming
from mininet_topos.roaming import access_config_toml, access_plan
from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.config import parse_config
from mipv6_sdn.pipeline import COOKIE_KIND_SHIFT, CookieKind, Table, cookie
from mipv6_sdn.router import Router
from mipv6_sdn.testing.fake_switch import FakeNetwork
from ryu.ofproto import ofproto_v1_3_parser as parser

from benchmarks import core

NOW = core.NOW
MN1_SPI = roaming.security_association(1)["spi"]
MN1_KEY = bytes.fromhex(roaming.security_association(1)["key"])
MN1_MAC = "00:00:00:01:01:00"  # access_plan's mn1: home link 1, interface id 0x100
MN1_PORT = 2  # the port mn1 attaches to on every access switch: source-validated
HOME_DPID = 1  # the home link's switch in core.reference_config


def rss_bytes():
    """Resident set size of this process (Linux), or None."""
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# ------------------------------------------------------------------ flow entries

def _binding_entries_at(net):
    """{(dpid, cookie of a binding): entries with it at that switch}."""
    counts = {}
    for dpid, switch in net.switches.items():
        for entry in switch.entries:
            if entry.cookie >> COOKIE_KIND_SHIFT == CookieKind.BINDING:
                counts[dpid, entry.cookie] = counts.get((dpid, entry.cookie), 0) + 1
    return counts


def binding_entries(net):
    """{cookie of a binding: entries with it, over every switch}."""
    counts = {}
    for (_, owner), entries in _binding_entries_at(net).items():
        counts[owner] = counts.get(owner, 0) + entries
    return counts


def entries_per_switch(net):
    return {dpid: len(switch.entries) for dpid, switch in sorted(net.switches.items())}


def source_entries_of(net, address):
    """{dpid: entries of table SOURCE about ``address``} (switches without any left out)."""
    counts = {}
    for dpid, switch in sorted(net.switches.items()):
        found = sum(1 for entry in switch.table(Table.SOURCE)
                    if dict(entry.match.items()).get("ipv6_src") == str(address))
        if found:
            counts[dpid] = found
    return counts


def placed_entries(net, count):
    """(entries at the home switch, at the care-of switch) of every binding of MN
    0..``count``-1, as a set; raises when entries of a binding are anywhere else."""
    where = _binding_entries_at(net)
    shapes = set()
    for index in range(count):
        home, _, _, _, care_of_dpid, _, _ = core.mobile_node(index)
        owner = cookie(CookieKind.BINDING, int(home))
        shapes.add((where.pop((HOME_DPID, owner), 0), where.pop((care_of_dpid, owner), 0)))
    if where:
        raise RuntimeError("binding entries at switches where no binding was placed: "
                           f"{sorted(where)[:5]}")
    return shapes


# ------------------------------------------------------------------ memory and rules

def _register(router, frames):
    """Feed ``frames``, dropping the replies (the shell sends them and forgets them)."""
    packet_in = router.packet_in
    for dpid, port, frame in frames:
        packet_in(NOW, dpid, port, frame)


def measure_bindings(count):
    """Memory, RSS and flow entries for ``count`` bindings; a dict."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    config = core.reference_config(count, max_bindings=max(count, 1))
    gc.collect()
    config_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    start = time.perf_counter()
    frames = core.build_frames(count, sequence=1, now=NOW)
    build_seconds = time.perf_counter() - start

    # RSS growth, without tracemalloc, replies dropped as the shell drops them.
    router, _ = core.make_router(config)
    gc.collect()
    rss_before = rss_bytes()
    start = time.perf_counter()
    _register(router, frames)
    seconds = time.perf_counter() - start
    gc.collect()
    rss_after = rss_bytes()
    del router
    gc.collect()

    # Heap of the router's state (tracemalloc), replies dropped.
    router, _ = core.make_router(config)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    _register(router, frames)
    traced_seconds = time.perf_counter() - start
    gc.collect()
    heap_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    if len(router.home_agent.cache) != count:
        raise RuntimeError(f"{len(router.home_agent.cache)} bindings, expected {count}")
    del router
    gc.collect()

    return {
        "bindings": count,
        "config_bytes_per_mn": config_bytes / count,
        "heap_bytes": heap_bytes, "heap_bytes_per_binding": heap_bytes / count,
        "rss_delta_bytes": None if rss_before is None else rss_after - rss_before,
        "rss_bytes_per_binding": None if rss_before is None else
        (rss_after - rss_before) / count,
        **measure_rules(config, frames),
        "register_seconds": seconds, "register_seconds_traced": traced_seconds,
        "frame_build_seconds": build_seconds,
    }


def measure_rules(config, frames):
    """The flow entries the registrations of ``frames`` leave in the fake switches.

    The cyclic garbage collector is off until the fake switches are freed: they hold the
    match and instructions of every rule, and its full passes over them would take
    about a third of the time (measured at 30,000 and 100,000 bindings). Nothing here
    is timed."""
    gc.disable()
    try:
        return _rules_in_fake_switches(config, frames)
    finally:
        gc.enable()


def _rules_in_fake_switches(config, frames):
    router, net = core.make_router(config)
    flow_mods = 0
    for dpid, port, frame in frames:
        msgs = router.packet_in(NOW, dpid, port, frame)
        net.apply(msgs)
        flow_mods += sum(isinstance(m, parser.OFPFlowMod) for _, m in msgs)
    counts = binding_entries(net)
    per_binding = sorted(set(counts.values()))
    placed = sorted(placed_entries(net, len(frames)))
    return {
        "binding_entries": sum(counts.values()),
        "bindings_with_entries": len(counts),
        "flow_entries_per_binding": per_binding[0] if len(per_binding) == 1 else per_binding,
        "entries_at_home_and_care_of": list(placed[0]) if len(placed) == 1 else placed,
        "entries_per_switch": entries_per_switch(net),
        "flow_mods_per_registration": flow_mods / len(frames),
    }


# ------------------------------------------------------------------ handovers

def access_network(n_links):
    """(config, trunks, host ports, ports) of a generated star of ``n_links`` access
    links around one core switch, numbered like AccessTopo: on each access switch port 1
    is its stationary host, port 2 the port a visiting MN attaches to (on link 1, mn1's
    home port) and port 3 the trunk to the core; core port i goes to access switch i."""
    plan = access_plan(n_links, hosts_per_link=1, mobile_nodes=1)
    toml = access_config_toml(plan) + (  # mn1's security association is in the plan's
        "\n[home_agent]\nmax_binding_lifetime = 420\nrequire_authentication = true\n")
    config = parse_config(tomllib.loads(toml))
    core_dpid = plan["switches"][plan["core"]]
    trunks = [(link["dpid"], 3, core_dpid, link["dpid"]) for link in plan["links"]]
    ports = {link["dpid"]: [1, 2, 3] for link in plan["links"]}
    ports[core_dpid] = [link["dpid"] for link in plan["links"]]
    hosts = {name: (int(host["switch"][1:]), 1) for name, host in plan["hosts"].items()
             if name not in plan["mobile_nodes"]}
    return config, plan, trunks, hosts, ports


def attach(router, net, now, link_number, care_of, router_address):
    """mn1 on port ``MN1_PORT`` of link ``link_number``, as its kernel comes up there:
    duplicate address detection of ``care_of`` (source address validation binds it to
    the port and MAC, RFC 6620), then a neighbour solicitation for the router from it.
    The messages are applied, not counted."""
    for frame in (packets.neighbor_solicit(src_mac=MN1_MAC, src=wire.UNSPECIFIED,
                                           target=care_of),
                  packets.neighbor_solicit(src_mac=MN1_MAC, src=care_of,
                                           target=router_address)):
        net.apply(router.packet_in(now, link_number, MN1_PORT, frame))


def handover_flow_mods(n_links, handovers=6):
    """Flow-mods per handover of mn1 on a star of ``n_links`` access links; a dict."""
    config, plan, trunks, hosts, ports = access_network(n_links)
    router = Router(config)
    net = FakeNetwork(trunks, hosts)
    for dpid, live in ports.items():
        net.apply(router.switch_up(NOW, dpid, live))
    for a, ap, b, bp in trunks:
        net.apply(router.link_up(NOW, a, ap, b, bp))
        net.apply(router.link_up(NOW, b, bp, a, ap))
    home = ipaddress.IPv6Address("2001:db8:1::100")
    if n_links < 3:
        raise ValueError("at least 3 access links are needed for handovers")
    visited = [2, n_links, 3]
    path = [visited[i % len(visited)] for i in range(handovers + 1)]
    counts, messages = [], []
    now = NOW
    for step, link_number in enumerate(path):
        now += 1.0
        link = plan["links"][link_number - 1]
        care_of = ipaddress.IPv6Network(link["prefix"])[0x100]
        if step > 0:  # the link moves: mn1's port goes down where it was, up where it is
            net.apply(router.port_down(now, path[step - 1], MN1_PORT))
            net.apply(router.port_up(now, link_number, MN1_PORT))
        attach(router, net, now, link_number, care_of, ipaddress.IPv6Address(link["router"]))
        frame = core.binding_update_frame(home, MN1_SPI, MN1_KEY, MN1_MAC, care_of,
                                          sequence=step + 1,
                                          timestamp=mobility.ntp_timestamp(now))
        msgs = router.packet_in(now, link_number, MN1_PORT, frame)
        net.apply(msgs)
        status = core.ba_status(msgs)
        if status != 0:
            raise RuntimeError(f"{n_links} links: BU to link {link_number}: status {status}")
        if step > 0:  # the first BU is a first registration, not a handover
            counts.append(sum(isinstance(m, parser.OFPFlowMod) for _, m in msgs))
            messages.append(len(msgs))
    entries = binding_entries(net)
    if list(entries.values()) != [3]:
        raise RuntimeError(f"{n_links} links: binding entries after handovers {entries}")
    source = source_entries_of(net, home)
    if source != {HOME_DPID: 1, path[-1]: 1}:
        raise RuntimeError(f"{n_links} links: source-validation entries of the home address "
                           f"after handovers {source} (expected one at dpid {HOME_DPID} "
                           f"and one at dpid {path[-1]})")
    return {"access_links": n_links, "switches": n_links + 1, "handovers": len(counts),
            "flow_mods_per_handover": counts[0] if len(set(counts)) == 1 else counts,
            "flow_mods": counts, "messages_per_handover": messages,
            "entries_per_switch": entries_per_switch(net),
            "binding_entries_after": sum(entries.values()),
            "home_source_entries_after": source}


# ------------------------------------------------------------------ report

def plot(result, directory):
    """PNG plots of memory and rules against bindings; skipped without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plots skipped: matplotlib is not installed (optional, not a dependency)"
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = result["bindings"]
    xs = [row["bindings"] for row in rows]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(xs, [row["heap_bytes"] / 2 ** 20 for row in rows], "o-", label="heap")
    axes[0].plot(xs, [(row["rss_delta_bytes"] or 0) / 2 ** 20 for row in rows], "s--",
                 label="RSS delta")
    axes[0].set(xlabel="bindings", ylabel="MiB", title="controller memory")
    axes[0].legend()
    axes[1].plot(xs, [row["binding_entries"] for row in rows], "o-", label="binding entries")
    axes[1].plot(xs, [sum(row["entries_per_switch"].values()) for row in rows], "s--",
                 label="all entries")
    axes[1].set(xlabel="bindings", ylabel="flow entries", title="flow entries (all switches)")
    axes[1].legend()
    figure.tight_layout()
    figure.savefig(directory / "scale-memory-rules.png")
    plt.close(figure)
    figure, axis = plt.subplots(figsize=(5, 4))
    links = result["handover"]
    axis.plot([row["access_links"] for row in links],
              [sum(row["flow_mods"]) / len(row["flow_mods"]) for row in links], "o-")
    axis.set(xlabel="access links", ylabel="flow-mods per handover", xscale="log", ylim=(0, None),
             title="flow-mods per handover")
    figure.tight_layout()
    figure.savefig(directory / "scale-handover.png")
    plt.close(figure)
    return f"plots written to {directory}"


def table(result):
    lines = ["Scale: controller memory and flow entries against bindings (pure core)",
             core.trusted_note(result["source_validation"]["trusted_ports"]),
             f"{'bindings':>9} {'heap B/binding':>15} {'RSS B/binding':>14} "
             f"{'config B/MN':>12} {'entries/binding':>16} {'flow-mods/reg':>14}  "
             "entries per switch (dpid: n)"]
    for row in result["bindings"]:
        rss = row["rss_bytes_per_binding"]
        lines.append(
            f"{row['bindings']:9,} {row['heap_bytes_per_binding']:15,.0f} "
            f"{'n/a' if rss is None else f'{rss:,.0f}':>14} {row['config_bytes_per_mn']:12,.0f} "
            f"{str(row['flow_entries_per_binding']):>16} "
            f"{row['flow_mods_per_registration']:14.1f}  "
            + ", ".join(f"{d}: {n:,}" for d, n in row["entries_per_switch"].items()))
    lines.append(f"handovers: mn1 alone on port {MN1_PORT} of each access switch, "
                 "source-validated (its DAD and NS on arrival not counted)")
    lines.append(f"{'access links':>13} {'switches':>9} {'handovers':>10} "
                 f"{'flow-mods/handover':>19} {'messages/handover':>18}")
    for row in result["handover"]:
        lines.append(f"{row['access_links']:13} {row['switches']:9} {row['handovers']:10} "
                     f"{str(row['flow_mods_per_handover']):>19} "
                     f"{str(sorted(set(row['messages_per_handover']))):>18}")
    constant = len({str(row["flow_mods_per_handover"]) for row in result["handover"]}) == 1
    lines.append("flow-mods per handover constant across topologies: "
                 f"{'yes' if constant else 'NO'}")
    return "\n".join(lines)


def run(binding_counts, link_counts, handovers=6):
    return {"suite": "scale", "python": sys.version.split()[0],
            "source_validation": {"trusted_ports": core.trusted_ports(),
                                  "handover_port_validated": MN1_PORT},
            "bindings": [measure_bindings(n) for n in binding_counts],
            "handover": [handover_flow_mods(n, handovers) for n in link_counts]}


def main(argv=None):
    parser_ = argparse.ArgumentParser(prog="python -m benchmarks.scale",
                                      description=__doc__.split("\n")[0])
    parser_.add_argument("--bindings", type=int, nargs="+", default=[10_000, 100_000],
                         help="binding counts (10000 100000)")
    parser_.add_argument("--links", type=int, nargs="+", default=[4, 16, 64],
                         help="access links of the generated topologies (4 16 64)")
    parser_.add_argument("--handovers", type=int, default=6, help="handovers per topology")
    parser_.add_argument("--quick", action="store_true",
                         help="200 and 400 bindings, 4 handovers: a few seconds")
    parser_.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    parser_.add_argument("--plots", metavar="DIR",
                         help="write PNG plots (only if matplotlib is importable)")
    args = parser_.parse_args(argv)
    if args.quick:
        args.bindings, args.handovers = [200, 400], 4
    result = run(args.bindings, args.links, args.handovers)
    print(table(result))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    if args.plots:
        result["plots"] = plot(result, args.plots)
        print(result["plots"])
    return result


if __name__ == "__main__":
    main()
