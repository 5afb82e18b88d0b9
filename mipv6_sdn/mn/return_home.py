"""Back home (RFC 6275 §11.5.5): once no binding is left, the home address is on-link
again and, after being away, announced with unsolicited Neighbour Advertisements.

Home registration says when, with the note HOME_ADDRESS_USABLE
(:class:`mipv6_sdn.mn.part.Event`).
"""
import dataclasses
import ipaddress

from mipv6_sdn import packets, wire
from mipv6_sdn.mn.actions import AssignHomeAddress, DefaultRoute, Log, Send
from mipv6_sdn.mn.part import Event, Part

MAX_NEIGHBOR_ADVERTISEMENT = 3  # unsolicited NAs on return home (RFC 4861 §7.2.6)
RETRANS_TIMER = 1.0  # RFC 4861 §10


@dataclasses.dataclass
class Announcement:
    """Unsolicited NAs for the home address after returning home (RFC 6275 §11.5.5)."""
    next_send: float
    remaining: int = MAX_NEIGHBOR_ADVERTISEMENT


class ReturnHome(Part):
    """The home address /64 on-link at home, and its announcement."""

    def __init__(self, identity, movement):
        self.identity = identity
        self.movement = movement
        self.announcement = None

    def notify(self, now, note):
        if note.event is Event.HOME_ADDRESS_USABLE:
            return self._at_home(now, announce=note.from_away)
        if note.event is Event.MOVED_AWAY:
            self.announcement = None
        return []

    def tick(self, now):
        return self._announce_due(now)

    def _at_home(self, now, announce):
        """The home address /64 on-link again and, after being away, announced."""
        home_address = self.identity.home_address
        actions = [AssignHomeAddress(ipaddress.IPv6Interface(
                       (home_address, self.identity.home_prefix.prefixlen))),
                   DefaultRoute(self.movement.link.router_ll, home_address)]
        if announce:
            self.announcement = Announcement(next_send=now)
            actions += self._announce_due(now)
        return actions

    def _announce_due(self, now):
        """RFC 6275 §11.5.5: NA to all-nodes for the home address, Override set,
        MAX_NEIGHBOR_ADVERTISEMENT times RETRANS_TIMER apart (RFC 4861 §7.2.6)."""
        announcement = self.announcement
        if announcement is None or now < announcement.next_send:
            return []
        announcement.remaining -= 1
        announcement.next_send = now + RETRANS_TIMER
        if announcement.remaining <= 0:
            self.announcement = None
        home_address = self.identity.home_address
        frame = packets.neighbor_advert(
            src_mac=self.identity.mac, eth_dst=wire.multicast_mac(wire.ALL_NODES),
            src=home_address, dst=wire.ALL_NODES, target=home_address,
            router=False, solicited=False, override=True)
        return [Send(frame, "unsolicited neighbour advertisement"),
                Log(f"unsolicited NA for {home_address} to all-nodes (override)")]
