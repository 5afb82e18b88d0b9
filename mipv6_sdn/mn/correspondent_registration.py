"""Correspondent registration (RFC 6275 §11.7.2-§11.7.4, §11.3.5, §11.8): route
optimisation with the correspondents inside the ``--route-optimise`` prefixes.

While the node is away and the home agent has acknowledged a registration, the first
frame to the home address from a source inside one of the prefixes makes that source a
correspondent. The node tests its home and care-of addresses with it (return
routability, :mod:`mipv6_sdn.mn.return_routability`) and sends it a Binding Update
authorised with the keygen tokens; the acknowledged binding goes into the Binding
Update List. It refreshes the binding before it expires, answers the correspondent's
Binding Refresh Requests, registers the new care-of address after each handover (once
the home agent has acknowledged it), and deregisters on return home. A correspondent
without Mobile IPv6 (a Parameter Problem about one of our messages waiting for its
answer, or Binding Error status 2 while one waits) is left alone for STOP_HOLD.
docs/mobile-node.md ("Route optimisation") gives the choices.

The node's own data never carries a Home Address option: it leaves from the home
address natively, and the switches route it directly once the binding exists.
"""
import dataclasses
import ipaddress
import logging

from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.mn.actions import Log, Send, WatchCorrespondents
from mipv6_sdn.mn.binding_update_list import BindingUpdateListEntry
from mipv6_sdn.mn.home_registration import STATUS_NAMES, Kind
from mipv6_sdn.mn.movement import Location
from mipv6_sdn.mn.part import Event, Part
from mipv6_sdn.mn.return_routability import INIT_NAMES, ReturnRoutability, Which
from mipv6_sdn.mn.signalling import (MAX_IMMEDIATE_RETRIES, REFRESH_FRACTION, Backoff,
                                     TokenBucket, UpdateRate, binding_update_packet,
                                     to_router)

MAX_CORRESPONDENTS = 64  # choice: the table's bound; the least recently active goes first
# policy: new correspondents taken at most 1 a second, after a burst of 4, so frames
# from many made-up sources inside a prefix cannot start registrations (each, where the
# controller answers for it, a binding and 2 flow rules) faster than that.
NEW_CORRESPONDENT_RATE = 1.0
NEW_CORRESPONDENT_BURST = 4
STOP_HOLD = 600.0  # choice: seconds a correspondent that refused route optimisation is left alone
SEQUENCE_OCTETS = 2  # RFC 6275 §6.1.7: 16-bit sequence numbers, each correspondent its own
# policy: a BA counts for one of the last 4 transmissions of a BU; the oldest of them went
# out 7 s (1 + 2 + 4, §11.8) or more before the newest, so an answer to an older one is lost.
SENT_KEPT = 4

# RFC 6275 §6.1.8: what each "expired nonce" status asks to test again (§11.7.3).
EXPIRED = {mobility.EXPIRED_HOME_NONCE_INDEX: (Which.HOME,),
           mobility.EXPIRED_CARE_OF_NONCE_INDEX: (Which.CARE_OF,),
           mobility.EXPIRED_NONCES: (Which.HOME, Which.CARE_OF)}
# RFC 6275 §11.3.5: what a Parameter Problem points at when the correspondent does not
# know Mobile IPv6: the Next Header of our Mobility Header, or our Home Address option.
REFUSED = {wire.ICMPV6_PARAM_NEXT_HEADER: wire.IPPROTO_MH,
           wire.ICMPV6_PARAM_OPTION: mobility.OPT_HOME_ADDRESS}


@dataclasses.dataclass
class Update:
    """A correspondent Binding Update waiting for its acknowledgement (RFC 6275 §11.7.2)."""
    kind: Kind
    care_of: ipaddress.IPv6Address  # the home address for a deregistration from home
    lifetime: int  # requested, seconds
    reason: str
    backoff: Backoff
    sent: dict = dataclasses.field(default_factory=dict)  # sequence -> Kbm, the last few
    immediate_retries: int = 0

    def record(self, sequence, kbm):
        """A transmission with ``sequence`` and ``kbm``; the oldest beyond SENT_KEPT
        can no longer be acknowledged."""
        self.sent.pop(sequence, None)  # a number used again goes last
        self.sent[sequence] = kbm
        while len(self.sent) > SENT_KEPT:
            del self.sent[next(iter(self.sent))]


