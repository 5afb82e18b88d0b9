"""Source address validation at every access port: FCFS SAVI (RFC 6620).

The controller is the binding table of the whole access network; the switches enforce
it in table SOURCE (docs/pipeline.md), and docs/security.md says what it defends. An
address of a link (in its prefix, or link-local) is bound to the switch, port and MAC
that claimed it first:
- by duplicate address detection (RFC 4862 §5.4): bound at once and tentative, valid
  after ``probe_timeout`` unless another port defends it; a second claimant meanwhile
  is refused;
- by data, or neighbour discovery, from an unbound address: bound once the controller's
  own DAD probe, sent out of the link's other host ports, is unanswered for
  ``probe_timeout`` (RFC 6620 §3); up to three of its packets wait meanwhile;
- by an accepted home registration (docs/security.md): the home address of a mobile
  node away is valid only from the port and MAC of its home binding; its care-of
  address, if nobody has bound it yet, is claimed from where the registration came in;
  an authenticated deregistration anchors the home address at home again.
A binding moves when its address shows up elsewhere and the old anchor does not answer
a probe (RFC 6620 TESTING_VP), and goes when its port stops being a host port. Each
binding is two rules, whatever the network: its port, MAC and address pass, the address
from anywhere else is dropped. Bindings are kept in the store, beside the binding caches.
"""
import collections
import dataclasses
import enum
import hashlib
import ipaddress
import json
import logging

from mipv6_sdn import ofmsg, packets, wire
from mipv6_sdn.access_links import LINK_LOCAL
from mipv6_sdn.binding_cache import Attachment, BindingEvent
from mipv6_sdn.binding_store import JournalError
from mipv6_sdn.config import ROUTER_LINK_LOCAL, SourceValidationConfig
from mipv6_sdn.events import EventLog
from mipv6_sdn.pipeline import CookieKind, Priority, Table, cookie, flow_identity
from mipv6_sdn.router_part import RouterPart

LOG = logging.getLogger(__name__)
STORE_NAME = "source_validation"  # the state beside the binding caches in the store
MAX_HELD_PER_ADDRESS = 3  # packets held while an address is verified (cf. RFC 4861 §7.2.2)
# A host's DAD lasts RetransTimer (RFC 4861 §10) × DupAddrDetectTransmits (1, RFC 4862
# §5.1): its claim stays tentative (uncontested) at least that long.
DAD_DURATION = 1.0


class Origin(str, enum.Enum):
    """How an address came to be bound."""
    DAD = "dad"                    # its duplicate address detection
    DATA = "data"                  # its packets, after an unanswered probe
    REGISTRATION = "registration"  # a home address away: its home binding's attachment
    SIGNALLING = "signalling"      # an accepted BU's care-of address, a deregistration


class State(str, enum.Enum):
    TENTATIVE = "tentative"  # claimed by DAD or signalling; another port may defend it
    VALID = "valid"


@dataclasses.dataclass(frozen=True)
class SourceBinding:
    """One address bound to an anchor (RFC 6620: the binding anchor)."""
    address: ipaddress.IPv6Address
    link: int  # dpid of the access switch of the address's link
    anchor: Attachment
    origin: Origin
    state: State = State.VALID
    valid_at: float = 0.0  # a tentative binding becomes valid then

    @property
    def key(self):
        return self.link, self.address

    @property
    def cookie(self):
        digest = hashlib.sha1(f"{self.link} {self.address}".encode()).digest()
        return cookie(CookieKind.SOURCE, int.from_bytes(digest[:7], "big"))

    def rules(self):
        """(dpid, flow-mod): pass at the anchor, drop from anywhere else on the link."""
        allow = ofmsg.flow_add(Table.SOURCE, Priority.SOURCE_BOUND, ofmsg.match(
            in_port=self.anchor.port, eth_src=self.anchor.mac, eth_type=wire.ETH_TYPE_IPV6,
            ipv6_src=wire.address_text(self.address)), [ofmsg.goto(Table.SWITCHING)],
            self.cookie)
        drop = ofmsg.flow_add(Table.SOURCE, Priority.SOURCE_ELSEWHERE, ofmsg.match(
            eth_type=wire.ETH_TYPE_IPV6, ipv6_src=wire.address_text(self.address)), [],
            self.cookie)
        return [(self.anchor.dpid, allow), (self.link, drop)]


