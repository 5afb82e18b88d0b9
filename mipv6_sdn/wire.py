"""The base of the codecs: IPv6, ICMPv6 and Neighbour Discovery on the wire.

Constants with the RFC section that defines them, :class:`PacketError`, MAC and
multicast address helpers, the Internet checksum, the TLV options of extension headers
and mobility options, and ND options (the Prefix Information option parsed and built
in one place). :mod:`mipv6_sdn.mobility` and :mod:`mipv6_sdn.packets` build on it; it
imports neither.
"""
import dataclasses
import functools
import ipaddress
import struct

ADDRESS_TEXTS = 1 << 16  # addresses whose text form is remembered (address_text)


@functools.lru_cache(maxsize=ADDRESS_TEXTS)
def address_text(address):
    """``str(address)``, remembered: one BU turns the same few addresses into rule
    matches and journal keys many times over, and ``ipaddress`` formats each anew."""
    return str(address)


ETH_TYPE_IPV6 = 0x86DD  # RFC 2464 §3
ETH_TYPE_MPLS = 0x8847  # RFC 3032 §5
ETH_HEADER_LEN = 14
IPV6_HEADER_LEN = 40  # RFC 8200 §3
MPLS_ENTRY_LEN = 4  # RFC 3032 §2.1
IPPROTO_HOPOPTS = 0  # RFC 8200 §4.3
IPPROTO_ROUTING = 43  # RFC 8200 §4.4
IPPROTO_ICMPV6 = 58  # RFC 4443 §1
IPPROTO_NONE = 59  # RFC 8200 §4.7
IPPROTO_DSTOPTS = 60  # RFC 8200 §4.6
IPPROTO_MH = 135  # RFC 6275 §6.1
EXTENSION_HEADERS = (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS)
OPT_PAD1 = 0  # RFC 8200 §4.2; the same in the Mobility Header (RFC 6275 §6.2.2, §6.2.3)
OPT_PADN = 1
MAX_PADDING = 7  # RFC 4942 §2.1.9.5: padding beyond what alignment needs is suspect

# RFC 4443 §2.1 and RFC 4861 §4: ICMPv6 types.
ICMPV6_DST_UNREACH = 1
ICMPV6_PACKET_TOO_BIG = 2
ICMPV6_TIME_EXCEEDED = 3
ICMPV6_PARAM_PROBLEM = 4
ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129
ND_ROUTER_SOLICIT = 133
ND_ROUTER_ADVERT = 134
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
ND_REDIRECT = 137
ND_TYPES = (ND_ROUTER_SOLICIT, ND_ROUTER_ADVERT, ND_NEIGHBOR_SOLICIT,
            ND_NEIGHBOR_ADVERT, ND_REDIRECT)

# RFC 4443 §3.1 Destination Unreachable codes.
UNREACH_NO_ROUTE = 0
UNREACH_ADDRESS = 3
ICMPV6_PARAM_HEADER = 0  # RFC 4443 §3.4: erroneous header field encountered
ICMPV6_PARAM_NEXT_HEADER = 1  # RFC 4443 §3.4: unrecognized Next Header type encountered
ICMPV6_PARAM_OPTION = 2  # RFC 4443 §3.4: unrecognized IPv6 option encountered

# RFC 4861 §4.6 option types; RFC 6275 §7.3, §7.4 additions.
OPT_SOURCE_LLADDR = 1
OPT_TARGET_LLADDR = 2
OPT_PREFIX_INFO = 3
OPT_MTU = 5
OPT_ADV_INTERVAL = 7  # RFC 6275 §7.3
OPT_HOME_AGENT_INFO = 8  # RFC 6275 §7.4
PREFIX_INFO_LEN = 30  # RFC 4861 §4.6.2: the option's octets after type and length

ND_HOP_LIMIT = 255  # RFC 4861 §7.1: ND messages must arrive with hop limit 255
DEFAULT_HOP_LIMIT = 64
RA_FLAG_HOME_AGENT = 0x20  # RFC 6275 §7.1: H bit of the RA flags byte
PI_FLAG_ON_LINK = 0x80  # RFC 4861 §4.6.2 L
PI_FLAG_AUTONOMOUS = 0x40  # RFC 4861 §4.6.2 A
PI_FLAG_ROUTER_ADDRESS = 0x20  # RFC 6275 §7.2 R
NA_FLAG_ROUTER = 0x80000000
NA_FLAG_SOLICITED = 0x40000000
NA_FLAG_OVERRIDE = 0x20000000
ICMP_ERROR_MAX_LEN = 1280  # RFC 4443 §2.4(c): error must not exceed the minimum MTU

