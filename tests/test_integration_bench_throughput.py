"""Quick mode of the signalling-throughput benchmark (benchmarks/throughput.py).

Proves the harness works end to end: our controller and the ceiling app
(benchmarks/ceiling_app.py) both answer the load generator's BUs in both phases, and the
result has the keys the report reads. Nothing is asserted about speed.
"""
import pytest

from benchmarks import throughput

pytestmark = pytest.mark.integration

PHASE_KEYS = {"sent", "accepted", "rejected", "lost", "duration_s", "accepted_per_s",
              "latency_ms"}
LATENCY_KEYS = {"p50", "p95", "p99", "max"}


def test_quick_throughput_produces_bas_for_both_controllers_and_phases(capsys):
    result = throughput.main(["--quick", "--timeout", "3"])
    assert {"count", "window", "ours", "ceiling", "ratios", "target_ratio"} <= set(result)
    assert result["count"] == throughput.QUICK_COUNT
    for controller in ("ours", "ceiling"):
        for phase in throughput.PHASES:
            figures = result[controller]["phases"][phase]
            assert PHASE_KEYS <= set(figures), (controller, phase)
            assert LATENCY_KEYS <= set(figures["latency_ms"]), (controller, phase)
            assert figures["sent"] == throughput.QUICK_COUNT, (controller, phase)
            assert figures["accepted"] > 0, (controller, phase, figures)
            assert figures["rejected"] == 0, (controller, phase, figures)
    assert set(result["ratios"]) == set(throughput.PHASES)
    assert "ratio ours/ceiling" in capsys.readouterr().out