@dataclasses.dataclass
class Claim:
    """An address under verification for ``claimant`` until ``deadline``: its link is
    probed (unbound), or its current anchor is (``challenge``, RFC 6620 TESTING_VP)."""
    claimant: Attachment
    challenge: bool
    deadline: float
    held: collections.deque = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=MAX_HELD_PER_ADDRESS))


def source_table(config, link):
    """Table SOURCE of a switch (of access ``link``, or None for a core switch),
    without the bindings."""
    base = cookie(CookieKind.BASE)
    onward = [ofmsg.goto(Table.SWITCHING)]
    if not config.enabled:
        return [ofmsg.flow_add(Table.SOURCE, Priority.SOURCE_DEFAULT, ofmsg.match(),
                               onward, base)]
    rules = [ofmsg.flow_add(Table.SOURCE, Priority.SOURCE_DEFAULT, ofmsg.match(), [], base)]
    if link is None:
        return rules
    rules += [ofmsg.flow_add(Table.SOURCE, Priority.TRUSTED_PORT, ofmsg.match(in_port=port),
                             onward, base) for port in sorted(link.trusted_ports)]
    for prefix in (link.prefix, LINK_LOCAL):
        rules.append(ofmsg.flow_add(
            Table.SOURCE, Priority.SOURCE_UNBOUND,
            ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, ipv6_src=(
                str(prefix.network_address), str(prefix.netmask))),
            [ofmsg.goto(Table.PUNT)], base))
    return rules


