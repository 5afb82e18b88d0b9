"""The mobile node of RFC 6275 §11, as pure logic: events in, actions out.

:class:`MobileNode` never reads a clock, opens a socket or changes an address. Each
public method takes ``now`` (wall-clock seconds: RFC 4285 timestamps are wall-clock
time) and one plain event, and returns a list of actions
(:mod:`mipv6_sdn.mn.actions`) for the effectful side (:mod:`mipv6_sdn.mn.system`) to
carry out in order.

Events: :meth:`~MobileNode.start`, :meth:`~MobileNode.frame_received` (any frame from
the interface; router advertisements, Binding Acknowledgements, Binding Refresh
Requests, Binding Errors, Home and Care-of Tests, Parameter Problems and DHAAD replies
are acted on), :meth:`~MobileNode.correspondent_seen` (the addresses of a frame from a
possible correspondent),
:meth:`~MobileNode.addresses_changed` (the usable global addresses of the interface,
whenever the kernel changes them: this is how the care-of address the kernel's SLAAC
forms arrives), :meth:`~MobileNode.link_changed` (carrier up or down) and
:meth:`~MobileNode.tick` (timers).

The node is made of parts that own their state (:mod:`mipv6_sdn.mn.part`): movement
detection, the Binding Update List, home registration, correspondent registration
(route optimisation), home agent discovery and the return home. The choices where RFC
6275 leaves room are listed in docs/mobile-node.md.
"""
import secrets

from mipv6_sdn import packets, wire
from mipv6_sdn.mn.actions import Log
from mipv6_sdn.mn.binding_update_list import BindingUpdateList
from mipv6_sdn.mn.correspondent_registration import CorrespondentRegistration
from mipv6_sdn.mn.discovery import HomeAgentDiscovery
from mipv6_sdn.mn.home_registration import DEFAULT_LIFETIME, HomeRegistration
from mipv6_sdn.mn.movement import Movement, parse_router_advert
from mipv6_sdn.mn.part import Identity, Note
from mipv6_sdn.mn.return_home import ReturnHome


class MobileNode:
    """One mobile node: hands each event to its parts, and each note a part returns to
    every part, in the order of ``parts``; returns the actions they give back."""

    def __init__(self, *, home_address, mac, spi, key, home_agent_address=None,
                 lifetime=DEFAULT_LIFETIME, sequence=0, dhaad_identifier=0,
                 route_optimise=(), random_bytes=secrets.token_bytes):
        """``home_address`` is an IPv6Interface (address and home prefix); ``mac`` the
        interface's MAC; ``spi`` and ``key`` the RFC 4285 MN-HA security association;
        ``home_agent_address`` None to find it by DHAAD; ``lifetime`` the binding
        lifetime to request (seconds); ``sequence`` the last Binding Update sequence
        number used (the next is one more) and ``dhaad_identifier`` the first DHAAD
        identifier: random numbers from the caller. ``route_optimise``: IPv6Networks
        whose hosts get correspondent registrations; ``random_bytes(n)``: n random
        octets for them (init cookies, sequence numbers)."""
        self.identity = Identity(home_address.ip, home_address.network, mac)
        self.movement = Movement(self.identity)
        self.binding_update_list = BindingUpdateList()
        self.home_registration = HomeRegistration(
            self.identity, self.movement, self.binding_update_list, spi=spi, key=key,
            home_agent=home_agent_address, lifetime=lifetime, sequence=sequence)
        self.correspondents = CorrespondentRegistration(
            self.identity, self.movement, self.home_registration, self.binding_update_list,
            prefixes=route_optimise, random_bytes=random_bytes)
        self.discovery = HomeAgentDiscovery(self.identity, self.movement, dhaad_identifier)
        self.return_home = ReturnHome(self.identity, self.movement)
        # Within one tick: home then correspondent registrations (retransmissions,
        # refresh), DHAAD, router reachability and solicitation, then neighbour
        # advertisements.
        self.parts = (self.home_registration, self.correspondents, self.discovery,
                      self.movement, self.return_home)

    def start(self, now):
        """Ask for a router advertisement at once, rather than wait for one."""
        identity, registration = self.identity, self.home_registration
        prefixes = ", ".join(map(str, self.correspondents.table.prefixes)) or "none"
        return [Log(f"mobile node {identity.home_address} (home prefix "
                    f"{identity.home_prefix}), home agent "
                    f"{registration.home_agent or 'by DHAAD'}, lifetime "
                    f"{registration.lifetime} s, route optimisation with {prefixes}")] \
            + self._run(now, self.movement.start(now))

    def link_changed(self, now, up):
        """Carrier went up or down: a hint of movement (RFC 6275 §11.5.1)."""
        return self._run(now, self.movement.link_changed(now, up))

    def addresses_changed(self, now, addresses):
        """The interface's usable global addresses (IPv6Interface; tentative ones only
        when optimistic), after any change the kernel reports."""
        return self._run(now, self.movement.addresses_changed(now, addresses))

    def frame_received(self, now, frame):
        """A frame from the interface; anything not for the mobile node is ignored."""
        try:
            meta = packets.parse_frame(frame)
            if meta.icmp_type == wire.ND_ROUTER_ADVERT:
                return self.router_advertisement(now, parse_router_advert(meta))
        except wire.PacketError:
            return []
        return self._each_part(now, lambda part: part.frame_received(now, meta))

    def correspondent_seen(self, now, source, destination):
        """The addresses of a frame the filter of new correspondents passed (RFC 6275
        §11.7.2: route optimisation with ``source`` when it is one)."""
        return self._run(now, self.correspondents.seen(now, source, destination))

    def router_advertisement(self, now, ra):
        """Movement detection (RFC 6275 §11.5.1) of a parsed router advertisement."""
        return self._run(now, self.movement.router_advertisement(now, ra))

    def tick(self, now):
        """Timers: retransmissions, refresh, DHAAD, router solicitation, NAs."""
        return self._each_part(now, lambda part: part.tick(now))

    def _each_part(self, now, event):
        """What every part answers to ``event(part)``, in order, notes followed."""
        actions = []
        for part in self.parts:
            actions += self._run(now, event(part))
        return actions

    def _run(self, now, returned):
        """``returned`` with each note replaced by what the parts answer to it."""
        actions = []
        for item in returned:
            actions += self._notify(now, item) if isinstance(item, Note) else [item]
        return actions

    def _notify(self, now, note):
        return self._each_part(now, lambda part: part.notify(now, note))
