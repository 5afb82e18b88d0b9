"""Fuzzing parse_frame with the extension headers and messages of Mobile IPv6.

Every outcome must be a PacketMeta or a PacketError, never another exception, and what
parses must hold together: a Mobility Header that parses serializes back to the same
message, a Parameter Problem pointer points at the field it names. The inputs are
mutations of a seed corpus built by our codec and by Scapy, and frames generated from
random chains of extension headers and options. MIPV6_FUZZ_COUNT sets how many (250,000
by default: about 4 seconds here).
"""
import dataclasses
import ipaddress
import os
import random
import struct

from scapy.layers.inet6 import (HAO, ICMPv6HAADReply, ICMPv6MLReport, ICMPv6MPAdv, IPv6,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting,
                                MIP6MH_BA, MIP6MH_BU, MIP6MH_HoT, MIP6OptAltCoA,
                                MIP6OptBindingAuthData, MIP6OptBRAdvice, MIP6OptMNID,
                                MIP6OptMsgAuth, MIP6OptNonceIndices, MIP6OptReplayProtection,
                                ICMPv6NDOptPrefixInfo, RouterAlert)
from scapy.layers.l2 import Ether

from mipv6_sdn import mobility, packets, wire

A = ipaddress.IPv6Address
HOME = A("2001:db8:1::100")
CARE_OF = A("2001:db8:a::100")
HA = A("2001:db8:1::1")
KEY = bytes(range(20))
MAC = "00:00:00:00:01:00"
ETHER = Ether(src=MAC, dst=MAC)  # explicit: Scapy would look the MAC up
COUNT = int(os.environ.get("MIPV6_FUZZ_COUNT", "250000"))
INTERESTING = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 43, 58, 59, 60, 135, 144, 145,
               146, 147, 0xC9, 0x7F, 0x80, 0xFF)
ERROR_KINDS = {"truncated", "checksum", "payload_proto", "header_len", "unknown_type", "option"}

OPTIONS = (
    mobility.AlternateCareofAddress(CARE_OF), mobility.NonceIndices(1, 2),
    mobility.BindingAuthorizationData(bytes(12)), mobility.BindingRefreshAdvice(30),
    mobility.MobileNodeIdentifier(1, b"mn1@example.org"),
    mobility.MobilityMessageReplayProtection(1 << 62), mobility.UnknownOption(77, b"xyz"))
MESSAGES = (
    mobility.BindingRefreshRequest(), mobility.HomeTestInit(bytes(8)),
    mobility.CareofTestInit(bytes(range(8))), mobility.HomeTest(1, bytes(8), bytes(8)),
    mobility.CareofTest(2, bytes(8), bytes(8)), mobility.BindingUpdate(1, 105, True, True),
    mobility.BindingAck(0, 1, 105), mobility.BindingError(1, HOME))


def ours(message, hao=False, rh2=False, auth=False):
    src, dst = (HOME if hao else CARE_OF), (HOME if rh2 else HA)
    mh = mobility.serialize_mobility_header(message, src, dst, auth=(
        256, KEY, CARE_OF, HOME) if auth else None)
    headers, next_header = b"", wire.IPPROTO_MH
    if hao:
        headers = mobility.home_address_option(HOME, next_header)
        next_header = wire.IPPROTO_DSTOPTS
    if rh2:
        headers = mobility.type2_routing_header(HOME, next_header) + headers
        next_header = wire.IPPROTO_ROUTING
    return packets.ethernet(MAC, MAC, packets.ipv6(CARE_OF, HA, next_header, headers + mh))