class SourceBindingTable:
    """The bindings and claims by (link dpid, address), counted per port and kept in
    the store (under ``source_validation``, beside the binding caches)."""

    def __init__(self, links, store, cap):
        self.links = links
        self.store = store
        self.cap = cap
        self.bindings = {}  # (link dpid, address) -> SourceBinding
        self.claims = {}    # (link dpid, address) -> Claim
        self.per_port = collections.Counter()  # (dpid, port) -> addresses bound there
        self.claiming = collections.Counter()  # (dpid, port) -> claims in flight there
        self.refused = collections.Counter()   # (dpid, port) -> claims refused at the cap
        self.by_mac = collections.defaultdict(collections.Counter)  # mac -> anchors
        self.registered_macs = collections.Counter()  # mac -> home addresses away
        self.tentative = set()  # keys of tentative bindings: the tick looks at these only

    def key(self, dpid, address):
        """The key of ``address`` seen at switch ``dpid``, or None when it cannot be
        claimed there (another link's prefix, multicast, unspecified)."""
        if address in LINK_LOCAL:
            return (dpid, address) if self.links.is_access_switch(dpid) else None
        link = self.links.of_address(address)
        return (link.dpid, address) if link is not None else None

    def put(self, binding):
        """Keep ``binding`` (its key must be free); a home address away is not stored:
        it is derived from the Home Agent's binding, which is."""
        self.bindings[binding.key] = binding
        if binding.state == State.TENTATIVE:
            self.tentative.add(binding.key)
        if binding.origin == Origin.REGISTRATION:
            self.registered_macs[binding.anchor.mac] += 1
        else:
            self._count(binding)
            self.keep(binding)

    def _count(self, binding):
        self.per_port[binding.anchor.dpid, binding.anchor.port] += 1
        self.by_mac[binding.anchor.mac][binding.anchor] += 1

    def pop(self, key):
        binding = self.bindings.pop(key, None)
        self.tentative.discard(key)
        if binding is not None and binding.origin == Origin.REGISTRATION:
            _decrement(self.registered_macs, binding.anchor.mac)
        elif binding is not None:
            _decrement(self.per_port, (binding.anchor.dpid, binding.anchor.port))
            _decrement(self.by_mac[binding.anchor.mac], binding.anchor)
            if not self.by_mac[binding.anchor.mac]:
                del self.by_mac[binding.anchor.mac]
            try:
                self.store.remove_state(STORE_NAME, _store_key(key))
            except JournalError:
                pass  # restored, it is verified again as its host sends (security.md)
        return binding

    def has_mac(self, mac):
        """Whether any binding still names ``mac``."""
        return mac in self.by_mac or mac in self.registered_macs

    def proven_elsewhere(self, anchor):
        """Whether ``anchor.mac`` has addresses bound at another anchor and none here:
        ND from here that names it is a spoofed MAC, not a move."""
        anchors = self.by_mac.get(anchor.mac, {})
        return bool(anchors) and anchor not in anchors

    def keep(self, binding):
        value = {"dpid": binding.anchor.dpid, "port": binding.anchor.port,
                 "mac": binding.anchor.mac, "origin": binding.origin.value,
                 "state": binding.state.value, "valid_at": binding.valid_at}
        try:
            self.store.save_state(STORE_NAME, _store_key(binding.key),
                                  json.dumps(value).encode())
        except JournalError:
            pass  # lost at a restart, it is verified again as its host sends (security.md)

    def open_claim(self, key, claim):
        self.claims[key] = claim
        self.claiming[claim.claimant.dpid, claim.claimant.port] += 1
        return claim

    def close_claim(self, key):
        claim = self.claims.pop(key, None)
        if claim is not None:
            _decrement(self.claiming, (claim.claimant.dpid, claim.claimant.port))
        return claim

    def room(self, anchor):
        """Whether ``anchor``'s port may claim one more address: bound and in
        verification together stay under the cap (RFC 6620 §4), which also bounds the
        probes one port can make the controller send."""
        where = anchor.dpid, anchor.port
        if self.per_port[where] + self.claiming[where] < self.cap:
            return True
        if not self.refused[where]:
            LOG.warning("dpid %d port %d: %d addresses bound, the most allowed: no more",
                        anchor.dpid, anchor.port, self.cap)
        self.refused[where] += 1
        return False

    def promote(self, now):
        """Tentative bindings whose time has come become valid."""
        for key in [key for key in self.tentative if now >= self.bindings[key].valid_at]:
            self.tentative.discard(key)
            self.bindings[key] = dataclasses.replace(self.bindings[key], state=State.VALID)
            self.keep(self.bindings[key])

    def anchor_of(self, dpid, address):
        """Where ``address`` (seen at ``dpid``) is bound, or None."""
        binding = self.bindings.get(self.key(dpid, address))
        return binding.anchor if binding is not None else None

    def drop_claims_at(self, dpid, keep=lambda port: False):
        """Close the claims made at switch ``dpid``, but those on ports ``keep``s."""
        for key in [k for k, c in self.claims.items()
                    if c.claimant.dpid == dpid and not keep(c.claimant.port)]:
            self.close_claim(key)

    def restore(self):
        """Reload the bindings the store kept (a restart); their rules go out as the
        switches connect, their hosts are learned as their ports come up."""
        for key, value in self.store.load_state(STORE_NAME).items():
            link, address = key.split("|")
            saved = json.loads(value)
            binding = SourceBinding(
                ipaddress.IPv6Address(address), int(link),
                Attachment(saved["dpid"], saved["port"], saved["mac"]),
                Origin(saved["origin"]), State(saved["state"]), saved["valid_at"])
            if binding.key not in self.bindings:
                self.bindings[binding.key] = binding
                self._count(binding)
                if binding.state == State.TENTATIVE:
                    self.tentative.add(binding.key)

    def view(self):
        return {"bindings": [
            {"address": str(b.address), "link": b.link, "dpid": b.anchor.dpid,
             "port": b.anchor.port, "mac": b.anchor.mac, "origin": b.origin.value,
             "state": b.state.value}
            for b in sorted(self.bindings.values(), key=lambda b: (b.link, b.address))],
            "verifying": sorted(str(address) for _, address in self.claims),
            "refused_at_cap": {f"{dpid}:{port}": count
                               for (dpid, port), count in sorted(self.refused.items())}}


def _decrement(counter, key):
    counter[key] -= 1
    if not counter[key]:
        del counter[key]


