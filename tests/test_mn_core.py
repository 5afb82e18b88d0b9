"""The mobile node's core (RFC 6275 §11, RFC 4285) with a fake clock.

What the core sends is decoded by Scapy and its RFC 4285 authenticator recomputed with
the hmac module (tests/mipv6_frames.py); the Binding Acknowledgements it is fed are
built with Scapy, and one test runs it against the controller's real Home Agent core.
"""
import dataclasses
import logging

import pytest
from scapy.layers.inet6 import (HAO, ICMPv6HAADReply, ICMPv6HAADRequest, ICMPv6ND_NA,
                                ICMPv6ND_RS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, MIP6MH_BRR, MIP6MH_BU,
                                MIP6OptMsgAuth, MIP6OptReplayProtection)
from scapy.layers.l2 import Ether

from mipv6_sdn import packets, wire
from mipv6_sdn.home_agent import HomeAgent
from mipv6_sdn.mn import core
from mipv6_sdn.mn.actions import (AssignHomeAddress, DefaultRoute, Log, RemoveAddress,
                                  RemoveOnLinkRoute, Send)
from mipv6_sdn.mn.movement import RouterAdvert, parse_router_advert
from mipv6_sdn.testing.core_harness import CONFIG
from tests.mipv6_frames import (MN1_HOME, MN1_KEY, MN1_MAC, MN1_SPI, ROUTER_MAC, ntp,
                                rfc4285_authenticator)
from tests.mn_helpers import (COA_A, COA_B, FIRST_SEQ, HA, HOA, HOME_PREFIX, ROUTER_LL,
                              SLAAC_HOME, T0, VISIT_A, VISIT_B, A, Clock, I, at_home, binding,
                              binding_ack, bus, make_node, move, of_type, ra, registered,
                              run_until, sent)
from tests.test_mobility_codec import rfc_checksum_ok

# ---------------------------------------------------------------------- the Binding Update


def test_binding_update_decodes_in_scapy_with_the_rfc_fields():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    actions = move(node, clock, VISIT_A, COA_A)
    [frame] = bus(actions)
    assert frame[Ether].dst == ROUTER_MAC and frame[Ether].src == MN1_MAC
    assert frame[IPv6].src == str(COA_A) and frame[IPv6].dst == str(HA)
    assert frame[IPv6ExtHdrDestOpt][HAO].hoa == str(HOA)  # RFC 6275 §6.3
    bu = frame[MIP6MH_BU]
    assert bu.seq == FIRST_SEQ and bu.mhtime == 105  # 420 s in units of 4 s
    assert bu.flags & 0x40 and bu.flags & 0x20  # A and H (Scapy's bit order)
    assert not bu.flags & 0x10 and not bu.flags & 0x08  # neither L nor K
    assert bu[MIP6OptReplayProtection].timestamp == ntp(T0)  # RFC 4285 §6


def test_binding_update_carries_an_independently_computed_authenticator():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [frame] = bus(move(node, clock, VISIT_A, COA_A))
    raw = bytes(frame)
    mh = raw[14 + 40 + 24:]  # Ethernet, IPv6, Destination Options (HAO)
    auth = frame[MIP6OptMsgAuth]
    assert auth.subtype == 1 and auth.mspi == MN1_SPI
    assert mh.endswith(auth.authdata)  # RFC 4285 §5: the last option
    zeroed = mh[:4] + b"\0\0" + mh[6:-12]
    assert auth.authdata == rfc4285_authenticator(MN1_KEY, str(COA_A), str(HOA), zeroed)
    # RFC 6275 §6.1.1: the checksum's pseudo-header has the home address.
    assert rfc_checksum_ok(HOA, HA, 135, mh)


def test_the_care_of_address_comes_from_the_kernel_after_the_router_advertisement():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    actions = node.frame_received(clock.now, ra(VISIT_A))
    assert bus(actions) == []  # no care-of address yet (DAD not optimistic, say)
    clock.now += 1.2
    [frame] = bus(node.addresses_changed(clock.now, [I((HOA, 128)), I((COA_A, 64))]))
    assert frame[IPv6].src == str(COA_A)


def test_an_address_of_the_kernel_before_the_advertisement_is_taken_too():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    node.addresses_changed(clock.now, [I((HOA, 64)), I((COA_A, 64))])
    [frame] = bus(node.frame_received(clock.now, ra(VISIT_A)))
    assert frame[IPv6].src == str(COA_A)


# ---------------------------------------------------------------------- addresses and routes


