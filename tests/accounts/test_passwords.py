"""The unknown-user dummy hash: a literal that must cost what a real user's hash costs to verify."""

from __future__ import annotations

from argon2 import extract_parameters

from colsec.accounts import passwords


def test_dummy_hash_has_the_hashers_parameters() -> None:
    """A login for a missing user verifies against the dummy; with other argon2 parameters (say, after
    an argon2-cffi upgrade changes its defaults) its timing would tell missing users from real ones."""
    assert extract_parameters(passwords._DUMMY) == passwords._hasher._parameters
    assert extract_parameters(passwords.hash_password("x")) == extract_parameters(passwords._DUMMY)


def test_dummy_hash_is_verified_and_never_accepted() -> None:
    assert passwords.verify_password(None, "colsec-dummy-password") is False
    assert passwords.verify_password(None, "anything") is False
