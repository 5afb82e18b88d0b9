"""The controller's events (mipv6_sdn/events.py): what a handover looks like to the
people and scripts watching it, and the totals the metrics read."""
import ipaddress

import pytest

from mipv6_sdn.events import PENDING_MAX, EventLog
from tests import mipv6_frames as frames
from tests.test_care_of_forwarding import AWAY, CARE_OF, away_harness, register


@pytest.fixture
def harness():
    return away_harness()


def kinds(events):
    return [event["kind"] for event in events]


def test_a_handover_is_timed_from_the_ports_attachment_to_the_bu(harness):
    register(harness, "visit-a", seq=1)
    harness.router.events.drain()
    dpid, port = AWAY["visit-b"]
    harness.now += 1
    attached = harness.now
    harness.run(harness.router.port_down(harness.now, dpid, port))
    harness.run(harness.router.port_up(harness.now, dpid, port))
    flow_mods = register(harness, "visit-b", seq=2)  # one second later
    events = harness.router.events.drain()
    # The port's attachment, then the binding moved (its rules with it), the BU's
    # outcome and the handover, in that order; the source binding of the care-of
    # address and of the home address follow the binding.
    assert [k for k in kinds(events) if k != "source_binding"] == [
        "port", "port", "binding", "binding_update", "handover"]
    assert {(e["change"], e["address"]) for e in events if e["kind"] == "source_binding"} >= {
        ("moved", frames.MN1_HOME), ("bound", CARE_OF["visit-b"])}
    binding, update, handover = [e for e in events[2:] if e["kind"] != "source_binding"]
    assert (binding["change"], binding["cache"], binding["care_of_address"]) == (
        "updated", "home", CARE_OF["visit-b"])
    assert (update["status"], update["sequence"], update["node"]) == (0, 2, "home_agent")
    assert (update["dpid"], update["port"]) == (dpid, port)
    assert handover["from_care_of"] == CARE_OF["visit-a"]
    assert handover["to_care_of"] == CARE_OF["visit-b"]
    assert handover["attach_at"] == attached and handover["bu_at"] == harness.now
    assert handover["attach_to_bu_ms"] == 1000.0
    assert handover["flow_mods"] == len(flow_mods) > 0


def test_a_refresh_is_no_handover_and_a_refused_bu_is_counted_by_status(harness):
    register(harness, "visit-a", seq=1)
    register(harness, "visit-a", seq=2)  # a refresh: same care-of address
    register(harness, "visit-a", seq=2)  # the same sequence again: 135
    events = harness.router.events.drain()
    assert kinds(events).count("handover") == 1
    assert [e["status"] for e in events if e["kind"] == "binding_update"] == [0, 0, 135]
    assert harness.router.events.total("binding_update") == {
        ("home_agent", 0, True): 2, ("home_agent", 135, True): 1}
    assert harness.router.events.total("handover") == {None: 1}


def test_a_bu_that_fails_authentication_changes_nothing_but_is_counted(harness):
    harness.router.events.drain()
    dpid, port = AWAY["visit-a"]
    harness.now += 1
    frame = frames.binding_update(care_of=CARE_OF["visit-a"], seq=1, lifetime=420,
                                  timestamp=frames.ntp(harness.now), key=bytes(20))
    harness.run(harness.router.packet_in(harness.now, dpid, port, frame))
    events = harness.router.events.drain()
    assert [(e["kind"], e.get("status")) for e in events] == [("binding_update", 146)]
    home = ipaddress.IPv6Address(frames.MN1_HOME)
    assert harness.router.home_agent.cache.get(home) is None
    # Control: the same BU with the right key is accepted and makes a binding.
    register(harness, "visit-a", seq=1)
    assert harness.router.home_agent.cache.get(home) is not None
    assert [k for k in kinds(harness.router.events.drain()) if k != "source_binding"] == [
        "binding", "binding_update", "handover"]


def test_events_nobody_drains_stay_bounded_but_the_totals_do_not_forget():
    log = EventLog()
    for index in range(PENDING_MAX + 10):
        log.emit(float(index), "port", "up")
    events = log.drain()
    assert len(events) == PENDING_MAX and events[0]["at"] == 10.0
    assert log.total("port") == {"up": PENDING_MAX + 10}
    assert log.drain() == []
