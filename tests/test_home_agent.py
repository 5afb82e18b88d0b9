"""The Home Agent, one test per RFC 6275 / RFC 4285 rule, through the router's packet-in.

Binding Updates are built with Scapy (tests/mipv6_frames.py), answers decoded with Scapy,
the clock is fake, and the switches are the fake flow tables.
"""
import ipaddress
import logging

import pytest
from scapy.layers.inet6 import (HAO, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6HAADReply, ICMPv6HAADRequest,
                                ICMPv6MPAdv, ICMPv6MPSol, ICMPv6ND_NA, ICMPv6ND_NS,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo,
                                ICMPv6NDOptSrcLLAddr, ICMPv6ParamProblem, IPv6,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BE,
                                MIP6MH_BU, MIP6OptMsgAuth,
                                MIP6OptReplayProtection)
from scapy.layers.l2 import Ether

from mipv6_sdn.binding_cache import Attachment, Binding
from mipv6_sdn.config import SourceValidationConfig, parse_config
from mipv6_sdn.pipeline import CookieKind, cookie
from mipv6_sdn.testing.core_harness import (CONFIG, ROUTER_MAC, Harness,
                                             duplicate_address_detection, link_local)
from tests import mipv6_frames as frames

CARE_OF = "2001:db8:a:0:200:ff:fe00:100"
VISIT_A = (2, 1)  # where mn1 sits while away: s2 port 1


@pytest.fixture
def harness():
    return Harness()


def configured(**changes):
    """The reference configuration with some keys replaced."""
    data = {"controller": {"ra_interval": 10},
            "link": [{"name": l.name, "dpid": l.dpid, "prefix": str(l.prefix),
                      **({"home_agent": str(l.home_agent)} if l.home_agent else {})}
                     for l in CONFIG.links],
            "home_agent": {"max_binding_lifetime": 420},
            "mobile_node": [{"home_address": frames.MN1_HOME, "spi": frames.MN1_SPI,
                             "key": frames.MN1_KEY.hex()}]}
    for section, value in changes.items():
        data[section] = value
    return parse_config(data)


def send(harness, frame, at=VISIT_A):
    """Feed a frame to the router as a packet-in; return [(dpid, ports, scapy frame)]."""
    dpid, port = at
    return harness.run(harness.router.packet_in(harness.now, dpid, port, bytes(frame)))


def bu(harness, seq, **kwargs):
    kwargs.setdefault("care_of", CARE_OF)
    kwargs.setdefault("timestamp", frames.ntp(harness.now))
    return frames.binding_update(seq=seq, **kwargs)


def claim_care_of(harness):
    """mn1 on the visited link claims its care-of address by DAD, as a host configuring
    it does, so source address validation lets its packets through."""
    send(harness, duplicate_address_detection("mn1", CARE_OF))


def only_ack(sent):
    acks = [(dpid, ports, f) for dpid, ports, f in sent if MIP6MH_BA in f]
    assert len(acks) == 1, sent
    return acks[0]


def binding(harness):
    return harness.router.home_agent.cache.get(ipaddress.IPv6Address(frames.MN1_HOME))


def test_first_registration_is_accepted_and_acknowledged_to_the_care_of_address(harness):
    dpid, ports, ba = only_ack(send(harness, bu(harness, 7)))
    assert (dpid, ports, ba[Ether].dst) == (2, [1], frames.MN1_MAC)
    assert (ba[IPv6].src, ba[IPv6].dst) == (frames.HOME_AGENT, CARE_OF)
    routing = ba[IPv6ExtHdrRouting]
    assert (routing.type, routing.segleft, routing.addresses) == (2, 1, [frames.MN1_HOME])
    assert (ba[MIP6MH_BA].status, ba[MIP6MH_BA].seq, ba[MIP6MH_BA].mhtime) == (0, 7, 105)
    entry = binding(harness)
    assert (str(entry.care_of_address), entry.sequence, entry.lifetime) == (CARE_OF, 7, 420)
    assert (entry.attachment.dpid, entry.attachment.port, entry.attachment.mac) == (
        2, 1, frames.MN1_MAC)


