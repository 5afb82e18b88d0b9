"""The agent's packet filters (classic BPF), run by a small interpreter of the
instructions they use, on frames built with Scapy: they must pass what the mobile node
reads and nothing else (a TCP stream through the node, or from a correspondent it
already knows, must not wake the agent)."""
import ipaddress
import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (HAO, ICMPv6EchoRequest, ICMPv6HAADReply, ICMPv6ND_NS,
                                ICMPv6ND_RA, ICMPv6ParamProblem, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BE,
                                MIP6MH_BRR, MIP6MH_CoT, MIP6MH_HoT, MIP6MH_HoTI)
from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether

from mipv6_sdn.mn import system
from mipv6_sdn.mn.actions import WatchCorrespondents

ETHER = Ether(src="02:00:00:00:00:01", dst="00:00:00:00:01:00")
IP6 = IPv6(src="2001:db8:1::1", dst="2001:db8:a::200:ff:fe00:100")
HOA = ipaddress.IPv6Address("2001:db8:1::100")
CN = "2001:db8:c::10"
CN_PREFIX = ipaddress.IPv6Network("2001:db8:c::/64")


def run_bpf(program, frame):
    """Classic BPF semantics for ld{w,h,b} abs, and k, ja, jeq k and ret k (an
    out-of-bounds load drops the frame, as in the kernel); what the filter returns."""
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code in (0x20, 0x28, 0x30):
            size = {0x20: 4, 0x28: 2, 0x30: 1}[code]
            if k + size > len(frame):
                return 0
            acc = int.from_bytes(frame[k:k + size], "big")
        elif code == 0x54:
            acc &= k
        elif code == 0x05:
            pc += k
        elif code == 0x15:
            pc += jt if acc == k else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")


@pytest.mark.parametrize("frame", [
    ETHER / IP6 / IPv6ExtHdrRouting(type=2, addresses=["2001:db8:1::100"]) / MIP6MH_BA(),
    ETHER / IPv6(src="2001:db8:1::1", dst="2001:db8:1::100") / MIP6MH_BA(),
    ETHER / IP6 / IPv6ExtHdrRouting(type=2, addresses=["2001:db8:1::100"]) / MIP6MH_BRR(),
    ETHER / IP6 / IPv6ExtHdrDestOpt(options=[HAO(hoa="2001:db8:1::100")]) / MIP6MH_BA(),
    ETHER / IPv6(src="fe80::1", dst="ff02::1", hlim=255) / ICMPv6ND_RA(),
    ETHER / IP6 / ICMPv6HAADReply(id=1, addresses=["2001:db8:1::1"]),
    ETHER / IPv6(src=CN, dst=str(HOA)) / MIP6MH_HoT(),
    ETHER / IPv6(src=CN, dst="2001:db8:a::200:ff:fe00:100") / MIP6MH_CoT(),
    ETHER / IPv6(src=CN, dst=str(HOA)) / MIP6MH_BE(status=2),
    ETHER / IPv6(src=CN, dst=str(HOA)) / ICMPv6ParamProblem(code=1, ptr=6) / IPv6(
        src=str(HOA), dst=CN) / MIP6MH_HoTI(),
], ids=["BA", "BA-at-home", "BRR", "HAO", "RA", "DHAAD-reply", "HoT", "CoT", "BE",
        "parameter-problem"])
def test_the_filter_passes_what_the_mobile_node_reads(frame):
    assert run_bpf(system.bpf_program(), bytes(frame)) > 0


@pytest.mark.parametrize("frame", [
    ETHER / IP6 / TCP(dport=5201) / (b"x" * 100),
    ETHER / IP6 / UDP(dport=53),
    ETHER / IP6 / ICMPv6EchoRequest(),
    ETHER / IPv6(src="fe80::1", dst="ff02::1:ff00:100", hlim=255) / ICMPv6ND_NS(
        tgt="2001:db8:1::100"),
    ETHER / IPv6(src="fe80::1", dst="ff02::16") / IPv6ExtHdrHopByHop(),
    ETHER / IP(dst="10.0.0.1") / UDP(),
    bytes(ETHER)[:13],
    ETHER / IPv6(src=CN, dst="2001:db8:a::200:ff:fe00:100") / IPv6ExtHdrRouting(
        type=2, addresses=[str(HOA)], segleft=1) / TCP(sport=5201) / (b"x" * 1000),
], ids=["TCP", "UDP", "echo", "NS", "MLD", "IPv4", "runt", "TCP-through-a-type-2-header"])
def test_the_filter_drops_everything_else(frame):
    assert run_bpf(system.bpf_program(), bytes(frame)) == 0


def test_the_program_packs_as_struct_sock_filter():
    program = system.bpf_program()
    packed = b"".join(struct.pack("HBBI", *insn) for insn in program)
    assert len(packed) == 8 * len(program)
    assert all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in program)


# ---------------------------------------------------------------------- new correspondents


def watching(prefixes=(CN_PREFIX,), known=()):
    """The filter of new correspondents for these settings."""
    return system.bpf_program(system.correspondent_filter(WatchCorrespondents(
        HOA, tuple(prefixes), tuple(ipaddress.IPv6Address(a) for a in known))))


def data(src=CN, dst=str(HOA)):
    return bytes(ETHER / IPv6(src=src, dst=dst) / TCP(sport=5201) / (b"x" * 1400))


