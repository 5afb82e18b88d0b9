"""Reconciliation of a switch's rules with the controller's state after a restart.

Rules are compared by their identity in a flow table (:func:`mipv6_sdn.pipeline.
flow_identity`) and their cookie's kind says who owns them (docs/pipeline.md). Trunk and
path rules are left alone: after a restart a neighbour may still be reconnecting and the
switches keep forwarding through it; they are replaced as paths are learned.
"""
import logging

from mipv6_sdn import ofmsg
from mipv6_sdn.pipeline import COOKIE_KIND_SHIFT, CookieKind, flow_identity

LOG = logging.getLogger(__name__)
RECONCILED_KINDS = frozenset(int(kind) for kind in CookieKind) - {CookieKind.TRUNK,
                                                                  CookieKind.LSP}


def reconcile(dpid, flows, desired_rules):
    """The messages that make switch ``dpid``, holding ``flows`` (table, priority,
    OFPMatch, cookie), hold ``desired_rules``: stale rules of ours deleted, missing ones
    added; other applications' rules untouched."""
    present = {flow_identity(table, priority, match): (table, priority, match, owner)
               for table, priority, match, owner in flows
               if owner >> COOKIE_KIND_SHIFT in RECONCILED_KINDS}
    desired = {flow_identity(r.table_id, r.priority, r.match): r for r in desired_rules
               if r.cookie >> COOKIE_KIND_SHIFT in RECONCILED_KINDS}
    stale, missing = sorted(set(present) - set(desired)), sorted(set(desired) - set(present))
    msgs = [(dpid, ofmsg.flow_delete_strict(*present[key])) for key in stale]
    msgs += [(dpid, desired[key]) for key in missing]
    if msgs:
        LOG.info("dpid %d reconciled: %d stale rules deleted, %d missing added", dpid,
                 len(stale), len(missing))
    return msgs
