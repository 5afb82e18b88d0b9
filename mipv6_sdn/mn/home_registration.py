"""Home registration (RFC 6275 §11.7.1-§11.7.4, §11.5.5) with RFC 4285: Binding Updates
to the home agent, their retransmission, the Binding Acknowledgements, refresh, and the
deregistration on return home.

:class:`HomeRegistration` answers the notes of movement detection and discovery, and
keeps the home agent's entry of the Binding Update List. :class:`BindingUpdateSender`
builds the Binding Updates: sequence numbers, timestamps on the home agent's clock,
MN-HA authentication and the rate limit.
"""
import dataclasses
import enum
import ipaddress
import logging

from mipv6_sdn import mobility
from mipv6_sdn.mn.actions import DefaultRoute, Log, Send
from mipv6_sdn.mn.binding_update_list import BindingUpdateListEntry
from mipv6_sdn.mn.movement import Location
from mipv6_sdn.mn.part import Event, Note, Part
from mipv6_sdn.mn.signalling import (INITIAL_BINDACK_TIMEOUT, MAX_IMMEDIATE_RETRIES,
                                     REFRESH_FRACTION, Backoff, UpdateRate,
                                     binding_update_packet, to_router)

INITIAL_BINDACK_TIMEOUT_FIRST_REG = 1.5  # RFC 6275 §13 InitialBindackTimeoutFirstReg (§11.7.1)
MAX_LIFETIME = mobility.LIFETIME_UNIT * 0xFFFF  # RFC 6275 §6.1.7: 16 bits of 4 s units
DEFAULT_LIFETIME = 420  # seconds: what the HA grants at most by default (docs/configuration.md)

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
    mobility.EXPIRED_HOME_NONCE_INDEX: "expired home nonce index",
    mobility.EXPIRED_CARE_OF_NONCE_INDEX: "expired care-of nonce index",
    mobility.EXPIRED_NONCES: "expired nonces",
    mobility.REGISTRATION_TYPE_CHANGE_DISALLOWED: "registration type change disallowed",
    mobility.MIPV6_ID_MISMATCH: "MIPV6-ID-MISMATCH (timestamp)",
    mobility.MIPV6_MESG_ID_REQD: "MIPV6-MESG-ID-REQD",
    mobility.MIPV6_AUTH_FAIL: "MIPV6-AUTH-FAIL",
}


class Kind(enum.Enum):
    REGISTER = "registration"
    DEREGISTER = "deregistration"


@dataclasses.dataclass
class Registration:
    """A Binding Update waiting for its acknowledgement (RFC 6275 §11.8)."""
    kind: Kind
    care_of: ipaddress.IPv6Address
    lifetime: int  # requested, seconds
    backoff: Backoff
    reason: str
    first_registration: bool = False
    sent: dict = dataclasses.field(default_factory=dict)  # sequence -> timestamp
    first_sent: float | None = None
    immediate_retries: int = 0

    @property
    def movement(self):
        """Whether this Binding Update follows a movement (not a refresh)."""
        return not self.reason.startswith("refresh")

    def retry_at_once(self, now):
        """Send again now, the backoff from its start (an answer to status 135 or 144)."""
        self.immediate_retries += 1
        self.backoff.restart(now, initial_bindack_timeout(self.first_registration))


def requested_lifetime(lifetime):
    """``lifetime`` (seconds) rounded down to LIFETIME_UNIT (RFC 6275 §6.1.7), or
    ValueError when a Binding Update cannot carry it."""
    if not mobility.LIFETIME_UNIT <= lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime {lifetime} out of range "
                         f"{mobility.LIFETIME_UNIT}..{MAX_LIFETIME}")
    return lifetime - lifetime % mobility.LIFETIME_UNIT


def initial_bindack_timeout(first_registration):
    """RFC 6275 §11.8: the wait after a Binding Update's first transmission."""
    return INITIAL_BINDACK_TIMEOUT_FIRST_REG if first_registration \
        else INITIAL_BINDACK_TIMEOUT


def _timing(now, registration, movement):
    """How long ``registration`` took, for the log: since link up and attachment when it
    follows a movement, and since its first Binding Update."""
    tries = len(registration.sent)
    timing = f"{now - registration.first_sent:.3f} s after the first BU ({tries} sent)"
    if registration.movement:
        timing = f"{now - movement.attached_at:.3f} s after attachment, " + timing
        if movement.attached_link_up is not None:
            timing = f"{now - movement.attached_link_up:.3f} s after link up, " + timing
    return timing


