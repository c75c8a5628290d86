"""What one reconcile run did (the handler returns it; each count is a metric)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReconcileReport:
    """What one reconcile run did, returned by the handler."""

    examined: int = 0
    changed: int = 0
    expired: int = 0
    unchanged: int = 0
    items_read: int = 0
    status_calls: int = 0
    failed_batches: int = 0
    publish_failures: int = 0
    blocked_added: int = 0
    blocked_removed: int = 0
    reannounced: int = 0
    closed_incomplete: int = 0  # long inbound messages announced without all their parts
    resent: int = 0  # messages put back on the send queue after a temporary failure
    complete: bool = True  # every stale message was examined (else a cursor was saved)
    blocked_synced: bool = False
