"""The outbound allow-list for tests whose peers, feeds and webhooks run on this machine."""

from __future__ import annotations

from colsec.outbound import OutboundPolicy

__all__ = ["LOOPBACK", "LOOPBACK_ALLOW", "LOOPBACK_ENV"]

LOOPBACK_ALLOW = ["127.0.0.0/8", "::1", "localhost"]
LOOPBACK = OutboundPolicy.from_entries(LOOPBACK_ALLOW)
LOOPBACK_ENV = {"COLSEC_OUTBOUND_ALLOW": ",".join(LOOPBACK_ALLOW)}
