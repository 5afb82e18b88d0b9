"""Frames: a strict parser of IPv6, ICMPv6 and Neighbour Discovery, and pure builders.

:func:`parse_frame` reads an Ethernet frame from a packet-in (optionally under MPLS
labels) and returns a :class:`PacketMeta`, or raises :class:`mipv6_sdn.wire.PacketError`
when any length, checksum or RFC 4861 §7.1 validity rule is broken. Ryu's own ND parser
loops forever on an option of length zero, so untrusted ND is parsed here.

It walks the extension headers that Mobile IPv6 uses (Hop-by-Hop, Destination Options
with the Home Address option, the type 2 routing header) to the upper layer, and hands
Mobility Headers and ICMPv6 types 144-147 to :mod:`mipv6_sdn.mobility`. A malformed
Mobility Header does not raise: the Home Agent answers some of those errors, so it is
recorded in ``PacketMeta.mobility_error``.

Builders return whole Ethernet frames, or IPv6 packets, as bytes. The constants and
option codecs they share with :mod:`mipv6_sdn.mobility` are in :mod:`mipv6_sdn.wire`.
"""
import dataclasses
import ipaddress
import struct

from mipv6_sdn import mobility, wire
from mipv6_sdn.mobility import DiscoveryMessage, MobilityError, MobilityHeader


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
    upper_offset: int = wire.IPV6_HEADER_LEN  # where the upper-layer header starts
    home_address_option: ipaddress.IPv6Address | None = None  # RFC 6275 §6.3
    routing_home_address: ipaddress.IPv6Address | None = None  # type 2 routing header, §6.4
    mobility: MobilityHeader | None = None  # a valid Mobility Header
    mobility_error: MobilityError | None = None  # or why it is not valid
    dhaad: DiscoveryMessage | None = None  # ICMPv6 144-147 (RFC 6275 §6.5-6.8)


def _home_address(position, data):
    """The address of a Home Address option at ``position`` in its header (RFC 6275 §6.3)."""
    x, y = mobility.HOME_ADDRESS_ALIGNMENT
    if len(data) != 16 or position % x != y:
        raise wire.PacketError("Home Address option not 16 octets at 8n+6")
    return ipaddress.IPv6Address(data)


def _extension_headers(packet):
    """RFC 8200 §4.1: walk Hop-by-Hop (first only), Destination Options and type 2
    routing headers; the upper-layer protocol, its offset and the addresses found."""
    next_header, offset = packet[6], wire.IPV6_HEADER_LEN
    found = {"home_address_option": None, "routing_home_address": None}
    while next_header in wire.EXTENSION_HEADERS:
        if len(packet) < offset + 2:
            raise wire.PacketError("truncated extension header")
        header = packet[offset:offset + (packet[offset + 1] + 1) * 8]
        if len(header) < (header[1] + 1) * 8:
            raise wire.PacketError("extension header runs past the packet")
        if next_header == wire.IPPROTO_HOPOPTS:
            if offset != wire.IPV6_HEADER_LEN:
                raise wire.PacketError("Hop-by-Hop Options header is not the first")
            wire.tlv_options(header, 2)
        elif next_header == wire.IPPROTO_DSTOPTS:
            for position, opt_type, data in wire.tlv_options(header, 2):
                if opt_type == mobility.OPT_HOME_ADDRESS:
                    if found["home_address_option"] is not None:
                        raise wire.PacketError("more than one Home Address option")
                    found["home_address_option"] = _home_address(position, data)
        elif header[2] == mobility.ROUTING_TYPE_2:
            if header[1] != mobility.RH2_HEADER_EXT_LEN or \
                    header[3] != mobility.RH2_SEGMENTS_LEFT:
                raise wire.PacketError(
                    "type 2 routing header without one address, one segment left")
            if found["routing_home_address"] is not None:
                raise wire.PacketError("more than one type 2 routing header")
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
        if wire.checksum(src, dst, wire.IPPROTO_MH, data[:length]) != 0:
            raise MobilityError("bad Mobility Header checksum", "checksum")
        return {"mobility": mobility.parse_mobility_header(data[:length], offset)}
    except MobilityError as exc:
        return {"mobility_error": exc}


