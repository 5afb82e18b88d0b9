"""The IPv6 router of every access link (DESIGN.md §5), as a pure core.

Every public method takes ``now`` (Unix time in seconds: RFC 4285 timestamps and
binding expiry times that outlive a restart need the wall clock) first and returns a
list of ``(dpid, message)`` pairs: OpenFlow messages built with ``datapath=None`` for
the shell to send. The router never reads the clock and never sends.

What it does: router advertisements (on solicitation, periodically, and at once when a
host port comes up), neighbour discovery for router addresses and relaying of hosts'
ND within their link, host learning on host ports only, echo replies from router
addresses, ICMPv6 errors (Destination Unreachable, Time Exceeded), and routing between
links over one MPLS label-switched path per access switch (DESIGN.md §6).
"""
import collections
import dataclasses
import ipaddress
import logging
import random

from mipv6_sdn import mobility, ofmsg, packets
from mipv6_sdn.binding_cache import Attachment, BindingEvent
from mipv6_sdn.config import ROUTER_LINK_LOCAL
from mipv6_sdn.home_agent import HomeAgent
from mipv6_sdn.handover import Placement, plan_handover
from mipv6_sdn.pipeline import (COOKIE_KIND_SHIFT, METADATA_FROM_LSP, CookieKind, Priority,
                                Table, cookie, flow_identity)
from mipv6_sdn.topology import POP, Topology

LOG = logging.getLogger(__name__)

FLOOD_GROUP = 1  # group of type ALL over the link's host ports
LINK_LOCAL = ipaddress.IPv6Network("fe80::/10")
MULTICAST = ipaddress.IPv6Network("ff00::/8")
ALL_NODES_MAC = packets.multicast_mac(packets.ALL_NODES)
MULTICAST_MAC = ("33:33:00:00:00:00", "ff:ff:00:00:00:00")
MAX_QUEUED_PER_ADDRESS = 3  # RFC 4861 §7.2.2: a small queue while resolution runs
ICMP_ERROR_RATE = 10.0  # RFC 4443 §2.4(f): errors per second, token bucket
ICMP_ERROR_BURST = 10.0
# The domain is one router hop: the hop limit is decremented once, at the egress. The
# MPLS TTL only guards against forwarding loops while paths reconverge.
LSP_TTL = 255


def link_local_of(address):
    """fe80::/64 with the interface identifier of ``address``."""
    return ipaddress.IPv6Address(int(LINK_LOCAL.network_address) |
                                 int(address) & 0xFFFF_FFFF_FFFF_FFFF)


@dataclasses.dataclass
class Host:
    """A host learned on a host port: where it is and the global addresses it uses."""
    mac: str
    dpid: int
    port: int
    addresses: set = dataclasses.field(default_factory=set)
    last_seen: float = 0.0


@dataclasses.dataclass
class Resolution:
    """Address resolution the router runs for packets to an unknown host (RFC 4861 §7.2)."""
    link: object
    attempts: int
    next_time: float
    queue: collections.deque


