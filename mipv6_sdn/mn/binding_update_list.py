"""The Binding Update List (RFC 6275 §11.1): one entry per peer the node registers with.

The home agent is one peer; each correspondent with a route-optimised binding (RFC
6275 §11.7.2) is another. Besides the acknowledged bindings it
keeps how long a binding may live at each peer, acknowledged or not: until then a
deregistration is worth sending.
"""
import dataclasses
import ipaddress


@dataclasses.dataclass
class BindingUpdateListEntry:
    """RFC 6275 §11.1: a registration the peer acknowledged."""
    care_of: ipaddress.IPv6Address
    sequence: int
    lifetime: int  # granted, seconds
    expires: float
    refresh_at: float


class BindingUpdateList:
    """Acknowledged bindings and the latest time a binding may live, by peer address."""

    def __init__(self):
        self._entries = {}
        self._may_live_until = {}

    def get(self, peer):
        """The acknowledged binding at ``peer``, or None."""
        return self._entries.get(peer)

    def bound(self, peer, now):
        """Whether ``peer`` acknowledged a binding that has not expired."""
        entry = self._entries.get(peer)
        return entry is not None and now < entry.expires

    def may_be_bound(self, peer, now):
        """Whether a binding at ``peer`` may still live (a Binding Update asked for it)."""
        until = self._may_live_until.get(peer)
        return until is not None and now < until

    def sent(self, peer, until):
        """A Binding Update to ``peer`` asked for a binding that lives until ``until``."""
        self._may_live_until[peer] = max(self._may_live_until.get(peer) or until, until)

    def acknowledged(self, peer, entry):
        """``peer`` granted the binding ``entry``; none of ours lives longer."""
        self._entries[peer] = entry
        self._may_live_until[peer] = entry.expires

    def expire(self, peer, now):
        """Drop the binding at ``peer`` once expired; the entry dropped, or None."""
        entry = self._entries.get(peer)
        if entry is None or now < entry.expires:
            return None
        return self._entries.pop(peer)

    def forget(self, peer):
        """No binding is left at ``peer`` (deregistered)."""
        self._entries.pop(peer, None)
        self._may_live_until.pop(peer, None)
