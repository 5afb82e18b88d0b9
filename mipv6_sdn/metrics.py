"""Prometheus metrics of the controller (docs/web.md), served at /metrics.

Named and labelled as faucet's exporter does: ``<prefix>_<what>[_<unit>][_total]``,
``dp_id`` as a hex string. What the shell sees (packet-ins, messages sent, OpenFlow
errors, BU→BA and journal commit times) is counted as it happens; what the core knows
(bindings, BUs by status, handovers, source bindings, meter drops) is read from it at
each scrape, from the totals of its event log, so nothing is counted twice.
"""
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

PREFIX = "mipv6"
# BU→BA inside the controller is about a millisecond; a journal commit a fraction of it.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                   0.1, 0.25, 0.5, 1.0)


def dp_id(dpid):
    return hex(dpid)


class Metrics:
    """The registry, the shell's own counters, and a collector over the core."""

    def __init__(self, router, queue_dropped):
        """``queue_dropped()`` gives {(dpid, port): packet-ins the shell's queue dropped}."""
        self.registry = CollectorRegistry()
        self.packet_ins = Counter(f"{PREFIX}_of_packet_ins", "OpenFlow packet-ins received",
                                  ["dp_id"], registry=self.registry)
        self.flow_mods = Counter(f"{PREFIX}_of_flow_mods_sent", "OpenFlow flow-mods sent",
                                 ["dp_id"], registry=self.registry)
        self.packet_outs = Counter(f"{PREFIX}_of_packet_outs_sent",
                                   "OpenFlow packet-outs sent", ["dp_id"],
                                   registry=self.registry)
        self.of_errors = Counter(f"{PREFIX}_of_errors", "OpenFlow error messages received",
                                 ["dp_id", "type", "code"], registry=self.registry)
        self.bu_to_ba = Histogram(
            f"{PREFIX}_bu_to_ba_seconds", "From a Binding Update's packet-in to its "
            "Binding Acknowledgement sent (queueing in the controller included)",
            ["node"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.journal_commit = Histogram(
            f"{PREFIX}_journal_commit_seconds", "Binding journal commits (SQLite)",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(CoreCollector(router, queue_dropped))

    def sent(self, dpid, msg):
        name = type(msg).__name__
        if name == "OFPFlowMod":
            self.flow_mods.labels(dp_id(dpid)).inc()
        elif name == "OFPPacketOut":
            self.packet_outs.labels(dp_id(dpid)).inc()

    def exposition(self):
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


class CoreCollector:
    """Read at each scrape from the core: its event totals and its tables."""

    def __init__(self, router, queue_dropped):
        self.router = router
        self.queue_dropped = queue_dropped

    def collect(self):
        events = self.router.events
        updates = CounterMetricFamily(f"{PREFIX}_binding_updates",
                                      "Binding Updates handled, by node kind and BA status "
                                      "(none: not kept, so not acknowledged)",
                                      labels=["node", "status"])
        acks = CounterMetricFamily(f"{PREFIX}_binding_acks_sent",
                                   "Binding Acknowledgements sent, by node kind and status",
                                   labels=["node", "status"])
        for (node, status, acknowledged), count in sorted(
                events.total("binding_update").items(), key=str):
            status = "none" if status is None else str(status)
            updates.add_metric([node, status], count)
            if acknowledged:
                acks.add_metric([node, status], count)
        yield updates
        yield acks
        yield _counter("handovers", "Home bindings moved to a new care-of address", [],
                       [([], sum(events.total("handover").values()))])
        yield _counter("binding_changes", "Binding cache changes, by cache kind and change",
                       ["kind", "change"], [(list(label), count) for label, count in
                                            sorted(events.total("binding").items())])
        yield _counter("return_routability_tests", "HoTIs and CoTIs answered", ["test"],
                       [([label], count) for label, count in
                        sorted(events.total("return_routability").items())])
        yield _counter("source_binding_changes", "Source address bindings (RFC 6620) made, "
                       "moved and released", ["change"],
                       [([label], count) for label, count in
                        sorted(events.total("source_binding").items())])
        yield from self._tables()

    def _tables(self):
        router = self.router
        yield _gauge("bindings", "Bindings in the binding caches, by kind", ["kind"],
                     [(["home"], len(router.home_agent.cache)),
                      (["correspondent"], router.correspondents.count)])
        table = router.validation.table
        states = {}
        for binding in table.bindings.values():
            states[binding.state.value] = states.get(binding.state.value, 0) + 1
        yield _gauge("source_bindings", "Source address bindings (RFC 6620), by state",
                     ["state"], [([state], count) for state, count in sorted(states.items())])
        yield _gauge("source_claims", "Source addresses being verified", [],
                     [([], len(table.claims))])
        yield _counter("source_refused_at_cap", "Claims refused at a port's address cap",
                       ["dp_id", "port"], [([dp_id(dpid), str(port)], count) for
                                           (dpid, port), count in sorted(table.refused.items())])
        yield _counter("flood_dropped_packets", "Packets to the controller dropped by the "
                       "meters (port 'shared': from trunks)", ["dp_id", "port"],
                       [([dp_id(dpid), "shared" if port is None else str(port)], count)
                        for (dpid, port), count in sorted(
                            router.flood.dropped.items(), key=lambda i: (i[0][0], i[0][1] or 0))])
        yield _counter("packet_in_queue_dropped", "Packet-ins dropped by the controller's "
                       "per-port queue", ["dp_id", "port"],
                       [([dp_id(dpid), str(port)], count)
                        for (dpid, port), count in sorted(self.queue_dropped().items())])
        yield _gauge("switches_connected", "Switches connected", [],
                     [([], len(router.ports.connected()))])
        yield _gauge("hosts", "Hosts the controller has learned", [],
                     [([], sum(1 for _ in router.hosts))])


def _counter(name, documentation, labels, samples):
    family = CounterMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)
    for values, count in samples:
        family.add_metric(values, count)
    return family


def _gauge(name, documentation, labels, samples):
    family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)
    for values, count in samples:
        family.add_metric(values, count)
    return family