class Router:
    """The routing core. ``config`` is a :class:`mipv6_sdn.config.Config`."""

    def __init__(self, config, rng=None, journal=None):
        self.config = config
        self.rng = rng or random.Random()
        self.links_by_dpid = {link.dpid: link for link in config.links}
        self.topology = Topology()
        self.switch_ports = {}      # dpid -> set of live port numbers
        self.port_roles = {}        # dpid -> {port: "host" | "trunk" | "blocked"}
        self.installed_lsps = {}    # dpid -> {label: out port or POP}
        self.hosts = {}             # mac -> Host
        self.address_owner = {}     # global address -> mac
        self.resolutions = {}       # address -> Resolution
        self.next_ra = {}           # dpid of an access switch -> time of its next RA
        self.error_tokens = ICMP_ERROR_BURST
        self.error_tokens_time = None
        self.home_agent = HomeAgent(config, journal=journal,
                                    error_allowed=self._take_error_token)
        self.home_agent.cache.subscribe(self._binding_changed)
        self._binding_msgs = []     # what binding events asked to send, until returned
        self.placements = {}        # home address -> Placement of its binding's rules
        self.binding_changes = {}   # home address -> its last change: event, time, flow-mods

    # ---------------------------------------------------------------- lookups

    def link_of_address(self, address):
        for link in self.config.links:
            if address in link.prefix:
                return link
        return None

    def router_addresses(self):
        """Every address the controller answers on: routers, HAs, HA anycast."""
        return {link.router for link in self.config.links} | {ROUTER_LINK_LOCAL} | \
            self.home_agent.addresses()

    def host_ports(self, dpid):
        roles = self.port_roles.get(dpid, {})
        return sorted(port for port, role in roles.items() if role == "host")

    def _role(self, dpid, port):
        link = self.links_by_dpid.get(dpid)
        if port in self.topology.trunk_ports(dpid):
            return "trunk"
        if link is None or (link.ports is not None and port not in link.ports):
            return "blocked"
        return "host"

    # ---------------------------------------------------------------- switch events

    def switch_up(self, now, dpid, ports):
        """A switch connected with ``ports`` live: install its whole pipeline.

        Nothing is deleted first: after a controller restart the switch keeps
        forwarding with the rules it has (fail_mode secure), every wanted rule is
        added over them, and :meth:`reconcile` later removes what is stale."""
        self._forget_hosts(lambda host: host.dpid == dpid)
        self.topology.add_switch(dpid)
        self.switch_ports[dpid] = set(ports)
        self.port_roles[dpid] = {}
        self.installed_lsps[dpid] = {}
        msgs = [(dpid, m) for m in (
            ofmsg.group_delete_all(), ofmsg.async_with_invalid_ttl(),
            ofmsg.group_all(ofmsg.OFP.OFPGC_ADD, FLOOD_GROUP, []))]
        msgs += [(dpid, m) for m in self._base_rules(dpid)]
        msgs += [(at, m) for placement in self.placements.values()
                 for at, m in plan_handover(None, placement, self.config.router_mac, LSP_TTL)
                 if at == dpid]
        msgs += self._sync_ports(now, dpid)
        msgs += self._sync_lsps()
        if dpid in self.links_by_dpid:
            self.next_ra[dpid] = now + self._ra_interval()
        return msgs

    def desired_rules(self, dpid):
        """Every rule of ours that switch ``dpid`` should hold now."""
        rules = self._base_rules(dpid)
        for port, role in sorted(self.port_roles.get(dpid, {}).items()):
            rules += self._port_rules(port, role)
        for label, hop in sorted(self.installed_lsps.get(dpid, {}).items()):
            rules += self._lsp_rules(label, hop, cookie(CookieKind.LSP, label),
                                     hairpin=dpid in self.links_by_dpid)
        for host in self.hosts.values():
            if host.dpid == dpid:
                rules += self._host_rules(host)
        rules += [m for placement in self.placements.values()
                  for at, m in plan_handover(None, placement, self.config.router_mac, LSP_TTL)
                  if at == dpid]
        return rules

    def reconcile(self, now, dpid, flows):
        """Make switch ``dpid`` hold :meth:`desired_rules`: ``flows`` are its rules as
        (table, priority, OFPMatch, cookie); rules of ours that nobody owns any more are
        deleted, missing ones added. Other apps' rules are left alone, and so are trunk
        and path rules: after a restart a neighbour may still be reconnecting, and the
        switches keep forwarding through it; they are replaced as paths are learned."""
        ours = {int(kind) for kind in CookieKind} - {CookieKind.TRUNK, CookieKind.LSP}
        present = {flow_identity(table, priority, match): (table, priority, match, owner)
                   for table, priority, match, owner in flows
                   if owner >> COOKIE_KIND_SHIFT in ours}
        desired = {flow_identity(r.table_id, r.priority, r.match): r
                   for r in self.desired_rules(dpid)
                   if r.cookie >> COOKIE_KIND_SHIFT in ours}
        msgs = [(dpid, ofmsg.flow_delete_strict(*present[key]))
                for key in sorted(set(present) - set(desired))]
        msgs += [(dpid, desired[key]) for key in sorted(set(desired) - set(present))]
        if msgs:
            LOG.info("dpid %d reconciled: %d stale rules deleted, %d missing added", dpid,
                     len(set(present) - set(desired)), len(set(desired) - set(present)))
        return msgs

    def switch_down(self, now, dpid):
        self._forget_hosts(lambda host: host.dpid == dpid)
        self.topology.remove_switch(dpid)
        for table in (self.switch_ports, self.port_roles, self.installed_lsps, self.next_ra):
            table.pop(dpid, None)
        return self._sync_lsps()

    def port_up(self, now, dpid, port):
        if dpid not in self.switch_ports:
            return []
        self.switch_ports[dpid].add(port)
        return self._sync_ports(now, dpid)

    def port_down(self, now, dpid, port):
        if dpid not in self.switch_ports:
            return []
        self.switch_ports[dpid].discard(port)
        self.topology.remove_port(dpid, port)
        msgs = self._forget_hosts(lambda host: (host.dpid, host.port) == (dpid, port))
        msgs += self._sync_ports(now, dpid)
        return msgs + self._sync_lsps()

    def link_up(self, now, src, src_port, dst, dst_port):
        """LLDP saw ``src:src_port`` → ``dst:dst_port``."""
        self.topology.add_link(src, src_port, dst, dst_port)
        msgs = self._forget_hosts(
            lambda host: (host.dpid, host.port) in ((src, src_port), (dst, dst_port)))
        msgs += self._sync_ports(now, src) + self._sync_ports(now, dst)
        return msgs + self._sync_lsps()

    def link_down(self, now, src, src_port, dst, dst_port):
        self.topology.remove_link(src, dst)
        msgs = self._sync_ports(now, src) + self._sync_ports(now, dst)
        return msgs + self._sync_lsps()

    # ---------------------------------------------------------------- rules

    def _base_rules(self, dpid):
        base = cookie(CookieKind.BASE)
        icmp = {"eth_type": packets.ETH_TYPE_IPV6, "ip_proto": packets.IPPROTO_ICMPV6}
        controller = [ofmsg.apply([ofmsg.to_controller()])]
        rules = [ofmsg.flow_add(Table.INGRESS, Priority.ND_TO_CONTROLLER,
                                ofmsg.match(icmpv6_type=nd_type, **icmp), controller, base)
                 for nd_type in packets.ND_TYPES]
        rules.append(ofmsg.flow_add(
            Table.INGRESS, Priority.LINK_MULTICAST,
            ofmsg.match(eth_type=packets.ETH_TYPE_IPV6, eth_dst=MULTICAST_MAC),
            [ofmsg.apply([ofmsg.group(FLOOD_GROUP)])], base))
        rules.append(ofmsg.flow_add(
            Table.INGRESS, Priority.TO_ROUTER,
            ofmsg.match(eth_type=packets.ETH_TYPE_IPV6, eth_dst=self.config.router_mac),
            [ofmsg.goto(Table.ROUTING)], base))
        own = [str(address) for address in sorted(self.router_addresses())]
        own += [(str(LINK_LOCAL.network_address), str(LINK_LOCAL.netmask)),
                (str(MULTICAST.network_address), str(MULTICAST.netmask))]
        for ipv6_dst in own:
            rules.append(ofmsg.flow_add(
                Table.ROUTING, Priority.ROUTER_ADDRESS,
                ofmsg.match(eth_type=packets.ETH_TYPE_IPV6, ipv6_dst=ipv6_dst),
                controller, base))
        # OVS skips Destination Options and Routing headers when it matches ip_proto,
        # so a BU with a Home Address option matches too (DESIGN.md §3).
        rules.append(ofmsg.flow_add(
            Table.ROUTING, Priority.MOBILITY_HEADER,
            ofmsg.match(eth_type=packets.ETH_TYPE_IPV6, ip_proto=mobility.IPPROTO_MH),
            controller, base))
        rules.append(ofmsg.flow_add(Table.ROUTING, Priority.NO_ROUTE, ofmsg.match(),
                                    controller, base))
        rules.append(ofmsg.flow_add(
            Table.MPLS_IN, Priority.TRANSIT, ofmsg.match(eth_type=packets.ETH_TYPE_MPLS),
            [ofmsg.goto(Table.LSP)], base))
        if dpid in self.links_by_dpid:
            rules += self._prefix_rules(dpid)
        return rules

    def _prefix_rules(self, dpid):
        """At an access switch: its own prefix to the controller (resolution), every
        other link's prefix onto that link's LSP."""
        rules = []
        for link in self.config.links:
            match = ofmsg.match(eth_type=packets.ETH_TYPE_IPV6, ipv6_dst=(
                str(link.prefix.network_address), str(link.prefix.netmask)))
            if link.dpid == dpid:
                instructions = [ofmsg.apply([ofmsg.to_controller()])]
            else:
                instructions = [ofmsg.apply(ofmsg.push_mpls(link.label, LSP_TTL)),
                                ofmsg.goto(Table.LSP)]
            rules.append(ofmsg.flow_add(Table.ROUTING, Priority.PREFIX, match, instructions,
                                        cookie(CookieKind.PREFIX, link.label)))
        return rules

    def _sync_ports(self, now, dpid):
        """Bring the port roles of ``dpid`` (host, trunk, blocked) into its rules."""
        if dpid not in self.switch_ports:
            return []
        wanted = {port: self._role(dpid, port) for port in self.switch_ports[dpid]}
        installed = self.port_roles[dpid]
        if wanted == installed:
            return []
        msgs = []
        for port in sorted(set(installed) | set(wanted)):
            old, new = installed.get(port), wanted.get(port)
            if old == new:
                continue
            if old in ("trunk", "blocked"):
                msgs.append(ofmsg.flow_delete_cookie(cookie(CookieKind.TRUNK, port)))
            msgs += self._port_rules(port, new)
        self.port_roles[dpid] = wanted
        new_hosts = [port for port, role in wanted.items()
                     if role == "host" and installed.get(port) != "host"]
        msgs.append(ofmsg.group_all(ofmsg.OFP.OFPGC_MODIFY, FLOOD_GROUP,
                                    self.host_ports(dpid)))
        msgs = [(dpid, m) for m in msgs]
        link = self.links_by_dpid.get(dpid)
        if link is not None and new_hosts and self.config.ra_on_attachment:
            msgs.append((dpid, ofmsg.packet_out(sorted(new_hosts), self._router_advert(link))))
        return msgs

    @staticmethod
    def _port_rules(port, role):
        """Labelled packets from a trunk go to label switching; nothing else from a
        trunk or a blocked port is taken."""
        owner = cookie(CookieKind.TRUNK, port)
        rules = []
        if role == "trunk":
            rules.append(ofmsg.flow_add(
                Table.INGRESS, Priority.TRUNK_MPLS,
                ofmsg.match(in_port=port, eth_type=packets.ETH_TYPE_MPLS),
                [ofmsg.goto(Table.MPLS_IN)], owner))
        if role in ("trunk", "blocked"):
            rules.append(ofmsg.flow_add(Table.INGRESS, Priority.TRUNK_DROP,
                                        ofmsg.match(in_port=port), [], owner))
        return rules

    def _sync_lsps(self):
        """Bring every switch's MPLS table in line with the current shortest paths."""
        wanted = {dpid: {} for dpid in self.installed_lsps}
        for link in self.config.links:
            for dpid, hop in self.topology.lsp_next_hops(link.dpid).items():
                if dpid in wanted:
                    wanted[dpid][link.label] = hop
        msgs = []
        for dpid, labels in wanted.items():
            installed = self.installed_lsps[dpid]
            for label in sorted(set(installed) | set(labels)):
                if installed.get(label) == labels.get(label):
                    continue
                owner = cookie(CookieKind.LSP, label)
                if label in installed:
                    msgs.append((dpid, ofmsg.flow_delete_cookie(owner)))
                if label in labels:
                    msgs += [(dpid, rule) for rule in self._lsp_rules(
                        label, labels[label], owner, hairpin=dpid in self.links_by_dpid)]
            self.installed_lsps[dpid] = labels
        return msgs

    @staticmethod
    def _lsp_rules(label, hop, owner, hairpin):
        """The rules of one LSP at one switch. At an access switch a packet popped
        from one LSP may be pushed onto another that leaves by the port it came in on
        (interception, reverse tunnelling), and OpenFlow only sends a packet back out
        of its ingress port when told so (OFPP_IN_PORT): hence the hairpin rule."""
        match = ofmsg.match(eth_type=packets.ETH_TYPE_MPLS, mpls_label=label)
        if hop == POP:
            return [ofmsg.flow_add(Table.MPLS_IN, Priority.LSP, match, [
                ofmsg.apply([ofmsg.pop_mpls()]),
                ofmsg.write_metadata(METADATA_FROM_LSP, METADATA_FROM_LSP),
                ofmsg.goto(Table.ROUTING)], owner)]
        rules = [ofmsg.flow_add(Table.LSP, Priority.LSP, match, [
            ofmsg.apply([ofmsg.dec_mpls_ttl(), ofmsg.output(hop)])], owner)]
        if hairpin:
            back = ofmsg.match(in_port=hop, eth_type=packets.ETH_TYPE_MPLS, mpls_label=label)
            rules.append(ofmsg.flow_add(Table.LSP, Priority.LSP_HAIRPIN, back, [
                ofmsg.apply([ofmsg.dec_mpls_ttl(), ofmsg.output(ofmsg.OFP.OFPP_IN_PORT)])],
                owner))
        return rules

    def _host_rules(self, host):
        owner = self._host_cookie(host)
        rules = [ofmsg.flow_add(Table.INGRESS, Priority.HOST_MAC,
                                ofmsg.match(eth_dst=host.mac),
                                [ofmsg.apply([ofmsg.output(host.port)])], owner)]
        for address in sorted(host.addresses):
            rules.append(self._host_route(host, address, owner))
        return rules

    def _host_route(self, host, address, owner):
        return ofmsg.flow_add(
            Table.ROUTING, Priority.HOST_ROUTE,
            ofmsg.match(eth_type=packets.ETH_TYPE_IPV6, ipv6_dst=str(address)),
            [ofmsg.apply([ofmsg.set_field(eth_src=self.config.router_mac),
                          ofmsg.set_field(eth_dst=host.mac), ofmsg.dec_nw_ttl(),
                          ofmsg.output(host.port)])], owner)

    @staticmethod
    def _host_cookie(host):
        return cookie(CookieKind.HOST, int(host.mac.replace(":", ""), 16))

    # ---------------------------------------------------------------- hosts

    def _forget_hosts(self, doomed):
        msgs = []
        for host in [h for h in self.hosts.values() if doomed(h)]:
            del self.hosts[host.mac]
            for address in host.addresses:
                self.address_owner.pop(address, None)
            if host.dpid in self.switch_ports:
                msgs.append((host.dpid, ofmsg.flow_delete_cookie(self._host_cookie(host))))
        return msgs

    def _learn(self, now, dpid, port, mac, address):
        """Learn ``mac`` on ``dpid:port`` and, when global on this link, ``address``."""
        link = self.links_by_dpid.get(dpid)
        if link is None or self.port_roles.get(dpid, {}).get(port) != "host":
            return []
        if int(mac[:2], 16) & 1 or mac == self.config.router_mac:
            return []
        msgs = []
        host = self.hosts.get(mac)
        if host is not None and (host.dpid, host.port) != (dpid, port):
            msgs += self._forget_hosts(lambda h: h.mac == mac)
            host = None
        if host is None:
            host = self.hosts[mac] = Host(mac=mac, dpid=dpid, port=port)
            msgs += [(dpid, rule) for rule in self._host_rules(host)]
            LOG.info("host %s at dpid %d port %d", mac, dpid, port)
        host.last_seen = now
        if address is not None and address in link.prefix and address != link.router \
                and address not in host.addresses:
            previous = self.address_owner.get(address)
            if previous is not None and previous in self.hosts:
                self.hosts[previous].addresses.discard(address)
                msgs.append((self.hosts[previous].dpid, ofmsg.flow_delete_cookie(
                    self._host_cookie(self.hosts[previous]))))
                msgs += [(self.hosts[previous].dpid, rule)
                         for rule in self._host_rules(self.hosts[previous])]
            host.addresses.add(address)
            self.address_owner[address] = mac
            msgs.append((dpid, self._host_route(host, address, self._host_cookie(host))))
            msgs += self._flush_resolution(now, address)
        return msgs

    def host_for_address(self, address):
        mac = self.address_owner.get(address)
        return self.hosts.get(mac) if mac is not None else None

    # ---------------------------------------------------------------- packet-in

    def packet_in(self, now, dpid, in_port, data, invalid_ttl=False):
        """A packet the switch ``dpid`` sent up; returns what to send in reply."""
        try:
            meta = packets.parse_frame(data)
        except packets.PacketError as exc:
            LOG.debug("dpid %d port %s: dropped: %s", dpid, in_port, exc)
            return []
        # Where the packet came from, when a host sent it straight to us: answers go
        # back out of that port (a link-local source can only be reached that way).
        on_link = self.port_roles.get(dpid, {}).get(in_port) == "host"
        origin = (dpid, in_port) if on_link else None
        if invalid_ttl or meta.mpls_labels:
            return self._icmp_error(now, meta, origin, packets.ICMPV6_TIME_EXCEEDED, 0)
        if meta.icmp_type in packets.ND_TYPES:
            return self._neighbour_discovery(now, dpid, in_port, meta) if on_link else []
        if self._for_home_agent(meta):
            attachment = Attachment(dpid, in_port, meta.eth_src) if on_link else None
            replies = self.home_agent.receive(now, meta, attachment, self._home_link_owner)
            if replies is not None:
                # The rules first, so forwarding is in place when the MN gets its BA.
                msgs = self._drain_binding_msgs()
                return msgs + [m for reply in replies
                               for m in self._answer(now, meta, origin, reply)]
        if meta.ip_dst in self.router_addresses():
            if meta.icmp_type == packets.ICMPV6_ECHO_REQUEST:
                return self._answer(now, meta, origin, self._echo_reply(meta))
            return []
        if meta.ip_dst in LINK_LOCAL or meta.ip_dst in MULTICAST:
            return []
        if self.link_of_address(meta.ip_dst) is not None:
            return self._route_via_controller(now, meta, origin)
        return self._icmp_error(now, meta, origin, packets.ICMPV6_DST_UNREACH,
                                packets.UNREACH_NO_ROUTE)

    def _echo_reply(self, request):
        """RFC 4443 §4.2; from a registered MN (valid Home Address option) the reply
        goes to its home address through a type 2 routing header (RFC 6275 §9.3.2)."""
        home = request.home_address_option
        if home is None:
            return packets.echo_reply(request, request.ip_dst)
        reply = packets.icmpv6(request.ip_dst, home, packets.ICMPV6_ECHO_REPLY, 0,
                               request.icmp_body)
        return self.home_agent.reroute_via_care_of(reply, request.ip_src, home)

    def _for_home_agent(self, meta):
        """Mobility headers (wherever addressed), and what the HA's addresses receive
        from mobile nodes: DHAAD, prefix solicitations, packets with a HAO."""
        if meta.next_header == mobility.IPPROTO_MH or meta.mobility_error is not None:
            return True
        return meta.ip_dst in self.home_agent.addresses() and (
            meta.icmp_type in (mobility.HAAD_REQUEST, mobility.MPS)
            or meta.home_address_option is not None)

    def _home_link_owner(self, address):
        """The MAC the controller knows on a home link for ``address`` (home-link DAD)."""
        host = self.host_for_address(address)
        link = self.home_agent.home_link_of(address)
        if host is None or link is None or host.dpid != link.dpid:
            return None
        return host.mac

    def _binding_changed(self, event, binding, now):
        """Keep the switches in line with the binding cache (DESIGN.md §6); and, when an
        MN registers away from home, announce the HA as the owner of its home address
        on the home link (RFC 6275 §10.4.1: unsolicited NA)."""
        home = binding.home_address
        away = event in (BindingEvent.ADDED, BindingEvent.UPDATED)
        new = self._placement(binding) if away else None
        flow_mods = plan_handover(self.placements.get(home), new, self.config.router_mac,
                                  LSP_TTL)
        self._binding_msgs += flow_mods
        self.binding_changes[home] = {"event": event.value, "at": now,
                                      "care_of_address": str(binding.care_of_address),
                                      "flow_mods": len(flow_mods)}
        if new is None:
            self.placements.pop(home, None)
        else:
            self.placements[home] = new
        if event == BindingEvent.ADDED and binding.care_of_address != home:
            link = self.home_agent.home_link_of(home)
            ports = self.host_ports(link.dpid) if link is not None else []
            targets = [home] + ([link_local_of(home)] if binding.link_local else [])
            for target in targets if ports else []:
                frame = packets.neighbor_advert(
                    src_mac=self.config.router_mac, eth_dst=ALL_NODES_MAC,
                    src=link.home_agent, dst=packets.ALL_NODES, target=target,
                    router=False, solicited=False)
                self._binding_msgs.append((link.dpid, ofmsg.packet_out(ports, frame)))

    def _placement(self, binding):
        """Where the rules of ``binding`` go, or None when it cannot be forwarded."""
        if binding.care_of_address == binding.home_address:
            return None
        home_link = self.home_agent.home_link_of(binding.home_address)
        attachment = binding.attachment
        if attachment is None:
            host = self.host_for_address(binding.care_of_address)
            if host is not None:
                attachment = Attachment(host.dpid, host.port, host.mac)
        care_of_link = self.links_by_dpid.get(attachment.dpid) if attachment else None
        if home_link is None or care_of_link is None:
            LOG.warning("binding %s: care-of address %s is not on an access link",
                        binding.home_address, binding.care_of_address)
            return None
        return Placement(home_address=binding.home_address, home_dpid=home_link.dpid,
                         home_label=home_link.label, care_of_dpid=attachment.dpid,
                         care_of_label=care_of_link.label, port=attachment.port,
                         mac=attachment.mac)

    def restore(self, now):
        """After a restart: reload the journaled bindings (their rules are installed as
        the switches connect)."""
        self.home_agent.restore(now)
        self._drain_binding_msgs()  # no switch is connected yet

    def _drain_binding_msgs(self):
        msgs, self._binding_msgs = self._binding_msgs, []
        return msgs

    def _route_via_controller(self, now, meta, origin):
        """A packet for a host of our links that the switches could not deliver yet."""
        if meta.hop_limit <= 1:
            return self._icmp_error(now, meta, origin, packets.ICMPV6_TIME_EXCEEDED, 0)
        packet = bytearray(meta.ipv6_packet)
        packet[7] -= 1  # the hop limit, once per routed hop (DESIGN.md §6)
        return self._send_to(now, meta.ip_dst, bytes(packet), (meta, origin))

    def _answer(self, now, meta, origin, ipv6_packet):
        """Send the router's answer to ``meta``: out of its port of origin, else routed."""
        if origin is None:
            return self.send_from_router(now, ipv6_packet)
        dpid, port = origin
        frame = packets.ethernet(meta.eth_src, self.config.router_mac, ipv6_packet)
        return [(dpid, ofmsg.packet_out([port], frame))]

    def send_from_router(self, now, ipv6_packet):
        """Deliver a packet the router itself originates, by its destination address."""
        dst = ipaddress.IPv6Address(ipv6_packet[24:40])
        return self._send_to(now, dst, ipv6_packet, None)

    def _send_to(self, now, dst, ipv6_packet, cause):
        """Deliver to the host that has ``dst``, or resolve it first; ``cause`` is the
        (offending packet, origin) to report if resolution fails."""
        host = self.host_for_address(dst)
        if host is not None:
            frame = packets.ethernet(host.mac, self.config.router_mac, ipv6_packet)
            return [(host.dpid, ofmsg.packet_out([host.port], frame))]
        link = self.link_of_address(dst)
        if link is None:
            return []
        resolution = self.resolutions.get(dst)
        msgs = []
        if resolution is None:
            resolution = self.resolutions[dst] = Resolution(
                link=link, attempts=1, next_time=now + self.config.ns_retransmit,
                queue=collections.deque(maxlen=MAX_QUEUED_PER_ADDRESS))
            msgs = self._solicit(link, dst)
        resolution.queue.append((ipv6_packet, cause))
        return msgs

    def _solicit(self, link, target):
        ports = self.host_ports(link.dpid)
        if not ports:
            return []
        frame = packets.neighbor_solicit(src_mac=self.config.router_mac,
                                         src=ROUTER_LINK_LOCAL, target=target)
        return [(link.dpid, ofmsg.packet_out(ports, frame))]

    def _flush_resolution(self, now, address):
        resolution = self.resolutions.pop(address, None)
        msgs = []
        if resolution is not None:
            for ipv6_packet, _ in resolution.queue:
                msgs += self._send_to(now, address, ipv6_packet, None)
        return msgs

    def _icmp_error(self, now, offending, origin, icmp_type, code, parameter=0):
        """An ICMPv6 error from the router address of the offender's link, rate-limited."""
        link = self.link_of_address(offending.ip_src)
        if link is None and origin is not None:
            link = self.links_by_dpid.get(origin[0])
        if link is None or not self._take_error_token(now):
            return []
        error = packets.icmp_error(offending, link.router, icmp_type, code, parameter)
        if error is None:
            return []
        return self._answer(now, offending, origin, error)

    def _take_error_token(self, now):
        if self.error_tokens_time is not None:
            self.error_tokens = min(ICMP_ERROR_BURST, self.error_tokens + ICMP_ERROR_RATE * (
                now - self.error_tokens_time))
        self.error_tokens_time = now
        if self.error_tokens < 1:
            return False
        self.error_tokens -= 1
        return True

    # ---------------------------------------------------------------- neighbour discovery

    def _neighbour_discovery(self, now, dpid, in_port, meta):
        """ND from a host port: learn, answer for the router, relay the rest."""
        link = self.links_by_dpid[dpid]
        source = meta.ip_src if meta.ip_src != packets.UNSPECIFIED else None
        msgs = self._learn(now, dpid, in_port, meta.eth_src, source)
        if meta.icmp_type == packets.ND_NEIGHBOR_ADVERT and meta.na_flags & \
                packets.NA_FLAG_OVERRIDE:
            msgs += self._learn(now, dpid, in_port, meta.eth_src, meta.nd_target)
        if meta.icmp_type == packets.ND_ROUTER_SOLICIT:
            if not self.config.ra_on_attachment:
                return msgs  # periodic advertisements only (the benchmarks' baseline)
            return msgs + [(dpid, ofmsg.packet_out([in_port], self._router_advert(link)))]
        if meta.icmp_type == packets.ND_NEIGHBOR_SOLICIT and (
                meta.nd_target in (link.router, ROUTER_LINK_LOCAL)
                or link.is_home_link and self._proxied(link, meta.nd_target)):
            return msgs + [(dpid, ofmsg.packet_out([in_port], self._router_na(meta)))]
        if meta.icmp_type == packets.ND_NEIGHBOR_ADVERT and (
                meta.eth_dst == self.config.router_mac
                or meta.ip_dst in self.router_addresses()):
            return msgs
        if meta.icmp_type in (packets.ND_NEIGHBOR_SOLICIT, packets.ND_NEIGHBOR_ADVERT):
            return msgs + self._relay(dpid, in_port, meta)
        return msgs  # RAs and redirects from hosts are dropped (hosts are not routers)

    def _relay(self, dpid, in_port, meta):
        """Pass a host's NS or NA on to the link: to the addressed host, else flood."""
        host = self.hosts.get(meta.eth_dst)
        if host is not None and host.dpid == dpid:
            ports = [host.port] if host.port != in_port else []
        else:
            ports = [port for port in self.host_ports(dpid) if port != in_port]
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
        is_router = target in self.router_addresses()
        if solicitation.ip_src == packets.UNSPECIFIED:
            return packets.neighbor_advert(
                src_mac=mac, eth_dst=ALL_NODES_MAC, src=target if is_router else
                ROUTER_LINK_LOCAL, dst=packets.ALL_NODES, target=target, router=is_router,
                solicited=False)
        # RFC 4861 §7.2.4: a proxy answer leaves Override clear.
        return packets.neighbor_advert(
            src_mac=mac, eth_dst=solicitation.eth_src, src=target if is_router else
            ROUTER_LINK_LOCAL, dst=solicitation.ip_src, target=target, router=is_router,
            solicited=True, override=is_router)

    def _router_advert(self, link):
        config = self.config
        return packets.router_advert(
            router_mac=config.router_mac, src=ROUTER_LINK_LOCAL, dst=packets.ALL_NODES,
            mtu=config.mtu, prefix=link.prefix,
            valid_lifetime=config.prefix_valid_lifetime,
            preferred_lifetime=config.prefix_preferred_lifetime,
            router_lifetime=config.router_lifetime,
            adv_interval_ms=int(config.ra_interval * 1000), home_agent=link.home_agent,
            home_agent_lifetime=min(config.router_lifetime, 0xFFFF))

    def _ra_interval(self):
        """RFC 4861 §6.2.4: uniformly random between Min and MaxRtrAdvInterval."""
        return self.rng.uniform(self.config.ra_min_interval, self.config.ra_interval)

    # ---------------------------------------------------------------- time

    def tick(self, now):
        """Periodic work: unsolicited RAs, address-resolution retries, binding expiry."""
        self.home_agent.expire(now)
        msgs = self._drain_binding_msgs()
        for dpid, due in list(self.next_ra.items()):
            if now >= due:
                self.next_ra[dpid] = now + self._ra_interval()
                ports = self.host_ports(dpid)
                if ports:
                    msgs.append((dpid, ofmsg.packet_out(
                        ports, self._router_advert(self.links_by_dpid[dpid]))))
        for address, resolution in list(self.resolutions.items()):
            if now < resolution.next_time:
                continue
            if resolution.attempts >= self.config.ns_attempts:
                del self.resolutions[address]
                for _, cause in resolution.queue:
                    if cause is not None:
                        offending, origin = cause
                        msgs += self._icmp_error(now, offending, origin,
                                                 packets.ICMPV6_DST_UNREACH,
                                                 packets.UNREACH_ADDRESS)
                continue
            resolution.attempts += 1
            resolution.next_time = now + self.config.ns_retransmit
            msgs += self._solicit(resolution.link, address)
        return msgs

    # ---------------------------------------------------------------- view

    def view(self):
        """The controller's view as plain data (links, hosts, routes) for REST and the demo."""
        return {
            "switches": sorted(self.switch_ports),
            "links": [{"src": s, "src_port": sp, "dst": d, "dst_port": dp}
                      for s, sp, d, dp in self.topology.links()],
            "access_links": [{"name": link.name, "dpid": link.dpid, "prefix": str(link.prefix),
                              "router": str(link.router), "label": link.label,
                              "host_ports": self.host_ports(link.dpid),
                              "home_agent": str(link.home_agent) if link.home_agent else None}
                             for link in self.config.links],
            "hosts": [{"mac": h.mac, "dpid": h.dpid, "port": h.port,
                       "addresses": sorted(str(a) for a in h.addresses)}
                      for h in sorted(self.hosts.values(), key=lambda h: h.mac)],
            "routes": [{"dpid": dpid, "label": label, "action": hop}
                       for dpid, labels in sorted(self.installed_lsps.items())
                       for label, hop in sorted(labels.items())],
            "bindings": [{"home_address": str(b.home_address),
                          "care_of_address": str(b.care_of_address), "sequence": b.sequence,
                          "lifetime": b.lifetime, "expires": b.expires,
                          "link_local": b.link_local,
                          "attachment": dataclasses.asdict(b.attachment)
                          if b.attachment else None}
                         for b in sorted(self.home_agent.cache,
                                         key=lambda b: b.home_address)],
            "binding_changes": {str(home): change
                                for home, change in sorted(self.binding_changes.items())},
        }
