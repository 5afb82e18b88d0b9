"""The flow-table pipeline as data: table ids, what each table accepts, priorities and
cookies.

docs/pipeline.md draws the same pipeline; keep the two together.
"""
import dataclasses
import enum


class Table(enum.IntEnum):
    """OpenFlow only jumps forward (goto_table to a higher id), hence two MPLS tables."""
    INGRESS = 0    # classify by port; ND and mobility headers to the controller
    SOURCE = 1     # source address validation of host ports (RFC 6620)
    SWITCHING = 2  # by destination MAC: link multicast, the router, a host of the link
    MPLS_IN = 3    # a labelled packet from a trunk: pop our own label, else on to LSP
    ROUTING = 4    # IPv6 unicast routing: host delivery, prefix LSPs, controller
    LSP = 5        # label switching towards the LSP's egress
    PUNT = 6       # every packet for the controller: metered per access port


@dataclasses.dataclass(frozen=True)
class TableDeclaration:
    """What the rules of one table may use, in the terms of OpenFlow 1.3 table features:
    match fields, instructions (§5.9) and actions (§5.12) by their spec names in lower
    case (OFPIT_GOTO_TABLE is "goto_table", OFPAT_DEC_NW_TTL "dec_nw_ttl"), the fields
    set_field may write, and the tables goto_table may reach (later ones only, §5.1)."""
    match: frozenset
    instructions: frozenset
    actions: frozenset = frozenset()
    set_fields: frozenset = frozenset()
    next_tables: frozenset = frozenset()

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, frozenset(getattr(self, field.name)))


# What each table accepts: what the core installs there (the router's parts and
# mipv6_sdn/handover.py), table by table as in docs/pipeline.md. The fake switches of
# mipv6_sdn/testing reject any other flow-mod.
TABLE_DECLARATIONS = {
    Table.INGRESS: TableDeclaration(
        match={"in_port", "eth_type", "eth_dst", "ip_proto", "icmpv6_type"},
        instructions={"goto_table"},
        next_tables={Table.SOURCE, Table.MPLS_IN, Table.PUNT}),
    Table.SOURCE: TableDeclaration(
        match={"in_port", "eth_src", "eth_type", "ipv6_src"},
        instructions={"goto_table"},
        next_tables={Table.SWITCHING, Table.PUNT}),
    Table.SWITCHING: TableDeclaration(
        match={"eth_type", "eth_dst"},
        instructions={"apply_actions", "goto_table"},
        actions={"output", "group"},
        next_tables={Table.ROUTING}),
    Table.MPLS_IN: TableDeclaration(
        match={"eth_type", "mpls_label"},
        instructions={"apply_actions", "write_metadata", "goto_table"},
        actions={"pop_mpls"},
        next_tables={Table.ROUTING, Table.LSP}),
    Table.ROUTING: TableDeclaration(
        match={"in_port", "eth_src", "eth_type", "ip_proto", "ipv6_src", "ipv6_dst",
               "metadata"},
        instructions={"apply_actions", "goto_table"},
        actions={"push_mpls", "set_field", "set_mpls_ttl", "dec_nw_ttl", "output"},
        set_fields={"eth_src", "eth_dst", "mpls_label"},
        next_tables={Table.LSP, Table.PUNT}),
    Table.LSP: TableDeclaration(
        match={"in_port", "eth_type", "mpls_label"},
        instructions={"apply_actions"},
        actions={"dec_mpls_ttl", "output"}),
    Table.PUNT: TableDeclaration(
        match={"in_port"},
        instructions={"meter", "apply_actions"},
        actions={"output"}),
}


