"""A scenario run against the controller (mininet_topos/scenario.py): one folder with a
pcap per access link that tshark decodes, the event log and the handover figures."""
import json
import subprocess

import pytest

from mininet_topos import scenario

pytestmark = pytest.mark.integration


def mobility_headers(pcap):
    """The Mobility Header types tshark finds in ``pcap``."""
    out = subprocess.run(["tshark", "-r", str(pcap), "-Y", "mipv6", "-T", "fields", "-e",
                          "mip6.mhtype"], capture_output=True, text=True, check=True).stdout
    return {int(kind) for kind in out.split()}


def test_a_scenario_leaves_pcaps_events_and_figures(tmp_path):
    plan = scenario.parse({"duration": 4, "stream": [{"from": "cn1", "to": "mn1",
                                                      "rate": 1000}],
                           "move": [{"at": 1.5, "host": "mn1", "switch": "s2"}]})
    figures, pcaps = scenario.run(plan, tmp_path)
    assert set(pcaps) == {"home", "visit-a", "corr"}  # visit-b had no host
    assert {5, 6} <= mobility_headers(pcaps["visit-a"])  # mn1's BU and the BA
    assert 5 not in mobility_headers(pcaps["home"])  # at home mn1 registered nothing
    [figure] = figures
    assert not figure["stopped"] and 0 < figure["l3_handover_ms"] < figure["interruption_ms"]
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "handover" and e["to_care_of"].startswith("2001:db8:a:")
               for e in events)
    assert json.loads((tmp_path / "handovers.json").read_text()) == figures
    assert (tmp_path / "handovers.png").read_bytes()[:4] == b"\x89PNG"
