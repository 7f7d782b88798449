"""The one signature on every HTTP delivery the node makes (alert and crisis webhooks, pushes).

    X-Colsec-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
    X-Colsec-Idempotency-Key: <key, the same on every retry of one message>
    X-Colsec-Event: <event name, e.g. alert or incident.reported>

The timestamp is inside the MAC, so a captured request cannot be replayed after the
tolerance window; the idempotency key lets the receiver drop a redelivery (a retry
after a lost response, or after a deliverer died mid-send).  Receivers call
``verify`` (or re-implement these few lines) with the raw body as received.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from colsec.errors import Unauthorized

__all__ = [
    "EVENT_HEADER",
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TOLERANCE_SECONDS",
    "SignatureInvalid",
    "headers",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-Colsec-Signature"
IDEMPOTENCY_HEADER = "X-Colsec-Idempotency-Key"
EVENT_HEADER = "X-Colsec-Event"
TOLERANCE_SECONDS = 300


class SignatureInvalid(Unauthorized):
    """The request is not signed with the shared secret, was altered, or is too old."""

    code = "signature_invalid"


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``X-Colsec-Signature`` value for ``body`` sent now (or at ``timestamp``)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_mac(secret, t, body)}"


def headers(secret: str, body: bytes, *, event: str, idempotency_key: str) -> dict[str, str]:
    """Every header a signed delivery carries."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body),
        IDEMPOTENCY_HEADER: idempotency_key,
        EVENT_HEADER: event,
    }


def verify(
    secret: str,
    body: bytes,
    signature: str | None,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check ``signature`` (the header value) over the raw ``body``; returns its timestamp.

    Raises ``SignatureInvalid`` naming the reason: missing or malformed header, a MAC
    that does not match (wrong secret, altered body or timestamp), or a timestamp
    further than ``tolerance`` seconds from ``now`` (a replay).
    """
    if not signature:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in signature.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureInvalid(f"malformed {SIGNATURE_HEADER} header: no t=<unix seconds>") from None
    expected = _mac(secret, t, body)
    # Several v1 values are accepted so a sender may sign with an old and a new secret while rotating.
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise SignatureInvalid("signature does not match the body and the shared secret")
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        raise SignatureInvalid(f"signature timestamp {t} is outside the {tolerance} s tolerance window")
    return t
