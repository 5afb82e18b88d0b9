"""ND and ICMPv6 on the wire, checked against Scapy and tshark (decoders we did not write)."""
import ipaddress
import random

import pytest
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest,
                                ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS,
                                ICMPv6NDOptAdvInterval, ICMPv6NDOptDstLLAddr,
                                ICMPv6NDOptHAInfo, ICMPv6NDOptMTU, ICMPv6NDOptPrefixInfo,
                                ICMPv6NDOptSrcLLAddr, ICMPv6TimeExceeded, IPv6)
from scapy.layers.l2 import Ether

from mipv6_sdn import packets, wire
from tests.decoders import tshark_fields

A = ipaddress.IPv6Address
ROUTER_MAC = "02:00:00:00:00:01"
HOST_MAC = "00:00:00:00:01:00"


def router_advert(home):
    return packets.router_advert(
        router_mac=ROUTER_MAC, src=A("fe80::1"), dst=wire.ALL_NODES, mtu=1496,
        prefix=ipaddress.IPv6Network("2001:db8:1::/64"), valid_lifetime=86400,
        preferred_lifetime=14400, router_lifetime=1800, adv_interval_ms=10000,
        home_agent=A("2001:db8:1::1") if home else None, home_agent_lifetime=1800)


def scapy_checksum_ok(frame, layer):
    """Scapy recomputes the ICMPv6 checksum; it must equal ours."""
    parsed = Ether(frame)
    theirs = parsed[layer].cksum
    del parsed[layer].cksum
    return Ether(bytes(parsed))[layer].cksum == theirs


def test_home_link_advertisement_in_scapy():
    ra = Ether(router_advert(home=True))
    assert scapy_checksum_ok(bytes(ra), ICMPv6ND_RA)
    assert (ra[IPv6].hlim, ra[IPv6].dst, ra[Ether].dst) == (255, "ff02::1", "33:33:00:00:00:01")
    assert (ra[ICMPv6ND_RA].H, ra[ICMPv6ND_RA].M, ra[ICMPv6ND_RA].routerlifetime) == (1, 0, 1800)
    assert ra[ICMPv6NDOptSrcLLAddr].lladdr == ROUTER_MAC
    assert ra[ICMPv6NDOptMTU].mtu == 1496
    pio = ra[ICMPv6NDOptPrefixInfo]
    assert (pio.len, pio.prefixlen, pio.L, pio.A, pio.R, pio.validlifetime,
            pio.preferredlifetime, pio.prefix) == (4, 64, 1, 1, 1, 86400, 14400, "2001:db8:1::1")
    assert (ra[ICMPv6NDOptAdvInterval].len, ra[ICMPv6NDOptAdvInterval].advint) == (1, 10000)
    assert (ra[ICMPv6NDOptHAInfo].len, ra[ICMPv6NDOptHAInfo].pref,
            ra[ICMPv6NDOptHAInfo].lifetime) == (1, 0, 1800)


def test_visited_link_advertisement_in_scapy():
    ra = Ether(router_advert(home=False))
    assert ra[ICMPv6ND_RA].H == 0 and ICMPv6NDOptHAInfo not in ra
    assert (ra[ICMPv6NDOptPrefixInfo].R, ra[ICMPv6NDOptPrefixInfo].prefix) == (0, "2001:db8:1::")


def test_advertisements_in_tshark_without_warnings(tmp_path):
    (home, visited), warnings = tshark_fields(
        [router_advert(home=True), router_advert(home=False)], tmp_path)
    assert warnings == []
    assert home["icmpv6.checksum.status"] == ["1"] and visited["icmpv6.checksum.status"] == ["1"]
    assert home["icmpv6.nd.ra.flag.h"] == ["1"] and visited["icmpv6.nd.ra.flag.h"] == ["0"]
    assert home["icmpv6.opt.mtu"] == ["1496"]
    assert home["icmpv6.opt.prefix.flag.r"] == ["1"] and home["icmpv6.opt.prefix"] == [
        "2001:db8:1::1"]
    assert home["icmpv6.opt.advertisement_interval"] == ["10000"]
    assert home["icmpv6.opt.home_agent_lifetime"] == ["1800"]
    assert "icmpv6.opt.home_agent_lifetime" not in visited


