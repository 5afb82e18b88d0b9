"""Route optimisation by the mobile node (RFC 6275 §5.2, §11.3.5, §11.6-§11.8): return
routability and correspondent registrations, against a tiny correspondent written here.

The correspondent makes its keygen tokens from a fixed Kcn and nonces
(mobility.keygen_token) and builds its Home Tests, Care-of Tests and Binding
Acknowledgements with Scapy; the binding management key and the Binding Authorization
Data of both directions are computed here from the RFC's formulas with hashlib and
hmac; what the node sends is decoded by Scapy.
"""
import hashlib
import hmac
import logging

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import (HAO, ICMPv6ParamProblem, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BE, MIP6MH_BRR, MIP6MH_BU,
                                MIP6MH_CoT, MIP6MH_CoTI, MIP6MH_HoT, MIP6MH_HoTI,
                                MIP6OptBindingAuthData, MIP6OptNonceIndices)
from scapy.layers.l2 import Ether
from scapy.utils import checksum

from mipv6_sdn import mobility
from mipv6_sdn.mn.actions import Log, Send, WatchCorrespondents
from mipv6_sdn.mn.correspondent_registration import (
    MAX_CORRESPONDENTS, NEW_CORRESPONDENT_BURST, NEW_CORRESPONDENT_RATE, SENT_KEPT, STOP_HOLD)
from mipv6_sdn.router import Router
from mipv6_sdn.testing.core_harness import duplicate_address_detection, neighbour_solicit
from tests.mipv6_frames import MN1_MAC, ROUTER_MAC
from tests.mn_helpers import (COA_A, COA_B, HA, HOA, HOME_PREFIX, VISIT_A, VISIT_B, A, Clock,
                              N, at_home, binding_ack, bus, make_node, move, of_type, ra,
                              registered, run_until, sent)
from tests.test_correspondent_node import configured
from tests.test_mobility_codec import rfc_checksum_ok

CN_PREFIX = N("2001:db8:c::/64")
CN = A("2001:db8:c::10")
KCN = bytes(range(100, 120))  # the correspondent's secret (RFC 6275 §5.2.1)
NONCES = {1: b"\x11" * 8, 2: b"\x22" * 8, 3: b"\x33" * 8}  # by nonce index
HOME, CAREOF = 0, 1  # RFC 6275 §5.2.5: the last octet hashed into each keygen token
A_FLAG, H_FLAG = 0x40, 0x20  # in Scapy's order of the BU flags
ETHER_IPV6 = 14 + 40


class Randomness:
    """Random octets a test can predict: the n-th call gives octets of value n."""

    def __init__(self):
        self.calls = 0

    def __call__(self, count):
        self.calls += 1
        return bytes([self.calls]) * count


# The node's draws: 1, the correspondent's first sequence number; 2 and 3, the cookies.
FIRST_CN_SEQ = 0x0101 + 1
HOME_COOKIE, CAREOF_COOKIE = b"\x02" * 8, b"\x03" * 8


def token(address, index, which):
    return mobility.keygen_token(KCN, A(address), NONCES[index], which)


def kbm(home_index, care_of=None, careof_index=None):
    """RFC 6275 §5.2.5: SHA1(home keygen token | care-of keygen token), or
    SHA1(home keygen token) for a deregistration from home."""
    tokens = token(HOA, home_index, HOME)
    if care_of is not None:
        tokens += token(care_of, careof_index, CAREOF)
    return hashlib.sha1(tokens).digest()


def authenticator(key, care_of, correspondent, mh):
    """RFC 6275 §5.2.6: First(96, HMAC_SHA1(Kbm, care-of address | correspondent | MH
    Data)), the MH with its checksum zero and without the authenticator (its last 12
    octets)."""
    data = A(care_of).packed + A(correspondent).packed + mh[:4] + b"\0\0" + mh[6:-12]
    return hmac.new(key, data, hashlib.sha1).digest()[:12]


def frame(packet):
    return bytes(Ether(src=ROUTER_MAC, dst=MN1_MAC) / packet)


