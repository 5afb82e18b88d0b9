"""Delivery of packets the router sends itself, with address resolution and its queue.

Answers to a host on its own link go straight back out of the port the request came in
on (a link-local source can only be reached that way). Anything else is delivered by
destination: to the learned host, or after the router has solicited the destination
on its link (RFC 4861 §7.2), with a small queue meanwhile.
"""
import collections
import dataclasses
import ipaddress

from mipv6_sdn import ofmsg, packets
from mipv6_sdn.config import ROUTER_LINK_LOCAL

MAX_QUEUED_PER_ADDRESS = 3  # RFC 4861 §7.2.2: a small queue while resolution runs


@dataclasses.dataclass
class Resolution:
    """Address resolution the router runs for packets to an unknown host (RFC 4861 §7.2)."""
    link: object
    attempts: int
    next_time: float
    queue: collections.deque


class AddressResolution:
    """Resolutions in progress by address."""

    def __init__(self, links, ports, hosts):
        self.links = links
        self.ports = ports
        self.hosts = hosts
        self.config = links.config
        self.resolutions = {}  # address -> Resolution

    def answer(self, now, meta, origin, ipv6_packet):
        """Send the router's answer to ``meta``: out of its port of origin, else routed."""
        if origin is None:
            return self.send_from_router(now, ipv6_packet)
        dpid, port = origin
        frame = packets.ethernet(meta.eth_src, self.config.router_mac, ipv6_packet)
        return [(dpid, ofmsg.packet_out([port], frame))]

    def send_from_router(self, now, ipv6_packet):
        """Deliver a packet the router itself originates, by its destination address."""
        dst = ipaddress.IPv6Address(ipv6_packet[24:40])
        return self.send_to(now, dst, ipv6_packet, None)

    def send_to(self, now, dst, ipv6_packet, cause):
        """Deliver to the host that has ``dst``, or resolve it first; ``cause`` is the
        (offending packet, origin) to report if resolution fails."""
        host = self.hosts.for_address(dst)
        if host is not None:
            frame = packets.ethernet(host.mac, self.config.router_mac, ipv6_packet)
            return [(host.dpid, ofmsg.packet_out([host.port], frame))]
        msgs, resolution = self.resolve(now, dst)
        if resolution is not None:
            resolution.queue.append((ipv6_packet, cause))
        return msgs

    def resolve(self, now, dst):
        """Solicit ``dst`` on its link unless that is under way: (messages, the
        resolution, or None when ``dst`` is on none of our links)."""
        link = self.links.of_address(dst)
        if link is None:
            return [], None
        resolution = self.resolutions.get(dst)
        if resolution is not None:
            return [], resolution
        resolution = self.resolutions[dst] = Resolution(
            link=link, attempts=1, next_time=now + self.config.ns_retransmit,
            queue=collections.deque(maxlen=MAX_QUEUED_PER_ADDRESS))
        return self._solicit(link, dst), resolution

    def _solicit(self, link, target):
        ports = self.ports.host_ports(link.dpid)
        if not ports:
            return []
        frame = packets.neighbor_solicit(src_mac=self.config.router_mac,
                                         src=ROUTER_LINK_LOCAL, target=target)
        return [(link.dpid, ofmsg.packet_out(ports, frame))]

    def resolved(self, now, address):
        """``address`` was learned: send what waited for it."""
        resolution = self.resolutions.pop(address, None)
        msgs = []
        if resolution is not None:
            for ipv6_packet, _ in resolution.queue:
                msgs += self.send_to(now, address, ipv6_packet, None)
        return msgs

    def retry(self, now):
        """Solicit again where due; give up after the configured attempts:
        (messages, causes of the packets that waited in vain)."""
        msgs, failures = [], []
        for address, resolution in list(self.resolutions.items()):
            if now < resolution.next_time:
                continue
            if resolution.attempts >= self.config.ns_attempts:
                del self.resolutions[address]
                failures += [cause for _, cause in resolution.queue if cause is not None]
                continue
            resolution.attempts += 1
            resolution.next_time = now + self.config.ns_retransmit
            msgs += self._solicit(resolution.link, address)
        return msgs, failures
