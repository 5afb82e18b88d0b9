"""The Home Agent of every home link (RFC 6275 §10), authenticated by RFC 4285.

:meth:`HomeAgent.receive` takes a parsed packet that reached the controller and returns
the IPv6 packets to send back to its sender (Binding Acknowledgement, Binding Error,
ICMPv6 Parameter Problem, DHAAD Reply, Mobile Prefix Advertisement). Binding Update
processing follows RFC 6275 §9.5.1 and §10.3.1 in the RFC's order; a Binding Update
that is not accepted changes no state.
"""
import dataclasses
import ipaddress
import logging

from mipv6_sdn import mobility, packets, wire
from mipv6_sdn.access_links import LINK_LOCAL, link_local_of
from mipv6_sdn.binding_cache import HOME_CACHE, Binding, BindingCache, sequence_newer
from mipv6_sdn.binding_store import JournalError
from mipv6_sdn.home_agent_discovery import HomeAgentDiscovery
from mipv6_sdn.events import EventLog
from mipv6_sdn.mobility_errors import MobilityErrors
from mipv6_sdn.refresh_requests import RefreshRequests, refresh_request

LOG = logging.getLogger(__name__)
TIMESTAMP_LEN = 8     # RFC 4285 §6: the 64-bit NTP timestamp of the replay option


def claimed_care_of(meta):
    """The care-of address a Binding Update claims: its Alternate Care-of Address
    option, else its source (RFC 6275 §6.2.5)."""
    alternate = mobility.find_option(meta.mobility.message,
                                     mobility.AlternateCareofAddress)
    return alternate.address if alternate is not None else meta.ip_src


@dataclasses.dataclass(frozen=True)
class PreparedUpdate:
    """A Binding Update decided but not yet kept or applied (group commit: several are
    kept in one store transaction, then applied and answered in turn)."""
    meta: object
    home: ipaddress.IPv6Address
    care_of: ipaddress.IPv6Address
    node: object
    attachment: object
    decision: "Decision"

    @property
    def accepted(self):
        return self.decision.status < mobility.REASON_UNSPECIFIED


@dataclasses.dataclass(frozen=True)
class Decision:
    """What became of a Binding Update: the status and, when accepted, the binding."""
    status: int
    binding: Binding | None = None
    lifetime: int = 0  # granted, seconds
    trusted: bool = False  # the BU passed authentication: its care-of address is real


