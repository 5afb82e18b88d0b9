"""Mutated Mobile IPv6 signalling through the whole packet-in path (tests/fuzzing.py).

After one authentic registration, every mutation of it, of a deregistration and of
malformed headers is fed to the router. No exception may escape. A frame that is not
accepted leaves the binding cache, the replay state, the host table and the source
address bindings as they were. A frame that is accepted (some mutations keep a valid
checksum and authenticator, with a newer timestamp and sequence number) must carry the
authenticator of mn1's key, as independent code computes it, and change the binding
only to what it says. With MN-HA authentication switched off the same harness fails.
"""
import pytest

from mipv6_sdn import mobility, packets
from mipv6_sdn.binding_cache import sequence_newer
from mipv6_sdn.home_agent import claimed_care_of
from mipv6_sdn.testing.core_harness import Harness
from tests import mipv6_frames as frames
from tests.fuzzing import COUNT, authenticator_of, fuzz

CARE_OF = "2001:db8:a:0:200:ff:fe00:100"
AT = (2, 1)


def state(router):
    return (router.view()["bindings"], dict(router.home_agent.last_timestamp),
            router.hosts.view(), dict(router.validation.bindings))


SEEN = set()  # BA statuses the mutations drew
ACCEPTED = {}  # the last accepted timestamp and sequence number
NOW = [0.0]


def accepted(router, frame, msgs):
    """Whether ``frame`` was an accepted BU; if so, that it was entitled to be."""
    statuses = [meta.mobility.message.status for meta in _sent(msgs)
                if meta.mobility is not None
                and isinstance(meta.mobility.message, mobility.BindingAck)]
    SEEN.update(statuses)
    if not any(status < mobility.REASON_UNSPECIFIED for status in statuses):
        return False
    have, wanted = authenticator_of(frame, frames.MN1_KEY)
    assert have == wanted, "accepted without mn1's authenticator"
    meta = packets.parse_frame(frame)
    update = meta.mobility.message
    auth = mobility.find_option(update, mobility.MobilityMessageAuthentication)
    assert (auth.subtype, auth.spi) == (1, frames.MN1_SPI), "accepted another SA"
    stamp = mobility.find_option(update, mobility.MobilityMessageReplayProtection).timestamp
    last = ACCEPTED.get("timestamp")
    assert last is None or stamp > last, "accepted an old timestamp"
    assert abs(mobility.unix_time(stamp) - NOW[0]) <= 7, "accepted a timestamp out of skew"
    sequence = ACCEPTED.get("sequence")  # RFC 6275 §9.5.1: only against a binding
    assert sequence is None or sequence_newer(update.sequence, sequence), "a stale sequence"
    ACCEPTED.update(timestamp=stamp, sequence=update.sequence)
    binding = router.home_agent.cache.get(meta.home_address_option)
    if not update.lifetime or claimed_care_of(meta) == meta.home_address_option:
        ACCEPTED.pop("sequence")  # deregistered: no binding, any sequence number next
    else:
        assert binding is not None and (binding.sequence, binding.care_of_address) == (
            update.sequence, claimed_care_of(meta)), "not the binding the BU asked for"
        assert binding.lifetime <= 420, "beyond the configured lifetime"
    return True


def _sent(msgs):
    for _, msg in msgs:
        data = getattr(msg, "data", None)
        if data:
            try:
                yield packets.parse_frame(data)
            except Exception:  # not ours to judge here
                continue


def authentic_seeds(harness):
    ACCEPTED.clear()
    ACCEPTED.update(timestamp=frames.ntp(harness.now), sequence=9)
    NOW[0] = harness.now
    stamp = frames.ntp(harness.now)
    accepted_bu = frames.binding_update(care_of=CARE_OF, seq=9, timestamp=stamp)
    harness.run(harness.router.packet_in(harness.now, *AT, accepted_bu))
    assert state(harness.router)[0], "the authentic registration must be accepted"
    return [accepted_bu,
            frames.binding_update(care_of=CARE_OF, seq=10, lifetime=0, timestamp=stamp),
            frames.unknown_type(CARE_OF), frames.short_binding_update(CARE_OF),
            frames.bad_payload_proto(CARE_OF, 11)]


def test_mutated_signalling_never_escapes_and_changes_only_what_it_may():
    harness = Harness()
    seeds = authentic_seeds(harness)
    SEEN.clear()
    replies = fuzz(harness, seeds, AT, state, key=frames.MN1_KEY, accepted=accepted)
    assert replies > 0  # the RFC's answers still go out for what deserves one
    # Past authentication: a stale sequence number (135) or an old timestamp (144)
    # is only judged once the authenticator is right (RFC 4285 §5, RFC 6275 §9.5.1).
    assert {mobility.SEQUENCE_OUT_OF_WINDOW, mobility.MIPV6_ID_MISMATCH} <= SEEN, SEEN
    print(f"{COUNT} mutated frames, {replies} replies, BA statuses {sorted(SEEN)}")


def test_the_harness_fails_when_authentication_is_switched_off(monkeypatch):
    """The control: with verification always true, mutated BUs without mn1's
    authenticator are accepted, and the harness says so."""
    harness = Harness()
    seeds = authentic_seeds(harness)[:1]
    monkeypatch.setattr(mobility, "verify_mn_ha_authentication", lambda *args: True)
    with pytest.raises(AssertionError, match="accepted without mn1's authenticator"):
        fuzz(harness, seeds, AT, state, count=20000, key=frames.MN1_KEY,
             accepted=accepted, record=False)
