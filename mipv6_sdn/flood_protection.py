"""Flood protection of the control plane: every path to the controller is metered per
access port (docs/security.md, "Floods").

Every rule that sends packets to the controller sends them to table PUNT
(docs/pipeline.md), where a rule per host port applies that port's OpenFlow meter (a
drop band in packets per second, OpenFlow 1.3 §5.7) before the controller; what reaches
PUNT from a trunk (packets that came through the domain: address resolution, no route)
shares one meter per switch. A trusted port is not metered: it is configured to carry a
load generator. OVS deletes every meter when the controller connects again, and with a
meter the rules that use it, so meters are installed first on every connect. What the
meters dropped is read from their statistics and counted per port.

Packets sent to the controller by the switches themselves for an expired hop limit
(OFPR_INVALID_TTL) pass no rule and so no meter; the controller's queue per port
(:mod:`mipv6_sdn.fair_queue`) is the layer that bounds them.
"""
from mipv6_sdn import ofmsg
from mipv6_sdn.config import FloodProtectionConfig
from mipv6_sdn.pipeline import CookieKind, Priority, Table, cookie
from mipv6_sdn.router_part import RouterPart

SHARED_METER = 1  # what reaches PUNT from a trunk
MAX_PORT_METER = 262_143  # OVS 3.1 offers 262,144 meters (ovs-ofctl meter-features)


def port_meter(port):
    """The meter of host port ``port``; a port numbered beyond the meters shares one."""
    return port + 1 if port + 1 <= MAX_PORT_METER else SHARED_METER


class FloodProtection(RouterPart):
    """Meters and punt rules per host port of every access switch; drop counts."""

    def __init__(self, links, ports):
        self.links = links
        self.ports = ports
        self.config = links.config.flood_protection or FloodProtectionConfig()
        self.metered = {}  # dpid -> host ports whose punt rule is installed
        self.dropped = {}  # (dpid, port, or None for the shared meter) -> packets

    def _trusted(self, dpid, port):
        link = self.links.of_switch(dpid)
        return link is not None and port in link.trusted_ports

    def _punt_rule(self, dpid, port):
        instructions = [ofmsg.apply([ofmsg.to_controller()])]
        if not self._trusted(dpid, port):
            instructions.insert(0, ofmsg.meter(port_meter(port)))
        return ofmsg.flow_add(Table.PUNT, Priority.PUNT_PORT, ofmsg.match(in_port=port),
                              instructions, cookie(CookieKind.PUNT, port))

    def _shared_rule(self):
        instructions = [ofmsg.apply([ofmsg.to_controller()])]
        if self.config.enabled:
            instructions.insert(0, ofmsg.meter(SHARED_METER))
        return ofmsg.flow_add(Table.PUNT, Priority.PUNT_SHARED, ofmsg.match(), instructions,
                              cookie(CookieKind.BASE))

    def switch_up(self, now, dpid):
        self.metered[dpid] = set()
        msgs = [ofmsg.meter_delete()]
        if self.config.enabled:
            msgs.append(ofmsg.meter_add(SHARED_METER, self.config.shared_rate,
                                        self.config.port_burst))
        return [(dpid, m) for m in msgs + [self._shared_rule()]]

    def switch_down(self, now, dpid):
        self.metered.pop(dpid, None)
        return []

    def ports_changed(self, now, dpid):
        """After switch ``dpid``'s port roles changed: a meter and punt rule for each
        new host port; those of ports that are no longer host ports go."""
        if dpid not in self.metered or not self.config.enabled:
            return []
        wanted = set(self.ports.host_ports(dpid))
        installed = self.metered[dpid]
        msgs = []
        for port in sorted(installed - wanted):
            msgs.append(ofmsg.flow_delete_cookie(cookie(CookieKind.PUNT, port)))
            if not self._trusted(dpid, port) and port_meter(port) != SHARED_METER:
                msgs.append(ofmsg.meter_delete(port_meter(port)))
        for port in sorted(wanted - installed):
            if not self._trusted(dpid, port) and port_meter(port) != SHARED_METER:
                msgs.append(ofmsg.meter_add(port_meter(port), self.config.port_rate,
                                            self.config.port_burst))
            msgs.append(self._punt_rule(dpid, port))
        self.metered[dpid] = wanted
        return [(dpid, m) for m in msgs]

    def desired_rules(self, dpid):
        return [self._shared_rule()] + [self._punt_rule(dpid, port)
                                        for port in sorted(self.metered.get(dpid, ()))]

    def meter_stats(self, dpid, dropped):
        """``dropped``: [(meter id, packets its drop band dropped)] of switch ``dpid``."""
        by_meter = {port_meter(port): port for port in self.metered.get(dpid, ())}
        for meter_id, count in dropped:
            port = by_meter.get(meter_id)
            if port is not None or meter_id == SHARED_METER:
                self.dropped[dpid, port] = count

    def view(self):
        return {"enabled": self.config.enabled, "port_rate": self.config.port_rate,
                "dropped": {f"{dpid}:{'shared' if port is None else port}": count
                            for (dpid, port), count in sorted(
                                self.dropped.items(), key=lambda item: (
                                    item[0][0], item[0][1] or 0))}}
