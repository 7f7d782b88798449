"""Gzip bundles decompressed a chunk ahead in a helper thread: the same objects and the same
refusals (exact messages) as reading on the caller's thread, and no thread left running."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

import colsec.formats.stix_bundle as stix_bundle
from colsec.errors import ColsecError
from colsec.formats.stix_bundle import GzipInflater, open_maybe_gzip, read_bundle, read_stix_file

from .test_bundle_stream import HEAD, _write_indicators

LIMIT = 1 << 31


def _read(path: Path, *, ahead: bool, chunk_size: int = 1 << 20, limit: int = LIMIT) -> tuple[Any, ...]:
    try:
        with open_maybe_gzip(path, max_decompressed=limit) as f:
            return (
                "objects",
                orjson.dumps(list(read_bundle(f, source="t", chunk_size=chunk_size, ahead=ahead))),
            )
    except ColsecError as exc:
        return (type(exc).__name__, exc.message)


def _whole(path: Path, limit: int = LIMIT) -> tuple[Any, ...]:
    """What the small-file path gave before: gzip expanded in one call, then parsed whole."""
    try:
        data = stix_bundle.gunzip_whole(path.read_bytes(), source=str(path), limit=limit)
        value = orjson.loads(data)
        objs = value.get("objects", []) if isinstance(value, dict) and "objects" in value else value
        return ("objects", orjson.dumps(objs if isinstance(objs, list) else [objs]))
    except ColsecError as exc:
        return (type(exc).__name__, exc.message)


def _small(path: Path, limit: int = LIMIT) -> tuple[Any, ...]:
    try:
        return ("objects", orjson.dumps(list(read_stix_file(path, max_decompressed=limit))))
    except ColsecError as exc:
        return (type(exc).__name__, exc.message)


def _multi_member(path: Path, n: int) -> None:
    """A bundle split over several gzip members at arbitrary bytes, zero padding after the last."""
    plain = path.with_suffix(".plain")
    _write_indicators(plain, n)
    data = plain.read_bytes()
    cuts = [0, 17, len(data) // 3, len(data) // 2 + 5, len(data)]
    path.write_bytes(
        b"".join(gzip.compress(data[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)) + b"\0" * 8
    )


def test_real_and_generated_files_read_the_same(shared_data: Path, tmp_path: Path) -> None:
    attack = shared_data / "attack" / "enterprise-attack-18.1.stix21.json.gz"
    expected = _read(attack, ahead=False)
    assert expected[0] == "objects" and len(orjson.loads(expected[1])) == 24_771
    assert _read(attack, ahead=True) == expected
    assert _small(attack) == _whole(attack) == expected
    multi = tmp_path / "multi.json.gz"
    _multi_member(multi, 400)
    expected = _read(multi, ahead=False)
    assert len(orjson.loads(expected[1])) == 400
    for size in (1, 3, 64, 4096):
        assert _read(multi, ahead=True, chunk_size=size) == expected, size
    assert _small(multi) == _whole(multi) == expected


def test_the_helper_thread_decompresses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths (streamed and small file) inflate off the caller's thread."""
    path = tmp_path / "b.json.gz"
    _write_indicators(path, 2_000, gz=True)
    readers: set[str] = set()
    read = GzipInflater.read

    def recording(self: GzipInflater, size: int | None = -1) -> bytes:
        readers.add(threading.current_thread().name)
        return read(self, size)

    monkeypatch.setattr(GzipInflater, "read", recording)
    assert len(list(read_stix_file(path))) == 2_000
    assert len(list(stix_bundle.read_bundle_file(path))) == 2_000
    assert readers and all(name.startswith("colsec-gunzip") for name in readers), readers


