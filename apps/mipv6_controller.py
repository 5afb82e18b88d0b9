"""The Ryu application: a thin shell around :class:`mipv6_sdn.router.Router`.

Each handler turns a Ryu event into plain data, calls the core with ``now`` and sends
the messages it returns. ``now`` is wall-clock time: RFC 4285 timestamps and binding
expiry times that outlive a restart need it. Load it with ``ryu-manager apps/mipv6_controller.py`` (the
configuration path in ``MIPV6_SDN_CONFIG``) or with ``mipv6-controller --config FILE``.
"""
import logging
import os
import sqlite3
import time

from ryu import cfg
from ryu.app.wsgi import WSGIApplication
from ryu.base import app_manager
from ryu.controller import ofp_event
from ryu.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from ryu.lib import hub
from ryu.ofproto import ofproto_v1_3
from ryu.topology import event as topo_event
from ryu.topology import switches

from apps.web import EventStream, RestView
from mipv6_sdn import ofmsg
from mipv6_sdn.config import ConfigError, FloodProtectionConfig, WebConfig, load_config
from mipv6_sdn.fair_queue import FairQueue
from mipv6_sdn.journal import SqliteBindingStore
from mipv6_sdn.metrics import Metrics, dp_id
from mipv6_sdn.router import SERVED_TOGETHER, Router

CONFIG_ENV = "MIPV6_SDN_CONFIG"
TICK_SECONDS = 0.1
# A switch's rules are reconciled with the restored state once the topology has been
# quiet this long (no switch connecting, no link found or lost; Ryu sends LLDP about
# every second), so that paths are known when stale rules are judged.
RECONCILE_AFTER_QUIET_SECONDS = 3.0
METER_STATS_SECONDS = 2.0  # how often the meters' drop counts are read
TRUSTED_PORT_QUEUE = 4096  # packet-ins waiting from a trusted port (docs/security.md)
LOG = logging.getLogger("mipv6_sdn")

# Topology comes from Ryu's LLDP discovery; it must see links, whatever the command line.
cfg.CONF.set_override("observe_links", True)
cfg.CONF.set_default("wsapi_host", "127.0.0.1")
app_manager.require_app("ryu.topology.switches", api_style=True)

# Ryu's LLDP discovery parses every packet-in with Ryu's packet library, which asserts
# on a Destination Options header (every Binding Update carries one) and on a type 2
# routing header (docs/environment.md). Only LLDP frames need that parser: hand it only those.
_ryu_lldp_parse = switches.LLDPPacket.lldp_parse
ETH_TYPE_LLDP = b"\x88\xcc"


def _lldp_parse_only_lldp(data):
    if data[12:14] != ETH_TYPE_LLDP:
        raise switches.LLDPPacket.LLDPUnknownFormat(msg="not LLDP")
    return _ryu_lldp_parse(data)


switches.LLDPPacket.lldp_parse = staticmethod(_lldp_parse_only_lldp)
# Its host discovery parses every packet-in too (and logs a traceback for each Binding
# Update); the controller learns hosts itself, so that handler is not registered.
if hasattr(switches.Switches, "host_discovery_packet_in_handler"):
    del switches.Switches.host_discovery_packet_in_handler


def live_ports(datapath):
    """Numbers of the physical ports of ``datapath`` whose link is up and that forward."""
    ofp = datapath.ofproto
    return [port.port_no for port in datapath.ports.values()
            if port.port_no <= ofp.OFPP_MAX and _port_is_up(ofp, port)]


def _port_is_up(ofp, port):
    """Link up, not administratively down and not blocked: a port that neither
    receives nor forwards (OFPPC_NO_RECV, OFPPC_NO_FWD, as a radio link's inactive
    patch ports are, docs/mininet.md) carries no host."""
    return not (port.state & ofp.OFPPS_LINK_DOWN or port.config & (
        ofp.OFPPC_PORT_DOWN | ofp.OFPPC_NO_RECV | ofp.OFPPC_NO_FWD))


