"""The rules every switch holds whatever happens: what goes to the controller first.

Neighbour discovery and mobility headers from hosts (before source validation), link
multicast, the controller's own addresses, link-local and
multicast destinations and every mobility header are handled before any host, prefix
or binding rule (docs/pipeline.md), so a neighbour probe for a home address or an away
mobile node's router solicitation is never tunnelled away.
"""
from mipv6_sdn import ofmsg, wire
from mipv6_sdn.access_links import LINK_LOCAL, MULTICAST
from mipv6_sdn.pipeline import CookieKind, Priority, Table, cookie
from mipv6_sdn.port_roles import FLOOD_GROUP
from mipv6_sdn.router_part import RouterPart

MULTICAST_MAC = ("33:33:00:00:00:00", "ff:ff:00:00:00:00")


class BaseRules(RouterPart):
    """The per-switch rules that never change."""

    def __init__(self, links):
        self.links = links

    def switch_up(self, now, dpid):
        return [(dpid, rule) for rule in self.desired_rules(dpid)]

    def desired_rules(self, dpid):
        base = cookie(CookieKind.BASE)
        icmp = {"eth_type": wire.ETH_TYPE_IPV6, "ip_proto": wire.IPPROTO_ICMPV6}
        controller = [ofmsg.goto(Table.PUNT)]  # metered per port (flood_protection.py)
        rules = [ofmsg.flow_add(Table.INGRESS, Priority.ND_TO_CONTROLLER,
                                ofmsg.match(icmpv6_type=nd_type, **icmp), controller, base)
                 for nd_type in wire.ND_TYPES]
        router_mac = self.links.config.router_mac
        # Mobility headers from hosts are judged by the controller before their source
        # is (docs/security.md): a Binding Update by its RFC 4285 authentication.
        rules.append(ofmsg.flow_add(
            Table.INGRESS, Priority.MOBILITY_FROM_HOST,
            ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, eth_dst=router_mac,
                        ip_proto=wire.IPPROTO_MH), controller, base))
        rules.append(ofmsg.flow_add(Table.INGRESS, Priority.FROM_HOST, ofmsg.match(),
                                    [ofmsg.goto(Table.SOURCE)], base))
        rules.append(ofmsg.flow_add(
            Table.SWITCHING, Priority.LINK_MULTICAST,
            ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, eth_dst=MULTICAST_MAC),
            [ofmsg.apply([ofmsg.group(FLOOD_GROUP)])], base))
        rules.append(ofmsg.flow_add(
            Table.SWITCHING, Priority.TO_ROUTER,
            ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, eth_dst=router_mac),
            [ofmsg.goto(Table.ROUTING)], base))
        own = [str(address) for address in sorted(self.links.router_addresses)]
        own += [(str(LINK_LOCAL.network_address), str(LINK_LOCAL.netmask)),
                (str(MULTICAST.network_address), str(MULTICAST.netmask))]
        for ipv6_dst in own:
            rules.append(ofmsg.flow_add(
                Table.ROUTING, Priority.ROUTER_ADDRESS,
                ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, ipv6_dst=ipv6_dst),
                controller, base))
        # OVS skips Destination Options and Routing headers when it matches ip_proto,
        # so a BU with a Home Address option matches too (docs/pipeline.md).
        rules.append(ofmsg.flow_add(
            Table.ROUTING, Priority.MOBILITY_HEADER,
            ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, ip_proto=wire.IPPROTO_MH),
            controller, base))
        # RFC 4291 §2.5.6: a link-local source is never routed off its link.
        rules.append(ofmsg.flow_add(
            Table.ROUTING, Priority.LINK_LOCAL_SOURCE,
            ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, ipv6_src=(
                str(LINK_LOCAL.network_address), str(LINK_LOCAL.netmask))), [], base))
        rules.append(ofmsg.flow_add(Table.ROUTING, Priority.NO_ROUTE, ofmsg.match(),
                                    controller, base))
        rules.append(ofmsg.flow_add(
            Table.MPLS_IN, Priority.TRANSIT, ofmsg.match(eth_type=wire.ETH_TYPE_MPLS),
            [ofmsg.goto(Table.LSP)], base))
        return rules
