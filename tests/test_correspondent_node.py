"""The correspondent node (RFC 6275 §5.2, §9), one test per rule, through the router's
packet-in.

Mobile-node signalling is built with Scapy and the tokens, Kbm and authenticators are
computed here from the RFC's formulas (tests/mipv6_frames.py), so a mistake in
mipv6_sdn cannot hide in both places. Answers are decoded with Scapy.
"""
import hashlib
import hmac
import ipaddress

import pytest
from scapy.layers.inet6 import (ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, ICMPv6ParamProblem, IPv6, IPv6ExtHdrRouting, MIP6MH_BA,
                                MIP6MH_BE, MIP6MH_BRR, MIP6MH_CoT, MIP6MH_HoT, MIP6MH_HoTI,
                                MIP6OptBindingAuthData)
from scapy.layers.l2 import Ether

from mipv6_sdn import correspondent_node
from mipv6_sdn.config import parse_config
from mipv6_sdn.journal import SqliteBindingStore
from mipv6_sdn.router import Router
from mipv6_sdn.testing.core_harness import (CONFIG, Harness, duplicate_address_detection,
                                             neighbour_solicit)
from tests import mipv6_frames as frames
from tests.decoders import tshark_fields

CN1 = "2001:db8:c::10"
HH1 = "2001:db8:1::10"
HOME = frames.MN1_HOME
CARE_OF = {"visit-a": "2001:db8:a:0:200:ff:fe00:100", "visit-b": "2001:db8:b:0:200:ff:fe00:100"}
PORT = {"home": (1, 1), "visit-a": (2, 5), "visit-b": (3, 5)}
ATTACKER = (3, 1)  # vb1's port on visit-b
VB1_MAC = "00:00:00:00:0b:10"
HOME_COOKIE, CAREOF_COOKIE = b"homecook", b"careofck"


def configured(**route_optimisation):
    """The reference configuration with ``[route_optimisation]`` keys replaced."""
    data = {"link": [{"name": l.name, "dpid": l.dpid, "prefix": str(l.prefix),
                      **({"home_agent": str(l.home_agent)} if l.home_agent else {})}
                     for l in CONFIG.links],
            "mobile_node": [{"home_address": HOME, "spi": frames.MN1_SPI,
                             "key": frames.MN1_KEY.hex()}],
            "route_optimisation": {"correspondents": ["2001:db8:c::/64"],
                                   **route_optimisation}}
    return parse_config(data)


def attach(harness, link):
    """mn1's port on ``link`` comes up; the harness may now deliver frames there."""
    dpid, port = PORT[link]
    harness.run(harness.router.port_up(harness.now, dpid, port))
    harness.net.hosts[f"mn1@{link}"] = (dpid, port)
    harness.net.host_at[(dpid, port)] = f"mn1@{link}"


@pytest.fixture
def harness():
    harness = Harness()
    for link in ("visit-a", "visit-b"):
        attach(harness, link)
    harness.learn("cn1", "hh1", "vb1")
    return harness


def send(harness, frame, at):
    dpid, port = PORT.get(at, at) if isinstance(at, str) else at
    return harness.run(harness.router.packet_in(harness.now, dpid, port, bytes(frame)))


def arrive(harness, link, care_of=None):
    """mn1 forms its care-of address on ``link``: duplicate address detection claims it
    (source address validation binds it to mn1's port and MAC), then mn1 solicits a
    neighbour from it, and the controller learns the address."""
    care_of = care_of or CARE_OF[link]
    send(harness, duplicate_address_detection("mn1", care_of), link)
    send(harness, neighbour_solicit("mn1", "2001:db8::1", src=care_of), link)


def register_home(harness, link, seq):
    harness.now += 1
    arrive(harness, link)
    send(harness, frames.binding_update(care_of=CARE_OF[link], seq=seq,
                                        timestamp=frames.ntp(harness.now)), link)


