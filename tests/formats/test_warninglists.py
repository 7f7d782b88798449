"""MISP warninglists: stored by migration-made tables, looked up by list type."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from colsec.errors import InvalidInput
from colsec.formats.warninglists import (
    WarninglistIndex,
    cached_index,
    import_warninglists,
    is_warninglisted,
    load_index,
)


def test_import_and_lookup(db: Session, make_account: Callable[..., Any], shared_data: Path) -> None:
    acc = make_account()
    counts = import_warninglists(db, actor=acc.actor, path=shared_data / "misp/warninglists")
    assert len(counts) >= 40 and counts["rfc1918"] >= 3
    again = import_warninglists(db, actor=acc.actor, path=shared_data / "misp/warninglists")
    assert again == counts  # re-import replaces, never duplicates
    idx = load_index(db)
    assert idx.lists_for("ipv4", "10.1.2.3") & {"List of RFC 1918 CIDR blocks"}
    assert idx.is_warninglisted("ipv4", "192.168.0.1")
    assert not idx.is_warninglisted(
        "ipv4", "198.51.100.77"
    ) or "List of RFC 5735 CIDR blocks" in idx.lists_for("ipv4", "198.51.100.77")
    assert idx.is_warninglisted("ipv4", "8.8.8.8")  # public DNS resolvers
    assert idx.is_warninglisted("domain", "d41d8cd98f00b204e9800998ecf8427e") is False
    assert idx.is_warninglisted("md5", "d41d8cd98f00b204e9800998ecf8427e")  # empty-hashes
    assert not idx.is_warninglisted("domain", "clearly-not-listed-x7q.example")
    assert cached_index(db) is cached_index(db)  # built once while the lists do not change
    assert "List of RFC 1918 CIDR blocks" in is_warninglisted(db, "ipv4", "172.16.5.4")
    assert is_warninglisted(db, "ipv4", "198.51.100.200") <= {"List of RFC 5735 CIDR blocks"}


def test_index_semantics() -> None:
    idx = WarninglistIndex.build(
        [
            ("nets", "cidr", ["192.0.2.0/24", "2001:db8::/32"]),
            ("hosts", "hostname", ["example.org"]),
            ("strings", "string", ["Evil.Example"]),
            ("subs", "substring", ["sinkhole"]),
        ]
    )
    assert idx.lists_for("ipv4", "192.0.2.55") == {"nets"}
    assert idx.lists_for("ipv4", "192.0.3.1") == set()
    assert idx.lists_for("ipv6", "2001:db8::1") == {"nets"}
    assert idx.lists_for("cidr4", "192.0.2.0/25") == {"nets"}
    assert idx.lists_for("domain", "www.example.org") == {"hosts"}
    assert idx.lists_for("domain", "badexample.org") == set()
    assert idx.lists_for("url", "https://a.example.org/x") == {"hosts"}
    assert idx.lists_for("domain", "evil.example") == {"strings"}
    assert idx.lists_for("domain", "a.sinkhole.example.net") == {"subs"}


def test_lookup_is_fast() -> None:
    nets = [f"10.{a}.{b}.0/24" for a in range(256) for b in range(0, 256, 4)]
    idx = WarninglistIndex.build(
        [("big", "cidr", nets), ("hosts", "hostname", [f"h{i}.example.com" for i in range(20000)])]
    )
    t0 = time.perf_counter()
    for i in range(20000):
        idx.is_warninglisted("ipv4", f"10.{i % 256}.{i % 200}.9")
        idx.is_warninglisted("domain", f"x.h{i}.example.com")
    assert time.perf_counter() - t0 < 5


def test_bad_list_refused(tmp_path: Path, db: Session, make_account: Callable[..., Any]) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "list.json").write_text('{"type": "nope", "list": []}')
    with pytest.raises(InvalidInput, match="not a MISP warninglist"):
        import_warninglists(db, actor=make_account().actor, path=tmp_path)
