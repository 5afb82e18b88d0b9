"""Route optimisation in the switches (docs/pipeline.md, "Route optimisation").

A subscriber of the Home Agent's binding cache and of every correspondent's. The rules
of one home address are computed from those caches as plain specs and compared with
what was installed, so a change sends only the difference:

- ``rr`` (and ``network``): while correspondent C holds a binding home address →
  care-of address that is where the home binding delivers, C's access switch sends
  packets from C to the home address onto the care-of switch's path, and the care-of
  switch sends the mobile node's packets to C onto C's path. A correspondent binding
  whose care-of address is not the home binding's (the home binding moved first) has
  no rules: its traffic takes the home path until C's next Binding Update;
- ``network``: at the home switch, packets for an away home address that arrive over a
  path are intercepted as always, and a copy reaches the controller, which gives the
  switch they entered by a direct path (idle timeout, removal reported); the mobile
  node's own packets are routed natively (no reverse tunnel).
"""
import dataclasses
import ipaddress

from mipv6_sdn import ofmsg, wire
from mipv6_sdn.binding_cache import BindingEvent
from mipv6_sdn.config import RouteOptimisationMode
from mipv6_sdn.handover import OWNER_BITS
from mipv6_sdn.label_switched_paths import LSP_TTL
from mipv6_sdn.pipeline import METADATA_FROM_LSP, CookieKind, Priority, Table, cookie
from mipv6_sdn.router_part import RouterPart

REDETECT_AFTER = 1.0  # seconds: a copy at home this long after a path was given means
# the switch has dropped it (idle timeout), so it is given again


@dataclasses.dataclass(frozen=True)
class RuleSpec:
    """One rule of the ROUTING table as plain data; ``action`` is ("lsp", label),
    ("deliver", port, mac) or ("detect", label)."""
    dpid: int
    priority: int
    match: tuple  # sorted (field, value) pairs
    action: tuple
    idle_timeout: int = 0

    @property
    def key(self):
        return self.dpid, self.priority, self.match


def _match(**fields):
    return tuple(sorted(fields.items()))