def nonce_and_kcn(harness, index):
    nonce = harness.router.correspondents.return_routability.nonces[index]
    # Each correspondent's Kcn is HMAC_SHA1(Kcn, its address) (docs/architecture.md).
    kcn = hmac.new(nonce.kcn, ipaddress.IPv6Address(CN1).packed, hashlib.sha1).digest()
    return nonce.value, kcn


def only(sent, layer):
    found = [(dpid, ports, frame) for dpid, ports, frame in sent if layer in frame]
    assert len(found) == 1, sent
    return found[0]


def home_test(harness, at, src=HOME, correspondent=CN1, mac=frames.MN1_MAC):
    sent = send(harness, frames.test_init("home", src=src, correspondent=correspondent,
                                          cookie=HOME_COOKIE, mac=mac), at)
    return [s for s in sent if MIP6MH_HoT in s[2]]


def care_of_test(harness, link, correspondent=CN1, care_of=None):
    arrive(harness, link)
    sent = send(harness, frames.test_init("careof", src=care_of or CARE_OF[link],
                                          correspondent=correspondent,
                                          cookie=CAREOF_COOKIE), link)
    return only(sent, MIP6MH_CoT)


def tokens(harness, link, correspondent=CN1):
    """Return routability from ``link``: (home index, home token, care-of index,
    care-of token), as the mobile node reads them (registered at home first)."""
    if harness.router.home_agent.cache.get(ipaddress.IPv6Address(HOME)) is None:
        register_home(harness, link, 1)
    [(_, _, hot)] = home_test(harness, link, correspondent=correspondent)
    _, _, cot = care_of_test(harness, link, correspondent)
    return (hot[MIP6MH_HoT].index, hot[MIP6MH_HoT].token,
            cot[MIP6MH_CoT].index, cot[MIP6MH_CoT].token)


def correspondent_bu(harness, link, seq, rr, correspondent=CN1, **kwargs):
    home_index, home_token, careof_index, careof_token = rr
    kwargs.setdefault("key", frames.kbm(home_token, careof_token))
    return send(harness, frames.correspondent_binding_update(
        care_of=CARE_OF[link], correspondent=correspondent, seq=seq, home_index=home_index,
        careof_index=careof_index, **kwargs), link)


def cn_binding(harness):
    return harness.router.correspondents.binding(ipaddress.IPv6Address(CN1),
                                                 ipaddress.IPv6Address(HOME))


def check_authorization(ba, rr, care_of):
    """The BA's Binding Authorization Data, checked with our own HMAC (§6.2.7)."""
    key = frames.kbm(rr[1], rr[3])
    raw = bytearray(bytes(ba[MIP6MH_BA]))
    raw[4:6] = b"\0\0"
    expected = frames.rfc4285_authenticator(key, care_of, CN1, bytes(raw[:-12]))
    option = ba[MIP6OptBindingAuthData]
    return (option.olen, option.authenticator.to_bytes(12, "big")) == (12, expected)


# ---------------------------------------------------------------------- return routability


def test_home_test_carries_the_rfc_home_keygen_token_to_the_away_home_address(harness):
    register_home(harness, "visit-a", 1)
    [(dpid, ports, hot)] = home_test(harness, "visit-a")
    assert (dpid, ports) == (2, [5])  # where the home binding delivers
    assert (hot[IPv6].src, hot[IPv6].dst) == (CN1, HOME)
    assert IPv6ExtHdrRouting not in hot
    message = hot[MIP6MH_HoT]
    assert message.cookie == HOME_COOKIE
    nonce, kcn = nonce_and_kcn(harness, message.index)
    assert message.token == frames.keygen_token(kcn, HOME, nonce, 0)


def test_care_of_test_carries_the_care_of_token_to_the_care_of_address(harness):
    dpid, ports, cot = care_of_test(harness, "visit-a")
    assert (dpid, ports, cot[IPv6].dst) == (2, [5], CARE_OF["visit-a"])
    message = cot[MIP6MH_CoT]
    assert message.cookie == CAREOF_COOKIE
    nonce, kcn = nonce_and_kcn(harness, message.index)
    assert message.token == frames.keygen_token(
        kcn, CARE_OF["visit-a"], nonce, 1)


