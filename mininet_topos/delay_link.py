"""A userspace delay element for the s1-s5 link: distance without netem.

This machine's kernel has no ``sch_netem`` (docs/environment.md), so Mininet's
``TCLink(delay=...)`` fails. Instead a node ``d1`` sits on the link, s5 - d1 - s1, and
relays every frame from one of its interfaces to the other after a fixed one-way delay,
in order, untouched (LLDP, so Ryu still finds s1:3 <-> s5:1 as a link; MPLS; IPv6)::

    python3 mininet_topos/delay_link.py relay --delay-ms 10 d1-eth0 d1-eth1

The relay uses the standard library only: one raw ``AF_PACKET`` socket per interface
(``ETH_P_ALL``, promiscuous), frames the socket reports as ``PACKET_OUTGOING`` (the
relay's own sends) ignored, and a :class:`DelayLine`, a heap of (due time, arrival
order, output, frame), which decides what is sent when. ``d1`` has IPv6 off and
checksum offload off on its interfaces, so it adds nothing of its own to the link.

:class:`DelayedHomeTopo` is the reference network (``roaming.RoamingTopo``) with d1 on
the s1-s5 link and the same switch ports: s1 port 3 and s5 port 1 lead to d1 as they
led to each other, so docs/mininet.md's port numbers stay valid. With the harness::

    topo = functools.partial(DelayedHomeTopo, delay_ms=10)
    with harness.reference_network(config, topo_factory=topo, expected_links=10) as ...

The relay starts when Mininet configures d1 (before the switches start, so LLDP finds
the link through it) and stops, by pid, when Mininet stops d1 (``net.stop()``).

Standard library and Mininet only; runs under Debian's system Python.
"""
import argparse
import errno
import heapq
import itertools
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

try:
    from mininet_topos import roaming
except ImportError:  # run as a script (the relay in d1): this directory is sys.path[0]
    import roaming

from mininet.node import Host
from mininet.topo import Topo

HOST_PYTHON = "/usr/bin/python3"
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_IGNORE_OUTGOING = 23  # Linux 4.20+; PACKET_OUTGOING frames are skipped anyway
PACKET_OUTGOING = 4
MAX_FRAME = 65535
DELAY_NODE = "d1"
# The link the element sits on, and the switch ports the reference network gives it.
DELAYED_LINK = ("s1", "s5")
DELAYED_PORTS = {"s1": 3, "s5": 1}


class DelayLine:
    """What to send when: every frame goes out ``delay`` seconds after it came in, and
    frames leave in the order they arrived (ties broken by arrival order).

    Pure logic, no sockets and no clock: the caller passes ``now`` (seconds, any
    monotonic clock)."""

    def __init__(self, delay):
        if delay < 0:
            raise ValueError(f"delay must be >= 0, not {delay}")
        self.delay = delay
        self._heap = []
        self._order = itertools.count()

    def __len__(self):
        return len(self._heap)

    def push(self, now, out, frame):
        """A frame that arrived at ``now``, to be sent on ``out`` at ``now + delay``."""
        heapq.heappush(self._heap, (now + self.delay, next(self._order), out, frame))

    def due(self, now):
        """[(due time, out, frame)] of every frame due at ``now``, removed, in order."""
        ready = []
        while self._heap and self._heap[0][0] <= now:
            at, _, out, frame = heapq.heappop(self._heap)
            ready.append((at, out, frame))
        return ready

    def timeout(self, now):
        """Seconds to wait for the next due frame (0 if one is due), None if empty."""
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - now)


def open_packet_socket(interface):
    """A non-blocking raw socket receiving every frame of ``interface``, promiscuous."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, ETH_P_ALL))
    mreq = struct.pack("iHH8s", socket.if_nametoindex(interface), PACKET_MR_PROMISC, 0,
                       b"")
    sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    try:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setblocking(False)
    return sock


def relay(interfaces, delay, stopping=lambda: False, clock=time.monotonic):
    """Relay frames between the two ``interfaces`` with one-way ``delay`` (s) until
    ``stopping()`` or an interface disappears; returns counters."""
    socks = [open_packet_socket(name) for name in interfaces]
    other = {socks[0].fileno(): socks[1], socks[1].fileno(): socks[0]}
    index = {socks[0].fileno(): 0, socks[1].fileno(): 1}
    line = DelayLine(delay)
    stats = {"relayed": [0, 0], "send_errors": 0, "receive_errors": 0, "max_queued": 0,
             "late_max_ms": 0.0, "late_total_ms": 0.0, "stopped_by": "signal"}
    while not stopping():
        try:
            readable, _, _ = select.select(socks, [], [], line.timeout(clock()))
        except InterruptedError:
            continue
        for sock in readable:
            while True:
                try:
                    frame, address = sock.recvfrom(MAX_FRAME)
                except BlockingIOError:
                    break
                except OSError as error:
                    stats["receive_errors"] += 1
                    if error.errno in (errno.ENETDOWN, errno.ENODEV, errno.ENXIO) and \
                            not all(_exists(name) for name in interfaces):
                        stats["stopped_by"] = "interface gone"
                        return stats
                    break
                if address[2] == PACKET_OUTGOING:
                    continue
                line.push(clock(), other[sock.fileno()], frame)
                stats["relayed"][index[sock.fileno()]] += 1
        stats["max_queued"] = max(stats["max_queued"], len(line))
        now = clock()
        for at, out, frame in line.due(now):
            late = (clock() - at) * 1000
            stats["late_max_ms"] = max(stats["late_max_ms"], late)
            stats["late_total_ms"] += late
            try:
                out.send(frame)
            except OSError:
                stats["send_errors"] += 1
    return stats


def _exists(interface):
    try:
        socket.if_nametoindex(interface)
        return True
    except OSError:
        return False


def relay_main(argv=None):
    parser = argparse.ArgumentParser(description="relay frames between two interfaces "
                                     "after a fixed one-way delay")
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("interfaces", nargs=2)
    args = parser.parse_args(argv)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    print(f"relaying {args.interfaces[0]} <-> {args.interfaces[1]}, "
          f"{args.delay_ms} ms each way", file=sys.stderr, flush=True)
    stats = relay(args.interfaces, args.delay_ms / 1000, stopping=lambda: bool(stop))
    sent = sum(stats["relayed"])
    stats["late_mean_ms"] = stats.pop("late_total_ms") / sent if sent else 0.0
    print("stats " + json.dumps(stats), file=sys.stderr, flush=True)
    return 0


# ---------------------------------------------------------------- in Mininet

def start_relay(node, delay_ms, interfaces=None, log_path=None):
    """Start the relay in ``node`` between its two interfaces; returns the Popen."""
    names = interfaces or [str(intf) for intf in node.intfList() if str(intf) != "lo"]
    if len(names) != 2:
        raise ValueError(f"{node.name}: a delay element needs two interfaces, has {names}")
    if log_path is None:
        with tempfile.NamedTemporaryFile(prefix=f"mipv6-{node.name}-relay-", suffix=".log",
                                         delete=False) as handle:
            log_path = handle.name
    with open(log_path, "w") as log:
        process = node.popen([HOST_PYTHON, os.path.abspath(__file__), "relay",
                              "--delay-ms", str(delay_ms), *names],
                             stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    return process


def stop_relay(process, timeout=5):
    """SIGTERM the relay by pid (it logs its counters), SIGKILL if it lingers."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout)
    return process.returncode


