"""Network-triggered handover on fake switches (mipv6_sdn/network_handover.py): a bound
node's first frame on a new port, right after its old port went down, moves delivery
of its home address there before the BU; the BU confirms it; without one the redirect
is undone. And an attacker who copies mn1's MAC, with its control."""
import dataclasses
import ipaddress

import pytest

from mipv6_sdn.config import NetworkHandoverConfig
from mipv6_sdn.testing.core_harness import CONFIG, Harness, duplicate_address_detection
from tests import mipv6_frames as frames
from tests.test_care_of_forwarding import (AWAY, CARE_OF, away_harness, forwarding,
                                           register, to_home_address)
from tests.test_correspondent_node import attach, configured
from tests.test_route_optimisation import from_cn1, route_optimise

ATTACKER_PORT = (3, 1)  # vb1's port on visit-b


def harness_with(**settings):
    """The reference core with the network-triggered handover on (unless ``settings``
    say otherwise), mn1 registered at visit-a and an attacker's port at visit-b."""
    settings.setdefault("enabled", True)
    config = dataclasses.replace(CONFIG, network_handover=NetworkHandoverConfig(**settings))
    harness = Harness(config)
    for name, (dpid, port) in AWAY.items():
        harness.run(harness.router.port_up(harness.now, dpid, port))
        harness.net.hosts[f"mn1@{name}"] = (dpid, port)
        harness.net.host_at[(dpid, port)] = f"mn1@{name}"
    harness.net.hosts["attacker"] = ATTACKER_PORT
    harness.net.host_at[ATTACKER_PORT] = "attacker"
    harness.learn("cn1", "hh1", "va1")
    register(harness, "visit-a", 1)
    return harness


@pytest.fixture
def harness():
    return harness_with()


def first_frame(harness, at, after=0.005):
    """A frame with mn1's MAC at ``at`` (dpid, port), ``after`` s on; the flow-mods it
    caused. From mn1: the DAD probe of its new care-of address, as the kernel sends it
    on the RA; from the attacker's port: a probe for an address of its own (claiming
    mn1's care-of address would only make source validation refuse mn1's BU)."""
    harness.now += after
    target = "2001:db8:b::bad" if at == ATTACKER_PORT else CARE_OF["visit-b"]
    frame = duplicate_address_detection("mn1", target)
    msgs = harness.router.packet_in(harness.now, *at, bytes(frame))
    harness.run(msgs)
    return forwarding([m for _, m in msgs if type(m).__name__ == "OFPFlowMod"])


def detach(harness, link="visit-a"):
    harness.run(harness.router.port_down(harness.now, *AWAY[link]))


def delivered_to(harness):
    [(where, _)] = harness.net.send("cn1", to_home_address("cn1"))
    return where


def test_delivery_moves_on_the_first_frame_and_the_bu_confirms_it_with_no_more_rules(
        harness):
    detach(harness)
    assert len(first_frame(harness, AWAY["visit-b"])) == 4
    assert delivered_to(harness) == "mn1@visit-b"  # before any BU
    assert forwarding(register(harness, "visit-b", 2)) == []  # its rules are in place
    change = harness.router.forwarding.changes[ipaddress.IPv6Address(frames.MN1_HOME)]
    assert change["flow_mods"] == 4 and change["network_triggered"]
    harness.run(harness.router.tick(harness.now + 5))  # no undo after confirmation
    assert delivered_to(harness) == "mn1@visit-b"


def test_without_a_bu_within_the_window_the_redirect_is_undone(harness):
    detach(harness)
    first_frame(harness, AWAY["visit-b"])
    assert harness.router.next_due() == pytest.approx(harness.now + 0.5)
    harness.run(harness.router.tick(harness.now + 0.4))
    assert delivered_to(harness) == "mn1@visit-b"
    harness.run(harness.router.tick(harness.now + 0.5))
    assert delivered_to(harness) == "mn1@visit-a"  # back where the binding says


def test_a_bu_from_elsewhere_wins_over_the_redirect(harness):
    detach(harness)
    first_frame(harness, AWAY["visit-b"])
    harness.run(harness.router.port_up(harness.now, *AWAY["visit-a"]))
    register(harness, "visit-a", 2)
    assert delivered_to(harness) == "mn1@visit-a"


def test_coming_home_waits_for_the_deregistration(harness):
    detach(harness)
    assert first_frame(harness, (1, 1)) == []  # mn1's port on the home link
    assert delivered_to(harness) == "mn1@visit-a"


def test_off_by_default_nothing_moves_before_the_bu():
    harness = away_harness()
    register(harness, "visit-a", 1)
    detach(harness)
    assert first_frame(harness, AWAY["visit-b"]) == []
    assert delivered_to(harness) == "mn1@visit-a"


def test_a_node_that_left_long_ago_triggers_nothing(harness):
    detach(harness)
    assert first_frame(harness, AWAY["visit-b"], after=0.6) == []  # window 0.5 s
    assert delivered_to(harness) == "mn1@visit-a"


