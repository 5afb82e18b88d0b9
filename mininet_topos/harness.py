"""Run the real controller process and a Mininet network together.

Shared by `make demo`, the integration tests and the benchmarks: one way to start,
wait for, query and stop things. Standard library and Mininet only. Everything it
starts it stops itself, by pid and by its own bridge names; it never runs Mininet's
machine-wide clean-up.
"""
import contextlib
import fcntl
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from mininet_topos import probe, roaming

ROOT = pathlib.Path(__file__).resolve().parent.parent
REFERENCE_CONFIG = ROOT / "mininet_topos" / "roaming.toml"
LAUNCHER = pathlib.Path(sys.executable).parent / "mipv6-controller"
NETWORK_LOCK = "/run/lock/mipv6-sdn-network.lock"


def wait_for(predicate, timeout, what, interval=0.05):
    """Poll ``predicate`` until it returns a true value (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def load_generator_config(trusted, first_home, count, first_spi, secret):
    """The reference configuration with one [[mobile_node_range]] and the load
    generators' ports ``trusted`` ({link name: port}) as those links' trusted ports
    (docs/security.md); returns its path."""
    path = config_with(REFERENCE_CONFIG)
    text = pathlib.Path(path).read_text()
    for link, port in trusted.items():
        text, found = re.subn(rf'(?m)^(name = "{link}"\n)',
                              rf"\g<1>trusted_ports = [{port}]  # a load generator's port\n",
                              text)
        if found != 1:
            raise RuntimeError(f"{REFERENCE_CONFIG}: no [[link]] {link!r} to trust a port of")
    text += f"""
