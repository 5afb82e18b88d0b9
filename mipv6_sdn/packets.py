"""IPv6, ICMPv6 and Neighbour Discovery on the wire: a strict parser and pure builders.

:func:`parse_frame` reads an Ethernet frame from a packet-in (optionally under MPLS
labels) and returns a :class:`PacketMeta`, or raises :class:`PacketError` when any
length, checksum or RFC 4861 §7.1 validity rule is broken. Ryu's own ND parser loops
forever on an option of length zero, so untrusted ND is parsed here.

It walks the extension headers that Mobile IPv6 uses (Hop-by-Hop, Destination Options
with the Home Address option, the type 2 routing header) to the upper layer, and hands
Mobility Headers and ICMPv6 types 144-147 to :mod:`mipv6_sdn.mobility`. A malformed
Mobility Header does not raise: the Home Agent answers some of those errors, so it is
recorded in ``PacketMeta.mobility_error``.

Builders return whole Ethernet frames as bytes, ready for a packet-out.
"""
import dataclasses
import ipaddress
import struct

ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_MPLS = 0x8847
ETH_HEADER_LEN = 14
IPV6_HEADER_LEN = 40
MPLS_ENTRY_LEN = 4
IPPROTO_HOPOPTS = 0  # RFC 8200 §4.3
IPPROTO_ROUTING = 43  # RFC 8200 §4.4
IPPROTO_ICMPV6 = 58
IPPROTO_DSTOPTS = 60  # RFC 8200 §4.6
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

# RFC 4861 §4.6 option types; RFC 6275 §7.3, §7.4 additions.
OPT_SOURCE_LLADDR = 1
OPT_TARGET_LLADDR = 2
OPT_PREFIX_INFO = 3
OPT_MTU = 5
OPT_ADV_INTERVAL = 7  # RFC 6275 §7.3
OPT_HOME_AGENT_INFO = 8  # RFC 6275 §7.4

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

ALL_NODES = ipaddress.IPv6Address("ff02::1")
UNSPECIFIED = ipaddress.IPv6Address("::")
SOLICITED_NODE_PREFIX = ipaddress.IPv6Network("ff02::1:ff00:0/104")


class PacketError(ValueError):
    """Bytes that break a length, checksum or validity rule."""


@dataclasses.dataclass(frozen=True)
class PacketMeta:
    """A parsed frame: Ethernet and IPv6 headers, the extension headers of Mobile IPv6,
    and ICMPv6 or the Mobility Header when present."""
    eth_src: str
    eth_dst: str
    ip_src: ipaddress.IPv6Address
    ip_dst: ipaddress.IPv6Address
    hop_limit: int
    next_header: int  # the upper-layer protocol: Next Header of the last header walked
    ipv6_packet: bytes  # the IPv6 header and payload, without Ethernet or labels
    mpls_labels: tuple = ()
    icmp_type: int | None = None
    icmp_code: int | None = None
    icmp_body: bytes = b""  # the ICMPv6 message after type, code and checksum
    nd_target: ipaddress.IPv6Address | None = None
    nd_lladdr: str | None = None  # source or target link-layer address option
    na_flags: int = 0
    upper_offset: int = IPV6_HEADER_LEN  # where the upper-layer header starts in ipv6_packet
    home_address_option: ipaddress.IPv6Address | None = None  # RFC 6275 §6.3
    routing_home_address: ipaddress.IPv6Address | None = None  # type 2 routing header, §6.4
    mobility: "mobility.MobilityHeader | None" = None  # a valid Mobility Header
    mobility_error: "mobility.MobilityError | None" = None  # or why it is not valid
    dhaad: "mobility.DiscoveryMessage | None" = None  # ICMPv6 144-147 (RFC 6275 §6.5-6.8)


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


def _home_address(position, data):
    """The address of a Home Address option at ``position`` in its header (RFC 6275 §6.3)."""
    x, y = mobility.HOME_ADDRESS_ALIGNMENT
    if len(data) != 16 or position % x != y:
        raise PacketError("Home Address option not 16 octets at 8n+6")
    return ipaddress.IPv6Address(data)


