"""The observable kind of a pattern path read through the memo of seen paths (issue 20) is
``pattern_path_kind``'s, a second time as the first, and the memo stays bounded."""

from __future__ import annotations

import pytest

from colsec.stix import observables
from colsec.stix.observables import atom_observable, extract, normalise, pattern_path_kind

PATHS = [
    ("ipv4-addr", "value"), ("ipv6-addr", "value"), ("domain-name", "value"), ("url", "value"),
    ("file", "hashes.'SHA-256'"), ("file", "hashes.SHA-256"), ("file", "hashes.MD5"), ("file", "hashes.sha1"),
    ("file", "hashes.unknown"), ("file", "hashes."), ("file", "name"), ("network-traffic", "dst_ref.value"),
    ("network-traffic", "src_ref.value"), ("network-traffic", "dst_port"), ("x-custom", "value"), ("", ""),
]  # fmt: skip


@pytest.mark.parametrize(("object_type", "path"), PATHS)
def test_memo_gives_the_path_kind(object_type: str, path: str) -> None:
    for _ in range(2):  # read, then from the memo
        assert observables._path_kind(object_type, path) == pattern_path_kind(object_type, path)
        kind = pattern_path_kind(object_type, path)
        expected = normalise(kind, "10.0.0.1") if kind else None
        assert atom_observable(object_type, path, "10.0.0.1") == expected


def test_extract_reads_through_the_memo() -> None:
    obj = {
        "type": "indicator",
        "pattern_type": "stix",
        "pattern": "[file:hashes.'SHA-256' = 'AB' AND url:value = 'x']",
    }
    assert list(extract(obj)) == [("sha256", "ab"), ("url", "x")]
    assert list(extract(obj)) == [("sha256", "ab"), ("url", "x")]


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observables, "_MAX_KINDS", 3)
    monkeypatch.setattr(observables, "_KINDS", {})
    for i in range(10):
        assert observables._path_kind(f"x-{i}", "value") is None
        assert len(observables._KINDS) <= 3
