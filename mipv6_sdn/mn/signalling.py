"""What the mobile node's signalling parts share (RFC 6275 §11.7, §11.8): the
retransmission backoff, the rate limits (of Binding Updates; a token bucket, for new
correspondents), and the frames they send.

Home registration (:mod:`mipv6_sdn.mn.home_registration`) and correspondent
registration (:mod:`mipv6_sdn.mn.correspondent_registration`) both use them, and
home agent discovery sends its frames the same way.
"""
import collections
import dataclasses

from mipv6_sdn import mobility, packets, wire

# RFC 6275 §12 protocol constants.
INITIAL_BINDACK_TIMEOUT = 1.0  # §12
MAX_BINDACK_TIMEOUT = 32.0  # §12
MAX_UPDATE_RATE = 3  # §12: Binding Updates per second to one peer, at most

REFRESH_FRACTION = 0.8  # re-register when 80% of the granted lifetime has passed
MAX_IMMEDIATE_RETRIES = 2  # answers to a rejection sent at once; after that, the backoff


@dataclasses.dataclass
class Backoff:
    """When a message waiting for its answer goes next (RFC 6275 §11.8): at
    ``next_send``, then after ``timeout``, doubling up to MAX_BINDACK_TIMEOUT and going
    on at that rate."""
    next_send: float
    timeout: float = INITIAL_BINDACK_TIMEOUT

    def sent(self, now):
        """A transmission at ``now``: the next one waits ``timeout``, which it returns."""
        wait = self.timeout
        self.next_send = now + wait
        self.timeout = min(wait * 2, MAX_BINDACK_TIMEOUT)
        return wait

    def restart(self, now, timeout=INITIAL_BINDACK_TIMEOUT):
        """Send at once, the backoff from its start (an answer to a rejection)."""
        self.next_send = now
        self.timeout = timeout


class UpdateRate:
    """RFC 6275 §11.8: no more than MAX_UPDATE_RATE Binding Updates a second to one peer."""

    def __init__(self):
        self.sent_times = collections.deque(maxlen=MAX_UPDATE_RATE)

    def limited_until(self, now):
        """When the next Binding Update may go if MAX_UPDATE_RATE went in the last
        second, else None."""
        if len(self.sent_times) == MAX_UPDATE_RATE and now - self.sent_times[0] < 1:
            return self.sent_times[0] + 1
        return None

    def sent(self, now):
        self.sent_times.append(now)


class TokenBucket:
    """At most ``rate`` events a second on average, ``burst`` at once: a token comes
    every 1/``rate`` s, up to ``burst`` kept, and each event takes one. (The controller's
    is icmp_errors.ErrorRateLimiter; the agent imports codecs only, tests/test_layering.py.)"""

    def __init__(self, rate, burst):
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), None

    def take(self, now):
        """Whether an event may happen at ``now``; if so it takes a token."""
        if self.updated is not None:
            self.tokens = min(self.burst,
                              self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def binding_update_packet(care_of, home_address, peer, mh):
    """The IPv6 packet of the Binding Update ``mh`` to ``peer``: from the home address
    without a Home Address option when ``care_of`` is the home address (a
    deregistration from home, RFC 6275 §11.5.5, §11.7.2), else from ``care_of`` with
    the Home Address option (§6.3, §11.7.1, §11.7.2)."""
    if care_of == home_address:
        return packets.ipv6(home_address, peer, wire.IPPROTO_MH, mh)
    return packets.ipv6(care_of, peer, wire.IPPROTO_DSTOPTS,
                        mobility.home_address_option(home_address, wire.IPPROTO_MH) + mh)


def to_router(identity, movement, packet):
    """``packet`` in an Ethernet frame to the current link's router (its MAC from the
    router advertisement): every message of the node leaves through it."""
    return packets.ethernet(movement.link.router_mac, identity.mac, packet)
