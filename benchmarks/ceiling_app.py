"""Baseline Ryu app of the signalling-throughput benchmark (benchmarks/throughput.py).

    [BENCH_CEILING_MODE=auto|register|refresh] ryu-manager benchmarks/ceiling_app.py \
        --ofp-tcp-listen-port PORT

The ceiling of the framework on this machine: a minimal OpenFlow 1.3 app that punts
Mobility Headers (``eth_type=0x86dd, ip_proto=135`` in table 0 of every switch) and
answers each packet-in with the same number and kind of OpenFlow messages that
mipv6-sdn sends for a BU, on the same path:

- ``register`` (first registration): the BA as a packet-out of the in_port, an
  unsolicited-NA-sized packet-out on the home switch (dpid 1, its host ports 1 and 2),
  as mipv6-sdn announces the HA as the owner of the home address (RFC 6275 §10.4.1),
  and 5 flow-mods: 3 (two on the home switch, one on the switch the BU came from), as
  mipv6_sdn.handover.plan_handover sends for a first registration, and 2 (one on the
  switch the BU came from, one on the home switch), as source address validation
  (mipv6_sdn/source_validation.py) sends for the home address: valid at the MN's port
  and MAC, dropped at the home switch. The load generator's port is trusted (not
  source-validated) in mipv6-sdn's configuration, so nothing more is sent for its
  care-of address. The flow-mods add harmless rules in table 200 (which nothing jumps
  to), matching ``ipv6_dst`` (forwarding) or ``ipv6_src`` (source validation) on the
  home address, with distinct priorities;
- ``refresh``: the BA packet-out only (mipv6-sdn changes no rule for a refresh);
- ``auto`` (the default): ``register`` for the first BU of a home address, ``refresh``
  for later ones (one set lookup per packet), as mipv6-sdn distinguishes them by its
  binding cache; so one run of the generator measures both phases.

The BA is a real one, built with :mod:`mipv6_sdn.mobility` for the BU's home address and
sequence (type 2 routing header, replay-protection and MN-HA authentication options,
with a fixed key), so the load generator counts it as it counts ours. Unlike the real
controller this app does not parse, validate or authenticate the BU: it reads the home
address, source addresses and sequence at the fixed offsets of the generator's BUs
(Ethernet, IPv6, a 24-octet Destination Options header with the Home Address option,
then the Mobility Header), and it keeps no binding cache and writes no journal. The
BA's HMAC and checksum are computed per packet (a few microseconds).
"""
import ipaddress
import os
import struct

from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from ryu.ofproto import ofproto_v1_3

from mipv6_sdn import mobility, packets, wire

MODE_ENV = "BENCH_CEILING_MODE"
ROUTER_MAC = "02:00:00:00:00:01"
HOME_DPID = 1
HOME_HOST_PORTS = (1,)  # mn1 (hh1, port 2, has moved to s2 for the generator)
FLOW_TABLE = 200
BA_KEY = bytes(20)
BA_SPI = 4096
IPPROTO_MH = 135
# Offsets in the generator's BU frames (benchmarks/load_generator.py).
IP_SRC = slice(22, 38)
HAO_HOME = slice(62, 78)
MH_SEQUENCE = slice(84, 86)


class BenchCeiling(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mode = os.environ.get(MODE_ENV, "auto")
        if self.mode not in ("auto", "register", "refresh"):
            raise SystemExit(f"{MODE_ENV}: auto, register or refresh, not {self.mode!r}")
        self.known = set()  # home addresses answered before ("auto")
        self.datapaths = {}
        self.router_mac = wire.mac_to_bytes(ROUTER_MAC)
        home_agent = ipaddress.IPv6Address("2001:db8:1::1")
        self.na_frame = packets.neighbor_advert(
            src_mac=ROUTER_MAC, eth_dst="33:33:00:00:00:01", src=home_agent,
            dst=ipaddress.IPv6Address("ff02::1"),
            target=ipaddress.IPv6Address("2001:db8:1::1000"), router=False,
            solicited=False)
        self.answered = 0

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        datapath = ev.msg.datapath
        ofp, parser = datapath.ofproto, datapath.ofproto_parser
        self.datapaths[datapath.id] = datapath
        match = parser.OFPMatch(eth_type=0x86DD, ip_proto=IPPROTO_MH)
        actions = [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)]
        datapath.send_msg(parser.OFPFlowMod(
            datapath=datapath, table_id=0, priority=100, match=match,
            instructions=[parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]))

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        datapath = msg.datapath
        ofp, parser = datapath.ofproto, datapath.ofproto_parser
        data = msg.data
        if len(data) < 86 or data[20] != wire.IPPROTO_DSTOPTS:
            return
        in_port = msg.match["in_port"]
        care_of = ipaddress.IPv6Address(data[IP_SRC])
        home = ipaddress.IPv6Address(data[HAO_HOME])
        ha = ipaddress.IPv6Address(data[38:54])
        sequence = struct.unpack("!H", data[MH_SEQUENCE])[0]
        ack = mobility.BindingAck(status=0, sequence=sequence, lifetime=105, options=(
            mobility.MobilityMessageReplayProtection(0),))
        mh = mobility.serialize_mobility_header(ack, ha, home,
                                                auth=(BA_SPI, BA_KEY, care_of, home))
        frame = data[6:12] + self.router_mac + data[12:14] + packets.ipv6(
            ha, care_of, wire.IPPROTO_ROUTING,
            mobility.type2_routing_header(home, IPPROTO_MH) + mh)
        datapath.send_msg(parser.OFPPacketOut(
            datapath=datapath, buffer_id=ofp.OFP_NO_BUFFER, in_port=ofp.OFPP_CONTROLLER,
            actions=[parser.OFPActionOutput(in_port)], data=frame))
        if self.mode == "register" or (self.mode == "auto" and home not in self.known):
            self.known.add(home)
            home_switch = self.datapaths.get(HOME_DPID, datapath)
            home_switch.send_msg(parser.OFPPacketOut(
                datapath=home_switch, buffer_id=ofp.OFP_NO_BUFFER,
                in_port=ofp.OFPP_CONTROLLER,
                actions=[parser.OFPActionOutput(port) for port in HOME_HOST_PORTS],
                data=self.na_frame))
            for number, target in enumerate((home_switch, home_switch, datapath)):
                actions = [parser.OFPActionSetField(eth_dst=ROUTER_MAC),
                           parser.OFPActionOutput(in_port)]
                target.send_msg(parser.OFPFlowMod(
                    datapath=target, table_id=FLOW_TABLE, priority=1000 + number,
                    cookie=0xBE0000 + number,
                    match=parser.OFPMatch(eth_type=0x86DD, ipv6_dst=str(home)),
                    instructions=[parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS,
                                                               actions)]))
            # Source address validation of the home address: valid from the BU's port
            # and MAC, dropped at the home switch.
            for number, (target, fields) in enumerate((
                    (datapath, {"in_port": in_port,
                                "eth_src": wire.mac_from_bytes(data[6:12])}),
                    (home_switch, {})), start=3):
                target.send_msg(parser.OFPFlowMod(
                    datapath=target, table_id=FLOW_TABLE, priority=1000 + number,
                    cookie=0xBE0000 + number,
                    match=parser.OFPMatch(eth_type=0x86DD, ipv6_src=str(home), **fields),
                    instructions=[]))
        self.answered += 1
