"""The correspondent node (RFC 6275 §9) of every address in the configured
correspondent prefixes: return routability, correspondent Binding Updates, and one
binding cache per correspondent beside the Home Agent's.

:meth:`CorrespondentNode.receive` takes a Mobility Header addressed to a correspondent
and returns the IPv6 packets it owes, each from the correspondent's address. It never
says where they leave: the router delivers each by its destination, the way traffic
for that address goes (a Home Test reaches the home address through its home binding,
never the port the Home Test Init came in on, docs/architecture.md). Binding Update
processing follows §9.5.1 in order; what is not accepted changes no state.
"""
import dataclasses
import ipaddress
import logging

from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.binding_cache import Binding, BindingCache, BindingEvent, sequence_newer
from mipv6_sdn.binding_store import EphemeralStore
from mipv6_sdn.events import EventLog
from mipv6_sdn.mobility_errors import MobilityErrors
from mipv6_sdn.refresh_requests import RefreshRequests, refresh_request
from mipv6_sdn.return_routability import STATE_KEY, ReturnRoutability

LOG = logging.getLogger(__name__)
CACHE_PREFIX = "correspondent "  # + the correspondent's address: its cache's name
STATE_CACHE = "correspondent"  # where the return routability state is kept
MAX_CORRESPONDENTS_PER_HOME = 64  # policy: bindings one home address may hold (130 after)


def cache_name(correspondent):
    return CACHE_PREFIX + str(correspondent)


@dataclasses.dataclass(frozen=True)
class Registration:
    """A correspondent Binding Update as §9.5.1 reads it."""
    correspondent: ipaddress.IPv6Address
    home: ipaddress.IPv6Address
    care_of: ipaddress.IPv6Address
    update: mobility.BindingUpdate

    @property
    def deregistration(self):
        return self.update.lifetime == 0 or self.care_of == self.home


