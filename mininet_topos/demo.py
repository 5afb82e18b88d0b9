"""`make demo`: mn1 roams home → visit-a → visit-b → home on the reference network.

Starts the real controller (OpenFlow 127.0.0.1:6653, REST 127.0.0.1:8080) and the
reference network `roaming` (docs/mininet.md), checks that every host reaches every other,
runs the mobile-node agent in mn1 (with route optimisation towards the corr link), a
paced TCP stream and a 10 kHz UDP probe stream from cn1 to mn1's home address, and moves
mn1 around. For each handover it prints the L2 outage (the link move), the L3 handover
(link up to the first probe at the new place), the interruption of the probe stream
(its largest gap), probes lost, the time from link up to the BA and to cn1's
route-optimised path, and the flow modifications; it keeps a capture of every host's
signalling and says where; on visit-b, the switches that carry cn1's pings to mn1 (the home
switch no longer among them); then the binding caches and the rules for the home
address; then it stops everything it started.
"""
import argparse
import functools
import sys
import tempfile
import time

from mininet.log import setLogLevel

from mininet_topos import harness, roaming

HOSTS = ("hh1", "mn1", "cn1")
HOME = "2001:db8:1::100"
CORRESPONDENTS = "2001:db8:c::/64"
CN1_PREFIX = "2001:db8:c:"  # cn1 sends from 2001:db8:c::10 or its SLAAC address
TCP_BYTES, TCP_RATE = 2_000_000, 150_000  # about 13 s of stream, through every move


def print_reachability(net):
    matrix = harness.reachability(net, HOSTS)
    print("reachability (ping6 from row to column):")
    print("        " + "".join(f"{dst:>6}" for dst in HOSTS))
    for src in HOSTS:
        cells = "".join(f"{'-' if src == dst else ('ok' if matrix[(src, dst)] else 'FAIL'):>6}"
                        for dst in HOSTS)
        print(f"  {src:6}{cells}")
    return all(matrix.values())


def cn1_bindings(controller):
    """The bindings the controller keeps as cn1, whichever of its addresses it used."""
    return [(dict(entry, correspondent=correspondent))
            for correspondent, entries in controller.view("correspondent_bindings").items()
            if correspondent.startswith(CN1_PREFIX) for entry in entries]


def route_optimised_at(controller, care_of_prefix, timeout=10):
    """When cn1's binding for mn1 at a care-of address in ``care_of_prefix`` was
    accepted (wall clock), or None if it did not come."""
    def accepted():
        for entry in cn1_bindings(controller):
            if entry["care_of_address"].startswith(care_of_prefix):
                return entry["expires"] - entry["lifetime"]
        return None
    try:
        return harness.wait_for(accepted, timeout, "cn1's binding")
    except TimeoutError:
        return None


def print_path(net, cn1):
    """Which switches carry 50 pings from cn1 to mn1's home address, and back."""
    arrivals = harness.labelled_arrivals_during(net, lambda: harness.ping(
        cn1, HOME, count=50, interval=0.01))
    carried = [name for name, count in sorted(arrivals.items()) if count >= 50]
    print(f"\nwhile mn1 was on visit-b, 50 pings cn1 <-> {HOME} were carried by "
          f"{' '.join(carried)}; the home switch s1 saw {arrivals['s1']} of them")
    return "s1" not in carried