def test_a_spoofed_home_test_init_gets_no_home_token(harness):
    """An attacker on visit-b claims mn1's home address: source address validation
    drops its Home Test Init, so no Home Test goes anywhere."""
    register_home(harness, "visit-a", 1)
    harness.learn("vb1")
    assert home_test(harness, ATTACKER, src=HOME) == []
    # Control: the attacker's own address is answered on the attacker's port, so a
    # Home Test for the spoofed address sent by ingress port would have been seen there.
    [(dpid, ports, own)] = home_test(harness, ATTACKER, src="2001:db8:b::10",
                                     mac=VB1_MAC)
    assert (dpid, ports, own[IPv6].dst) == (3, [1], "2001:db8:b::10")


def test_a_spoofed_home_test_init_for_a_node_at_home_gets_no_home_token(harness):
    harness.learn("mn1", "vb1")
    assert home_test(harness, ATTACKER, src=HOME) == []
    [(dpid, ports, _)] = home_test(harness, ATTACKER, src="2001:db8:b::10", mac=VB1_MAC)
    assert (dpid, ports) == (3, [1])  # control


def test_a_test_init_with_a_home_address_option_is_dropped(harness):
    frame = frames.test_init("home", src=CARE_OF["visit-a"], correspondent=CN1,
                             cookie=HOME_COOKIE, home_address_option=HOME)
    register_home(harness, "visit-a", 1)
    assert send(harness, frame, "visit-a") == []
    assert home_test(harness, "visit-a", src=HOME) != []  # control: without it, answered


def test_return_routability_state_survives_a_restart(harness, tmp_path):
    store = SqliteBindingStore(str(tmp_path / "journal.sqlite"))
    first = Harness(router=Router(CONFIG, store=store))
    attach(first, "visit-a")
    first.learn("cn1")
    register_home(first, "visit-a", 1)
    rr = tokens(first, "visit-a")
    used = set(first.router.correspondents.return_routability.nonces)
    # As the controller starts: the store is read before any switch connects, so the
    # restored source address bindings teach the host table as the ports come up.
    router = Router(CONFIG, store=store)
    router.restore(first.now + 60)
    second = Harness(router=router, now=first.now + 60)
    attach(second, "visit-a")
    arrive(second, "visit-a")
    second.learn("cn1")
    [ba] = [s for s in correspondent_bu(second, "visit-a", 1, rr) if MIP6MH_BA in s[2]]
    assert ba[2][MIP6MH_BA].status == 0  # the old indices are still recognised
    assert second.router.correspondents.return_routability.next_index == \
        first.router.correspondents.return_routability.next_index
    second.now += 31
    [(_, _, hot)] = home_test(second, "visit-a")
    assert hot[MIP6MH_HoT].index not in used  # and new ones never collide with them


def test_kcn_is_regenerated_and_old_nonces_expire(harness):
    rr = harness.router.correspondents.return_routability
    first = rr.current(harness.now)
    harness.now += 31
    second = rr.current(harness.now)
    assert second.index != first.index and second.value != first.value
    harness.now += 240
    later = rr.current(harness.now)
    assert later.kcn != first.kcn
    assert rr.recognised(harness.now, first.index) is None
    assert rr.recognised(harness.now, later.index) is later


# ---------------------------------------------------------------------- Binding Updates


def test_an_authorized_binding_update_is_accepted_and_acknowledged(harness):
    register_home(harness, "visit-a", 1)
    rr = tokens(harness, "visit-a")
    dpid, ports, ba = only(correspondent_bu(harness, "visit-a", 5, rr), MIP6MH_BA)
    assert (dpid, ports) == (2, [5])
    assert (ba[IPv6].src, ba[IPv6].dst) == (CN1, CARE_OF["visit-a"])
    assert ba[IPv6ExtHdrRouting].addresses == [HOME]
    assert (ba[MIP6MH_BA].status, ba[MIP6MH_BA].seq, ba[MIP6MH_BA].mhtime) == (0, 5, 105)
    assert check_authorization(ba, rr, CARE_OF["visit-a"])
    entry = cn_binding(harness)
    assert (str(entry.care_of_address), entry.sequence, entry.home_registration) == (
        CARE_OF["visit-a"], 5, False)


