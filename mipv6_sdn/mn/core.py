"""The mobile node of RFC 6275 §11, as pure logic: events in, actions out.

:class:`MobileNode` never reads a clock, opens a socket or changes an address. Each
public method takes ``now`` (wall-clock seconds: RFC 4285 timestamps are wall-clock
time) and one plain event, and returns a list of actions
(:mod:`mipv6_sdn.mn.actions`) for the effectful side (:mod:`mipv6_sdn.mn.system`) to
carry out in order.

Events: :meth:`~MobileNode.start`, :meth:`~MobileNode.frame_received` (any frame from
the interface; router advertisements, Binding Acknowledgements, Binding Refresh
Requests, Binding Errors and DHAAD replies are acted on), :meth:`~MobileNode.addresses_changed`
(the usable global addresses of the interface, whenever the kernel changes them: this is
how the care-of address the kernel's SLAAC forms arrives), :meth:`~MobileNode.link_changed`
(carrier up or down) and :meth:`~MobileNode.tick` (timers).

The choices where RFC 6275 leaves room are listed in docs/mobile-node.md.
"""
import collections
import dataclasses
import enum
import ipaddress
import logging
import struct

from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.mn.actions import (AssignHomeAddress, DefaultRoute, Log, RemoveAddress,
                                  RemoveOnLinkRoute, Send)

# RFC 6275 §12 protocol constants and §13 configuration variables.
INITIAL_BINDACK_TIMEOUT_FIRST_REG = 1.5  # §13 InitialBindackTimeoutFirstReg (§11.7.1)
INITIAL_BINDACK_TIMEOUT = 1.0  # §12
MAX_BINDACK_TIMEOUT = 32.0  # §12
MAX_UPDATE_RATE = 3  # §12: Binding Updates per second, at most
INITIAL_DHAAD_TIMEOUT = 3.0  # §12
DHAAD_RETRIES = 4  # §12
# RFC 4861 §10 host constants.
MAX_RTR_SOLICITATIONS = 3
RTR_SOLICITATION_INTERVAL = 4.0
MAX_RTR_SOLICITATION_INTERVAL = 60.0  # after MAX_RTR_SOLICITATIONS: doubling up to this
MAX_NEIGHBOR_ADVERTISEMENT = 3  # unsolicited NAs on return home (RFC 4861 §7.2.6)
RETRANS_TIMER = 1.0

MAX_LIFETIME = mobility.LIFETIME_UNIT * 0xFFFF
DEFAULT_LIFETIME = 420  # DESIGN.md §4: the MN asks for 420 s unless told
REFRESH_FRACTION = 0.8  # re-register when 80% of the granted lifetime has passed
MAX_IMMEDIATE_RETRIES = 2  # answers to 135/144 sent at once; after that, the backoff
SLAAC_PREFIX_LEN = 64  # RFC 4862 with Ethernet interface identifiers

STATUS_NAMES = {
    mobility.ACCEPTED: "accepted",
    mobility.ACCEPTED_PREFIX_DISCOVERY: "accepted, prefix discovery necessary",
    mobility.REASON_UNSPECIFIED: "reason unspecified",
    mobility.ADMINISTRATIVELY_PROHIBITED: "administratively prohibited",
    mobility.INSUFFICIENT_RESOURCES: "insufficient resources",
    mobility.HOME_REGISTRATION_NOT_SUPPORTED: "home registration not supported",
    mobility.NOT_HOME_SUBNET: "not home subnet",
    mobility.NOT_HOME_AGENT_FOR_THIS_MN: "not home agent for this mobile node",
    mobility.DUPLICATE_ADDRESS_DETECTION_FAILED: "duplicate address detection failed",
    mobility.SEQUENCE_OUT_OF_WINDOW: "sequence number out of window",
    mobility.REGISTRATION_TYPE_CHANGE_DISALLOWED: "registration type change disallowed",
    mobility.MIPV6_ID_MISMATCH: "MIPV6-ID-MISMATCH (timestamp)",
    mobility.MIPV6_MESG_ID_REQD: "MIPV6-MESG-ID-REQD",
    mobility.MIPV6_AUTH_FAIL: "MIPV6-AUTH-FAIL",
}


# ---------------------------------------------------------------------- router advertisements


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


