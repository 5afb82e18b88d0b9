"""The host table: hosts learned on host ports, the addresses they own, their rules.

A host is learned from the neighbour discovery it performs, only on host ports (never
on a trunk, docs/architecture.md); its addresses from source address validation
(:mod:`mipv6_sdn.source_validation`), which decides who owns one. Each host has a
switching rule for its MAC and a host route for each global address of its link; an
address belongs to one MAC at a time.
"""
import dataclasses
import logging

from mipv6_sdn import ofmsg, wire
from mipv6_sdn.pipeline import CookieKind, Priority, Table, cookie
from mipv6_sdn.router_part import RouterPart

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Host:
    """A host learned on a host port: where it is and the global addresses it uses."""
    mac: str
    dpid: int
    port: int
    addresses: set = dataclasses.field(default_factory=set)
    last_seen: float = 0.0

    @property
    def cookie(self):
        return cookie(CookieKind.HOST, int(self.mac.replace(":", ""), 16))


class HostTable(RouterPart):
    """Hosts by MAC and the owner of every learned address."""

    def __init__(self, links, ports):
        self.links = links
        self.ports = ports
        self.hosts = {}          # mac -> Host
        self.address_owner = {}  # global address -> mac

    def __iter__(self):
        return iter(sorted(self.hosts.values(), key=lambda host: host.mac))

    def get(self, mac):
        return self.hosts.get(mac)

    def for_address(self, address):
        mac = self.address_owner.get(address)
        return self.hosts.get(mac) if mac is not None else None

    def owner_on_link(self, address, link):
        """The MAC known for ``address`` on ``link``'s switch, or None."""
        host = self.for_address(address)
        if host is None or link is None or host.dpid != link.dpid:
            return None
        return host.mac

    # ------------------------------------------------------------------ rules

    def host_rules(self, host):
        rules = [ofmsg.flow_add(Table.SWITCHING, Priority.HOST_MAC,
                                ofmsg.match(eth_dst=host.mac),
                                [ofmsg.apply([ofmsg.output(host.port)])], host.cookie)]
        return rules + [self._host_route(host, address) for address in sorted(host.addresses)]

    def _host_route(self, host, address):
        return ofmsg.flow_add(
            Table.ROUTING, Priority.HOST_ROUTE,
            ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, ipv6_dst=wire.address_text(address)),
            [ofmsg.apply([ofmsg.set_field(eth_src=self.links.config.router_mac),
                          ofmsg.set_field(eth_dst=host.mac), ofmsg.dec_nw_ttl(),
                          ofmsg.output(host.port)])], host.cookie)

    def desired_rules(self, dpid):
        return [rule for host in self.hosts.values() if host.dpid == dpid
                for rule in self.host_rules(host)]

    # ------------------------------------------------------------------ learning

    def forget(self, doomed):
        """Forget every host for which ``doomed(host)`` holds, and its rules."""
        msgs = []
        for host in [h for h in self.hosts.values() if doomed(h)]:
            del self.hosts[host.mac]
            for address in host.addresses:
                self.address_owner.pop(address, None)
            if self.ports.is_connected(host.dpid):
                msgs.append((host.dpid, ofmsg.flow_delete_cookie(host.cookie)))
        return msgs

    def learn(self, now, dpid, port, mac, address):
        """Learn ``mac`` on ``dpid:port`` and, when global on this link, ``address``:
        (messages, True when ``address`` became this host's)."""
        link = self.links.of_switch(dpid)
        if link is None or not self.ports.is_host_port(dpid, port):
            return [], False
        if int(mac[:2], 16) & 1 or mac == self.links.config.router_mac:
            return [], False
        msgs = []
        host = self.hosts.get(mac)
        if host is not None and (host.dpid, host.port) != (dpid, port):
            msgs += self.forget(lambda h: h.mac == mac)
            host = None
        if host is None:
            host = self.hosts[mac] = Host(mac=mac, dpid=dpid, port=port)
            msgs += [(dpid, rule) for rule in self.host_rules(host)]
            LOG.info("host %s at dpid %d port %d", mac, dpid, port)
        host.last_seen = now
        if address is None or address not in link.prefix or address == link.router \
                or address in host.addresses:
            return msgs, False
        msgs += self.release(address)
        host.addresses.add(address)
        self.address_owner[address] = mac
        msgs.append((dpid, self._host_route(host, address)))
        return msgs, True

    def release(self, address):
        """``address`` is no longer its host's: the host route goes."""
        host = self.hosts.get(self.address_owner.pop(address, None))
        if host is None or address not in host.addresses:
            return []
        host.addresses.discard(address)
        return [(host.dpid, ofmsg.flow_delete_cookie(host.cookie))] + [
            (host.dpid, rule) for rule in self.host_rules(host)]

    def view(self):
        return [{"mac": h.mac, "dpid": h.dpid, "port": h.port,
                 "addresses": sorted(str(a) for a in h.addresses)} for h in self]