def test_the_lifetime_is_capped_at_max_rr_binding_lifetime(harness):
    rr = tokens(harness, "visit-a")
    _, _, ba = only(correspondent_bu(harness, "visit-a", 1, rr, lifetime=2000), MIP6MH_BA)
    assert ba[MIP6MH_BA].mhtime * 4 == 420 == cn_binding(harness).lifetime


def test_without_the_a_bit_no_acknowledgement_is_sent(harness):
    rr = tokens(harness, "visit-a")
    assert correspondent_bu(harness, "visit-a", 1, rr, flags="") == []
    assert cn_binding(harness) is not None


@pytest.mark.parametrize("change", ["wrong key", "no nonce indices", "home token of another"])
def test_an_unauthorized_binding_update_is_dropped_silently(harness, change):
    rr = tokens(harness, "visit-a")
    kwargs = {"wrong key": {"key": b"k" * 20}, "no nonce indices": {"nonce_indices": False},
              "home token of another": {"key": frames.kbm(b"\x01" * 8, rr[3])}}[change]
    assert correspondent_bu(harness, "visit-a", 1, rr, **kwargs) == []
    assert cn_binding(harness) is None
    # Control: the same update, authorized, is accepted.
    only(correspondent_bu(harness, "visit-a", 1, rr), MIP6MH_BA)


def test_an_old_sequence_number_gets_135_with_the_last_accepted(harness):
    rr = tokens(harness, "visit-a")
    only(correspondent_bu(harness, "visit-a", 10, rr), MIP6MH_BA)
    _, _, ba = only(correspondent_bu(harness, "visit-a", 10, rr), MIP6MH_BA)
    assert (ba[MIP6MH_BA].status, ba[MIP6MH_BA].seq) == (135, 10)
    assert check_authorization(ba, rr, CARE_OF["visit-a"])
    assert cn_binding(harness).sequence == 10


@pytest.mark.parametrize("expired,status", [("home", 136), ("careof", 137), ("both", 138)])
def test_expired_nonce_indices_get_136_137_138_without_authorization(harness, expired,
                                                                      status):
    rr = tokens(harness, "visit-a")
    harness.now += 241  # MAX_NONCE_LIFETIME has passed for the first nonce
    fresh = tokens(harness, "visit-a")
    home = rr[:2] if expired in ("home", "both") else fresh[:2]
    careof = rr[2:] if expired in ("careof", "both") else fresh[2:]
    _, _, ba = only(correspondent_bu(harness, "visit-a", 1, home + careof), MIP6MH_BA)
    assert ba[MIP6MH_BA].status == status
    assert MIP6OptBindingAuthData not in ba
    assert cn_binding(harness) is None
    only(correspondent_bu(harness, "visit-a", 1, fresh), MIP6MH_BA)  # control


def test_a_home_registration_at_a_correspondent_gets_131(harness):
    rr = tokens(harness, "visit-a")
    _, _, ba = only(correspondent_bu(harness, "visit-a", 1, rr, flags="AH"), MIP6MH_BA)
    assert ba[MIP6MH_BA].status == 131 and cn_binding(harness) is None


def test_a_binding_update_without_a_bit_still_gets_an_error_status(harness):
    rr = tokens(harness, "visit-a")
    harness.now += 241
    _, _, ba = only(correspondent_bu(harness, "visit-a", 1, rr, flags=""), MIP6MH_BA)
    assert ba[MIP6MH_BA].status == 138