# ---------------------------------------------------------------------- state


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
class BindingUpdateListEntry:
    """RFC 6275 §11.1: the home registration the HA acknowledged."""
    care_of: ipaddress.IPv6Address
    sequence: int
    lifetime: int  # granted, seconds
    expires: float
    refresh_at: float


class Kind(enum.Enum):
    REGISTER = "registration"
    DEREGISTER = "deregistration"


@dataclasses.dataclass
class Registration:
    """A Binding Update waiting for its acknowledgement (RFC 6275 §11.8)."""
    kind: Kind
    care_of: ipaddress.IPv6Address
    lifetime: int  # requested, seconds
    timeout: float  # the wait after the next transmission
    next_send: float
    reason: str
    first_registration: bool = False
    sent: dict = dataclasses.field(default_factory=dict)  # sequence -> timestamp
    first_sent: float | None = None
    immediate_retries: int = 0

    @property
    def movement(self):
        """Whether this Binding Update follows a movement (not a refresh)."""
        return not self.reason.startswith("refresh")


@dataclasses.dataclass
class Discovery:
    """A Dynamic Home Agent Address Discovery in progress (RFC 6275 §11.4.1)."""
    identifier: int
    next_send: float
    timeout: float = INITIAL_DHAAD_TIMEOUT
    sent: int = 0


@dataclasses.dataclass
class Solicitation:
    """Router solicitations in progress (RFC 4861 §6.3.7)."""
    next_send: float
    sent: int = 0


@dataclasses.dataclass
class Announcement:
    """Unsolicited NAs for the home address after returning home (RFC 6275 §11.5.5)."""
    next_send: float
    remaining: int = MAX_NEIGHBOR_ADVERTISEMENT


