"""The handover benchmark and the report harness run (quick mode; nothing about speed)."""
import json

import pytest

from benchmarks import report

pytestmark = pytest.mark.integration


def test_quick_handover_report_has_figures_plots_and_the_baseline(tmp_path):
    assert report.main(["--quick", "--out", str(tmp_path), "--suites", "handover"]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    ours, baseline = data["handover"]["mipv6_sdn"], data["handover"]["baseline"]
    assert len(ours["handovers"]) == 2 and len(baseline["handovers"]) == 1
    assert all(h["flow_mods"] == 4 and h["interruption_ms"] > 0 for h in ours["handovers"])
    assert ours["bu_to_ba_ms"] and ours["arrivals"]
    text = (tmp_path / "report.md").read_text()
    assert "## Handover" in text and "baseline / mipv6-sdn" in text
    for plot in ("handover-probes.png", "handover-cdf.png"):
        assert (tmp_path / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