def _lladdr(options, wanted):
    for opt_type, body in options:
        if opt_type == wanted:
            if len(body) != 6:
                raise wire.PacketError("link-layer address option is not Ethernet")
            return wire.mac_from_bytes(body)
    return None


def _parse_nd(icmp_type, icmp_code, hop_limit, ip_src, ip_dst, body):
    """RFC 4861 §6.1.1, §7.1.1, §7.1.2 validity checks; returns extra PacketMeta fields."""
    if hop_limit != wire.ND_HOP_LIMIT or icmp_code != 0:
        raise wire.PacketError("ND message with hop limit != 255 or code != 0")
    if icmp_type == wire.ND_ROUTER_SOLICIT:
        if len(body) < 4:
            raise wire.PacketError("truncated router solicitation")
        lladdr = _lladdr(wire.nd_options(body[4:]), wire.OPT_SOURCE_LLADDR)
        if ip_src == wire.UNSPECIFIED and lladdr is not None:
            raise wire.PacketError("RS from :: with a source link-layer address option")
        return {"nd_lladdr": lladdr}
    if icmp_type in (wire.ND_NEIGHBOR_SOLICIT, wire.ND_NEIGHBOR_ADVERT):
        if len(body) < 20:
            raise wire.PacketError("truncated neighbour discovery message")
        flags = struct.unpack_from("!I", body)[0]
        target = ipaddress.IPv6Address(body[4:20])
        if target.is_multicast:
            raise wire.PacketError("ND target is a multicast address")
        options = wire.nd_options(body[20:])
        if icmp_type == wire.ND_NEIGHBOR_SOLICIT:
            lladdr = _lladdr(options, wire.OPT_SOURCE_LLADDR)
            if ip_src == wire.UNSPECIFIED and (
                    lladdr is not None or ip_dst not in wire.SOLICITED_NODE_PREFIX):
                raise wire.PacketError("DAD solicitation not to solicited-node or with SLLAO")
            return {"nd_target": target, "nd_lladdr": lladdr}
        if ip_dst.is_multicast and flags & wire.NA_FLAG_SOLICITED:
            raise wire.PacketError("solicited NA to a multicast address")
        return {"nd_target": target, "nd_lladdr": _lladdr(options, wire.OPT_TARGET_LLADDR),
                "na_flags": flags & 0xE0000000}
    return {}


def parse_frame(data):
    """A :class:`PacketMeta` for an Ethernet frame carrying IPv6, or PacketError."""
    if len(data) < wire.ETH_HEADER_LEN:
        raise wire.PacketError("truncated Ethernet header")
    eth_dst, eth_src = wire.mac_from_bytes(data[0:6]), wire.mac_from_bytes(data[6:12])
    eth_type = struct.unpack_from("!H", data, 12)[0]
    offset = wire.ETH_HEADER_LEN
    labels = []
    if eth_type == wire.ETH_TYPE_MPLS:
        while True:
            if len(data) < offset + wire.MPLS_ENTRY_LEN:
                raise wire.PacketError("truncated MPLS label stack")
            entry = struct.unpack_from("!I", data, offset)[0]
            labels.append(entry >> 12)
            offset += wire.MPLS_ENTRY_LEN
            if entry & 0x100:  # bottom of stack
                break
    elif eth_type != wire.ETH_TYPE_IPV6:
        raise wire.PacketError(f"not IPv6 (ethertype 0x{eth_type:04x})")
    if len(data) < offset + wire.IPV6_HEADER_LEN:
        raise wire.PacketError("truncated IPv6 header")
    first, payload_len, next_header, hop_limit = struct.unpack_from("!IHBB", data, offset)
    if first >> 28 != 6:
        raise wire.PacketError("IP version is not 6")
    end = offset + wire.IPV6_HEADER_LEN + payload_len
    if end > len(data):
        raise wire.PacketError("IPv6 payload length runs past the frame")
    ip_src = ipaddress.IPv6Address(data[offset + 8:offset + 24])
    ip_dst = ipaddress.IPv6Address(data[offset + 24:offset + 40])
    packet = data[offset:end]
    next_header, upper, fields = _extension_headers(packet)
    # RFC 8200 §8.1, RFC 6275 §6.3, §6.4: upper-layer checksums cover the home address
    # and the final destination.
    src = fields["home_address_option"] or ip_src
    dst = fields["routing_home_address"] or ip_dst
    if next_header == wire.IPPROTO_ICMPV6:
        message = packet[upper:]
        if len(message) < 4:
            raise wire.PacketError("truncated ICMPv6 header")
        if wire.checksum(src, dst, wire.IPPROTO_ICMPV6, message) != 0:
            raise wire.PacketError("bad ICMPv6 checksum")
        icmp_type, icmp_code = message[0], message[1]
        body = message[4:]
        fields.update(icmp_type=icmp_type, icmp_code=icmp_code, icmp_body=body)
        if icmp_type in wire.ND_TYPES:
            fields.update(_parse_nd(icmp_type, icmp_code, hop_limit, ip_src, ip_dst, body))
        elif icmp_type in mobility.DISCOVERY_TYPES:
            fields["dhaad"] = mobility.parse_dhaad_or_mps(icmp_type, body)
    elif next_header == wire.IPPROTO_MH:
        fields.update(_mobility_header(packet, upper, src, dst))
    return PacketMeta(eth_src=eth_src, eth_dst=eth_dst, ip_src=ip_src, ip_dst=ip_dst,
                      hop_limit=hop_limit, next_header=next_header, ipv6_packet=packet,
                      mpls_labels=tuple(labels), upper_offset=upper, **fields)


