"""Movement detection (RFC 6275 §11.5.1, §11.5.2): router advertisements, router
reachability, router solicitation, the link and its prefix, and the care-of address.

:class:`Movement` owns where the node is. It changes the home address form and the
routes when the node leaves home or moves on, and tells the other parts with the notes
MOVED_AWAY, CARE_OF_ADDRESS, CARE_OF_ADDRESS_LOST and RETURNED_HOME
(:class:`mipv6_sdn.mn.part.Event`); they read its link and care-of address.
"""
import dataclasses
import enum
import ipaddress
import logging
import struct

from mipv6_sdn import packets, wire
from mipv6_sdn.mn.actions import (AssignHomeAddress, DefaultRoute, Log, RemoveAddress,
                                  RemoveOnLinkRoute, Send)
from mipv6_sdn.mn.part import Event, Note, Part

# RFC 4861 §10 host constants.
MAX_RTR_SOLICITATIONS = 3
RTR_SOLICITATION_INTERVAL = 4.0
MAX_RTR_SOLICITATION_INTERVAL = 60.0  # after MAX_RTR_SOLICITATIONS: doubling up to this
SLAAC_PREFIX_LEN = 64  # RFC 4862 with Ethernet interface identifiers


@dataclasses.dataclass(frozen=True)
class RouterAdvert:
    """What movement detection needs of a router advertisement (RFC 4861 §4.2)."""
    src: ipaddress.IPv6Address  # the router's link-local address
    router_mac: str  # from the Source Link-Layer Address option, else the frame's source
    router_lifetime: int  # seconds; 0: not a default router
    prefixes: tuple = ()  # IPv6Network: autonomous prefixes with a valid lifetime
    home_agent: bool = False  # H flag (RFC 6275 §7.1)
    adv_interval: float | None = None  # seconds (RFC 6275 §7.3), when advertised


def parse_router_advert(meta):
    """A :class:`RouterAdvert` from a parsed RA (PacketMeta with ICMPv6 type 134; hop
    limit and code already checked), or PacketError (RFC 4861 §6.1.2)."""
    if not meta.ip_src.is_link_local:
        raise wire.PacketError("router advertisement not from a link-local address")
    body = meta.icmp_body
    if len(body) < 12:
        raise wire.PacketError("truncated router advertisement")
    _, flags, router_lifetime = struct.unpack_from("!BBH", body)
    router_mac, prefixes, interval = meta.eth_src, [], None
    for option_type, data in wire.nd_options(body[12:]):
        if option_type == wire.OPT_SOURCE_LLADDR and len(data) == 6:
            router_mac = wire.mac_from_bytes(data)
        elif option_type == wire.OPT_PREFIX_INFO:
            info = wire.parse_prefix_information(data)
            if info.flags & wire.PI_FLAG_AUTONOMOUS and info.valid_lifetime > 0:
                prefixes.append(info.prefix)
        elif option_type == wire.OPT_ADV_INTERVAL and len(data) == 6:
            interval = struct.unpack_from("!I", data, 2)[0] / 1000
    return RouterAdvert(src=meta.ip_src, router_mac=router_mac,
                        router_lifetime=router_lifetime, prefixes=tuple(prefixes),
                        home_agent=bool(flags & wire.RA_FLAG_HOME_AGENT),
                        adv_interval=interval)


def router_solicitation(mac):
    """RFC 4861 §4.1: an RS from the unspecified address (so without a Source
    Link-Layer Address option) to all-routers."""
    packet = packets.icmpv6(wire.UNSPECIFIED, wire.ALL_ROUTERS, wire.ND_ROUTER_SOLICIT, 0,
                            bytes(4), wire.ND_HOP_LIMIT)
    return packets.ethernet(wire.multicast_mac(wire.ALL_ROUTERS), mac, packet)


class Location(enum.Enum):
    UNKNOWN = "unknown"  # no router advertisement seen yet
    HOME = "home"
    AWAY = "away"