class TinyCorrespondent:
    """A correspondent node (RFC 6275 §9.4, §9.5) cut to what the tests need."""

    def __init__(self, address=CN, home_index=1, careof_index=2):
        self.address = str(address)
        self.home_index, self.careof_index = home_index, careof_index

    def home_test(self, hoti, cookie=None):
        """§9.4.3: the HoT for ``hoti``, to the home address."""
        mh = MIP6MH_HoT(index=self.home_index, cookie=cookie or hoti[MIP6MH_HoTI].cookie,
                        token=token(hoti[IPv6].src, self.home_index, HOME))
        return frame(IPv6(src=self.address, dst=hoti[IPv6].src) / mh)

    def careof_test(self, coti, cookie=None, routing_header=False):
        """§9.4.4: the CoT for ``coti``, to the care-of address (or, wrongly, through a
        type 2 routing header with the home address)."""
        mh = MIP6MH_CoT(index=self.careof_index, cookie=cookie or coti[MIP6MH_CoTI].cookie,
                        token=token(coti[IPv6].src, self.careof_index, CAREOF))
        if routing_header:
            return frame(IPv6(src=self.address, dst=coti[IPv6].src) / IPv6ExtHdrRouting(
                type=2, addresses=[str(HOA)], segleft=1) / mh)
        return frame(IPv6(src=self.address, dst=coti[IPv6].src) / mh)

    def binding_ack(self, bu_frame, status=0, lifetime=420, seq=None, key=None,
                    authorize=True):
        """§9.5.4: the BA for ``bu_frame`` with Binding Authorization Data made with the
        Kbm of the BU's nonce indices (or ``key``): to the care-of address through a
        type 2 routing header, or to the home address for a deregistration from home."""
        care_of = bu_frame[IPv6].src
        home = bu_frame[HAO].hoa if HAO in bu_frame else care_of
        if key is None:
            nonces = bu_frame[MIP6OptNonceIndices]
            key = kbm(nonces.hni) if care_of == home else kbm(nonces.hni, care_of,
                                                               nonces.coni)
        # Scapy's Option Length defaults to 16 (a draft's authenticator); RFC 6275
        # §6.2.7 has 12 octets.
        options = [MIP6OptBindingAuthData(olen=12)] if authorize else []
        mh = MIP6MH_BA(status=status, flags=0, seq=bu_frame[MIP6MH_BU].seq if seq is None
                       else seq, mhtime=lifetime // 4, options=options)
        if authorize:
            raw = bytes(IPv6(src=self.address, dst=home) / mh)[40:]
            mh.options[-1].authenticator = int.from_bytes(
                authenticator(key, care_of, self.address, raw), "big")
        if care_of == home:
            return frame(IPv6(src=self.address, dst=home) / mh)
        return frame(IPv6(src=self.address, dst=care_of) / IPv6ExtHdrRouting(
            type=2, addresses=[home], segleft=1) / mh)

    def refresh_request(self, to_care_of=COA_A, home=HOA):
        """§9.5.5: a Binding Refresh Request, through the care-of address, or to the home
        address (``to_care_of`` None)."""
        if to_care_of is None:
            return frame(IPv6(src=self.address, dst=str(home)) / MIP6MH_BRR())
        return frame(IPv6(src=self.address, dst=str(to_care_of)) / IPv6ExtHdrRouting(
            type=2, addresses=[str(home)], segleft=1) / MIP6MH_BRR())

    def binding_error(self, status, to=COA_A, home=HOA):
        return frame(IPv6(src=self.address, dst=str(to)) / MIP6MH_BE(status=status,
                                                                     ha=str(home)))

    def parameter_problem(self, offending, code=1, pointer=6):
        """RFC 4443 §3.4 about ``offending`` (a frame the node sent), to its source."""
        return frame(IPv6(src=self.address, dst=offending[IPv6].src) / ICMPv6ParamProblem(
            code=code, ptr=pointer) / bytes(offending)[14:])


def ro_node(**kwargs):
    return make_node(route_optimise=(CN_PREFIX,), random_bytes=Randomness(), **kwargs)


def data_from(source=CN, destination=HOA):
    """A TCP segment from ``source``, as the correspondent's stream brings them."""
    return frame(IPv6(src=str(source), dst=str(destination)) / TCP(sport=5201, dport=40000)
                 / (b"x" * 100))


def of_layer(actions, layer):
    return [f for f in sent(actions) if layer in f]


def started(node, clock):
    """Registered with the home agent from visit-a, then the correspondent's first
    packet; (HoTI, CoTI)."""
    registered(node, clock)
    actions = node.frame_received(clock.now, data_from())
    [hoti], [coti] = of_layer(actions, MIP6MH_HoTI), of_layer(actions, MIP6MH_CoTI)
    return hoti, coti


def through_the_tests(node, clock, cn):
    """Through both tests; the Binding Update that follows."""
    hoti, coti = started(node, clock)
    assert of_layer(node.frame_received(clock.now, cn.home_test(hoti)), MIP6MH_BU) == []
    [bu] = bus(node.frame_received(clock.now, cn.careof_test(coti)))
    return bu


def bound(node, clock, cn, lifetime=420):
    """Through both tests to the correspondent's acknowledgement; the BU."""
    bu = through_the_tests(node, clock, cn)
    node.frame_received(clock.now, cn.binding_ack(bu, lifetime=lifetime))
    assert node.binding_update_list.get(CN) is not None
    return bu


def cn_entry(node):
    return node.binding_update_list.get(CN)


def mh_of(bu_frame):
    """The Mobility Header of a frame the node sent, after any Destination Options."""
    offset = ETHER_IPV6 + (len(bu_frame[IPv6ExtHdrDestOpt]) - len(
        bu_frame[IPv6ExtHdrDestOpt].payload) if IPv6ExtHdrDestOpt in bu_frame else 0)
    return bytes(bu_frame)[offset:]


def send_times(node, clock, end, layer):
    return [t for t, actions in run_until(node, clock, end) for _ in of_layer(actions, layer)]


def to_correspondent(ticks, start):
    """(seconds after ``start``, HoTI, CoTI or BU) of what went to the correspondent."""
    names = ((MIP6MH_HoTI, "HoTI"), (MIP6MH_CoTI, "CoTI"), (MIP6MH_BU, "BU"))
    return [(round(t - start, 3), next(name for layer, name in names if layer in f))
            for t, actions in ticks for f in sent(actions) if f[IPv6].dst == str(CN)]


def gaps(times):
    return [round(b - a, 3) for a, b in zip(times, times[1:])]


# ---------------------------------------------------------------------- which correspondents


def test_the_first_packet_from_a_correspondent_starts_both_tests():
    clock, node = Clock(), ro_node()
    hoti, coti = started(node, clock)
    assert hoti[Ether].dst == ROUTER_MAC and hoti[Ether].src == MN1_MAC
    assert coti[Ether].dst == ROUTER_MAC
    assert (hoti[IPv6].src, hoti[IPv6].dst) == (str(HOA), str(CN))  # RFC 6275 §11.6.1
    assert IPv6ExtHdrDestOpt not in hoti  # no Home Address option
    assert (coti[IPv6].src, coti[IPv6].dst) == (str(COA_A), str(CN))
    assert hoti[MIP6MH_HoTI].cookie == HOME_COOKIE
    assert coti[MIP6MH_CoTI].cookie == CAREOF_COOKIE
    assert rfc_checksum_ok(HOA, CN, 135, mh_of(hoti))
    assert rfc_checksum_ok(COA_A, CN, 135, mh_of(coti))


def test_the_header_the_correspondent_filter_passes_starts_the_tests_too():
    clock, node = Clock(), ro_node()
    registered(node, clock)
    actions = node.correspondent_seen(clock.now, CN, HOA)
    assert len(of_layer(actions, MIP6MH_HoTI)) == len(of_layer(actions, MIP6MH_CoTI)) == 1


def test_a_second_packet_from_the_same_correspondent_sends_nothing():
    clock, node = Clock(), ro_node()
    started(node, clock)
    assert sent(node.frame_received(clock.now, data_from())) == []


@pytest.mark.parametrize("source, destination", [
    (A("2001:db8:d::10"), HOA),  # outside the prefixes
    (CN, COA_A),  # not to the home address
], ids=["outside-the-prefixes", "to-the-care-of-address"])
def test_no_route_optimisation_with_other_packets(source, destination):
    clock, node = Clock(), ro_node()
    registered(node, clock)
    assert sent(node.frame_received(clock.now, data_from(source, destination))) == []
    assert node.correspondents.correspondents == {}


def test_no_route_optimisation_at_home_or_before_the_home_registration():
    clock, node = Clock(), ro_node()
    at_home(node, clock)
    assert sent(node.frame_received(clock.now, data_from())) == []
    move(node, clock, VISIT_A, COA_A)  # the home BU is on its way, unacknowledged
    assert sent(node.frame_received(clock.now, data_from())) == []


def test_the_home_agent_is_never_a_correspondent():
    clock, node = Clock(), make_node(route_optimise=(N("2001:db8::/32"),),
                                     random_bytes=Randomness())
    registered(node, clock)
    assert sent(node.frame_received(clock.now, data_from(HA))) == []
    assert sent(node.frame_received(clock.now, data_from(CN)))  # the control


def test_the_correspondent_filter_follows_the_home_registration_and_the_table():
    clock, node = Clock(), ro_node()
    at_home(node, clock)
    [bu] = bus(move(node, clock, VISIT_A, COA_A))
    acked = node.frame_received(clock.now, binding_ack(bu))
    assert of_type(acked, WatchCorrespondents) == [WatchCorrespondents(HOA, (CN_PREFIX,))]
    first = node.frame_received(clock.now, data_from())
    assert of_type(first, WatchCorrespondents) == [
        WatchCorrespondents(HOA, (CN_PREFIX,), (CN,))]
    home = node.frame_received(clock.now, ra(HOME_PREFIX, home=True))
    assert of_type(home, WatchCorrespondents) == [WatchCorrespondents(HOA)]


def test_without_prefixes_the_filter_is_never_touched():
    clock, node = Clock(), make_node()
    registered(node, clock)
    actions = node.frame_received(clock.now, data_from())
    assert not of_type(actions, WatchCorrespondents) and sent(actions) == []


def test_the_table_is_bounded_and_drops_the_least_recently_active():
    clock, node = Clock(), ro_node()
    registered(node, clock)
    addresses = [A(f"2001:db8:c::{i:x}") for i in range(1, MAX_CORRESPONDENTS + 2)]
    for address in addresses[:MAX_CORRESPONDENTS]:
        clock.now += 1 / NEW_CORRESPONDENT_RATE
        node.frame_received(clock.now, data_from(address))
    node.frame_received(clock.now, data_from(addresses[0]))  # the first is active again
    actions = node.frame_received(clock.now, data_from(addresses[-1]))
    table = node.correspondents.correspondents
    assert len(table) == MAX_CORRESPONDENTS
    assert addresses[1] not in table and addresses[0] in table and addresses[-1] in table
    assert any(f"{addresses[1]} dropped" in a.message for a in of_type(actions, Log))


def new_sources(node, clock, count, per_second):
    """Frames from ``count`` made-up sources inside the prefix, ``per_second`` of them a
    second from now; how many started return routability, and the actions."""
    start, hotis, everything = clock.now, 0, []
    for i in range(count):
        clock.now = start + i / per_second
        actions = node.frame_received(clock.now, data_from(A(f"2001:db8:c::1:{i:x}")))
        hotis += len(of_layer(actions, MIP6MH_HoTI))
        everything += actions
    return hotis, everything


def test_a_flood_of_made_up_sources_starts_no_more_than_the_rate_limit_allows():
    """Spoofed frames from 1000 sources inside the prefix in 10 s: the burst, then one
    a second, start return routability (each would end in a binding and 2 flow rules
    at the controller); a refusal is logged once a second at most."""
    clock, node = Clock(), ro_node()
    registered(node, clock)
    hotis, actions = new_sources(node, clock, 1000, per_second=100)
    assert NEW_CORRESPONDENT_BURST + 8 <= hotis <= NEW_CORRESPONDENT_BURST + 10 * \
        NEW_CORRESPONDENT_RATE
    assert len(node.correspondents.correspondents) == hotis
    assert len([a for a in of_type(actions, Log) if "not taken" in a.message]) <= 10


def test_new_sources_at_the_rate_limit_are_all_taken():
    """The control of the flood above: the same frames, one a second, all start return
    routability."""
    clock, node = Clock(), ro_node()
    registered(node, clock)
    assert new_sources(node, clock, 14, per_second=NEW_CORRESPONDENT_RATE)[0] == 14


def test_a_correspondent_refused_in_a_flood_is_taken_on_a_later_frame():
    clock, node = Clock(), ro_node()
    registered(node, clock)
    new_sources(node, clock, NEW_CORRESPONDENT_BURST, per_second=100)
    assert sent(node.frame_received(clock.now, data_from())) == []  # refused for now
    clock.now += 1 / NEW_CORRESPONDENT_RATE
    actions = node.frame_received(clock.now, data_from())
    assert len(of_layer(actions, MIP6MH_HoTI)) == 1
    assert any("(1 refused by the rate limit" in a.message for a in of_type(actions, Log))


# ---------------------------------------------------------------------- the tests


@pytest.mark.parametrize("wrong", ["home-cookie", "care-of-cookie", "routing-header"])
def test_a_test_with_a_wrong_cookie_or_through_a_routing_header_is_ignored(wrong):
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    hoti, coti = started(node, clock)
    home = cn.home_test(hoti, cookie=b"\x09" * 8 if wrong == "home-cookie" else None)
    careof = cn.careof_test(coti, cookie=b"\x09" * 8 if wrong == "care-of-cookie" else None,
                            routing_header=wrong == "routing-header")
    node.frame_received(clock.now, home)
    assert bus(node.frame_received(clock.now, careof)) == []
    fixed = cn.careof_test(coti) if wrong != "home-cookie" else cn.home_test(hoti)
    [bu] = bus(node.frame_received(clock.now, fixed))  # the control
    assert bu[MIP6OptNonceIndices].hni == 1


def test_the_binding_update_has_the_rfc_fields_and_an_independent_authenticator():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu_frame = through_the_tests(node, clock, cn)
    assert bu_frame[Ether].dst == ROUTER_MAC
    assert (bu_frame[IPv6].src, bu_frame[IPv6].dst) == (str(COA_A), str(CN))
    assert bu_frame[HAO].hoa == str(HOA)  # RFC 6275 §11.7.2
    bu = bu_frame[MIP6MH_BU]
    assert bu.flags & A_FLAG and not bu.flags & H_FLAG
    assert bu.seq == FIRST_CN_SEQ and bu.mhtime == 105
    nonces = bu[MIP6OptNonceIndices]
    assert (nonces.hni, nonces.coni) == (1, 2)
    assert isinstance(bu.options[-1], MIP6OptBindingAuthData)  # §6.2.7: the last option
    mh = mh_of(bu_frame)
    assert mh[-14:-12] == bytes([5, 12])  # BAD type 5, length 12, ending the MH
    assert mh[-12:] == authenticator(kbm(1, COA_A, 2), COA_A, CN, mh)
    assert rfc_checksum_ok(HOA, CN, 135, mh)


@pytest.mark.parametrize("asked, on_the_wire", [(1000, 105), (200, 50)])
def test_the_lifetime_asked_for_is_at_most_max_rr_binding_lifetime(asked, on_the_wire):
    clock, node = Clock(), ro_node(lifetime=asked)
    bu = through_the_tests(node, clock, TinyCorrespondent())
    assert bu[MIP6MH_BU].mhtime == on_the_wire  # units of 4 s: 420 s at most (§5.2.7)


# ---------------------------------------------------------------------- acknowledgements


def test_an_authorised_acknowledgement_enters_the_binding_update_list():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    clock.now += 0.01
    node.frame_received(clock.now, cn.binding_ack(bu, lifetime=300))
    entry = cn_entry(node)
    assert entry.care_of == COA_A and entry.lifetime == 300 and entry.sequence == FIRST_CN_SEQ
    assert entry.refresh_at == pytest.approx(clock.now + 240)
    assert send_times(node, clock, clock.now + 100, MIP6MH_BU) == []  # no retransmission


@pytest.mark.parametrize("wrong", ["key", "sequence", "no-routing-header", "not-authorised"])
def test_an_acknowledgement_that_does_not_match_is_ignored(wrong):
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    if wrong == "no-routing-header":
        mh = Ether(cn.binding_ack(bu))[MIP6MH_BA]
        mh.cksum = None  # a right checksum for the care-of address as destination
        ack = frame(IPv6(src=str(CN), dst=str(COA_A)) / mh)
    else:
        ack = cn.binding_ack(bu, key=bytes(20) if wrong == "key" else None,
                             seq=FIRST_CN_SEQ + 5 if wrong == "sequence" else None,
                             authorize=wrong != "not-authorised")
    node.frame_received(clock.now, ack)
    assert cn_entry(node) is None
    node.frame_received(clock.now, cn.binding_ack(bu))  # the control
    assert cn_entry(node) is not None


@pytest.mark.parametrize("status, tests", [
    (136, [MIP6MH_HoTI]), (137, [MIP6MH_CoTI]), (138, [MIP6MH_HoTI, MIP6MH_CoTI])])
def test_an_expired_nonce_index_redoes_its_test_then_the_binding_update(status, tests):
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    clock.now += 0.01
    cn.home_index, cn.careof_index = 3, 3
    actions = node.frame_received(clock.now, cn.binding_ack(bu, status=status, lifetime=0,
                                                            authorize=False))
    inits = {layer: of_layer(actions, layer) for layer in (MIP6MH_HoTI, MIP6MH_CoTI)}
    assert [layer for layer, found in inits.items() if found] == tests and not bus(actions)
    answers = [cn.home_test(inits[MIP6MH_HoTI][0])] if inits[MIP6MH_HoTI] else []
    answers += [cn.careof_test(inits[MIP6MH_CoTI][0])] if inits[MIP6MH_CoTI] else []
    [again] = bus([a for answer in answers for a in node.frame_received(clock.now, answer)])
    assert again[MIP6MH_BU].seq == FIRST_CN_SEQ + 1
    nonces = again[MIP6OptNonceIndices]
    assert (nonces.hni, nonces.coni) == (3 if status != 137 else 1, 3 if status != 136 else 2)
    node.frame_received(clock.now, cn.binding_ack(again))
    assert cn_entry(node).sequence == FIRST_CN_SEQ + 1


def test_status_135_sends_again_after_the_correspondents_last_accepted():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    [again] = bus(node.frame_received(clock.now, cn.binding_ack(
        bu, status=135, seq=5000, lifetime=0)))
    assert again[MIP6MH_BU].seq == 5001
    assert again[MIP6OptNonceIndices].hni == 1  # the tokens still serve: no new test
    node.frame_received(clock.now, cn.binding_ack(again))
    assert cn_entry(node).sequence == 5001


def test_repeated_rejections_fall_back_to_the_backoff():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    answers = []
    for _ in range(4):
        clock.now += 0.4  # slower than MAX_UPDATE_RATE
        actions = node.frame_received(clock.now, cn.binding_ack(bu, status=135, seq=5000,
                                                                lifetime=0))
        answers.append(len(bus(actions)))
        bu = (bus(actions) or [bu])[0]
    assert answers == [1, 1, 0, 0]  # MAX_IMMEDIATE_RETRIES, then the timer


def test_no_more_than_three_binding_updates_a_second_to_a_correspondent():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    updates = [bu]
    for _ in range(3):  # a correspondent that forgets the binding at once, three times
        node.frame_received(clock.now, cn.binding_ack(updates[-1]))
        updates += bus(node.frame_received(clock.now, cn.binding_error(1)))
    assert len(updates) == 3  # the fourth waits for the second to pass (§11.8)
    assert len(bus(node.tick(clock.now + 0.99))) == 0
    assert len(bus(node.tick(clock.now + 1))) == 1


def test_status_139_stops_route_optimisation_with_the_correspondent():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    actions = node.frame_received(clock.now, cn.binding_ack(bu, status=139, lifetime=0))
    assert any("status 139" in a.message and a.level == logging.WARNING
               for a in of_type(actions, Log))
    assert send_times(node, clock, clock.now + 100, MIP6MH_BU) == []
    assert sent(node.frame_received(clock.now, data_from())) == []  # left alone


# ---------------------------------------------------------------------- refresh


def test_the_binding_is_refreshed_at_80_percent_with_new_tests():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    start = clock.now
    ticks = run_until(node, clock, start + 336)
    # At 80% of 420 s the tokens (210 s) are stale: the tests first.
    assert to_correspondent(ticks, start) == [(336.0, "HoTI"), (336.0, "CoTI")]
    hoti, coti = [f for _, a in ticks for f in sent(a) if f[IPv6].dst == str(CN)]
    node.frame_received(clock.now, cn.home_test(hoti))
    [bu] = bus(node.frame_received(clock.now, cn.careof_test(coti)))
    assert bu[MIP6MH_BU].mhtime == 105 and bu[IPv6].src == str(COA_A)


def test_a_binding_refresh_request_with_fresh_tokens_is_answered_with_a_binding_update():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 10
    actions = node.frame_received(clock.now, cn.refresh_request())
    [bu] = bus(actions)
    assert bu[IPv6].dst == str(CN) and not of_layer(actions, MIP6MH_HoTI)


@pytest.mark.parametrize("to_care_of, home", [(COA_A, A("2001:db8:1::101")),
                                               (None, A("2001:db8:1::101")),
                                               (COA_B, HOA)])
def test_a_binding_refresh_request_for_another_address_is_ignored(to_care_of, home):
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 10
    assert sent(node.frame_received(clock.now, cn.refresh_request(to_care_of, home))) == []


def test_a_binding_refresh_request_to_the_home_address_after_the_tokens_redoes_the_tests():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 300
    actions = node.frame_received(clock.now, cn.refresh_request(to_care_of=None))
    assert len(of_layer(actions, MIP6MH_HoTI)) == len(of_layer(actions, MIP6MH_CoTI)) == 1
    assert bus(actions) == []


def test_a_binding_not_refreshed_in_time_leaves_the_binding_update_list():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn, lifetime=40)
    start = clock.now
    assert send_times(node, clock, start + 39, MIP6MH_BU)  # the refresh, unanswered
    assert cn_entry(node) is not None
    run_until(node, clock, start + 41)
    assert cn_entry(node) is None