class RouteOptimisation(RouterPart):
    """The route-optimised rules of every home address, by the mode configured."""

    def __init__(self, links, hosts, home_agent, forwarding, correspondents, policy):
        self.links = links
        self.hosts = hosts
        self.router_mac = links.config.router_mac
        self.home_agent = home_agent
        self.forwarding = forwarding
        self.correspondents = correspondents
        self.mode = policy.mode
        self.idle_timeout = policy.idle_timeout
        self.installed = {}  # home address -> {key: RuleSpec}
        self.ingress = {}  # network mode: home address -> {dpid: when the path was given}
        home_agent.cache.subscribe(self._home_changed)
        correspondents.subscribe(self._correspondent_changed)

    # ------------------------------------------------------------------ events

    def _home_changed(self, event, binding, now):
        home = binding.home_address
        if event == BindingEvent.REFRESHED and not self.forwarding.changes.get(
                home, {}).get("network_triggered"):
            return []  # same care-of address and attachment: nothing to re-place
        if event not in (BindingEvent.ADDED, BindingEvent.UPDATED):
            self.ingress.pop(home, None)
        if self.mode != RouteOptimisationMode.NETWORK and home not in self.installed \
                and not self.correspondents.correspondents_of(home):
            return []  # nothing placed, nothing to place: every refresh comes this way
        return self.sync(home)

    def _correspondent_changed(self, correspondent, event, binding, now):
        return self.sync(binding.home_address)

    def detected(self, now, dpid, meta):
        """A copy from a home switch's detection rule (network mode): the direct path
        from the switch the packet entered, or None when ``meta`` is not one."""
        placement = self.forwarding.placements.get(meta.ip_dst)
        if self.mode != RouteOptimisationMode.NETWORK or placement is None \
                or placement.home_dpid != dpid:
            return None
        ingress = self._ingress_switch(meta.ip_src)
        if ingress is None or ingress == placement.home_dpid:
            return []
        home = meta.ip_dst
        given = self.ingress.setdefault(home, {})
        again = ingress in given
        if again and now - given[ingress] < REDETECT_AFTER:
            return []  # already on its way: a packet that was in flight
        given[ingress] = now
        msgs = self.sync(home)
        if again and not msgs:  # given before, yet the switch no longer has it
            msgs = [(spec.dpid, self._flow_mod(home, spec))
                    for spec in self.installed.get(home, {}).values()
                    if spec.key[:2] == (ingress, Priority.NETWORK_PATH)]
        return msgs

    def removed(self, now, dpid, match):
        """The switch dropped a direct path of network mode (idle timeout)."""
        try:
            home = ipaddress.IPv6Address(match.get("ipv6_dst"))
        except ValueError:
            return []
        self.ingress.get(home, {}).pop(dpid, None)
        rules = self.installed.get(home, {})
        for key in [k for k in rules if k[:2] == (dpid, Priority.NETWORK_PATH)]:
            del rules[key]
        return []

    def in_use(self, correspondent, binding):
        """Whether ``correspondent``'s binding carries its traffic: its route-optimised
        rules are installed (RFC 6275 §9.5.5, docs/pipeline.md)."""
        source = ("ipv6_src", str(correspondent))
        return any(source in key[2] for key in self.installed.get(binding.home_address, {}))

    def _ingress_switch(self, source):
        """The access switch a packet from ``source`` entered the domain at: an away
        mobile node's care-of switch, or a learned host's; None for a source nobody
        has seen (docs/pipeline.md: sources are believed, as the host table is)."""
        placement = self.forwarding.placements.get(source)
        if placement is not None:
            return placement.care_of_dpid
        host = self.hosts.for_address(source)
        return host.dpid if host is not None else None

    # ------------------------------------------------------------------ rules

    def sync(self, home):
        """The flow-mods that make the switches hold the rules of ``home`` now."""
        old = self.installed.get(home, {})
        new = {spec.key: spec for spec in self._specs(home)}
        cookie_ = self._cookie(home)
        msgs = [(spec.dpid, ofmsg.flow_delete_strict(
                    Table.ROUTING, spec.priority, ofmsg.match(**dict(spec.match)), cookie_))
                for key, spec in old.items() if key not in new]
        msgs += [(spec.dpid, self._flow_mod(home, spec))
                 for key, spec in new.items() if old.get(key) != spec]
        if new:
            self.installed[home] = new
        else:
            self.installed.pop(home, None)
        return msgs

    def _specs(self, home):
        placement = self.forwarding.placements.get(home)
        if placement is None or self.mode == RouteOptimisationMode.OFF:
            return []
        home_binding = self.home_agent.cache.get(home)
        specs = []
        for correspondent in self.correspondents.correspondents_of(home):
            binding = self.correspondents.binding(correspondent, home)
            if binding.care_of_address == home_binding.care_of_address:
                specs += self._correspondent_specs(placement, correspondent)
        if self.mode == RouteOptimisationMode.NETWORK:
            specs.append(RuleSpec(placement.home_dpid, Priority.INGRESS_DETECT, _match(
                eth_type=wire.ETH_TYPE_IPV6, ipv6_dst=str(home),
                metadata=(METADATA_FROM_LSP, METADATA_FROM_LSP)),
                ("detect", placement.care_of_label)))
            for dpid in sorted(self.ingress.get(home, {})):
                specs.append(RuleSpec(dpid, Priority.NETWORK_PATH, _match(
                    eth_type=wire.ETH_TYPE_IPV6, ipv6_dst=str(home),
                    metadata=(0, METADATA_FROM_LSP)), self._towards_care_of(placement, dpid),
                    self.idle_timeout))
        return specs

    def _correspondent_specs(self, placement, correspondent):
        """Correspondent → home address at the correspondent's switch, and the mobile
        node → correspondent at the care-of switch."""
        link = self.links.of_address(correspondent)
        if link is None:
            return []
        home = str(placement.home_address)
        specs = [RuleSpec(link.dpid, Priority.ROUTE_OPTIMISED, _match(
            eth_type=wire.ETH_TYPE_IPV6, ipv6_src=str(correspondent), ipv6_dst=home),
            self._towards_care_of(placement, link.dpid))]
        if link.dpid == placement.care_of_dpid:
            # The correspondent is on the care-of link: no path to put its replies on
            # (a rule naming its port would go stale when it moves), so they keep to
            # the reverse tunnel.
            return specs
        specs.append(RuleSpec(placement.care_of_dpid, Priority.ROUTE_OPTIMISED, _match(
            in_port=placement.port, eth_src=placement.mac, eth_type=wire.ETH_TYPE_IPV6,
            ipv6_src=home, ipv6_dst=str(correspondent)), ("lsp", link.label)))
        return specs

    @staticmethod
    def _towards_care_of(placement, dpid):
        if dpid == placement.care_of_dpid:
            return ("deliver", placement.port, placement.mac)
        return ("lsp", placement.care_of_label)

    @staticmethod
    def _cookie(home):
        return cookie(CookieKind.ROUTE_OPTIMISED, int(home) & ((1 << OWNER_BITS) - 1))

    def _flow_mod(self, home, spec):
        kind = spec.action[0]
        if kind == "deliver":
            _, port, mac = spec.action
            instructions = [ofmsg.apply([
                ofmsg.set_field(eth_src=self.router_mac), ofmsg.set_field(eth_dst=mac),
                ofmsg.dec_nw_ttl(), ofmsg.output(port)])]
        else:
            copy = [ofmsg.to_controller()] if kind == "detect" else []
            instructions = [ofmsg.apply(copy + ofmsg.push_mpls(spec.action[1], LSP_TTL)),
                            ofmsg.goto(Table.LSP)]
        return ofmsg.flow_add(Table.ROUTING, spec.priority, ofmsg.match(**dict(spec.match)),
                              instructions, self._cookie(home), spec.idle_timeout,
                              notify_removal=spec.idle_timeout > 0)

    def _rules(self, dpid):
        return [self._flow_mod(home, spec) for home, rules in self.installed.items()
                for spec in rules.values() if spec.dpid == dpid]

    def switch_up(self, now, dpid):
        return [(dpid, rule) for rule in self._rules(dpid)]

    def desired_rules(self, dpid):
        return self._rules(dpid)

    def view(self):
        return {"mode": self.mode.value,
                "rules": {str(home): len(rules) for home, rules in sorted(
                    self.installed.items())},
                "ingress_switches": {str(home): sorted(given) for home, given in sorted(
                    self.ingress.items()) if given}}
