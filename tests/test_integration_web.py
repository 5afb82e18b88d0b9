"""The controller's HTTP face on the reference network (docs/web.md): a move of mn1 (the
real agent) is seen on the event stream as a script reads it, counted in /metrics, and
an admin action needs the token (control: the same request with it works)."""
import pathlib
import re

import pytest

from mininet_topos import harness, roaming
from tests.test_metrics import dashboard_metrics, exposed

pytestmark = pytest.mark.integration
TOKEN = "integration-test-token-0123"
HOME = harness.host_address("mn1")


def web_config(tmp_path):
    path = pathlib.Path(harness.config_with(harness.REFERENCE_CONFIG))
    path.write_text(path.read_text() + f'\n[web]\nadmin_token = "{TOKEN}"\n')
    return path


def counter(text, name, labels=""):
    found = re.search(rf"^{name}(?:{{{labels}}})? ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_move_is_streamed_counted_and_removable_only_with_the_token(tmp_path):
    with harness.reference_network(web_config(tmp_path)) as (net, controller):
        events = controller.follow_events()
        agent = harness.start_agent(net.get("mn1"), log_path=tmp_path / "agent.log")
        try:
            roaming.move_host(net, "mn1", "s2")
            handover = events.wait_for(
                lambda e: e["kind"] == "handover" and e["to_care_of"].startswith(
                    "2001:db8:a:"), 15, "the handover on the event stream")
            # care-of forwarding's 3 rules, and source validation's (docs/pipeline.md)
            assert handover["home_address"] == HOME and handover["flow_mods"] >= 3
            assert handover["attach_at"] is not None and handover["attach_to_bu_ms"] > 0
            assert 0 < handover["bu_to_ba_ms"] < 1000
            update = events.wait_for(lambda e: e["kind"] == "binding_update", 1, "the BU")
            assert update["status"] == 0 and update["bu_to_ba_ms"] > 0
            assert [e["id"] for e in events.events] == sorted(e["id"] for e in events.events)

            text = controller.metrics()
            assert counter(text, "mipv6_handovers_total") >= 1
            assert counter(text, "mipv6_bindings", 'kind="home"') == 1
            assert counter(text, "mipv6_bu_to_ba_seconds_count", 'node="home_agent"') >= 1
            assert counter(text, "mipv6_journal_commit_seconds_count") >= 1
            assert dashboard_metrics() - exposed(text) == set()

            path = f"/mipv6/admin/bindings/{HOME}/remove"
            status, answer = controller.post(path)  # no token: refused
            assert status == 401 and "admin_token" in answer["error"]
            status, _ = controller.post(path, {"Authorization": f"Bearer {TOKEN}",
                                               "Origin": "http://attacker.example"})
            assert status == 403
            assert [b["home_address"] for b in controller.view("bindings")] == [HOME]
            assert controller.view(f"rules/{HOME}")
            # Control: the same request with the token, from no other origin, works.
            status, _ = controller.post(path, {"Authorization": f"Bearer {TOKEN}"})
            assert status == 200
            assert controller.view("bindings") == [] and controller.view(f"rules/{HOME}") == []
            events.wait_for(lambda e: e["kind"] == "binding" and e["change"] == "deleted", 5,
                            "the deletion on the event stream")
        finally:
            events.close()
            harness.stop_process(agent)