class BindingUpdateSender:
    """Binding Updates to the home agent (RFC 6275 §11.7.1, §11.8) with RFC 4285
    replay protection and MN-HA authentication, and the check of the answers."""

    def __init__(self, identity, spi, key, sequence):
        self.identity = identity
        self.spi, self.key = spi, key
        self.sequence = sequence & 0xFFFF
        self.clock_offset = 0.0  # the HA's clock minus ours (RFC 4285 §6 resync)
        self.last_accepted_timestamp = 0
        self.rate = UpdateRate()

    def binding_update(self, now, home_agent, registration):
        """(IPv6 packet, sequence, timestamp) of one Binding Update (RFC 6275 §11.7.1,
        §11.5.5); a new sequence number each time."""
        home_address = self.identity.home_address
        self.sequence = (self.sequence + 1) & 0xFFFF
        stamp = self._timestamp(now)
        update = mobility.BindingUpdate(
            sequence=self.sequence,
            lifetime=registration.lifetime // mobility.LIFETIME_UNIT,
            ack=True, home=True,
            options=(mobility.MobilityMessageReplayProtection(stamp),))
        mh = mobility.serialize_mobility_header(
            update, home_address, home_agent,
            auth=(self.spi, self.key, registration.care_of, home_address))
        self.rate.sent(now)
        packet = binding_update_packet(registration.care_of, home_address, home_agent, mh)
        return packet, self.sequence, stamp

    def ack_problem(self, meta, ack, registration):
        """Why ``ack`` answers none of ``registration``'s Binding Updates (RFC 6275
        §11.7.3, RFC 4285 §5, §6), or None when it does."""
        care_of, home_address = registration.care_of, self.identity.home_address
        if care_of == home_address:
            addressed = meta.ip_dst == home_address and \
                meta.routing_home_address in (None, home_address)
        else:
            addressed = meta.ip_dst == care_of and meta.routing_home_address == home_address
        if not addressed:
            return (f"BA to {meta.ip_dst} (home address {meta.routing_home_address}) "
                    "is not for this registration")
        if not mobility.verify_mn_ha_authentication(meta.mobility, self.spi, self.key,
                                                    care_of, home_address):
            return f"BA seq {ack.sequence} fails MN-HA authentication"
        replay = mobility.find_option(ack, mobility.MobilityMessageReplayProtection)
        if ack.status != mobility.SEQUENCE_OUT_OF_WINDOW \
                and ack.sequence not in registration.sent:
            return f"BA seq {ack.sequence} matches no outstanding BU"
        if replay is None or (ack.status != mobility.MIPV6_ID_MISMATCH
                              and replay.timestamp not in registration.sent.values()):
            return f"BA seq {ack.sequence} does not echo a timestamp sent"
        return None

    def resynchronise(self, now, timestamp):
        """RFC 4285 §6: take the HA's clock from the ``timestamp`` it sent with 144."""
        self.clock_offset = mobility.unix_time(timestamp) - now

    def _timestamp(self, now):
        """RFC 4285 §6: now on the HA's clock (as far as known), newer than the last
        timestamp the HA accepted."""
        stamp = mobility.ntp_timestamp(now + self.clock_offset)
        return max(stamp, self.last_accepted_timestamp + 1)