class HomeAgent:
    """Binding Update processing and the other HA duties for all home links."""

    def __init__(self, config, store=None, error_allowed=None, events=None):
        """``store`` (a :class:`mipv6_sdn.binding_store.BindingStore`) keeps every
        accepted change before the BA is built; ``error_allowed(now)`` rate-limits
        Binding Errors and Parameter Problems together with the router's ICMPv6 errors
        (RFC 4443 §2.4(f), RFC 6275 §9.3.3); ``events`` (an
        :class:`mipv6_sdn.events.EventLog`) hears of every BU handled."""
        self.config = config
        self.events = events if events is not None else EventLog()
        self.policy = config.home_agent
        self.cache = BindingCache(HOME_CACHE, store)
        self.errors = MobilityErrors(error_allowed)
        self.home_links = [link for link in config.links if link.is_home_link]
        self.own_addresses = frozenset(
            address for link in self.home_links
            for address in (link.home_agent, mobility.home_agents_anycast(link.prefix)))
        self.discovery = HomeAgentDiscovery(config, self.home_links, self.home_link_of,
                                            self.cache)
        self.nodes = {node.home_address: node for node in config.mobile_nodes}
        self.refresh = RefreshRequests()
        self.refresh.watch(self.cache)
        self.last_timestamp = {}  # home address -> last accepted RFC 4285 timestamp

    # ------------------------------------------------------------------ addresses

    def addresses(self):
        """Addresses the HA answers on: HA addresses and home-agents anycast addresses."""
        return self.own_addresses

    def home_link_of(self, address):
        return next((link for link in self.home_links if address in link.prefix), None)

    def proxied(self, address):
        """The binding whose away MN the HA defends ``address`` for (RFC 6275 §10.4.1)."""
        binding = self.cache.get(address)
        if binding is not None and binding.care_of_address != binding.home_address:
            return binding
        return None

    def defends(self, address):
        """The binding for which the HA defends ``address`` on the home link: an away
        MN's home address, or its link-local address when it registered with the L bit
        (RFC 6275 §10.4.1)."""
        binding = self.proxied(address)
        if binding is not None or address not in LINK_LOCAL:
            return binding
        return next((b for b in self.cache if b.link_local
                     and link_local_of(b.home_address) == address
                     and self.proxied(b.home_address) is not None), None)

    # ------------------------------------------------------------------ dispatch

    def receive(self, now, meta, attachment=None, home_owner=None):
        """(replies, messages): the packets to send back to the sender of ``meta``, or
        None when ``meta`` is an ordinary packet from a registered MN (a valid Home
        Address option, RFC 6275 §9.3.1) that the router should answer as if it came
        from the home address; and what the binding cache's subscribers returned for
        the changes ``meta`` made, to be sent before the replies.

        ``attachment`` is where it arrived (for the binding); ``home_owner(address)``
        says which MAC the controller currently knows on a home link for an address,
        for home-link DAD (RFC 6275 §10.4.1)."""
        msgs = self.cache.expire(now)
        if meta.next_header == wire.IPPROTO_MH or meta.mobility_error is not None:
            replies, changed = self._mobility_header(now, meta, attachment, home_owner)
            return replies, msgs + changed
        if meta.icmp_type in (mobility.HAAD_REQUEST, mobility.MPS):
            return self.discovery.answer(meta), msgs
        if meta.home_address_option is not None:
            if self.bound_care_of(meta) is not None:
                return None, msgs
            return self.errors.binding_error(
                now, meta, self._ha_source(meta), mobility.BE_UNKNOWN_BINDING_FOR_HAO,
                meta.home_address_option), msgs
        return [], msgs

    def bound_care_of(self, meta):
        """The binding that makes ``meta``'s Home Address option valid, or None."""
        binding = self.cache.get(meta.home_address_option)
        if binding is not None and binding.care_of_address == meta.ip_src:
            return binding
        return None

    def _mobility_header(self, now, meta, attachment, home_owner):
        """(replies, messages of the binding cache's subscribers)."""
        if meta.mobility_error is not None:
            return self.errors.malformed(now, meta, self._ha_source(meta)), []
        message = meta.mobility.message
        if isinstance(message, mobility.BindingUpdate):
            return self._binding_update(now, meta, message, attachment, home_owner)
        if isinstance(message, (mobility.HomeTestInit, mobility.CareofTestInit)):
            # The Home Agent's own addresses offer no return routability: answered as a
            # node that does not recognise the message (RFC 6275 §9.2).
            return self.errors.unrecognized(now, meta, self._ha_source(meta)), []
        return [], []  # BA, BE, BRR, HoT, CoT are for mobile nodes

    # ------------------------------------------------------------------ Binding Update

    def _binding_update(self, now, meta, update, attachment, home_owner):
        prepared = self.prepare_update(now, meta, attachment, home_owner)
        if prepared is None:
            return [], []
        return self.finish_update(now, prepared, self.keep_updates([prepared]))

    def prepare_update(self, now, meta, attachment=None, home_owner=None, admitted=0):
        """RFC 6275 §9.5.1 and §10.3.1 for the Binding Update ``meta``: a
        :class:`PreparedUpdate`, or None when it is silently discarded. Changes nothing:
        :meth:`keep_updates` and :meth:`finish_update` do. ``admitted``: new bindings
        its group accepted already, counted against ``max_bindings``."""
        home = meta.home_address_option or meta.ip_src
        care_of = claimed_care_of(meta)
        update = meta.mobility.message
        # RFC 6275 §9.5.1: a unicast routable home address and care-of address, or silence.
        if not wire.is_unicast_routable(home) or not wire.is_unicast_routable(care_of):
            LOG.info("BU for %s from %s: not unicast routable, discarded", home, care_of)
            return None
        node = self.nodes.get(home)
        decision = self._decide(now, meta, update, home, care_of, node, attachment,
                                home_owner, admitted)
        if decision is None:
            return None
        existing = self.cache.get(home)
        refresh = decision.status == mobility.ACCEPTED and existing is not None and \
            decision.binding is not None and existing.care_of_address == care_of
        LOG.log(logging.DEBUG if refresh else logging.INFO,
                "BU %s -> %s seq %d lifetime %d s: status %d", home, care_of,
                update.sequence, update.lifetime * mobility.LIFETIME_UNIT, decision.status)
        if decision.status == mobility.SEQUENCE_OUT_OF_WINDOW:
            decision = dataclasses.replace(decision, binding=existing)
        return PreparedUpdate(meta, home, care_of, node, attachment, decision)

    def keep_updates(self, prepared):
        """The binding changes and replay state of the accepted ``prepared`` updates in
        one store transaction (group commit); whether the store kept them."""
        try:
            with self.cache.transaction():
                for update in prepared:
                    if update.accepted:
                        self._keep(update)
        except JournalError:
            return False  # the store said so, once (mipv6_sdn/journal.py)
        return True

    def _keep(self, prepared):
        home, binding = prepared.home, prepared.decision.binding
        replay = mobility.find_option(prepared.meta.mobility.message,
                                      mobility.MobilityMessageReplayProtection)
        if replay is not None:
            self.cache.save_state(wire.address_text(home),
                                  replay.timestamp.to_bytes(TIMESTAMP_LEN, "big"))
        if binding is None:
            self.cache.store.remove(self.cache.name, home)
        else:
            self.cache.store.save(self.cache.name, binding)

    def finish_update(self, now, prepared, kept):
        """(replies, messages) of a prepared update once :meth:`keep_updates` said
        whether it was ``kept``: the cache changed (its only side effect) and its
        subscribers' messages, and the BA. Not kept, it is not accepted: nothing
        changes and no BA goes out (the MN sends again)."""
        meta, home, care_of, decision = prepared.meta, prepared.home, prepared.care_of, \
            prepared.decision
        update = meta.mobility.message
        msgs = []
        if prepared.accepted:
            if not kept:
                self.events.binding_update(now, home, care_of, update, None,
                                           prepared.attachment)
                return [], []
            replay = mobility.find_option(update, mobility.MobilityMessageReplayProtection)
            if replay is not None:
                self.last_timestamp[home] = replay.timestamp
            if decision.binding is None:
                msgs = self.cache.delete(now, home, stored=True)  # RFC 6275 §10.3.2
            else:
                msgs = self.cache.put(now, decision.binding, stored=True)
        self.events.binding_update(now, home, care_of, update, decision.status,
                                   prepared.attachment)
        # RFC 6275 §10.3.1, §10.3.2: the HA returns a BA for every home registration,
        # whatever the A bit. Before authentication the care-of address is only a
        # claim: the answer goes to the packet's source, never an Alternate CoA.
        reply_to = care_of if decision.trusted else meta.ip_src
        return [self._acknowledgement(now, meta, update, decision, home, reply_to,
                                      prepared.node)], msgs

    def _decide(self, now, meta, update, home, care_of, node, attachment, home_owner,
                admitted=0):
        """RFC 6275 §9.5.1 and §10.3.1 checks in order; None means silent discard."""
        existing = self.cache.get(home)
        if not update.home:
            # A correspondent registration: without return routability (not offered
            # yet) it has no Binding Authorization Data and is discarded (§9.5.1).
            return None
        if not self.home_links or meta.ip_dst not in self.addresses():
            return Decision(mobility.HOME_REGISTRATION_NOT_SUPPORTED)
        link = self.home_link_of(home)
        if link is None:
            return Decision(mobility.NOT_HOME_SUBNET)
        if node is None:
            return Decision(mobility.NOT_HOME_AGENT_FOR_THIS_MN)
        if self.policy.require_authentication:
            failure = self._authenticate(now, meta, update, home, care_of, node)
            if failure is not None:
                return Decision(failure)
        if existing is not None and not sequence_newer(update.sequence, existing.sequence):
            return Decision(mobility.SEQUENCE_OUT_OF_WINDOW, trusted=True)
        if existing is not None and not existing.home_registration:
            return Decision(mobility.REGISTRATION_TYPE_CHANGE_DISALLOWED, trusted=True)
        deregistration = update.lifetime == 0 or care_of == home
        if deregistration:
            # RFC 6275 §10.3.2: nothing to deregister is a rejection with 133.
            status = mobility.ACCEPTED if existing is not None \
                else mobility.NOT_HOME_AGENT_FOR_THIS_MN
            return Decision(status, trusted=True)
        if existing is None and len(self.cache) + admitted >= self.policy.max_bindings:
            return Decision(mobility.INSUFFICIENT_RESOURCES, trusted=True)
        if care_of in link.prefix or attachment is not None and attachment.dpid == link.dpid:
            # Policy: a care-of address on the home link itself (or an MN attached to
            # its home link's switch) is refused; the MN deregisters when it is home
            # (RFC 6275 §11.5.4).
            return Decision(mobility.ADMINISTRATIVELY_PROHIBITED, trusted=True)
        if existing is None and home_owner is not None:
            owner = home_owner(home)
            if owner is not None and (attachment is None or owner != attachment.mac):
                return Decision(mobility.DUPLICATE_ADDRESS_DETECTION_FAILED, trusted=True)
        requested = update.lifetime * mobility.LIFETIME_UNIT
        granted = min(requested, self.policy.max_binding_lifetime)
        status = mobility.ACCEPTED
        if self.config.prefix_preferred_lifetime < granted or \
                self.config.prefix_valid_lifetime <= granted:
            # The home prefix is deprecated or runs out during the binding
            # (RFC 6275 §10.3.1): status 1, and never beyond the valid lifetime.
            granted = min(granted, self.config.prefix_valid_lifetime)
            status = mobility.ACCEPTED_PREFIX_DISCOVERY
        granted -= granted % mobility.LIFETIME_UNIT
        binding = Binding(home_address=home, care_of_address=care_of,
                          sequence=update.sequence, lifetime=granted, expires=now + granted,
                          home_registration=True, link_local=update.link_local,
                          attachment=attachment)
        return Decision(status, binding, granted, trusted=True)

    def _authenticate(self, now, meta, update, home, care_of, node):
        """RFC 4285 §5 and §6: a BA status on failure, None when the BU is authentic."""
        auth = mobility.find_option(update, mobility.MobilityMessageAuthentication)
        if auth is None or update.options[-1] is not auth \
                or not mobility.verify_mn_ha_authentication(meta.mobility, node.spi, node.key,
                                                            care_of, home):
            LOG.info("BU for %s: MN-HA authentication failed", home)
            return mobility.MIPV6_AUTH_FAIL
        replay = mobility.find_option(update, mobility.MobilityMessageReplayProtection)
        if replay is None:
            return mobility.MIPV6_MESG_ID_REQD
        skew = abs(mobility.unix_time(replay.timestamp) - now)
        previous = self.last_timestamp.get(home)
        if skew > self.policy.timestamp_skew or (
                previous is not None and replay.timestamp <= previous):
            LOG.info("BU for %s: replay protection rejected the timestamp", home)
            return mobility.MIPV6_ID_MISMATCH
        return None

    def restore(self, now):
        """Reload the bindings and replay state the store kept (a restart); returns
        what the binding cache's subscribers returned."""
        self.last_timestamp.update({
            ipaddress.IPv6Address(home): int.from_bytes(value, "big")
            for home, value in self.cache.load_state().items()})
        return self.cache.restore(now)

    # ------------------------------------------------------------------ replies

    def _acknowledgement(self, now, meta, update, decision, home, care_of, node):
        lifetime_units = decision.lifetime // mobility.LIFETIME_UNIT
        sequence = update.sequence
        if decision.status == mobility.SEQUENCE_OUT_OF_WINDOW and decision.binding is not None:
            sequence = decision.binding.sequence  # RFC 6275 §9.5.1: the last accepted
        options = []
        replay = mobility.find_option(update, mobility.MobilityMessageReplayProtection)
        if decision.status == mobility.MIPV6_ID_MISMATCH:
            # RFC 4285 §6: the HA's own time, so the MN can resynchronise.
            options.append(mobility.MobilityMessageReplayProtection(mobility.ntp_timestamp(now)))
        elif decision.trusted and replay is not None:
            options.append(mobility.MobilityMessageReplayProtection(replay.timestamp))
        ack = mobility.BindingAck(status=decision.status, sequence=sequence,
                                  lifetime=lifetime_units, options=tuple(options))
        auth = (node.spi, node.key, care_of, home) if node is not None else None
        return self._to_mobile_node(meta, ack, home, care_of, auth)

    def _ha_source(self, meta):
        """The address answers come from: the one the MN wrote to, never an anycast."""
        link = self.home_link_of(meta.ip_dst)
        if link is not None and meta.ip_dst == mobility.home_agents_anycast(link.prefix):
            return link.home_agent
        return meta.ip_dst

    def _to_mobile_node(self, meta, message, home, care_of, auth=None):
        """An MH packet from the HA to the MN: to the care-of address with a type 2
        routing header carrying the home address, or straight to the home address."""
        src = self._ha_source(meta)
        mh = mobility.serialize_mobility_header(message, src, home, auth=auth)
        return packets.to_mobile_node(src, home, care_of, wire.IPPROTO_MH, mh)

    # ------------------------------------------------------------------ time

    def expire(self, now):
        """Remove expired bindings; returns what the cache's subscribers returned."""
        return self.cache.expire(now)

    def refresh_requests(self, now):
        """RFC 6275 §10.3.1: a Binding Refresh Request from the Home Agent to each
        away mobile node whose binding is about to expire without a refresh."""
        requests = []
        for _, binding in self.refresh.due(now):
            link = self.home_link_of(binding.home_address)
            if link is not None:  # a restored binding of a link no longer configured
                requests.append(refresh_request(link.home_agent, binding))
        return requests
