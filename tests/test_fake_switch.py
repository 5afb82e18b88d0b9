"""The fake switches keep OpenFlow 1.3 flow-table semantics with their indexes."""
import pytest
from ryu.ofproto import ofproto_v1_3_parser as parser

from mipv6_sdn import ofmsg
from mipv6_sdn.pipeline import (COOKIE_KIND_SHIFT, COOKIE_MASK_ALL, CookieKind, Priority, Table,
                                cookie)
from mipv6_sdn.testing.fake_switch import FakeSwitch

MAC = "00:00:00:00:00:10"
IPV6 = 0x86DD
HOST = cookie(CookieKind.HOST, 0x10)
OTHER_HOST = cookie(CookieKind.HOST, 0x11)


def host_rule(priority=Priority.HOST_MAC, port=1, owner=HOST, mac=MAC):
    return ofmsg.flow_add(Table.SWITCHING, priority, ofmsg.match(eth_dst=mac),
                          [ofmsg.apply([ofmsg.output(port)])], owner)


def route(address, owner, mask=None):
    """A host route; with ``mask``, through Ryu's own OFPMatch, which normalises it
    (applies the mask, drops an all-ones one), as a switch would."""
    ipv6_dst = address if mask is None else (address, mask)
    return ofmsg.flow_add(Table.ROUTING, Priority.HOST_ROUTE,
                          parser.OFPMatch(eth_type=IPV6, ipv6_dst=ipv6_dst),
                          [ofmsg.apply([ofmsg.output(1)])], owner)


def out_ports(switch, mac=MAC):
    return [port for port, _ in switch.process(9, {"eth_dst": mac, "eth_type": IPV6},
                                               table=Table.SWITCHING)]


def test_an_add_with_the_same_identity_replaces_the_entry():
    switch = FakeSwitch(1)
    switch.apply(route("2001:db8:1::10", HOST))
    switch.apply(route("2001:db8:1::10", OTHER_HOST, mask="ffff:" * 7 + "ffff"))
    assert [e.cookie for e in switch.entries] == [OTHER_HOST]  # all-ones mask: no mask
    switch.apply(route("2001:db8:1::10", HOST, mask="ffff:ffff:ffff:ffff::"))
    assert len(switch.entries) == 2


def test_the_highest_priority_match_wins_whatever_the_order_added():
    switch = FakeSwitch(1)
    switch.apply(host_rule(Priority.TO_ROUTER, port=2))
    switch.apply(host_rule(Priority.HOST_MAC, port=1))
    assert out_ports(switch) == [2]
    switch.apply(ofmsg.flow_delete_strict(Table.SWITCHING, Priority.TO_ROUTER,
                                          ofmsg.match(eth_dst=MAC), HOST))
    assert out_ports(switch) == [1]


def test_delete_strict_needs_the_cookie_too():
    switch = FakeSwitch(1)
    switch.apply(host_rule())
    switch.apply(ofmsg.flow_delete_strict(Table.INGRESS, Priority.HOST_MAC,
                                          ofmsg.match(eth_dst=MAC), OTHER_HOST))
    assert len(switch.entries) == 1


def test_delete_by_cookie_takes_only_that_owner_and_table():
    switch = FakeSwitch(1)
    switch.apply(host_rule())
    switch.apply(route("2001:db8:1::10", HOST))
    switch.apply(host_rule(owner=OTHER_HOST, mac="00:00:00:00:00:11"))
    switch.apply(ofmsg.flow_delete_cookie(HOST, table=Table.ROUTING))
    assert [(e.table, e.cookie) for e in switch.entries] == [(Table.SWITCHING, HOST),
                                                             (Table.SWITCHING, OTHER_HOST)]
    switch.apply(ofmsg.flow_delete_cookie(HOST))
    assert [e.cookie for e in switch.entries] == [OTHER_HOST]
    assert out_ports(switch) == []


def test_delete_by_cookie_under_a_mask_takes_every_owner_of_the_kind():
    switch = FakeSwitch(1)
    switch.apply(host_rule())
    switch.apply(host_rule(owner=OTHER_HOST, mac="00:00:00:00:00:11"))
    switch.apply(route("2001:db8:1::1", cookie(CookieKind.BASE)))
    kind_only = COOKIE_MASK_ALL ^ ((1 << COOKIE_KIND_SHIFT) - 1)
    switch.apply(ofmsg.flow_delete_cookie(cookie(CookieKind.HOST), cookie_mask=kind_only))
    assert [e.cookie for e in switch.entries] == [cookie(CookieKind.BASE)]


def test_a_match_not_in_ryus_normal_form_is_refused():
    """ofmsg.match skips Ryu's normalisation, so the fake switches refuse a value a
    switch would report back differently (upper-case text, a mask not applied)."""
    for bad in ("2001:DB8:1::10", ("2001:db8:1::10", "ffff:ffff:ffff:ffff::")):
        with pytest.raises(AssertionError, match="normal form"):
            FakeSwitch(1).apply(ofmsg.flow_add(
                Table.ROUTING, Priority.HOST_ROUTE, ofmsg.match(eth_type=IPV6, ipv6_dst=bad),
                [ofmsg.apply([ofmsg.output(1)])], HOST))
    FakeSwitch(1).apply(route("2001:db8:1::10", HOST))  # control: the normal form is taken