@dataclasses.dataclass
class Correspondent:
    """An entry of the table of correspondents."""
    address: ipaddress.IPv6Address
    rr: ReturnRoutability
    sequence: int  # the last sequence number sent to it
    last_active: float  # its first frame, or its last Binding Refresh Request
    update: Update | None = None
    rate: UpdateRate = dataclasses.field(default_factory=UpdateRate)
    stopped_until: float | None = None  # no route optimisation with it until then

    def awaiting_answer(self):
        """Whether a test or a Binding Update went to it and waits for its answer."""
        return bool(self.rr.tests) or (self.update is not None and bool(self.update.sent))


def ack_problem(meta, ack, update, home_address):
    """Why ``ack`` from a correspondent answers none of ``update``'s Binding Updates
    (RFC 6275 §11.7.3), or None when it does: it must come to the care-of address
    through a type 2 routing header with the home address (to the home address for a
    deregistration from home), carry the sequence number of one of them (135: the
    correspondent's last accepted) and, unless its status is 136-138 (§9.5.4: those
    carry none), Binding Authorization Data made with the same Kbm."""
    if update.care_of == home_address:
        addressed = meta.ip_dst == home_address and \
            meta.routing_home_address in (None, home_address)
    else:
        addressed = meta.ip_dst == update.care_of and meta.routing_home_address == home_address
    if not addressed:
        return f"BA from {meta.ip_src} to {meta.ip_dst} is not for this registration"
    if ack.status == mobility.SEQUENCE_OUT_OF_WINDOW:
        keys = set(update.sent.values())
    elif ack.sequence in update.sent:
        keys = {update.sent[ack.sequence]}
    else:
        return f"BA seq {ack.sequence} from {meta.ip_src} matches no outstanding BU"
    if ack.status in EXPIRED or any(mobility.verify_binding_authorization(
            meta.mobility, kbm, update.care_of, meta.ip_src) for kbm in keys):
        return None
    return f"BA seq {ack.sequence} from {meta.ip_src} fails its Binding Authorization Data"


def binding_update(home_address, correspondent, update, sequence, keys):
    """The IPv6 packet of a correspondent Binding Update (RFC 6275 §11.7.2): A set, H
    clear, Nonce Indices, then Binding Authorization Data made with ``keys`` (Kbm,
    NonceIndices) over the care-of address, the correspondent's address and the
    Mobility Header (§5.2.6)."""
    kbm, indices = keys
    message = mobility.BindingUpdate(
        sequence=sequence, lifetime=update.lifetime // mobility.LIFETIME_UNIT, ack=True,
        home=False, options=(indices,))
    mh = mobility.serialize_mobility_header(message, home_address, correspondent,
                                            authorization=(kbm, update.care_of, correspondent))
    return binding_update_packet(update.care_of, home_address, correspondent, mh)


def init_actions(now, correspondent, identity, movement):
    """The Home and Care-of Test Inits due to ``correspondent`` (RFC 6275 §11.6.1,
    §11.8) in frames to the router, and their logs."""
    actions = []
    for which, packet, retransmission in correspondent.rr.due(now):
        name = INIT_NAMES[which]
        again = f" (retransmission {retransmission})" if retransmission else ""
        actions += [Send(to_router(identity, movement, packet), name),
                    Log(f"{name} to correspondent {correspondent.address}{again}")]
    return actions


def quoted_packet(meta):
    """The PacketMeta of the packet the ICMPv6 error ``meta`` quotes after its 4-octet
    parameter (RFC 4443 §2.4 (c)), or None unless it is a whole IPv6 packet (ours are far
    shorter than the 1280 octets an error may carry)."""
    try:
        return packets.parse_frame(packets.ethernet(meta.eth_dst, meta.eth_src,
                                                    meta.icmp_body[4:]))
    except wire.PacketError:
        return None


def quotes_outstanding(quoted, correspondent, home_address):
    """Whether ``quoted`` (a PacketMeta, or None) is one of our messages to
    ``correspondent`` still waiting for its answer: a Home or Care-of Test Init with the
    outstanding cookie from the address tested, or a Binding Update from the outstanding
    one's care-of address with the sequence number and Binding Authorization Data of one
    of its transmissions kept (SENT_KEPT)."""
    if quoted is None or quoted.mobility is None or quoted.ip_dst != correspondent.address:
        return False
    message, update = quoted.mobility.message, correspondent.update
    if isinstance(message, (mobility.HomeTestInit, mobility.CareofTestInit)):
        return correspondent.rr.outstanding(quoted, message)
    if not isinstance(message, mobility.BindingUpdate) or update is None \
            or message.sequence not in update.sent:
        return False
    option = None if update.care_of == home_address else home_address
    return quoted.ip_src == update.care_of and quoted.home_address_option == option \
        and mobility.verify_binding_authorization(
            quoted.mobility, update.sent[message.sequence], update.care_of,
            correspondent.address)