class MobileNode:
    """One mobile node: its home address, security association with the HA, and the
    state of RFC 6275 §11 (location, care-of address, Binding Update List)."""

    def __init__(self, *, home_address, mac, spi, key, home_agent_address=None,
                 lifetime=DEFAULT_LIFETIME, sequence=0, dhaad_identifier=0):
        """``home_address`` is an IPv6Interface (address and home prefix); ``mac`` the
        interface's MAC; ``spi`` and ``key`` the RFC 4285 MN-HA security association;
        ``home_agent_address`` None to find it by DHAAD; ``lifetime`` the binding
        lifetime to request (seconds); ``sequence`` the last Binding Update sequence
        number used (the next is one more) and ``dhaad_identifier`` the first DHAAD
        identifier: random numbers from the caller."""
        if not mobility.LIFETIME_UNIT <= lifetime <= MAX_LIFETIME:
            raise ValueError(f"lifetime {lifetime} out of range "
                             f"{mobility.LIFETIME_UNIT}..{MAX_LIFETIME}")
        self.home_address = home_address.ip
        self.home_prefix = home_address.network
        self.mac = mac
        self.spi, self.key = spi, key
        self.home_agent = home_agent_address
        self.lifetime = lifetime - lifetime % mobility.LIFETIME_UNIT
        self.sequence = sequence & 0xFFFF
        self.dhaad_identifier = dhaad_identifier & 0xFFFF
        self.location = Location.UNKNOWN
        self.link = None
        self.addresses = frozenset()  # usable global IPv6Interfaces of the interface
        self.care_of = None
        self.attached_at = None  # when the RA of the current link was first seen
        self.link_up_at = None  # the last carrier up
        self.attached_link_up = None  # the carrier up before the current attachment
        self.bul = None  # BindingUpdateListEntry
        self.registration = None  # Registration waiting for its BA
        self.discovery = None
        self.solicitation = None
        self.announcement = None
        self.clock_offset = 0.0  # the HA's clock minus ours (RFC 4285 §6 resync)
        self.last_accepted_timestamp = 0
        self.registered_until = None  # the latest a binding may live at the HA
        self.sent_times = collections.deque(maxlen=MAX_UPDATE_RATE)

    # ------------------------------------------------------------------ events

    def start(self, now):
        """Ask for a router advertisement at once, rather than wait for one."""
        self.solicitation = Solicitation(next_send=now)
        return [Log(f"mobile node {self.home_address} (home prefix {self.home_prefix}), "
                    f"home agent {self.home_agent or 'by DHAAD'}, lifetime {self.lifetime} s")
                ] + self._solicit_due(now)

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
            actions.append(Log(f"care-of address {self.care_of} is gone", logging.WARNING))
            self.care_of = None
            if self.registration is not None and self.registration.kind is Kind.REGISTER:
                self.registration = None
        return actions + self._care_of_check(now)

    def frame_received(self, now, frame):
        """A frame from the interface; anything not for the mobile node is ignored."""
        try:
            meta = packets.parse_frame(frame)
            if meta.icmp_type == wire.ND_ROUTER_ADVERT:
                return self.router_advertisement(now, parse_router_advert(meta))
        except wire.PacketError:
            return []
        if meta.icmp_type == mobility.HAAD_REPLY and meta.dhaad is not None:
            return self._dhaad_reply(now, meta)
        if meta.mobility is not None:
            message = meta.mobility.message
            if isinstance(message, mobility.BindingAck):
                return self._binding_ack(now, meta, message)
            if isinstance(message, mobility.BindingRefreshRequest):
                return self._refresh_request(now, meta)
            if isinstance(message, mobility.BindingError):
                return [Log(f"Binding Error status {message.status} from {meta.ip_src} "
                            f"for {message.home_address}", logging.WARNING)]
        return []

    def router_advertisement(self, now, ra):
        """Movement detection (RFC 6275 §11.5.1): an RA with a new prefix means a new
        link; router lifetime 0 from the current router means it is gone."""
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
        if prefix == self.home_prefix:
            return actions + self._returned_home(now)
        return actions + self._moved_away(now, old)

    def tick(self, now):
        """Timers: retransmissions, refresh, DHAAD, router solicitation, NAs."""
        return (self._registration_due(now) + self._binding_due(now) + self._dhaad_due(now)
                + self._router_due(now) + self._solicit_due(now) + self._announce_due(now))

    # ------------------------------------------------------------------ movement

    def _link_prefix(self, ra):
        """The prefix that names the RA's link: the home prefix, the current link's
        prefix, else the first /64 the RA offers for SLAAC."""
        for prefix in (self.home_prefix, self.link.prefix if self.link else None):
            if prefix is not None and prefix in ra.prefixes:
                return prefix
        return next((p for p in ra.prefixes if p.prefixlen == SLAAC_PREFIX_LEN), None)

    def _moved_away(self, now, old):
        """RFC 6275 §11.5.1-§11.5.2: on a visited link. The home address becomes a
        /128 (the home prefix is off-link), addresses and routes of the link left are
        dropped, and the node registers once its care-of address is there."""
        actions = []
        if self.location is not Location.AWAY:
            actions.append(AssignHomeAddress(ipaddress.IPv6Interface(
                (self.home_address, 128))))
            actions += [RemoveAddress(a) for a in sorted(self.addresses)
                        if a.ip in self.home_prefix and a.ip != self.home_address]
            actions.append(RemoveOnLinkRoute(self.home_prefix))
        elif old is not None:
            actions += [RemoveAddress(a) for a in sorted(self.addresses) if a.ip in old.prefix]
            actions.append(RemoveOnLinkRoute(old.prefix))
        self.location = Location.AWAY
        self.care_of = None
        self.registration = None
        self.announcement = None
        actions.append(DefaultRoute(self.link.router_ll, self.home_address))
        return actions + self._care_of_check(now)

    def _care_of_check(self, now):
        """Take an address of the visited link's prefix as the care-of address."""
        if self.location is not Location.AWAY or self.care_of is not None:
            return []
        candidates = sorted(a.ip for a in self.addresses if a.ip in self.link.prefix)
        if not candidates:
            return []
        self.care_of = candidates[0]
        actions = [Log(f"care-of address {self.care_of}, "
                       f"{now - self.attached_at:.3f} s after attachment")]
        return actions + self._register(now, "new care-of address")

    def _returned_home(self, now):
        """RFC 6275 §11.5.5: deregister, then take the home address back on-link and
        announce it; straight to that when no binding can exist."""
        was_away = self.location is Location.AWAY
        self.location = Location.HOME
        self.care_of = None
        self.discovery = None
        self.registration = None
        route = DefaultRoute(self.link.router_ll, self.home_address)
        if self._may_be_registered(now) and self.home_agent is not None:
            self.registration = self._new_registration(now, Kind.DEREGISTER,
                                                       self.home_address, "returned home")
            return [route] + self._registration_due(now)
        return self._at_home(now, announce=was_away)

    def _at_home(self, now, announce):
        """The home address /64 on-link again and, after being away, announced."""
        actions = [AssignHomeAddress(ipaddress.IPv6Interface((self.home_address,
                                                              self.home_prefix.prefixlen))),
                   DefaultRoute(self.link.router_ll, self.home_address)]
        if announce:
            self.announcement = Announcement(next_send=now)
            actions += self._announce_due(now)
        return actions

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
        return [Send(router_solicitation(self.mac), "router solicitation")]

    # ------------------------------------------------------------------ home agent discovery

    def _start_discovery(self, now):
        if self.discovery is None:
            self.discovery = Discovery(identifier=self.dhaad_identifier, next_send=now)
            self.dhaad_identifier = (self.dhaad_identifier + 1) & 0xFFFF
        return self._dhaad_due(now)

    def _dhaad_due(self, now):
        """RFC 6275 §11.4.1: DHAAD Request from the care-of address to the home-agents
        anycast address of the home prefix, retransmitted with INITIAL_DHAAD_TIMEOUT
        doubling DHAAD_RETRIES times, then at that last interval."""
        discovery = self.discovery
        if discovery is None or now < discovery.next_send or self.care_of is None:
            return []
        anycast = mobility.home_agents_anycast(self.home_prefix)
        packet = packets.icmpv6(self.care_of, anycast, mobility.HAAD_REQUEST, 0,
                                mobility.haad_request(discovery.identifier))
        discovery.sent += 1
        discovery.next_send = now + discovery.timeout
        if discovery.sent <= DHAAD_RETRIES:
            discovery.timeout *= 2
        return [Send(packets.ethernet(self.link.router_mac, self.mac, packet), "DHAAD request"),
                Log(f"DHAAD request {discovery.identifier} to {anycast} from {self.care_of}"
                    + (f" (retransmission {discovery.sent - 1})" if discovery.sent > 1 else ""))]

    def _dhaad_reply(self, now, meta):
        discovery, reply = self.discovery, meta.dhaad
        if discovery is None or reply.identifier != discovery.identifier \
                or meta.ip_dst != self.care_of:
            return []
        if not reply.home_agents:
            return [Log("DHAAD reply lists no home agent", logging.WARNING)]
        self.discovery = None
        self.home_agent = reply.home_agents[0]
        return [Log(f"DHAAD reply: home agent {self.home_agent}, "
                    f"{now - self.attached_at:.3f} s after attachment")] + self._register(
                        now, "home agent found")

    # ------------------------------------------------------------------ registration

    def _bound(self, now):
        return self.bul is not None and now < self.bul.expires

    def _may_be_registered(self, now):
        return self.registered_until is not None and now < self.registered_until

    def _new_registration(self, now, kind, care_of, reason):
        first = kind is Kind.REGISTER and not self._bound(now)
        return Registration(
            kind=kind, care_of=care_of, reason=reason, first_registration=first,
            lifetime=self.lifetime if kind is Kind.REGISTER else 0, next_send=now,
            timeout=INITIAL_BINDACK_TIMEOUT_FIRST_REG if first else INITIAL_BINDACK_TIMEOUT)

    def _register(self, now, reason):
        """A home registration from the current care-of address (RFC 6275 §11.7.1)."""
        if self.home_agent is None:
            return self._start_discovery(now)
        self.registration = self._new_registration(now, Kind.REGISTER, self.care_of, reason)
        return self._registration_due(now)

    def _registration_due(self, now):
        """Send the pending Binding Update when it is due: the first transmission, or a
        retransmission after InitialBindackTimeoutFirstReg (first registration) or
        INITIAL_BINDACK_TIMEOUT, doubling up to MAX_BINDACK_TIMEOUT and going on at
        that rate (RFC 6275 §11.8). No more than MAX_UPDATE_RATE a second (§11.8)."""
        registration = self.registration
        if registration is None or now < registration.next_send:
            return []
        if len(self.sent_times) == MAX_UPDATE_RATE and now - self.sent_times[0] < 1:
            registration.next_send = self.sent_times[0] + 1
            return []
        retransmission = registration.first_sent is not None
        if registration.first_sent is None:
            registration.first_sent = now
        frame, sequence, stamp = self._binding_update(now, registration)
        registration.sent[sequence] = stamp
        registration.next_send = now + registration.timeout
        wait = registration.timeout
        registration.timeout = min(registration.timeout * 2, MAX_BINDACK_TIMEOUT)
        self.sent_times.append(now)
        if registration.kind is Kind.REGISTER:
            until = now + registration.lifetime
            self.registered_until = max(self.registered_until or until, until)
        what = "retransmitted" if retransmission else "sent"
        since = "" if self.attached_at is None else \
            f", {now - self.attached_at:.3f} s after attachment"
        return [Send(frame, f"Binding Update seq {sequence}"),
                Log(f"{registration.kind.value} BU {what} ({registration.reason}): seq "
                    f"{sequence}, care-of {registration.care_of}, lifetime "
                    f"{registration.lifetime} s, to {self.home_agent}{since}; "
                    f"next try in {wait:g} s")]

    def _timestamp(self, now):
        """RFC 4285 §6: now on the HA's clock (as far as known), newer than the last
        timestamp the HA accepted."""
        stamp = mobility.ntp_timestamp(now + self.clock_offset)
        return max(stamp, self.last_accepted_timestamp + 1)

    def _binding_update(self, now, registration):
        """The frame of one Binding Update (RFC 6275 §11.7.1, §11.5.5) with RFC 4285
        replay protection and MN-HA authentication; a new sequence number each time."""
        self.sequence = (self.sequence + 1) & 0xFFFF
        stamp = self._timestamp(now)
        update = mobility.BindingUpdate(
            sequence=self.sequence,
            lifetime=registration.lifetime // mobility.LIFETIME_UNIT,
            ack=True, home=True,
            options=(mobility.MobilityMessageReplayProtection(stamp),))
        mh = mobility.serialize_mobility_header(
            update, self.home_address, self.home_agent,
            auth=(self.spi, self.key, registration.care_of, self.home_address))
        if registration.care_of == self.home_address:
            packet = packets.ipv6(self.home_address, self.home_agent, wire.IPPROTO_MH, mh)
        else:
            packet = packets.ipv6(registration.care_of, self.home_agent,
                                  wire.IPPROTO_DSTOPTS,
                                  mobility.home_address_option(self.home_address,
                                                               wire.IPPROTO_MH) + mh)
        return packets.ethernet(self.link.router_mac, self.mac, packet), self.sequence, stamp

    def _binding_ack(self, now, meta, ack):
        """RFC 6275 §11.7.3 with RFC 4285 §5, §6: check the BA, then act on its status."""
        registration = self.registration
        if registration is None or meta.ip_src != self.home_agent:
            return []
        care_of = registration.care_of
        if care_of == self.home_address:
            addressed = meta.ip_dst == self.home_address and \
                meta.routing_home_address in (None, self.home_address)
        else:
            addressed = meta.ip_dst == care_of and meta.routing_home_address == self.home_address
        if not addressed:
            return [Log(f"BA to {meta.ip_dst} (home address {meta.routing_home_address}) "
                        "is not for this registration: ignored", logging.WARNING)]
        if not mobility.verify_mn_ha_authentication(meta.mobility, self.spi, self.key,
                                                    care_of, self.home_address):
            return [Log(f"BA seq {ack.sequence} fails MN-HA authentication: ignored",
                        logging.WARNING)]
        replay = mobility.find_option(ack, mobility.MobilityMessageReplayProtection)
        if ack.status != mobility.SEQUENCE_OUT_OF_WINDOW \
                and ack.sequence not in registration.sent:
            return [Log(f"BA seq {ack.sequence} matches no outstanding BU: ignored",
                        logging.WARNING)]
        if replay is None or (ack.status != mobility.MIPV6_ID_MISMATCH
                              and replay.timestamp not in registration.sent.values()):
            return [Log(f"BA seq {ack.sequence} does not echo a timestamp sent: ignored",
                        logging.WARNING)]
        name = STATUS_NAMES.get(ack.status, "unknown status")
        if ack.status < mobility.REASON_UNSPECIFIED:
            return self._accepted(now, ack, replay, registration)
        if ack.status == mobility.SEQUENCE_OUT_OF_WINDOW:
            self.sequence = ack.sequence  # the HA's last accepted; the next BU is one more
            return self._retry_at_once(now, registration, f"BA status 135 ({name}): the HA "
                                       f"last accepted seq {ack.sequence}")
        if ack.status == mobility.MIPV6_ID_MISMATCH:
            self.clock_offset = mobility.unix_time(replay.timestamp) - now
            return self._retry_at_once(now, registration, f"BA status 144 ({name}): clock "
                                       f"offset to the HA now {self.clock_offset:+.3f} s")
        return [Log(f"BA status {ack.status} ({name}) for seq {ack.sequence}: next try in "
                    f"{registration.next_send - now:.1f} s", logging.WARNING)]

    def _retry_at_once(self, now, registration, why):
        if registration.immediate_retries >= MAX_IMMEDIATE_RETRIES:
            return [Log(f"{why}; next try in {registration.next_send - now:.1f} s",
                        logging.WARNING)]
        registration.immediate_retries += 1
        registration.next_send = now
        initial = INITIAL_BINDACK_TIMEOUT_FIRST_REG if registration.first_registration \
            else INITIAL_BINDACK_TIMEOUT
        registration.timeout = initial
        return [Log(f"{why}; retrying", logging.WARNING)] + self._registration_due(now)

    def _accepted(self, now, ack, replay, registration):
        self.registration = None
        self.last_accepted_timestamp = replay.timestamp
        granted = ack.lifetime * mobility.LIFETIME_UNIT
        tries = len(registration.sent)
        timing = f"{now - registration.first_sent:.3f} s after the first BU ({tries} sent)"
        if registration.movement:
            timing = f"{now - self.attached_at:.3f} s after attachment, " + timing
            if self.attached_link_up is not None:
                timing = f"{now - self.attached_link_up:.3f} s after link up, " + timing
        if registration.kind is Kind.DEREGISTER:
            self.bul = None
            self.registered_until = None
            return [Log(f"BA status {ack.status} seq {ack.sequence}: deregistered, {timing}")
                    ] + self._at_home(now, announce=True)
        if granted == 0:
            self.registration = registration  # nothing granted: keep trying, backed off
            return [Log(f"BA status {ack.status} seq {ack.sequence} granted no lifetime",
                        logging.WARNING)]
        self.bul = BindingUpdateListEntry(
            care_of=registration.care_of, sequence=ack.sequence, lifetime=granted,
            expires=now + granted, refresh_at=now + REFRESH_FRACTION * granted)
        self.registered_until = now + granted
        actions = [Log(f"BA status {ack.status} seq {ack.sequence}: registered care-of "
                       f"{registration.care_of} for {granted} s, {timing}")]
        if ack.status == mobility.ACCEPTED_PREFIX_DISCOVERY:
            actions.append(Log("status 1: the home prefix expires before the binding "
                               "(mobile prefix discovery is not done)", logging.WARNING))
        return actions

    def _binding_due(self, now):
        """Refresh at REFRESH_FRACTION of the granted lifetime; forget an expired
        binding; give up a deregistration once no binding can be left at the HA."""
        registration, actions = self.registration, []
        if registration is not None and registration.kind is Kind.DEREGISTER \
                and not self._may_be_registered(now):
            self.registration = None
            self.bul = None
            self.registered_until = None
            return [Log("no BA to the deregistration, but any binding has expired by now",
                        logging.WARNING)] + self._at_home(now, announce=True)
        if self.bul is not None and now >= self.bul.expires:
            actions.append(Log(f"binding of {self.bul.care_of} expired", logging.WARNING))
            self.bul = None
        if self.bul is not None and registration is None and now >= self.bul.refresh_at \
                and self.location is Location.AWAY and self.care_of == self.bul.care_of:
            self.registration = self._new_registration(now, Kind.REGISTER, self.care_of,
                                                       "refresh")
            actions += self._registration_due(now)
        return actions

    def _refresh_request(self, now, meta):
        """RFC 6275 §11.7.4: a Binding Refresh Request from the HA is answered with a
        Binding Update (unless one is already on its way)."""
        if meta.ip_src != self.home_agent or meta.routing_home_address not in (
                None, self.home_address) or self.location is not Location.AWAY \
                or self.care_of is None:
            return []
        actions = [Log(f"Binding Refresh Request from {meta.ip_src}")]
        if self.registration is None:
            self.registration = self._new_registration(now, Kind.REGISTER, self.care_of,
                                                       "refresh requested")
            actions += self._registration_due(now)
        return actions

    # ------------------------------------------------------------------ home again

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
        frame = packets.neighbor_advert(
            src_mac=self.mac, eth_dst=wire.multicast_mac(wire.ALL_NODES),
            src=self.home_address, dst=wire.ALL_NODES, target=self.home_address,
            router=False, solicited=False, override=True)
        return [Send(frame, "unsolicited neighbour advertisement"),
                Log(f"unsolicited NA for {self.home_address} to all-nodes (override)")]
