"""Mutated return routability and correspondent signalling through the whole packet-in
path changes no state (tests/fuzzing.py): after one authorized correspondent
registration, every mutation of it, of the test inits, of a deregistration and of
malformed headers to the correspondent is fed to the router, and the correspondent's
binding cache, the return routability state and the route-optimised rules are compared
after each frame. A mutation either breaks the checksum or the authenticator, or
replays a sequence number already used."""
from scapy.layers.inet6 import HAO, IPv6, IPv6ExtHdrDestOpt, MIP6MH_BA, MIP6MH_BRR
from scapy.layers.l2 import Ether

from tests import mipv6_frames as frames
from tests.fuzzing import COUNT, fuzz
from tests.test_correspondent_node import (CAREOF_COOKIE, CARE_OF, CN1, HOME, HOME_COOKIE,
                                           PORT, correspondent_bu, only, tokens)
from tests.test_route_optimisation import network


def state(router):
    """What an accepted message could change, and what an attacker's messages could
    make grow: caches, the index, the refresh and expiry heaps."""
    correspondents = router.correspondents
    rr = correspondents.return_routability
    return (router.view()["correspondent_bindings"], rr.kcn, dict(rr.nonces), rr.next_index,
            {home: dict(rules) for home, rules in router.route_optimisation.installed.items()},
            sorted(correspondents.caches), {h: set(c) for h, c in correspondents.by_home.items()},
            correspondents.count, len(correspondents.refresh_requests._due),
            [len(cache._deadlines) for cache in correspondents.caches.values()])


def test_mutated_correspondent_signalling_never_escapes_and_never_changes_state():
    harness = network()
    rr = tokens(harness, "visit-a")
    assert only(correspondent_bu(harness, "visit-a", 9, rr), MIP6MH_BA)[2][MIP6MH_BA].status == 0
    key = frames.kbm(rr[1], rr[3])
    bu = dict(care_of=CARE_OF["visit-a"], correspondent=CN1, home_index=rr[0],
              careof_index=rr[2], key=key)
    seeds = [frames.correspondent_binding_update(seq=9, **bu),
             frames.correspondent_binding_update(seq=8, lifetime=0, **bu),
             frames.test_init("home", src=HOME, correspondent=CN1, cookie=HOME_COOKIE),
             frames.test_init("careof", src=CARE_OF["visit-a"], correspondent=CN1,
                              cookie=CAREOF_COOKIE),
             bytes(Ether(src=frames.MN1_MAC, dst=frames.ROUTER_MAC) / IPv6(
                 src=CARE_OF["visit-a"], dst=CN1) / IPv6ExtHdrDestOpt(
                 options=[HAO(hoa=HOME)]) / MIP6MH_BRR()),
             frames.unknown_type(CARE_OF["visit-a"], ha=CN1),
             frames.short_binding_update(CARE_OF["visit-a"], ha=CN1),
             frames.bad_payload_proto(CARE_OF["visit-a"], 11, ha=CN1)]
    replies = fuzz(harness, seeds, PORT["visit-a"], state, count=max(1, COUNT // 4))
    assert replies > 0  # the RFC's answers still go out for what deserves one
    print(f"{COUNT // 4} mutated frames, {replies} replies, state unchanged")