def system_changes(actions):
    """The address and route changes among ``actions`` (no logs, no frames)."""
    return [a for a in actions if not isinstance(a, (Log, Send))]


def test_leaving_home_makes_the_home_address_a_128_and_the_home_prefix_off_link():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    actions = node.frame_received(clock.now, ra(VISIT_A))
    changes = system_changes(actions)
    assert changes == [AssignHomeAddress(I((HOA, 128))), DefaultRoute(ROUTER_LL, HOA),
                       RemoveAddress(SLAAC_HOME), RemoveOnLinkRoute(HOME_PREFIX)]


def test_moving_on_drops_the_old_care_of_address_and_its_prefix():
    clock, node = Clock(), make_node()
    registered(node, clock)
    actions = node.frame_received(clock.now, ra(VISIT_B))
    changes = system_changes(actions)
    assert changes == [DefaultRoute(ROUTER_LL, HOA), RemoveAddress(I((COA_A, 64))),
                       RemoveOnLinkRoute(VISIT_A)]


def test_a_care_of_address_already_there_is_registered_before_the_old_link_is_cleaned_up():
    """The kernel forms the new care-of address from the RA before the agent reads it
    (a radio move: no carrier change): the BU goes out before any netlink change."""
    clock, node = Clock(), make_node()
    registered(node, clock)
    node.addresses_changed(clock.now, [I((HOA, 128)), I((COA_A, 64)), I((COA_B, 64))])
    actions = node.frame_received(clock.now, ra(VISIT_B))
    changes = [a for a in actions if not isinstance(a, Log)]
    [bu] = bus(changes)
    assert bu[IPv6].src == str(COA_B)
    assert isinstance(changes[0], Send) and MIP6MH_BU in Ether(changes[0].frame)
    assert RemoveAddress(I((COA_A, 64))) in changes[1:]


def test_at_home_the_home_address_stays_a_64():
    clock, node = Clock(), make_node()
    actions = at_home(node, clock)
    assert of_type(actions, AssignHomeAddress) == [AssignHomeAddress(I(f"{MN1_HOME}/64"))]
    assert of_type(actions, DefaultRoute) == [DefaultRoute(ROUTER_LL, HOA)]
    assert bus(actions) == [] and not of_type(actions, RemoveOnLinkRoute)


def test_the_first_router_advertisement_away_from_home_moves_the_node_away():
    clock, node = Clock(), make_node()
    node.start(clock.now)
    actions = move(node, clock, VISIT_A, COA_A)
    assert AssignHomeAddress(I((HOA, 128))) in actions
    assert len(bus(actions)) == 1


# ---------------------------------------------------------------------- retransmission


def bu_times(node, clock, end):
    return [(t, f[MIP6MH_BU].seq, f[MIP6OptReplayProtection].timestamp)
            for t, actions in run_until(node, clock, end) for f in bus(actions)]


def test_first_registration_retransmits_after_1_5_s_doubling_up_to_32_s():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    bus(move(node, clock, VISIT_A, COA_A))
    times = [T0] + [t for t, _, _ in bu_times(node, clock, T0 + 200)]
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    assert gaps == [1.5, 3, 6, 12, 24, 32, 32, 32, 32]


def test_each_retransmission_has_a_new_sequence_number_and_timestamp():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    bus(move(node, clock, VISIT_A, COA_A))
    sends = bu_times(node, clock, T0 + 30)
    assert [s for _, s, _ in sends] == [FIRST_SEQ + 1, FIRST_SEQ + 2, FIRST_SEQ + 3,
                                        FIRST_SEQ + 4]
    assert [stamp for _, _, stamp in sends] == [ntp(t) for t, _, _ in sends]


def test_a_registration_with_a_binding_in_place_retransmits_after_1_s():
    clock, node = Clock(), make_node()
    registered(node, clock)
    clock.now += 60
    start = clock.now
    bus(move(node, clock, VISIT_B, COA_B))
    times = [start] + [t for t, _, _ in bu_times(node, clock, start + 40)]
    assert [round(b - a, 3) for a, b in zip(times, times[1:])] == [1, 2, 4, 8, 16]


def test_sequence_numbers_wrap_modulo_2_16():
    clock, node = Clock(), core.MobileNode(
        home_address=I(f"{MN1_HOME}/64"), mac=MN1_MAC, spi=MN1_SPI, key=MN1_KEY,
        home_agent_address=HA, sequence=0xFFFF)
    at_home(node, clock)
    [frame] = bus(move(node, clock, VISIT_A, COA_A))
    assert frame[MIP6MH_BU].seq == 0