def test_neighbour_advertisement_and_solicitation_in_scapy_and_tshark(tmp_path):
    na = packets.neighbor_advert(src_mac=ROUTER_MAC, eth_dst=HOST_MAC, src=A("2001:db8:1::1"),
                                 dst=A("2001:db8:1::100"), target=A("2001:db8:1::1"),
                                 router=True, solicited=True)
    ns = packets.neighbor_solicit(src_mac=ROUTER_MAC, src=A("fe80::1"),
                                  target=A("2001:db8:1::99"))
    parsed_na, parsed_ns = Ether(na), Ether(ns)
    assert scapy_checksum_ok(na, ICMPv6ND_NA) and scapy_checksum_ok(ns, ICMPv6ND_NS)
    assert (parsed_na[ICMPv6ND_NA].R, parsed_na[ICMPv6ND_NA].S, parsed_na[ICMPv6ND_NA].O,
            parsed_na[ICMPv6ND_NA].tgt) == (1, 1, 1, "2001:db8:1::1")
    assert parsed_na[ICMPv6NDOptDstLLAddr].lladdr == ROUTER_MAC
    assert (parsed_ns[IPv6].dst, parsed_ns[Ether].dst) == ("ff02::1:ff00:99", "33:33:ff:00:00:99")
    assert parsed_ns[ICMPv6ND_NS].tgt == "2001:db8:1::99"
    assert parsed_ns[ICMPv6NDOptSrcLLAddr].lladdr == ROUTER_MAC
    (fields_na, fields_ns), warnings = tshark_fields([na, ns], tmp_path)
    assert warnings == []
    assert fields_na["icmpv6.nd.na.flag.r"] == ["1"] and fields_na["icmpv6.checksum.status"] == ["1"]
    assert fields_ns["icmpv6.nd.ns.target_address"] == ["2001:db8:1::99"]


def test_echo_reply_and_errors_in_scapy():
    request = Ether(src=HOST_MAC, dst=ROUTER_MAC) / IPv6(
        src="2001:db8:c::10", dst="2001:db8:1::1") / ICMPv6EchoRequest(id=9, seq=3, data=b"abc")
    meta = packets.parse_frame(bytes(request))
    reply = Ether(packets.ethernet(HOST_MAC, ROUTER_MAC, packets.echo_reply(meta, A("2001:db8:1::1"))))
    assert scapy_checksum_ok(bytes(reply), ICMPv6EchoReply)
    assert (reply[ICMPv6EchoReply].id, reply[ICMPv6EchoReply].seq,
            reply[ICMPv6EchoReply].data) == (9, 3, b"abc")
    error = packets.icmp_error(meta, A("2001:db8:c::1"), wire.ICMPV6_TIME_EXCEEDED, 0)
    parsed = Ether(packets.ethernet(HOST_MAC, ROUTER_MAC, error))
    assert scapy_checksum_ok(bytes(parsed), ICMPv6TimeExceeded)
    assert bytes(parsed[ICMPv6TimeExceeded].payload) == meta.ipv6_packet


def test_error_is_cut_to_the_minimum_mtu_and_never_about_an_error():
    big = Ether() / IPv6(src="2001:db8:c::10", dst="2001:db8:77::1") / ICMPv6EchoRequest(
        data=b"z" * 1400)
    meta = packets.parse_frame(bytes(big))
    error = packets.icmp_error(meta, A("2001:db8:c::1"), wire.ICMPV6_DST_UNREACH, 0)
    assert len(error) == wire.ICMP_ERROR_MAX_LEN
    assert Ether(packets.ethernet(HOST_MAC, ROUTER_MAC, error))[ICMPv6DestUnreach].code == 0
    about_error = packets.parse_frame(packets.ethernet(HOST_MAC, ROUTER_MAC, error))
    assert packets.icmp_error(about_error, A("2001:db8:c::1"), 1, 0) is None
    to_multicast = packets.parse_frame(bytes(Ether() / IPv6(
        src="2001:db8:c::10", dst="ff02::1") / ICMPv6EchoRequest()))
    assert packets.icmp_error(to_multicast, A("2001:db8:c::1"), 1, 0) is None


