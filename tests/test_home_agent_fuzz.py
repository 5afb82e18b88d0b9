"""Mutated Mobile IPv6 signalling through the whole packet-in path changes no state.

After one authentic registration, every mutation of it, of a deregistration and of
malformed headers is fed to the router: no exception may escape, and the binding cache
and replay state must stay as they were (a mutation either breaks the RFC 4285
authenticator or replays a timestamp already used).
"""
import os
import random

from mipv6_sdn.testing.core_harness import Harness
from tests import mipv6_frames as frames

CARE_OF = "2001:db8:a:0:200:ff:fe00:100"
COUNT = int(os.environ.get("MIPV6_FUZZ_COUNT", "100000"))


def state(router):
    return (router.view()["bindings"], dict(router.home_agent.last_timestamp))


def test_mutated_signalling_never_escapes_and_never_changes_state():
    harness = Harness()
    stamp = frames.ntp(harness.now)
    accepted = frames.binding_update(care_of=CARE_OF, seq=9, timestamp=stamp)
    harness.router.packet_in(harness.now, 2, 1, accepted)
    before = state(harness.router)
    assert before[0], "the authentic registration must be accepted"
    seeds = [accepted,
             frames.binding_update(care_of=CARE_OF, seq=10, lifetime=0, timestamp=stamp),
             frames.unknown_type(CARE_OF), frames.short_binding_update(CARE_OF),
             frames.bad_payload_proto(CARE_OF, 11)]
    rng = random.Random(6275)
    replies = 0
    for _ in range(COUNT):
        frame = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(14, len(frame))
            if rng.random() < 0.8:
                frame[position] = rng.randrange(256)
            else:
                del frame[position:]
            if len(frame) <= 14:
                break
        replies += len(harness.router.packet_in(harness.now, 2, 1, bytes(frame)))
    assert state(harness.router) == before
    assert replies > 0  # the RFC's answers still go out for what deserves one
    print(f"{COUNT} mutated frames, {replies} replies, state unchanged")
