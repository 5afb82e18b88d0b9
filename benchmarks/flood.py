"""Flood benchmark: a mobile node registers while another port floods the controller
with Binding Updates (docs/security.md, "Floods").

    .venv/bin/python -m benchmarks.flood [--rate 20000] [--count 200] [--out DIR]

The reference network with two more hosts: ``vc1`` on visit-a runs the load generator
(benchmarks/load_generator.py) for ``count`` mobile nodes with one BU outstanding at a
time, so each BU→BA time is one registration's; ``fl1`` on visit-b sends ``rate``
Binding Updates per second from its own validly bound SLAAC address (source address
validation does not stop them; their MN-HA authenticator is wrong, so each is refused
with status 144). Every port is validated: no port is trusted. Three runs, each on a
fresh controller and network:
- quiet: no flood;
- flood: flood protection on (the default: a meter per access port, the controller's
  queue per port);
- flood, unprotected: ``[flood_protection] enabled = false`` (no meters, packet-ins
  served first come first served), the control that shows what the flood does.
Each run registers (sequence 1) and then refreshes (sequence 2) every mobile node.
Prints BU→BA p50, p95 and max and the BAs lost per run, the ratios to the quiet run, what
the flooder sent and what the meters and the controller's queue dropped per port; writes
everything as JSON into ``--out``. A benchmark, not a test: it asserts nothing about speed.
"""
import argparse
import ipaddress
import json
import pathlib
import socket
import subprocess
import sys
import time

from mininet_topos import harness, roaming

VENV_PYTHON = harness.LAUNCHER.parent / "python"
FIRST_HOME = "2001:db8:1::2000"
FIRST_SPI = 8192
SECRET = bytes(range(32)).hex()
EXTRA_HOSTS = {"vc1": {"mac": "00:00:00:00:0a:30", "switch": "s2", "address": None},
               "fl1": {"mac": "00:00:00:00:0b:30", "switch": "s3", "address": None}}
PREFIXES = {"vc1": "2001:db8:a:", "fl1": "2001:db8:b:"}
SETTLE = 4.0  # s: the controller reconciles flows 3 s after the topology settles
RUNS = (("quiet", False, True), ("flood", True, True), ("flood, unprotected", True, False))
DEFAULT_OUT = pathlib.Path("bench-results") / "flood"


def FloodTopo():
    """The reference network, a registering host on visit-a and a flooder on visit-b."""
    return roaming.RoamingTopo(extra_hosts=EXTRA_HOSTS)


def config(count, protected):
    """The reference configuration, ``count`` + 1 mobile nodes in a range (the last one
    is the flooder's), and flood protection on or off."""
    path = harness.config_with(harness.REFERENCE_CONFIG)
    with open(path, "a") as handle:
        handle.write(f"""
[[mobile_node_range]]
first_home_address = "{FIRST_HOME}"
count = {count + 1}
first_spi = {FIRST_SPI}
secret = "{SECRET}"

[flood_protection]
enabled = {"true" if protected else "false"}
""")
    return path


def send_flood(interface, source, rate, duration, home, spi):
    """In the flooder's namespace: ``rate`` refused BUs per second from ``source`` for
    ``duration`` s; prints {"sent", "seconds"}."""
    from benchmarks import core
    from mipv6_sdn import mobility
    mac = pathlib.Path(f"/sys/class/net/{interface}/address").read_text().strip()
    frame = core.binding_update_frame(
        ipaddress.IPv6Address(home), spi, bytes(20), mac, ipaddress.IPv6Address(source), 1,
        mobility.ntp_timestamp(time.time()))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((interface, 0))
    start, sent = time.monotonic(), 0
    while (now := time.monotonic()) < start + duration:
        due = int((now - start) * rate)
        while sent < due:
            sock.send(frame)
            sent += 1
        time.sleep(0.0005)
    print(json.dumps({"sent": sent, "seconds": time.monotonic() - start}))


