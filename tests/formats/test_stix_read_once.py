"""A STIX file is decided the same way at every size and compression, and gzip input is
expanded once: a bundle with a repeated key is refused everywhere (naming the key), and a
small gzip file expanding past what a whole read holds is not expanded a second time."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

import colsec.formats.stix_bundle as stix_bundle
from colsec.db import Database
from colsec.errors import ColsecError, InvalidInput, TooLarge
from colsec.formats.adapters import parse_stix
from colsec.formats.gzipped import OUT_STEP, RATIO_AFTER
from colsec.formats.stix_bundle import read_bundle_file, read_stix_file

from .test_bundle_stream import HEAD, _write_indicators
from .test_gzip_ahead import _multi_member
from .test_limits_gzip import _run

OBJECT = orjson.dumps(
    {
        "type": "indicator", "spec_version": "2.1", "id": "indicator--0b6e4bd4-3f43-4d5e-9d1c-6f1b1e0c7a11",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
)  # fmt: skip


class _Counting:
    """A zlib decompressor that counts the bytes it hands out."""

    def __init__(self, inner: Any, counted: list[int]) -> None:
        self._inner = inner
        self._counted = counted

    def decompress(self, data: bytes, *args: Any) -> bytes:
        out: bytes = self._inner.decompress(data, *args)
        self._counted.append(len(out))
        return out

    def flush(self, *args: Any) -> bytes:
        out: bytes = self._inner.flush(*args)
        self._counted.append(len(out))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def inflated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes every gzip decompression hands out (gzip.open and in-memory inflation alike)."""
    counted: list[int] = []
    real = zlib.decompressobj
    monkeypatch.setattr(zlib, "decompressobj", lambda *a, **k: _Counting(real(*a, **k), counted))
    return counted


def _outcome(path: Path, **kwargs: Any) -> tuple[Any, ...]:
    try:
        return ("objects", orjson.dumps(list(read_stix_file(path, **kwargs))))
    except ColsecError as exc:
        return (type(exc).__name__, exc.message)


def test_small_gzip_expanding_past_the_whole_read_is_expanded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inflated: list[int]
) -> None:
    """Its trailer says it expands past what is held: streamed from the start, not expanded up
    to that size first and then again; a multi-member file (a small trailer) is handed on."""
    plain = tmp_path / "b.json"
    _write_indicators(plain, 12_000)
    text = plain.read_bytes()
    single = tmp_path / "single.json.gz"
    single.write_bytes(gzip.compress(text))
    multi = tmp_path / "multi.json.gz"
    _multi_member(multi, 12_000)
    expected = orjson.dumps(list(read_bundle_file(plain)))
    monkeypatch.setattr(stix_bundle, "SMALL_FILE", max(single.stat().st_size, multi.stat().st_size))
    assert len(text) > 8 * stix_bundle.SMALL_FILE
    for path in (single, multi):
        inflated.clear()
        assert _outcome(path) == ("objects", expected), path
        assert sum(inflated) == len(text), path


def test_refused_large_gzip_is_expanded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inflated: list[int]
) -> None:
    """Refused early, past what a whole read would hold: one pass, the stream's refusal."""
    plain = tmp_path / "b.json"
    _write_indicators(plain, 12_000)
    text = plain.read_bytes().replace(b'"objects": [', b'"id": "bundle--2", "objects": [', 1)
    path = tmp_path / "multi.json.gz"
    path.write_bytes(gzip.compress(text[:1000]) + gzip.compress(text[1000:-10]) + gzip.compress(text[-10:]))
    monkeypatch.setattr(stix_bundle, "SMALL_FILE", path.stat().st_size)
    assert len(text) > 8 * stix_bundle.SMALL_FILE
    assert _outcome(path) == ("InvalidInput", f"{path}: bundle has more than one 'id' member")
    assert sum(inflated) <= len(text)


def test_small_gzip_bomb_refused_after_one_pass(tmp_path: Path, inflated: list[int]) -> None:
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(
        gzip.compress(HEAD.encode() + b'"objects": [{"type": "x", "s": "' + b"a" * (48 << 20) + b'"}]}')
    )
    got = _outcome(bomb)
    assert got[0] == "TooLarge" and "decompression bomb" in got[1]
    assert sum(inflated) <= RATIO_AFTER + OUT_STEP
    inflated.clear()
    with pytest.raises(TooLarge, match="decompresses to more than 1048576 bytes"):
        list(read_stix_file(bomb, max_decompressed=1 << 20))
    assert sum(inflated) <= (1 << 20) + 1


