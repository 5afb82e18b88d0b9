"""The configured access links and the controller's own addresses on them.

Read-only data every part of the router shares: which switch serves which link, which
link an address belongs to, and the addresses the controller answers on itself
(routers, ``fe80::1``, Home Agents and their anycast addresses; docs/architecture.md).
"""
import ipaddress

from mipv6_sdn.config import ROUTER_LINK_LOCAL

LINK_LOCAL = ipaddress.IPv6Network("fe80::/10")
MULTICAST = ipaddress.IPv6Network("ff00::/8")


def link_local_of(address):
    """fe80::/64 with the interface identifier of ``address``."""
    return ipaddress.IPv6Address(int(LINK_LOCAL.network_address) |
                                 int(address) & 0xFFFF_FFFF_FFFF_FFFF)


class AccessLinks:
    """The links of a :class:`mipv6_sdn.config.Config` by switch and by prefix."""

    def __init__(self, config, home_agent_addresses=()):
        self.config = config
        self.links = tuple(config.links)
        self.by_dpid = {link.dpid: link for link in self.links}
        self.router_addresses = frozenset(
            {link.router for link in self.links} | {ROUTER_LINK_LOCAL}
            | set(home_agent_addresses))

    def of_address(self, address):
        """The link whose prefix holds ``address``, or None."""
        return next((link for link in self.links if address in link.prefix), None)

    def of_switch(self, dpid):
        return self.by_dpid.get(dpid)

    def is_access_switch(self, dpid):
        return dpid in self.by_dpid
