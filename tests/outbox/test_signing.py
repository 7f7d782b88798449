"""The one delivery signature: only the right secret, the untouched body and a fresh timestamp pass."""

from __future__ import annotations

import time

import pytest

from colsec.outbox import signing
from colsec.outbox.signing import SignatureInvalid, sign, verify

SECRET = "receiver-shared-secret"
BODY = b'{"event":"alert","alert":{"id":1}}'


def test_a_fresh_signature_verifies_and_returns_its_timestamp() -> None:
    t = int(time.time())
    assert verify(SECRET, BODY, sign(SECRET, BODY, timestamp=t)) == t
    header = signing.headers(SECRET, BODY, event="alert", idempotency_key="alert:1:webhook:2")
    assert (
        header[signing.IDEMPOTENCY_HEADER] == "alert:1:webhook:2" and header[signing.EVENT_HEADER] == "alert"
    )
    assert verify(SECRET, BODY, header[signing.SIGNATURE_HEADER])


@pytest.mark.parametrize(
    ("secret", "body", "age", "reason"),
    [
        ("another-secret", BODY, 0, "does not match"),
        (SECRET, BODY.replace(b"1", b"2"), 0, "does not match"),
        (SECRET, BODY + b" ", 0, "does not match"),
        (SECRET, BODY, signing.TOLERANCE_SECONDS + 5, "tolerance"),
        (SECRET, BODY, -(signing.TOLERANCE_SECONDS + 5), "tolerance"),
    ],
    ids=["wrong-secret", "tampered-body", "appended-byte", "stale", "from-the-future"],
)
def test_wrong_secret_tampered_body_and_stale_timestamps_are_refused(
    secret: str, body: bytes, age: int, reason: str
) -> None:
    header = sign(SECRET, BODY, timestamp=int(time.time()) - age)
    with pytest.raises(SignatureInvalid, match=reason):
        verify(secret, body, header)


def test_a_moved_timestamp_breaks_the_mac() -> None:
    """The timestamp is signed: refreshing it to replay an old request fails."""
    old = int(time.time()) - 3600
    mac = sign(SECRET, BODY, timestamp=old).split("v1=")[1]
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(SECRET, BODY, f"t={int(time.time())},v1={mac}")


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=soon,v1=abc", "sha256=abc"])
def test_missing_or_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        verify(SECRET, BODY, header)


def test_either_of_two_secrets_during_rotation() -> None:
    t = int(time.time())
    old, new = sign("old-secret", BODY, timestamp=t), sign(SECRET, BODY, timestamp=t)
    both = f"{old},v1={new.split('v1=')[1]}"
    assert verify(SECRET, BODY, both) == t and verify("old-secret", BODY, both) == t