# ---------------------------------------------------------------------- handover


def test_after_a_handover_only_the_care_of_address_is_tested_while_the_home_token_lasts():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 30
    moved = move(node, clock, VISIT_B, COA_B)
    [home_bu] = bus(moved)
    assert home_bu[IPv6].dst == str(HA)  # §11.7.2: nothing to the correspondent yet
    assert of_layer(moved, MIP6MH_HoTI) == of_layer(moved, MIP6MH_CoTI) == []
    acked = node.frame_received(clock.now, binding_ack(home_bu))
    [coti] = of_layer(acked, MIP6MH_CoTI)
    assert of_layer(acked, MIP6MH_HoTI) == [] and coti[IPv6].src == str(COA_B)
    cn.careof_index = 3
    [bu_frame] = bus(node.frame_received(clock.now, cn.careof_test(coti)))
    assert bu_frame[IPv6].src == str(COA_B) and bu_frame[HAO].hoa == str(HOA)
    nonces = bu_frame[MIP6OptNonceIndices]
    assert (nonces.hni, nonces.coni) == (1, 3)
    mh = mh_of(bu_frame)
    assert mh[-12:] == authenticator(kbm(1, COA_B, 3), COA_B, CN, mh)
    node.frame_received(clock.now, cn.binding_ack(bu_frame))
    assert cn_entry(node).care_of == COA_B