# ---------------------------------------------------------------------- acknowledgements


def test_status_0_binds_for_the_granted_lifetime_and_stops_retransmitting():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    clock.now += 0.02
    actions = node.frame_received(clock.now, binding_ack(bu, lifetime=300))
    assert binding(node).care_of == COA_A and binding(node).lifetime == 300
    assert binding(node).expires == pytest.approx(clock.now + 300)
    assert any("registered care-of" in a.message and "0.020 s after attachment" in a.message
               for a in of_type(actions, Log))
    assert bu_times(node, clock, clock.now + 100) == []


def test_status_1_binds_too():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    node.frame_received(clock.now, binding_ack(bu, status=1, lifetime=200))
    assert binding(node).lifetime == 200 and node.home_registration.pending is None


def test_status_135_resends_at_once_with_the_sequence_after_the_has():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    clock.now += 0.01
    actions = node.frame_received(clock.now, binding_ack(bu, status=135, seq=5000, lifetime=0))
    [again] = bus(actions)
    assert again[MIP6MH_BU].seq == 5001
    node.frame_received(clock.now, binding_ack(again))
    assert binding(node) is not None and binding(node).sequence == 5001


def test_status_144_resynchronises_the_clock_and_retries():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    ha_time = T0 + 3600  # the HA's clock is an hour ahead
    actions = node.frame_received(clock.now, binding_ack(bu, status=144, lifetime=0,
                                                         stamp=ntp(ha_time)))
    [again] = bus(actions)
    assert again[MIP6MH_BU].seq == FIRST_SEQ + 1
    assert again[MIP6OptReplayProtection].timestamp == pytest.approx(ntp(ha_time), abs=2 ** 20)
    assert node.home_registration.sender.clock_offset == pytest.approx(3600)


def test_repeated_rejections_fall_back_to_the_backoff():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    answers = []
    for _ in range(4):
        clock.now += 0.01
        actions = node.frame_received(clock.now, binding_ack(bu, status=135, seq=5000,
                                                             lifetime=0))
        answers.append(len(bus(actions)))
        bu = (bus(actions) or [bu])[0]
    assert answers == [1, 1, 0, 0]  # MAX_IMMEDIATE_RETRIES, then the timer


@pytest.mark.parametrize("status", [128, 129, 130, 131, 132, 133, 134, 145, 146])
def test_other_statuses_are_logged_and_backed_off(status):
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    clock.now += 0.1
    actions = node.frame_received(clock.now, binding_ack(bu, status=status, lifetime=0))
    assert bus(actions) == [] and binding(node) is None
    assert any(f"status {status}" in a.message and a.level == logging.WARNING
               for a in of_type(actions, Log))
    assert [round(t - T0, 3) for t, _, _ in bu_times(node, clock, T0 + 5)] == [1.5, 4.5]


def test_a_binding_acknowledgement_with_a_wrong_authenticator_is_ignored():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    node.frame_received(clock.now, binding_ack(bu, key=bytes(20)))
    node.frame_received(clock.now, binding_ack(bu, spi=MN1_SPI + 1))
    assert binding(node) is None and node.home_registration.pending is not None


def test_a_binding_acknowledgement_for_another_sequence_number_is_ignored():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    node.frame_received(clock.now, binding_ack(bu, seq=FIRST_SEQ + 7))
    assert binding(node) is None


def test_a_binding_acknowledgement_that_does_not_echo_our_timestamp_is_ignored():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    node.frame_received(clock.now, binding_ack(bu, stamp=ntp(T0 - 100)))
    assert binding(node) is None


def test_a_binding_acknowledgement_for_another_home_address_is_ignored():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    node.frame_received(clock.now, binding_ack(bu, home=A("2001:db8:1::101")))
    assert binding(node) is None


def test_an_answer_to_an_earlier_transmission_is_accepted():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [first] = bus(move(node, clock, VISIT_A, COA_A))
    bu_times(node, clock, T0 + 2)  # one retransmission
    node.frame_received(clock.now, binding_ack(first))
    assert binding(node) is not None and binding(node).sequence == FIRST_SEQ


def test_no_more_than_three_binding_updates_a_second():
    clock, node = Clock(), make_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    node.frame_received(clock.now, binding_ack(bu, status=135, seq=10, lifetime=0))
    node.frame_received(clock.now, binding_ack(bu, status=135, seq=20, lifetime=0))
    assert len(node.home_registration.sender.rate.sent_times) == 3
    # A fourth BU in the same second waits for the second to pass (RFC 6275 §11.8).
    node.home_registration.pending.backoff.next_send = clock.now
    assert bus(node.tick(clock.now + 0.5)) == []
    assert len(bus(node.tick(clock.now + 1.0))) == 1