def _extension_headers(packet):
    """RFC 8200 §4.1: walk Hop-by-Hop (first only), Destination Options and type 2
    routing headers; the upper-layer protocol, its offset and the addresses found."""
    next_header, offset = packet[6], IPV6_HEADER_LEN
    found = {"home_address_option": None, "routing_home_address": None}
    while next_header in EXTENSION_HEADERS:
        if len(packet) < offset + 2:
            raise PacketError("truncated extension header")
        header = packet[offset:offset + (packet[offset + 1] + 1) * 8]
        if len(header) < (header[1] + 1) * 8:
            raise PacketError("extension header runs past the packet")
        if next_header == IPPROTO_HOPOPTS:
            if offset != IPV6_HEADER_LEN:
                raise PacketError("Hop-by-Hop Options header is not the first")
            tlv_options(header, 2)
        elif next_header == IPPROTO_DSTOPTS:
            for position, opt_type, data in tlv_options(header, 2):
                if opt_type == mobility.OPT_HOME_ADDRESS:
                    if found["home_address_option"] is not None:
                        raise PacketError("more than one Home Address option")
                    found["home_address_option"] = _home_address(position, data)
        elif header[2] == mobility.ROUTING_TYPE_2:
            if header[1] != mobility.RH2_HEADER_EXT_LEN or \
                    header[3] != mobility.RH2_SEGMENTS_LEFT:
                raise PacketError("type 2 routing header without one address, one segment left")
            if found["routing_home_address"] is not None:
                raise PacketError("more than one type 2 routing header")
            found["routing_home_address"] = ipaddress.IPv6Address(header[8:24])
        elif header[3] != 0:
            break  # another routing header still in use: not for us to look past
        next_header = header[0]
        offset += len(header)
    return next_header, offset, found


def _mobility_header(packet, offset, src, dst):
    """PacketMeta fields for the Mobility Header at ``offset``: the checksum first, with
    the pseudo-header of RFC 6275 §6.1.1, then the checks of §9.2."""
    data = packet[offset:]
    try:
        length = mobility.mobility_header_length(data)
        if checksum(src, dst, mobility.IPPROTO_MH, data[:length]) != 0:
            raise mobility.MobilityError("bad Mobility Header checksum", "checksum")
        return {"mobility": mobility.parse_mobility_header(data[:length], offset)}
    except mobility.MobilityError as exc:
        return {"mobility_error": exc}


def _lladdr(options, wanted):
    for opt_type, body in options:
        if opt_type == wanted:
            if len(body) != 6:
                raise PacketError("link-layer address option is not Ethernet")
            return mac_from_bytes(body)
    return None


def _parse_nd(icmp_type, icmp_code, hop_limit, ip_src, ip_dst, body):
    """RFC 4861 §6.1.1, §7.1.1, §7.1.2 validity checks; returns extra PacketMeta fields."""
    if hop_limit != ND_HOP_LIMIT or icmp_code != 0:
        raise PacketError("ND message with hop limit != 255 or code != 0")
    if icmp_type == ND_ROUTER_SOLICIT:
        if len(body) < 4:
            raise PacketError("truncated router solicitation")
        lladdr = _lladdr(nd_options(body[4:]), OPT_SOURCE_LLADDR)
        if ip_src == UNSPECIFIED and lladdr is not None:
            raise PacketError("RS from :: with a source link-layer address option")
        return {"nd_lladdr": lladdr}
    if icmp_type in (ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT):
        if len(body) < 20:
            raise PacketError("truncated neighbour discovery message")
        flags = struct.unpack_from("!I", body)[0]
        target = ipaddress.IPv6Address(body[4:20])
        if target.is_multicast:
            raise PacketError("ND target is a multicast address")
        options = nd_options(body[20:])
        if icmp_type == ND_NEIGHBOR_SOLICIT:
            lladdr = _lladdr(options, OPT_SOURCE_LLADDR)
            if ip_src == UNSPECIFIED and (
                    lladdr is not None or ip_dst not in SOLICITED_NODE_PREFIX):
                raise PacketError("DAD solicitation not to solicited-node or with SLLAO")
            return {"nd_target": target, "nd_lladdr": lladdr}
        if ip_dst.is_multicast and flags & NA_FLAG_SOLICITED:
            raise PacketError("solicited NA to a multicast address")
        return {"nd_target": target, "nd_lladdr": _lladdr(options, OPT_TARGET_LLADDR),
                "na_flags": flags & 0xE0000000}
    return {}


