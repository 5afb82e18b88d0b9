"""The binding cache (RFC 6275 §9.1), one for the whole domain.

Entries are plain data; every operation takes ``now``. Each change is written to the
cache's store first, then announced to the subscribers (the data plane) as a
:class:`BindingEvent`; what they return is returned to the caller, so nothing the Home
Agent accepted can be missed.
"""
import dataclasses
import enum
import heapq
import ipaddress

from mipv6_sdn.binding_store import EphemeralStore, JournalError

HOME_CACHE = "home"  # the name of the Home Agent's binding cache in its store
SEQUENCE_MODULUS = 2 ** 16
SEQUENCE_WINDOW = 2 ** 15  # RFC 6275 §9.5.1: "less than 2**15 units" ahead is newer
HEAP_SLACK = 64  # stale heap items tolerated beyond twice the live ones


def sequence_newer(candidate, previous):
    """RFC 6275 §9.5.1: ``candidate`` is greater than ``previous`` modulo 2^16.

    A difference of exactly 2^15 is out of the window."""
    difference = (candidate - previous) % SEQUENCE_MODULUS
    return 0 < difference < SEQUENCE_WINDOW


@dataclasses.dataclass(frozen=True)
class Attachment:
    """Where the mobile node's care-of address was seen: switch, port and MAC."""
    dpid: int
    port: int
    mac: str


@dataclasses.dataclass(frozen=True)
class Binding:
    """One binding cache entry (RFC 6275 §9.1)."""
    home_address: ipaddress.IPv6Address
    care_of_address: ipaddress.IPv6Address
    sequence: int
    lifetime: int            # granted, seconds
    expires: float           # ``now`` at which it expires
    home_registration: bool  # the H bit
    link_local: bool = False  # the L bit: the HA also defends the link-local address
    attachment: Attachment | None = None

    def remaining(self, now):
        return max(0, int(self.expires - now))


class BindingEvent(enum.Enum):
    ADDED = "added"
    UPDATED = "updated"
    # The same binding renewed: only its sequence number and lifetime changed (a
    # refresh), so nothing placed for it changes (the refresh fast path).
    REFRESHED = "refreshed"
    DELETED = "deleted"
    EXPIRED = "expired"


class BindingCache:
    """Bindings by home address, written through to a store
    (:class:`mipv6_sdn.binding_store.BindingStore`) under this cache's ``name``.

    Subscribers are called with (event, binding, now) for each change and return the
    messages it calls for; each change returns what its subscribers returned."""

    def __init__(self, name, store=None):
        self.store = store if store is not None else EphemeralStore()
        self.name = name
        self.entries = {}
        self.subscribers = []
        self._deadlines = []  # heap of (expires, home address); stale items are skipped

    def subscribe(self, callback):
        self.subscribers.append(callback)

    def _announce(self, event, binding, now):
        return [m for callback in self.subscribers for m in callback(event, binding, now)]

    def get(self, home_address):
        return self.entries.get(home_address)

    def __len__(self):
        return len(self.entries)

    def __iter__(self):
        return iter(list(self.entries.values()))

    def transaction(self):
        """One store transaction for everything one message changes."""
        return self.store.transaction()

    def put(self, now, binding, stored=False):
        """Add or replace the binding for its home address: in the store first (unless
        the caller ``stored`` it already, in its own transaction), then here. Raises
        :class:`mipv6_sdn.binding_store.JournalError`, changing nothing, if the store
        cannot keep it."""
        if not stored:
            with self.store.transaction():
                self.store.save(self.name, binding)
        return self._insert(now, binding)

    def _insert(self, now, binding):
        old = self.entries.get(binding.home_address)
        if old is None:
            event = BindingEvent.ADDED
        elif dataclasses.replace(old, sequence=binding.sequence, lifetime=binding.lifetime,
                                 expires=binding.expires) == binding:
            event = BindingEvent.REFRESHED
        else:
            event = BindingEvent.UPDATED
        self.entries[binding.home_address] = binding
        heapq.heappush(self._deadlines, (binding.expires, binding.home_address))
        if len(self._deadlines) > 2 * len(self.entries) + HEAP_SLACK:
            # Refreshes leave stale deadlines behind: keep the heap near the live ones.
            self._deadlines = [(b.expires, home) for home, b in self.entries.items()]
            heapq.heapify(self._deadlines)
        return self._announce(event, binding, now)

    def delete(self, now, home_address, stored=False):
        """Remove the binding of ``home_address``, from the store first (as :meth:`put`)."""
        if home_address not in self.entries:
            return []
        if not stored:
            with self.store.transaction():
                self.store.remove(self.name, home_address)
        return self._announce(BindingEvent.DELETED, self.entries.pop(home_address), now)

    def expire(self, now):
        """Remove and announce every binding whose lifetime has run out."""
        msgs = []
        while self._deadlines and self._deadlines[0][0] <= now:
            expires, home_address = heapq.heappop(self._deadlines)
            binding = self.entries.get(home_address)
            if binding is not None and binding.expires == expires:
                del self.entries[home_address]
                try:
                    self.store.remove(self.name, home_address)
                except JournalError:
                    pass  # an expired binding is not restored anyway (its lifetime)
                msgs += self._announce(BindingEvent.EXPIRED, binding, now)
        return msgs

    def restore(self, now):
        """Reload the live bindings the store kept (a restart)."""
        return [m for binding in self.store.load(self.name, now)
                for m in self._insert(now, binding)]

    def save_state(self, key, value):
        self.store.save_state(self.name, key, value)

    def load_state(self):
        return self.store.load_state(self.name)