def test_deregistration_from_the_care_of_address_uses_the_home_token_alone(harness):
    """§5.2.5: deleting a binding needs no care-of keygen token, and §9.5.1 ignores the
    care-of nonce index then: Kbm = SHA1(home keygen token)."""
    rr = tokens(harness, "visit-a")
    only(correspondent_bu(harness, "visit-a", 1, rr), MIP6MH_BA)
    both = frames.kbm(rr[1], rr[3])
    assert correspondent_bu(harness, "visit-a", 2, rr, lifetime=0, key=both) == []
    assert cn_binding(harness) is not None  # control: signed with both tokens, refused
    unknown_careof_index = (rr[0], rr[1], rr[2] ^ 0x5555, rr[3])
    _, _, ba = only(correspondent_bu(harness, "visit-a", 2, unknown_careof_index,
                                     lifetime=0, key=frames.kbm(rr[1])), MIP6MH_BA)
    assert ba[MIP6MH_BA].status == 0 and cn_binding(harness) is None


def test_deregistration_from_home_uses_the_home_token_alone(harness):
    register_home(harness, "visit-a", 1)
    rr = tokens(harness, "visit-a")
    only(correspondent_bu(harness, "visit-a", 1, rr), MIP6MH_BA)
    harness.now += 1
    send(harness, frames.binding_update(care_of=HOME, seq=2, lifetime=0,  # back home
                                        timestamp=frames.ntp(harness.now)), "home")
    harness.learn("mn1")
    [(_, _, hot)] = home_test(harness, "home")
    index, token = hot[MIP6MH_HoT].index, hot[MIP6MH_HoT].token
    sent = send(harness, frames.correspondent_binding_update(
        care_of=HOME, correspondent=CN1, seq=2, home_index=index, careof_index=index,
        key=frames.kbm(token), lifetime=0), "home")
    dpid, ports, ba = only(sent, MIP6MH_BA)
    assert (dpid, ports, ba[IPv6].dst, ba[MIP6MH_BA].status) == (1, [1], HOME, 0)
    assert IPv6ExtHdrRouting not in ba
    assert cn_binding(harness) is None


def test_binding_updates_are_capped_in_number(harness):
    small = Harness(config=configured(max_bindings=1))
    attach(small, "visit-a")
    small.learn("cn1")
    rr = tokens(small, "visit-a")
    only(correspondent_bu(small, "visit-a", 1, rr), MIP6MH_BA)
    other = frames.correspondent_binding_update(
        care_of=CARE_OF["visit-a"], correspondent=CN1, seq=1, home_index=rr[0],
        careof_index=rr[2], home="2001:db8:1::200", key=b"x" * 20)
    assert send(small, other, "visit-a") == []  # unauthorized: silent, not 130
    home_index = rr[0]
    nonce = small.router.correspondents.return_routability.nonces[home_index]
    kcn = hmac.new(nonce.kcn, ipaddress.IPv6Address(CN1).packed, hashlib.sha1).digest()
    home_token = frames.keygen_token(kcn, "2001:db8:1::200", nonce.value, 0)
    sent = send(small, frames.correspondent_binding_update(
        care_of=CARE_OF["visit-a"], correspondent=CN1, seq=1, home_index=home_index,
        careof_index=rr[2], home="2001:db8:1::200", key=frames.kbm(home_token, rr[3])),
        "visit-a")
    assert only(sent, MIP6MH_BA)[2][MIP6MH_BA].status == 130


# ---------------------------------------------------------------------- other messages


def test_an_unknown_mobility_header_type_to_a_correspondent_gets_binding_error_2(harness):
    arrive(harness, "visit-a")
    _, _, be = only(send(harness, frames.unknown_type(CARE_OF["visit-a"], ha=CN1),
                         "visit-a"), MIP6MH_BE)
    assert (be[IPv6].src, be[IPv6].dst, be[MIP6MH_BE].status) == (CN1, CARE_OF["visit-a"], 2)