# ---------------------------------------------------------------------- refresh


def test_the_binding_is_refreshed_at_80_percent_of_its_lifetime():
    clock, node = Clock(), make_node()
    registered(node, clock)
    bound_at = clock.now
    sends = bu_times(node, clock, bound_at + 340)
    assert [round(t - bound_at, 3) for t, _, _ in sends] == [336.0, 337.0, 339.0]


def test_a_binding_refresh_request_from_the_home_agent_is_answered_at_once():
    clock, node = Clock(), make_node()
    registered(node, clock)
    clock.now += 10
    brr = Ether(src=ROUTER_MAC, dst=MN1_MAC) / IPv6(src=str(HA), dst=str(COA_A)) / \
        IPv6ExtHdrRouting(type=2, addresses=[str(HOA)], segleft=1) / MIP6MH_BRR()
    [frame] = bus(node.frame_received(clock.now, bytes(brr)))
    assert frame[IPv6].src == str(COA_A) and frame[MIP6MH_BU].mhtime == 105


def test_a_binding_refresh_request_from_elsewhere_is_ignored():
    clock, node = Clock(), make_node()
    registered(node, clock)
    brr = Ether(src=ROUTER_MAC, dst=MN1_MAC) / IPv6(src="2001:db8:c::10", dst=str(COA_A)) / \
        IPv6ExtHdrRouting(type=2, addresses=[str(HOA)], segleft=1) / MIP6MH_BRR()
    assert bus(node.frame_received(clock.now, bytes(brr))) == []


def test_an_unrefreshed_binding_expires():
    clock, node = Clock(), make_node(lifetime=40)
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    node.frame_received(clock.now, binding_ack(bu, lifetime=40))
    run_until(node, clock, T0 + 41)
    assert binding(node) is None


# ---------------------------------------------------------------------- return home


def test_returning_home_deregisters_from_the_home_address_without_a_home_address_option():
    clock, node = Clock(), make_node()
    registered(node, clock)
    clock.now += 30
    actions = node.frame_received(clock.now, ra(HOME_PREFIX, home=True))
    [frame] = bus(actions)
    assert frame[IPv6].src == str(HOA) and frame[IPv6].dst == str(HA)
    assert IPv6ExtHdrDestOpt not in frame  # RFC 6275 §11.5.5: no HAO
    bu = frame[MIP6MH_BU]
    assert bu.mhtime == 0 and bu.flags & 0x40 and bu.flags & 0x20
    mh = bytes(frame)[14 + 40:]
    zeroed = mh[:4] + b"\0\0" + mh[6:-12]
    assert bu[MIP6OptMsgAuth].authdata == rfc4285_authenticator(MN1_KEY, str(HOA), str(HOA),
                                                                 zeroed)
    # The home address is taken back only after the acknowledgement.
    assert not of_type(actions, AssignHomeAddress)


def test_after_the_deregistration_is_acknowledged_the_home_address_is_announced():
    clock, node = Clock(), make_node()
    registered(node, clock)
    clock.now += 30
    [dereg] = bus(node.frame_received(clock.now, ra(HOME_PREFIX, home=True)))
    clock.now += 0.01
    actions = node.frame_received(clock.now, binding_ack(dereg, lifetime=0, to_home=True))
    changes = system_changes(actions)
    assert changes == [AssignHomeAddress(I(f"{MN1_HOME}/64")),
                       DefaultRoute(ROUTER_LL, HOA)]
    [na] = sent(actions)
    assert na[Ether].dst == "33:33:00:00:00:01" and na[IPv6].dst == "ff02::1"
    assert na[IPv6].src == str(HOA) and na[IPv6].hlim == 255
    advert = na[ICMPv6ND_NA]
    assert advert.tgt == str(HOA) and (advert.R, advert.S, advert.O) == (0, 0, 1)
    assert na[ICMPv6NDOptDstLLAddr].lladdr == MN1_MAC
    assert binding(node) is None
    acked = clock.now
    repeats = [t - acked for t, a in run_until(node, clock, acked + 5) if sent(a)]
    assert [round(t, 3) for t in repeats] == [1.0, 2.0]  # MAX_NEIGHBOR_ADVERTISEMENT in all