class MIPv6Controller(app_manager.RyuApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {"wsgi": WSGIApplication}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        path = os.environ.get(CONFIG_ENV)
        if not path:
            raise SystemExit(f"mipv6-sdn: set {CONFIG_ENV} to the configuration file")
        try:
            config = load_config(path)
        except ConfigError as exc:
            raise SystemExit(f"mipv6-sdn: configuration error: {exc}") from None
        try:
            os.makedirs(os.path.dirname(os.path.abspath(config.journal)), exist_ok=True)
            store = SqliteBindingStore(config.journal)
        except (OSError, sqlite3.Error) as exc:
            raise SystemExit(f"mipv6-sdn: journal {config.journal}: {exc}") from None
        self.router = Router(config, store=store)
        self.router.restore(time.time())
        self.datapaths = {}
        self.flow_replies = {}  # dpid -> flows gathered from a multipart flow-stats reply
        self.reconcile_due = {}  # dpid -> when to read its flows and reconcile
        flood = config.flood_protection or FloodProtectionConfig()
        self.fair = flood.enabled  # off: each packet-in is served as it comes (FIFO)
        # By (dpid, in_port); a trusted port (a load generator) may keep more waiting.
        self.packet_ins = FairQueue(flood.queue_per_port, {
            (link.dpid, port): TRUSTED_PORT_QUEUE
            for link in config.links for port in link.trusted_ports})
        self.packet_ins_waiting = hub.Event()
        self.web = config.web or WebConfig()
        self.event_stream = EventStream()  # (RyuApp.events is Ryu's own queue)
        self.metrics = Metrics(self.router, lambda: self.packet_ins.dropped)
        store.commit_observer = self.metrics.journal_commit.observe
        kwargs["wsgi"].register(RestView, {"app": self})
        self.early_tick_at = None  # when the tick spawned for a core timer runs
        self.ticker = hub.spawn(self._tick_forever)
        self.server = hub.spawn(self._serve_packet_ins)

    def send(self, msgs, received_at=None):
        """Send ``msgs`` ([(dpid, message)]) to the switches, each switch's in one write
        and in their order (flow-mods and packet-outs batched per switch), then publish
        the core's events with when the replies left (and, for a BU, how long since its
        packet-in arrived at ``received_at``)."""
        batches = {}
        for dpid, msg in msgs:
            datapath = self.datapaths.get(dpid)
            if datapath is not None:
                msg.datapath = datapath
                if msg.xid is None:
                    datapath.set_xid(msg)
                try:
                    msg.serialize()
                except Exception:  # one bad message must not hold back the others
                    LOG.exception("dpid %s: %s not sent", dpid, type(msg).__name__)
                    continue
                batches.setdefault(dpid, []).append(bytes(msg.buf))
                self.metrics.sent(dpid, msg)
        for dpid, buffers in batches.items():
            self.datapaths[dpid].send(b"".join(buffers))
        events = self.router.events.drain()
        if events:
            self._stamp(events, time.time(), received_at)
            self.event_stream.publish(events)

    def _stamp(self, events, sent_at, received_at):
        for event in events:
            if event["kind"] == "binding_update" and event["acknowledged"]:
                event["ba_sent_at"] = sent_at
                if received_at is not None:
                    event["bu_to_ba_ms"] = round((sent_at - received_at) * 1000, 3)
                    self.metrics.bu_to_ba.labels(
                        "home_agent" if event["node"] == "home_agent" else "correspondent"
                    ).observe(sent_at - received_at)
            elif event["kind"] == "handover":
                event["ba_at"] = sent_at
                start = received_at if received_at is not None else event["bu_at"]
                event["bu_to_ba_ms"] = round((sent_at - start) * 1000, 3)

    def _tick_forever(self):
        next_stats = 0.0
        while True:
            now = time.time()
            try:
                self.send(self.router.tick(now))
            except Exception:  # the core never raises; if it did, keep ticking
                LOG.exception("tick")
            if now >= next_stats:
                next_stats = now + METER_STATS_SECONDS
                self.send([(dpid, ofmsg.meter_stats_request()) for dpid in self.datapaths])
            for dpid, due in list(self.reconcile_due.items()):
                if now >= due:
                    del self.reconcile_due[dpid]
                    self._request_flows(dpid)
            hub.sleep(TICK_SECONDS)

    def _topology_changed(self, now):
        """Postpone every pending reconciliation until the topology is quiet again."""
        for dpid in self.reconcile_due:
            self.reconcile_due[dpid] = now + RECONCILE_AFTER_QUIET_SECONDS

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def state_change(self, ev):
        datapath = ev.datapath
        if datapath.id is None:
            return
        now = time.time()
        if ev.state == MAIN_DISPATCHER:
            self.datapaths[datapath.id] = datapath
            self.send(self.router.switch_up(now, datapath.id, live_ports(datapath)))
            self.reconcile_due[datapath.id] = now
            self._topology_changed(now)
        elif self.datapaths.get(datapath.id) is datapath:
            self.packet_ins.discard(lambda key: key[0] == datapath.id)
            del self.datapaths[datapath.id]
            self.reconcile_due.pop(datapath.id, None)
            self.flow_replies.pop(datapath.id, None)
            self.send(self.router.switch_down(now, datapath.id))

    def _request_flows(self, dpid):
        if dpid in self.datapaths:
            self.flow_replies[dpid] = []
            self.send([(dpid, ofmsg.flow_stats_request())])

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def flow_stats(self, ev):
        msg = ev.msg
        if self.datapaths.get(msg.datapath.id) is not msg.datapath \
                or msg.datapath.id not in self.flow_replies:
            return  # a reply to an earlier connection of this switch
        flows = self.flow_replies[msg.datapath.id]
        flows += [(f.table_id, f.priority, f.match, f.cookie) for f in msg.body]
        if not msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE:
            del self.flow_replies[msg.datapath.id]
            self.send(self.router.reconcile(time.time(), msg.datapath.id, flows))

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def port_status(self, ev):
        msg = ev.msg
        ofp = msg.datapath.ofproto
        port = msg.desc
        if port.port_no > ofp.OFPP_MAX:
            return
        now = time.time()
        if msg.reason != ofp.OFPPR_DELETE and _port_is_up(ofp, port):
            self.send(self.router.port_up(now, msg.datapath.id, port.port_no))
        else:
            self.packet_ins.discard(lambda key: key == (msg.datapath.id, port.port_no))
            self.send(self.router.port_down(now, msg.datapath.id, port.port_no))

    @set_ev_cls(topo_event.EventLinkAdd)
    def link_add(self, ev):
        src, dst, now = ev.link.src, ev.link.dst, time.time()
        # What waits from those ports came from a host port: it is not served as such.
        self.packet_ins.discard(lambda key: key in ((src.dpid, src.port_no),
                                                    (dst.dpid, dst.port_no)))
        self._topology_changed(now)
        self.send(self.router.link_up(now, src.dpid, src.port_no, dst.dpid, dst.port_no))

    @set_ev_cls(topo_event.EventLinkDelete)
    def link_delete(self, ev):
        src, dst, now = ev.link.src, ev.link.dst, time.time()
        self._topology_changed(now)
        self.send(self.router.link_down(now, src.dpid, src.port_no, dst.dpid, dst.port_no))

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        """Queued by the port it came in on; served in turn (mipv6_sdn/fair_queue.py)."""
        msg, received_at = ev.msg, time.time()
        self.metrics.packet_ins.labels(dp_id(msg.datapath.id)).inc()
        if not self.fair:
            self._serve([(msg, received_at)])
        elif self.packet_ins.push((msg.datapath.id, msg.match.get("in_port")),
                                  (msg, received_at)):
            self.packet_ins_waiting.set()

    def _serve(self, batch):
        """Packet-ins [(msg, received_at)] answered together; a BU's BU→BA time counts
        from the first of them to arrive."""
        if not batch:
            return
        self.send(self.router.packet_ins(time.time(), [
            (msg.datapath.id, msg.match.get("in_port"), msg.data,
             msg.reason == msg.datapath.ofproto.OFPR_INVALID_TTL) for msg, _ in batch]),
            min(received_at for _, received_at in batch))
        self._tick_when_due()

    def _tick_when_due(self):
        """A tick at the moment a core timer is due (a delayed answer to an RS), not at
        the next periodic tick: the delay is the one drawn, not up to TICK_SECONDS more."""
        due = self.router.next_due()
        if due is not None and (self.early_tick_at is None or due < self.early_tick_at):
            self.early_tick_at = due
            hub.spawn_after(max(0.0, due - time.time()), self._early_tick)

    def _early_tick(self):
        self.early_tick_at = None
        try:
            self.send(self.router.tick(time.time()))
        except Exception:  # the core never raises; if it did, keep ticking
            LOG.exception("tick")
        self._tick_when_due()

    def _serve_packet_ins(self):
        """Serve the queued packet-ins in turn, SERVED_TOGETHER at a time: the home
        registrations among them are kept in one journal transaction (group commit,
        ``Router.packet_ins``), then the receiving thread runs again."""
        while True:
            self.packet_ins_waiting.wait()
            while self.packet_ins:
                batch = []
                while self.packet_ins and len(batch) < SERVED_TOGETHER:
                    _, (msg, received_at) = self.packet_ins.pop()
                    if self.datapaths.get(msg.datapath.id) is msg.datapath:
                        batch.append((msg, received_at))  # else its connection is gone
                try:
                    self._serve(batch)
                except Exception:  # the core never raises; if it did, serve the rest
                    LOG.exception("packet-ins from dpids %s",
                                  sorted({msg.datapath.id for msg, _ in batch}))
                    self.send([])  # their events, if any, untimed
                hub.sleep(0)
            self.packet_ins_waiting.clear()

    @set_ev_cls(ofp_event.EventOFPMeterStatsReply, MAIN_DISPATCHER)
    def meter_stats(self, ev):
        msg = ev.msg
        self.router.meter_stats(time.time(), msg.datapath.id, [
            (stat.meter_id, stat.band_stats[0].packet_band_count if stat.band_stats else 0)
            for stat in msg.body])

    @set_ev_cls(ofp_event.EventOFPFlowRemoved, MAIN_DISPATCHER)
    def flow_removed(self, ev):
        msg = ev.msg
        self.send(self.router.flow_removed(time.time(), msg.datapath.id, msg.cookie,
                                           msg.match))

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def error(self, ev):
        msg = ev.msg
        self.metrics.of_errors.labels(dp_id(msg.datapath.id), str(msg.type),
                                      str(msg.code)).inc()
        LOG.error("dpid %s: OpenFlow error type %d code %d for a %d-byte request",
                  msg.datapath.id, msg.type, msg.code, len(msg.data))
