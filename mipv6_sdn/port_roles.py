"""Port roles: which ports of a switch are host ports, trunks or blocked.

A port of a configured access switch is a host port unless LLDP has seen a link on it
(a trunk) or the configuration lists other ports (blocked); core switches have no host
ports (docs/architecture.md). Trunks take only labelled packets; blocked ports nothing.
The link's flood group (multicast within the link) follows the host ports.
"""
import enum

from mipv6_sdn import ofmsg, wire
from mipv6_sdn.pipeline import CookieKind, Priority, Table, cookie
from mipv6_sdn.router_part import RouterPart

FLOOD_GROUP = 1  # group of type ALL over the link's host ports


class PortRole(enum.Enum):
    HOST = "host"
    TRUNK = "trunk"
    BLOCKED = "blocked"


def port_rules(port, role):
    """Labelled packets from a trunk go to label switching; nothing else from a trunk
    or a blocked port is taken."""
    owner = cookie(CookieKind.TRUNK, port)
    rules = []
    if role == PortRole.TRUNK:
        rules.append(ofmsg.flow_add(
            Table.INGRESS, Priority.TRUNK_MPLS,
            ofmsg.match(in_port=port, eth_type=wire.ETH_TYPE_MPLS),
            [ofmsg.goto(Table.MPLS_IN)], owner))
    if role in (PortRole.TRUNK, PortRole.BLOCKED):
        rules.append(ofmsg.flow_add(Table.INGRESS, Priority.TRUNK_DROP,
                                    ofmsg.match(in_port=port), [], owner))
    return rules


class PortRoles(RouterPart):
    """Live ports of every switch and the role installed for each."""

    def __init__(self, links, topology):
        self.links = links
        self.topology = topology
        self.live = {}    # dpid -> set of live port numbers
        self.roles = {}   # dpid -> {port: PortRole} as installed

    def add_switch(self, dpid, ports):
        self.live[dpid] = set(ports)
        self.roles[dpid] = {}

    def switch_down(self, now, dpid):
        self.live.pop(dpid, None)
        self.roles.pop(dpid, None)
        return []

    def switch_up(self, now, dpid):
        return [(dpid, m) for m in (
            ofmsg.group_delete_all(), ofmsg.async_with_invalid_ttl(),
            ofmsg.group_all(ofmsg.OFP.OFPGC_ADD, FLOOD_GROUP, []))]

    def is_connected(self, dpid):
        return dpid in self.live

    def connected(self):
        return sorted(self.live)

    def set_live(self, dpid, port, up):
        if up:
            self.live[dpid].add(port)
        else:
            self.live[dpid].discard(port)

    def role(self, dpid, port):
        return self.roles.get(dpid, {}).get(port)

    def is_host_port(self, dpid, port):
        return self.role(dpid, port) == PortRole.HOST

    def host_ports(self, dpid):
        return sorted(port for port, role in self.roles.get(dpid, {}).items()
                      if role == PortRole.HOST)

    def _wanted_role(self, dpid, port):
        link = self.links.of_switch(dpid)
        if port in self.topology.trunk_ports(dpid):
            return PortRole.TRUNK
        if link is None or (link.ports is not None and port not in link.ports):
            return PortRole.BLOCKED
        return PortRole.HOST

    def sync(self, dpid):
        """Bring the roles of ``dpid`` into its rules: (messages, ports that became
        host ports)."""
        if dpid not in self.live:
            return [], []
        wanted = {port: self._wanted_role(dpid, port) for port in self.live[dpid]}
        installed = self.roles[dpid]
        if wanted == installed:
            return [], []
        msgs = []
        for port in sorted(set(installed) | set(wanted)):
            old, new = installed.get(port), wanted.get(port)
            if old == new:
                continue
            if old in (PortRole.TRUNK, PortRole.BLOCKED):
                msgs.append(ofmsg.flow_delete_cookie(cookie(CookieKind.TRUNK, port)))
            msgs += port_rules(port, new)
        self.roles[dpid] = wanted
        new_hosts = sorted(port for port, role in wanted.items()
                           if role == PortRole.HOST and installed.get(port) != PortRole.HOST)
        msgs.append(ofmsg.group_all(ofmsg.OFP.OFPGC_MODIFY, FLOOD_GROUP,
                                    self.host_ports(dpid)))
        return [(dpid, m) for m in msgs], new_hosts

    def desired_rules(self, dpid):
        return [rule for port, role in sorted(self.roles.get(dpid, {}).items())
                for rule in port_rules(port, role)]