def test_a_malformed_mobility_header_to_a_correspondent_gets_parameter_problem(harness):
    arrive(harness, "visit-a")
    _, _, error = only(send(harness, frames.short_binding_update(CARE_OF["visit-a"], ha=CN1),
                            "visit-a"), ICMPv6ParamProblem)
    assert (error[IPv6].src, error[ICMPv6ParamProblem].ptr) == (CN1, 41)


def test_a_home_address_option_without_a_binding_gets_binding_error_1(harness):
    arrive(harness, "visit-a")
    packet = Ether(src=frames.MN1_MAC, dst=frames.ROUTER_MAC) / IPv6(
        src=CARE_OF["visit-a"], dst=CN1) / frames.IPv6ExtHdrDestOpt(
        options=[frames.HAO(hoa=HOME)]) / MIP6MH_BRR()
    _, _, be = only(send(harness, packet, "visit-a"), MIP6MH_BE)
    assert (be[MIP6MH_BE].status, be[MIP6MH_BE].ha) == (1, HOME)
    # Control: with a binding for that care-of address, no error.
    rr = tokens(harness, "visit-a")
    only(correspondent_bu(harness, "visit-a", 1, rr), MIP6MH_BA)
    assert send(harness, packet, "visit-a") == []


# ---------------------------------------------------------------------- refresh requests


def test_a_binding_in_use_is_asked_to_refresh_before_it_expires(harness):
    register_home(harness, "visit-a", 1)
    rr = tokens(harness, "visit-a")
    only(correspondent_bu(harness, "visit-a", 1, rr), MIP6MH_BA)
    harness.now += 420 - 40  # 10% of the lifetime left
    sent = harness.run(harness.router.tick(harness.now))
    dpid, ports, brr = only([s for s in sent if s[2][IPv6].src == CN1], MIP6MH_BRR)
    assert (dpid, ports, brr[IPv6].dst, brr[IPv6ExtHdrRouting].addresses) == (
        2, [5], CARE_OF["visit-a"], [HOME])
    assert [s for s in harness.run(harness.router.tick(harness.now + 1))
            if MIP6MH_BRR in s[2] and s[2][IPv6].src == CN1] == []  # asked once


def test_a_binding_not_in_use_is_not_asked_to_refresh(harness):
    register_home(harness, "visit-a", 1)
    rr = tokens(harness, "visit-a")
    only(correspondent_bu(harness, "visit-a", 1, rr), MIP6MH_BA)
    register_home(harness, "visit-b", 2)  # the home binding moved: no direct path
    harness.now += 420 - 40
    sent = harness.run(harness.router.tick(harness.now))
    assert [s for s in sent if MIP6MH_BRR in s[2] and s[2][IPv6].src == CN1] == []


def test_the_home_agent_asks_for_a_refresh_the_mobile_node_did_not_send(harness):
    register_home(harness, "visit-a", 1)
    harness.now += 420 - 40
    sent = harness.run(harness.router.tick(harness.now))
    dpid, ports, brr = only(sent, MIP6MH_BRR)
    assert (dpid, ports, brr[IPv6].src, brr[IPv6].dst) == (
        2, [5], frames.HOME_AGENT, CARE_OF["visit-a"])


# ---------------------------------------------------------------------- who is answered


def test_a_correspondent_outside_the_configured_prefixes_gets_the_message_itself(harness):
    arrive(harness, "visit-a")  # its source is mn1's, bound at its port
    sent = send(harness, frames.test_init("home", src=CARE_OF["visit-a"], correspondent=HH1,
                                          cookie=HOME_COOKIE), "visit-a")
    [(dpid, ports, frame)] = sent
    assert (dpid, ports, frame[IPv6].dst, frame[IPv6].hlim) == (1, [2], HH1, 63)
    assert MIP6MH_HoTI in frame and MIP6MH_HoT not in frame