def test_the_correspondent_filter_passes_the_headers_of_a_new_correspondents_frame():
    assert run_bpf(watching(), data()) == system.WATCH_SNAP == 14 + 40


@pytest.mark.parametrize("frame, program", [
    (data(), watching(known=[CN])),
    (data(src="2001:db8:d::10"), watching()),
    (data(dst="2001:db8:a::200:ff:fe00:100"), watching()),
    (data(dst="2001:db8:1::101"), watching()),
    (bytes(ETHER / IP(dst="10.0.0.1") / UDP()), watching()),
    (bytes(data())[:40], watching()),
    (data(), watching(prefixes=())),
], ids=["known", "outside", "to-the-care-of-address", "to-another-home-address", "IPv4",
        "runt", "not-watching"])
def test_the_correspondent_filter_drops_everything_else(frame, program):
    assert run_bpf(program, frame) == 0


@pytest.mark.parametrize("prefix, inside, outside", [
    ("2001:db8:c::/48", "2001:db8:c:ffff::1", "2001:db8:d::1"),
    ("2001:db8:c:8::/61", "2001:db8:c:f::1", "2001:db8:c:10::1"),
    ("2001:db8:c::10/127", "2001:db8:c::11", "2001:db8:c::12"),
    ("::/0", "2001:db8:c::10", None),
])
def test_the_correspondent_filter_masks_prefixes_of_any_length(prefix, inside, outside):
    program = watching(prefixes=[ipaddress.IPv6Network(prefix)])
    assert run_bpf(program, data(src=inside)) > 0
    assert outside is None or run_bpf(program, data(src=outside)) == 0


def test_the_correspondent_filter_of_a_full_table_has_only_short_jumps():
    known = [f"2001:db8:c::{i:x}" for i in range(1, 65)]
    program = watching(prefixes=[CN_PREFIX, ipaddress.IPv6Network("2001:db8:e::/48")],
                       known=known)
    assert len(program) < 4096  # BPF_MAXINSNS
    assert all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in program)
    assert run_bpf(program, data(src=known[-1])) == 0
    assert run_bpf(program, data(src="2001:db8:c::100")) > 0
    assert run_bpf(program, data(src="2001:db8:e:1::1")) > 0


def test_a_conditional_jump_too_long_for_8_bits_is_refused():
    source = [("ld", 0x30, 20), ("jeq", 6, None, "far")] + [("ret", 0)] * 300 + [
        ("far",), ("ret", 1)]
    with pytest.raises(ValueError):
        system.bpf_program(source)


def test_the_headers_give_the_addresses():
    header = data()[:system.WATCH_SNAP]
    assert system.header_addresses(header) == (ipaddress.IPv6Address(CN), HOA)
    assert system.header_addresses(header[:-1]) is None


# ---------------------------------------------------------------------- the event loop


class RecordingNode:
    """A mobile-node core that records the order of what the loop hands it."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(now, *args):
            self.calls.append((name, *args) if name == "correspondent_seen" else name)
            return []
        return record


class ReadyInterface:
    """An interface whose carrier came up while a frame (the new link's RA) arrived."""
    sock, monitor, watch = "packet socket", "netlink", None

    def __init__(self):
        self.up = False
        self.applied = []

    def fileno_list(self):
        return [self.sock, self.monitor]

    def receive_frames(self):
        return [b"router advertisement"]

    def drain_netlink(self):
        self.up = True

    def carrier(self):
        return self.up

    def usable_addresses(self):
        return []

    def apply(self, actions):
        self.applied += actions


def test_a_carrier_change_is_handled_before_the_frames_of_the_same_round(monkeypatch):
    node, rounds = RecordingNode(), iter([False, True])
    monkeypatch.setattr(system.select, "select", lambda read, *_: (read, [], []))
    system.run(node, ReadyInterface(), lambda: next(rounds), clock=lambda: 100.0)
    loop = node.calls[node.calls.index("addresses_changed") + 1:]
    assert loop == ["link_changed", "frame_received", "tick"]


class WatchingInterface(ReadyInterface):
    """An interface whose filter of new correspondents passed one frame's headers."""
    watch = "correspondent socket"

    def fileno_list(self):
        return [self.sock, self.monitor, self.watch]

    def receive_headers(self):
        return [(ipaddress.IPv6Address(CN), HOA)]


def test_the_headers_of_a_new_correspondent_reach_the_core(monkeypatch):
    node, rounds = RecordingNode(), iter([False, True])
    monkeypatch.setattr(system.select, "select", lambda read, *_: (read, [], []))
    system.run(node, WatchingInterface(), lambda: next(rounds), clock=lambda: 100.0)
    assert ("correspondent_seen", ipaddress.IPv6Address(CN), HOA) in node.calls


class FakeSocket:
    """recvfrom of a non-blocking packet socket holding ``frames``."""

    def __init__(self, frames):
        self.frames, self.sizes = list(frames), []

    def recvfrom(self, size):
        self.sizes.append(size)
        if not self.frames:
            raise BlockingIOError
        return self.frames.pop(0)[:size], ("if", 0x86DD, 0, 1, b"")  # PACKET_HOST


def test_the_correspondent_socket_is_read_for_headers_only():
    interface = object.__new__(system.Interface)  # no socket of its own: no root needed
    interface.watch = FakeSocket([data()[:system.WATCH_SNAP], b"short"])
    assert interface.receive_headers() == [(ipaddress.IPv6Address(CN), HOA)]
    assert set(interface.watch.sizes) == {system.WATCH_SNAP}