def print_results(results, intact, away):
    """The handovers, the TCP stream, and the bindings and rules on visit-b."""
    names = {"s2": "home -> visit-a", "s3": "visit-a -> visit-b", "s1": "visit-b -> home"}
    print("\nhandover              L2 outage  L3 handover  interruption  probes lost"
          "  link up->BA  link up->direct  flow-mods")
    for r in results:
        l3 = "STOPPED" if r["l3_handover_ms"] is None else f"{r['l3_handover_ms']:.1f} ms"
        direct = "--" if r.get("link_up_to_direct_ms") is None \
            else f"{r['link_up_to_direct_ms']:.0f} ms"
        print(f"  {names[r['to']]:20} {r['l2_outage_ms']:6.1f} ms {l3:>12} "
              f"{r['interruption_ms']:9.1f} ms {r['lost']:>12} {r['link_up_to_ba_ms']:9.1f} ms"
              f" {direct:>16} {r['flow_mods']:>10}")
    print(f"\nTCP stream cn1 -> {HOME}: {TCP_BYTES} bytes, "
          f"{'every byte in order, no reset' if intact else 'BROKEN'}")
    print("\nwhile mn1 was on visit-b, the binding cache:")
    for entry in away.get("bindings", []):
        print(f"  {entry['home_address']} -> {entry['care_of_address']} seq "
              f"{entry['sequence']} lifetime {entry['lifetime']} s at "
              f"s{entry['attachment']['dpid']}:{entry['attachment']['port']}")
    print("cn1's binding cache (the controller answers for cn1):")
    for entry in away.get("cn1", []):
        print(f"  at {entry['correspondent']}: {entry['home_address']} -> "
              f"{entry['care_of_address']} seq {entry['sequence']} lifetime "
              f"{entry['lifetime']} s")
    print("and the rules for its home address (interception, delivery, reverse tunnel, "
          "and cn1's direct pair):")
    for rule in away.get("rules", []):
        print("  " + " ".join(w for w in rule.split() if not w.startswith(
            ("duration=", "n_packets=", "n_bytes="))))


def roam(net, controller, probes, others=()):
    """mn1 home → visit-a → visit-b → home, with cn1's probe stream running, the
    mobile nodes ``others`` moved along after it; the handovers, and what was seen on
    visit-b."""
    cn1 = net.get("cn1")
    prefixes = {"s2": "2001:db8:a:", "s3": "2001:db8:b:"}
    results, away = [], {}
    time.sleep(2)
    for switch in ("s2", "s3", "s1"):
        for other in others:
            roaming.move_host(net, other, switch)
        result = harness.handover(net, controller, "mn1", switch, HOME, probes)
        if switch in prefixes:
            direct = route_optimised_at(controller, prefixes[switch])
            result["link_up_to_direct_ms"] = None if direct is None else max(
                0, (direct - result["link_up_at"]) * 1000)
        results.append(result)
        if switch == "s3":
            harness.wait_for(lambda: len(controller.view("bindings")) == 1 + len(others), 10,
                             "every mobile node's binding on visit-b")
            away = {"bindings": controller.view("bindings"), "cn1": cn1_bindings(controller),
                    "rules": harness.binding_rules(net), "direct": print_path(net, cn1)}
        time.sleep(1)
    return results, away


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mobile-nodes", type=int, default=1, choices=range(1, 5),
                        help="mn2.. roam along with mn1, each with its agent (default 1)")
    args = parser.parse_args(argv)
    harness.main_guard()
    setLogLevel("warning")
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="mipv6-demo-")
    others = [f"mn{j}" for j in range(2, args.mobile_nodes + 1)]
    print(f"mipv6-sdn demo: controller, reference network, {' '.join(['mn1'] + others)} "
          "roaming\n")
    topo = functools.partial(roaming.RoamingTopo, mobile_nodes=args.mobile_nodes)
    with harness.reference_network(topo_factory=topo) as (net, controller):
        reachable = print_reachability(net)
        mn1, cn1 = net.get("mn1"), net.get("cn1")
        agent = harness.start_agent(mn1, log_path=f"{work}/agent.log",
                                    extra=("--route-optimise", CORRESPONDENTS))
        agents = roaming.start_agents(net, log_dir=work, only=others)
        try:
            with harness.capture_hosts(net, work) as pcaps, \
                    harness.probe_stream(cn1, mn1, HOME, f"{work}/probes.txt", 25) as probes, \
                    harness.tcp_transfer(cn1, mn1, HOME, TCP_BYTES, TCP_RATE) as finished:
                results, away = roam(net, controller, probes, others)
                intact = finished()
        finally:
            harness.stop_process(agent)
            roaming.stop_agents(agents)
        print_results(results, intact, away)
        print(f"\nsignalling and ND of every host (Wireshark, tshark -Y mipv6): "
              f"{' '.join(str(path) for path in pcaps.values())}; mn1's agent log and the "
              f"probes in {work}")
        print("back home: binding cache", controller.view("bindings") or "empty",
              "and binding rules", harness.binding_rules(net) or "none")
        print()
        harness.print_view(controller.view())
    ok = reachable and intact and away.get("direct") and len(results) == 3 and not any(
        r["stopped"] for r in results)
    print(f"\n{'demo complete' if ok else 'DEMO FAILED'}; stopped cleanly after "
          f"{time.monotonic() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
