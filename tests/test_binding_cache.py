"""The binding cache: modular sequence numbers, events for every change, expiry by tick."""
import dataclasses
import ipaddress

import pytest

from mipv6_sdn.binding_cache import (HOME_CACHE, Attachment, Binding, BindingCache,
                                     BindingEvent, sequence_newer)

HOME = ipaddress.IPv6Address("2001:db8:1::100")


def entry(sequence=1, expires=100.0, care_of="2001:db8:a::5", home=HOME):
    return Binding(home_address=home, care_of_address=ipaddress.IPv6Address(care_of),
                   sequence=sequence, lifetime=int(expires), expires=expires,
                   home_registration=True)


@pytest.mark.parametrize("candidate, previous, newer", [
    (1, 0, True), (0, 65535, True), (32767, 0, True), (32768, 0, False),
    (0, 0, False), (65535, 0, False), (100, 101, False), (5, 65000, True),
])
def test_sequence_newer_is_modulo_2_16_with_a_window_of_2_15(candidate, previous, newer):
    assert sequence_newer(candidate, previous) is newer


def test_every_change_is_announced_in_order_and_returns_what_subscribers_return():
    cache, events = BindingCache(HOME_CACHE), []

    def subscriber(event, binding, now):
        events.append((event, binding.sequence, now))
        return [("message", event)]
    cache.subscribe(subscriber)
    assert cache.put(1.0, entry(1)) == [("message", BindingEvent.ADDED)]
    assert cache.put(2.0, entry(2, care_of="2001:db8:b::5")) == [
        ("message", BindingEvent.UPDATED)]
    assert cache.delete(3.0, HOME) == [("message", BindingEvent.DELETED)]
    assert cache.delete(4.0, HOME) == []  # nothing left: nothing announced
    assert events == [(BindingEvent.ADDED, 1, 1.0), (BindingEvent.UPDATED, 2, 2.0),
                      (BindingEvent.DELETED, 2, 3.0)]


def test_a_binding_renewed_with_nothing_else_changed_is_refreshed_not_updated():
    """The refresh fast path: a new sequence number and lifetime only is REFRESHED,
    which the data plane's subscribers pass over; any other change is UPDATED."""
    cache, events = BindingCache(HOME_CACHE), []
    cache.subscribe(lambda event, binding, now: events.append(event) or [])
    here = Attachment(2, 5, "00:00:00:00:01:00")
    cache.put(1.0, dataclasses.replace(entry(1), attachment=here))
    cache.put(2.0, dataclasses.replace(entry(2, expires=400.0), attachment=here))
    cache.put(3.0, dataclasses.replace(entry(3), attachment=Attachment(3, 5, here.mac)))
    cache.put(4.0, dataclasses.replace(entry(4, care_of="2001:db8:a::6"),
                                       attachment=Attachment(3, 5, here.mac)))
    cache.put(5.0, dataclasses.replace(entry(5, care_of="2001:db8:a::6"), link_local=True,
                                       attachment=Attachment(3, 5, here.mac)))
    assert events == [BindingEvent.ADDED, BindingEvent.REFRESHED, BindingEvent.UPDATED,
                      BindingEvent.UPDATED, BindingEvent.UPDATED]


def test_expiry_removes_only_what_ran_out_and_skips_refreshed_deadlines():
    cache = BindingCache(HOME_CACHE)
    cache.subscribe(lambda event, binding, now: [(event, binding.home_address,
                                                  binding.sequence)])
    other = ipaddress.IPv6Address("2001:db8:1::101")
    cache.put(0.0, entry(1, expires=10.0))
    cache.put(0.0, entry(1, expires=20.0, home=other))
    cache.put(5.0, entry(2, expires=30.0))  # refreshed: its old deadline 10 is stale
    assert cache.expire(15.0) == [] and len(cache) == 2
    assert cache.expire(25.0) == [(BindingEvent.EXPIRED, other, 1)]
    assert cache.expire(30.0) == [(BindingEvent.EXPIRED, HOME, 2)]
    assert len(cache) == 0


def test_refreshes_do_not_grow_the_expiry_heap_without_bound():
    from mipv6_sdn.binding_cache import HEAP_SLACK
    cache = BindingCache("home")
    home = ipaddress.IPv6Address("2001:db8:1::100")
    for sequence in range(1000):
        cache.put(float(sequence), Binding(home, ipaddress.IPv6Address("2001:db8:a::1"),
                                           sequence, 420, sequence + 420.0, True))
    assert len(cache._deadlines) <= 2 * len(cache) + HEAP_SLACK
    assert cache.expire(1418.0) == [] and len(cache) == 1  # the live deadline is kept
    cache.expire(1419.0)
    assert len(cache) == 0