def test_an_attacker_copying_mn1s_mac_gets_nothing_while_mn1s_port_is_up(harness):
    """The attack and its control in one test: while mn1's port is up and forwarding,
    a frame with mn1's MAC from another port redirects nothing (and the binding's
    traffic stays with mn1); the moment mn1's port is down, the same frame from the
    same port does redirect, which shows the test can see the attack succeed."""
    assert first_frame(harness, ATTACKER_PORT) == []
    assert delivered_to(harness) == "mn1@visit-a"
    detach(harness)  # control: now the frame is taken for a move
    assert len(first_frame(harness, ATTACKER_PORT)) == 4
    assert delivered_to(harness) == "attacker"


def test_what_an_attacker_can_steal_is_one_window_per_detachment(harness):
    """mn1's port goes down; an attacker with mn1's MAC wins the race to another port.
    It gets mn1's traffic for one window at most, and then never again: the rate limit
    and the detachment's age stop every further try, and mn1's own BU takes it back."""
    detach(harness)
    assert first_frame(harness, ATTACKER_PORT)
    assert delivered_to(harness) == "attacker"
    harness.run(harness.router.tick(harness.now + 0.5))  # no BU from the attacker
    assert delivered_to(harness) == "mn1@visit-a"
    for after in (0.1, 1.0, 5.0):  # within and beyond min_interval: the port went down
        assert first_frame(harness, ATTACKER_PORT, after) == []  # too long ago
    assert delivered_to(harness) == "mn1@visit-a"
    register(harness, "visit-b", 2)
    assert delivered_to(harness) == "mn1@visit-b"


def test_one_node_triggers_at_most_once_per_min_interval():
    harness = harness_with(min_interval=10.0, window=2.0)
    detach(harness)
    assert first_frame(harness, AWAY["visit-b"])
    harness.run(harness.router.port_down(harness.now, *AWAY["visit-b"]))
    harness.run(harness.router.port_up(harness.now, *AWAY["visit-a"]))
    assert first_frame(harness, AWAY["visit-a"]) == []  # second move within 10 s
    assert harness.router.network_handover.pending  # the first one still awaits its BU


def test_a_mac_live_on_another_port_triggers_nothing(harness):
    detach(harness)
    # mn1's MAC is live on visit-b's port (learned there, say by an earlier frame)
    harness.run(harness.router.packet_in(harness.now, *AWAY["visit-b"], bytes(
        duplicate_address_detection("mn1", CARE_OF["visit-b"]))))
    # ... so a copy of it on the attacker's port is no move
    harness.router.network_handover.triggered.clear()
    harness.router.network_handover.pending.clear()
    assert first_frame(harness, ATTACKER_PORT) == []


def test_the_events_say_what_happened(harness):
    detach(harness)
    first_frame(harness, AWAY["visit-b"])
    register(harness, "visit-b", 2)
    kinds = [(e["kind"], e.get("home_address")) for e in harness.router.events.drain()
             if e["kind"] == "network_handover"]
    assert kinds == [("network_handover", frames.MN1_HOME)] * 2
    assert harness.router.events.total("network_handover") == {"redirected": 1,
                                                               "confirmed": 1}


def route_optimised_harness():
    """rr mode with the network-triggered handover on; mn1 bound at visit-a, with cn1
    reaching it directly."""
    config = dataclasses.replace(configured(mode="rr"),
                                 network_handover=NetworkHandoverConfig(enabled=True))
    harness = Harness(config=config)
    for link in ("visit-a", "visit-b"):
        attach(harness, link)
    harness.learn("cn1", "hh1", "vb1")
    route_optimise(harness, "visit-a", 1)
    return harness


def test_route_optimised_traffic_follows_the_redirect_and_its_undo():
    """cn1 reaches mn1 directly (rr): a redirect must move cn1's direct rules too,
    else cn1's packets keep going to the old, dead port; the undo moves them back."""
    harness = route_optimised_harness()
    assert from_cn1(harness) == (["mn1@visit-a"], [4, 5, 2])  # control: direct
    detach(harness)
    assert first_frame(harness, AWAY["visit-b"])
    assert from_cn1(harness) == (["mn1@visit-b"], [4, 5, 3])
    harness.run(harness.router.tick(harness.now + 0.5))  # no BU: undone
    assert from_cn1(harness) == (["mn1@visit-a"], [4, 5, 2])


def test_a_refresh_from_the_old_place_brings_route_optimisation_back_too():
    """mn1's port flaps: its frame elsewhere (here, copied) redirects, then its refresh
    from the old port confirms the binding as it was: cn1's direct rules go back."""
    harness = route_optimised_harness()
    detach(harness)
    assert first_frame(harness, AWAY["visit-b"])
    assert from_cn1(harness) == (["mn1@visit-b"], [4, 5, 3])
    harness.run(harness.router.port_up(harness.now, *AWAY["visit-a"]))
    register(harness, "visit-a", 2)  # refreshed where the binding was
    assert harness.router.forwarding.changes[ipaddress.IPv6Address(frames.MN1_HOME)][
        "event"] == "refreshed"
    assert from_cn1(harness) == (["mn1@visit-a"], [4, 5, 2])
