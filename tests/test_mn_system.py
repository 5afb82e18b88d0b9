"""The agent's packet filter (classic BPF), run by a small interpreter of the four
instructions it uses, on frames built with Scapy: it must pass what the mobile node
reads and nothing else (a TCP stream through the node must not wake the agent)."""
import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (HAO, ICMPv6EchoRequest, ICMPv6HAADReply, ICMPv6ND_NS,
                                ICMPv6ND_RA, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BRR)
from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether

from mipv6_sdn.mn import system

ETHER = Ether(src="02:00:00:00:00:01", dst="00:00:00:00:01:00")
IP6 = IPv6(src="2001:db8:1::1", dst="2001:db8:a::200:ff:fe00:100")


def run_bpf(program, frame):
    """Classic BPF semantics for ld{h,b} abs, jeq k and ret k (an out-of-bounds load
    drops the frame, as in the kernel)."""
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code in (0x28, 0x30):
            size = 2 if code == 0x28 else 1
            if k + size > len(frame):
                return 0
            acc = int.from_bytes(frame[k:k + size], "big")
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
], ids=["BA", "BA-at-home", "BRR", "HAO", "RA", "DHAAD-reply"])
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
], ids=["TCP", "UDP", "echo", "NS", "MLD", "IPv4", "runt"])
def test_the_filter_drops_everything_else(frame):
    assert run_bpf(system.bpf_program(), bytes(frame)) == 0


def test_the_program_packs_as_struct_sock_filter():
    program = system.bpf_program()
    packed = b"".join(struct.pack("HBBI", *insn) for insn in program)
    assert len(packed) == 8 * len(program)
    assert all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in program)


class RecordingNode:
    """A mobile-node core that records the order of what the loop hands it."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(now, *args):
            self.calls.append(name)
            return []
        return record


class ReadyInterface:
    """An interface whose carrier came up while a frame (the new link's RA) arrived."""
    sock, monitor = "packet socket", "netlink"

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