def test_acknowledgement_is_authenticated_with_the_mn_ha_key(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7)))
    mh = ba[MIP6MH_BA]
    auth = mh.options[-1]
    assert isinstance(auth, MIP6OptMsgAuth) and auth.mspi == frames.MN1_SPI
    raw = bytearray(bytes(mh))
    raw[4:6] = b"\0\0"
    assert auth.authdata == frames.rfc4285_authenticator(
        frames.MN1_KEY, CARE_OF, frames.MN1_HOME, bytes(raw[:-12]))
    replay = [o for o in mh.options if isinstance(o, MIP6OptReplayProtection)]
    assert replay[0].timestamp == frames.ntp(harness.now)


def test_registration_announces_the_home_agent_on_the_home_link(harness):
    sent = send(harness, bu(harness, 7))
    [(dpid, ports, na)] = [s for s in sent if ICMPv6ND_NA in s[2]]
    assert (dpid, ports) == (1, [1, 2])
    assert (na[ICMPv6ND_NA].tgt, na[ICMPv6ND_NA].R, na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O) == (
        frames.MN1_HOME, 0, 0, 1)
    assert na[IPv6].dst == "ff02::1" and na[ICMPv6NDOptDstLLAddr].lladdr == ROUTER_MAC


def test_lifetime_is_capped_by_configuration(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, lifetime=4000)))
    assert ba[MIP6MH_BA].mhtime == 105 and binding(harness).lifetime == 420


@pytest.mark.parametrize("valid, preferred, status, granted", [
    (200, 100, 1, 200),     # the home prefix runs out during the binding
    (8000, 100, 1, 420),    # it is deprecated during the binding
    (8000, 4000, 0, 420),
])
def test_home_prefix_lifetimes_give_status_1(valid, preferred, status, granted):
    harness = Harness(configured(controller={
        "ra_interval": 10, "prefix_valid_lifetime": valid,
        "prefix_preferred_lifetime": preferred}))
    _, _, ba = only_ack(send(harness, bu(harness, 7)))
    assert (ba[MIP6MH_BA].status, ba[MIP6MH_BA].mhtime) == (status, granted // 4)
    assert binding(harness).lifetime == granted


@pytest.mark.parametrize("previous, new, status", [
    (65535, 0, 0),          # wraps modulo 2^16
    (10, 10 + 32767, 0),    # the last value inside the window
    (10, 10 + 32768, 135),  # a difference of exactly 2^15 is out of window
    (10, 10, 135),          # not greater
    (10, 9, 135),
])
def test_sequence_numbers_compare_modulo_2_16(harness, previous, new, status):
    only_ack(send(harness, bu(harness, previous)))
    harness.now += 1
    _, _, ba = only_ack(send(harness, bu(harness, new % 65536)))
    assert ba[MIP6MH_BA].status == status
    assert binding(harness).sequence == (new % 65536 if status == 0 else previous)
    if status == 135:
        assert ba[MIP6MH_BA].seq == previous  # RFC 6275 §9.5.1: the last accepted


@pytest.mark.parametrize("change", [
    {"key": bytes(20)},                 # wrong key
    {"spi": 257},                       # SPI of nobody
    {"authenticate": False},            # no MN-HA option
])
def test_failed_authentication_gets_146_and_changes_nothing(harness, change):
    _, _, ba = only_ack(send(harness, bu(harness, 7, **change)))
    assert ba[MIP6MH_BA].status == 146
    assert binding(harness) is None


def test_authentication_option_must_be_last(harness):
    options = [MIP6OptMsgAuth(subtype=1, mspi=frames.MN1_SPI, authdata=b"\0" * 12),
               MIP6OptReplayProtection(timestamp=frames.ntp(harness.now))]
    frame = Ether(src=frames.MN1_MAC, dst=ROUTER_MAC) / IPv6(src=CARE_OF, dst=frames.HOME_AGENT) \
        / IPv6ExtHdrDestOpt(options=[HAO(hoa=frames.MN1_HOME)]) / MIP6MH_BU(
            seq=7, flags="AH", mhtime=105, options=options)
    _, _, ba = only_ack(send(harness, frame))
    assert ba[MIP6MH_BA].status == 146 and binding(harness) is None


def test_missing_replay_protection_gets_145(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, replay=False)))
    assert ba[MIP6MH_BA].status == 145 and binding(harness) is None