def test_a_handover_abandons_what_was_on_its_way_from_the_old_care_of_address():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    through_the_tests(node, clock, cn)  # the BU from visit-a waits for its BA
    [home_bu] = bus(move(node, clock, VISIT_B, COA_B))
    acked = node.frame_received(clock.now, binding_ack(home_bu))
    [coti] = of_layer(acked, MIP6MH_CoTI)
    assert coti[IPv6].src == str(COA_B)
    later = [f for _, a in run_until(node, clock, clock.now + 5) for f in sent(a)]
    assert later and all(f[IPv6].src != str(COA_A) for f in later)


def test_test_inits_from_the_old_care_of_address_stop_on_a_handover():
    clock, node = Clock(), ro_node()
    started(node, clock)
    move(node, clock, VISIT_B, COA_B)  # the home registration of visit-b is on its way
    assert send_times(node, clock, clock.now + 5, MIP6MH_CoTI) == []


def test_a_new_correspondent_during_a_handover_waits_for_the_home_agent():
    clock, node = Clock(), ro_node()
    registered(node, clock)
    [home_bu] = bus(move(node, clock, VISIT_B, COA_B))
    assert sent(node.frame_received(clock.now, data_from())) == []  # §11.7.2
    acked = node.frame_received(clock.now, binding_ack(home_bu))
    [coti] = of_layer(acked, MIP6MH_CoTI)
    assert coti[IPv6].src == str(COA_B) and len(of_layer(acked, MIP6MH_HoTI)) == 1


