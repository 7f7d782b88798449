"""The TAXII 2.1 media type, defined once for the server routes, the client and the web layer."""

from __future__ import annotations

__all__ = ["TAXII_MEDIA", "TAXII_TYPE"]

TAXII_TYPE = "application/taxii+json"
TAXII_MEDIA = f"{TAXII_TYPE};version=2.1"