def test_stale_timestamp_gets_144_with_the_home_agents_time(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, timestamp=frames.ntp(harness.now - 60))))
    assert ba[MIP6MH_BA].status == 144 and binding(harness) is None
    replay = [o for o in ba[MIP6MH_BA].options if isinstance(o, MIP6OptReplayProtection)]
    assert replay[0].timestamp == frames.ntp(harness.now)


def test_replayed_update_creates_nothing_after_the_binding_was_deleted(harness):
    captured = bu(harness, 7)
    only_ack(send(harness, captured))
    harness.now += 2
    only_ack(send(harness, bu(harness, 8, lifetime=0)))
    assert binding(harness) is None
    _, _, ba = only_ack(send(harness, captured))  # the same bytes, 2 s later
    assert ba[MIP6MH_BA].status == 144 and binding(harness) is None


def test_unknown_mobile_node_on_the_home_link_gets_133(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, home="2001:db8:1::999")))
    assert ba[MIP6MH_BA].status == 133


def test_home_address_off_any_home_link_gets_132(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, home="2001:db8:c::999")))
    assert ba[MIP6MH_BA].status == 132


def test_controller_without_home_links_gets_131():
    config = configured(link=[{"name": l.name, "dpid": l.dpid, "prefix": str(l.prefix)}
                              for l in CONFIG.links], mobile_node=[])
    harness = Harness(config)
    _, _, ba = only_ack(send(harness, bu(harness, 7)))
    assert ba[MIP6MH_BA].status == 131


def test_full_binding_cache_gets_130():
    config = configured(home_agent={"max_bindings": 1}, mobile_node=[
        {"home_address": frames.MN1_HOME, "spi": 256, "key": frames.MN1_KEY.hex()},
        {"home_address": "2001:db8:1::101", "spi": 300, "key": frames.MN1_KEY.hex()}])
    harness = Harness(config)
    only_ack(send(harness, bu(harness, 7)))
    _, _, ba = only_ack(send(harness, bu(harness, 7, home="2001:db8:1::101", spi=300,
                                         care_of="2001:db8:b::5")))
    assert ba[MIP6MH_BA].status == 130


def test_care_of_address_on_the_home_link_gets_129(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, care_of="2001:db8:1::555"), at=(1, 1)))
    assert ba[MIP6MH_BA].status == 129 and binding(harness) is None


def test_mobile_node_attached_to_its_home_switch_gets_129(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7), at=(1, 1)))  # foreign CoA, at home
    assert ba[MIP6MH_BA].status == 129 and binding(harness) is None


def test_home_address_in_use_on_the_home_link_gets_134(harness):
    intruder = Ether(src="00:00:00:00:66:66", dst="33:33:ff:00:00:01") / IPv6(
        src=frames.MN1_HOME, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(
        tgt=frames.HOME_AGENT) / ICMPv6NDOptSrcLLAddr(lladdr="00:00:00:00:66:66")
    send(harness, intruder, at=(1, 2))
    # Nobody answers the controller's probe: the address is the intruder's.
    harness.now += SourceValidationConfig().probe_timeout
    harness.run(harness.router.tick(harness.now))
    _, _, ba = only_ack(send(harness, bu(harness, 7)))
    assert ba[MIP6MH_BA].status == 134 and binding(harness) is None


def test_home_registration_over_a_correspondent_registration_gets_139(harness):
    home = ipaddress.IPv6Address(frames.MN1_HOME)
    harness.router.home_agent.cache.put(harness.now, Binding(
        home_address=home, care_of_address=ipaddress.IPv6Address(CARE_OF), sequence=3,
        lifetime=60, expires=harness.now + 60, home_registration=False))
    _, _, ba = only_ack(send(harness, bu(harness, 7)))
    assert ba[MIP6MH_BA].status == 139 and binding(harness).sequence == 3


def test_correspondent_registration_without_authorization_data_is_discarded(harness):
    assert send(harness, bu(harness, 7, flags="A")) == []
    only_ack(send(harness, bu(harness, 8)))
    harness.now += 1
    assert send(harness, bu(harness, 9, flags="A")) == []  # no 139 before authentication
    assert binding(harness).sequence == 8


def test_home_registration_is_acknowledged_even_without_the_a_bit(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, flags="H")))
    assert ba[MIP6MH_BA].status == 0 and binding(harness) is not None