DUPLICATES = {
    "id": HEAD.encode()
    + b'"id": "bundle--00000000-0000-4000-8000-000000000001", "objects": ['
    + OBJECT
    + b"]}",
    "objects": HEAD.encode() + b'"objects": [' + OBJECT + b'], "objects": []}',
    "type": HEAD.encode() + b'"objects": [' + OBJECT + b'], "type": "bundle"}',
    "spec_version": HEAD.encode() + b'"spec_version": "2.1", "objects": [], "spec_version": "2.1"}',
}


def _variants(tmp_path: Path, name: str, text: bytes) -> dict[str, Path]:
    """The same bundle plain and gzip, small and (with a small SMALL_FILE) large."""
    padded = text.replace(b'"objects":', b'"x_pad": "' + b"p" * 4096 + b'", "objects":', 1)
    out = {}
    for kind, data in (("plain", text), ("gzip", gzip.compress(text)), ("large", padded)):
        out[kind] = tmp_path / f"{name}-{kind}.json{'.gz' if kind == 'gzip' else ''}"
        out[kind].write_bytes(data)
    out["large-gzip"] = tmp_path / f"{name}-large.json.gz"
    out["large-gzip"].write_bytes(gzip.compress(padded, compresslevel=0))
    return out


@pytest.mark.parametrize("key", sorted(DUPLICATES))
def test_repeated_bundle_key_refused_at_every_size_and_compression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setattr(stix_bundle, "SMALL_FILE", 4096)
    for kind, path in _variants(tmp_path, key, DUPLICATES[key]).items():
        assert kind.startswith("large") == (path.stat().st_size > 4096), kind
        assert _outcome(path) == ("InvalidInput", f"{path}: bundle has more than one {key!r} member"), kind
    with pytest.raises(InvalidInput, match=f"more than one {key!r} member"):
        list(next(parse_stix(DUPLICATES[key])).objects)


def test_repeated_keys_inside_objects_and_lone_objects_are_not_the_bundle(tmp_path: Path) -> None:
    """Only the bundle's own keys are refused when repeated; an object's are the store's concern
    (orjson keeps the last, in the stream's batches and in a whole read alike)."""
    inner = HEAD.encode() + b'"objects": [{"type": "x", "n": 1, "n": 2}]}'
    lone = b'{"type": "indicator", "id": "indicator--1", "name": "a", "name": "b"}'
    for name, text, expected in (("inner", inner, 2), ("lone", lone, "b")):
        for suffix, data in (("json", text), ("json.gz", gzip.compress(text))):
            path = tmp_path / f"{name}.{suffix}"
            path.write_bytes(data)
            objs = list(read_stix_file(path))
            assert objs[0]["n" if name == "inner" else "name"] == expected


def test_cli_names_the_repeated_key(tmp_path: Path, sqlite_database: Database) -> None:
    path = tmp_path / "dup.json.gz"
    path.write_bytes(gzip.compress(DUPLICATES["id"]))
    assert _run(["org", "add", "CERT-A", "--name", "CERT A"], tmp_path, sqlite_database).returncode == 0
    for args in (
        ["import", str(path), "--org", "CERT-A"],
        ["formats", "import", str(path), "--org", "CERT-A"],
    ):
        r = _run(args, tmp_path, sqlite_database)
        assert r.returncode != 0, (args, r.stdout, r.stderr)
        assert "more than one 'id' member" in " ".join(r.stderr.split()), (args, r.stderr)
    r = _run(["stats"], tmp_path, sqlite_database)
    assert "indicator" not in r.stdout, r.stdout  # nothing written
    path.write_bytes(gzip.compress(DUPLICATES["id"].replace(b'"id": "bundle--0', b'"x_id": "bundle--0')))
    assert _run(["import", str(path), "--org", "CERT-A"], tmp_path, sqlite_database).returncode == 0
    assert "indicator" in _run(["stats"], tmp_path, sqlite_database).stdout


def test_api_names_the_repeated_key(
    client: TestClient, make_account: Callable[..., Any], run_jobs: Callable[[], int]
) -> None:
    acc = make_account()
    resp = client.post("/api/v1/imports", content=gzip.compress(DUPLICATES["objects"]), headers=acc.headers)
    assert resp.status_code == 202, resp.text
    run_jobs()
    status = client.get(resp.json()["url"], headers=acc.headers).json()
    assert status["status"] == "failed" and status["error"]["error"] == "invalid_input", status
    assert "more than one 'objects' member" in status["error"]["detail"], status
