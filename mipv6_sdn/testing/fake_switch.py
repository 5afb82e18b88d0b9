"""A small simulation of OpenFlow 1.3 switches, to ask "where would this packet go?".

It applies the flow-mods and group-mods the core returns, then walks a packet (a dict
of header fields) through the tables of one switch and across the links of a network.
Every rule added is checked against its table's declaration in mipv6_sdn/pipeline.py
(:mod:`mipv6_sdn.testing.flow_mod_check`). It implements only the matches and actions
the project uses, and fails loudly on any other, so a new kind of rule cannot pass
unseen.
"""
import dataclasses
import ipaddress

from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from mipv6_sdn.pipeline import COOKIE_MASK_ALL, flow_identity
from mipv6_sdn.testing.flow_mod_check import check_flow_add

ETH_TYPE_MPLS = 0x8847


def _mac_int(mac):
    return int(mac.replace(":", ""), 16)


def _field_matches(name, wanted, pkt, in_port):
    if name == "in_port":
        return in_port == wanted
    value, mask = wanted if isinstance(wanted, tuple) else (wanted, None)
    if name == "eth_type":
        return pkt_eth_type(pkt) == value
    if name == "mpls_label":
        return bool(pkt.get("mpls")) and pkt["mpls"][0][0] == value
    if name in ("eth_dst", "eth_src"):
        have, value = _mac_int(pkt[name]), _mac_int(value)
        mask = _mac_int(mask) if mask else (1 << 48) - 1
        return have & mask == value & mask
    if name in ("ipv6_dst", "ipv6_src"):
        if pkt.get("mpls"):
            return False
        have = int(ipaddress.IPv6Address(pkt[name]))
        value = int(ipaddress.IPv6Address(value))
        mask = int(ipaddress.IPv6Address(mask)) if mask else (1 << 128) - 1
        return have & mask == value & mask
    if name == "metadata":
        return pkt.get("metadata", 0) & (mask if mask is not None else ~0) == value
    if name in ("ip_proto", "icmpv6_type"):
        return not pkt.get("mpls") and pkt.get(name) == value
    raise AssertionError(f"fake switch: match field {name} not simulated")


def _cookie_matches(cookie, msg):
    return cookie & msg.cookie_mask == msg.cookie & msg.cookie_mask


def pkt_eth_type(pkt):
    return ETH_TYPE_MPLS if pkt.get("mpls") else pkt.get("eth_type", 0x86DD)


@dataclasses.dataclass
class Entry:
    table: int
    priority: int
    match: object
    instructions: list
    cookie: int

    def matches(self, pkt, in_port):
        return all(_field_matches(name, value, pkt, in_port)
                   for name, value in self.match.items())


