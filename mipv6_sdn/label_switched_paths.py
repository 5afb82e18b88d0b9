"""Label-switched paths: one MPLS LSP per access switch, over shortest paths.

Every access switch is the egress of the LSP of its link's label; every switch with a
path to it label-switches towards it, and every access switch pushes packets for
another link's prefix onto that link's LSP (docs/pipeline.md). Core state grows with
the number of access links, not hosts or bindings.
"""
from mipv6_sdn import ofmsg, wire
from mipv6_sdn.pipeline import METADATA_FROM_LSP, CookieKind, Priority, Table, cookie
from mipv6_sdn.router_part import RouterPart
from mipv6_sdn.topology import POP

# The domain is one router hop: the hop limit is decremented once, at the egress. The
# MPLS TTL only guards against forwarding loops while paths reconverge.
LSP_TTL = 255


def lsp_rules(label, hop, hairpin):
    """The rules of one LSP at one switch. At an access switch a packet popped from one
    LSP may be pushed onto another that leaves by the port it came in on (interception,
    reverse tunnelling), and OpenFlow only sends a packet back out of its ingress port
    when told so (OFPP_IN_PORT): hence the hairpin rule."""
    owner = cookie(CookieKind.LSP, label)
    match = ofmsg.match(eth_type=wire.ETH_TYPE_MPLS, mpls_label=label)
    if hop == POP:
        return [ofmsg.flow_add(Table.MPLS_IN, Priority.LSP, match, [
            ofmsg.apply([ofmsg.pop_mpls()]),
            ofmsg.write_metadata(METADATA_FROM_LSP, METADATA_FROM_LSP),
            ofmsg.goto(Table.ROUTING)], owner)]
    rules = [ofmsg.flow_add(Table.LSP, Priority.LSP, match, [
        ofmsg.apply([ofmsg.dec_mpls_ttl(), ofmsg.output(hop)])], owner)]
    if hairpin:
        back = ofmsg.match(in_port=hop, eth_type=wire.ETH_TYPE_MPLS, mpls_label=label)
        rules.append(ofmsg.flow_add(Table.LSP, Priority.LSP_HAIRPIN, back, [
            ofmsg.apply([ofmsg.dec_mpls_ttl(), ofmsg.output(ofmsg.OFP.OFPP_IN_PORT)])],
            owner))
    return rules


class LabelSwitchedPaths(RouterPart):
    """The LSP rules installed in every connected switch."""

    def __init__(self, links, topology):
        self.links = links
        self.topology = topology
        self.installed = {}  # dpid -> {label: out port or POP}

    def switch_up(self, now, dpid):
        self.installed[dpid] = {}
        return [(dpid, rule) for rule in self.prefix_rules(dpid)]

    def switch_down(self, now, dpid):
        self.installed.pop(dpid, None)
        return []

    def prefix_rules(self, dpid):
        """At an access switch: its own prefix to the controller (address resolution),
        every other link's prefix onto that link's LSP."""
        if not self.links.is_access_switch(dpid):
            return []
        rules = []
        for link in self.links.links:
            match = ofmsg.match(eth_type=wire.ETH_TYPE_IPV6, ipv6_dst=(
                str(link.prefix.network_address), str(link.prefix.netmask)))
            if link.dpid == dpid:
                instructions = [ofmsg.goto(Table.PUNT)]
            else:
                instructions = [ofmsg.apply(ofmsg.push_mpls(link.label, LSP_TTL)),
                                ofmsg.goto(Table.LSP)]
            rules.append(ofmsg.flow_add(Table.ROUTING, Priority.PREFIX, match, instructions,
                                        cookie(CookieKind.PREFIX, link.label)))
        return rules

    def sync(self):
        """Bring every switch's label switching in line with the current shortest paths."""
        wanted = {dpid: {} for dpid in self.installed}
        for link in self.links.links:
            for dpid, hop in self.topology.lsp_next_hops(link.dpid).items():
                if dpid in wanted:
                    wanted[dpid][link.label] = hop
        msgs = []
        for dpid, labels in wanted.items():
            installed = self.installed[dpid]
            for label in sorted(set(installed) | set(labels)):
                if installed.get(label) == labels.get(label):
                    continue
                if label in installed:
                    msgs.append((dpid, ofmsg.flow_delete_cookie(cookie(CookieKind.LSP, label))))
                if label in labels:
                    msgs += [(dpid, rule) for rule in lsp_rules(
                        label, labels[label], self.links.is_access_switch(dpid))]
            self.installed[dpid] = labels
        return msgs

    def desired_rules(self, dpid):
        rules = self.prefix_rules(dpid)
        for label, hop in sorted(self.installed.get(dpid, {}).items()):
            rules += lsp_rules(label, hop, self.links.is_access_switch(dpid))
        return rules

    def routes(self):
        """Installed label actions as plain data, for the view."""
        return [{"dpid": dpid, "label": label, "action": hop}
                for dpid, labels in sorted(self.installed.items())
                for label, hop in sorted(labels.items())]
