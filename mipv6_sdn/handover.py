"""Care-of forwarding in the switches for one binding (docs/pipeline.md).

A binding is placed as three rules, whatever the size of the network:
- at the home link's switch, interception: ``ipv6_dst = HoA`` → onto the LSP of the
  switch where the care-of address is (packets from home-link hosts, reached through
  proxy ND, and packets popped there alike);
- at the care-of switch, delivery: ``ipv6_dst = HoA`` arriving from an LSP → the MN's
  port and MAC, the original packet untouched but for MACs and the hop limit;
- at the care-of switch, reverse tunnelling: from the MN's port and MAC with
  ``ipv6_src = HoA`` → onto the home switch's LSP (RFC 6275 §11.3.1 default; not in
  network mode, where the mobile node's packets are routed directly).
:func:`plan_handover` turns one placement into the next with the fewest flow-mods: a
refresh changes nothing, a handover rewrites the interception rule and moves the two
care-of rules, a deletion removes all three.
"""
import dataclasses
import ipaddress

from mipv6_sdn import ofmsg, wire
from mipv6_sdn.pipeline import METADATA_FROM_LSP, CookieKind, Priority, Table, cookie

OWNER_BITS = 56


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one binding's rules live."""
    home_address: ipaddress.IPv6Address
    home_dpid: int
    home_label: int        # the LSP towards the home link (reverse tunnelling)
    care_of_dpid: int
    care_of_label: int     # the LSP towards the care-of switch (interception)
    port: int
    mac: str
    reverse_tunnel: bool = True  # RFC 6275 §11.3.1; off in network mode (direct)

    @property
    def cookie(self):
        return cookie(CookieKind.BINDING, int(self.home_address) & ((1 << OWNER_BITS) - 1))


def interception_rule(placement, lsp_ttl):
    match = ofmsg.match(eth_type=wire.ETH_TYPE_IPV6,
                        ipv6_dst=wire.address_text(placement.home_address))
    return ofmsg.flow_add(Table.ROUTING, Priority.BINDING, match, [
        ofmsg.apply(ofmsg.push_mpls(placement.care_of_label, lsp_ttl)),
        ofmsg.goto(Table.LSP)], placement.cookie)


def delivery_rule(placement, router_mac):
    match = ofmsg.match(eth_type=wire.ETH_TYPE_IPV6,
                        ipv6_dst=wire.address_text(placement.home_address),
                        metadata=(METADATA_FROM_LSP, METADATA_FROM_LSP))
    return ofmsg.flow_add(Table.ROUTING, Priority.BINDING, match, [ofmsg.apply([
        ofmsg.set_field(eth_src=router_mac), ofmsg.set_field(eth_dst=placement.mac),
        ofmsg.dec_nw_ttl(), ofmsg.output(placement.port)])], placement.cookie)


def reverse_tunnel_rule(placement, lsp_ttl):
    match = ofmsg.match(in_port=placement.port, eth_src=placement.mac,
                        eth_type=wire.ETH_TYPE_IPV6,
                        ipv6_src=wire.address_text(placement.home_address))
    return ofmsg.flow_add(Table.ROUTING, Priority.REVERSE_TUNNEL, match, [
        ofmsg.apply(ofmsg.push_mpls(placement.home_label, lsp_ttl)),
        ofmsg.goto(Table.LSP)], placement.cookie)


def plan_handover(old, new, router_mac, lsp_ttl):
    """The (dpid, flow-mod) pairs that turn placement ``old`` into ``new`` (either None)."""
    if old == new:
        return []
    msgs = []
    if old is not None:
        care_of_moves = new is None or (old.care_of_dpid, old.port, old.mac) != (
            new.care_of_dpid, new.port, new.mac)
        if care_of_moves:
            msgs.append((old.care_of_dpid, ofmsg.flow_delete_cookie(old.cookie)))
        if new is None and old.home_dpid != old.care_of_dpid:
            msgs.append((old.home_dpid, ofmsg.flow_delete_cookie(old.cookie)))
    if new is not None:
        # An ADD with the same match and priority replaces the old interception rule.
        msgs.append((new.home_dpid, interception_rule(new, lsp_ttl)))
        if old is None or (old.care_of_dpid, old.port, old.mac) != (
                new.care_of_dpid, new.port, new.mac):
            msgs.append((new.care_of_dpid, delivery_rule(new, router_mac)))
            if new.reverse_tunnel:
                msgs.append((new.care_of_dpid, reverse_tunnel_rule(new, lsp_ttl)))
    return msgs
