"""The base of the router's parts (faucet's manager pattern, docs/architecture.md).

The :class:`mipv6_sdn.router.Router` façade fans every switch event and the periodic
tick out to its parts in a fixed order and concatenates the ``(dpid, message)`` pairs
they return. Each part owns its state; a part overrides only the hooks it needs.
"""


class RouterPart:
    """Hooks with nothing to do by default; each returns a list of (dpid, message)."""

    def switch_up(self, now, dpid):
        """Switch ``dpid`` connected (its ports are known to :class:`PortRoles`)."""
        return []

    def switch_down(self, now, dpid):
        return []

    def tick(self, now):
        return []

    def desired_rules(self, dpid):
        """The flow-mods of this part that switch ``dpid`` should hold now (no dpid)."""
        return []