# The load generators' mobile nodes.
[[mobile_node_range]]
first_home_address = "{first_home}"
count = {count}
first_spi = {first_spi}
secret = "{secret}"
"""
    pathlib.Path(path).write_text(text)
    return path


def keep_results(directory, name, result):
    """Write ``result`` as ``directory``/``name``.json (the raw results behind a
    benchmark's figures) and say where."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(result, indent=1))
    print(f"raw results: {path}")
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_with(path, tables="", **overrides):
    """A copy of the TOML file ``path`` with [controller] keys replaced and ``tables``
    (TOML text) added at the end, as a temp file."""
    text = pathlib.Path(path).read_text() + tables
    for key, value in overrides.items():
        text, count = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
        if count != 1:
            text = text.replace("[controller]\n", f"[controller]\n{key} = {value}\n", 1)
    handle = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    handle.write(text)
    handle.close()
    return handle.name


class Controller:
    """The controller as a child process, with its REST view."""

    def __init__(self, config, of_port=6653, rest_port=8080, log_path=None):
        self.of_port, self.rest_port = of_port, rest_port
        if log_path is None:
            with tempfile.NamedTemporaryFile(prefix="mipv6-controller-", suffix=".log",
                                             delete=False) as handle:
                log_path = handle.name
        self.log_path = log_path
        for port in (of_port, rest_port):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    raise RuntimeError(f"port {port} on 127.0.0.1 is in use: another "
                                       "controller is running; stop it or pick other ports")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [str(LAUNCHER), "--config", str(config), "--ofp-tcp-listen-port",
                 str(of_port), "--wsapi-port", str(rest_port)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        wait_for(self._answers, 30, "the controller's REST interface")

    def _answers(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"controller exited with {self.process.returncode}:\n"
                               + self.log_tail())
        try:
            return self.view("switches") is not None
        except OSError:
            return False

    def view(self, part="view"):
        with urllib.request.urlopen(self.url(f"/mipv6/{part}"), timeout=5) as response:
            return json.load(response)

    def url(self, path):
        return f"http://127.0.0.1:{self.rest_port}{path}"

    def metrics(self):
        """/metrics, the Prometheus text."""
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as response:
            return response.read().decode()

    def post(self, path, headers=()):
        """POST ``path``: (HTTP status, the JSON answer)."""
        request = urllib.request.Request(self.url(path), data=b"", method="POST",
                                         headers=dict(headers))
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def follow_events(self, since="now"):
        """An :class:`EventFollower` of /mipv6/events."""
        return EventFollower(self.url(f"/mipv6/events?since={since}"))

    def log_tail(self, lines=40):
        with open(self.log_path) as log:
            return "".join(log.readlines()[-lines:])

    def kill(self):
        """SIGKILL, as a crash would: no clean-up of any kind."""
        self.process.kill()
        self.process.wait(10)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class EventFollower:
    """The controller's event stream (JSON lines) read in a thread, as a script would."""

    def __init__(self, url):
        self.events = []
        self.response = urllib.request.urlopen(url, timeout=60)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.response:
                if line.strip():  # blank lines keep the connection alive
                    self.events.append(json.loads(line))
        except (OSError, ValueError, AttributeError):
            pass  # closed (http.client drops its file under a reader that is closed)

    def wait_for(self, predicate, timeout, what):
        """The first event that satisfies ``predicate``, waiting up to ``timeout``."""
        return wait_for(lambda: next((e for e in self.events if predicate(e)), None),
                        timeout, what)

    def close(self):
        self.response.close()


def existing_bridges():
    """The Open vSwitch bridges on this machine; one clear line if OVS is not running."""
    try:
        out = subprocess.run(["ovs-vsctl", "--timeout=10", "list-br"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("Open vSwitch is not running (ovs-vsctl cannot reach it): run "
                         "`make setup` (scripts/setup.sh starts it)") from None
    return set(out.split())


def ping(host, address, count=1, wait=1, size=None, dont_fragment=False, source=None,
         hop_limit=None, interval=None):
    """Run ping in ``host``; return (reached, output)."""
    args = ["ping", "-6", "-n", "-c", str(count), "-W", str(wait)]
    if interval is not None:
        args += ["-i", str(interval)]
    if size is not None:
        args += ["-s", str(size)]
    if dont_fragment:
        args += ["-M", "do"]
    if source is not None:
        args += ["-I", source]
    if hop_limit is not None:
        args += ["-t", str(hop_limit)]
    output = host.cmd(" ".join(args + [address]))
    return (" 0% packet loss" in output or f" {count} received" in output), output


def addresses(host, prefix=None):
    """Global IPv6 addresses of ``host`` that are not tentative (optimistic ones count)."""
    out = host.cmd(f"ip -6 -o addr show dev {host.defaultIntf().name} scope global")
    found = []
    for line in out.splitlines():
        match = re.search(r"inet6 ([0-9a-f:]+)/\d+", line)
        if match and ("tentative" not in line or "optimistic" in line):
            if prefix is None or match.group(1).startswith(prefix):
                found.append(match.group(1))
    return found


def host_address(name):
    return roaming.REFERENCE_HOSTS[name]["address"].split("/")[0]


def reachability(net, names, timeout=10):
    """{(src, dst): reached} pinging every ordered pair, each with a deadline."""
    matrix = {}
    for src in names:
        for dst in names:
            if src != dst:
                try:
                    wait_for(lambda: ping(net.get(src), host_address(dst))[0], timeout,
                             f"{src} to reach {dst}")
                    matrix[(src, dst)] = True
                except TimeoutError:
                    matrix[(src, dst)] = False
    return matrix


def settled(net):
    """True when no host address is still tentative (DAD done or optimistic)."""
    return not any("tentative" in line and "optimistic" not in line
                   for host in net.hosts for line in host.cmd("ip -6 -o addr show").splitlines())


def fresh_journal():
    """A new, empty binding-journal path, so a run never restores an earlier run's state."""
    return tempfile.mkdtemp(prefix="mipv6-journal-") + "/bindings.sqlite"


@contextlib.contextmanager
def reference_network(config=REFERENCE_CONFIG, of_port=6653, rest_port=8080,
                      topo_factory=roaming.RoamingTopo, expected_links=10, log_path=None,
                      journal=None, optimistic_dad=True):
    """The controller and a network started, links discovered; both stopped after.

    The controller journals bindings to ``journal`` (a fresh file unless given);
    ``optimistic_dad`` False gives mobile nodes ordinary DAD (the baseline)."""
    config = config_with(config, journal=f'"{journal or fresh_journal()}"')
    topo = topo_factory()
    with _one_network_at_a_time():
        yield from _run_network(topo, config, of_port, rest_port, expected_links, log_path,
                                optimistic_dad)


@contextlib.contextmanager
def _one_network_at_a_time(timeout=900):
    """Mininet deletes and recreates bridges by name, so two runs on one machine (a
    demo and the tests, say) would break each other: the second one waits its turn."""
    with open(NETWORK_LOCK, "w") as lock:
        wait_for(lambda: _try_lock(lock), timeout, "another mipv6-sdn network to stop",
                 interval=0.5)
        yield


def _try_lock(lock):
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _run_network(topo, config, of_port, rest_port, expected_links, log_path,
                 optimistic_dad):
    clash = existing_bridges() & set(topo.switches())
    if clash:
        raise RuntimeError(f"bridges {sorted(clash)} already exist: another Mininet "
                           "network is running; stop it first (this never removes it)")
    controller = Controller(config, of_port, rest_port, log_path)
    net = None
    try:
        net = roaming.start_network(topo, controller_port=of_port,
                                    optimistic_dad=optimistic_dad)
        wait_for(lambda: len(controller.view("links")) >= expected_links, 30,
                 f"LLDP to find {expected_links} directed links")
        wait_for(lambda: settled(net), 10, "duplicate address detection on the hosts")
        yield net, controller
    finally:
        if net is not None:
            net.stop()
        controller.stop()


def print_view(view, out=sys.stdout):
    """The controller's view (links, hosts, routes) as readable text."""
    print("links (LLDP):", file=out)
    for link in view["links"]:
        print(f"  s{link['src']}:{link['src_port']} -> s{link['dst']}:{link['dst_port']}",
              file=out)
    print("access links:", file=out)
    for link in view["access_links"]:
        ha = f", home agent {link['home_agent']}" if link["home_agent"] else ""
        print(f"  {link['name']:8} s{link['dpid']} {link['prefix']} router {link['router']}"
              f" label {link['label']} host ports {link['host_ports']}{ha}", file=out)
    print("hosts:", file=out)
    for host in view["hosts"]:
        print(f"  {host['mac']} at s{host['dpid']}:{host['port']} "
              f"{', '.join(host['addresses']) or '(no global address yet)'}", file=out)
    print("routes (label-switched paths: label -> out port, or pop at the egress):",
          file=out)
    by_label = {}
    for entry in view["routes"]:
        by_label.setdefault(entry["label"], []).append(f"s{entry['dpid']}:{entry['action']}")
    for label, hops in sorted(by_label.items()):
        print(f"  label {label}: {' '.join(hops)}", file=out)


def main_guard():
    """Integration code needs root (Mininet, Open vSwitch)."""
    if os.geteuid() != 0:
        raise SystemExit("this needs root (Mininet and Open vSwitch); run it with sudo")


# ---------------------------------------------------------------- roaming

HOST_PYTHON = "/usr/bin/python3"  # Debian's, inside the hosts: for the standard-library tools
PROBE = ROOT / "mininet_topos" / "probe.py"
TRANSFER = ROOT / "mininet_topos" / "tcp_transfer.py"


def start_agent(host, home="2001:db8:1::100/64", home_agent=roaming.HOME_AGENT,
                lifetime=roaming.AGENT_LIFETIME, log_path=None, extra=()):
    """The mobile-node agent in ``host`` (mn1's security association), logging to
    ``log_path``."""
    log = open(log_path or os.devnull, "w")
    agent = host.popen(roaming.agent_command(host, home, home_agent, lifetime=lifetime,
                                             extra=extra, **roaming.security_association(1)),
                       stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return agent


@contextlib.contextmanager
def capture(host, pcap, capture_filter="ip6"):
    """tshark writes the frames of ``host``'s interface that pass ``capture_filter``
    (BPF) to ``pcap`` meanwhile."""
    process = host.popen(["tshark", "-q", "-i", host.defaultIntf().name, "-w", str(pcap),
                          "-f", capture_filter], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(pcap) and os.path.getsize(pcap) > 0, 10, "tshark")
        yield
    finally:
        process.terminate()
        process.wait(10)


SIGNALLING_CAPTURE = "ip6 and not udp and not tcp"  # signalling and ND, not the streams


@contextlib.contextmanager
def capture_hosts(net, folder, capture_filter=SIGNALLING_CAPTURE):
    """:func:`capture` on every host of ``net`` into ``folder``/<host>.pcap meanwhile;
    yields {host name: pcap path}."""
    folder = pathlib.Path(folder)
    pcaps = {host.name: folder / f"{host.name}.pcap" for host in net.hosts}
    with contextlib.ExitStack() as captures:
        for host in net.hosts:
            captures.enter_context(capture(host, pcaps[host.name], capture_filter))
        yield pcaps


@contextlib.contextmanager
def tcp_transfer(sender, receiver, address, total, rate, port=5001):
    """A paced TCP stream of ``total`` bytes at ``rate`` bytes/s from ``sender`` to
    ``address`` (served in ``receiver``). Yields ``finished()``: waits for the end and
    says whether every byte arrived, in order. Stops both processes it started."""
    server = receiver.popen([HOST_PYTHON, str(TRANSFER), "serve", str(port)],
                            stdout=subprocess.PIPE, text=True)
    stream = None
    try:
        wait_for(lambda: f":{port} " in receiver.cmd("ss -Htln"), 10, "the TCP server")
        stream = sender.popen([HOST_PYTHON, str(TRANSFER), "send", address, str(port),
                               str(total), str(rate)], stdout=subprocess.PIPE, text=True)

        def finished():
            sent, _ = stream.communicate(timeout=60)
            received, _ = server.communicate(timeout=30)
            return sent.split() == received.split()[-2:] and sent.split()[0] == str(total)
        yield finished
    finally:
        kill(stream, server)


def kill(*processes):
    """SIGKILL each of ``processes`` (by pid; None and finished ones skipped), and reap it."""
    for process in processes:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()


def stop_process(process, timeout=10):
    """SIGTERM by pid, then SIGKILL if it does not go; returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


PROBE_RATE = 10000  # Hz: resolves the L3 handover to 0.1 ms


@contextlib.contextmanager
def probe_stream(sender, receiver, address, path, seconds, rate=PROBE_RATE, port=9000):
    """A UDP probe stream (mininet_topos/probe.py) from host ``sender`` to ``address``,
    received in host ``receiver`` and written to ``path``, for ``seconds``. Yields its
    :class:`probe.ArrivalLog` once the first probe arrived; stops both processes after."""
    receiving = receiver.popen([HOST_PYTHON, str(PROBE), "receive", str(port), str(path)])
    sending = None
    try:
        wait_for(lambda: f":{port} " in receiver.cmd("ss -Hlun"), 10, "the probe receiver")
        sending = sender.popen([HOST_PYTHON, str(PROBE), "send", address, str(port),
                                str(rate), str(seconds)])
        log = probe.ArrivalLog(path)
        wait_for(log.read, 10, f"the first probe to {address}")
        yield log
    finally:
        kill(sending, receiving)


def handover(net, controller, host, switch, home, probes, settle=1.5, rate=PROBE_RATE,
             l2_outage=0.0):
    """Move ``host`` to ``switch`` and measure the handover (benchmarks/README.md): the L2
    outage (its link down to up again), the L3 handover (link up to the first probe of
    ``probes``, an :class:`probe.ArrivalLog`, delivered at the new place), the
    interruption (largest probe gap around the move, edges included) and the probes
    lost; a stream that stopped shows as ``stopped``, one long gap and no L3 figure. Also
    the time from the move to the binding change (the BA goes out with it) and the
    flow-mods the change sent. ``l2_outage`` as for :func:`roaming.move_host`."""
    previous = controller.view("binding_changes").get(home, {}).get("at", 0)
    move = roaming.move_host(net, host, switch, l2_outage)
    change = wait_for(lambda: (lambda c: c if c and c["at"] > max(previous, move.started - 1)
                               else None)(controller.view("binding_changes").get(home)),
                      30, f"{host}'s binding to change after the move to {switch}")
    time.sleep(settle)  # let the stream run on after the change
    measured = probe.final_window(probes, move.started - 0.2, time.time(), rate)
    first = probe.first_after(probes.received, move.link_up)
    l3 = None if measured["stopped"] or first is None else (first - move.link_up) * 1000
    return {"to": switch, "move_started_at": move.started, "link_up_at": move.link_up,
            "l2_outage_ms": (move.link_up - move.started) * 1000, "l3_handover_ms": l3,
            "interruption_ms": measured["largest_gap_s"] * 1000, "lost": measured["lost"],
            "stopped": measured["stopped"], "gaps_over_2ms": measured["gaps_over_2ms"],
            "link_up_to_ba_ms": (change["at"] - move.link_up) * 1000,
            "flow_mods": change["flow_mods"], "event": change["event"],
            "network_triggered": change.get("network_triggered", False)}


def labelled_arrivals(switch):
    """Packets that reached ``switch`` labelled from a trunk (its table 0 MPLS rules):
    what paths carried through it. LLDP and mobility signalling are not among them."""
    dump = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", switch,
                           "table=0,mpls"], capture_output=True, text=True, check=True).stdout
    return sum(int(field.split("=")[1].rstrip(","))
               for line in dump.splitlines() for field in line.split()
               if field.startswith("n_packets="))


def flow_counters_settled():
    """Wait until Open vSwitch has pushed its datapath's packet counts to the OpenFlow
    rules: the revalidators do that once per cycle (every 500 ms at most), so two full
    cycles cover every packet sent before the call."""
    for _ in range(2):
        subprocess.run(["ovs-appctl", "revalidator/wait"], capture_output=True, check=True,
                       timeout=30)


def labelled_arrivals_during(net, action):
    """{switch name: labelled packets that arrived there while ``action()`` ran}."""
    flow_counters_settled()
    before = {s.name: labelled_arrivals(s.name) for s in net.switches}
    action()
    flow_counters_settled()
    return {s.name: labelled_arrivals(s.name) - before[s.name] for s in net.switches}


def binding_rules(net):
    """The switches' binding and route-optimisation rules (cookie kinds 6 and 7) as
    "switch: rule" lines."""
    found = []
    for switch in net.switches:
        dump = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", switch.name],
                              capture_output=True, text=True, check=True).stdout
        found += [f"{switch.name}: {line.strip()}" for line in dump.splitlines()
                  if "cookie=0x6" in line or "cookie=0x7" in line]
    return found
