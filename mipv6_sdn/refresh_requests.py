"""Binding Refresh Requests (RFC 6275 §6.1.2): asked once per binding, shortly before it
expires, by the correspondent node (§9.5.5) and by the Home Agent (§10.3.1).

A mobile node refreshes a binding when 80% of its lifetime has passed
(docs/mobile-node.md); a request is sent when less than REFRESH_LEAD_FRACTION of the
lifetime is left, so it only goes out for a binding whose refresh was lost.
"""
import heapq

from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.binding_cache import HEAP_SLACK, BindingEvent

REFRESH_LEAD_FRACTION = 0.1
MIN_REFRESH_LEAD = 2 * mobility.LIFETIME_UNIT  # seconds: room for a round trip


class RefreshRequests:
    """When each binding of the watched caches is to be asked to refresh."""

    def __init__(self):
        self.caches = {}  # name -> BindingCache
        self._due = []  # heap of (when, cache name, home address, sequence number)

    def watch(self, cache):
        self.caches[cache.name] = cache
        cache.subscribe(lambda event, binding, now: self._changed(cache.name, event, binding))

    def unwatch(self, cache):
        """``cache`` is gone; what is due from it is skipped."""
        self.caches.pop(cache.name, None)

    def _changed(self, name, event, binding):
        if event in (BindingEvent.ADDED, BindingEvent.UPDATED, BindingEvent.REFRESHED):
            heapq.heappush(self._due, _due_item(name, binding))
            live = sum(map(len, self.caches.values()))
            if len(self._due) > 2 * live + HEAP_SLACK:  # stale items of refreshed bindings
                self._due = [_due_item(cache.name, b) for cache in self.caches.values()
                             for b in cache]
                heapq.heapify(self._due)
        return []

    def due(self, now):
        """(cache name, binding) of each binding to ask now, once per registration."""
        due = []
        while self._due and self._due[0][0] <= now:
            _, name, home, sequence = heapq.heappop(self._due)
            cache = self.caches.get(name)
            binding = cache.get(home) if cache is not None else None
            if binding is not None and binding.sequence == sequence and binding.expires > now:
                due.append((name, binding))
        return due


def _due_item(name, binding):
    lead = max(MIN_REFRESH_LEAD, binding.lifetime * REFRESH_LEAD_FRACTION)
    return binding.expires - lead, name, binding.home_address, binding.sequence


def refresh_request(src, binding):
    """The Binding Refresh Request from ``src`` to the mobile node of ``binding``."""
    home, care_of = binding.home_address, binding.care_of_address
    mh = mobility.serialize_mobility_header(mobility.BindingRefreshRequest(), src, home)
    return packets.to_mobile_node(src, home, care_of, wire.IPPROTO_MH, mh)