class SourceValidation(RouterPart):
    """The binding table of every access port, its rules, and verification."""

    def __init__(self, links, ports, hosts, resolution, home_agent, store, events=None):
        self.links = links
        self.events = events if events is not None else EventLog()
        self.config = links.config.source_validation or SourceValidationConfig()
        self.router_mac = links.config.router_mac
        self.ports = ports
        self.hosts = hosts
        self.resolution = resolution
        self.home_agent = home_agent
        self.table = SourceBindingTable(links, store, self.config.max_addresses_per_port)
        self.bindings = self.table.bindings  # read-only views of the table
        self.claims = self.table.claims
        home_agent.cache.subscribe(self.home_binding_changed)

    def validating(self, dpid, port):
        """Whether packets from host port ``dpid:port`` are validated."""
        link = self.links.of_switch(dpid)
        return self.config.enabled and link is not None and port not in link.trusted_ports

    def _defended_by_router(self, address):
        return address in self.links.router_addresses or \
            self.home_agent.defends(address) is not None

    def desired_rules(self, dpid):
        return source_table(self.config, self.links.of_switch(dpid)) + [
            rule for binding in self.bindings.values()
            for at, rule in binding.rules() if at == dpid]

    def switch_up(self, now, dpid):
        return [(dpid, rule) for rule in self.desired_rules(dpid)]

    # ------------------------------------------------------------------ binding

    def _bind(self, now, binding):
        """Bind (or re-bind) ``binding.address``; its rules (:func:`_rule_changes`)
        and the host table follow."""
        old = self.bindings.get(binding.key)
        moved = old is not None and old.anchor != binding.anchor
        msgs = self._unbind(now, binding.key, forget_host=moved, rules=False)
        self.table.put(binding)
        msgs += _rule_changes(old, binding)
        _report(self.events, now, "moved" if moved else "bound", binding)
        LOG.info("source %s bound to dpid %d port %d %s (%s, %s)", binding.address,
                 binding.anchor.dpid, binding.anchor.port, binding.anchor.mac,
                 binding.origin.value, binding.state.value)
        return msgs + self._learn(now, binding)

    def _unbind(self, now, key, forget_host=True, rules=True):
        binding = self.table.pop(key)
        if binding is None:
            return []
        msgs = _rule_changes(binding, None) if rules else []
        if rules:
            _report(self.events, now, "released", binding)
        if forget_host:
            msgs += self.hosts.release(binding.address)
            if not self.table.has_mac(binding.anchor.mac):  # nothing proves it any more
                msgs += self.hosts.forget(lambda host: host.mac == binding.anchor.mac)
        return msgs

    def _relearn(self, now, binding):
        """A bound address in use at its anchor: the host table has it again if its
        MAC went elsewhere meanwhile and came back."""
        host = self.hosts.for_address(binding.address)
        if host is not None and host.mac == binding.anchor.mac:
            return []
        return self._learn(now, binding)

    def _learn(self, now, binding):
        anchor = binding.anchor
        if not self.ports.is_host_port(anchor.dpid, anchor.port):
            return []
        msgs, learned = self.hosts.learn(now, anchor.dpid, anchor.port, anchor.mac,
                                         binding.address)
        return msgs + (self.resolution.resolved(now, binding.address) if learned else [])

    # ------------------------------------------------------------------ claims

    def neighbour_discovery(self, now, dpid, port, meta):
        """Judge ND from host port ``dpid:port``: (messages, whether it may be acted on
        and relayed). Learns the hosts it proves."""
        anchor = Attachment(dpid, port, meta.eth_src)
        if not self.validating(dpid, port):
            return learn_as_claimed(self.hosts, self.resolution, now, anchor, meta), True
        msgs, defended = [], False
        if meta.icmp_type == wire.ND_NEIGHBOR_ADVERT:
            msgs, defended = self._answered(now, anchor, meta.nd_target)
        if meta.ip_src == wire.UNSPECIFIED:
            if meta.icmp_type != wire.ND_NEIGHBOR_SOLICIT:
                return msgs, False
            more, relay = self._claim_by_dad(now, anchor, meta)
            return msgs + more, relay
        more, permitted = self._claim(now, anchor, meta.ip_src)
        msgs += more
        if permitted and meta.icmp_type == wire.ND_NEIGHBOR_ADVERT \
                and meta.nd_target != meta.ip_src:
            more, permitted = self._claim(now, anchor, meta.nd_target)
            msgs += more
        if permitted:
            msgs += self._learn_mac(now, anchor)
        return msgs, permitted or defended

    def data(self, now, dpid, port, meta, frame):
        """A packet from host port ``dpid:port`` reached us: (messages, whether its
        source may send from there). An unbound source is verified and the packet held."""
        if not self.validating(dpid, port):
            return [], True
        return self._claim(now, Attachment(dpid, port, meta.eth_src), meta.ip_src, frame)

    def _claim(self, now, anchor, address, frame=None):
        """``anchor`` uses ``address``: (messages, True when it is bound there)."""
        key = self.table.key(anchor.dpid, address)
        binding = self.bindings.get(key)
        if binding is not None and binding.anchor == anchor:
            return self._relearn(now, binding), True
        if key is None or key[0] != anchor.dpid:
            return [], False  # not an address of this link
        if binding is not None:
            return self._contest(now, binding, anchor, frame), False
        if self._defended_by_router(address):
            return [], False  # not an address of this link, or the router's
        claim = self.claims.get(key)
        if claim is not None:
            if claim.claimant == anchor and frame is not None:
                claim.held.append(frame)
            return [], False
        if self.table.proven_elsewhere(anchor) or not self.table.room(anchor):
            return [], False  # a MAC with addresses at another port: spoofed
        claim = self.table.open_claim(key, Claim(anchor, False, now + self.config.probe_timeout))
        if frame is not None:
            claim.held.append(frame)
        probe = packets.neighbor_solicit(src_mac=self.router_mac, src=wire.UNSPECIFIED,
                                         target=address)
        others = [p for p in self.ports.host_ports(anchor.dpid) if p != anchor.port]
        return ([(anchor.dpid, ofmsg.packet_out(others, probe))] if others else []), False

    def _claim_by_dad(self, now, anchor, solicitation):
        """A DAD NS from ``anchor``: (messages, whether to relay it)."""
        target = solicitation.nd_target
        key = self.table.key(anchor.dpid, target)
        if key is None or key[0] != anchor.dpid or self._defended_by_router(target):
            return [], False  # not ours to give; the router's own answer defends it
        binding = self.bindings.get(key)
        if binding is not None:
            if binding.anchor == anchor:
                return self._relearn(now, binding), True
            # Only the owner hears it: its answer defends the address (and the link
            # hears that); silent, it loses the address (TESTING_VP).
            probe = packets.ethernet(solicitation.eth_dst, solicitation.eth_src,
                                     solicitation.ipv6_packet)
            return self._contest(now, binding, anchor, probe=probe), False
        claim = self.claims.get(key)
        if claim is not None and claim.claimant != anchor or self.table.proven_elsewhere(
                anchor) or claim is None and not self.table.room(anchor):
            return [], False
        self.table.close_claim(key)
        return self._bind(now, SourceBinding(
            target, key[0], anchor, Origin.DAD, State.TENTATIVE,
            now + max(self.config.probe_timeout, DAD_DURATION))), True

    def _contest(self, now, binding, anchor, frame=None, probe=None):
        """``anchor`` claims an address bound elsewhere: its anchor is probed (RFC 6620
        TESTING_VP; a unicast NS, or the claimant's DAD NS ``probe``); unanswered, the
        binding moves. Tentative ones and home addresses away: the first claim stands."""
        if binding.origin == Origin.REGISTRATION or binding.state == State.TENTATIVE:
            return []
        claim = self.claims.get(binding.key)
        if claim is None:
            if not self.table.room(anchor):
                return []
            claim = self.table.open_claim(binding.key, Claim(
                anchor, True, now + self.config.probe_timeout))
        elif claim.claimant != anchor:
            return []
        if frame is not None:
            claim.held.append(frame)
        old = binding.anchor
        probe = probe or packets.neighbor_solicit(
            src_mac=self.router_mac, src=ROUTER_LINK_LOCAL, target=binding.address,
            unicast_mac=old.mac)
        return [(old.dpid, ofmsg.packet_out([old.port], probe))]

    def _answered(self, now, anchor, target):
        """An NA for ``target`` from ``anchor``, perhaps answering a probe:
        (messages, True when it defends the address against a tentative claim)."""
        key = self.table.key(anchor.dpid, target)
        claim = self.claims.get(key)
        binding = self.bindings.get(key)
        if claim is not None and claim.challenge:
            if binding is not None and binding.anchor == anchor:
                self.table.close_claim(key)  # the anchor is still there: it keeps the address
            return [], False
        if claim is not None and claim.claimant != anchor:
            # Someone has it already: the claim fails. The answerer claims it in turn,
            # from its own NA, under the same rules (cap, its MAC proven elsewhere).
            self.table.close_claim(key)
            return [], False
        if binding is not None and binding.state == State.TENTATIVE \
                and binding.origin != Origin.REGISTRATION and binding.anchor != anchor:
            LOG.info("source %s: defended by dpid %d port %d against %s", target,
                     anchor.dpid, anchor.port, binding.anchor.mac)
            return self._unbind(now, key), True  # the claimant's DAD fails
        return [], False

    def _learn_mac(self, now, anchor):
        """Learn where ``anchor.mac`` is, unless addresses bound with it elsewhere say
        it is somewhere else (a spoofed MAC)."""
        if self.table.proven_elsewhere(anchor):
            return []
        return self.hosts.learn(now, anchor.dpid, anchor.port, anchor.mac, None)[0]

    # ------------------------------------------------------------------ registrations

    def home_binding_changed(self, event, binding, now):
        """A subscriber of the Home Agent's cache: a home address away is valid from its
        binding's attachment only; the care-of address is claimed there if unbound (a
        refresh too: the claim may have gone with a port that flapped)."""
        link = self.home_agent.home_link_of(binding.home_address)
        if link is None:
            return []
        key = (link.dpid, binding.home_address)
        self.table.close_claim(key)
        away = event in (BindingEvent.ADDED, BindingEvent.UPDATED,
                         BindingEvent.REFRESHED) and \
            binding.care_of_address != binding.home_address
        if not away or binding.attachment is None:
            current = self.bindings.get(key)
            if current is not None and current.origin == Origin.REGISTRATION:
                return self._unbind(now, key)
            return []
        registered = SourceBinding(binding.home_address, link.dpid, binding.attachment,
                                   Origin.REGISTRATION)
        msgs = [] if self.bindings.get(key) == registered else self._bind(now, registered)
        anchor = binding.attachment
        care_of_key = self.table.key(anchor.dpid, binding.care_of_address)
        if self.validating(anchor.dpid, anchor.port) and care_of_key is not None \
                and care_of_key not in self.bindings and self.table.room(anchor):
            self.table.close_claim(care_of_key)
            msgs += self._bind(now, SourceBinding(
                binding.care_of_address, care_of_key[0], anchor, Origin.SIGNALLING,
                State.TENTATIVE, now + self.config.probe_timeout))
        return msgs

    def returned_home(self, now, home, attachment):
        """An authenticated deregistration from ``attachment`` on the home link: the
        home address is bound there again (not by DAD, which the agent turns off)."""
        link = self.home_agent.home_link_of(home)
        if link is None or attachment.dpid != link.dpid or \
                not self.validating(attachment.dpid, attachment.port):
            return []
        self.table.close_claim((link.dpid, home))
        return self._bind(now, SourceBinding(home, link.dpid, attachment, Origin.SIGNALLING))

    def bound_elsewhere(self, ingress, address):
        """Whether ``address`` is validly bound somewhere other than ``ingress`` (a
        validated port): a Binding Update for it from there is a copy, or aims the home
        address's traffic at its owner (RFC 6275 §15.4)."""
        if ingress is None or not self.validating(ingress.dpid, ingress.port):
            return False
        binding = self.bindings.get(self.table.key(ingress.dpid, address))
        # A home address away is anchored by its registration: its deregistration from
        # home is the Home Agent's to judge (by its authentication).
        return binding is not None and binding.anchor != ingress and \
            binding.origin != Origin.REGISTRATION

    # ------------------------------------------------------------------ time and ports

    def tick(self, now):
        """Claims whose probe went unanswered are bound; tentative bindings become
        valid; what waited is put through the pipeline again."""
        msgs = []
        for key, claim in [(k, c) for k, c in self.claims.items() if now >= c.deadline]:
            self.table.close_claim(key)
            if not self.ports.is_host_port(claim.claimant.dpid, claim.claimant.port):
                continue  # the claimant's port went meanwhile
            current = self.bindings.get(key)
            if current is not None and current.anchor != claim.claimant:
                LOG.info("source %s: dpid %d port %d did not answer: moves to %s", key[1],
                         current.anchor.dpid, current.anchor.port, claim.claimant.mac)
                msgs += self._unbind(now, key)
            if not self.table.room(claim.claimant):
                continue
            msgs += self._bind(now, SourceBinding(key[1], key[0], claim.claimant, Origin.DATA))
            msgs += [(claim.claimant.dpid, ofmsg.packet_in_again(claim.claimant.port, frame))
                     for frame in claim.held]
        self.table.promote(now)
        return msgs

    def ports_changed(self, now, dpid, new_host_ports):
        """Port roles of ``dpid`` changed: bindings of ports no longer host ports go,
        those of new host ports teach the host table again."""
        msgs = []
        self.table.drop_claims_at(dpid, keep=lambda port: self.ports.is_host_port(dpid, port))
        for binding in [b for b in self.bindings.values() if b.anchor.dpid == dpid
                        and b.origin != Origin.REGISTRATION]:
            if not self.ports.is_host_port(dpid, binding.anchor.port):
                msgs += self._unbind(now, binding.key)
            elif binding.anchor.port in new_host_ports:
                msgs += self._learn(now, binding)
        return msgs

    def switch_down(self, now, dpid):
        self.table.drop_claims_at(dpid)
        return []

    def view(self):
        return {"enabled": self.config.enabled, **self.table.view()}