def test_an_unacknowledged_deregistration_retransmits_then_gives_up_when_the_binding_expires():
    clock, node = Clock(), make_node(lifetime=40)
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    node.frame_received(clock.now, binding_ack(bu, lifetime=40))
    clock.now += 10
    start = clock.now
    node.frame_received(clock.now, ra(HOME_PREFIX, home=True))
    ticks = run_until(node, clock, start + 40)
    dereg_times = [round(t - start, 3) for t, a in ticks for _ in bus(a)]
    assert dereg_times == [1, 3, 7, 15]  # 1 s doubling, until the binding is over at 30 s
    assert [AssignHomeAddress(I(f"{MN1_HOME}/64"))] == [
        a for _, acts in ticks for a in of_type(acts, AssignHomeAddress)]


def test_returning_home_without_any_registration_announces_at_once():
    clock, node = Clock(), make_node(home_agent_address=None)
    at_home(node, clock)
    node.frame_received(clock.now, ra(VISIT_A))  # no care-of address ever came
    actions = node.frame_received(clock.now, ra(HOME_PREFIX, home=True))
    assert bus(actions) == []
    assert AssignHomeAddress(I(f"{MN1_HOME}/64")) in actions
    assert ICMPv6ND_NA in sent(actions)[0]


# ---------------------------------------------------------------------- DHAAD


def test_dhaad_request_goes_to_the_home_agents_anycast_address():
    clock, node = Clock(), make_node(home_agent_address=None)
    at_home(node, clock)
    [request] = sent(move(node, clock, VISIT_A, COA_A))
    assert request[IPv6].src == str(COA_A)
    assert request[IPv6].dst == "2001:db8:1:0:fdff:ffff:ffff:fffe"  # RFC 2526
    assert request[Ether].dst == ROUTER_MAC
    assert request[ICMPv6HAADRequest].id == 7


def test_dhaad_retransmits_from_3_s_doubling():
    clock, node = Clock(), make_node(home_agent_address=None)
    at_home(node, clock)
    move(node, clock, VISIT_A, COA_A)
    times = [T0] + [t for t, a in run_until(node, clock, T0 + 200)
                    for f in sent(a) if ICMPv6HAADRequest in f]
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    assert gaps == [3, 6, 12, 24, 48, 48, 48]


def test_dhaad_reply_gives_the_home_agent_and_registration_follows():
    clock, node = Clock(), make_node(home_agent_address=None)
    at_home(node, clock)
    move(node, clock, VISIT_A, COA_A)
    reply = Ether(src=ROUTER_MAC, dst=MN1_MAC) / IPv6(src=str(HA), dst=str(COA_A)) / \
        ICMPv6HAADReply(id=7, R=0, addresses=[str(HA)])
    clock.now += 0.01
    [bu] = bus(node.frame_received(clock.now, bytes(reply)))
    assert node.home_registration.home_agent == HA and bu[IPv6].dst == str(HA)


def test_a_dhaad_reply_with_another_identifier_is_ignored():
    clock, node = Clock(), make_node(home_agent_address=None)
    at_home(node, clock)
    move(node, clock, VISIT_A, COA_A)
    reply = Ether(src=ROUTER_MAC, dst=MN1_MAC) / IPv6(src=str(HA), dst=str(COA_A)) / \
        ICMPv6HAADReply(id=8, R=0, addresses=[str(HA)])
    assert node.frame_received(clock.now, bytes(reply)) == []
    assert node.home_registration.home_agent is None


# ---------------------------------------------------------------------- movement detection


def test_start_and_link_up_solicit_a_router_advertisement():
    clock, node = Clock(), make_node()
    [rs] = sent(node.start(clock.now))
    assert rs[IPv6].src == "::" and rs[IPv6].dst == "ff02::2" and rs[IPv6].hlim == 255
    assert ICMPv6ND_RS in rs and ICMPv6NDOptSrcLLAddr not in rs  # RFC 4861 §4.1
    assert rs[Ether].dst == "33:33:00:00:00:02"
    at_home(node, clock)
    clock.now += 5
    [again] = sent(node.link_changed(clock.now, True))
    assert ICMPv6ND_RS in again


def test_the_same_prefix_again_is_no_movement():
    clock, node = Clock(), make_node()
    registered(node, clock)
    clock.now += 5
    assert node.frame_received(clock.now, ra(VISIT_A)) == []
    assert node.movement.link.last_ra == clock.now