def parse_frame(data):
    """A :class:`PacketMeta` for an Ethernet frame carrying IPv6, or PacketError."""
    if len(data) < ETH_HEADER_LEN:
        raise PacketError("truncated Ethernet header")
    eth_dst, eth_src = mac_from_bytes(data[0:6]), mac_from_bytes(data[6:12])
    eth_type = struct.unpack_from("!H", data, 12)[0]
    offset = ETH_HEADER_LEN
    labels = []
    if eth_type == ETH_TYPE_MPLS:
        while True:
            if len(data) < offset + MPLS_ENTRY_LEN:
                raise PacketError("truncated MPLS label stack")
            entry = struct.unpack_from("!I", data, offset)[0]
            labels.append(entry >> 12)
            offset += MPLS_ENTRY_LEN
            if entry & 0x100:  # bottom of stack
                break
    elif eth_type != ETH_TYPE_IPV6:
        raise PacketError(f"not IPv6 (ethertype 0x{eth_type:04x})")
    if len(data) < offset + IPV6_HEADER_LEN:
        raise PacketError("truncated IPv6 header")
    first, payload_len, next_header, hop_limit = struct.unpack_from("!IHBB", data, offset)
    if first >> 28 != 6:
        raise PacketError("IP version is not 6")
    end = offset + IPV6_HEADER_LEN + payload_len
    if end > len(data):
        raise PacketError("IPv6 payload length runs past the frame")
    ip_src = ipaddress.IPv6Address(data[offset + 8:offset + 24])
    ip_dst = ipaddress.IPv6Address(data[offset + 24:offset + 40])
    packet = data[offset:end]
    next_header, upper, fields = _extension_headers(packet)
    # RFC 8200 §8.1, RFC 6275 §6.3, §6.4: upper-layer checksums cover the home address
    # and the final destination.
    src = fields["home_address_option"] or ip_src
    dst = fields["routing_home_address"] or ip_dst
    if next_header == IPPROTO_ICMPV6:
        message = packet[upper:]
        if len(message) < 4:
            raise PacketError("truncated ICMPv6 header")
        if checksum(src, dst, IPPROTO_ICMPV6, message) != 0:
            raise PacketError("bad ICMPv6 checksum")
        icmp_type, icmp_code = message[0], message[1]
        body = message[4:]
        fields.update(icmp_type=icmp_type, icmp_code=icmp_code, icmp_body=body)
        if icmp_type in ND_TYPES:
            fields.update(_parse_nd(icmp_type, icmp_code, hop_limit, ip_src, ip_dst, body))
        elif icmp_type in mobility.DISCOVERY_TYPES:
            fields["dhaad"] = mobility.parse_dhaad_or_mps(icmp_type, body)
    elif next_header == mobility.IPPROTO_MH:
        fields.update(_mobility_header(packet, upper, src, dst))
    return PacketMeta(eth_src=eth_src, eth_dst=eth_dst, ip_src=ip_src, ip_dst=ip_dst,
                      hop_limit=hop_limit, next_header=next_header, ipv6_packet=packet,
                      mpls_labels=tuple(labels), upper_offset=upper, **fields)


def ethernet(eth_dst, eth_src, ipv6_packet):
    """An Ethernet frame carrying ``ipv6_packet``."""
    return mac_to_bytes(eth_dst) + mac_to_bytes(eth_src) + struct.pack(
        "!H", ETH_TYPE_IPV6) + ipv6_packet


def ipv6(src, dst, next_header, payload, hop_limit=DEFAULT_HOP_LIMIT):
    """An IPv6 header followed by ``payload``."""
    return struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop_limit) + \
        src.packed + dst.packed + payload


def icmpv6(src, dst, icmp_type, code, body, hop_limit=DEFAULT_HOP_LIMIT):
    """An IPv6 packet carrying an ICMPv6 message with its checksum filled in."""
    message = struct.pack("!BBH", icmp_type, code, 0) + body
    csum = checksum(src, dst, IPPROTO_ICMPV6, message)
    message = message[:2] + struct.pack("!H", csum) + message[4:]
    return ipv6(src, dst, IPPROTO_ICMPV6, message, hop_limit)


def nd_option(opt_type, body):
    """An ND option padded to a multiple of 8 octets (RFC 4861 §4.6)."""
    length = (len(body) + 2 + 7) // 8
    return struct.pack("!BB", opt_type, length) + body.ljust(length * 8 - 2, b"\0")