class FakeSwitch:
    """The flow tables and groups of one switch. Entries are indexed by their identity
    (:func:`mipv6_sdn.pipeline.flow_identity`) and by cookie, so applying N flow-mods
    takes time about linear in N."""

    def __init__(self, dpid):
        self.dpid = dpid
        self.groups = {}
        self.meters = {}      # meter id -> bands
        self._entries = {}    # flow identity -> Entry, in the order added
        self._by_cookie = {}  # cookie -> {flow identity: None}
        self._tables = None   # table id -> entries by priority; None after a change

    @property
    def entries(self):
        """Every entry, in the order added (an entry an ADD replaced counts as new), as a
        new list: changing it changes nothing, apply flow-mods instead."""
        return list(self._entries.values())

    def apply(self, msg):
        if isinstance(msg, parser.OFPFlowMod):
            self._flow_mod(msg)
        elif isinstance(msg, parser.OFPGroupMod):
            self._group_mod(msg)
        elif isinstance(msg, parser.OFPMeterMod):
            self._meter_mod(msg)

    def _flow_mod(self, msg):
        if msg.command == ofp.OFPFC_ADD:
            check_flow_add(msg)
            for inst in msg.instructions:
                if isinstance(inst, parser.OFPInstructionMeter):
                    assert inst.meter_id in self.meters, "flow refers to a missing meter"
                for action in getattr(inst, "actions", ()):
                    if isinstance(action, parser.OFPActionGroup):
                        assert action.group_id in self.groups, "flow refers to a missing group"
            self._add(Entry(msg.table_id, msg.priority, msg.match, msg.instructions,
                            msg.cookie))
        elif msg.command == ofp.OFPFC_DELETE_STRICT:
            identity = flow_identity(msg.table_id, msg.priority, msg.match)
            entry = self._entries.get(identity)
            if entry is not None and _cookie_matches(entry.cookie, msg):
                self._remove(identity)
        elif msg.command == ofp.OFPFC_DELETE:
            assert not list(msg.match.items()), "only deletes by cookie are simulated"
            if msg.cookie_mask == COOKIE_MASK_ALL:
                candidates = list(self._by_cookie.get(msg.cookie, ()))
            else:
                candidates = list(self._entries)
            for identity in candidates:
                entry = self._entries[identity]
                if (msg.table_id == ofp.OFPTT_ALL or entry.table == msg.table_id) \
                        and _cookie_matches(entry.cookie, msg):
                    self._remove(identity)
        else:
            raise AssertionError(f"fake switch: flow-mod command {msg.command}")

    def _add(self, entry):
        """OpenFlow 1.3 §6.4: an ADD replaces the entry of the same identity."""
        identity = flow_identity(entry.table, entry.priority, entry.match)
        self._remove(identity)
        self._entries[identity] = entry
        self._by_cookie.setdefault(entry.cookie, {})[identity] = None
        self._tables = None

    def _remove(self, identity):
        entry = self._entries.pop(identity, None)
        if entry is None:
            return
        owned = self._by_cookie[entry.cookie]
        del owned[identity]
        if not owned:
            del self._by_cookie[entry.cookie]
        self._tables = None

    def _group_mod(self, msg):
        if msg.command == ofp.OFPGC_DELETE:
            assert msg.group_id == ofp.OFPG_ALL
            self.groups.clear()
        elif msg.command == ofp.OFPGC_ADD:
            assert msg.group_id not in self.groups, "group added twice"
            self.groups[msg.group_id] = msg.buckets
        else:
            assert msg.group_id in self.groups, "group modified before it was added"
            self.groups[msg.group_id] = msg.buckets

    def _meter_mod(self, msg):
        """OpenFlow 1.3 §7.3.4.4; deleting a meter deletes the rules that use it."""
        if msg.command == ofp.OFPMC_ADD:
            assert msg.meter_id not in self.meters, "meter added twice"
            self.meters[msg.meter_id] = msg.bands
            return
        assert msg.command == ofp.OFPMC_DELETE
        doomed = set(self.meters) if msg.meter_id == ofp.OFPM_ALL else {msg.meter_id}
        for meter_id in doomed:
            self.meters.pop(meter_id, None)
        for identity, entry in list(self._entries.items()):
            if any(isinstance(i, parser.OFPInstructionMeter) and i.meter_id in doomed
                   for i in entry.instructions):
                self._remove(identity)

    def flows(self):
        """The switch's rules as a flow-stats reply gives them to the controller."""
        return [(e.table, e.priority, e.match, e.cookie) for e in self._entries.values()]

    def table(self, table_id):
        """The entries of one table, highest priority first (ties in the order added)."""
        if self._tables is None:
            tables = {}
            for entry in self._entries.values():
                tables.setdefault(entry.table, []).append(entry)
            self._tables = {table: tuple(sorted(entries, key=lambda e: -e.priority))
                            for table, entries in tables.items()}
        return self._tables.get(table_id, ())

    def process(self, in_port, pkt, table=0):
        """[(port or "controller", packet)] for a packet arriving on ``in_port``, its
        lookup starting at ``table``."""
        pkt = dict(pkt, mpls=list(pkt.get("mpls", [])), metadata=0)
        out = []
        table_id = int(table)
        while table_id is not None:
            entry = next((e for e in self.table(table_id) if e.matches(pkt, in_port)), None)
            if entry is None:
                return out
            table_id = None
            for inst in entry.instructions:
                if isinstance(inst, parser.OFPInstructionGotoTable):
                    table_id = inst.table_id
                    continue
                if isinstance(inst, parser.OFPInstructionMeter):
                    assert inst.meter_id in self.meters, "flow refers to a missing meter"
                    continue
                if isinstance(inst, parser.OFPInstructionWriteMetadata):
                    pkt["metadata"] = pkt["metadata"] & ~inst.metadata_mask | (
                        inst.metadata & inst.metadata_mask)
                    continue
                for action in inst.actions:
                    if not self._act(action, pkt, in_port, out):
                        return out
        return out

    def _act(self, action, pkt, in_port, out):
        """Apply one action; False when the packet went to the controller for TTL."""
        if isinstance(action, parser.OFPActionOutput):
            if action.port == ofp.OFPP_CONTROLLER:
                out.append(("controller", dict(pkt)))
            elif action.port == ofp.OFPP_IN_PORT:
                out.append((in_port, dict(pkt, mpls=list(pkt["mpls"]))))
            elif action.port != in_port:
                out.append((action.port, dict(pkt, mpls=list(pkt["mpls"]))))
        elif isinstance(action, parser.OFPActionGroup):
            for bucket in self.groups[action.group_id]:
                for bucket_action in bucket.actions:
                    self._act(bucket_action, pkt, in_port, out)
        elif isinstance(action, parser.OFPActionPushMpls):
            pkt["mpls"].insert(0, [0, pkt["hop_limit"]])
        elif isinstance(action, parser.OFPActionPopMpls):
            pkt["mpls"].pop(0)
            pkt["eth_type"] = action.ethertype
        elif isinstance(action, parser.OFPActionSetMplsTtl):
            pkt["mpls"][0][1] = action.mpls_ttl
        elif isinstance(action, parser.OFPActionDecMplsTtl):
            if pkt["mpls"][0][1] <= 1:
                out.append(("controller-invalid-ttl", dict(pkt)))
                return False
            pkt["mpls"][0][1] -= 1
        elif isinstance(action, parser.OFPActionDecNwTtl):
            if pkt["hop_limit"] <= 1:
                out.append(("controller-invalid-ttl", dict(pkt)))
                return False
            pkt["hop_limit"] -= 1
        elif isinstance(action, parser.OFPActionSetField):
            name, value = action.key, action.value
            if name == "mpls_label":
                pkt["mpls"][0][0] = value
            else:
                pkt[name] = value
        else:
            raise AssertionError(f"fake switch: action {action} not simulated")
        return True


