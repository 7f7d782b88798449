"""``colsec.outbox`` is imported by every domain that sends something: its public names are a contract."""

from __future__ import annotations

import colsec.outbox
from colsec.outbox import signing, text

EXPECTED = {
    "Channel", "Claimed", "DeliveryFailed", "OutboxMessage", "Outgoing", "RetryPolicy", "Sender", "Status",
    "deliver_due", "list_messages", "make_poller", "put", "retry",
}  # fmt: skip
SIGNING = {
    "EVENT_HEADER", "IDEMPOTENCY_HEADER", "SIGNATURE_HEADER", "TOLERANCE_SECONDS", "SignatureInvalid",
    "headers", "sign", "verify",
}  # fmt: skip
TEXT = {"LANGUAGES", "N_", "Message", "Text", "render"}  # what the domains say to people, and its marker


def _isort(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def test_public_names() -> None:
    for module, expected in ((colsec.outbox, EXPECTED), (signing, SIGNING), (text, TEXT)):
        assert set(module.__all__) == expected
        assert list(module.__all__) == sorted(module.__all__, key=_isort)  # ruff's RUF022 order
        for name in module.__all__:
            assert getattr(module, name) is not None, name
