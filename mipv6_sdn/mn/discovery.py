"""Dynamic Home Agent Address Discovery (RFC 6275 §11.4.1).

Asked for with the note HOME_AGENT_WANTED; the first address of the matching reply
goes to the other parts with HOME_AGENT_FOUND (:class:`mipv6_sdn.mn.part.Event`).
"""
import dataclasses
import logging

from mipv6_sdn import mobility, packets
from mipv6_sdn.mn.actions import Log, Send
from mipv6_sdn.mn.part import Event, Note, Part
from mipv6_sdn.mn.signalling import to_router

INITIAL_DHAAD_TIMEOUT = 3.0  # RFC 6275 §12
DHAAD_RETRIES = 4  # RFC 6275 §12


@dataclasses.dataclass
class Discovery:
    """A Dynamic Home Agent Address Discovery in progress (RFC 6275 §11.4.1)."""
    identifier: int
    next_send: float
    timeout: float = INITIAL_DHAAD_TIMEOUT
    sent: int = 0


class HomeAgentDiscovery(Part):
    """DHAAD requests from the care-of address (``movement`` has it) and their replies."""

    def __init__(self, identity, movement, identifier):
        """``identifier``: the first DHAAD identifier (a random number from the caller)."""
        self.identity = identity
        self.movement = movement
        self.identifier = identifier & 0xFFFF  # the next one to use
        self.discovery = None

    def notify(self, now, note):
        if note.event is Event.HOME_AGENT_WANTED:
            return self._start(now)
        if note.event is Event.RETURNED_HOME:
            self.discovery = None
        return []

    def frame_received(self, now, meta):
        if meta.icmp_type == mobility.HAAD_REPLY and meta.dhaad is not None:
            return self._reply(now, meta)
        return []

    def tick(self, now):
        return self._due(now)

    def _start(self, now):
        if self.discovery is None:
            self.discovery = Discovery(identifier=self.identifier, next_send=now)
            self.identifier = (self.identifier + 1) & 0xFFFF
        return self._due(now)

    def _due(self, now):
        """RFC 6275 §11.4.1: DHAAD Request from the care-of address to the home-agents
        anycast address of the home prefix, retransmitted with INITIAL_DHAAD_TIMEOUT
        doubling DHAAD_RETRIES times, then at that last interval."""
        discovery, care_of = self.discovery, self.movement.care_of
        if discovery is None or now < discovery.next_send or care_of is None:
            return []
        anycast = mobility.home_agents_anycast(self.identity.home_prefix)
        packet = packets.icmpv6(care_of, anycast, mobility.HAAD_REQUEST, 0,
                                mobility.haad_request(discovery.identifier))
        discovery.sent += 1
        discovery.next_send = now + discovery.timeout
        if discovery.sent <= DHAAD_RETRIES:
            discovery.timeout *= 2
        return [Send(to_router(self.identity, self.movement, packet), "DHAAD request"),
                Log(f"DHAAD request {discovery.identifier} to {anycast} from {care_of}"
                    + (f" (retransmission {discovery.sent - 1})" if discovery.sent > 1 else ""))]

    def _reply(self, now, meta):
        discovery, reply = self.discovery, meta.dhaad
        if discovery is None or reply.identifier != discovery.identifier \
                or meta.ip_dst != self.movement.care_of:
            return []
        if not reply.home_agents:
            return [Log("DHAAD reply lists no home agent", logging.WARNING)]
        self.discovery = None
        home_agent = reply.home_agents[0]
        return [Log(f"DHAAD reply: home agent {home_agent}, "
                    f"{now - self.movement.attached_at:.3f} s after attachment"),
                Note(Event.HOME_AGENT_FOUND, address=home_agent)]