class FakeNetwork:
    """Fake switches joined by links, with hosts on some ports."""

    def __init__(self, links, hosts):
        """``links``: [(dpid, port, dpid, port)] both ways; ``hosts``: {name: (dpid, port)}."""
        self.switches = {}
        self.peer = {}
        for a, ap, b, bp in links:
            self.peer[(a, ap)] = (b, bp)
            self.peer[(b, bp)] = (a, ap)
        self.host_at = {where: name for name, where in hosts.items()}
        self.hosts = dict(hosts)

    def switch(self, dpid):
        switch = self.switches.get(dpid)
        if switch is None:
            switch = self.switches[dpid] = FakeSwitch(dpid)
        return switch

    def apply(self, msgs):
        """Apply the core's (dpid, message) pairs; return the packet-outs among them."""
        packet_outs = []
        for dpid, msg in msgs:
            if isinstance(msg, parser.OFPPacketOut):
                packet_outs.append((dpid, msg))
            else:
                self.switch(dpid).apply(msg)
        return packet_outs

    def send(self, host, pkt, max_hops=16):
        """Where ``pkt`` sent by ``host`` ends: [(host name or ("controller", dpid,
        reason)), packet)]."""
        results = []
        self.path = []  # the switches the packet went through, in order
        frontier = [(self.hosts[host], pkt, 0)]
        while frontier:
            (dpid, port), packet, hops = frontier.pop(0)
            assert hops < max_hops, "forwarding loop"
            self.path.append(dpid)
            for out_port, out_pkt in self.switch(dpid).process(port, packet):
                if isinstance(out_port, str):
                    results.append((("controller", dpid, out_port), out_pkt))
                elif (dpid, out_port) in self.host_at:
                    results.append((self.host_at[(dpid, out_port)], out_pkt))
                elif (dpid, out_port) in self.peer:
                    frontier.append((self.peer[(dpid, out_port)], out_pkt, hops + 1))
        return results