class HomeRegistration(Part):
    """The home registration: the Binding Update waiting for its acknowledgement
    (``pending``), the home agent, and its Binding Update List entry."""

    def __init__(self, identity, movement, binding_update_list, *, spi, key, home_agent,
                 lifetime, sequence):
        """``spi`` and ``key``: the RFC 4285 MN-HA security association; ``home_agent``
        None until DHAAD finds it; ``lifetime`` the binding lifetime to ask for, in
        seconds (rounded down to LIFETIME_UNIT); ``sequence`` the last Binding Update
        sequence number used (a random number from the caller)."""
        self.identity = identity
        self.movement = movement
        self.binding_update_list = binding_update_list
        self.sender = BindingUpdateSender(identity, spi, key, sequence)
        self.home_agent = home_agent
        self.lifetime = requested_lifetime(lifetime)
        self.pending = None  # Registration waiting for its BA

    @property
    def binding(self):
        """The home agent's entry of the Binding Update List, or None."""
        return self.binding_update_list.get(self.home_agent)

    def notify(self, now, note):
        if note.event is Event.CARE_OF_ADDRESS:
            return self._register(now, "new care-of address")
        if note.event is Event.HOME_AGENT_FOUND:
            self.home_agent = note.address
            return self._register(now, "home agent found")
        if note.event is Event.RETURNED_HOME:
            return self._returned_home(now, note.from_away)
        if note.event is Event.MOVED_AWAY:
            self.pending = None
        elif note.event is Event.CARE_OF_ADDRESS_LOST and self.pending is not None \
                and self.pending.kind is Kind.REGISTER:
            self.pending = None
        return []

    def frame_received(self, now, meta):
        message = meta.mobility.message if meta.mobility is not None else None
        if isinstance(message, mobility.BindingAck):
            return self._binding_ack(now, meta, message)
        if isinstance(message, mobility.BindingRefreshRequest):
            return self._refresh_request(now, meta)
        if isinstance(message, mobility.BindingError) and meta.ip_src == self.home_agent:
            return [Log(f"Binding Error status {message.status} from {meta.ip_src} "
                        f"for {message.home_address}", logging.WARNING)]
        return []

    def tick(self, now):
        """Retransmission, then refresh and expiry."""
        return self._registration_due(now) + self._binding_due(now)

    def _new_registration(self, now, kind, care_of, reason):
        first = kind is Kind.REGISTER and not self.binding_update_list.bound(
            self.home_agent, now)
        return Registration(
            kind=kind, care_of=care_of, reason=reason, first_registration=first,
            lifetime=self.lifetime if kind is Kind.REGISTER else 0,
            backoff=Backoff(next_send=now, timeout=initial_bindack_timeout(first)))

    def _register(self, now, reason):
        """A home registration from the current care-of address (RFC 6275 §11.7.1)."""
        if self.home_agent is None:
            return [Note(Event.HOME_AGENT_WANTED)]
        self.pending = self._new_registration(now, Kind.REGISTER, self.movement.care_of,
                                              reason)
        return self._registration_due(now)

    def _registration_due(self, now):
        """Send the pending Binding Update when it is due: the first transmission, or a
        retransmission after InitialBindackTimeoutFirstReg (first registration) or
        INITIAL_BINDACK_TIMEOUT, doubling up to MAX_BINDACK_TIMEOUT and going on at
        that rate (RFC 6275 §11.8). No more than MAX_UPDATE_RATE a second (§11.8)."""
        registration = self.pending
        if registration is None or now < registration.backoff.next_send:
            return []
        limited = self.sender.rate.limited_until(now)
        if limited is not None:
            registration.backoff.next_send = limited
            return []
        retransmission = registration.first_sent is not None
        if registration.first_sent is None:
            registration.first_sent = now
        packet, sequence, stamp = self.sender.binding_update(now, self.home_agent,
                                                             registration)
        registration.sent[sequence] = stamp
        wait = registration.backoff.sent(now)
        if registration.kind is Kind.REGISTER:
            self.binding_update_list.sent(self.home_agent, now + registration.lifetime)
        what = "retransmitted" if retransmission else "sent"
        attached_at = self.movement.attached_at
        since = "" if attached_at is None else f", {now - attached_at:.3f} s after attachment"
        return [Send(to_router(self.identity, self.movement, packet),
                     f"Binding Update seq {sequence}"),
                Log(f"{registration.kind.value} BU {what} ({registration.reason}): seq "
                    f"{sequence}, care-of {registration.care_of}, lifetime "
                    f"{registration.lifetime} s, to {self.home_agent}{since}; "
                    f"next try in {wait:g} s")]

    def _binding_ack(self, now, meta, ack):
        """RFC 6275 §11.7.3 with RFC 4285 §5, §6: check the BA, then act on its status."""
        registration = self.pending
        if registration is None or meta.ip_src != self.home_agent:
            return []
        problem = self.sender.ack_problem(meta, ack, registration)
        if problem is not None:
            return [Log(f"{problem}: ignored", logging.WARNING)]
        replay = mobility.find_option(ack, mobility.MobilityMessageReplayProtection)
        name = STATUS_NAMES.get(ack.status, "unknown status")
        if ack.status < mobility.REASON_UNSPECIFIED:
            return self._accepted(now, ack, replay, registration)
        if ack.status == mobility.SEQUENCE_OUT_OF_WINDOW:
            self.sender.sequence = ack.sequence  # the HA's last accepted; the next is one more
            return self._retry_at_once(now, registration, f"BA status 135 ({name}): the HA "
                                       f"last accepted seq {ack.sequence}")
        if ack.status == mobility.MIPV6_ID_MISMATCH:
            self.sender.resynchronise(now, replay.timestamp)
            return self._retry_at_once(now, registration, f"BA status 144 ({name}): clock "
                                       f"offset to the HA now {self.sender.clock_offset:+.3f} s")
        return [Log(f"BA status {ack.status} ({name}) for seq {ack.sequence}: next try in "
                    f"{registration.backoff.next_send - now:.1f} s", logging.WARNING)]

    def _retry_at_once(self, now, registration, why):
        if registration.immediate_retries >= MAX_IMMEDIATE_RETRIES:
            return [Log(f"{why}; next try in {registration.backoff.next_send - now:.1f} s",
                        logging.WARNING)]
        registration.retry_at_once(now)
        return [Log(f"{why}; retrying", logging.WARNING)] + self._registration_due(now)

    def _accepted(self, now, ack, replay, registration):
        self.pending = None
        self.sender.last_accepted_timestamp = replay.timestamp
        granted = ack.lifetime * mobility.LIFETIME_UNIT
        timing = _timing(now, registration, self.movement)
        if registration.kind is Kind.DEREGISTER:
            self.binding_update_list.forget(self.home_agent)
            return [Log(f"BA status {ack.status} seq {ack.sequence}: deregistered, {timing}"),
                    Note(Event.HOME_ADDRESS_USABLE, from_away=True)]
        if granted == 0:
            self.pending = registration  # nothing granted: keep trying, backed off
            return [Log(f"BA status {ack.status} seq {ack.sequence} granted no lifetime",
                        logging.WARNING)]
        self.binding_update_list.acknowledged(self.home_agent, BindingUpdateListEntry(
            care_of=registration.care_of, sequence=ack.sequence, lifetime=granted,
            expires=now + granted, refresh_at=now + REFRESH_FRACTION * granted))
        actions = [Log(f"BA status {ack.status} seq {ack.sequence}: registered care-of "
                       f"{registration.care_of} for {granted} s, {timing}"),
                   Note(Event.HOME_REGISTERED)]
        if ack.status == mobility.ACCEPTED_PREFIX_DISCOVERY:
            actions.append(Log("status 1: the home prefix expires before the binding "
                               "(mobile prefix discovery is not done)", logging.WARNING))
        return actions

    def _binding_due(self, now):
        """Refresh at REFRESH_FRACTION of the granted lifetime; forget an expired
        binding; give up a deregistration once no binding can be left at the HA."""
        registration, actions, bul = self.pending, [], self.binding_update_list
        if registration is not None and registration.kind is Kind.DEREGISTER \
                and not bul.may_be_bound(self.home_agent, now):
            self.pending = None
            bul.forget(self.home_agent)
            return [Log("no BA to the deregistration, but any binding has expired by now",
                        logging.WARNING), Note(Event.HOME_ADDRESS_USABLE, from_away=True)]
        expired = bul.expire(self.home_agent, now)
        if expired is not None:
            actions.append(Log(f"binding of {expired.care_of} expired", logging.WARNING))
        binding, care_of = self.binding, self.movement.care_of
        if binding is not None and registration is None and now >= binding.refresh_at \
                and self.movement.location is Location.AWAY and care_of == binding.care_of:
            self.pending = self._new_registration(now, Kind.REGISTER, care_of, "refresh")
            actions += self._registration_due(now)
        return actions

    def _refresh_request(self, now, meta):
        """RFC 6275 §11.7.4: a Binding Refresh Request from the HA is answered with a
        Binding Update (unless one is already on its way)."""
        home_address, care_of = self.identity.home_address, self.movement.care_of
        if meta.ip_src != self.home_agent or meta.routing_home_address not in (
                None, home_address) or self.movement.location is not Location.AWAY \
                or care_of is None:
            return []
        actions = [Log(f"Binding Refresh Request from {meta.ip_src}")]
        if self.pending is None:
            self.pending = self._new_registration(now, Kind.REGISTER, care_of,
                                                  "refresh requested")
            actions += self._registration_due(now)
        return actions

    def _returned_home(self, now, from_away):
        """RFC 6275 §11.5.5: deregister when a binding may be left at the HA; else the
        home address is usable on-link at once."""
        self.pending = None
        if self.home_agent is not None and self.binding_update_list.may_be_bound(
                self.home_agent, now):
            self.pending = self._new_registration(now, Kind.DEREGISTER,
                                                  self.identity.home_address, "returned home")
            route = DefaultRoute(self.movement.link.router_ll, self.identity.home_address)
            return [route] + self._registration_due(now)
        return [Note(Event.HOME_ADDRESS_USABLE, from_away=from_away)]
