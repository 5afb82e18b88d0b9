"""Network-triggered handover, in the spirit of FMIPv6's reactive mode (RFC 5568 §3.2,
docs/pipeline.md "Network-triggered handover", docs/security.md).

When a mobile node that holds a binding shows up on a new access port right after its
old port went down, the controller already knows where its traffic should go: the
delivery of its home address depends on the switch, port and MAC alone (a
:class:`mipv6_sdn.handover.Placement`), not on the care-of address. So on the node's
first frame there, delivery moves at once, before the Binding Update. The
authenticated BU then confirms it (the binding's own placement is the same, and nothing
more is sent) or puts it where the BU says; if no BU comes within ``window`` seconds
the redirect is undone.

A MAC is easy to copy, so a redirect needs all of:
- the MAC is that of a node with a binding, seen on a host port of an access link
  other than its home link (coming home is for its deregistration to say);
- the binding's port is down or blocked, and went down at most ``window`` seconds ago
  (a real detachment, not a node that has been away for long);
- the MAC is live on no other port;
- the node triggered no redirect in the last ``min_interval`` seconds.
"""
import dataclasses

from mipv6_sdn.router_part import RouterPart


class NetworkHandover(RouterPart):
    """Redirects in progress and when each node last triggered one."""

    def __init__(self, config, links, ports, hosts, forwarding, home_agent, events,
                 placed=lambda home: []):
        """``placed(home)`` returns what else must follow a binding's placement (route
        optimisation's rules) once it moved."""
        self.config = config  # a NetworkHandoverConfig
        self.placed = placed
        self.links = links
        self.ports = ports
        self.hosts = hosts
        self.forwarding = forwarding
        self.events = events
        self.down_at = {}      # (dpid, port) -> when it went down or was blocked
        self.pending = {}      # home address -> (its binding's placement, deadline)
        self.triggered = {}    # home address -> when it last triggered a redirect
        home_agent.cache.subscribe(self.binding_changed)

    def port_changed(self, now, dpid, port, up):
        if up:
            self.down_at.pop((dpid, port), None)
        else:
            self.down_at[(dpid, port)] = now

    def switch_down(self, now, dpid):
        self.down_at = {key: at for key, at in self.down_at.items() if key[0] != dpid}
        return []

    def frame_seen(self, now, dpid, port, mac):
        """A frame from ``mac`` on host port ``port`` of switch ``dpid``: the redirects'
        flow-mods when it is a bound node's first frame after a move, else []."""
        if not self.config.enabled:
            return []
        return [m for home in self.forwarding.homes_of_mac(mac)
                for m in self._redirect(now, home, dpid, port, mac)]

    def _redirect(self, now, home, dpid, port, mac):
        current = self.forwarding.placements[home]
        if (current.care_of_dpid, current.port) == (dpid, port) or dpid == current.home_dpid:
            return []  # already there, or back home: only its deregistration says so
        link = self.links.of_switch(dpid)
        original = self.pending.get(home, (current, None))[0]
        if link is None or not self._detached(now, original) or \
                self._live_elsewhere(mac, dpid, port) or \
                now - self.triggered.get(home, float("-inf")) < self.config.min_interval:
            return []
        self.triggered[home] = now
        # A redirect that follows another keeps its deadline: one window per detachment.
        self.pending[home] = (original, self.pending.get(home, (None, now + self.config.window))[1])
        moved = dataclasses.replace(current, care_of_dpid=dpid, care_of_label=link.label,
                                    port=port, mac=mac)
        msgs = self.forwarding.redirect(home, moved)
        msgs += self.placed(home)
        self.events.emit(now, "network_handover", "redirected", home_address=str(home),
                         dpid=dpid, port=port, mac=mac, flow_mods=len(msgs))
        return msgs

    def _detached(self, now, placement):
        """Whether the binding's own port is down or blocked since at most ``window``."""
        at = (placement.care_of_dpid, placement.port)
        if placement.port in self.ports.live.get(placement.care_of_dpid, ()):
            return False
        return at in self.down_at and now - self.down_at[at] <= self.config.window

    def _live_elsewhere(self, mac, dpid, port):
        host = self.hosts.get(mac)
        return host is not None and (host.dpid, host.port) != (dpid, port) and \
            host.port in self.ports.live.get(host.dpid, ())

    def binding_changed(self, event, binding, now):
        """A BU was accepted (or the binding went): the redirect has its answer."""
        if self.pending.pop(binding.home_address, None) is not None:
            self.events.emit(now, "network_handover", "confirmed",
                             home_address=str(binding.home_address), change=event.value)
        return []

    def next_due(self):
        return min((deadline for _, deadline in self.pending.values()), default=None)

    def tick(self, now):
        """Undo the redirects that no BU confirmed in time."""
        msgs = []
        for home, (original, deadline) in list(self.pending.items()):
            if now >= deadline:
                del self.pending[home]
                undone = self.forwarding.redirect(home, original, undo=True)
                undone += self.placed(home)
                self.events.emit(now, "network_handover", "undone", home_address=str(home),
                                 flow_mods=len(undone))
                msgs += undone
        return msgs
