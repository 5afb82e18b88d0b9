"""What the mobile node asks of its effectful side (:mod:`mipv6_sdn.mn.system`), in order.

- :class:`Send`: an Ethernet frame for the packet socket (Binding Updates with the
  Home Address option, Home and Care-of Test Inits, DHAAD requests, router
  solicitations, neighbour advertisements);
- :class:`AssignHomeAddress`, :class:`RemoveAddress`, :class:`RemoveOnLinkRoute`,
  :class:`DefaultRoute`: changes to the interface's addresses and routes;
- :class:`WatchCorrespondents`: what the packet filter of new correspondents passes;
- :class:`Log`: a line for the log.
"""
import dataclasses
import ipaddress
import logging


@dataclasses.dataclass(frozen=True)
class Send:
    """Send ``frame`` (Ethernet) out of the interface; ``what`` names it for debugging."""
    frame: bytes
    what: str


@dataclasses.dataclass(frozen=True)
class AssignHomeAddress:
    """Put the home address on the interface as ``address``: /64 with its prefix route
    at home, /128 without DAD or prefix route while away (the home prefix is then not
    on-link). Replaces the other form."""
    address: ipaddress.IPv6Interface


@dataclasses.dataclass(frozen=True)
class RemoveAddress:
    """Remove ``address`` from the interface (a stale care-of address, or a SLAAC
    address in the home prefix while away)."""
    address: ipaddress.IPv6Interface


@dataclasses.dataclass(frozen=True)
class RemoveOnLinkRoute:
    """Remove the interface's routes to ``prefix`` (a link the node has left)."""
    prefix: ipaddress.IPv6Network


@dataclasses.dataclass(frozen=True)
class DefaultRoute:
    """Route everything not on-link via ``gateway`` (the router's link-local address)
    with ``source`` preferred: the node's own traffic leaves from its home address."""
    gateway: ipaddress.IPv6Address
    source: ipaddress.IPv6Address


@dataclasses.dataclass(frozen=True)
class WatchCorrespondents:
    """Pass the node the Ethernet and IPv6 headers of frames to ``home_address`` from a
    source inside one of ``prefixes`` that is none of ``known`` (the correspondents it
    has): how a new correspondent is found. No prefixes: nothing passes."""
    home_address: ipaddress.IPv6Address
    prefixes: tuple = ()  # IPv6Network
    known: tuple = ()  # IPv6Address


@dataclasses.dataclass(frozen=True)
class Log:
    message: str
    level: int = logging.INFO