ALL_NODES = ipaddress.IPv6Address("ff02::1")  # RFC 4291 §2.7.1
ALL_ROUTERS = ipaddress.IPv6Address("ff02::2")  # RFC 4291 §2.7.1
UNSPECIFIED = ipaddress.IPv6Address("::")
SOLICITED_NODE_PREFIX = ipaddress.IPv6Network("ff02::1:ff00:0/104")


class PacketError(ValueError):
    """Bytes that break a length, checksum or validity rule."""


def mac_to_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def mac_from_bytes(raw):
    return ":".join(f"{b:02x}" for b in raw)


def solicited_node(address):
    """RFC 4291 §2.7.1: the solicited-node multicast address of ``address``."""
    return ipaddress.IPv6Address(
        int(SOLICITED_NODE_PREFIX.network_address) | (int(address) & 0xFFFFFF))


def multicast_mac(address):
    """RFC 2464 §7: the Ethernet address of IPv6 multicast ``address``."""
    return "33:33:" + mac_from_bytes(address.packed[-4:])


def is_unicast_routable(address):
    """RFC 6275 §9.5.1: a global unicast address (not multicast, link-local, loopback,
    unspecified, or IPv4-mapped)."""
    return not (address.is_multicast or address.is_link_local or address.is_loopback
                or address.is_unspecified or address.ipv4_mapped is not None
                or address.is_site_local)


def checksum(src, dst, next_header, payload):
    """RFC 8200 §8.1: Internet checksum over the IPv6 pseudo-header and ``payload``."""
    data = src.packed + dst.packed + struct.pack("!IxxxB", len(payload), next_header)
    data += payload
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tlv_options(area, start):
    """RFC 8200 §4.2 options of a Hop-by-Hop or Destination Options header, or mobility
    options (RFC 6275 §6.2.1, same format), from ``area[start:]`` to its end: (offset,
    type, data) for each option but Pad1 and PadN. Padding must be zeros, and no more
    than 7 octets in a row (RFC 4942 §2.1.9.5)."""
    options = []
    offset, padding = start, 0
    while offset < len(area):
        opt_type = area[offset]
        if opt_type == OPT_PAD1:
            size = 1
        elif offset + 2 > len(area):
            raise PacketError("truncated option")
        else:
            size = 2 + area[offset + 1]
            if offset + size > len(area):
                raise PacketError("option runs past its header")
        if opt_type in (OPT_PAD1, OPT_PADN):
            padding += size
            if padding > MAX_PADDING or any(area[offset + 2:offset + size]):
                raise PacketError("padding longer than 7 octets or not zero")
        else:
            padding = 0
            options.append((offset, opt_type, area[offset + 2:offset + size]))
        offset += size
    return options


def nd_options(raw):
    """RFC 4861 §4.6: (type, body) pairs; every option must have non-zero length."""
    options = []
    offset = 0
    while offset < len(raw):
        if len(raw) - offset < 2:
            raise PacketError("truncated ND option")
        opt_type, opt_len = raw[offset], raw[offset + 1]
        if opt_len == 0:
            raise PacketError("ND option of length zero")
        end = offset + opt_len * 8
        if end > len(raw):
            raise PacketError("ND option runs past the packet")
        options.append((opt_type, raw[offset + 2:end]))
        offset = end
    return options


def nd_option(opt_type, body):
    """An ND option padded to a multiple of 8 octets (RFC 4861 §4.6)."""
    length = (len(body) + 2 + 7) // 8
    return struct.pack("!BB", opt_type, length) + body.ljust(length * 8 - 2, b"\0")


@dataclasses.dataclass(frozen=True)
class PrefixInformation:
    """RFC 4861 §4.6.2 Prefix Information; with the R flag ``address`` is the router's
    whole address, not only the prefix (RFC 6275 §7.2). Lifetimes in seconds."""
    prefix_len: int
    flags: int
    valid_lifetime: int
    preferred_lifetime: int
    address: ipaddress.IPv6Address

    @property
    def prefix(self):
        return ipaddress.IPv6Network((self.address, self.prefix_len), strict=False)


def prefix_information_option(info):
    """The ND option (RFC 4861 §4.6.2) carrying :class:`PrefixInformation` ``info``."""
    return nd_option(OPT_PREFIX_INFO, struct.pack(
        "!BBIII", info.prefix_len, info.flags, info.valid_lifetime,
        info.preferred_lifetime, 0) + info.address.packed)


def parse_prefix_information(body):
    """:class:`PrefixInformation` from the body of an option of type OPT_PREFIX_INFO (as
    :func:`nd_options` gives it), or PacketError."""
    if len(body) != PREFIX_INFO_LEN or body[0] > 128:
        raise PacketError("malformed Prefix Information option")
    prefix_len, flags, valid, preferred = struct.unpack_from("!BBII", body)
    return PrefixInformation(prefix_len, flags, valid, preferred,
                             ipaddress.IPv6Address(body[14:30]))
