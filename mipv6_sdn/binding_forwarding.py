"""Care-of forwarding driven by the binding cache (docs/pipeline.md).

A subscriber of the Home Agent's binding cache: each change is turned into the flow-mods
that move the binding's rules (:func:`mipv6_sdn.handover.plan_handover`) and, when a
mobile node registers away from home, the unsolicited NA by which the Home Agent takes
its home address over on the home link (RFC 6275 §10.4.1). The messages are returned to
whoever changed the cache, so they go out before the Binding Acknowledgement.
"""
import logging

from mipv6_sdn import ofmsg, packets, wire
from mipv6_sdn.access_links import link_local_of
from mipv6_sdn.binding_cache import Attachment, BindingEvent
from mipv6_sdn.handover import Placement, plan_handover
from mipv6_sdn.label_switched_paths import LSP_TTL
from mipv6_sdn.neighbour_discovery import ALL_NODES_MAC
from mipv6_sdn.router_part import RouterPart

LOG = logging.getLogger(__name__)


class BindingForwarding(RouterPart):
    """Where each binding's rules are placed, and the last change of each."""

    def __init__(self, links, ports, hosts, home_agent, reverse_tunnel=True):
        self.links = links
        self.reverse_tunnel = reverse_tunnel
        self.router_mac = links.config.router_mac
        self.ports = ports
        self.hosts = hosts
        self.home_agent = home_agent
        self.placements = {}  # home address -> Placement of its binding's rules
        self.homes = {}       # MAC -> set of the home addresses placed at it
        self.changes = {}     # home address -> its last change: event, time, flow-mods
        self.ahead = {}       # home address -> flow-mods a redirect sent before its BU
        home_agent.cache.subscribe(self.binding_changed)

    def _rules(self, dpid):
        return [m for placement in self.placements.values()
                for at, m in plan_handover(None, placement, self.router_mac, LSP_TTL)
                if at == dpid]

    def switch_up(self, now, dpid):
        return [(dpid, rule) for rule in self._rules(dpid)]

    def desired_rules(self, dpid):
        return self._rules(dpid)

    def binding_changed(self, event, binding, now):
        """Keep the switches in line with the binding cache; returns the messages."""
        home = binding.home_address
        if event == BindingEvent.REFRESHED and home not in self.ahead \
                and binding.attachment is not None and home in self.placements:
            self.changes[home] = {**self.changes.get(home, {}), "event": event.value,
                                  "at": now, "flow_mods": 0, "network_triggered": False}
            return []  # the refresh fast path: the placement cannot have changed
        away = event in (BindingEvent.ADDED, BindingEvent.UPDATED, BindingEvent.REFRESHED)
        new = self._placement(binding) if away else None
        msgs = self._place(home, new)
        ahead = self.ahead.pop(home, 0)
        self.changes[home] = {"event": event.value, "at": now,
                              "care_of_address": str(binding.care_of_address),
                              "flow_mods": len(msgs) + ahead,
                              "network_triggered": ahead > 0}
        if event == BindingEvent.ADDED and binding.care_of_address != home:
            msgs += self._take_over(binding)
        return msgs

    def _place(self, home, new):
        """Move ``home``'s rules to placement ``new`` (None: remove them); the messages."""
        old = self.placements.pop(home, None)
        if old is not None:
            self.homes[old.mac].discard(home)
            if not self.homes[old.mac]:
                del self.homes[old.mac]
        if new is not None:
            self.placements[home] = new
            self.homes.setdefault(new.mac, set()).add(home)
        return plan_handover(old, new, self.router_mac, LSP_TTL)

    def homes_of_mac(self, mac):
        """The home addresses whose rules deliver to ``mac``, sorted."""
        return sorted(self.homes.get(mac, ()))

    def redirect(self, home, placement, undo=False):
        """Deliver ``home``'s traffic by ``placement`` ahead of a BU, or back by its
        binding's own when ``undo`` (:mod:`mipv6_sdn.network_handover`); the messages."""
        msgs = self._place(home, placement)
        if undo:
            self.ahead.pop(home, None)
        else:
            self.ahead[home] = self.ahead.get(home, 0) + len(msgs)
        return msgs

    def _take_over(self, binding):
        """RFC 6275 §10.4.1: unsolicited NAs for the home address (and its link-local
        address, with the L bit) from the HA on the home link."""
        home = binding.home_address
        link = self.home_agent.home_link_of(home)
        ports = self.ports.host_ports(link.dpid) if link is not None else []
        if not ports:
            return []
        targets = [home] + ([link_local_of(home)] if binding.link_local else [])
        return [(link.dpid, ofmsg.packet_out(ports, packets.neighbor_advert(
            src_mac=self.router_mac, eth_dst=ALL_NODES_MAC, src=link.home_agent,
            dst=wire.ALL_NODES, target=target, router=False, solicited=False)))
            for target in targets]

    def _placement(self, binding):
        """Where the rules of ``binding`` go, or None when it cannot be forwarded."""
        if binding.care_of_address == binding.home_address:
            return None
        home_link = self.home_agent.home_link_of(binding.home_address)
        attachment = binding.attachment
        if attachment is None:
            host = self.hosts.for_address(binding.care_of_address)
            if host is not None:
                attachment = Attachment(host.dpid, host.port, host.mac)
        care_of_link = self.links.of_switch(attachment.dpid) if attachment else None
        if home_link is None or care_of_link is None:
            LOG.warning("binding %s: care-of address %s is not on an access link",
                        binding.home_address, binding.care_of_address)
            return None
        return Placement(home_address=binding.home_address, home_dpid=home_link.dpid,
                         home_label=home_link.label, care_of_dpid=attachment.dpid,
                         care_of_label=care_of_link.label, port=attachment.port,
                         mac=attachment.mac, reverse_tunnel=self.reverse_tunnel)
