"""What happened in the controller, for the people and scripts that watch it (docs/web.md).

Parts emit events as plain JSON-able dicts with ``kind`` and ``at`` (the ``now`` of the
call); the shell drains them after each call, stamps when its replies left, and serves
them as an event stream. Running totals by kind and label (a BU's status, a binding's
change) feed the Prometheus metrics, so a count never depends on who was listening.
"""
import collections

from mipv6_sdn import mobility
from mipv6_sdn.wire import address_text
from mipv6_sdn.binding_cache import BindingEvent

PENDING_MAX = 4096  # events kept until drained (a core run with nobody draining stays bounded)


class EventLog:
    """Events waiting to be drained, totals by (kind, label), and when each port last
    came up (the attachment a handover is timed from)."""

    def __init__(self):
        self.pending = collections.deque(maxlen=PENDING_MAX)
        self.totals = collections.Counter()
        self.port_up_at = {}  # (dpid, port) -> when it last came up

    def emit(self, now, kind, label=None, **fields):
        event = {"kind": kind, "at": now, **fields}
        self.pending.append(event)
        self.totals[(kind, label)] += 1
        return event

    def drain(self):
        """The events emitted since the last drain, oldest first."""
        events = list(self.pending)
        self.pending.clear()
        return events

    def total(self, kind):
        """{label: count} of ``kind``."""
        return {label: count for (k, label), count in self.totals.items() if k == kind}

    # ------------------------------------------------------------------ emitters

    def port(self, now, dpid, port, up):
        if up:
            self.port_up_at[(dpid, port)] = now
        else:
            self.port_up_at.pop((dpid, port), None)
        self.emit(now, "port", "up" if up else "down", dpid=dpid, port=port, up=up)

    def binding(self, cache, event, binding, now):
        """A subscriber of a binding cache (``cache``: "home" or a correspondent)."""
        kind = "home" if cache == "home" else "correspondent"
        self.emit(now, "binding", (kind, event.value), cache=cache, change=event.value,
                  home_address=address_text(binding.home_address),
                  care_of_address=address_text(binding.care_of_address),
                  sequence=binding.sequence, lifetime=binding.lifetime,
                  expires=binding.expires if event in (
                      BindingEvent.ADDED, BindingEvent.UPDATED, BindingEvent.REFRESHED)
                  else None)
        return []

    def binding_update(self, now, home, care_of, update, status, attachment=None,
                       node="home_agent", acknowledged=None):
        """A Binding Update handled by ``node`` (the Home Agent, or the correspondent's
        address): its status (None: not kept, so no BA) and whether a BA went back
        (the Home Agent answers every one it keeps, RFC 6275 §10.3.1)."""
        if acknowledged is None:
            acknowledged = status is not None
        return self.emit(now, "binding_update",
                         ("home_agent" if node == "home_agent" else "correspondent", status,
                          acknowledged), node=node, acknowledged=acknowledged,
                         home_address=address_text(home),
                         care_of_address=address_text(care_of),
                         sequence=update.sequence,
                         lifetime=update.lifetime * mobility.LIFETIME_UNIT, status=status,
                         **_where(attachment))

    def handover(self, now, before, after, flow_mods, attachment):
        """A home binding moved to a new care-of address: the timeline from the port's
        attachment to the BU (the shell adds when the BA left)."""
        attached = self.port_up_at.get((attachment.dpid, attachment.port)) \
            if attachment is not None else None
        return self.emit(
            now, "handover", home_address=str(after.home_address),
            from_care_of=str(before.care_of_address) if before is not None else None,
            to_care_of=str(after.care_of_address), attach_at=attached, bu_at=now,
            attach_to_bu_ms=None if attached is None else round((now - attached) * 1000, 3),
            flow_mods=flow_mods, **_where(attachment))


def _where(attachment):
    if attachment is None:
        return {"dpid": None, "port": None}
    return {"dpid": attachment.dpid, "port": attachment.port}
