"""What the parts of the mobile node share: the node's identity, the notes they pass
each other, and :class:`Part`, what every part answers.

A part owns its state and returns a list of actions (:mod:`mipv6_sdn.mn.actions`) and
notes. A note is an event for the other parts: :class:`mipv6_sdn.mn.core.MobileNode`
hands it to every part and puts what they return in its place, so notes never reach
the effectful side. A part that joins later answers the same notes and events without
changing the others, as correspondent registration (RFC 6275 §11.7.2) did.
"""
import dataclasses
import enum
import ipaddress


@dataclasses.dataclass(frozen=True)
class Identity:
    """The node's home address and home prefix (RFC 6275 §11), and its interface's MAC."""
    home_address: ipaddress.IPv6Address
    home_prefix: ipaddress.IPv6Network
    mac: str


class Event(enum.Enum):
    """What one part of the mobile node tells the others (sections of RFC 6275)."""
    MOVED_AWAY = enum.auto()  # on a new visited link, no care-of address yet (§11.5.1)
    CARE_OF_ADDRESS = enum.auto()  # a new care-of address (§11.5.2)
    CARE_OF_ADDRESS_LOST = enum.auto()  # the care-of address left the interface
    RETURNED_HOME = enum.auto()  # attached to the home link (§11.5.5)
    HOME_AGENT_WANTED = enum.auto()  # home registration needs it (§11.4.1)
    HOME_AGENT_FOUND = enum.auto()  # a DHAAD reply named it (§11.4.1)
    HOME_ADDRESS_USABLE = enum.auto()  # no binding left: home address on-link (§11.5.5)
    HOME_REGISTERED = enum.auto()  # the home agent acknowledged a registration (§11.7.3)


@dataclasses.dataclass(frozen=True)
class Note:
    """An :class:`Event` from one part of the mobile node for the others."""
    event: Event
    address: ipaddress.IPv6Address | None = None  # HOME_AGENT_FOUND: the home agent
    # RETURNED_HOME and HOME_ADDRESS_USABLE: the node comes from a visited link, so the
    # home address is announced with unsolicited NAs (RFC 6275 §11.5.5).
    from_away: bool = False


class Part:
    """A part of the mobile node. Each method takes ``now`` and returns actions and
    notes; a part answers only what concerns it."""

    def frame_received(self, now, meta):
        """A parsed frame (:class:`mipv6_sdn.packets.PacketMeta`) other than an RA."""
        return []

    def notify(self, now, note):
        """A :class:`Note` from another part (or from this one)."""
        return []

    def tick(self, now):
        """Timers."""
        return []
