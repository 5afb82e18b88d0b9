"""Each table declares what its rules may use (mipv6_sdn/pipeline.py), the core keeps to
it, and the fake switches reject a rule that does not."""
import dataclasses
import pathlib

import pytest

from mipv6_sdn import ofmsg, wire
from mipv6_sdn.pipeline import (COOKIE_KIND_SHIFT, TABLE_DECLARATIONS, CookieKind, Priority,
                                Table, TableDeclaration, cookie)
from mipv6_sdn.testing.core_harness import Harness
from mipv6_sdn.testing.fake_switch import FakeSwitch
from mipv6_sdn.testing.flow_mod_check import features_of
from tests import mipv6_frames as frames

LABEL = 100
OWNER = cookie(CookieKind.BASE)
IPV6 = {"eth_type": wire.ETH_TYPE_IPV6}
LABELLED = {"eth_type": wire.ETH_TYPE_MPLS, "mpls_label": LABEL}
TO_CONTROLLER = [ofmsg.goto(Table.PUNT)]  # every way to the controller is metered
ICMP_ECHO = dict(IPV6, ip_proto=wire.IPPROTO_ICMPV6, icmpv6_type=128)


def rule(table, match, instructions, priority=Priority.LSP):
    return ofmsg.flow_add(table, priority, ofmsg.match(**match), instructions, OWNER)


def host_route(set_field):
    return rule(Table.ROUTING, dict(IPV6, ipv6_dst="2001:db8:1::10"), [ofmsg.apply([
        ofmsg.set_field(**set_field), ofmsg.dec_nw_ttl(), ofmsg.output(1)])])


def label_switched(*extra, decrement=ofmsg.dec_mpls_ttl):
    return rule(Table.LSP, LABELLED, [ofmsg.apply([decrement(), ofmsg.output(1)]), *extra])


def prefix_route(next_table):
    return rule(Table.ROUTING, dict(IPV6, ipv6_dst=("2001:db8:c::", "ffff:ffff:ffff:ffff::")),
                [ofmsg.apply(ofmsg.push_mpls(LABEL, 255)), ofmsg.goto(next_table)])


# (what is wrong, the rule, the same rule well formed, what the rejection says)
BROKEN_AND_WELL_FORMED = {
    "match field": (rule(Table.ROUTING, ICMP_ECHO, TO_CONTROLLER),
                    rule(Table.INGRESS, ICMP_ECHO, TO_CONTROLLER), r"match \['icmpv6_type'\]"),
    "action": (label_switched(decrement=ofmsg.dec_nw_ttl), label_switched(),
               r"actions \['dec_nw_ttl'\]"),
    "set_field": (host_route({"ipv6_dst": "2001:db8:1::11"}),
                  host_route({"eth_dst": "00:00:00:00:00:10"}), r"set_fields \['ipv6_dst'\]"),
    "instruction": (label_switched(ofmsg.write_metadata(1, 1)), label_switched(),
                    r"instructions \['write_metadata'\]"),
    "goto backwards": (prefix_route(Table.INGRESS), prefix_route(Table.LSP), "jumps back"),
    "goto undeclared": (rule(Table.INGRESS, IPV6, [ofmsg.goto(Table.LSP)]),
                        rule(Table.INGRESS, IPV6, [ofmsg.goto(Table.SOURCE)]),
                        rf"next_tables \[{int(Table.LSP)}\]"),
}


@pytest.mark.parametrize("broken, well_formed, says", BROKEN_AND_WELL_FORMED.values(),
                         ids=BROKEN_AND_WELL_FORMED.keys())
def test_a_fake_switch_rejects_a_rule_its_table_does_not_declare(broken, well_formed, says):
    switch = FakeSwitch(1)
    with pytest.raises(AssertionError, match=says):
        switch.apply(broken)
    assert switch.entries == []
    switch.apply(well_formed)
    assert [(e.table, e.match) for e in switch.entries] == [(well_formed.table_id,
                                                              well_formed.match)]


def test_a_table_outside_the_pipeline_is_rejected():
    with pytest.raises(AssertionError, match="table 200 is not in the pipeline"):
        FakeSwitch(1).apply(rule(200, IPV6, TO_CONTROLLER))


def test_every_table_is_declared_and_goes_only_to_later_tables():
    assert set(TABLE_DECLARATIONS) == set(Table)
    assert all(target > table for table, declared in TABLE_DECLARATIONS.items()
               for target in declared.next_tables)


def test_the_declarations_are_what_the_core_installs_on_the_reference_network():
    """Hosts learned on every link and mn1 registered away: every kind of rule is in
    place, each was checked as it was added, and together they use all declared."""
    harness = Harness()
    harness.run(harness.router.port_up(harness.now, 2, 5))
    harness.learn("cn1", "hh1", "va1", "vb1")
    harness.run(harness.router.packet_in(harness.now, 2, 5, frames.binding_update(
        care_of="2001:db8:a:0:200:ff:fe00:100", seq=1, timestamp=frames.ntp(harness.now))))
    used = {table: {field.name: set() for field in dataclasses.fields(TableDeclaration)}
            for table in Table}
    binding_entries = 0
    for switch in harness.net.switches.values():
        for entry in switch.entries:
            binding_entries += entry.cookie >> COOKIE_KIND_SHIFT == CookieKind.BINDING
            features = features_of(entry.match, entry.instructions)
            for name, values in used[entry.table].items():
                values |= getattr(features, name)
    assert binding_entries == 3
    assert {table: TableDeclaration(**parts) for table, parts in used.items()} == \
        TABLE_DECLARATIONS


def names(cell):
    """The comma-separated names of a cell of docs/pipeline.md ("—" for none)."""
    return set() if cell.strip() == "—" else {name.strip() for name in cell.split(",")}


def test_docs_pipeline_lists_the_declarations():
    docs = (pathlib.Path(__file__).parent.parent / "docs" / "pipeline.md").read_text()
    section = docs.split("## What each table accepts")[1].split("\n## ")[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip()[:1].isdigit()]
    documented = {Table(int(row[0].split()[0])): TableDeclaration(
        match=names(row[1]), instructions=names(row[2]), actions=names(row[3]),
        set_fields=names(row[4]), next_tables={int(n) for n in names(row[5])})
        for row in rows}
    assert documented == TABLE_DECLARATIONS