def test_parser_reads_what_scapy_builds():
    ns = Ether(src=HOST_MAC, dst="33:33:ff:00:00:01") / IPv6(
        src="2001:db8:1::100", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(
        tgt="2001:db8:1::1") / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC)
    meta = packets.parse_frame(bytes(ns))
    assert (meta.icmp_type, meta.nd_target, meta.nd_lladdr, meta.hop_limit) == (
        135, A("2001:db8:1::1"), HOST_MAC, 255)
    na = Ether() / IPv6(src="2001:db8:1::10", dst="fe80::1", hlim=255) / ICMPv6ND_NA(
        tgt="2001:db8:1::10", R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=HOST_MAC)
    meta = packets.parse_frame(bytes(na))
    assert (meta.nd_target, meta.nd_lladdr, meta.na_flags) == (
        A("2001:db8:1::10"), HOST_MAC, wire.NA_FLAG_SOLICITED | wire.NA_FLAG_OVERRIDE)
    rs = Ether() / IPv6(src="fe80::2", dst="ff02::2", hlim=255) / ICMPv6ND_RS() / \
        ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC)
    assert packets.parse_frame(bytes(rs)).nd_lladdr == HOST_MAC
    labelled = bytes(Ether(type=0x8847)) + bytes.fromhex("00011140") + bytes(
        IPv6(src="2001:db8:c::10", dst="2001:db8:1::10") / ICMPv6EchoRequest())
    assert packets.parse_frame(labelled).mpls_labels == (17,)


def nd(**kwargs):
    ip = dict(src="2001:db8:1::100", dst="ff02::1:ff00:1", hlim=255)
    ip.update(kwargs.pop("ip", {}))
    return Ether() / IPv6(**ip) / ICMPv6ND_NS(tgt=kwargs.pop("tgt", "2001:db8:1::1"), **kwargs)


@pytest.mark.parametrize("frame, reason", [
    (bytes(nd(ip={"hlim": 254})), "hop limit"),
    (bytes(nd(code=1)), "hop limit != 255 or code"),
    (bytes(nd(tgt="ff02::1")), "multicast"),
    (bytes(nd() / ICMPv6NDOptSrcLLAddr(len=0)), "length zero"),
    (bytes(nd() / ICMPv6NDOptSrcLLAddr(len=2)), "runs past"),
    (bytes(nd(ip={"src": "::", "dst": "ff02::1"})), "DAD"),
    (bytes(nd(ip={"src": "::"}) / ICMPv6NDOptSrcLLAddr()), "DAD"),
    (bytes(nd())[:-3], "payload length"),
    (bytes(nd(cksum=0x1234)), "checksum"),
    (bytes(Ether() / IPv6(src="::1", dst="fe80::1", hlim=255) / ICMPv6ND_NA(
        tgt="fe80::5", S=1, R=0)).replace(bytes(A("fe80::1").packed), bytes(
            A("ff02::1").packed)), "checksum"),
    (bytes(Ether(type=0x0800)) + b"\x45" + b"\0" * 40, "not IPv6"),
    (bytes(Ether(type=0x8847)) + b"\x00\x01\x10", "MPLS"),
    (bytes(Ether(type=0x86DD)) + b"\x40" + b"\0" * 39, "version"),
])
def test_parser_rejects_what_breaks_the_rules(frame, reason):
    with pytest.raises(wire.PacketError, match=reason):
        packets.parse_frame(frame)


def test_parser_survives_mutated_frames():
    """A quick mutation fuzz: every outcome is a PacketMeta or PacketError."""
    rng = random.Random(20261127)
    seeds = [bytes(nd() / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC)), router_advert(True),
             bytes(Ether() / IPv6() / ICMPv6EchoRequest(data=b"q" * 20))]
    outcomes = {"parsed": 0, "rejected": 0}
    for _ in range(20000):
        frame = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            if not frame:
                break
            position = rng.randrange(len(frame))
            choice = rng.random()
            if choice < 0.6:
                frame[position] = rng.randrange(256)
            elif choice < 0.8:
                del frame[position:]
            else:
                frame[position:position] = bytes(rng.randrange(256) for _ in range(3))
        try:
            packets.parse_frame(bytes(frame))
            outcomes["parsed"] += 1
        except wire.PacketError:
            outcomes["rejected"] += 1
    assert outcomes["parsed"] > 0 and outcomes["rejected"] > 0