def test_after_a_handover_with_a_stale_home_token_both_addresses_are_tested():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 250
    [home_bu] = bus(move(node, clock, VISIT_B, COA_B))
    acked = node.frame_received(clock.now, binding_ack(home_bu))
    assert len(of_layer(acked, MIP6MH_HoTI)) == len(of_layer(acked, MIP6MH_CoTI)) == 1


def test_only_binding_updates_carry_a_home_address_option():
    """The node's data leaves natively from the home address; it adds no HAO."""
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    ticks = run_until(node, clock, clock.now + 400)
    with_hao = [f for _, a in ticks for f in sent(a) if IPv6ExtHdrDestOpt in f]
    assert with_hao and all(MIP6MH_BU in f for f in with_hao)


# ---------------------------------------------------------------------- return home


def returned_home(node, clock):
    """The home RA, then the home agent's BA to the deregistration; the actions."""
    [dereg] = bus(node.frame_received(clock.now, ra(HOME_PREFIX, home=True)))
    assert dereg[IPv6].dst == str(HA)  # the home agent first
    return node.frame_received(clock.now, binding_ack(dereg, lifetime=0, to_home=True))


def test_returning_home_deregisters_with_the_home_token_alone():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 30
    [bu_frame] = bus(returned_home(node, clock))
    assert (bu_frame[IPv6].src, bu_frame[IPv6].dst) == (str(HOA), str(CN))
    assert IPv6ExtHdrDestOpt not in bu_frame  # §11.7.2: from home, no HAO
    bu = bu_frame[MIP6MH_BU]
    assert bu.mhtime == 0 and bu.flags & A_FLAG and not bu.flags & H_FLAG
    nonces = bu[MIP6OptNonceIndices]
    assert (nonces.hni, nonces.coni) == (1, 1)
    mh = mh_of(bu_frame)
    assert mh[-12:] == authenticator(hashlib.sha1(token(HOA, 1, HOME)).digest(), HOA, CN, mh)
    node.frame_received(clock.now, cn.binding_ack(bu_frame, lifetime=0))
    assert cn_entry(node) is None and node.correspondents.correspondents == {}