def relay_stats(log_path):
    """The counters the relay logged when it stopped, as a dict (empty if none)."""
    with open(log_path) as log:
        lines = [line for line in log if line.startswith("stats ")]
    if not lines:
        return {}
    return json.loads(lines[-1][len("stats "):])


class DelayNode(roaming.MobileIPv6Host):
    """A plain host with IPv6 off that relays frames between its two interfaces.

    It derives from MobileIPv6Host only because ``roaming.start_network`` configures
    IPv6 on every host that is not one (nodes of that class set themselves up); its
    ``config`` replaces MobileIPv6Host's entirely. Node parameters: ``delay_ms`` (the
    one-way delay) and ``relay_log`` (the relay's log file; a temporary file if None).
    """

    relay = None

    def config(self, delay_ms=10.0, relay_log=None, **params):
        result = Host.config(self, **{k: v for k, v in params.items()
                                      if k not in ("ipv6_address", "mobile",
                                                   "optimistic_dad")})
        intfs = [str(intf) for intf in self.intfList() if str(intf) != "lo"]
        roaming.run_in(self, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1",
             *[f"net.ipv6.conf.{intf}.disable_ipv6=1" for intf in intfs])
        for intf in intfs:
            roaming.run_in(self, "ip", "-4", "addr", "flush", "dev", intf)
            roaming.run_in(self, "ethtool", "-K", intf, "tx", "off", "tso", "off", "gso", "off")
            self.pexec("ethtool", "-K", intf, "gro", "off")  # not every kernel lets us
            roaming.run_in(self, "ip", "link", "set", intf, "up")
        if self.relay is None and len(intfs) == 2:
            self.relay = start_relay(self, delay_ms, intfs, relay_log)
        return result

    def stop_relay(self):
        """Stop the relay (idempotent); returns its counters from the log."""
        if self.relay is None:
            return {}
        stop_relay(self.relay)
        stats = relay_stats(self.relay.log_path)
        self.relay = None
        return stats

    def terminate(self):
        self.stop_relay()
        super().terminate()


class DelayedHomeTopo(Topo):
    """The reference network with the delay element d1 on the s1-s5 link (s5 - d1 -
    s1), ``delay_ms`` each way. Switches, hosts, MACs, addresses and every switch port
    are those of ``roaming.RoamingTopo``: s1 port 3 and s5 port 1 face d1."""

    def build(self, delay_ms=10.0, relay_log=None):
        for name, dpid in roaming.REFERENCE_SWITCHES.items():
            self.addSwitch(name, cls=roaming.UserspaceSwitch, dpid=roaming.dpid_hex(dpid))
        for name, host in roaming.REFERENCE_HOSTS.items():
            self.addHost(name, cls=roaming.MobileIPv6Host, mac=host["mac"], ip=None,
                         ipv6_address=host["address"],
                         mobile=name in roaming.MOBILE_NODES)
            self.addLink(name, host["switch"])
        self.addHost(DELAY_NODE, cls=DelayNode, ip=None, delay_ms=delay_ms,
                     relay_log=relay_log)
        for switch_a, switch_b in roaming.SWITCH_LINKS:
            if (switch_a, switch_b) == DELAYED_LINK:
                self.addLink(switch_a, DELAY_NODE, port1=DELAYED_PORTS[switch_a], port2=0)
                self.addLink(DELAY_NODE, switch_b, port1=1, port2=DELAYED_PORTS[switch_b])
            else:
                self.addLink(switch_a, switch_b)


if __name__ == "__main__":
    if sys.argv[1:2] == ["relay"]:
        sys.exit(relay_main(sys.argv[2:]))
    sys.exit(f"usage: {sys.argv[0]} relay --delay-ms MS IF1 IF2")
