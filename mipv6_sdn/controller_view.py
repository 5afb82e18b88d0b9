"""The controller's view as plain data: what REST serves and the demo prints."""
import dataclasses


def binding_view(binding):
    return {"home_address": str(binding.home_address),
            "care_of_address": str(binding.care_of_address), "sequence": binding.sequence,
            "lifetime": binding.lifetime, "expires": binding.expires,
            "link_local": binding.link_local,
            "attachment": dataclasses.asdict(binding.attachment)
            if binding.attachment else None}


def controller_view(router):
    """Switches, links, access links, hosts, routes and bindings of ``router``."""
    return {
        "switches": router.ports.connected(),
        "links": [{"src": s, "src_port": sp, "dst": d, "dst_port": dp}
                  for s, sp, d, dp in router.topology.links()],
        "access_links": [{"name": link.name, "dpid": link.dpid, "prefix": str(link.prefix),
                          "router": str(link.router), "label": link.label,
                          "host_ports": router.ports.host_ports(link.dpid),
                          "home_agent": str(link.home_agent) if link.home_agent else None}
                         for link in router.links.links],
        "hosts": router.hosts.view(),
        "routes": router.lsps.routes(),
        "bindings": [binding_view(b) for b in sorted(router.home_agent.cache,
                                                     key=lambda b: b.home_address)],
        "binding_changes": {str(home): change
                            for home, change in sorted(router.forwarding.changes.items())},
        "correspondent_bindings": {
            str(correspondent): [binding_view(b) for b in sorted(
                cache, key=lambda b: b.home_address)]
            for correspondent, cache in sorted(router.correspondents.caches.items())
            if len(cache)},
        "route_optimisation": router.route_optimisation.view(),
        "source_validation": router.validation.view(),
        "flood_protection": router.flood.view(),
    }


ADDRESS_FIELDS = ("ipv6_src", "ipv6_dst", "ipv6_nd_target")


def rules_of(router, home_address):
    """The rules the switches should hold now for ``home_address`` (an IPv6Address):
    every rule that matches it as a source, destination or ND target, by switch."""
    wanted = str(home_address)
    rules = []
    for dpid in router.ports.connected():
        for rule in router.desired_rules(dpid):
            match = dict(rule.match.items())
            # a masked value is a (prefix, mask) tuple: a prefix, not this address
            if any(match.get(field) == wanted for field in ADDRESS_FIELDS):
                rules.append({"dpid": dpid, "table": rule.table_id, "priority": rule.priority,
                              "cookie": hex(rule.cookie),
                              "match": {k: _plain(v) for k, v in match.items()},
                              "instructions": [i.to_jsondict() for i in rule.instructions]})
    return rules


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