class Priority(enum.IntEnum):
    # INGRESS (Ryu's LLDP rule sits at 0xffff above all of these)
    TRUNK_MPLS = 4000        # labelled packet on an inter-switch port
    TRUNK_DROP = 3900        # anything else on an inter-switch port
    ND_TO_CONTROLLER = 3000  # ICMPv6 133-137 from hosts
    MOBILITY_FROM_HOST = 2900  # a mobility header to the router MAC: judged by us
    FROM_HOST = 0            # anything else from a host port: source validation
    # SOURCE (RFC 6620)
    TRUSTED_PORT = 3000      # a port the configuration trusts: not validated
    SOURCE_BOUND = 2000      # this port, MAC and bound address: on to SWITCHING
    SOURCE_ELSEWHERE = 1900  # a bound address from anywhere else: dropped
    SOURCE_UNBOUND = 1000    # the link's prefix or fe80::/10 unbound: the controller
    SOURCE_DEFAULT = 0       # anything else (::, other prefixes, not IPv6): dropped
    # SWITCHING
    LINK_MULTICAST = 2000    # 33:33:* flooded to the link's other host ports
    TO_ROUTER = 1000         # eth_dst = router MAC: routed
    HOST_MAC = 500           # eth_dst = a host of this link: switched
    # MPLS_IN and LSP
    LSP = 1000
    LSP_HAIRPIN = 1100       # LSP: back out of the ingress port, at access switches
    TRANSIT = 0              # MPLS_IN: a label that is not ours goes on to LSP
    # ROUTING
    MOBILITY_HEADER = 3100   # every mobility header (ip_proto 135) is the controller's
    ROUTER_ADDRESS = 3000    # the controller's own addresses and link-locals
    LINK_LOCAL_SOURCE = 2900  # anything else from fe80::/10 is not routed: dropped
    ROUTE_OPTIMISED = 2800   # a correspondent binding: correspondent <-> care-of link
    NETWORK_PATH = 2700      # network mode: home address from this ingress switch, direct
    REVERSE_TUNNEL = 2600    # from an away MN's port, MAC and home address: to home
    INGRESS_DETECT = 2550    # network mode, at home: intercepted, and a copy to us
    BINDING = 2500           # home address: intercepted at home, delivered at the CoA
    HOST_ROUTE = 2000        # /128 of a host on this switch's link
    PREFIX = 1000            # a link's /64: LSP, or the controller for resolution
    NO_ROUTE = 0             # anything else: Destination Unreachable
    # PUNT
    PUNT_PORT = 1000         # from this host port: its meter, then the controller
    PUNT_SHARED = 0          # from a trunk (through the domain): the switch's meter


# A cookie names what owns a rule (docs/pipeline.md): the kind in the top byte, the owner
# below. Rules are deleted by cookie, never by guessing their match.
COOKIE_KIND_SHIFT = 56
COOKIE_MASK_ALL = 0xFFFFFFFFFFFFFFFF


class CookieKind(enum.IntEnum):
    BASE = 1    # per-switch rules that never change
    TRUNK = 2   # per inter-switch port; owner = port number
    LSP = 3     # per label; owner = label
    HOST = 4    # per learned host; owner = a hash of its MAC
    PREFIX = 5  # per link prefix; owner = label of the link
    BINDING = 6  # per binding; owner = the low 56 bits of the home address
    ROUTE_OPTIMISED = 7  # route optimisation; owner = the low 56 bits of the home address
    SOURCE = 8  # a source address binding; owner = a hash of its link and address
    PUNT = 9    # the metered way to the controller of a host port; owner = port number


# OpenFlow metadata bit set when a packet leaves its LSP at this switch, so a rule can
# tell packets that came through the domain from packets a host of this link sent.
METADATA_FROM_LSP = 1


def cookie(kind, owner=0):
    return (int(kind) << COOKIE_KIND_SHIFT) | (owner & ((1 << COOKIE_KIND_SHIFT) - 1))


def flow_identity(table, priority, match):
    """What identifies a flow entry in a table (OpenFlow 1.3 §6.4). A mask of all ones
    is no mask: OVS reports such a field unmasked."""
    fields = []
    for name, value in match.items():
        if isinstance(value, tuple) and _all_ones(value[1]):
            value = value[0]
        fields.append((name, str(value)))
    return int(table), int(priority), tuple(sorted(fields))


def _all_ones(mask):
    if isinstance(mask, int):
        return mask != 0 and (mask + 1) & mask == 0 and mask.bit_length() % 8 == 0
    return set(mask.replace(":", "").lower()) == {"f"}