def test_in_mode_off_mobility_messages_to_correspondents_are_forwarded(harness):
    off = Harness(config=configured(mode="off"))
    attach(off, "visit-a")
    off.learn("cn1")
    register_home(off, "visit-a", 1)  # the home address is valid at mn1's care-of port
    [(dpid, ports, frame)] = send(off, frames.test_init(
        "home", src=HOME, correspondent=CN1, cookie=HOME_COOKIE), "visit-a")
    assert (dpid, ports, frame[IPv6].dst, frame[IPv6].hlim) == (4, [1], CN1, 63)
    assert MIP6MH_HoTI in frame and MIP6MH_HoT not in frame


def test_the_answers_decode_in_tshark(harness, tmp_path):
    """HoT, CoT, and a BA with Binding Authorization Data, as tshark's mobility dissector
    reads them (it names the care-of token field mip6.hot.token too)."""
    register_home(harness, "visit-a", 1)
    [(_, _, hot)] = home_test(harness, "visit-a")
    _, _, cot = care_of_test(harness, "visit-a")
    rr = (hot[MIP6MH_HoT].index, hot[MIP6MH_HoT].token, cot[MIP6MH_CoT].index,
          cot[MIP6MH_CoT].token)
    _, _, ba = only(correspondent_bu(harness, "visit-a", 5, rr), MIP6MH_BA)
    decoded, warnings = tshark_fields([hot, cot, ba], tmp_path)
    assert warnings == []
    hot_fields, cot_fields, ba_fields = decoded
    assert (hot_fields["mip6.mhtype"], hot_fields["mip6.hot.nindex"],
            hot_fields["mip6.hot.cookie"], hot_fields["mip6.hot.token"]) == (
        ["3"], [str(rr[0])], ["0x" + HOME_COOKIE.hex()], ["0x" + rr[1].hex()])
    assert (cot_fields["mip6.mhtype"], cot_fields["mip6.cot.nindex"],
            cot_fields["mip6.cot.cookie"], cot_fields["mip6.hot.token"]) == (
        ["4"], [str(rr[2])], ["0x" + CAREOF_COOKIE.hex()], ["0x" + rr[3].hex()])
    assert (ba_fields["mip6.ba.status"], ba_fields["mip6.ba.seqnr"]) == (["0"], ["5"])
    assert ba_fields["mip6.bad.auth"] == [
        ba[MIP6OptBindingAuthData].authenticator.to_bytes(12, "big").hex(":")]
    assert ba_fields["mip6.mobility_opt.len"][-1] == "12"


# ---------------------------------------------------------------------- bounds


CN2, CN2_MAC = "2001:db8:c::11", "00:00:00:00:0c:11"


def learn_cn2(harness):
    """cn2 comes up on the corr link: DAD for its address (source address validation
    binds it), then a neighbour solicitation."""
    solicited = "ff02::1:ff00:11"
    harness.run(harness.router.packet_in(harness.now, 4, 1, bytes(
        Ether(src=CN2_MAC, dst="33:33:ff:00:00:11") / IPv6(
            src="::", dst=solicited, hlim=255) / ICMPv6ND_NS(tgt=CN2))))
    harness.run(harness.router.packet_in(harness.now, 4, 1, bytes(
        Ether(src=CN2_MAC, dst="33:33:ff:00:00:01") / IPv6(
            src=CN2, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="2001:db8:c::1") /
        ICMPv6NDOptSrcLLAddr(lladdr=CN2_MAC))))


def test_only_learned_hosts_are_answered_for(harness):
    """A Home Test Init to an address of the correspondent prefix that is not known is
    not answered, nor passed on to it: the controller solicits the address, so a real
    host is known by the mobile node's retransmission and a made-up one never is (no
    bindings and rules for spoofed correspondents)."""
    register_home(harness, "visit-a", 1)
    sent = send(harness, frames.test_init("home", src=HOME, correspondent=CN2,
                                          cookie=HOME_COOKIE), "visit-a")
    [(dpid, ports, solicitation)] = sent
    assert (dpid, solicitation[ICMPv6ND_NS].tgt) == (4, CN2)
    learn_cn2(harness)
    assert home_test(harness, "visit-a", correspondent=CN2) != []  # control: once learned


