"""The warninglist verdicts correlation asks for, kept per value, answer as the index answers.

``hooks.benign_lookup`` keeps each (kind, value) verdict while the stored lists stay the same,
and asks nothing when no list is stored; both must give the index's own answers.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.formats.warninglists import cached_index, import_warninglists
from colsec.intel import hooks
from colsec.intel.hooks import IntelConfig, benign_lookup

_VALUES = [
    ("ipv4", "8.8.8.8"), ("ipv4", "1.1.1.1"), ("ipv4", "198.51.100.7"), ("cidr4", "10.0.0.0/8"),
    ("domain", "google.com"), ("domain", "www.google.com"), ("domain", "host1.example.invalid"),
    ("url", "https://www.microsoft.com/x"), ("url", "https://evil.example.invalid/"),
    ("email", "postmaster@example.org"), ("email", "x@evil.example.invalid"), ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), ("ipv6", "2001:4860:4860::8888"),
]  # fmt: skip


def test_kept_verdicts_are_the_index_answers(db: Session, shared_data: Path) -> None:
    assert benign_lookup(db, IntelConfig()) is None  # nothing stored: nothing to ask
    import_warninglists(db, actor=SYSTEM, path=shared_data / "misp" / "warninglists")
    index = cached_index(db)
    expected = [", ".join(sorted(index.lists_for(k, v))) or None for k, v in _VALUES]
    assert sum(e is not None for e in expected) >= 4  # the values hit lists and miss them
    lookup = benign_lookup(db, IntelConfig())
    assert lookup is not None
    assert [lookup(k, v) for k, v in _VALUES] == expected
    again = benign_lookup(db, IntelConfig())
    assert again is lookup  # the same lists: the verdicts are kept
    assert [again(k, v) for k, v in reversed(_VALUES)] == expected[::-1]
    hooks._by_index.clear()
    assert [benign_lookup(db, IntelConfig())(k, v) for k, v in _VALUES] == expected  # type: ignore[misc]