def test_deregistration_without_a_binding_gets_133_and_changes_nothing(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, lifetime=0)))
    assert ba[MIP6MH_BA].status == 133
    assert harness.router.home_agent.last_timestamp == {}


def test_rejection_before_authentication_goes_to_the_source_not_the_alternate_care_of(harness):
    _, _, ba = only_ack(send(harness, bu(harness, 7, key=bytes(20),
                                         alternate_care_of="2001:db8:b::66")))
    assert ba[MIP6MH_BA].status == 146 and ba[IPv6].dst == CARE_OF
    assert not [o for o in ba[MIP6MH_BA].options if isinstance(o, MIP6OptReplayProtection)]


def test_echo_from_a_registered_mobile_node_is_answered_through_its_care_of_address(harness):
    only_ack(send(harness, bu(harness, 7)))
    frame = Ether(src=frames.MN1_MAC, dst=ROUTER_MAC) / IPv6(src=CARE_OF, dst=frames.HOME_AGENT) \
        / IPv6ExtHdrDestOpt(options=[HAO(hoa=frames.MN1_HOME)]) / ICMPv6EchoRequest(id=3)
    [(dpid, ports, reply)] = send(harness, frame)
    assert (dpid, ports, reply[IPv6].dst) == (2, [1], CARE_OF)
    assert reply[IPv6ExtHdrRouting].addresses == [frames.MN1_HOME]
    assert reply[ICMPv6EchoReply].id == 3


def test_an_expiry_noticed_by_a_packet_from_a_registered_node_removes_its_rules(harness):
    """The Home Agent expires bindings whenever it sees a packet; the flow-mods of an
    expiry go out with whatever answers that packet, here an echo from mn1."""
    only_ack(send(harness, bu(harness, 7)))
    other = Binding(home_address=ipaddress.IPv6Address("2001:db8:1::200"),
                    care_of_address=ipaddress.IPv6Address("2001:db8:a::200"), sequence=1,
                    lifetime=8, expires=harness.now + 8, home_registration=True,
                    attachment=Attachment(2, 1, "00:00:00:00:02:00"))
    harness.run(harness.router.home_agent.cache.put(harness.now, other))
    owner = cookie(CookieKind.BINDING, int(other.home_address) & (2 ** 56 - 1))

    def rules_of_other():
        return [e for dpid in (1, 2) for e in harness.net.switch(dpid).entries
                if e.cookie == owner]
    assert len(rules_of_other()) == 3  # control: the other binding's rules are there
    harness.now += 9
    echo = Ether(src=frames.MN1_MAC, dst=ROUTER_MAC) / IPv6(src=CARE_OF, dst=frames.HOME_AGENT) \
        / IPv6ExtHdrDestOpt(options=[HAO(hoa=frames.MN1_HOME)]) / ICMPv6EchoRequest(id=4)
    [(_, _, reply)] = send(harness, echo)
    assert reply[ICMPv6EchoReply].id == 4
    assert harness.router.home_agent.cache.get(other.home_address) is None
    assert rules_of_other() == []


def test_binding_errors_are_rate_limited(harness):
    claim_care_of(harness)  # only bound sources are answered
    sent = []
    for _ in range(15):
        sent += send(harness, frames.unknown_type(CARE_OF))
    assert len(sent) == 10


