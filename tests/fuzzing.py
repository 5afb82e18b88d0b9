"""Mutation fuzzing through the router's whole packet-in path, shared by the Home
Agent's and the correspondent node's fuzz tests: no exception may escape, a frame that
is rejected leaves the state the test names as it was, and one that is accepted changes
it only as the test's ``accepted`` check allows.

Mutations come in four kinds, so that they reach the deep code and not only the first
check: raw (octets changed or the tail cut), with the Mobility Header checksum made
valid again, and (for Binding Updates, given the key) with the RFC 4285 authenticator
made valid again as well, after changing the message or the sender's address. Frames that ever failed are kept in ``tests/fuzz_corpus/``
and fed first on every run. ``MIPV6_FUZZ_COUNT`` sets the number of frames (100,000 in
CI; 1,000,000 by hand).
"""
import hashlib
import ipaddress
import os
import pathlib
import random

from mipv6_sdn import mobility, wire
from tests import mipv6_frames as frames

COUNT = int(os.environ.get("MIPV6_FUZZ_COUNT", "100000"))
CORPUS = pathlib.Path(__file__).parent / "fuzz_corpus"
ETHERNET, IPV6_HEADER = 14, 40
AUTHENTICATOR = 12  # RFC 4285 §5: the MN-HA authenticator ends the Binding Update


def mobility_header(frame):
    """(offset, end, pseudo-header source, pseudo-header destination) of the Mobility
    Header in an Ethernet frame, or None. The pseudo-header takes the home address of a
    Home Address option and of a type 2 routing header (RFC 6275 §6.1.1)."""
    if len(frame) < ETHERNET + IPV6_HEADER or frame[12:14] != b"\x86\xdd":
        return None
    src = ipaddress.IPv6Address(bytes(frame[22:38]))
    dst = ipaddress.IPv6Address(bytes(frame[38:54]))
    end = min(len(frame), ETHERNET + IPV6_HEADER + int.from_bytes(frame[18:20], "big"))
    next_header, offset = frame[20], ETHERNET + IPV6_HEADER
    while next_header in wire.EXTENSION_HEADERS and offset + 2 <= end:
        length = (frame[offset + 1] + 1) * 8
        header = bytes(frame[offset:offset + length])
        if next_header == wire.IPPROTO_DSTOPTS:
            at = header.find(bytes([mobility.OPT_HOME_ADDRESS, 16]), 2)
            if at >= 0 and at + 18 <= len(header):
                src = ipaddress.IPv6Address(header[at + 2:at + 18])
        elif next_header == wire.IPPROTO_ROUTING and len(header) >= 24 and header[2] == 2:
            dst = ipaddress.IPv6Address(header[8:24])
        next_header, offset = frame[offset], offset + length
    if next_header != wire.IPPROTO_MH or offset + 6 > end:
        return None
    return offset, end, src, dst


def fix_checksum(frame):
    """``frame`` (a bytearray) with its Mobility Header checksum valid again."""
    found = mobility_header(frame)
    if found is not None:
        offset, end, src, dst = found
        frame[offset + 4:offset + 6] = b"\0\0"
        frame[offset + 4:offset + 6] = wire.checksum(
            src, dst, wire.IPPROTO_MH, bytes(frame[offset:end])).to_bytes(2, "big")
    return frame


def authenticator_of(frame, key):
    """(what the frame's MN-HA authenticator is, what it should be), computed with the
    independent code of tests/mipv6_frames.py (RFC 4285 §5.1), or None."""
    found = mobility_header(frame)
    if found is None or found[1] - found[0] < 6 + AUTHENTICATOR:
        return None
    offset, end, home, _ = found
    care_of = ipaddress.IPv6Address(bytes(frame[22:38]))
    data = bytearray(frame[offset:end - AUTHENTICATOR])
    data[4:6] = b"\0\0"
    return (bytes(frame[end - AUTHENTICATOR:end]),
            frames.rfc4285_authenticator(key, str(care_of), str(home), bytes(data)))


def mutate(frame, rng, key=None):
    """``frame`` mutated one of four ways: raw, checksum kept, authenticator kept, or
    (re-signed too) from another address of the sender's /64."""
    frame = bytearray(frame)
    kind = rng.randrange(4 if key is not None else 2)
    found = mobility_header(frame)
    if kind == 3 and found is not None and found[1] - found[0] > 6 + AUTHENTICATOR:
        frame[36:38] = rng.randrange(1 << 16).to_bytes(2, "big")  # the source's last IID bits
        frame[found[1] - AUTHENTICATOR:found[1]] = authenticator_of(frame, key)[1]
        return bytes(fix_checksum(frame))
    kind = min(kind, 2)
    last = found and found[1] - (AUTHENTICATOR if kind == 2 else 0)
    if kind and found is not None and last > found[0] + 6:
        offset, end, _, _ = found
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(offset, last)
            if not offset + 4 <= position < offset + 6:  # the checksum is redone anyway
                frame[position] = rng.randrange(256)
        if kind == 2:
            current = authenticator_of(frame, key)
            if current is not None:
                frame[end - AUTHENTICATOR:end] = current[1]
        return bytes(fix_checksum(frame))
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(ETHERNET, len(frame))
        if rng.random() < 0.8:
            frame[position] = rng.randrange(256)
        else:
            del frame[position:]
        if len(frame) <= ETHERNET:
            break
    return bytes(frame)


def corpus():
    """The frames that ever failed, fed first on every run."""
    return [bytes.fromhex(path.read_text().strip()) for path in sorted(CORPUS.glob("*.hex"))]


def keep(frame):
    CORPUS.mkdir(exist_ok=True)
    name = hashlib.sha1(frame).hexdigest()[:16]
    (CORPUS / f"{name}.hex").write_text(frame.hex() + "\n")


def fuzz(harness, seeds, at, state, count=COUNT, seed=6275, key=None, accepted=None,
         record=True):
    """Feed the corpus and ``count`` mutations of ``seeds`` to the router as packet-ins
    at ``at`` (dpid, port). After each frame ``state(router)`` must be what it was,
    unless ``accepted(router, frame, msgs)`` says the frame was accepted (and has
    checked the change against the RFC): then the new state is the reference. A frame
    that fails is kept in the corpus (unless not ``record``). Returns the replies sent."""
    before = state(harness.router)
    rng = random.Random(seed)
    replies = 0
    inputs = corpus() + [None] * count
    for frame in inputs:
        frame = frame if frame is not None else mutate(rng.choice(seeds), rng, key)
        try:
            msgs = harness.router.packet_in(harness.now, *at, frame)
            replies += len(msgs)
            if accepted is not None and accepted(harness.router, frame, msgs):
                before = state(harness.router)
            assert state(harness.router) == before, frame.hex()
        except BaseException:
            if record:
                keep(frame)
            raise
    return replies
