"""Finding 15a: hostile nesting is refused at the depth limit, in linear time and small memory."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.errors import InvalidInput, TooLarge
from colsec.formats.stix_bundle import read_bundle
from colsec.jsonutil import DepthScanner, check_text_depth, load_file, loads

DEEP = 100_000


def _deep(n: int = DEEP) -> bytes:
    return b"[" * n + b"]" * n


def _bundles() -> dict[str, bytes]:
    head = b'{"type": "bundle", "id": "bundle--5e0e2f4c-6c3b-4a3b-9d59-1a2b3c4d5e6f", '
    return {
        "in an object": head + b'"objects": [{"type": "x-deep", "v": ' + _deep() + b"}]}",
        "beside the objects": head + b'"x_padding": ' + _deep() + b', "objects": []}',
        "in the objects list": head + b'"objects": [{"type": "x-a"}, ' + _deep() + b"]}",
        "braces": head + b'"objects": [{"a": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}]}",
    }


# Runs in a fresh interpreter so the peak RSS it reports belongs to the parse alone.
_PROBE = textwrap.dedent(
    """
    import resource, sys, time
    from pathlib import Path
    from colsec.errors import InvalidInput, TooLarge
    from colsec.formats.stix_bundle import read_stix_file
    path = Path(sys.argv[1])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        list(read_stix_file(path))
        message = "accepted"
    except InvalidInput as exc:
        message = exc.message
    elapsed = time.perf_counter() - started
    extra_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"{elapsed:.3f} {extra_mb:.1f} {message}")
    """
)


@pytest.mark.parametrize("shape", sorted(_bundles()))
def test_finding_15a_deep_bundle_refused_fast_in_small_memory(tmp_path: Path, shape: str) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(_bundles()[shape])
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    elapsed, extra_mb, message = r.stdout.split(" ", 2)
    assert "nested deeper than 64 levels" in message or "must contain JSON objects" in message
    assert float(elapsed) < 2.0
    assert float(extra_mb) < 64  # was over 1 GB at 20,000 levels, 16 GB at 100,000


@pytest.mark.parametrize("shape", sorted(_bundles()))
def test_finding_15a_streaming_reader_refuses_at_limit(shape: str) -> None:
    with pytest.raises(InvalidInput, match="nested deeper than 64 levels|must contain JSON objects"):
        list(read_bundle(io.BytesIO(_bundles()[shape])))


def test_finding_15a_loads_refuse_before_parsing() -> None:
    with pytest.raises(InvalidInput, match="nested deeper than 64 levels"):
        loads(_deep())
    assert loads(_deep(64)) == json.loads(_deep(64))
    with pytest.raises(InvalidInput, match="nested deeper than 10 levels"):
        loads(_deep(11), max_depth=10)


def test_files_from_outside_get_the_same_limits_and_name_the_file(tmp_path: Path) -> None:
    """Warninglists, taxonomies, KEV/NVD downloads and medallion files all load through load_file."""
    good = tmp_path / "list.json"
    good.write_text('{"list": ["a"]}')
    assert load_file(good) == {"list": ["a"]}
    with pytest.raises(InvalidInput, match=r"missing\.json not found"):
        load_file(tmp_path / "missing.json")
    deep = tmp_path / "deep.json"
    deep.write_bytes(_deep())
    with pytest.raises(InvalidInput, match=r"deep\.json is nested deeper than 64 levels"):
        load_file(deep)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x00\x01{}")
    with pytest.raises(InvalidInput, match="not JSON text"):
        load_file(binary, what="taxonomy")
    with pytest.raises(TooLarge, match="larger than 8 bytes"):
        load_file(good, max_bytes=8)
    with pytest.raises(InvalidInput, match="cannot be read"):
        load_file(tmp_path)


def test_finding_15a_scanner_ignores_brackets_in_strings() -> None:
    text = json.dumps({"a": "[[[[{{{{", "b": ['\\"[[[', "\\\\", "}}]]"], "c": [[[1]]]}).encode()
    check_text_depth(text, 4)
    with pytest.raises(InvalidInput):
        check_text_depth(text, 3)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n', max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=3),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_json, st.integers(min_value=1, max_value=7), st.booleans())
def test_finding_15a_scanner_depth_exact_across_chunks(value: object, step: int, ascii_only: bool) -> None:
    """Chunk boundaries anywhere (inside escapes and strings) never change the measured depth."""
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    depth = _depth(value)
    scanner = DepthScanner(depth)
    for i in range(0, len(text), step):
        scanner.feed(text[i : i + step])
    assert scanner.level == 0
    if depth:
        with pytest.raises(InvalidInput):
            DepthScanner(depth - 1).feed(text)


def test_finding_15a_telemetry_json_array_refused_at_limit(tmp_path: Path) -> None:
    """The match readers stream whole-file JSON arrays with ijson too: same limit, same speed."""
    from colsec.match.readers import ReaderStats, read_file

    path = tmp_path / "eve.json"
    path.write_bytes(b'[{"event_type": "dns", "x": ' + _deep() + b"}]")
    stats = ReaderStats()
    started = time.perf_counter()
    assert list(read_file(path, stats=stats)) == []
    assert time.perf_counter() - started < 2
    assert stats.malformed == 1 and "nested deeper than 64 levels" in stats.examples[0]
