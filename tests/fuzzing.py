"""Mutation fuzzing through the router's whole packet-in path, shared by the Home
Agent's and the correspondent node's fuzz tests: no exception may escape, and the state
the test names must be what it was."""
import os
import random

COUNT = int(os.environ.get("MIPV6_FUZZ_COUNT", "100000"))


def mutate(frame, rng):
    """``frame`` with 1-3 octets after the Ethernet header changed or the tail cut."""
    frame = bytearray(frame)
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(14, len(frame))
        if rng.random() < 0.8:
            frame[position] = rng.randrange(256)
        else:
            del frame[position:]
        if len(frame) <= 14:
            break
    return bytes(frame)


def fuzz(harness, seeds, at, state, count=COUNT, seed=6275):
    """Feed ``count`` mutations of ``seeds`` to the router as packet-ins at ``at``
    (dpid, port); asserts after each that ``state(router)`` is unchanged; returns the
    replies sent."""
    before = state(harness.router)
    rng = random.Random(seed)
    replies = 0
    for _ in range(count):
        frame = mutate(rng.choice(seeds), rng)
        replies += len(harness.router.packet_in(harness.now, *at, frame))
        assert state(harness.router) == before, frame.hex()
    return replies
