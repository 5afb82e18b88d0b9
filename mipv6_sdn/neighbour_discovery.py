"""Neighbour discovery on the access links (RFC 4861), with proxy ND for the Home Agent.

Router advertisements go out on solicitation (at once, or after a random delay of up
to ``ra_solicited_delay``, RFC 4861 §6.2.6), periodically, and at once on a port that
becomes a host port; neighbour solicitations for router addresses, and for the
addresses the Home Agent defends (RFC 6275 §10.4.1), are answered; the rest of the
hosts' ND is relayed within their link when source address validation allows it
(:mod:`mipv6_sdn.source_validation`), so no host can take a neighbour's address over.
"""
from mipv6_sdn import ofmsg, packets, wire
from mipv6_sdn.access_links import LINK_LOCAL, link_local_of
from mipv6_sdn.config import ROUTER_LINK_LOCAL
from mipv6_sdn.router_part import RouterPart

ALL_NODES_MAC = wire.multicast_mac(wire.ALL_NODES)
# The second initial advertisement on a new host port (RFC 4861 §6.2.4 allows up to
# MAX_INITIAL_RTR_ADVERTISEMENTS, 3), this long after the first: a host on a radio link
# sees no carrier change and sends no solicitation, so one lost RA would leave it
# unaware of its move until the periodic one. At least RFC 6275 §7.5's 0.03 s.
INITIAL_RA_REPEAT = 0.1  # s


