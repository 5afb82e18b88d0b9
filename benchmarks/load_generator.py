"""Binding Update load generator for the signalling-throughput benchmark (benchmarks/README.md).

Runs inside a Mininet host with the project's venv python::

    python -m benchmarks.load_generator --interface hh1-eth0 --care-of 2001:db8:a::... \
        --count 10000 [--window 64] [--timeout 2] [--phases register,refresh]

It speaks for ``count`` distinct mobile nodes of one ``[[mobile_node_range]]``
(home addresses from --first-home, SPIs from --first-spi, keys
``mipv6_sdn.config.derived_key(secret, home)``), all registering the host's own care-of
address with the home agent. Authenticated home-registration BUs (RFC 6275 §11.7.1 with
the RFC 4285 MN-HA authentication and replay-protection options, and a Home Address
option) go out of an AF_PACKET socket to the router MAC; BAs come back on the same
socket (IPv6 to the care-of address with a type 2 routing header), are parsed with
:func:`mipv6_sdn.packets.parse_frame` and matched by (home address, sequence).

One port and MAC speak for every one of these mobile nodes, so the controller must not
validate their sources (RFC 6620, on by default): the generator's port belongs in its
link's ``trusted_ports`` (benchmarks/throughput.py configures it so and says so in its
report). The generator itself never sends neighbour discovery for them.

Load is closed-loop: at most ``window`` BUs are outstanding; the next BU goes out when
a BA arrives or an outstanding BU times out (counted lost, never resent). The generator
thus runs as fast as the controller answers, and ``window`` bounds the queueing delay in
the latencies.

Phases (each printed separately):
- ``register``: sequence 1, first registrations (the controller changes rules);
- ``refresh``: the same MNs and care-of address, sequence 2, a new timestamp (no rule
  change).
``--sequence N`` runs one phase with sequence N instead, and ``--lifetime 0`` makes its
BUs deregistrations (benchmarks/soak.py drives rounds of moves this way).

BUs are built in chunks right before they are sent, so their RFC 4285 timestamps stay
within the controller's replay window (7 s) whatever the rate.
A BA that refuses (status 128 or more, RFC 6275 §6.1.8) is counted as ``rejected``
(by status), apart from the ``accepted`` ones: only accepted BAs count towards the
rate and the latencies, so a controller that refuses fast cannot pass as a fast one.
Prints one JSON object: {"phases": {name: {sent, accepted, rejected, rejected_statuses,
lost, duration_s, accepted_per_s, latency_ms: {p50, p95, p99, max}}}, ...}.
"""
import argparse
import collections
import ipaddress
import json
import select
import socket
import sys
import time

from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.config import derived_key

ETH_P_IPV6 = 0x86DD
ETH_P_ALL = 0x0003
PACKET_IGNORE_OUTGOING = 23
SOL_PACKET = 263
CHUNK = 500  # BUs built at a time, so their timestamps stay fresh
LIFETIME = 420


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def interface_mac(name):
    with open(f"/sys/class/net/{name}/address") as handle:
        return handle.read().strip()


