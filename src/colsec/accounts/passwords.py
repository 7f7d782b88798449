"""argon2id password hashing and random API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "hash_token", "new_token", "tokens_equal", "verify_password"]

_hasher = PasswordHasher()
# A fixed hash to verify against when the user does not exist, so timing does not reveal usernames.
# A literal, not hashed at import: hashing costs a fifth of a CPU second and 64 MiB in every colsec
# process (each CLI command, worker and server start). Its parameters are the hasher's, so verifying
# against it costs what verifying a real user's hash does (tests/accounts/test_passwords.py holds it).
_DUMMY = "$argon2id$v=19$m=65536,t=3,p=4$ZsfzWRyJUAa/NKodTnYzuA$v7ZcyTJIKh7nIb8E5hQ23FAwZiuWeuDZTpuJH9zOPuo"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return "csk_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