class NeighbourDiscovery(RouterPart):
    """Router discovery and its timer, NS/NA answers, relaying and proxy ND."""

    def __init__(self, links, ports, hosts, validation, home_agent, rng):
        self.links = links
        self.config = links.config
        self.ports = ports
        self.hosts = hosts
        self.validation = validation
        self.home_agent = home_agent
        self.rng = rng
        self.next_ra = {}  # dpid of an access switch -> time of its next RA
        self.solicited = {}  # (dpid, port) -> when its delayed RA (RS answer, repeat) is due

    # ------------------------------------------------------------------ hooks

    def switch_up(self, now, dpid):
        if self.links.is_access_switch(dpid):
            self.next_ra[dpid] = now + self._ra_interval()
        return []

    def switch_down(self, now, dpid):
        self.next_ra.pop(dpid, None)
        self.solicited = {key: due for key, due in self.solicited.items() if key[0] != dpid}
        return []

    def tick(self, now):
        """Unsolicited RAs, delayed answers to solicitations and repeated initial
        advertisements, where due."""
        msgs = []
        for dpid, due in list(self.next_ra.items()):
            if now >= due:
                self.next_ra[dpid] = now + self._ra_interval()
                msgs += self.advertise(dpid, self.ports.host_ports(dpid))
        for (dpid, port), due in list(self.solicited.items()):
            if now >= due:
                del self.solicited[(dpid, port)]
                if port in self.ports.host_ports(dpid):
                    msgs += self.advertise(dpid, [port])
        return msgs

    def next_due(self):
        """When the first delayed RA to one port is due, or None."""
        return min(self.solicited.values(), default=None)

    def attached(self, now, dpid, ports):
        """``ports`` of ``dpid`` became host ports: advertise at once, so a host that
        arrives learns the prefix without waiting, and once more INITIAL_RA_REPEAT
        later (unless configured not to)."""
        if not self.config.ra_on_attachment:
            return []
        for port in ports:
            self.solicited.setdefault((dpid, port), now + INITIAL_RA_REPEAT)
        return self.advertise(dpid, ports)

    def advertise(self, dpid, ports):
        """An RA out of ``ports`` (sorted) of access switch ``dpid``."""
        link = self.links.of_switch(dpid)
        if link is None or not ports:
            return []
        return [(dpid, ofmsg.packet_out(ports, self._router_advert(link)))]

    # ------------------------------------------------------------------ packets

    def receive(self, now, dpid, in_port, meta):
        """ND from a host port: judged by source validation (which learns the hosts it
        proves), answered for the router; the rest is relayed if it was allowed."""
        link = self.links.of_switch(dpid)
        msgs, allowed = self.validation.neighbour_discovery(now, dpid, in_port, meta)
        if meta.icmp_type == wire.ND_ROUTER_SOLICIT:
            return msgs + self._solicited(now, dpid, in_port, link)
        if meta.icmp_type == wire.ND_NEIGHBOR_SOLICIT and (
                meta.nd_target in (link.router, ROUTER_LINK_LOCAL)
                or link.is_home_link and self._proxied(link, meta.nd_target)):
            return msgs + [(dpid, ofmsg.packet_out([in_port], self._router_na(meta)))]
        if not allowed:
            return msgs  # nobody hears a claim the binding table does not back
        if meta.icmp_type == wire.ND_NEIGHBOR_ADVERT and (
                meta.eth_dst == self.config.router_mac
                or meta.ip_dst in self.links.router_addresses):
            return msgs
        if meta.icmp_type in (wire.ND_NEIGHBOR_SOLICIT, wire.ND_NEIGHBOR_ADVERT):
            return msgs + self._relay(dpid, in_port, meta)
        return msgs  # RAs and redirects from hosts are dropped (hosts are not routers)

    def _solicited(self, now, dpid, in_port, link):
        """The answer to an RS, out of the port it came from: at once, or after a random
        delay of up to ``ra_solicited_delay`` (RFC 4861 §6.2.6). Solicitations from a
        port with an answer pending change nothing, so the pending answers are bounded
        by the ports."""
        delay = self.config.ra_solicited_delay
        if not delay:
            return [(dpid, ofmsg.packet_out([in_port], self._router_advert(link)))]
        self.solicited.setdefault((dpid, in_port), now + self.rng.uniform(0, delay))
        return []

    def _relay(self, dpid, in_port, meta):
        """Pass a host's NS or NA on to the link: to the addressed host, else flood."""
        host = self.hosts.get(meta.eth_dst)
        if host is not None and host.dpid == dpid:
            ports = [host.port] if host.port != in_port else []
        else:
            ports = [port for port in self.ports.host_ports(dpid) if port != in_port]
        if not ports:
            return []
        frame = packets.ethernet(meta.eth_dst, meta.eth_src, meta.ipv6_packet)
        return [(dpid, ofmsg.packet_out(ports, frame))]

    def _proxied(self, link, target):
        """True when the HA defends ``target`` on home ``link`` for an MN away from home
        (RFC 6275 §10.4.1): its home address, or the link-local address of its
        interface identifier when it registered with the L bit."""
        if target in link.prefix:
            return self.home_agent.proxied(target) is not None
        if target in LINK_LOCAL:
            return any(b.link_local and link_local_of(b.home_address) == target
                       and b.home_address in link.prefix
                       and self.home_agent.proxied(b.home_address) is not None
                       for b in self.home_agent.cache)
        return False

    def _router_na(self, solicitation):
        """RFC 4861 §7.2.4: answer an NS for a router address or an address the HA
        defends (RFC 6275 §10.4.1: Router flag clear); defend it against DAD."""
        mac = self.config.router_mac
        target = solicitation.nd_target
        is_router = target in self.links.router_addresses
        src = target if is_router else ROUTER_LINK_LOCAL
        if solicitation.ip_src == wire.UNSPECIFIED:
            return packets.neighbor_advert(
                src_mac=mac, eth_dst=ALL_NODES_MAC, src=src, dst=wire.ALL_NODES,
                target=target, router=is_router, solicited=False)
        # RFC 4861 §7.2.4: a proxy answer leaves Override clear.
        return packets.neighbor_advert(
            src_mac=mac, eth_dst=solicitation.eth_src, src=src, dst=solicitation.ip_src,
            target=target, router=is_router, solicited=True, override=is_router)

    def _router_advert(self, link):
        config = self.config
        return packets.router_advert(
            router_mac=config.router_mac, src=ROUTER_LINK_LOCAL, dst=wire.ALL_NODES,
            mtu=config.mtu, prefix=link.prefix,
            valid_lifetime=config.prefix_valid_lifetime,
            preferred_lifetime=config.prefix_preferred_lifetime,
            router_lifetime=config.router_lifetime,
            adv_interval_ms=int(config.ra_interval * 1000), home_agent=link.home_agent,
            home_agent_lifetime=min(config.router_lifetime, 0xFFFF))

    def _ra_interval(self):
        """RFC 4861 §6.2.4: uniformly random between Min and MaxRtrAdvInterval."""
        return self.rng.uniform(self.config.ra_min_interval, self.config.ra_interval)