def test_returning_home_after_the_home_token_tests_the_home_address_first():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 300
    actions = returned_home(node, clock)
    [hoti] = of_layer(actions, MIP6MH_HoTI)
    assert hoti[IPv6].src == str(HOA) and not bus(actions)
    assert of_layer(actions, MIP6MH_CoTI) == []
    [bu] = bus(node.frame_received(clock.now, cn.home_test(hoti)))
    assert bu[IPv6].src == str(HOA) and bu[MIP6MH_BU].mhtime == 0


def test_returning_home_forgets_a_correspondent_that_never_got_a_binding_update():
    clock, node = Clock(), ro_node()
    started(node, clock)  # the tests never answered
    clock.now += 30
    actions = returned_home(node, clock)
    assert [f for f in sent(actions) if f[IPv6].dst == str(CN)] == []
    assert node.correspondents.correspondents == {}


def test_an_unacknowledged_deregistration_is_given_up_when_the_binding_has_expired():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn, lifetime=60)
    clock.now += 30
    start = clock.now
    [dereg] = bus(returned_home(node, clock))
    times = [start] + send_times(node, clock, start + 60, MIP6MH_BU)
    assert gaps(times) == [1, 2, 4, 8]  # the next, 31 s later, would outlive the binding
    assert node.correspondents.correspondents == {} and cn_entry(node) is None
    assert dereg[MIP6MH_BU].mhtime == 0


# ---------------------------------------------------------------------- §11.3.5, Binding Errors


def test_a_parameter_problem_about_our_test_init_stops_route_optimisation():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    hoti, _ = started(node, clock)
    actions = node.frame_received(clock.now, cn.parameter_problem(hoti))
    assert any("Parameter Problem" in a.message for a in of_type(actions, Log))
    assert send_times(node, clock, clock.now + 100, MIP6MH_HoTI) == []
    assert sent(node.frame_received(clock.now, data_from())) == []