def test_deregistration_from_a_visited_link(harness):
    only_ack(send(harness, bu(harness, 7)))
    harness.now += 1
    _, _, ba = only_ack(send(harness, bu(harness, 8, lifetime=0)))
    assert (ba[MIP6MH_BA].status, ba[MIP6MH_BA].mhtime, ba[IPv6].dst) == (0, 0, CARE_OF)
    assert IPv6ExtHdrRouting in ba and binding(harness) is None


def test_deregistration_from_home(harness):
    only_ack(send(harness, bu(harness, 7)))
    harness.now += 1
    frame = bu(harness, 8, care_of=frames.MN1_HOME, lifetime=0, hao=False)
    dpid, ports, ba = only_ack(send(harness, frame, at=(1, 1)))
    assert (dpid, ports, ba[IPv6].dst, ba[MIP6MH_BA].status) == (1, [1], frames.MN1_HOME, 0)
    assert IPv6ExtHdrRouting not in ba and binding(harness) is None


@pytest.mark.parametrize("change", [{"care_of": "fe80::5"}, {"home": "ff02::1"},
                                    {"alternate_care_of": "ff05::2"}])
def test_addresses_that_are_not_unicast_routable_are_ignored(harness, change):
    assert send(harness, bu(harness, 7, **change)) == []
    assert len(harness.router.home_agent.cache) == 0


def test_home_address_option_without_a_binding_gets_binding_error_1(harness):
    claim_care_of(harness)
    frame = Ether(src=frames.MN1_MAC, dst=ROUTER_MAC) / IPv6(src=CARE_OF, dst=frames.HOME_AGENT) / \
        IPv6ExtHdrDestOpt(options=[HAO(hoa=frames.MN1_HOME)]) / ICMPv6EchoRequest()
    [(dpid, ports, be)] = send(harness, frame)
    assert (dpid, ports, be[IPv6].dst) == (2, [1], CARE_OF)
    assert (be[MIP6MH_BE].status, be[MIP6MH_BE].ha) == (1, frames.MN1_HOME)


def test_unknown_mobility_header_type_gets_binding_error_2(harness):
    claim_care_of(harness)  # only bound sources are answered
    [(_, _, be)] = send(harness, frames.unknown_type(CARE_OF))
    assert be[MIP6MH_BE].status == 2 and be[IPv6].dst == CARE_OF


def test_bad_payload_proto_gets_parameter_problem_pointing_at_it(harness):
    claim_care_of(harness)  # only bound sources are answered
    [(_, _, problem)] = send(harness, frames.bad_payload_proto(CARE_OF, 7))
    assert (problem[ICMPv6ParamProblem].code, problem[ICMPv6ParamProblem].ptr) == (0, 40)
    assert binding(harness) is None


def test_too_short_header_len_gets_parameter_problem_pointing_at_it(harness):
    claim_care_of(harness)  # only bound sources are answered
    [(_, _, problem)] = send(harness, frames.short_binding_update(CARE_OF))
    assert problem[ICMPv6ParamProblem].ptr == 41


def test_bad_checksum_is_silently_discarded(harness):
    frame = Ether(bu(harness, 7))
    frame[MIP6MH_BU].cksum ^= 0x0101
    assert send(harness, frame) == [] and binding(harness) is None


def test_binding_expires_at_its_lifetime(harness):
    only_ack(send(harness, bu(harness, 7)))
    harness.run(harness.router.tick(harness.now + 419))
    assert binding(harness) is not None
    harness.run(harness.router.tick(harness.now + 420))
    assert binding(harness) is None


def solicitation(target, src="2001:db8:1::10", mac="00:00:00:00:00:10"):
    return Ether(src=mac, dst="33:33:ff:00:01:00") / IPv6(src=src, dst="ff02::1:ff00:100",
                                                        hlim=255) / ICMPv6ND_NS(tgt=target) / \
        ICMPv6NDOptSrcLLAddr(lladdr=mac)