def test_router_lifetime_0_means_the_router_is_lost():
    clock, node = Clock(), make_node()
    registered(node, clock)
    actions = node.frame_received(clock.now, ra(VISIT_A, router_lifetime=0))
    assert node.movement.link.lost and ICMPv6ND_RS in sent(actions)[0]
    clock.now += 1
    assert bus(move(node, clock, VISIT_B, COA_B))  # the next link's RA: movement


def test_no_advertisement_within_the_interval_starts_solicitations_then_the_router_is_lost():
    clock, node = Clock(), make_node()
    registered(node, clock)
    ticks = run_until(node, clock, T0 + 30)
    rs_times = [round(t - T0, 3) for t, a in ticks for f in sent(a) if ICMPv6ND_RS in f]
    assert rs_times[:3] == [10, 14, 18]  # Advertisement Interval 10 s, then RFC 4861
    lost = [t - T0 for t, a in ticks for x in of_type(a, Log) if "lost" in x.message]
    assert lost == [pytest.approx(22)]


# ---------------------------------------------------------------------- the real Home Agent


def test_against_the_controllers_home_agent_core():
    """Home → visit-a → visit-b → home with HomeAgent.receive answering every BU."""
    clock, node, ha = Clock(), make_node(), HomeAgent(CONFIG)

    def exchange(actions):
        out = []
        for action in of_type(actions, Send):
            meta = packets.parse_frame(action.frame)
            for reply in ha.receive(clock.now, meta)[0]:
                out += node.frame_received(clock.now, packets.ethernet(MN1_MAC, ROUTER_MAC,
                                                                       reply))
        return out

    exchange(at_home(node, clock))
    exchange(move(node, clock, VISIT_A, COA_A))
    assert ha.cache.get(HOA).care_of_address == COA_A and binding(node).lifetime == 420
    clock.now += 100
    exchange(move(node, clock, VISIT_B, COA_B))
    assert ha.cache.get(HOA).care_of_address == COA_B and binding(node).care_of == COA_B
    clock.now += 100
    actions = exchange(node.frame_received(clock.now, ra(HOME_PREFIX, home=True)))
    assert ha.cache.get(HOA) is None and binding(node) is None
    assert AssignHomeAddress(I(f"{MN1_HOME}/64")) in actions
    assert ICMPv6ND_NA in sent(actions)[0]


def test_dhaad_against_the_controllers_home_agent_core():
    clock, node, ha = Clock(), make_node(home_agent_address=None), HomeAgent(CONFIG)
    at_home(node, clock)
    [request] = of_type(move(node, clock, VISIT_A, COA_A), Send)
    [reply], _ = ha.receive(clock.now, packets.parse_frame(request.frame))
    actions = node.frame_received(clock.now, packets.ethernet(MN1_MAC, ROUTER_MAC, reply))
    assert node.home_registration.home_agent == HA and len(bus(actions)) == 1


def test_a_clock_an_hour_slow_is_resynchronised_by_the_home_agent():
    clock, node, ha = Clock(), make_node(), HomeAgent(CONFIG)
    at_home(node, clock)
    [bu] = of_type(move(node, clock, VISIT_A, COA_A), Send)
    ha_now = clock.now + 3600
    [reply], _ = ha.receive(ha_now, packets.parse_frame(bu.frame))
    [again] = of_type(node.frame_received(clock.now, packets.ethernet(
        MN1_MAC, ROUTER_MAC, reply)), Send)
    [accepted], _ = ha.receive(ha_now, packets.parse_frame(again.frame))
    node.frame_received(clock.now, packets.ethernet(MN1_MAC, ROUTER_MAC, accepted))
    assert binding(node) is not None and ha.cache.get(HOA).care_of_address == COA_A


# ---------------------------------------------------------------------- router advertisements


def test_router_advertisement_fields():
    advert = parse_router_advert(packets.parse_frame(ra(HOME_PREFIX, home=True)))
    assert advert == RouterAdvert(src=ROUTER_LL, router_mac=ROUTER_MAC,
                                  router_lifetime=1800, prefixes=(HOME_PREFIX,),
                                  home_agent=True, adv_interval=10.0)


def test_a_router_advertisement_from_a_global_address_is_ignored():
    meta = packets.parse_frame(ra(VISIT_A))
    bogus = dataclasses.replace(meta, ip_src=A("2001:db8:a::1"))
    with pytest.raises(wire.PacketError):
        parse_router_advert(bogus)


def test_lifetime_out_of_range_is_refused():
    with pytest.raises(ValueError):
        make_node(lifetime=2)
    assert make_node(lifetime=421).home_registration.lifetime == 420