def router_advert(*, router_mac, src, dst, mtu, prefix, valid_lifetime, preferred_lifetime,
                  router_lifetime, adv_interval_ms, home_agent=None, home_agent_lifetime=0,
                  eth_dst=None):
    """RFC 4861 §4.2 RA with SLLA, MTU, Prefix Information and Advertisement Interval.

    On a home link (``home_agent`` given) the H bit is set (RFC 6275 §7.1), the prefix
    option carries the HA's full address with the R bit (§7.2) and a Home Agent
    Information option follows (§7.4).
    """
    flags = RA_FLAG_HOME_AGENT if home_agent is not None else 0
    body = struct.pack("!BBHII", 0, flags, router_lifetime, 0, 0)
    body += nd_option(OPT_SOURCE_LLADDR, mac_to_bytes(router_mac))
    body += nd_option(OPT_MTU, struct.pack("!HI", 0, mtu))
    pi_flags = PI_FLAG_ON_LINK | PI_FLAG_AUTONOMOUS
    pi_address = prefix.network_address
    if home_agent is not None:
        pi_flags |= PI_FLAG_ROUTER_ADDRESS
        pi_address = home_agent
    body += nd_option(OPT_PREFIX_INFO, struct.pack(
        "!BBIII", prefix.prefixlen, pi_flags, valid_lifetime, preferred_lifetime, 0)
        + pi_address.packed)
    body += nd_option(OPT_ADV_INTERVAL, struct.pack("!HI", 0, adv_interval_ms))
    if home_agent is not None:
        body += nd_option(OPT_HOME_AGENT_INFO, struct.pack("!HhH", 0, 0, home_agent_lifetime))
    packet = icmpv6(src, dst, ND_ROUTER_ADVERT, 0, body, ND_HOP_LIMIT)
    return ethernet(eth_dst or multicast_mac(dst), router_mac, packet)


def neighbor_advert(*, src_mac, eth_dst, src, dst, target, router, solicited, override=True):
    """RFC 4861 §4.4 NA with a Target Link-Layer Address option."""
    flags = (NA_FLAG_ROUTER if router else 0) | (NA_FLAG_SOLICITED if solicited else 0) | (
        NA_FLAG_OVERRIDE if override else 0)
    body = struct.pack("!I", flags) + target.packed + nd_option(
        OPT_TARGET_LLADDR, mac_to_bytes(src_mac))
    return ethernet(eth_dst, src_mac, icmpv6(src, dst, ND_NEIGHBOR_ADVERT, 0, body,
                                             ND_HOP_LIMIT))


def neighbor_solicit(*, src_mac, src, target):
    """RFC 4861 §4.3 multicast NS for ``target`` with a Source Link-Layer Address option."""
    dst = solicited_node(target)
    body = struct.pack("!I", 0) + target.packed + nd_option(
        OPT_SOURCE_LLADDR, mac_to_bytes(src_mac))
    return ethernet(multicast_mac(dst), src_mac, icmpv6(src, dst, ND_NEIGHBOR_SOLICIT, 0,
                                                        body, ND_HOP_LIMIT))


def echo_reply(request, src):
    """RFC 4443 §4.2: the IPv6 packet answering the echo request ``request``."""
    return icmpv6(src, request.ip_src, ICMPV6_ECHO_REPLY, 0, request.icmp_body)


def icmp_error(offending, src, icmp_type, code, parameter=0):
    """RFC 4443 §2.4: an error about ``offending`` (PacketMeta), or None where one is
    not allowed: about an ICMPv6 error, to a multicast or unspecified source, or
    about a packet sent to a multicast address (§2.4(e))."""
    if offending.ip_src.is_multicast or offending.ip_src == UNSPECIFIED \
            or offending.ip_src.is_link_local and not src.is_link_local:
        return None
    if offending.ip_dst.is_multicast and icmp_type != ICMPV6_PACKET_TOO_BIG:
        return None
    if offending.icmp_type is not None and offending.icmp_type < 128:
        return None
    room = ICMP_ERROR_MAX_LEN - IPV6_HEADER_LEN - 8
    body = struct.pack("!I", parameter) + offending.ipv6_packet[:room]
    return icmpv6(src, offending.ip_src, icmp_type, code, body)


# The mobility codec builds on PacketError, checksum() and the ND options above; it is
# imported last so that either module may be imported first.
from mipv6_sdn import mobility  # noqa: E402  pylint: disable=wrong-import-position