class CorrespondentNode:
    """Return routability and the correspondents' binding caches."""

    def __init__(self, config, rng, store=None, error_allowed=None, events=None):
        self.policy = config.route_optimisation
        self.events = events if events is not None else EventLog()
        self.store = store if store is not None else EphemeralStore()
        self.errors = MobilityErrors(error_allowed)
        self.return_routability = ReturnRoutability(
            rng, lambda value: self.store.save_state(STATE_CACHE, STATE_KEY, value))
        self.caches = {}  # correspondent address -> BindingCache, while it holds bindings
        self.by_home = {}  # home address -> the correspondents with a binding for it
        self.count = 0  # bindings in all
        self.subscribers = []
        self.refresh_requests = RefreshRequests()

    def serves(self, address):
        return self.policy.serves(address)

    def subscribe(self, callback):
        """``callback(correspondent, event, binding, now)`` for every change of every
        correspondent's cache, present and future."""
        self.subscribers.append(callback)
        for correspondent, cache in self.caches.items():
            self._forward(correspondent, cache, callback)

    @staticmethod
    def _forward(correspondent, cache, callback):
        cache.subscribe(lambda event, binding, now: callback(correspondent, event,
                                                             binding, now))

    def cache(self, correspondent):
        cache = self.caches.get(correspondent)
        if cache is None:
            cache = self.caches[correspondent] = BindingCache(cache_name(correspondent),
                                                              self.store)
            self._forward(correspondent, cache, self._indexed)  # first: others read it
            self.refresh_requests.watch(cache)
            for callback in self.subscribers:
                self._forward(correspondent, cache, callback)
        return cache

    def _indexed(self, correspondent, event, binding, now):
        """Keep the index by home address and the count; a cache left without bindings
        is dropped, so what an attacker's messages leave behind is bounded."""
        peers = self.by_home.setdefault(binding.home_address, set())
        if event == BindingEvent.ADDED:
            peers.add(correspondent)
            self.count += 1
        elif event in (BindingEvent.DELETED, BindingEvent.EXPIRED):
            peers.discard(correspondent)
            self.count -= 1
            cache = self.caches.get(correspondent)
            if cache is not None and not len(cache):
                del self.caches[correspondent]
                self.refresh_requests.unwatch(cache)
        if not peers:
            del self.by_home[binding.home_address]
        return []

    def correspondents_of(self, home):
        """The correspondents that hold a binding for ``home``, in order."""
        return sorted(self.by_home.get(home, ()))

    def binding(self, correspondent, home):
        cache = self.caches.get(correspondent)
        return cache.get(home) if cache is not None else None

    # ------------------------------------------------------------------ dispatch

    def receive(self, now, meta):
        """(packets to deliver, messages of the caches' subscribers) for a Mobility
        Header (or a malformed one) addressed to a correspondent."""
        correspondent = meta.ip_dst
        if meta.mobility_error is not None:
            return self.errors.malformed(now, meta, correspondent), []
        message = meta.mobility.message
        if isinstance(message, (mobility.HomeTestInit, mobility.CareofTestInit)):
            # §9.4.1, §9.4.2: a test init with a Home Address option is dropped.
            if meta.home_address_option is not None or \
                    not wire.is_unicast_routable(meta.ip_src):
                return [], []
            return [self._test(now, correspondent, meta.ip_src, message)], []
        if isinstance(message, mobility.BindingUpdate):
            return self._binding_update(now, meta, message)
        home = meta.home_address_option
        if home is not None:
            binding = self.binding(correspondent, home)
            if binding is None or binding.care_of_address != meta.ip_src:
                return self.errors.binding_error(  # §9.3.1
                    now, meta, correspondent, mobility.BE_UNKNOWN_BINDING_FOR_HAO, home), []
        return [], []  # BA, BE, BRR, HoT and CoT are for mobile nodes

    def _test(self, now, correspondent, address, init):
        """HoT for a HoTI, CoT for a CoTI (§9.4.3, §9.4.4), to the address tested."""
        nonce = self.return_routability.current(now)
        home = isinstance(init, mobility.HomeTestInit)
        which = mobility.HOME_TOKEN if home else mobility.CAREOF_TOKEN
        token = self.return_routability.token(nonce, correspondent, address, which)
        test = (mobility.HomeTest if home else mobility.CareofTest)(
            nonce.index, init.cookie, token)
        self.events.emit(now, "return_routability", "home" if home else "care_of",
                         correspondent=str(correspondent), address=str(address),
                         test="home" if home else "care_of")
        mh = mobility.serialize_mobility_header(test, correspondent, address)
        return packets.ipv6(correspondent, address, wire.IPPROTO_MH, mh)

    # ------------------------------------------------------------------ Binding Update

    def _binding_update(self, now, meta, update):
        home = meta.home_address_option or meta.ip_src
        alternate = mobility.find_option(update, mobility.AlternateCareofAddress)
        care_of = alternate.address if alternate is not None else meta.ip_src
        if not wire.is_unicast_routable(home) or not wire.is_unicast_routable(care_of):
            return [], []
        registration = Registration(meta.ip_dst, home, care_of, update)
        # Until the BU is authorized its care-of address is a claim: the answer goes to
        # the packet's source, as the Home Agent's does.
        unverified = dataclasses.replace(registration, care_of=meta.ip_src)
        if update.home:  # §9.5.1, §10.3.1: a home registration at a correspondent
            return self._unauthorized_answer(
                now, unverified, mobility.HOME_REGISTRATION_NOT_SUPPORTED), []
        indices = mobility.find_option(update, mobility.NonceIndices)
        if indices is None or not update.options or not isinstance(
                update.options[-1], mobility.BindingAuthorizationData):
            return [], []  # §9.5.1: both required, the authorization data last
        nonces = self._nonces(now, registration, indices)
        if isinstance(nonces, int):  # §9.5.1: 136, 137 or 138, with no authorization
            return self._unauthorized_answer(now, unverified, nonces), []
        kbm = self._binding_management_key(registration, *nonces)
        if not mobility.verify_binding_authorization(meta.mobility, kbm, care_of,
                                                     registration.correspondent):
            LOG.info("correspondent BU %s -> %s at %s: authorization failed", home, care_of,
                     registration.correspondent)
            return [], []
        status, msgs = self._decide(now, registration)
        LOG.info("correspondent BU %s -> %s at %s seq %d: status %d", home, care_of,
                 registration.correspondent, update.sequence, status)
        self.events.binding_update(
            now, home, care_of, update, status, node=str(registration.correspondent),
            acknowledged=bool(update.ack or status >= mobility.REASON_UNSPECIFIED))
        if update.ack or status >= mobility.REASON_UNSPECIFIED:
            return [self._acknowledge(now, registration, status, kbm)], msgs
        return [], msgs

    def _unauthorized_answer(self, now, registration, status):
        """A BA that carries no authorization goes to an address nobody vouched for:
        rate-limited like Binding Errors (RFC 6275 §9.3.3), so it cannot be aimed."""
        if not self.errors.error_allowed(now):
            return []
        return [self._acknowledge(now, registration, status, None)]

    def _nonces(self, now, registration, indices):
        """(home nonce, care-of nonce or None), or the status for the expired ones."""
        rr = self.return_routability
        home_nonce = rr.recognised(now, indices.home)
        # §5.2.5, §9.5.1: deleting a binding needs no care-of token; its index is ignored.
        deletion = registration.deregistration
        careof_nonce = None if deletion else rr.recognised(now, indices.careof)
        careof_expired = careof_nonce is None and not deletion
        if home_nonce is None and careof_expired:
            return mobility.EXPIRED_NONCES
        if home_nonce is None:
            return mobility.EXPIRED_HOME_NONCE_INDEX
        if careof_expired:
            return mobility.EXPIRED_CARE_OF_NONCE_INDEX
        return home_nonce, careof_nonce

    def _binding_management_key(self, registration, home_nonce, careof_nonce):
        """§5.2.5: Kbm from the tokens the correspondent makes again from the BU."""
        token = self.return_routability.token
        home_token = token(home_nonce, registration.correspondent, registration.home,
                           mobility.HOME_TOKEN)
        if careof_nonce is None:  # deleting a binding: SHA1(home keygen token)
            return mobility.binding_management_key(home_token)
        return mobility.binding_management_key(home_token, token(
            careof_nonce, registration.correspondent, registration.care_of,
            mobility.CAREOF_TOKEN))

    def _decide(self, now, registration):
        """(status, messages): the sequence check, then the cache changed (§9.5.1-9.5.3).
        A cache is made only to store a binding."""
        home, update = registration.home, registration.update
        existing = self.binding(registration.correspondent, home)
        if existing is not None and not sequence_newer(update.sequence, existing.sequence):
            return mobility.SEQUENCE_OUT_OF_WINDOW, []
        if registration.deregistration:
            if existing is None:
                return mobility.ACCEPTED, []  # nothing to delete
            return mobility.ACCEPTED, self.caches[registration.correspondent].delete(now, home)
        if existing is None and (self.count >= self.policy.max_bindings or len(
                self.by_home.get(home, ())) >= MAX_CORRESPONDENTS_PER_HOME):
            return mobility.INSUFFICIENT_RESOURCES, []
        lifetime = min(update.lifetime * mobility.LIFETIME_UNIT,
                       mobility.MAX_RR_BINDING_LIFETIME)
        binding = Binding(home_address=home, care_of_address=registration.care_of,
                          sequence=update.sequence, lifetime=lifetime,
                          expires=now + lifetime, home_registration=False)
        return mobility.ACCEPTED, self.cache(registration.correspondent).put(now, binding)

    def _acknowledge(self, now, registration, status, kbm):
        """The BA (§9.5.4), with Binding Authorization Data when ``kbm`` is known, to
        the care-of address through a type 2 routing header."""
        correspondent, home, care_of = (registration.correspondent, registration.home,
                                        registration.care_of)
        sequence, lifetime = registration.update.sequence, 0
        binding = self.binding(correspondent, home)
        if status == mobility.SEQUENCE_OUT_OF_WINDOW:
            sequence = binding.sequence  # §9.5.1: the last accepted
        elif status < mobility.REASON_UNSPECIFIED and binding is not None:
            lifetime = binding.remaining(now) // mobility.LIFETIME_UNIT
        ack = mobility.BindingAck(status=status, sequence=sequence, lifetime=lifetime)
        authorization = (kbm, care_of, correspondent) if kbm is not None else None
        mh = mobility.serialize_mobility_header(ack, correspondent, home,
                                                authorization=authorization)
        return packets.to_mobile_node(correspondent, home, care_of, wire.IPPROTO_MH, mh)

    # ------------------------------------------------------------------ time

    def tick(self, now, in_use):
        """(Binding Refresh Requests to deliver, messages of the caches' subscribers):
        expired bindings removed; a BRR for each binding about to expire that
        ``in_use(correspondent, binding)`` says is in use (§9.5.5)."""
        msgs = [m for cache in list(self.caches.values()) for m in cache.expire(now)]
        requests = []
        for name, binding in self.refresh_requests.due(now):
            correspondent = ipaddress.IPv6Address(name[len(CACHE_PREFIX):])
            if in_use(correspondent, binding):
                requests.append(refresh_request(correspondent, binding))
        return requests, msgs

    def restore(self, now):
        """Reload the return routability state and every correspondent's bindings."""
        state = self.store.load_state(STATE_CACHE).get(STATE_KEY)
        if state is not None:
            self.return_routability.load(now, state)
        msgs = []
        for name in self.store.caches():
            if name.startswith(CACHE_PREFIX):
                msgs += self.cache(ipaddress.IPv6Address(name[len(CACHE_PREFIX):])).restore(now)
        return msgs
