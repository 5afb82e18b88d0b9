"""The radio move's OpenFlow messages, checked against Ryu's OpenFlow 1.3 library, and
the order of its steps (mininet_topos/radio.py)."""
import time

import pytest
from ryu.ofproto import ofproto_parser, ofproto_protocol
from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from mininet_topos import radio

DATAPATH = ofproto_protocol.ProtocolDesc(ofp.OFP_VERSION)
HW_ADDR = "02:00:00:00:aa:07"


def framed(message, xid=1):
    kind, body = message
    return radio.HEADER.pack(ofp.OFP_VERSION, kind, radio.HEADER.size + len(body), xid) + body


def ryu_parsed(message):
    data = framed(message)
    return ofproto_parser.msg(DATAPATH, *radio.HEADER.unpack_from(data), data)


@pytest.mark.parametrize("blocked", [True, False])
def test_port_mod_is_the_bytes_ryu_builds(blocked):
    config = ofp.OFPPC_NO_RECV | ofp.OFPPC_NO_FWD
    expected = parser.OFPPortMod(DATAPATH, port_no=7, hw_addr=HW_ADDR,
                                 config=config if blocked else 0, mask=config, advertise=0)
    expected.set_xid(1)
    expected.serialize()
    mac = bytes.fromhex(HW_ADDR.replace(":", ""))
    assert framed(radio.port_mod(7, mac, blocked)) == bytes(expected.buf)


def test_a_forwarding_rule_parses_as_in_port_to_output():
    rule = ryu_parsed(radio.flow_forward(1, 4))
    assert isinstance(rule, parser.OFPFlowMod) and rule.command == ofp.OFPFC_ADD
    assert dict(rule.match.items()) == {"in_port": 1} and rule.table_id == 0
    [instruction] = rule.instructions
    assert instruction.type == ofp.OFPIT_APPLY_ACTIONS
    assert [(a.port, a.cls_action_type) for a in instruction.actions] == \
        [(4, ofp.OFPAT_OUTPUT)]


def test_delete_all_parses_as_a_delete_of_every_table():
    rule = ryu_parsed(radio.flow_delete_all())
    assert rule.command == ofp.OFPFC_DELETE and rule.table_id == ofp.OFPTT_ALL
    assert (rule.out_port, rule.out_group) == (ofp.OFPP_ANY, ofp.OFPG_ANY)
    assert dict(rule.match.items()) == {}


class Recorder:
    """Stands in for a bridge connection: records what each bridge was sent."""

    def __init__(self, bridge, log):
        self.bridge, self.log = bridge, log

    def ports(self):
        return {port: (bytes(6), 0) for port in range(1, 10)}

    def request(self, *messages):
        self.log.append((time.monotonic(), self.bridge, messages))
        return []


def recorded_link(log):
    link = radio.RadioLink("hub1", {"s1": (2, 1), "s2": (3, 1), "s3": (4, 1)}, "s1")
    link.connections = {name: Recorder(name, log) for name in ("hub1", "s1", "s2", "s3")}
    return link


def blocked(entry):
    """Whether a port-mod in a recorded request blocks (True) or unblocks (False)."""
    [(kind, body)] = entry[2]
    assert kind == radio.OFPT_PORT_MOD
    config, mask = radio.PORT_MOD.unpack(body)[2:4]
    assert mask == radio.BLOCKED
    return config == radio.BLOCKED


def test_a_move_breaks_before_it_makes_and_waits_the_l2_outage():
    log = []
    link = recorded_link(log)
    started, link_up = link.move("s3", l2_outage=0.02)
    assert [entry[1] for entry in log] == ["s1", "hub1", "s3"]
    assert blocked(log[0]) and not blocked(log[2])
    assert log[1][2] == (radio.flow_delete_all(), radio.flow_forward(1, 4),
                         radio.flow_forward(4, 1))
    assert log[1][0] - log[0][0] >= 0.02 and link_up - started >= 0.02
    assert link.active == "s3"


def test_settling_blocks_every_port_but_the_active_ones():
    log = []
    link = recorded_link(log)
    for switch in ("s1", "s2", "s3"):
        link.settle(switch)
    assert [(entry[1], blocked(entry)) for entry in log] == \
        [("s1", False), ("s2", True), ("s3", True)]


def test_a_move_to_a_switch_without_a_patch_port_changes_nothing():
    log = []
    link = recorded_link(log)
    with pytest.raises(ValueError, match="no radio link to s5"):
        link.move("s5")
    assert log == [] and link.active == "s1"


def test_the_controller_counts_a_blocked_port_as_carrying_no_host():
    """What a radio hub's inactive patch port looks like to the controller: link up,
    NO_RECV and NO_FWD set; only the port that forwards is live."""
    from apps.mipv6_controller import live_ports

    def port(number, config=0, state=0):
        return parser.OFPPort(number, HW_ADDR, f"s2-eth{number}", config, state,
                              0, 0, 0, 0, 0, 0)

    class Datapath:
        ofproto = ofp
        ports = {1: port(1, config=ofp.OFPPC_NO_RECV | ofp.OFPPC_NO_FWD),
                 2: port(2), 3: port(3, config=ofp.OFPPC_NO_FWD),
                 4: port(4, state=ofp.OFPPS_LINK_DOWN), 5: port(5, config=ofp.OFPPC_PORT_DOWN),
                 ofp.OFPP_LOCAL: port(ofp.OFPP_LOCAL)}

    assert live_ports(Datapath) == [2]
