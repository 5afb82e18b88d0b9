"""Prometheus metrics (mipv6_sdn/metrics.py, docs/web.md): what the core knows is read
at each scrape, so the figures follow the bindings; parsed back with prometheus_client's
own parser."""
import json
import pathlib
import re

from prometheus_client.parser import text_string_to_metric_families

from mipv6_sdn.metrics import Metrics
from tests.test_care_of_forwarding import away_harness, register


def samples(metrics):
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(metrics.exposition().decode())
            for sample in family.samples}


def test_bindings_updates_and_handovers_follow_the_core():
    harness = away_harness()
    metrics = Metrics(harness.router, lambda: {(2, 5): 3})
    before = samples(metrics)
    assert before[("mipv6_bindings", (("kind", "home"),))] == 0
    register(harness, "visit-a", seq=1)
    register(harness, "visit-b", seq=2)
    register(harness, "visit-b", seq=2)  # refused: 135
    after = samples(metrics)
    home_agent = ("node", "home_agent")
    assert after[("mipv6_bindings", (("kind", "home"),))] == 1
    assert after[("mipv6_binding_updates_total", (home_agent, ("status", "0")))] == 2
    assert after[("mipv6_binding_updates_total", (home_agent, ("status", "135")))] == 1
    assert after[("mipv6_binding_acks_sent_total", (home_agent, ("status", "135")))] == 1
    assert after[("mipv6_handovers_total", ())] == 2
    assert after[("mipv6_binding_changes_total", (("change", "added"), ("kind", "home")))] == 1
    assert after[("mipv6_packet_in_queue_dropped_total",
                  (("dp_id", "0x2"), ("port", "5")))] == 3
    assert after[("mipv6_source_bindings", (("state", "valid"),))] >= 1


def test_the_shells_counters_are_labelled_by_switch():
    harness = away_harness()
    metrics = Metrics(harness.router, dict)
    msgs = harness.router.port_up(harness.now, 2, 6)
    for dpid, msg in msgs:
        metrics.sent(dpid, msg)
    metrics.packet_ins.labels("0x2").inc()
    metrics.journal_commit.observe(0.0004)
    found = samples(metrics)
    assert found[("mipv6_of_packet_ins_total", (("dp_id", "0x2"),))] == 1
    assert found[("mipv6_of_flow_mods_sent_total", (("dp_id", "0x2"),))] == sum(
        type(msg).__name__ == "OFPFlowMod" for _, msg in msgs) > 0
    assert found[("mipv6_journal_commit_seconds_count", ())] == 1


DASHBOARD = pathlib.Path(__file__).parent.parent / "docs" / "grafana" / "mipv6-sdn.json"


def dashboard_metrics():
    """The metric names the Grafana dashboard's queries use."""
    exprs = [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"]
             for target in panel["targets"]]
    return {name for expr in exprs for name in re.findall(r"\bmipv6_[a-z0-9_]+", expr)}


def exposed(text):
    """Every name /metrics exposes: families (# TYPE) with their sample suffixes."""
    names = set()
    for family in text_string_to_metric_families(text):
        suffixes = {"counter": ("_total", "_created"),
                    "histogram": ("_bucket", "_sum", "_count", "_created")}.get(family.type, ())
        names |= {family.name, *(family.name + suffix for suffix in suffixes)}
    return names


def test_every_metric_the_grafana_dashboard_uses_exists():
    harness = away_harness()
    names = dashboard_metrics()
    assert len(names) >= 15  # the dashboard was read
    missing = names - exposed(Metrics(harness.router, dict).exposition().decode())
    assert missing == set()
    # Control: a name that is not exported is caught.
    assert "mipv6_no_such_metric" not in exposed(
        Metrics(harness.router, dict).exposition().decode())
