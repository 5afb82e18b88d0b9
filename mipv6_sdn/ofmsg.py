"""Small pure builders of OpenFlow 1.3 messages, all with ``datapath=None``.

The shell attaches the datapath when it sends (the faucet pattern).
"""
from ryu.ofproto import ether
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from mipv6_sdn.pipeline import COOKIE_MASK_ALL

OFP = ofp
_FIELD_ORDER = {}  # OXM field name -> its OXM number, the order of a match's fields


def match(**fields):
    """An OFPMatch of ``fields`` given in Ryu's normal (user) form: ints, lower-case
    MAC and compressed IPv6 text, ``(value, mask)`` with the mask applied. Ryu's own
    constructor converts every value to binary and back to find that form (most of a
    flow-mod's cost); this one only orders the fields. The fake switches check that
    every match the core builds is already in that form
    (mipv6_sdn/testing/flow_mod_check.py)."""
    return parser.OFPMatch(_ordered_fields=sorted(fields.items(), key=_field_order))


def _field_order(item):
    name, value = item
    if name not in _FIELD_ORDER:
        _FIELD_ORDER[name] = ofp.oxm_from_user(name, value)[0]
    return _FIELD_ORDER[name]


def output(port, max_len=0):
    return parser.OFPActionOutput(port, max_len)


def to_controller():
    """Send the whole packet to the controller, unbuffered."""
    return parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)


def set_field(**kwargs):
    return parser.OFPActionSetField(**kwargs)


def push_mpls(label, ttl):
    return [parser.OFPActionPushMpls(ether.ETH_TYPE_MPLS), set_field(mpls_label=label),
            parser.OFPActionSetMplsTtl(ttl)]


def pop_mpls():
    return parser.OFPActionPopMpls(ether.ETH_TYPE_IPV6)


def dec_mpls_ttl():
    return parser.OFPActionDecMplsTtl()


def dec_nw_ttl():
    return parser.OFPActionDecNwTtl()


def group(group_id):
    return parser.OFPActionGroup(group_id)


def apply(actions):
    return parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, list(actions))


def write_metadata(value, mask):
    return parser.OFPInstructionWriteMetadata(value, mask)


def goto(table):
    return parser.OFPInstructionGotoTable(int(table))


def meter(meter_id):
    return parser.OFPInstructionMeter(meter_id, ofp.OFPIT_METER)


def meter_add(meter_id, rate, burst):
    """OpenFlow 1.3 §7.3.4.4: a meter that drops what exceeds ``rate`` packets per
    second, ``burst`` packets allowed at once."""
    return parser.OFPMeterMod(
        datapath=None, command=ofp.OFPMC_ADD, meter_id=meter_id,
        flags=ofp.OFPMF_PKTPS | ofp.OFPMF_BURST | ofp.OFPMF_STATS,
        bands=[parser.OFPMeterBandDrop(rate=rate, burst_size=burst)])


def meter_delete(meter_id=ofp.OFPM_ALL):
    return parser.OFPMeterMod(datapath=None, command=ofp.OFPMC_DELETE, meter_id=meter_id)


def meter_stats_request():
    return parser.OFPMeterStatsRequest(datapath=None, flags=0, meter_id=ofp.OFPM_ALL)


def flow_add(table, priority, match_, instructions, cookie, idle_timeout=0,
             notify_removal=False):
    """Add (or replace) a rule; ``notify_removal`` asks for a flow-removed message when
    its ``idle_timeout`` (seconds) runs out."""
    return parser.OFPFlowMod(
        datapath=None, cookie=cookie, table_id=int(table), command=ofp.OFPFC_ADD,
        priority=int(priority), match=match_, instructions=list(instructions),
        buffer_id=ofp.OFP_NO_BUFFER, idle_timeout=idle_timeout,
        flags=ofp.OFPFF_SEND_FLOW_REM if notify_removal else 0)


def flow_delete_cookie(cookie, table=ofp.OFPTT_ALL, cookie_mask=COOKIE_MASK_ALL):
    """Delete every rule whose cookie matches ``cookie`` under ``cookie_mask``."""
    return parser.OFPFlowMod(
        datapath=None, cookie=cookie, cookie_mask=cookie_mask, table_id=int(table),
        command=ofp.OFPFC_DELETE, out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
        match=parser.OFPMatch())


def flow_delete_strict(table, priority, match_, cookie):
    """Delete exactly the rule with this table, priority, match and cookie."""
    return parser.OFPFlowMod(
        datapath=None, cookie=cookie, cookie_mask=COOKIE_MASK_ALL, table_id=int(table),
        command=ofp.OFPFC_DELETE_STRICT, priority=int(priority), out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY, match=match_)


def flow_stats_request(table=ofp.OFPTT_ALL):
    return parser.OFPFlowStatsRequest(datapath=None, table_id=int(table))


def group_all(command, group_id, ports):
    """A group of type ALL with one bucket per port (OVS skips the ingress port)."""
    buckets = [parser.OFPBucket(actions=[output(port)]) for port in sorted(ports)]
    return parser.OFPGroupMod(datapath=None, command=command, type_=ofp.OFPGT_ALL,
                              group_id=group_id, buckets=buckets)


def group_delete_all():
    return parser.OFPGroupMod(datapath=None, command=ofp.OFPGC_DELETE,
                              group_id=ofp.OFPG_ALL)


def packet_out(ports, data):
    """Send ``data`` out of explicit ``ports`` (not OFPP_TABLE: the punt rules would
    loop it, docs/pipeline.md)."""
    return parser.OFPPacketOut(
        datapath=None, buffer_id=ofp.OFP_NO_BUFFER, in_port=ofp.OFPP_CONTROLLER,
        actions=[output(port) for port in ports], data=data)


def packet_in_again(in_port, data):
    """Put ``data`` through the pipeline as if it had just arrived on ``in_port``: a
    host's packet the controller held until its source was validated (docs/security.md).
    The only packet-out to OFPP_TABLE: the rule that lets it through is installed first."""
    return parser.OFPPacketOut(
        datapath=None, buffer_id=ofp.OFP_NO_BUFFER, in_port=in_port,
        actions=[output(ofp.OFPP_TABLE)], data=data)


def async_with_invalid_ttl():
    """OpenFlow 1.3 §7.3.10: as master, receive packet-ins for an invalid TTL too
    (dec_ttl meeting hop limit 1, for Time Exceeded), every port status, and the
    removal of a rule whose idle timeout ran out."""
    packet_in = (1 << ofp.OFPR_NO_MATCH) | (1 << ofp.OFPR_ACTION) | (
        1 << ofp.OFPR_INVALID_TTL)
    port_status = (1 << ofp.OFPPR_ADD) | (1 << ofp.OFPPR_DELETE) | (1 << ofp.OFPPR_MODIFY)
    flow_removed = 1 << ofp.OFPRR_IDLE_TIMEOUT  # network mode's direct paths
    return parser.OFPSetAsync(datapath=None, packet_in_mask=[packet_in, 0],
                              port_status_mask=[port_status, port_status],
                              flow_removed_mask=[flow_removed, 0])


def count_flow_mods(msgs):
    """How many of ``msgs`` ([(dpid, message)]) are flow-mods."""
    return sum(isinstance(msg, parser.OFPFlowMod) for _, msg in msgs)