def test_errors_are_the_same(tmp_path: Path) -> None:
    """Truncated, past the cap, a bomb: the same exception and message with the helper thread,
    and on the small-file path the messages of the whole read it replaced."""
    path = tmp_path / "b.json.gz"
    _write_indicators(path, 20_000, gz=True)
    data = path.read_bytes()
    for cut_at in (100, len(data) // 2, len(data) - 20):
        cut = tmp_path / f"cut{cut_at}.json.gz"
        cut.write_bytes(data[:cut_at])
        expected = _read(cut, ahead=False)
        assert expected[0] == "InvalidInput" and "truncated" in expected[1]
        assert _read(cut, ahead=True) == _read(cut, ahead=True, chunk_size=4093) == expected
        assert _small(cut) == _whole(cut)
        assert _small(cut)[0] == "InvalidInput" and "compressed data ends" in _small(cut)[1]
    capped = _read(path, ahead=False, limit=1 << 20)
    assert capped[0] == "TooLarge" and "max_decompressed_bytes" in capped[1]
    assert _read(path, ahead=True, limit=1 << 20) == capped
    assert _small(path, limit=1 << 20) == _whole(path, limit=1 << 20) == capped
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(
        gzip.compress(HEAD.encode() + b'"objects": [{"type": "x", "s": "' + b"a" * (48 << 20) + b'"}]}')
    )
    expected = _read(bomb, ahead=False)
    assert expected[0] == "TooLarge" and "decompression bomb" in expected[1]
    assert _read(bomb, ahead=True) == expected
    assert _small(bomb) == _whole(bomb) == expected


def test_non_bundles_and_refusals_read_whole_as_before(tmp_path: Path) -> None:
    """A lone object, a list, a bundle the stream refuses: the small-file path's own answers."""
    cases = {
        "lone": b'{"type": "indicator", "id": "indicator--1", "objects": {"0": {"type": "file"}}}',
        "list": b'[{"type": "indicator", "id": "indicator--1"}, {"type": "file", "id": "file--2"}]',
        "late_bad": HEAD.encode() + b'"objects": [{"type": "x"}, {"type": "y"}, 5]}',
        "not_json": HEAD.encode() + b'"objects": [{"type": "x"}, {"type": "y"}',
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.json.gz"
        path.write_bytes(gzip.compress(text))
        plain = tmp_path / f"{name}.json"
        plain.write_bytes(text)
        got, reference = _small(path), _small(plain)  # a plain file is still read whole
        if reference[0] != "objects":
            reference = (reference[0], reference[1].replace(str(plain), str(path)))
        assert got == reference, name
    assert orjson.loads(_small(tmp_path / "list.json.gz")[1])[1]["type"] == "file"
    assert _small(tmp_path / "lone.json.gz")[0] == "objects"


def test_past_the_whole_read_size_streams_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small file expanding past what the whole read holds continues as one stream: objects
    come before the end of the input, which is expanded once."""
    path = tmp_path / "b.json.gz"
    _multi_member(path, 12_000)
    expected = _read(path, ahead=False)
    size = path.stat().st_size
    monkeypatch.setattr(stix_bundle, "SMALL_FILE", size)  # small, and expanding past 8 times that
    expanded = len(gzip.decompress(path.read_bytes()))
    assert expanded > 8 * size
    assert _small(path) == expected and len(orjson.loads(expected[1])) == 12_000
    single = tmp_path / "single.json.gz"  # its trailer says it is too large to hold: not held
    single.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())))
    assert single.stat().st_size <= size
    assert _small(single) == expected
    for file in (path, single):
        read: list[int] = []
        real = stix_bundle.GzipInflater.read

        def counting(self: Any, n: int = -1, read: list[int] = read, real: Any = real) -> bytes:
            out: bytes = real(self, n)
            read.append(len(out))
            return out

        monkeypatch.setattr(stix_bundle.GzipInflater, "read", counting)
        objects = read_stix_file(file)
        next(objects)
        assert sum(read) < expanded  # handed on before the end
        assert sum(1 for _ in objects) == 11_999 and sum(read) == expanded
        monkeypatch.setattr(stix_bundle.GzipInflater, "read", real)


@pytest.mark.parametrize("small", [True, False])
def test_early_close_leaves_no_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: bool) -> None:
    path = tmp_path / "b.json.gz"
    if small:  # small, its trailer hinting at a small size: held, then handed on to the stream
        _multi_member(path, 20_000)
        monkeypatch.setattr(stix_bundle, "SMALL_FILE", path.stat().st_size)
    else:
        _write_indicators(path, 20_000, gz=True)
    before = {t.ident for t in threading.enumerate()}
    it = read_stix_file(path) if small else stix_bundle.read_bundle_file(path)
    assert next(it)["type"] == "indicator"
    assert any(t.name.startswith("colsec-gunzip") for t in threading.enumerate())
    it.close()
    assert {t.ident for t in threading.enumerate()} == before