def test_the_stop_lasts_stop_hold():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    hoti, _ = started(node, clock)
    node.frame_received(clock.now, cn.parameter_problem(hoti))
    node.tick(clock.now + STOP_HOLD - 1)
    assert CN in node.correspondents.correspondents
    node.tick(clock.now + STOP_HOLD)
    assert CN not in node.correspondents.correspondents  # its next packet starts afresh


def test_a_parameter_problem_about_our_home_address_option_stops_too():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    node.frame_received(clock.now, cn.parameter_problem(bu, code=2, pointer=40 + 6))
    assert send_times(node, clock, clock.now + 100, MIP6MH_BU) == []


@pytest.mark.parametrize("change", ["other-source", "other-pointer", "code-0"])
def test_a_parameter_problem_about_something_else_changes_nothing(change):
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    hoti, _ = started(node, clock)
    offending = Ether(bytes(hoti))
    if change == "other-source":
        offending[IPv6].src = "2001:db8:1::101"
    problem = cn.parameter_problem(offending, code=0 if change == "code-0" else 1,
                                   pointer=7 if change == "other-pointer" else 6)
    node.frame_received(clock.now, problem)
    assert of_layer(node.tick(clock.now + 1), MIP6MH_HoTI)  # retransmitted: not stopped


def test_binding_error_2_stops_route_optimisation():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    started(node, clock)
    node.frame_received(clock.now, cn.binding_error(2))
    assert send_times(node, clock, clock.now + 100, MIP6MH_HoTI) == []


def test_binding_error_1_registers_again():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 5
    for other in (cn.binding_error(1, home=A("2001:db8:1::101")), cn.binding_error(3)):
        assert sent(node.frame_received(clock.now, other)) == []
    [bu] = bus(node.frame_received(clock.now, cn.binding_error(1)))
    assert bu[IPv6].dst == str(CN) and bu[MIP6MH_BU].seq == FIRST_CN_SEQ + 1


def exchange(node, router, clock, actions, at=(2, 5), rounds=10):
    """Carry the node's frames to the controller's router as packet-ins at ``at`` and
    the router's packet-outs to that port back to the node, until both are quiet."""
    for _ in range(rounds):
        frames_out = [a.frame for a in actions if isinstance(a, Send)]
        if not frames_out:
            return
        actions = []
        for out in frames_out:
            for dpid, msg in router.packet_in(clock.now, *at, out):
                if type(msg).__name__ == "OFPPacketOut" and (dpid, [
                        a.port for a in msg.actions]) == (at[0], [at[1]]):
                    actions += node.frame_received(clock.now, msg.data)
    raise AssertionError("the node and the controller never fell quiet")


@pytest.mark.parametrize("mode,bound", [("rr", True), ("off", False)])
def test_against_the_controller_the_node_gets_a_correspondent_binding(mode, bound):
    """The node's core and the controller's core (RFC 6275 §5.2, §9.5, §11.7.2), frames
    carried between them: in rr mode cn1's binding is made and its direct paths are
    placed; in off mode the messages go on to cn1 itself and nothing is bound."""
    clock, node = Clock(), ro_node()
    router = Router(configured(mode=mode))
    router.switch_up(clock.now, 2, [5])
    # The kernel's duplicate address detection makes the care-of address known (source
    # address validation binds it to mn1's port), and cn1's, then its neighbour
    # discovery, make cn1 known.
    router.packet_in(clock.now, 2, 5, bytes(duplicate_address_detection("mn1", str(COA_A))))
    router.switch_up(clock.now, 4, [1])
    router.packet_in(clock.now, 4, 1, bytes(duplicate_address_detection("cn1")))
    router.packet_in(clock.now, 4, 1, bytes(neighbour_solicit("cn1", "2001:db8:c::1")))
    exchange(node, router, clock, move(node, clock, VISIT_A, COA_A))
    assert node.home_registration.binding is not None  # registered through the controller
    exchange(node, router, clock, node.frame_received(clock.now, data_from()))
    entry = router.correspondents.binding(CN, HOA)
    assert (entry is not None) == bound
    assert (node.binding_update_list.get(CN) is not None) == bound
    if bound:
        assert entry.care_of_address == COA_A and entry.lifetime == 420
        assert router.route_optimisation.installed[HOA]


# ---------------------------------------------------------------------- retransmission


def test_test_inits_retransmit_from_1_s_doubling_up_to_32_s_with_the_same_cookie():
    clock, node = Clock(), ro_node()
    started(node, clock)
    start = clock.now
    ticks = run_until(node, clock, start + 130)
    hotis = [(t, f) for t, a in ticks for f in of_layer(a, MIP6MH_HoTI)]
    assert gaps([start] + [t for t, _ in hotis]) == [1, 2, 4, 8, 16, 32, 32, 32]
    assert {f[MIP6MH_HoTI].cookie for _, f in hotis} == {HOME_COOKIE}
    cotis = [t for t, a in ticks for _ in of_layer(a, MIP6MH_CoTI)]
    assert gaps([start] + cotis) == [1, 2, 4, 8, 16, 32, 32, 32]


def test_binding_updates_retransmit_with_new_sequence_numbers_until_the_tokens_expire():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    through_the_tests(node, clock, cn)
    start = clock.now
    ticks = run_until(node, clock, start + 223)
    updates = [(t, f[MIP6MH_BU].seq) for t, a in ticks for f in bus(a)
               if f[IPv6].dst == str(CN)]
    assert gaps([start] + [t for t, _ in updates]) == [1, 2, 4, 8, 16, 32, 32, 32, 32, 32]
    assert [seq for _, seq in updates] == list(range(FIRST_CN_SEQ + 1, FIRST_CN_SEQ + 11))
    # At start + 223 the tokens are more than 210 s old: both tests again, no BU.
    assert to_correspondent(ticks, start)[-2:] == [(223.0, "HoTI"), (223.0, "CoTI")]


