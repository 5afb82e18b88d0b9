"""Flood protection on Open vSwitch with the real controller (root): the flood
benchmark (benchmarks/flood.py) in a quick form. Its speed figures are the benchmark's
to print; this checks what must hold whatever the machine: with flood protection no
BA is lost and the flooder's own port meter drops most of its flood; without it (the
control) no meter drops anything, so the meters are what made the difference."""
import pytest

from benchmarks import flood

pytestmark = pytest.mark.integration
RATE, COUNT = 20000, 30


@pytest.mark.parametrize("protected", [True, False], ids=["protected", "control: unprotected"])
def test_a_flood_from_one_port_is_dropped_at_that_port(protected):
    result = flood.one_run("flood", True, protected, RATE, COUNT, timeout=2.0)
    sent = result["flooder"]["sent"]
    assert sent > RATE  # more than a second of it
    dropped = result["flood_protection"]["dropped"]
    if protected:
        assert all(figures["lost"] == 0 and figures["accepted"] == COUNT
                   for figures in result["phases"].values()), result["phases"]
        flooder_port = [count for where, count in dropped.items() if where.startswith("3:")
                        and not where.endswith("shared")]
        assert max(flooder_port) > sent * 0.8, dropped
        assert not any(count for where, count in dropped.items() if where.startswith("2:"))
    else:
        assert not any(dropped.values())