def test_home_agent_answers_solicitations_for_the_away_home_address(harness):
    harness.learn("hh1")  # the solicitor, its source bound
    only_ack(send(harness, bu(harness, 7)))
    [(dpid, ports, na)] = send(harness, solicitation(frames.MN1_HOME), at=(1, 2))
    assert (dpid, ports) == (1, [2])
    assert (na[ICMPv6ND_NA].tgt, na[ICMPv6ND_NA].R, na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O) == (
        frames.MN1_HOME, 0, 1, 0)  # RFC 4861 §7.2.4: a proxy leaves Override clear
    assert na[ICMPv6NDOptDstLLAddr].lladdr == ROUTER_MAC


def test_home_agent_defends_the_away_home_address_against_dad(harness):
    only_ack(send(harness, bu(harness, 7)))
    dad = Ether(src="00:00:00:00:00:10", dst="33:33:ff:00:01:00") / IPv6(
        src="::", dst="ff02::1:ff00:100", hlim=255) / ICMPv6ND_NS(tgt=frames.MN1_HOME)
    [(_, _, na)] = send(harness, dad, at=(1, 2))
    assert na[IPv6].dst == "ff02::1" and na[ICMPv6ND_NA].tgt == frames.MN1_HOME


def test_proxy_stops_when_the_binding_is_deleted(harness):
    only_ack(send(harness, bu(harness, 7)))
    harness.now += 1
    only_ack(send(harness, bu(harness, 8, lifetime=0)))
    sent = send(harness, solicitation(frames.MN1_HOME), at=(1, 2))
    assert [ICMPv6ND_NS in f for _, _, f in sent] == [True]  # relayed, not answered


def test_link_local_address_is_announced_and_defended_with_the_l_bit(harness):
    harness.learn("hh1")  # the solicitor, its link-local source bound
    sent = send(harness, bu(harness, 7, flags="AHL"))
    assert sorted(f[ICMPv6ND_NA].tgt for _, _, f in sent if ICMPv6ND_NA in f) == [
        frames.MN1_HOME, "fe80::100"]
    [(_, _, na)] = send(harness, solicitation("fe80::100", src=link_local("hh1")), at=(1, 2))
    assert na[ICMPv6ND_NA].tgt == "fe80::100"


def test_dhaad_request_gets_the_home_agents_of_the_prefix(harness):
    claim_care_of(harness)
    request = Ether(src=frames.MN1_MAC, dst=ROUTER_MAC) / IPv6(
        src=CARE_OF, dst="2001:db8:1::fdff:ffff:ffff:fffe") / ICMPv6HAADRequest(id=77)
    [(dpid, ports, reply)] = send(harness, request)
    assert (dpid, ports, reply[IPv6].dst, reply[IPv6].src) == (2, [1], CARE_OF,
                                                              frames.HOME_AGENT)
    assert (reply[ICMPv6HAADReply].id, reply[ICMPv6HAADReply].addresses) == (
        77, [frames.HOME_AGENT])


def test_mobile_prefix_solicitation_gets_an_advertisement_via_the_care_of_address(harness):
    only_ack(send(harness, bu(harness, 7)))
    solicit = Ether(src=frames.MN1_MAC, dst=ROUTER_MAC) / IPv6(
        src=CARE_OF, dst=frames.HOME_AGENT) / IPv6ExtHdrDestOpt(
        options=[HAO(hoa=frames.MN1_HOME)]) / ICMPv6MPSol(id=5)
    [(_, _, advert)] = send(harness, solicit)
    assert advert[IPv6].dst == CARE_OF and advert[IPv6ExtHdrRouting].addresses == [
        frames.MN1_HOME]
    assert advert[ICMPv6MPAdv].id == 5
    assert advert[ICMPv6NDOptPrefixInfo].prefix == "2001:db8:1::"


def test_keys_never_reach_the_logs(harness, caplog):
    caplog.set_level(logging.DEBUG)
    send(harness, bu(harness, 7))
    send(harness, bu(harness, 7, key=bytes(20)))
    text = caplog.text + repr(CONFIG)
    assert frames.MN1_KEY.hex() not in text and repr(frames.MN1_KEY) not in text