def refuses_route_optimisation(meta, correspondent, home_address):
    """RFC 6275 §11.3.5: whether the ICMPv6 Parameter Problem ``meta`` says that
    ``correspondent`` did not recognise a Mobility Header (code 1) or a Home Address
    option (code 2) of a packet it quotes, and that packet is one of ours waiting for
    its answer (else anyone could stop route optimisation with a forged error)."""
    body, wanted = meta.icmp_body, REFUSED.get(meta.icmp_code)
    if wanted is None or len(body) < 4 + wire.IPV6_HEADER_LEN:
        return False
    pointer, quoted = int.from_bytes(body[:4], "big"), body[4:]
    return pointer < len(quoted) and quoted[pointer] == wanted \
        and quotes_outstanding(quoted_packet(meta), correspondent, home_address)


class CorrespondentTable:
    """The correspondents (at most MAX_CORRESPONDENTS) by address, and what the filter
    of new correspondents is told."""

    def __init__(self, home_address, prefixes, random_bytes):
        self.home_address = home_address
        self.prefixes = tuple(prefixes)
        self.random_bytes = random_bytes
        self.entries = {}  # address -> Correspondent
        self.watching = WatchCorrespondents(home_address)
        self.admissions = TokenBucket(NEW_CORRESPONDENT_RATE, NEW_CORRESPONDENT_BURST)
        self.refused = 0  # sources the rate limit refused since the last one taken

    def candidate(self, source, destination):
        """Whether a frame from ``source`` to ``destination`` may come from a
        correspondent: to the home address, from inside a prefix."""
        return destination == self.home_address and any(
            source in prefix for prefix in self.prefixes)

    def admit(self, now, source):
        """(the new entry for ``source``, logs); the least recently active entry makes
        room when the table is full (its binding, if any, expires at its correspondent).
        (None, logs) when new ones come faster than NEW_CORRESPONDENT_RATE: the
        source's next frame asks again."""
        if not self.admissions.take(now):
            return None, self._refused(source)
        logs, refused = [], self.refused
        self.refused = 0
        if len(self.entries) >= MAX_CORRESPONDENTS:
            oldest = min(self.entries.values(), key=lambda c: c.last_active)
            del self.entries[oldest.address]
            logs.append(Log(f"correspondent {oldest.address} dropped from the full table "
                            "(least recently active)", logging.WARNING))
        self.entries[source] = Correspondent(
            source, ReturnRoutability(source, self.random_bytes), last_active=now,
            sequence=int.from_bytes(self.random_bytes(SEQUENCE_OCTETS), "big"))
        after = f" ({refused} refused by the rate limit before it)" if refused else ""
        logs.append(Log(f"correspondent {source}: route optimisation{after}"))
        return self.entries[source], logs

    def _refused(self, source):
        """Count a source the rate limit refused; the first since the last one taken is
        logged, so a flood logs about once a second."""
        self.refused += 1
        if self.refused > 1:
            return []
        return [Log(f"new correspondents faster than {NEW_CORRESPONDENT_RATE:g} a second: "
                    f"{source} not taken for now", logging.WARNING)]

    def watch(self, watching):
        """The filter's new settings when they change: the prefixes and the known
        correspondents while ``watching``, nothing otherwise."""
        prefixes = self.prefixes if watching else ()
        known = tuple(sorted(self.entries)) if prefixes else ()
        watch = WatchCorrespondents(self.home_address, prefixes, known)
        if watch == self.watching:
            return []
        self.watching = watch
        return [watch]