def seed_corpus():
    seeds = [ours(mobility.BindingUpdate(7, 105, True, True, options=OPTIONS), hao=True,
                  auth=True),
             ours(mobility.BindingAck(0, 7, 105, options=(
                 mobility.BindingRefreshAdvice(90),
                 mobility.MobilityMessageReplayProtection(5))), rh2=True),
             ours(mobility.BindingError(2, HOME), hao=True, rh2=True)]
    seeds += [ours(message) for message in MESSAGES]
    mps = packets.icmpv6(HOME, HA, mobility.MPS, 0, mobility.mobile_prefix_solicitation(3))
    seeds.append(packets.ethernet(MAC, MAC, packets.ipv6(
        CARE_OF, HA, 60, mobility.home_address_option(HOME, 58) + mps[40:])))
    mpa = packets.icmpv6(HA, HOME, mobility.MPA, 0, mobility.mobile_prefix_advertisement(
        3, [(ipaddress.IPv6Network("2001:db8:1::/64"), 100, 50)], managed=True))
    seeds.append(packets.ethernet(MAC, MAC, packets.ipv6(
        HA, CARE_OF, 43, mobility.type2_routing_header(HOME, 58) + mpa[40:])))
    seeds.append(packets.ethernet(MAC, MAC, packets.icmpv6(
        HA, CARE_OF, mobility.HAAD_REPLY, 0, mobility.haad_reply(4, [HA, HOME]))))
    ip = IPv6(src=str(CARE_OF), dst=str(HA))
    seeds += [bytes(ETHER / layers) for layers in (
        ip / IPv6ExtHdrDestOpt(options=[HAO(hoa=str(HOME))]) / MIP6MH_BU(
            seq=7, flags=0x60, mhtime=105, options=[
                MIP6OptAltCoA(acoa=str(CARE_OF)), MIP6OptNonceIndices(olen=4, hni=3, coni=4),
                MIP6OptBindingAuthData(olen=12, authenticator=5), MIP6OptMNID(id=b"mn"),
                MIP6OptReplayProtection(timestamp=9), MIP6OptMsgAuth(mspi=1, authdata=b"a" * 12)]),
        ip / IPv6ExtHdrRouting(type=2, addresses=[str(HOME)]) / MIP6MH_BA(
            flags=0, seq=7, mhtime=105, options=[MIP6OptBRAdvice(rinter=90)]),
        ip / IPv6ExtHdrRouting(type=0, addresses=[str(HA)], segleft=0) / IPv6ExtHdrDestOpt(
            options=[HAO(hoa=str(HOME))]) / MIP6MH_HoT(index=1),
        IPv6(src="fe80::2", dst="ff02::16", hlim=1) / IPv6ExtHdrHopByHop(
            options=[RouterAlert()]) / ICMPv6MLReport(),
        ip / ICMPv6HAADReply(id=1, R=0, addresses=[str(HA)]),
        ip / ICMPv6MPAdv(id=2, flags=0) / ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::"))]
    labelled = bytes(Ether(type=0x8847)) + bytes.fromhex("00011140") + seeds[0][14:]
    return seeds + [labelled]


def generated(rng):
    """A frame from a random chain of extension headers and a random upper layer."""
    upper_protocol = rng.choice((wire.IPPROTO_MH, 58, 59, 6))
    chain, next_header = [], upper_protocol
    kinds = [rng.choice(("hao", "rh2", "rh0", "dst", "hbh")) for _ in range(rng.randint(0, 3))]
    for kind in kinds:
        if kind == "hao":
            chain.append(mobility.home_address_option(HOME, next_header))
            next_header = 60
        elif kind == "rh2":
            chain.append(mobility.type2_routing_header(HOME, next_header))
            next_header = 43
        elif kind == "rh0":
            chain.append(struct.pack("!BBBB4x", next_header, 2, 0, rng.choice((0, 1))) + HA.packed)
            next_header = 43
        else:
            body = bytes(rng.choice((0, 1, 5, 0xC9, rng.randrange(256))) if rng.random() < 0.5
                         else 0 for _ in range(rng.choice((6, 14, 22))))
            chain.append(bytes([next_header, len(body) // 8]) + body)
            next_header = 60 if kind == "dst" else 0
    chain.reverse()
    if upper_protocol == wire.IPPROTO_MH:
        message = dataclasses.replace(rng.choice(MESSAGES), options=tuple(
            rng.sample(OPTIONS, rng.randint(0, 4))))
        upper = mobility.serialize_mobility_header(
            message, HOME if "hao" in kinds else CARE_OF, HOME if "rh2" in kinds else HA,
            auth=(1, KEY, CARE_OF, HOME) if rng.random() < 0.3 else None)
    else:
        upper = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    return packets.ethernet(MAC, MAC, packets.ipv6(CARE_OF, HA, next_header,
                                                   b"".join(chain) + upper))


def mutated(rng, seed, seed_meta):
    """``seed`` with 1-4 random changes, a third of them in its headers: the extension
    headers and the first octets of the upper layer."""
    frame = bytearray(seed)
    ip_start = len(seed) - len(seed_meta.ipv6_packet)
    headers = range(ip_start + wire.IPV6_HEADER_LEN, ip_start + seed_meta.upper_offset + 8)
    for _ in range(rng.randint(1, 4)):
        if len(frame) <= 14:
            break
        if rng.random() < 0.3 and headers.stop <= len(frame):
            position = rng.choice(headers)
        else:
            position = rng.randrange(14, len(frame))
        choice = rng.random()
        if choice < 0.45:
            frame[position] = rng.randrange(256)
        elif choice < 0.7:
            frame[position] = rng.choice(INTERESTING)
        elif choice < 0.8:
            del frame[position:]
        elif choice < 0.9:
            frame[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            del frame[position:position + rng.randint(1, 8)]
    if rng.random() < 0.7 and len(frame) >= 54:  # keep the IPv6 payload length right
        frame[18:20] = struct.pack("!H", min(len(frame) - 54, 0xFFFF))
    return bytes(frame)


def fix_checksum(frame, seed_meta):
    """Recompute the upper-layer checksum where the seed had it, so that mutations reach
    the checks behind it."""
    start = 14 + seed_meta.upper_offset
    src = seed_meta.home_address_option or seed_meta.ip_src
    dst = seed_meta.routing_home_address or seed_meta.ip_dst
    frame = bytearray(frame)
    if seed_meta.next_header == wire.IPPROTO_MH and len(frame) >= start + 8:
        end = start + (frame[start + 1] + 1) * 8
        at, protocol = start + 4, wire.IPPROTO_MH
    elif seed_meta.next_header == 58 and len(frame) >= start + 4:
        end, at, protocol = len(frame), start + 2, 58
    else:
        return bytes(frame)
    if end <= len(frame):
        frame[at:at + 2] = b"\0\0"
        frame[at:at + 2] = struct.pack("!H", wire.checksum(src, dst, protocol,
                                                              bytes(frame[start:end])))
    return bytes(frame)


def check(meta):
    """What a parsed frame must satisfy beyond not crashing."""
    if meta.mobility is not None:
        mh = meta.mobility
        mobility.verify_authentication(mh, KEY, CARE_OF, HOME)
        if len(mh.raw) < 1800:
            again = mobility.serialize_mobility_header(mh.message, HOME, HA)
            assert mobility.parse_mobility_header(again, 0).message == mh.message
    error = meta.mobility_error
    if error is not None:
        assert error.kind in ERROR_KINDS
        if error.kind == "payload_proto":
            assert meta.ipv6_packet[error.pointer] != wire.IPPROTO_NONE
        if error.kind == "header_len":
            assert error.pointer == meta.upper_offset + 1
    assert (meta.dhaad is not None) == (meta.icmp_type in mobility.DISCOVERY_TYPES)


def test_parse_frame_survives_mobile_ipv6_fuzz():
    rng = random.Random(20261127)
    seeds = [(seed, packets.parse_frame(seed)) for seed in seed_corpus()]
    outcomes = {}
    for index in range(COUNT):
        if index % 4 == 0:
            frame = generated(rng)
        else:
            seed, seed_meta = rng.choice(seeds)
            frame = mutated(rng, seed, seed_meta)
            if rng.random() < 0.7:
                frame = fix_checksum(frame, seed_meta)
        try:
            meta = packets.parse_frame(frame)
        except wire.PacketError:
            outcomes["rejected"] = outcomes.get("rejected", 0) + 1
            continue
        except Exception as exc:  # pylint: disable=broad-except
            raise AssertionError(f"parse_frame({frame.hex()}) raised {exc!r}") from exc
        try:
            check(meta)
        except Exception as exc:  # pylint: disable=broad-except
            raise AssertionError(f"frame {frame.hex()}: {exc!r}") from exc
        if meta.mobility_error is not None:
            outcome = "mh_" + meta.mobility_error.kind
        elif meta.mobility is not None:
            outcome = "mh_parsed"
        else:
            outcome = "parsed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(f"\nfuzzed parse_frame with {COUNT} inputs: {dict(sorted(outcomes.items()))}")
    assert sum(outcomes.values()) == COUNT
    assert outcomes["mh_parsed"] and outcomes["rejected"] and outcomes["parsed"]
    assert all(outcomes.get("mh_" + kind) for kind in ERROR_KINDS)
