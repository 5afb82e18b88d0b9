"""The switch graph that LLDP discovers, and the label-switched paths over it.

Every access switch is the egress of one LSP (docs/pipeline.md). :meth:`Topology.lsp_next_hops`
says, for one egress, which port each other switch sends that label out of; paths are
shortest paths in hops (networkx), so core state grows with access links, not hosts.
"""
import networkx

POP = "pop"  # the LSP action at its egress switch


class Topology:
    """Switches and the directed inter-switch links between them."""

    def __init__(self):
        self.graph = networkx.DiGraph()

    def add_switch(self, dpid):
        self.graph.add_node(dpid)

    def remove_switch(self, dpid):
        if dpid in self.graph:
            self.graph.remove_node(dpid)

    def add_link(self, src, src_port, dst, dst_port):
        """A link seen in the direction ``src`` → ``dst``; both switches must be up."""
        if src in self.graph and dst in self.graph:
            self.graph.add_edge(src, dst, src_port=src_port, dst_port=dst_port)

    def remove_link(self, src, dst):
        if self.graph.has_edge(src, dst):
            self.graph.remove_edge(src, dst)

    def remove_port(self, dpid, port):
        """Drop the links that leave or enter ``dpid`` through ``port``."""
        doomed = [(u, v) for u, v, data in self.graph.out_edges(dpid, data=True)
                  if data["src_port"] == port]
        doomed += [(u, v) for u, v, data in self.graph.in_edges(dpid, data=True)
                   if data["dst_port"] == port]
        self.graph.remove_edges_from(doomed)

    def _confirmed(self):
        """The links seen in both directions over the same pair of ports. LLDP seen one
        way only may be a host's forgery (docs/security.md): it makes no trunk."""
        def both_ways(u, v):
            back = self.graph.get_edge_data(v, u)
            there = self.graph.edges[u, v]
            return back is not None and (back["src_port"], back["dst_port"]) == (
                there["dst_port"], there["src_port"])
        return networkx.subgraph_view(self.graph, filter_edge=both_ways)

    def trunk_ports(self, dpid):
        """Ports of ``dpid`` on which a link to another switch was seen both ways."""
        if dpid not in self.graph:
            return set()
        return {data["src_port"] for _, _, data in self._confirmed().out_edges(dpid, data=True)}

    def lsp_next_hops(self, egress):
        """{dpid: out port, or POP at ``egress``} for every switch with a path to it."""
        if egress not in self.graph:
            return {}
        graph = self._confirmed()
        paths = networkx.single_target_shortest_path(graph, egress)
        hops = {}
        for dpid, path in paths.items():
            if dpid == egress:
                hops[dpid] = POP
            else:
                hops[dpid] = graph.edges[path[0], path[1]]["src_port"]
        return hops

    def links(self):
        """[(src, src_port, dst, dst_port)] of the links seen both ways, in a stable
        order."""
        return sorted((u, d["src_port"], v, d["dst_port"])
                      for u, v, d in self._confirmed().edges(data=True))