@dataclasses.dataclass
class Link:
    """The link the node is attached to, as its router advertises it."""
    prefix: ipaddress.IPv6Network
    router_ll: ipaddress.IPv6Address
    router_mac: str
    last_ra: float
    timeout: float  # no RA for this long: the router may be gone (RFC 6275 §11.5.1)
    lost: bool = False


@dataclasses.dataclass
class Solicitation:
    """Router solicitations in progress (RFC 4861 §6.3.7)."""
    next_send: float
    sent: int = 0


class Movement(Part):
    """Where the node is: its location, link, addresses and care-of address."""

    def __init__(self, identity):
        self.identity = identity
        self.location = Location.UNKNOWN
        self.link = None
        self.addresses = frozenset()  # usable global IPv6Interfaces of the interface
        self.care_of = None
        self.attached_at = None  # when the RA of the current link was first seen
        self.link_up_at = None  # the last carrier up
        self.attached_link_up = None  # the carrier up before the current attachment
        self.solicitation = None

    def start(self, now):
        """Ask for a router advertisement at once, rather than wait for one."""
        self.solicitation = Solicitation(next_send=now)
        return self._solicit_due(now)

    def link_changed(self, now, up):
        """Carrier went up or down: a hint of movement (RFC 6275 §11.5.1), answered
        with a router solicitation so the new link's RA comes at once."""
        if not up:
            return [Log("link down")]
        self.link_up_at = now
        self.solicitation = Solicitation(next_send=now)
        return [Log("link up: soliciting a router advertisement")] + self._solicit_due(now)

    def addresses_changed(self, now, addresses):
        """The interface's usable global addresses (IPv6Interface; tentative ones only
        when optimistic), after any change the kernel reports."""
        self.addresses = frozenset(addresses)
        actions = []
        if self.care_of is not None and self.care_of not in {a.ip for a in self.addresses}:
            actions += [Log(f"care-of address {self.care_of} is gone", logging.WARNING),
                        Note(Event.CARE_OF_ADDRESS_LOST)]
            self.care_of = None
        return actions + self._care_of_check(now)

    def router_advertisement(self, now, ra):
        """An RA with a new prefix means a new link; router lifetime 0 from the
        current router means it is gone (RFC 6275 §11.5.1)."""
        if ra.router_lifetime == 0:
            if self.link is not None and not self.link.lost and self.link.prefix in ra.prefixes:
                return self._router_lost(now, "router lifetime 0")
            return []
        prefix = self._link_prefix(ra)
        if prefix is None:
            return []
        self.solicitation = None
        timeout = ra.adv_interval if ra.adv_interval else ra.router_lifetime
        if self.link is not None and prefix == self.link.prefix:
            actions = [Log(f"router on {prefix} is back")] if self.link.lost else []
            self.link = dataclasses.replace(self.link, router_ll=ra.src,
                                            router_mac=ra.router_mac, last_ra=now,
                                            timeout=timeout, lost=False)
            return actions
        old = self.link
        self.link = Link(prefix, ra.src, ra.router_mac, now, timeout)
        # The carrier-up that led here, if one came since the last attachment.
        self.attached_link_up = self.link_up_at if self.link_up_at is not None and (
            self.attached_at is None or self.link_up_at > self.attached_at) else None
        self.attached_at = now
        since_up = "" if self.attached_link_up is None else \
            f", {now - self.attached_link_up:.3f} s after link up"
        actions = [Log(f"attached to {prefix} via router {ra.src} ({ra.router_mac}){since_up}")]
        if prefix == self.identity.home_prefix:
            return actions + self._returned_home()
        return actions + self._moved_away(now, old)

    def tick(self, now):
        """Router reachability and solicitations."""
        return self._router_due(now) + self._solicit_due(now)

    def _link_prefix(self, ra):
        """The prefix that names the RA's link: the home prefix, the current link's
        prefix, else the first /64 the RA offers for SLAAC."""
        for prefix in (self.identity.home_prefix, self.link.prefix if self.link else None):
            if prefix is not None and prefix in ra.prefixes:
                return prefix
        return next((p for p in ra.prefixes if p.prefixlen == SLAAC_PREFIX_LEN), None)

    def _moved_away(self, now, old):
        """RFC 6275 §11.5.1-§11.5.2: on a visited link. The home address becomes a
        /128 (the home prefix is off-link), a care-of address is looked for, and the
        addresses and routes of the link left are dropped after that, so a binding
        update for a care-of address already there waits for no netlink round trip."""
        home_address, home_prefix = self.identity.home_address, self.identity.home_prefix
        actions, cleanup = [], []
        if self.location is not Location.AWAY:
            actions.append(AssignHomeAddress(ipaddress.IPv6Interface((home_address, 128))))
            cleanup += [RemoveAddress(a) for a in sorted(self.addresses)
                        if a.ip in home_prefix and a.ip != home_address]
            cleanup.append(RemoveOnLinkRoute(home_prefix))
        elif old is not None:
            cleanup += [RemoveAddress(a) for a in sorted(self.addresses) if a.ip in old.prefix]
            cleanup.append(RemoveOnLinkRoute(old.prefix))
        self.location = Location.AWAY
        self.care_of = None
        actions.append(Note(Event.MOVED_AWAY))
        return actions + self._care_of_check(now) + \
            [DefaultRoute(self.link.router_ll, home_address)] + cleanup

    def _care_of_check(self, now):
        """Take an address of the visited link's prefix as the care-of address."""
        if self.location is not Location.AWAY or self.care_of is not None:
            return []
        candidates = sorted(a.ip for a in self.addresses if a.ip in self.link.prefix)
        if not candidates:
            return []
        self.care_of = candidates[0]
        return [Log(f"care-of address {self.care_of}, "
                    f"{now - self.attached_at:.3f} s after attachment"),
                Note(Event.CARE_OF_ADDRESS)]

    def _returned_home(self):
        """RFC 6275 §11.5.5: on the home link; no care-of address."""
        was_away = self.location is Location.AWAY
        self.location = Location.HOME
        self.care_of = None
        return [Note(Event.RETURNED_HOME, from_away=was_away)]

    def _router_lost(self, now, why):
        self.link.lost = True
        if self.solicitation is None:
            self.solicitation = Solicitation(next_send=now)
        return [Log(f"default router on {self.link.prefix} lost ({why}): soliciting",
                    logging.WARNING)] + self._solicit_due(now)

    def _router_due(self, now):
        """No RA within the advertised interval (or the router lifetime): probe the
        router with solicitations; after MAX_RTR_SOLICITATIONS it is lost."""
        link = self.link
        if link is None or link.lost:
            return []
        if self.solicitation is None and now >= link.last_ra + link.timeout:
            self.solicitation = Solicitation(next_send=now)
            return [Log(f"no router advertisement for {now - link.last_ra:.1f} s: "
                        "soliciting")]
        if self.solicitation is not None and self.solicitation.sent >= MAX_RTR_SOLICITATIONS \
                and now >= self.solicitation.next_send:
            return self._router_lost(now, f"{MAX_RTR_SOLICITATIONS} solicitations unanswered")
        return []

    def _solicit_due(self, now):
        solicitation = self.solicitation
        if solicitation is None or now < solicitation.next_send:
            return []
        solicitation.sent += 1
        interval = RTR_SOLICITATION_INTERVAL
        if solicitation.sent > MAX_RTR_SOLICITATIONS:
            interval = min(RTR_SOLICITATION_INTERVAL * 2 ** (
                solicitation.sent - MAX_RTR_SOLICITATIONS), MAX_RTR_SOLICITATION_INTERVAL)
        solicitation.next_send = now + interval
        return [Send(router_solicitation(self.identity.mac), "router solicitation")]