def ethernet(eth_dst, eth_src, ipv6_packet):
    """An Ethernet frame carrying ``ipv6_packet``."""
    return wire.mac_to_bytes(eth_dst) + wire.mac_to_bytes(eth_src) + struct.pack(
        "!H", wire.ETH_TYPE_IPV6) + ipv6_packet


def ipv6(src, dst, next_header, payload, hop_limit=wire.DEFAULT_HOP_LIMIT):
    """An IPv6 header followed by ``payload``."""
    return struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop_limit) + \
        src.packed + dst.packed + payload


def via_care_of(packet, care_of, home):
    """An IPv6 packet built for ``home`` sent to ``care_of`` with a type 2 routing
    header (the checksum already covers the final destination, RFC 6275 §6.4)."""
    header, payload = packet[:wire.IPV6_HEADER_LEN], packet[wire.IPV6_HEADER_LEN:]
    src = ipaddress.IPv6Address(header[8:24])
    return ipv6(src, care_of, wire.IPPROTO_ROUTING,
                mobility.type2_routing_header(home, header[6]) + payload, hop_limit=header[7])


def to_mobile_node(src, home, care_of, next_header, payload):
    """An IPv6 packet to a mobile node: straight to ``home``, or to ``care_of`` with a
    type 2 routing header carrying ``home`` (RFC 6275 §6.4, §9.3.2)."""
    if care_of == home:
        return ipv6(src, home, next_header, payload)
    return ipv6(src, care_of, wire.IPPROTO_ROUTING,
                mobility.type2_routing_header(home, next_header) + payload)


def icmpv6(src, dst, icmp_type, code, body, hop_limit=wire.DEFAULT_HOP_LIMIT):
    """An IPv6 packet carrying an ICMPv6 message with its checksum filled in."""
    message = struct.pack("!BBH", icmp_type, code, 0) + body
    csum = wire.checksum(src, dst, wire.IPPROTO_ICMPV6, message)
    message = message[:2] + struct.pack("!H", csum) + message[4:]
    return ipv6(src, dst, wire.IPPROTO_ICMPV6, message, hop_limit)