def _rule_changes(old, new):
    """(dpid, flow-mod) that turn the rules of binding ``old`` into those of ``new``
    (either None) for the same address: per switch, nothing where they are the same,
    else a delete by cookie there and the new ones."""
    def by_switch(binding):
        rules = {}
        for dpid, rule in binding.rules() if binding is not None else ():
            rules.setdefault(dpid, []).append(rule)
        return rules
    before, after = by_switch(old), by_switch(new)
    msgs = []
    for dpid in sorted(set(before) | set(after)):
        if [flow_identity(r.table_id, r.priority, r.match) for r in before.get(dpid, ())] \
                == [flow_identity(r.table_id, r.priority, r.match) for r in after.get(dpid, ())]:
            continue
        if dpid in before:
            msgs.append((dpid, ofmsg.flow_delete_cookie(old.cookie)))
        msgs += [(dpid, rule) for rule in after.get(dpid, ())]
    return msgs


def _report(events, now, change, binding):
    """A source binding's change (bound, moved, released) in the event log."""
    events.emit(now, "source_binding", change, change=change, address=str(binding.address),
                dpid=binding.anchor.dpid, port=binding.anchor.port, mac=binding.anchor.mac,
                origin=binding.origin.value, state=binding.state.value)


def learn_as_claimed(hosts, resolution, now, anchor, meta):
    """A trusted port, or no validation: each claim of an ND message is believed, the
    last one wins."""
    msgs = []
    claimed = [meta.ip_src if meta.ip_src != wire.UNSPECIFIED else None]
    if meta.icmp_type == wire.ND_NEIGHBOR_ADVERT and meta.na_flags & wire.NA_FLAG_OVERRIDE:
        claimed.append(meta.nd_target)
    for address in claimed:
        more, learned = hosts.learn(now, anchor.dpid, anchor.port, anchor.mac, address)
        msgs += more + (resolution.resolved(now, address) if learned else [])
    return msgs


def _store_key(key):
    link, address = key
    return f"{link}|{address}"
