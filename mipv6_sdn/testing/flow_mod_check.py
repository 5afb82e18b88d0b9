"""A flow-mod checked against its table's declaration (mipv6_sdn/pipeline.py
``TABLE_DECLARATIONS``), so a rule the pipeline does not provide for fails in a unit
test, not on a switch."""
import dataclasses

from ryu.ofproto import ofproto_v1_3 as ofp
from ryu.ofproto import ofproto_v1_3_parser as parser

from mipv6_sdn.pipeline import TABLE_DECLARATIONS, Table, TableDeclaration


def _spec_names(prefix):
    """{value: name} of the OpenFlow 1.3 constants with ``prefix``, the name in lower
    case without it: OFPIT_GOTO_TABLE is "goto_table"."""
    return {value: name[len(prefix):].lower() for name, value in vars(ofp).items()
            if name.startswith(prefix) and isinstance(value, int)}


INSTRUCTION_NAMES = _spec_names("OFPIT_")
ACTION_NAMES = _spec_names("OFPAT_")


def features_of(match, instructions):
    """What a rule uses, as a :class:`TableDeclaration` that accepts just that."""
    kinds, actions, set_fields, next_tables = set(), set(), set(), set()
    for instruction in instructions:
        kinds.add(INSTRUCTION_NAMES.get(instruction.type, str(instruction.type)))
        if isinstance(instruction, parser.OFPInstructionGotoTable):
            next_tables.add(instruction.table_id)
        for action in getattr(instruction, "actions", ()):
            actions.add(ACTION_NAMES.get(action.type, str(action.type)))
            if isinstance(action, parser.OFPActionSetField):
                set_fields.add(action.key)
    return TableDeclaration(match={name for name, _ in match.items()}, instructions=kinds,
                            actions=actions, set_fields=set_fields, next_tables=next_tables)


def check_normal_form(msg):
    """Raise AssertionError when the match of flow-mod ``msg`` is not what Ryu's own
    normalisation would make of it (``ofmsg.match`` skips that normalisation)."""
    normal = parser.OFPMatch(**dict(msg.match.items()))
    assert list(msg.match.items()) == list(normal.items()), \
        f"match {list(msg.match.items())} is not in Ryu's normal form: " \
        f"{list(normal.items())}"


def check_flow_add(msg):
    """Raise AssertionError, saying which table and what, when the rule ``msg`` adds
    uses anything its table does not declare, jumps back, or has a match that is not
    in Ryu's normal form."""
    check_normal_form(msg)
    try:
        table = Table(msg.table_id)
    except ValueError:
        raise AssertionError(f"table {msg.table_id} is not in the pipeline") from None
    where = f"table {table.name} ({int(table)}), priority {msg.priority}"
    used = features_of(msg.match, msg.instructions)
    for target in used.next_tables:
        assert target > table, f"{where}: goto_table {target} jumps back (OpenFlow 1.3 " \
            "§5.1: only to a later table)"
    declared = TABLE_DECLARATIONS[table]
    for field in dataclasses.fields(TableDeclaration):
        undeclared = getattr(used, field.name) - getattr(declared, field.name)
        assert not undeclared, f"{where}: {field.name} {sorted(undeclared)} not declared " \
            "for this table (mipv6_sdn/pipeline.py TABLE_DECLARATIONS)"