class Generator:
    def __init__(self, args):
        self.args = args
        self.care_of = ipaddress.IPv6Address(args.care_of)
        self.ha = ipaddress.IPv6Address(args.home_agent)
        first = ipaddress.IPv6Address(args.first_home)
        secret = bytes.fromhex(args.secret)
        self.nodes = [(first + i, args.first_spi + i, derived_key(secret, first + i))
                      for i in range(args.count)]
        self.index_of = {home: i for i, (home, _, _) in enumerate(self.nodes)}
        self.mac = interface_mac(args.interface)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass  # older kernels: our own BUs are filtered out below anyway
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((args.interface, ETH_P_IPV6))
        self.sock.setblocking(False)
        self.care_of_packed = self.care_of.packed

    def frame(self, index, sequence, stamp):
        home, spi, key = self.nodes[index]
        update = mobility.BindingUpdate(
            sequence=sequence, lifetime=self.args.lifetime // 4, ack=True, home=True,
            options=(mobility.MobilityMessageReplayProtection(stamp),))
        mh = mobility.serialize_mobility_header(update, home, self.ha,
                                                auth=(spi, key, self.care_of, home))
        packet = packets.ipv6(self.care_of, self.ha, wire.IPPROTO_DSTOPTS,
                              mobility.home_address_option(home, wire.IPPROTO_MH) + mh)
        return packets.ethernet(self.args.router_mac, self.mac, packet)

    def _drain(self, outstanding, latencies, counts, wanted_sequence):
        """Read every BA waiting on the socket; match it to its BU."""
        now = time.monotonic()
        while True:
            try:
                data = self.sock.recv(2048)
            except BlockingIOError:
                return
            # IPv6 with a routing header (43) to our care-of address: a BA candidate.
            if len(data) < 54 or data[20] != wire.IPPROTO_ROUTING \
                    or data[38:54] != self.care_of_packed:
                continue
            try:
                meta = packets.parse_frame(data)
            except wire.PacketError:
                counts["malformed"] += 1
                continue
            if meta.mobility is None or not isinstance(meta.mobility.message,
                                                       mobility.BindingAck):
                continue
            ack = meta.mobility.message
            index = self.index_of.get(meta.routing_home_address)
            key = (index, ack.sequence)
            sent_at = outstanding.pop(key, None)
            if sent_at is None:
                counts["unmatched"] += 1
                continue
            counts["last_ba"] = now
            if ack.status >= mobility.REASON_UNSPECIFIED:  # RFC 6275 §6.1.8: a refusal
                counts["rejected"] += 1
                statuses = counts["rejected_statuses"]
                statuses[str(ack.status)] = statuses.get(str(ack.status), 0) + 1
                continue
            counts["accepted"] += 1
            latencies.append((now - sent_at) * 1000)

    def phase(self, sequence):
        args = self.args
        outstanding = collections.OrderedDict()  # (index, sequence) -> monotonic sent time
        latencies = []
        counts = {"sent": 0, "accepted": 0, "rejected": 0, "rejected_statuses": {}, "lost": 0,
                  "unmatched": 0, "malformed": 0, "last_ba": None}
        pending = collections.deque()
        next_index = 0
        start = time.monotonic()
        sock = self.sock
        while next_index < args.count or pending or outstanding:
            now = time.monotonic()
            # Time out the oldest outstanding BUs (sent in order, so the oldest first).
            while outstanding:
                key, sent_at = next(iter(outstanding.items()))
                if now - sent_at < args.timeout:
                    break
                del outstanding[key]
                counts["lost"] += 1
            while len(outstanding) < args.window and (pending or next_index < args.count):
                if not pending:
                    stamp = mobility.ntp_timestamp(time.time())
                    end = min(args.count, next_index + CHUNK)
                    pending.extend((i, self.frame(i, sequence, stamp))
                                   for i in range(next_index, end))
                    next_index = end
                index, frame = pending.popleft()
                try:
                    sock.send(frame)
                except BlockingIOError:
                    pending.appendleft((index, frame))
                    break
                outstanding[(index, sequence)] = time.monotonic()
                counts["sent"] += 1
            if outstanding:
                oldest = next(iter(outstanding.values()))
                wait = max(0.0, args.timeout - (time.monotonic() - oldest))
                select.select([sock], [], [], min(wait, 0.05))
            self._drain(outstanding, latencies, counts, sequence)
        end = counts.pop("last_ba") or time.monotonic()
        duration = end - start
        return {**counts, "duration_s": round(duration, 4),
                "accepted_per_s": (round(counts["accepted"] / duration, 1) if duration > 0
                                   else 0.0),
                "latency_ms": {name: (round(percentile(latencies, q), 3) if latencies else None)
                               for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99),
                                               ("max", 1.0))}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interface", required=True)
    parser.add_argument("--care-of", required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--first-home", default="2001:db8:1::1000")
    parser.add_argument("--first-spi", type=int, default=4096)
    parser.add_argument("--secret", default=bytes(range(32)).hex())
    parser.add_argument("--home-agent", default="2001:db8:1::1")
    parser.add_argument("--router-mac", default="02:00:00:00:00:01")
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--phases", default="register,refresh")
    parser.add_argument("--sequence", type=int, default=None,
                        help="one phase with this sequence number instead of --phases")
    parser.add_argument("--lifetime", type=int, default=LIFETIME,
                        help="seconds asked for; 0 deregisters")
    parser.add_argument("--pause", type=float, default=1.0,
                        help="seconds between phases (late BAs drain)")
    args = parser.parse_args(argv)
    generator = Generator(args)
    result = {"count": args.count, "window": args.window, "timeout_s": args.timeout,
              "care_of": args.care_of, "phases": {}}
    phases = [(name, {"register": 1, "refresh": 2}[name])
              for name in args.phases.split(",")] if args.sequence is None \
        else [(f"sequence {args.sequence}", args.sequence)]
    for number, (name, sequence) in enumerate(phases):
        if number:
            time.sleep(args.pause)
        result["phases"][name] = generator.phase(sequence)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
