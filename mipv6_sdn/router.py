"""The IPv6 router of every access link and Home Agent of its home links: the façade.

Every public method takes ``now`` (Unix time in seconds: RFC 4285 timestamps and binding
expiry times that outlive a restart need the wall clock) first and returns a list of
``(dpid, message)`` pairs: OpenFlow messages built with ``datapath=None`` for the shell
to send. The router never reads the clock and never sends.

It owns no state of its own beyond its parts (docs/architecture.md): it fans switch,
port and link events and the tick out to them, and dispatches each packet-in to the
part it is for.
"""
import logging
import random

import ipaddress

from mipv6_sdn import mobility, ofmsg, packets, wire
from mipv6_sdn.access_links import LINK_LOCAL, MULTICAST, AccessLinks
from mipv6_sdn.address_resolution import AddressResolution
from mipv6_sdn.base_rules import BaseRules
from mipv6_sdn.binding_cache import Attachment
from mipv6_sdn.binding_forwarding import BindingForwarding
from mipv6_sdn.binding_store import EphemeralStore, JournalError
from mipv6_sdn.config import NetworkHandoverConfig, RouteOptimisationMode
from mipv6_sdn.controller_view import controller_view
from mipv6_sdn.correspondent_node import CorrespondentNode
from mipv6_sdn.events import EventLog
from mipv6_sdn.flood_protection import FloodProtection
from mipv6_sdn.home_agent import HomeAgent, claimed_care_of
from mipv6_sdn.home_registrations import HomeRegistrations
from mipv6_sdn.host_table import HostTable
from mipv6_sdn.icmp_errors import ErrorRateLimiter, IcmpErrors
from mipv6_sdn.label_switched_paths import LabelSwitchedPaths
from mipv6_sdn.neighbour_discovery import NeighbourDiscovery
from mipv6_sdn.network_handover import NetworkHandover
from mipv6_sdn.pipeline import COOKIE_KIND_SHIFT, CookieKind
from mipv6_sdn.port_roles import PortRoles
from mipv6_sdn.reconciliation import reconcile
from mipv6_sdn.route_optimisation import RouteOptimisation
from mipv6_sdn.source_validation import SourceValidation
from mipv6_sdn.topology import Topology

LOG = logging.getLogger(__name__)
SERVED_TOGETHER = 16  # packet-ins the shell hands to packet_ins at a time (group commit)


def _echo_reply(request):
    """RFC 4443 §4.2; from a registered MN (valid Home Address option) the reply goes to
    its home address through a type 2 routing header (RFC 6275 §9.3.2)."""
    home = request.home_address_option
    if home is None:
        return packets.echo_reply(request, request.ip_dst)
    reply = packets.icmpv6(request.ip_dst, home, wire.ICMPV6_ECHO_REPLY, 0,
                           request.icmp_body)
    return packets.via_care_of(reply, request.ip_src, home)


def _registration_keys(meta, invalid_ttl, home_agent_addresses, router_addresses):
    """The home and care-of addresses of a home registration to the Home Agent (what
    ``Router.packet_ins`` groups), or None for any other packet."""
    if invalid_ttl or meta.mpls_labels or not _is_binding_update(meta) or \
            meta.ip_dst not in home_agent_addresses or meta.ip_dst not in router_addresses:
        return None
    return {meta.home_address_option or meta.ip_src, claimed_care_of(meta)}


def _is_binding_update(meta):
    return meta.mobility is not None and \
        isinstance(meta.mobility.message, mobility.BindingUpdate)