def router_advert(*, router_mac, src, dst, mtu, prefix, valid_lifetime, preferred_lifetime,
                  router_lifetime, adv_interval_ms, home_agent=None, home_agent_lifetime=0,
                  eth_dst=None):
    """RFC 4861 §4.2 RA with SLLA, MTU, Prefix Information and Advertisement Interval.

    On a home link (``home_agent`` given) the H bit is set (RFC 6275 §7.1), the prefix
    option carries the HA's full address with the R bit (§7.2) and a Home Agent
    Information option follows (§7.4).
    """
    flags = wire.RA_FLAG_HOME_AGENT if home_agent is not None else 0
    body = struct.pack("!BBHII", 0, flags, router_lifetime, 0, 0)
    body += wire.nd_option(wire.OPT_SOURCE_LLADDR, wire.mac_to_bytes(router_mac))
    body += wire.nd_option(wire.OPT_MTU, struct.pack("!HI", 0, mtu))
    pi_flags = wire.PI_FLAG_ON_LINK | wire.PI_FLAG_AUTONOMOUS
    pi_address = prefix.network_address
    if home_agent is not None:
        pi_flags |= wire.PI_FLAG_ROUTER_ADDRESS
        pi_address = home_agent
    body += wire.prefix_information_option(wire.PrefixInformation(
        prefix.prefixlen, pi_flags, valid_lifetime, preferred_lifetime, pi_address))
    body += wire.nd_option(wire.OPT_ADV_INTERVAL, struct.pack("!HI", 0, adv_interval_ms))
    if home_agent is not None:
        body += wire.nd_option(wire.OPT_HOME_AGENT_INFO,
                               struct.pack("!HhH", 0, 0, home_agent_lifetime))
    packet = icmpv6(src, dst, wire.ND_ROUTER_ADVERT, 0, body, wire.ND_HOP_LIMIT)
    return ethernet(eth_dst or wire.multicast_mac(dst), router_mac, packet)


def neighbor_advert(*, src_mac, eth_dst, src, dst, target, router, solicited, override=True):
    """RFC 4861 §4.4 NA with a Target Link-Layer Address option."""
    flags = (wire.NA_FLAG_ROUTER if router else 0) | (
        wire.NA_FLAG_SOLICITED if solicited else 0) | (
        wire.NA_FLAG_OVERRIDE if override else 0)
    body = struct.pack("!I", flags) + target.packed + wire.nd_option(
        wire.OPT_TARGET_LLADDR, wire.mac_to_bytes(src_mac))
    return ethernet(eth_dst, src_mac, icmpv6(src, dst, wire.ND_NEIGHBOR_ADVERT, 0, body,
                                             wire.ND_HOP_LIMIT))


def neighbor_solicit(*, src_mac, src, target, unicast_mac=None):
    """RFC 4861 §4.3 NS for ``target``: to its solicited-node address, or to ``target``
    itself at ``unicast_mac`` (a §7.3.3 probe). It has a Source Link-Layer Address
    option unless ``src`` is the unspecified address (a DAD probe, RFC 4862 §5.4.2)."""
    dst = wire.solicited_node(target) if unicast_mac is None else target
    body = struct.pack("!I", 0) + target.packed
    if src != wire.UNSPECIFIED:
        body += wire.nd_option(wire.OPT_SOURCE_LLADDR, wire.mac_to_bytes(src_mac))
    return ethernet(unicast_mac or wire.multicast_mac(dst), src_mac, icmpv6(
        src, dst, wire.ND_NEIGHBOR_SOLICIT, 0, body, wire.ND_HOP_LIMIT))


def echo_reply(request, src):
    """RFC 4443 §4.2: the IPv6 packet answering the echo request ``request``."""
    return icmpv6(src, request.ip_src, wire.ICMPV6_ECHO_REPLY, 0, request.icmp_body)


def icmp_error(offending, src, icmp_type, code, parameter=0):
    """RFC 4443 §2.4: an error about ``offending`` (PacketMeta), or None where one is
    not allowed: about an ICMPv6 error, to a multicast or unspecified source, or
    about a packet sent to a multicast address (§2.4(e))."""
    if offending.ip_src.is_multicast or offending.ip_src == wire.UNSPECIFIED \
            or offending.ip_src.is_link_local and not src.is_link_local:
        return None
    if offending.ip_dst.is_multicast and icmp_type != wire.ICMPV6_PACKET_TOO_BIG:
        return None
    if offending.icmp_type is not None and offending.icmp_type < 128:
        return None
    room = wire.ICMP_ERROR_MAX_LEN - wire.IPV6_HEADER_LEN - 8
    body = struct.pack("!I", parameter) + offending.ipv6_packet[:room]
    return icmpv6(src, offending.ip_src, icmp_type, code, body)