def registrations(host, care_of, count, timeout):
    """The load generator in ``host``: register then refresh, one BU outstanding."""
    args = [str(VENV_PYTHON), "-m", "benchmarks.load_generator", "--interface",
            host.defaultIntf().name, "--care-of", care_of, "--count", str(count),
            "--first-home", FIRST_HOME, "--first-spi", str(FIRST_SPI), "--secret", SECRET,
            "--window", "1", "--timeout", str(timeout)]
    process = host.popen(args, cwd=str(harness.ROOT), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=120 + count * timeout)
    if process.returncode != 0:
        raise RuntimeError(f"load generator exited with {process.returncode}:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def one_run(name, flood, protected, rate, count, timeout):
    """A fresh controller and network; the figures of one run."""
    with harness.reference_network(config(count, protected), of_port=harness.free_port(),
                                   rest_port=harness.free_port(),
                                   topo_factory=FloodTopo) as (net, controller):
        hosts = {name_: net.get(name_) for name_ in EXTRA_HOSTS}
        addresses = {}
        for host_name, host in hosts.items():
            host.cmd("sysctl -q -w net.ipv6.icmp.ratelimit=60000")  # no ICMP per BA
            addresses[host_name] = harness.wait_for(
                lambda: harness.addresses(host, PREFIXES[host_name]), 30,
                f"{host_name}'s SLAAC address")[0]
            harness.wait_for(lambda: harness.ping(host, harness.host_address("cn1"),
                                                  source=addresses[host_name])[0],
                             30, f"{host_name} to reach cn1")  # its source is bound
        time.sleep(SETTLE)
        flooder = None
        if flood:
            duration = 6 + count * 0.1
            flooder = hosts["fl1"].popen(
                [str(VENV_PYTHON), "-m", "benchmarks.flood", "--send",
                 hosts["fl1"].defaultIntf().name, addresses["fl1"], str(rate), str(duration),
                 str(ipaddress.IPv6Address(FIRST_HOME) + count),
                 str(FIRST_SPI + count)],
                cwd=str(harness.ROOT), stdout=subprocess.PIPE, text=True)
            time.sleep(1.0)  # the flood is under way
        started = time.monotonic()
        result = registrations(hosts["vc1"], addresses["vc1"], count, timeout)
        result["registration_seconds"] = time.monotonic() - started
        if flooder is not None:
            out, _ = flooder.communicate(timeout=120)
            result["flooder"] = json.loads(out.strip().splitlines()[-1])
        time.sleep(2.5)  # the meters' statistics are read every 2 s
        result["flood_protection"] = controller.view("flood_protection")
        result["run"], result["ports"] = name, {
            "vc1": "s2 (visit-a), validated", "fl1": "s3 (visit-b), validated"}
        return result


def summary(results):
    """Per run and phase: p50, p95, max (ms), lost; ratios to the quiet run."""
    quiet = results[0]["phases"]
    rows = []
    for result in results:
        for phase, figures in result["phases"].items():
            latency = figures["latency_ms"]
            rows.append({
                "run": result["run"], "phase": phase, "accepted": figures["accepted"],
                "lost": figures["lost"], "rejected": figures["rejected"],
                "p50_ms": latency["p50"], "p95_ms": latency["p95"], "max_ms": latency["max"],
                "p50_ratio": _ratio(latency["p50"], quiet[phase]["latency_ms"]["p50"]),
                "p95_ratio": _ratio(latency["p95"], quiet[phase]["latency_ms"]["p95"])})
    return rows


def _ratio(value, baseline):
    return round(value / baseline, 2) if value is not None and baseline else None


def report(raw, out=sys.stdout):
    print(f"flood benchmark: {raw['count']} mobile nodes registered then refreshed one at "
          f"a time from vc1 (visit-a) while fl1 (visit-b) sends {raw['rate']} refused "
          "BU/s from its own bound address; every port validated, none trusted", file=out)
    print(f"{'run':<20} {'phase':<9} {'accepted':>8} {'rejected':>8} {'lost':>5} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p50 x':>6} {'p95 x':>6}", file=out)
    for row in raw["summary"]:
        print(f"{row['run']:<20} {row['phase']:<9} {row['accepted']:>8} "
              f"{row['rejected']:>8} {row['lost']:>5} "
              f"{_fmt(row['p50_ms'])} {_fmt(row['p95_ms'])} {_fmt(row['max_ms'])} "
              f"{row['p50_ratio'] or '-':>6} {row['p95_ratio'] or '-':>6}", file=out)
    for result in raw["runs"][1:]:
        flood = result["flood_protection"]
        print(f"{result['run']}: fl1 sent {result['flooder']['sent']} BUs in "
              f"{result['flooder']['seconds']:.1f} s; dropped by meters {flood['dropped']}, "
              f"by the controller's queue {flood.get('queue_dropped', {})}", file=out)


def _fmt(value):
    return f"{value:>8.2f}" if value is not None else f"{'-':>8}"


def run(rate, count, timeout=2.0):
    results = [one_run(name, flood, protected, rate, count, timeout)
               for name, flood, protected in RUNS]
    return {"rate": rate, "count": count, "runs": results, "summary": summary(results)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=20000, help="flood BUs per second")
    parser.add_argument("--count", type=int, default=200, help="mobile nodes registered")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    parser.add_argument("--send", nargs=6, metavar=("IFACE", "SRC", "RATE", "SECONDS",
                                                    "HOME", "SPI"),
                        help=argparse.SUPPRESS)  # the flooder, inside its namespace
    args = parser.parse_args(argv)
    if args.send:
        iface, source, rate, seconds, home, spi = args.send
        send_flood(iface, source, int(rate), float(seconds), home, int(spi))
        return 0
    harness.main_guard()
    raw = run(args.rate, args.count)
    report(raw)
    harness.keep_results(args.out, "flood", raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