def retransmitted(node, clock, cn, count):
    """Through the tests, then the BU retransmitted until ``count`` went; their frames."""
    updates = [through_the_tests(node, clock, cn)]
    while len(updates) < count:
        clock.now = round(clock.now + 0.05, 6)
        updates += bus(node.tick(clock.now))
    return updates


def test_a_retransmitted_binding_update_keeps_only_the_last_sequence_numbers():
    """Each transmission has its own number (§11.8); only the last SENT_KEPT can be
    acknowledged, so retransmissions every 32 s do not grow the state."""
    clock, cn = Clock(), TinyCorrespondent()
    node = ro_node()
    updates = retransmitted(node, clock, cn, 10)
    assert list(node.correspondents.correspondents[CN].update.sent) == [
        bu[MIP6MH_BU].seq for bu in updates[-SENT_KEPT:]]
    node.frame_received(clock.now, cn.binding_ack(updates[-SENT_KEPT - 1]))
    assert cn_entry(node) is None  # too old to count
    node.frame_received(clock.now, cn.binding_ack(updates[-SENT_KEPT]))
    assert cn_entry(node).sequence == updates[-SENT_KEPT][MIP6MH_BU].seq


def test_the_first_transmission_counts_while_it_is_among_the_last():
    """The control of the bound above: the same BA to the first transmission counts
    while no more than SENT_KEPT went."""
    clock, cn = Clock(), TinyCorrespondent()
    node = ro_node()
    updates = retransmitted(node, clock, cn, SENT_KEPT)
    node.frame_received(clock.now, cn.binding_ack(updates[0]))
    assert cn_entry(node).sequence == FIRST_CN_SEQ


# ---------------------------------------------------------------------- forged refusals


def stopped(node):
    return node.correspondents.correspondents[CN].stopped_until is not None


@pytest.mark.parametrize("cookie, acted_on", [(b"\x09" * 8, False), (HOME_COOKIE, True)],
                         ids=["made-up-cookie", "outstanding-cookie (control)"])
def test_a_parameter_problem_counts_only_about_a_test_init_with_the_outstanding_cookie(
        cookie, acted_on):
    """A forged Parameter Problem quoting a HoTI from the home address to the
    correspondent: without the cookie on its way it stops nothing."""
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    started(node, clock)
    quoted = Ether(src=MN1_MAC, dst=ROUTER_MAC) / IPv6(src=str(HOA), dst=str(CN)) / \
        MIP6MH_HoTI(cookie=cookie)
    node.frame_received(clock.now, cn.parameter_problem(quoted))
    assert stopped(node) == acted_on


def test_a_parameter_problem_about_a_test_init_already_answered_is_ignored():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    hoti, coti = started(node, clock)
    node.frame_received(clock.now, cn.home_test(hoti))
    node.frame_received(clock.now, cn.parameter_problem(hoti))
    assert not stopped(node)
    node.frame_received(clock.now, cn.parameter_problem(coti))  # the control: outstanding
    assert stopped(node)


def resigned(bu_frame, sequence=None, flip=False):
    """``bu_frame`` with another sequence number signed with the right Kbm, or with its
    authenticator spoilt; its checksum over the home address (RFC 6275 §6.3)."""
    forged = Ether(bytes(bu_frame))
    if sequence is not None:
        forged[MIP6MH_BU].seq = sequence
    forged[MIP6MH_BU].cksum = 0
    auth = authenticator(kbm(1, COA_A, 2), COA_A, CN, mh_of(Ether(bytes(forged))))
    forged[MIP6OptBindingAuthData].authenticator = int.from_bytes(auth, "big") ^ flip
    mh = mh_of(Ether(bytes(forged)))
    forged[MIP6MH_BU].cksum = checksum(HOA.packed + CN.packed + len(mh).to_bytes(4, "big")
                                       + bytes([0, 0, 0, 135]) + mh)
    forged = Ether(bytes(forged))
    assert rfc_checksum_ok(HOA, CN, 135, mh_of(forged))
    return forged


@pytest.mark.parametrize("quoted, acted_on", [
    ("acknowledged", False), ("other-sequence", False), ("spoilt-authenticator", False),
    ("outstanding", True)])
def test_a_parameter_problem_counts_only_about_a_binding_update_on_its_way(quoted, acted_on):
    """Code 2 at our Home Address option of a quoted BU: it must have the sequence
    number and Binding Authorization Data of a transmission still waiting for its BA."""
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bu = through_the_tests(node, clock, cn)
    if quoted == "acknowledged":
        node.frame_received(clock.now, cn.binding_ack(bu))
    elif quoted == "other-sequence":
        bu = resigned(bu, sequence=FIRST_CN_SEQ + 5)
    elif quoted == "spoilt-authenticator":
        bu = resigned(bu, flip=True)
    else:
        bu = resigned(bu)  # the control: the forger's path, with what it cannot know
    node.frame_received(clock.now, cn.parameter_problem(bu, code=2, pointer=40 + 6))
    assert stopped(node) == acted_on


def test_binding_error_2_with_nothing_on_its_way_to_the_correspondent_is_ignored():
    clock, node, cn = Clock(), ro_node(), TinyCorrespondent()
    bound(node, clock, cn)
    clock.now += 5
    node.frame_received(clock.now, cn.binding_error(2))
    assert not stopped(node) and cn_entry(node) is not None
    run_until(node, clock, clock.now + 336)  # the refresh: its tests are on their way
    node.frame_received(clock.now, cn.binding_error(2))  # the control
    assert stopped(node)
