"""Mutated Mobile IPv6 signalling through the whole packet-in path changes no state.

After one authentic registration, every mutation of it, of a deregistration and of
malformed headers is fed to the router: no exception may escape, and the binding cache
and replay state must stay as they were (a mutation either breaks the RFC 4285
authenticator or replays a timestamp already used).
"""
from mipv6_sdn.testing.core_harness import Harness
from tests import mipv6_frames as frames
from tests.fuzzing import COUNT, fuzz

CARE_OF = "2001:db8:a:0:200:ff:fe00:100"


def state(router):
    return (router.view()["bindings"], dict(router.home_agent.last_timestamp))


def test_mutated_signalling_never_escapes_and_never_changes_state():
    harness = Harness()
    stamp = frames.ntp(harness.now)
    accepted = frames.binding_update(care_of=CARE_OF, seq=9, timestamp=stamp)
    harness.router.packet_in(harness.now, 2, 1, accepted)
    assert state(harness.router)[0], "the authentic registration must be accepted"
    seeds = [accepted,
             frames.binding_update(care_of=CARE_OF, seq=10, lifetime=0, timestamp=stamp),
             frames.unknown_type(CARE_OF), frames.short_binding_update(CARE_OF),
             frames.bad_payload_proto(CARE_OF, 11)]
    replies = fuzz(harness, seeds, (2, 1), state)
    assert replies > 0  # the RFC's answers still go out for what deserves one
    print(f"{COUNT} mutated frames, {replies} replies, state unchanged")