def test_bindings_per_home_address_are_capped(harness, monkeypatch):
    monkeypatch.setattr(correspondent_node, "MAX_CORRESPONDENTS_PER_HOME", 1)
    learn_cn2(harness)
    only(correspondent_bu(harness, "visit-a", 1, tokens(harness, "visit-a")), MIP6MH_BA)
    rr = tokens(harness, "visit-a", correspondent=CN2)
    _, _, ba = only(correspondent_bu(harness, "visit-a", 1, rr, correspondent=CN2),
                    MIP6MH_BA)
    assert ba[MIP6MH_BA].status == 130


def test_a_cache_left_without_bindings_is_dropped(harness):
    rr = tokens(harness, "visit-a")
    only(correspondent_bu(harness, "visit-a", 1, rr), MIP6MH_BA)
    assert list(harness.router.correspondents.caches) == [ipaddress.IPv6Address(CN1)]
    only(correspondent_bu(harness, "visit-a", 2, rr, lifetime=0, key=frames.kbm(rr[1])),
         MIP6MH_BA)
    correspondents = harness.router.correspondents
    assert (correspondents.caches, correspondents.by_home, correspondents.count) == ({}, {}, 0)
    # A deregistration with nothing to delete is accepted and makes no cache either.
    only(correspondent_bu(harness, "visit-a", 3, rr, lifetime=0, key=frames.kbm(rr[1])),
         MIP6MH_BA)
    assert correspondents.caches == {}


def test_answers_without_authorization_are_rate_limited(harness):
    """131 and 136-138 go to an address nobody vouched for: no more of them than of
    Binding Errors, so a spoofed source cannot aim a stream of them at a victim."""
    rr = tokens(harness, "visit-a")
    answered = sum(len(correspondent_bu(harness, "visit-a", 1, rr, flags="AH"))
                   for _ in range(50))
    assert 0 < answered <= 10  # the first are answered; then the bucket is empty
    harness.now += 5
    assert len(correspondent_bu(harness, "visit-a", 1, rr, flags="AH")) == 1


def test_an_alternate_care_of_address_is_the_one_tested_and_bound(harness):
    other = "2001:db8:a:0:200:ff:fe00:200"
    register_home(harness, "visit-a", 1)
    arrive(harness, "visit-a", care_of=other)
    [(_, _, hot)] = home_test(harness, "visit-a")
    _, _, cot = care_of_test(harness, "visit-a", care_of=other)
    _, _, cot_own = care_of_test(harness, "visit-a")
    home = (hot[MIP6MH_HoT].index, hot[MIP6MH_HoT].token)
    own = home + (cot_own[MIP6MH_CoT].index, cot_own[MIP6MH_CoT].token)
    assert correspondent_bu(harness, "visit-a", 1, own, alternate_care_of=other) == []
    alternate = home + (cot[MIP6MH_CoT].index, cot[MIP6MH_CoT].token)
    _, _, ba = only(correspondent_bu(harness, "visit-a", 1, alternate,
                                     alternate_care_of=other), MIP6MH_BA)
    assert ba[IPv6].dst == other and str(cn_binding(harness).care_of_address) == other


def test_a_restored_binding_of_a_link_no_longer_configured_does_not_stop_the_tick(tmp_path):
    """The store may hold a binding for a home address no home link serves any more
    (the configuration changed): the tick asks it for no refresh and goes on."""
    from mipv6_sdn.binding_cache import HOME_CACHE, Binding
    store = SqliteBindingStore(str(tmp_path / "journal.sqlite"))
    now = 1_800_000_000.0
    store.save(HOME_CACHE, Binding(ipaddress.IPv6Address("2001:db8:9::100"),
                                   ipaddress.IPv6Address(CARE_OF["visit-a"]), 1, 420,
                                   now + 420, True))
    router = Router(CONFIG, store=store)
    router.restore(now)
    assert len(router.home_agent.cache) == 1
    router.tick(now + 400)  # past the refresh request's time: no exception
    assert router.tick(now + 421) == [] and len(router.home_agent.cache) == 0