class CorrespondentRegistration(Part):
    """The table of correspondents (at most MAX_CORRESPONDENTS) and their registrations."""

    def __init__(self, identity, movement, home_registration, binding_update_list, *,
                 prefixes, random_bytes):
        """``prefixes``: IPv6Networks whose hosts are route-optimised; ``random_bytes(n)``
        n random octets (init cookies, first sequence numbers). The binding lifetime
        asked for is home registration's, at most MAX_RR_BINDING_LIFETIME (§5.2.7)."""
        self.identity = identity
        self.movement = movement
        self.home_registration = home_registration
        self.binding_update_list = binding_update_list
        self.lifetime = min(home_registration.lifetime, mobility.MAX_RR_BINDING_LIFETIME)
        self.table = CorrespondentTable(identity.home_address, prefixes, random_bytes)
        self.correspondents = self.table.entries

    def seen(self, now, source, destination):
        """A frame from ``source`` to ``destination`` (any frame, or the headers the
        correspondent filter passed): a new correspondent when it is one."""
        return self._seen(now, source, destination) + self._watch()

    def notify(self, now, note):
        actions = []
        if note.event is Event.HOME_REGISTERED:
            actions = self._register_all(now)
        elif note.event in (Event.MOVED_AWAY, Event.CARE_OF_ADDRESS,
                            Event.CARE_OF_ADDRESS_LOST, Event.RETURNED_HOME):
            for correspondent in self.correspondents.values():
                correspondent.update = None  # registrations of the old care-of address
                correspondent.rr.stop()  # a care-of token serves its own address only
        elif note.event is Event.HOME_ADDRESS_USABLE:
            actions = self._deregister_all(now)
        return actions + self._watch()

    def frame_received(self, now, meta):
        if meta.mobility is None:
            if meta.icmp_type == wire.ICMPV6_PARAM_PROBLEM:
                return self._parameter_problem(now, meta) + self._watch()
            return self.seen(now, meta.ip_src, meta.ip_dst)
        correspondent = self.correspondents.get(meta.ip_src)
        if correspondent is None or correspondent.stopped_until is not None:
            return []
        message = meta.mobility.message
        if isinstance(message, (mobility.HomeTest, mobility.CareofTest)):
            return self._test(now, correspondent, meta, message)
        if isinstance(message, mobility.BindingAck):
            return self._binding_ack(now, correspondent, meta, message) + self._watch()
        if isinstance(message, mobility.BindingRefreshRequest):
            return self._refresh_request(now, correspondent, meta)
        if isinstance(message, mobility.BindingError):
            return self._binding_error(now, correspondent, message) + self._watch()
        return []

    def tick(self, now):
        """Tests and Binding Updates due, refresh, expiry, the end of a stop."""
        actions = []
        for correspondent in list(self.correspondents.values()):
            actions += self._due(now, correspondent)
        return actions + self._watch()

    # ------------------------------------------------------------------ the table

    def _watching(self):
        """Whether new correspondents are taken: away, with a home registration."""
        return self.movement.location is Location.AWAY \
            and self.home_registration.binding is not None

    def _may_register(self):
        """RFC 6275 §11.7.2: no correspondent registration before the home agent has
        acknowledged the current care-of address."""
        binding, care_of = self.home_registration.binding, self.movement.care_of
        return self.movement.location is Location.AWAY and care_of is not None \
            and binding is not None and binding.care_of == care_of

    def _seen(self, now, source, destination):
        if not self._watching() or source == self.home_registration.home_agent \
                or not self.table.candidate(source, destination):
            return []
        correspondent = self.correspondents.get(source)
        if correspondent is not None:
            correspondent.last_active = now
            return []
        correspondent, actions = self.table.admit(now, source)
        if correspondent is not None and self._may_register():
            actions += self._start(now, correspondent, Kind.REGISTER, "new correspondent")
        return actions

    def _watch(self):
        return self.table.watch(self._watching())

    def _stop(self, now, correspondent, why):
        """No route optimisation with ``correspondent`` for STOP_HOLD; its binding, if
        any, expires there."""
        correspondent.update = None
        correspondent.rr.stop()
        correspondent.stopped_until = now + STOP_HOLD
        self.binding_update_list.forget(correspondent.address)
        return [Log(f"correspondent {correspondent.address}: {why}; no route optimisation "
                    f"with it for {STOP_HOLD:g} s", logging.WARNING)]

    # ------------------------------------------------------------------ registrations

    def _register_all(self, now):
        """RFC 6275 §11.7.2: once the home agent has the care-of address, every
        correspondent not registered with it gets it."""
        actions, care_of = [], self.movement.care_of
        for correspondent in self.correspondents.values():
            entry = self.binding_update_list.get(correspondent.address)
            if correspondent.stopped_until is None and correspondent.update is None \
                    and (entry is None or entry.care_of != care_of):
                actions += self._start(now, correspondent, Kind.REGISTER,
                                       "new care-of address")
        return actions

    def _deregister_all(self, now):
        """RFC 6275 §11.7.2, §11.5.5: back home, with no binding left at the home
        agent: deregister where a binding may be left, forget the others."""
        actions = []
        for correspondent in list(self.correspondents.values()):
            if correspondent.stopped_until is not None:
                continue
            if self.binding_update_list.may_be_bound(correspondent.address, now):
                actions += self._start(now, correspondent, Kind.DEREGISTER, "returned home")
            else:
                del self.correspondents[correspondent.address]
        return actions

    def _start(self, now, correspondent, kind, reason):
        register = kind is Kind.REGISTER
        correspondent.update = Update(
            kind, self.movement.care_of if register else self.identity.home_address,
            self.lifetime if register else 0, reason, Backoff(next_send=now))
        return self._update_due(now, correspondent)

    def _due(self, now, correspondent):
        address, bul = correspondent.address, self.binding_update_list
        if correspondent.stopped_until is not None:
            if now >= correspondent.stopped_until:
                del self.correspondents[address]
            return []
        actions = []
        if bul.expire(address, now) is not None:
            actions.append(Log(f"binding at correspondent {address} expired", logging.WARNING))
        update = correspondent.update
        if update is not None and update.kind is Kind.DEREGISTER \
                and not bul.may_be_bound(address, now):
            del self.correspondents[address]
            bul.forget(address)
            return actions + [Log(f"no BA from correspondent {address} to the "
                                  "deregistration, but its binding has expired by now")]
        actions += self._tests_due(now, correspondent) + self._update_due(now, correspondent)
        entry = bul.get(address)
        if entry is not None and correspondent.update is None and now >= entry.refresh_at \
                and self._may_register():
            actions += self._start(now, correspondent, Kind.REGISTER, "refresh")
        return actions

    def _tests_due(self, now, correspondent):
        return init_actions(now, correspondent, self.identity, self.movement)

    def _update_due(self, now, correspondent):
        """Send the Binding Update when it is due and the tokens are there (else the
        tests go first), with the backoff of RFC 6275 §11.8 and no more than
        MAX_UPDATE_RATE a second."""
        update, home_address = correspondent.update, self.identity.home_address
        if update is None or now < update.backoff.next_send:
            return []
        keys = correspondent.rr.binding_keys(now, home_address, update.care_of)
        if keys is None:
            return self._tests_due(now, correspondent)
        limited = correspondent.rate.limited_until(now)
        if limited is not None:
            update.backoff.next_send = limited
            return []
        address = correspondent.address
        correspondent.sequence = sequence = (correspondent.sequence + 1) & 0xFFFF
        packet = binding_update(home_address, address, update, sequence, keys)
        update.record(sequence, keys[0])
        correspondent.rate.sent(now)
        wait = update.backoff.sent(now)
        if update.kind is Kind.REGISTER:
            self.binding_update_list.sent(address, now + update.lifetime)
        return [Send(to_router(self.identity, self.movement, packet),
                     f"correspondent Binding Update seq {sequence}"),
                Log(f"correspondent {update.kind.value} BU ({update.reason}) to {address}: "
                    f"seq {sequence}, care-of {update.care_of}, lifetime {update.lifetime} s; "
                    f"next try in {wait:g} s")]

    # ------------------------------------------------------------------ answers

    def _test(self, now, correspondent, meta, message):
        which = correspondent.rr.accept(now, meta, message)
        if which is None:
            return [Log(f"{type(message).__name__} from {meta.ip_src} to {meta.ip_dst} "
                        "answers no test outstanding: ignored")]
        return [Log(f"{which.value} keygen token from correspondent {meta.ip_src} (nonce "
                    f"index {message.nonce_index})")] + self._update_due(now, correspondent)

    def _binding_ack(self, now, correspondent, meta, ack):
        """RFC 6275 §11.7.3: check the BA, then act on its status."""
        update = correspondent.update
        if update is None:
            return []
        problem = ack_problem(meta, ack, update, self.identity.home_address)
        if problem is not None:
            return [Log(f"{problem}: ignored", logging.WARNING)]
        why = (f"BA status {ack.status} "
               f"({STATUS_NAMES.get(ack.status, 'unknown status')}) from "
               f"correspondent {correspondent.address}")
        if ack.status < mobility.REASON_UNSPECIFIED:
            return self._accepted(now, correspondent, update, ack)
        if ack.status == mobility.SEQUENCE_OUT_OF_WINDOW:
            correspondent.sequence = ack.sequence  # its last accepted; the next is one more
            return self._retry(now, correspondent, why)
        if ack.status in EXPIRED:
            for which in EXPIRED[ack.status]:
                correspondent.rr.forget(which)
            return self._retry(now, correspondent, why)
        return self._stop(now, correspondent, why)

    def _retry(self, now, correspondent, why):
        """Send again at once (after the tests the answer asks for), at most
        MAX_IMMEDIATE_RETRIES times; after that, at the backoff's pace."""
        update = correspondent.update
        if update.immediate_retries >= MAX_IMMEDIATE_RETRIES:
            return [Log(f"{why}; next try in {update.backoff.next_send - now:.1f} s",
                        logging.WARNING)]
        update.immediate_retries += 1
        update.backoff.restart(now)
        return [Log(f"{why}; retrying", logging.WARNING)] + self._update_due(now, correspondent)

    def _accepted(self, now, correspondent, update, ack):
        address, granted = correspondent.address, ack.lifetime * mobility.LIFETIME_UNIT
        correspondent.update = None
        if update.kind is Kind.DEREGISTER:
            self.binding_update_list.forget(address)
            del self.correspondents[address]
            return [Log(f"BA status {ack.status} seq {ack.sequence}: deregistered with "
                        f"correspondent {address}")]
        if granted == 0:
            return self._stop(now, correspondent, "BA granted no lifetime")
        self.binding_update_list.acknowledged(address, BindingUpdateListEntry(
            care_of=update.care_of, sequence=ack.sequence, lifetime=granted,
            expires=now + granted, refresh_at=now + REFRESH_FRACTION * granted))
        return [Log(f"BA status {ack.status} seq {ack.sequence}: correspondent {address} "
                    f"binds care-of {update.care_of} for {granted} s")]

    def _refresh_request(self, now, correspondent, meta):
        """RFC 6275 §11.7.4: a Binding Refresh Request (through the care-of address's
        type 2 routing header, or to the home address) is answered with the tests and a
        Binding Update, unless one is on its way."""
        home_address = self.identity.home_address
        if meta.routing_home_address not in (None, home_address) or meta.ip_dst not in (
                home_address, self.movement.care_of):
            return []
        correspondent.last_active = now
        actions = [Log(f"Binding Refresh Request from correspondent {meta.ip_src}")]
        if correspondent.update is None and self._may_register():
            actions += self._start(now, correspondent, Kind.REGISTER, "refresh requested")
        return actions

    def _binding_error(self, now, correspondent, error):
        """RFC 6275 §11.3.6: status 2, the correspondent does not know our messages: no
        route optimisation with it, if something went to it and waits for its answer
        (§11.3.5; the error is not authenticated); status 1 for our home address, it has
        no binding for it: register again."""
        if error.status == mobility.BE_UNRECOGNIZED_MH_TYPE:
            if not correspondent.awaiting_answer():
                return [Log(f"Binding Error status 2 from {correspondent.address} with "
                            "nothing sent to it outstanding: ignored", logging.WARNING)]
            return self._stop(now, correspondent, "Binding Error status 2 (unrecognized "
                              "MH Type)")
        if error.status != mobility.BE_UNKNOWN_BINDING_FOR_HAO \
                or error.home_address != self.identity.home_address:
            return []
        actions = [Log(f"Binding Error status 1 from correspondent {correspondent.address}: "
                       "it has no binding for the home address", logging.WARNING)]
        if correspondent.update is None and self._may_register():
            actions += self._start(now, correspondent, Kind.REGISTER, "Binding Error 1")
        return actions

    def _parameter_problem(self, now, meta):
        correspondent = self.correspondents.get(meta.ip_src)
        if correspondent is None or correspondent.stopped_until is not None:
            return []
        if not refuses_route_optimisation(meta, correspondent, self.identity.home_address):
            return [Log(f"ICMPv6 Parameter Problem from {meta.ip_src} about none of our "
                        "messages waiting for an answer: ignored", logging.WARNING)]
        return self._stop(now, correspondent, f"ICMPv6 Parameter Problem code "
                          f"{meta.icmp_code} about our signalling (no Mobile IPv6)")
