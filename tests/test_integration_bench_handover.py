"""The handover benchmark and the report harness run (quick mode; nothing about speed)."""
import json

import pytest

from benchmarks import report

pytestmark = pytest.mark.integration


def test_quick_handover_report_has_figures_plots_and_the_baseline(tmp_path):
    assert report.main(["--quick", "--out", str(tmp_path), "--suites", "handover"]) == 0
    data = json.loads((tmp_path / "handover.json").read_text())
    ours, reattach, baseline = data["mipv6_sdn"], data["mipv6_sdn_reattach"], data["baseline"]
    triggered = data["mipv6_sdn_triggered"]
    assert len(ours["handovers"]) == 2 and len(reattach["handovers"]) == 1 \
        and len(baseline["handovers"]) == 1 and len(triggered["handovers"]) == 2
    # with the option on, delivery moved on mn1's first frame, before its BU (its first
    # frames can still take the old way in the datapath: docs/pipeline.md); off, with it
    assert any(h["network_triggered"] for h in triggered["handovers"])
    assert not any(h["network_triggered"] for h in ours["handovers"])
    assert "radio" in data["link_moves"]["mipv6_sdn"]
    for handover in ours["handovers"] + reattach["handovers"] + baseline["handovers"] + \
            triggered["handovers"]:
        assert not handover["stopped"], handover
        # the three figures, in order: the link was down, then the stream came back
        assert 0 < handover["l2_outage_ms"] < handover["interruption_ms"], handover
        assert 0 < handover["l3_handover_ms"] < handover["interruption_ms"], handover
    # the radio move needs no ovsdb transaction: its outage is shorter than re-attaching
    assert max(h["l2_outage_ms"] for h in ours["handovers"]) < \
        min(h["l2_outage_ms"] for h in reattach["handovers"])
    assert all(h["flow_mods"] == 4 for h in ours["handovers"] + reattach["handovers"] +
               triggered["handovers"])
    assert ours["bu_to_ba_ms"] and data["probe_rate_hz"] >= 10000
    text = (tmp_path / "report.md").read_text()
    assert "## Handover" in text and "baseline / mipv6-sdn" in text
    assert "L3 handover" in text
    assert (tmp_path / "handover-figures.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
