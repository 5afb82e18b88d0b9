"""ICMPv6 errors the router owes, and the one rate limit they share.

RFC 4443 §2.4(f) limits the rate of ICMPv6 errors; RFC 6275 §9.3.3 limits Binding
Errors the same way. One token bucket serves the router's errors and the Home Agent's
Binding Errors and Parameter Problems together.
"""
from mipv6_sdn import packets, wire

ICMP_ERROR_RATE = 10.0  # RFC 4443 §2.4(f): errors per second, token bucket
ICMP_ERROR_BURST = 10.0


class ErrorRateLimiter:
    """A token bucket of ``rate`` per second holding at most ``burst`` tokens."""

    def __init__(self, rate=ICMP_ERROR_RATE, burst=ICMP_ERROR_BURST):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = None

    def allow(self, now):
        """Take a token if there is one: True when one more error may be sent now."""
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + self.rate * (now - self.updated))
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class IcmpErrors:
    """Errors from the router address of the offender's link, rate-limited."""

    def __init__(self, links, limiter, delivery):
        self.links = links
        self.limiter = limiter
        self.delivery = delivery

    def send(self, now, offending, origin, icmp_type, code, parameter=0):
        """An error about ``offending`` (a PacketMeta that arrived from ``origin``,
        (dpid, port) of a host port, or None)."""
        link = self.links.of_address(offending.ip_src)
        if link is None and origin is not None:
            link = self.links.of_switch(origin[0])
        if link is None or not self.limiter.allow(now):
            return []
        error = packets.icmp_error(offending, link.router, icmp_type, code, parameter)
        if error is None:
            return []
        return self.delivery.answer(now, offending, origin, error)

    def time_exceeded(self, now, offending, origin):
        return self.send(now, offending, origin, wire.ICMPV6_TIME_EXCEEDED, 0)

    def unreachable(self, now, offending, origin, code):
        return self.send(now, offending, origin, wire.ICMPV6_DST_UNREACH, code)