class Router:
    """The routing core. ``config`` is a :class:`mipv6_sdn.config.Config`; ``store`` a
    :class:`mipv6_sdn.binding_store.BindingStore` for the binding caches."""

    def __init__(self, config, rng=None, store=None):
        self.config = config
        rng = rng or random.Random()
        self.topology = Topology()
        self.error_limiter = ErrorRateLimiter()
        self.events = EventLog()
        self.home_agent = HomeAgent(config, store=store, error_allowed=self.error_limiter.allow,
                                    events=self.events)
        self.correspondents = CorrespondentNode(config, rng, store=store,
                                                error_allowed=self.error_limiter.allow,
                                                events=self.events)
        self.links = AccessLinks(config, self.home_agent.addresses())
        self.ports = PortRoles(self.links, self.topology)
        self.flood = FloodProtection(self.links, self.ports)
        self.base = BaseRules(self.links)
        self.lsps = LabelSwitchedPaths(self.links, self.topology)
        self.hosts = HostTable(self.links, self.ports)
        self.resolution = AddressResolution(self.links, self.ports, self.hosts)
        self.icmp = IcmpErrors(self.links, self.error_limiter, self.resolution)
        policy = config.route_optimisation
        self.forwarding = BindingForwarding(
            self.links, self.ports, self.hosts, self.home_agent,
            reverse_tunnel=policy.mode != RouteOptimisationMode.NETWORK)
        self.validation = SourceValidation(self.links, self.ports, self.hosts,
                                           self.resolution, self.home_agent,
                                           store if store is not None else EphemeralStore(),
                                           events=self.events)
        self.network_handover = NetworkHandover(
            config.network_handover or NetworkHandoverConfig(), self.links, self.ports,
            self.hosts, self.forwarding, self.home_agent, self.events,
            placed=lambda home: self.route_optimisation.sync(home))
        self.nd = NeighbourDiscovery(self.links, self.ports, self.hosts, self.validation,
                                     self.home_agent, rng)
        self.registrations = HomeRegistrations(self.home_agent, self.hosts, self.validation,
                                               self.resolution, self.events)
        self.route_optimisation = RouteOptimisation(
            self.links, self.hosts, self.home_agent, self.forwarding, self.correspondents,
            policy)
        self.home_agent.cache.subscribe(
            lambda event, binding, now: self.events.binding("home", event, binding, now))
        self.correspondents.subscribe(lambda correspondent, event, binding, now:
                                      self.events.binding(str(correspondent), event,
                                                          binding, now))
        # The order in which events fan out: groups and meters, then rules, then bindings.
        self.parts = (self.ports, self.flood, self.base, self.lsps, self.hosts,
                      self.validation, self.nd, self.forwarding, self.network_handover,
                      self.route_optimisation)

    # ---------------------------------------------------------------- switch events

    def switch_up(self, now, dpid, ports):
        """A switch connected with ``ports`` live: install its whole pipeline.

        Nothing is deleted first: after a controller restart the switch keeps
        forwarding with the rules it has (fail_mode secure), every wanted rule is
        added over them, and :meth:`reconcile` later removes what is stale."""
        msgs = self.hosts.forget(lambda host: host.dpid == dpid)
        self.events.emit(now, "switch", "up", dpid=dpid, up=True)
        self.topology.add_switch(dpid)
        self.ports.add_switch(dpid, ports)
        for part in self.parts:
            msgs += part.switch_up(now, dpid)
        return msgs + self._sync_ports(dpid, now) + self.lsps.sync()

    def switch_down(self, now, dpid):
        msgs = self.hosts.forget(lambda host: host.dpid == dpid)
        self.events.emit(now, "switch", "down", dpid=dpid, up=False)
        self.topology.remove_switch(dpid)
        for part in self.parts:
            msgs += part.switch_down(now, dpid)
        return msgs + self.lsps.sync()

    def port_up(self, now, dpid, port):
        if not self.ports.is_connected(dpid):
            return []
        self.ports.set_live(dpid, port, True)
        self.events.port(now, dpid, port, up=True)
        self.network_handover.port_changed(now, dpid, port, up=True)
        return self._sync_ports(dpid, now)

    def port_down(self, now, dpid, port):
        if not self.ports.is_connected(dpid):
            return []
        self.ports.set_live(dpid, port, False)
        self.events.port(now, dpid, port, up=False)
        self.network_handover.port_changed(now, dpid, port, up=False)
        self.topology.remove_port(dpid, port)
        msgs = self.hosts.forget(lambda host: (host.dpid, host.port) == (dpid, port))
        return msgs + self._sync_ports(dpid, now) + self.lsps.sync()

    def link_up(self, now, src, src_port, dst, dst_port):
        """LLDP saw ``src:src_port`` → ``dst:dst_port``."""
        self.topology.add_link(src, src_port, dst, dst_port)
        self.events.emit(now, "link", "up", src=src, src_port=src_port, dst=dst,
                         dst_port=dst_port, up=True)
        msgs = self.hosts.forget(  # once the link is confirmed (seen both ways)
            lambda host: (host.dpid, host.port) in ((src, src_port), (dst, dst_port))
            and host.port in self.topology.trunk_ports(host.dpid))
        return msgs + self._sync_ports(src, now) + self._sync_ports(dst, now) + \
            self.lsps.sync()

    def link_down(self, now, src, src_port, dst, dst_port):
        self.topology.remove_link(src, dst)
        self.events.emit(now, "link", "down", src=src, src_port=src_port, dst=dst,
                         dst_port=dst_port, up=False)
        return self._sync_ports(src, now) + self._sync_ports(dst, now) + self.lsps.sync()

    def _sync_ports(self, dpid, now):
        msgs, new_host_ports = self.ports.sync(dpid)
        return msgs + self.flood.ports_changed(now, dpid) + \
            self.validation.ports_changed(now, dpid, new_host_ports) + \
            self.nd.attached(now, dpid, new_host_ports)

    def desired_rules(self, dpid):
        """Every rule of ours that switch ``dpid`` should hold now."""
        return [rule for part in self.parts for rule in part.desired_rules(dpid)]

    def reconcile(self, now, dpid, flows):
        """Make switch ``dpid`` hold :meth:`desired_rules` (see
        :func:`mipv6_sdn.reconciliation.reconcile`)."""
        return reconcile(dpid, flows, self.desired_rules(dpid))

    def restore(self, now):
        """After a restart: reload the stored source address bindings, bindings and
        return routability state. Their rules are installed as the switches connect, so
        what the binding caches return now is dropped."""
        self.validation.table.restore()
        self.home_agent.restore(now)
        self.correspondents.restore(now)

    def meter_stats(self, now, dpid, dropped):
        """Switch ``dpid``'s meters dropped these packets: [(meter id, count)]."""
        self.flood.meter_stats(dpid, dropped)
        return []

    def flow_removed(self, now, dpid, cookie, match):
        """Switch ``dpid`` dropped a rule whose idle timeout ran out (network mode)."""
        if cookie >> COOKIE_KIND_SHIFT == CookieKind.ROUTE_OPTIMISED:
            return self.route_optimisation.removed(now, dpid, match)
        return []

    # ---------------------------------------------------------------- packet-in

    def packet_in(self, now, dpid, in_port, data, invalid_ttl=False):
        """A packet the switch ``dpid`` sent up; returns what to send in reply."""
        return self.packet_ins(now, [(dpid, in_port, data, invalid_ttl)])

    def packet_ins(self, now, batch):
        """Packets that arrived together (``[(dpid, in_port, data, invalid_ttl)]``),
        answered as :meth:`packet_in` answers each in turn, but with their home
        registrations kept in one journal transaction (group commit, ``HomeRegistrations``).
        Any other packet, or a registration of a mobile node or care-of address the group
        holds already, closes the group first, so what changes state changes in the order
        it came."""
        msgs, group, claimed = [], [], set()
        for dpid, in_port, data, invalid_ttl in batch:
            try:
                meta = packets.parse_frame(data)
            except wire.PacketError as exc:
                LOG.debug("dpid %d port %s: dropped: %s", dpid, in_port, exc)
                continue
            # Where the packet came from, when a host sent it straight to us: answers go
            # back out of that port (a link-local source can only be reached that way).
            on_link = self.ports.is_host_port(dpid, in_port)
            origin = (dpid, in_port) if on_link else None
            keys = _registration_keys(meta, invalid_ttl, self.home_agent.addresses(),
                                      self.links.router_addresses)
            registration = keys is not None
            if group and (not registration or keys & claimed):
                msgs += self.registrations.handle(now, group)
                group, claimed = [], set()
            if invalid_ttl or meta.mpls_labels:
                msgs += self.icmp.time_exceeded(now, meta, origin)
                continue
            # A bound node's first frame on a new port moves its delivery there at once.
            if on_link:
                msgs += self.network_handover.frame_seen(now, dpid, in_port, meta.eth_src)
            if registration:
                group.append((meta, origin, Attachment(dpid, in_port, meta.eth_src)
                              if on_link else None))
                claimed |= keys
                continue
            try:
                msgs += self._received(now, dpid, in_port, meta, data, on_link, origin)
            except Exception:  # the core never raises; if it did, keep the others' answers
                LOG.exception("dpid %d port %s: packet-in not served", dpid, in_port)
        if group:
            msgs += self.registrations.handle(now, group)
        return msgs

    def _received(self, now, dpid, in_port, meta, data, on_link, origin):
        """What the packet-in ``meta`` (parsed ``data``) is answered with."""
        if meta.icmp_type in wire.ND_TYPES:
            return self.nd.receive(now, dpid, in_port, meta) if on_link else []
        mobility_header = meta.next_header == wire.IPPROTO_MH or \
            meta.mobility_error is not None
        # Binding Updates are judged by their authentication (RFC 4285, or return
        # routability's Kbm); any other packet from a host by its source first.
        judged_here = meta.mobility is not None and isinstance(
            meta.mobility.message, mobility.BindingUpdate) and (
            self._correspondent(meta.ip_dst) or meta.ip_dst in self.links.router_addresses)
        if on_link and not judged_here:
            # Anything else from a host is only as good as its source (docs/security.md).
            held, permitted = self.validation.data(now, dpid, in_port, meta, data)
            if not permitted:
                return held
        if mobility_header and self._correspondent(meta.ip_dst):
            if self.hosts.for_address(meta.ip_dst) is None:
                # Not learned yet: solicit it, and let the mobile node's retransmission
                # find it known (a made-up address never answers, so never gets any).
                return self.resolution.resolve(now, meta.ip_dst)[0]
            try:
                replies, msgs = self.correspondents.receive(now, meta)
            except JournalError:  # not kept, so nothing answered (the store said why)
                return []
            return msgs + [m for reply in replies for m in self.deliver(now, reply)]
        if mobility_header and meta.ip_dst not in self.links.router_addresses:
            # For a node that is not ours to answer for: forwarded as any packet is.
            return self._as_router(now, meta, origin)
        detected = self.route_optimisation.detected(now, dpid, meta)
        if detected is not None:
            return detected  # the packet itself went on in the switch
        if not self._for_home_agent(meta):
            return self._as_router(now, meta, origin)
        return self._home_agent(now, dpid, meta, origin,
                                Attachment(dpid, in_port, meta.eth_src) if on_link else None)

    def _home_agent(self, now, dpid, meta, origin, ingress):
        """What the Home Agent makes of ``meta``, which came in at ``ingress`` (None
        from a trunk)."""
        if _is_binding_update(meta):
            return self.registrations.handle(now, [(meta, origin, ingress)])
        replies, msgs = self.home_agent.receive(now, meta, ingress,
                                                self.registrations.home_owner)
        if replies is None:  # from a registered MN: answered as if from its home address
            return msgs + self._as_router(now, meta, origin)
        return msgs + [m for reply in replies
                       for m in self.resolution.answer(now, meta, origin, reply)]

    def _as_router(self, now, meta, origin):
        """What the router owes a packet that is not for the Home Agent."""
        if meta.ip_dst in self.links.router_addresses:
            if meta.icmp_type == wire.ICMPV6_ECHO_REQUEST:
                return self.resolution.answer(now, meta, origin, _echo_reply(meta))
            return []
        if meta.ip_dst in LINK_LOCAL or meta.ip_dst in MULTICAST:
            return []
        if self.links.of_address(meta.ip_dst) is not None:
            return self._route_via_controller(now, meta, origin)
        return self.icmp.unreachable(now, meta, origin, wire.UNREACH_NO_ROUTE)

    def _correspondent(self, address):
        """Whether the controller answers as ``address``: a configured correspondent,
        never one of the controller's own addresses."""
        return address not in self.links.router_addresses and \
            self.correspondents.serves(address)

    def _for_home_agent(self, meta):
        """Mobility headers to the controller's own addresses, and what the HA's
        addresses receive from mobile nodes: DHAAD, prefix solicitations, packets with
        a HAO."""
        if meta.next_header == wire.IPPROTO_MH or meta.mobility_error is not None:
            return True
        return meta.ip_dst in self.home_agent.addresses() and (
            meta.icmp_type in (mobility.HAAD_REQUEST, mobility.MPS)
            or meta.home_address_option is not None)

    def _route_via_controller(self, now, meta, origin):
        """A packet for a host of our links that the switches could not deliver yet."""
        if meta.hop_limit <= 1:
            return self.icmp.time_exceeded(now, meta, origin)
        packet = bytearray(meta.ipv6_packet)
        packet[7] -= 1  # the hop limit, once per routed hop (docs/pipeline.md)
        return self.deliver(now, bytes(packet), (meta, origin))

    def deliver(self, now, ipv6_packet, cause=None):
        """Send ``ipv6_packet`` where traffic for its destination goes: an away mobile
        node's home address to its care-of port (as its home binding's rules do),
        anything else to the host that has the address. Never by where a request
        came from."""
        dst = ipaddress.IPv6Address(ipv6_packet[24:40])
        placement = self.forwarding.placements.get(dst)
        if placement is not None:
            frame = packets.ethernet(placement.mac, self.config.router_mac, ipv6_packet)
            return [(placement.care_of_dpid, ofmsg.packet_out([placement.port], frame))]
        return self.resolution.send_to(now, dst, ipv6_packet, cause)

    # ---------------------------------------------------------------- time and view

    def next_due(self):
        """When a timer wants :meth:`tick` sooner than the periodic tick (a delayed
        answer to a Router Solicitation, the end of a network-triggered redirect's
        window), or None."""
        due = [t for t in (self.nd.next_due(), self.network_handover.next_due())
               if t is not None]
        return min(due, default=None)

    def tick(self, now):
        """Periodic work: binding expiry and refresh requests, unsolicited RAs,
        address-resolution retries."""
        msgs = self.home_agent.expire(now)
        requests, changed = self.correspondents.tick(now, self.route_optimisation.in_use)
        msgs += changed
        for request in requests + self.home_agent.refresh_requests(now):
            msgs += self.deliver(now, request)
        for part in self.parts:
            msgs += part.tick(now)
        retries, failures = self.resolution.retry(now)
        msgs += retries
        for offending, origin in failures:
            msgs += self.icmp.unreachable(now, offending, origin, wire.UNREACH_ADDRESS)
        return msgs

    def view(self):
        """The controller's view as plain data, for REST and the demo."""
        return controller_view(self)
