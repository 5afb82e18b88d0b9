"""Home registrations as the router serves them: group commit around the Home Agent.

The Binding Updates to the Home Agent that arrive together are decided in turn, kept
in one journal transaction, then applied and answered in turn
(:meth:`mipv6_sdn.home_agent.HomeAgent.prepare_update`, ``keep_updates``,
``finish_update``): no BA leaves before its binding is kept, and a group the journal
cannot keep changes nothing and is not answered (the mobile nodes send again). Around
the Home Agent this part applies the domain's rules: a BU whose care-of address is
bound to another anchor is discarded, an authenticated deregistration anchors the home
address at home again, handovers are reported, and the answers go back as the router
answers any packet.
"""
import logging

from mipv6_sdn import ofmsg
from mipv6_sdn.home_agent import claimed_care_of
from mipv6_sdn.router_part import RouterPart

LOG = logging.getLogger(__name__)


class HomeRegistrations(RouterPart):
    """No state of its own: the Home Agent's, source validation's and the hosts'."""

    def __init__(self, home_agent, hosts, validation, resolution, events):
        self.home_agent = home_agent
        self.hosts = hosts
        self.validation = validation
        self.resolution = resolution
        self.events = events

    def home_owner(self, address):
        """The MAC known on its home link for ``address`` (home-link DAD)."""
        return self.hosts.owner_on_link(address, self.home_agent.home_link_of(address))

    def handle(self, now, updates):
        """What the home registrations ``updates`` ([(meta, origin, ingress)], of
        distinct mobile nodes and care-of addresses) call for, rules before BAs."""
        msgs = self.home_agent.expire(now)
        prepared, admitted = [], 0
        for meta, origin, ingress in updates:
            if self.validation.bound_elsewhere(ingress, claimed_care_of(meta)):
                # Its care-of address is someone else's: a copy of a mobile node's BU
                # from another port, or a node aiming its traffic at a neighbour
                # (docs/security.md).
                LOG.info("BU from dpid %d port %s: care-of %s is bound elsewhere: "
                         "discarded", ingress.dpid, ingress.port, claimed_care_of(meta))
                continue
            update = self.home_agent.prepare_update(now, meta, ingress, self.home_owner,
                                                    admitted)
            if update is None:
                continue
            prepared.append((update, origin))
            if update.accepted and update.decision.binding is not None and \
                    self.home_agent.cache.get(update.home) is None:
                admitted += 1
        kept = self.home_agent.keep_updates([update for update, _ in prepared])
        for update, origin in prepared:
            try:
                msgs += self._finish(now, update, origin, kept)
            except Exception:  # the core never raises; if it did, answer the rest
                LOG.exception("BU for %s: not answered", update.home)
        return msgs

    def _finish(self, now, update, origin, kept):
        home, ingress = update.home, update.attachment
        before = self.home_agent.cache.get(home)
        replies, changed = self.home_agent.finish_update(now, update, kept)
        after = self.home_agent.cache.get(home)
        if ingress is not None and before is not None and before.expires > now \
                and update.care_of == home and after is None:
            changed += self.validation.returned_home(now, home, ingress)  # deregistered
        if after is not None and (
                before is None or before.care_of_address != after.care_of_address):
            self.events.handover(now, before, after, ofmsg.count_flow_mods(changed), ingress)
        # The rules first, so forwarding is in place when the MN gets its BA.
        return changed + [m for reply in replies
                          for m in self.resolution.answer(now, update.meta, origin, reply)]
