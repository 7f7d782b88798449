"""The fast bundle reader against the ijson reference: same objects, same refusals.

Every input is read by ``read_bundle`` (structure scan + orjson batches) at several chunk
sizes, down to one byte so that every boundary falls inside a string, an escape, a number
and a keyword, and by ``read_bundle_reference`` (ijson, event by event).  Objects are
compared as orjson text, so 1 and 1.0, -0.0 and 0.0, and key order all count.
"""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.errors import ColsecError, InvalidInput, TooLarge
from colsec.formats.stix_bundle import (
    read_bundle,
    read_bundle_file,
    read_bundle_reference,
    read_stix_file,
)
from colsec.jsonutil import MAX_DEPTH

HEAD = '{"type": "bundle", "id": "bundle--5e0e2f4c-6c3b-4a3b-9d59-1a2b3c4d5e6f", '
CATEGORIES = (
    "UTF-16",
    "nested deeper",
    "spec_version",
    "not a STIX bundle",
    "more than one 'objects'",
    "must be a list",
    "must contain JSON objects",
    "decompresses to more than",
    "gzip file is truncated",
    "invalid",
    "truncated",
    "cannot read",
)


def _outcome(reader: Any, data: bytes, **kwargs: Any) -> tuple[Any, ...]:
    try:
        return ("objects", orjson.dumps(list(reader(io.BytesIO(data), source="t", **kwargs))))
    except ColsecError as exc:
        category = next((c for c in CATEGORIES if c in exc.message), exc.message)
        return (type(exc).__name__, category)


def _same(data: bytes, chunk_sizes: tuple[int, ...] = (1, 2, 3, 7, 64, 1 << 20)) -> tuple[Any, ...]:
    expected = _outcome(read_bundle_reference, data)
    for size in chunk_sizes:
        assert _outcome(read_bundle, data, chunk_size=size) == expected, (size, data[:300])
    return expected


def _stix_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.name.endswith((".json", ".json.gz")))


def test_real_files_read_the_same(shared_data: Path) -> None:
    """OASIS examples, TLP 2.0 bundles, JSON schemas (refused alike) and both ATT&CK files."""
    files = _stix_files(shared_data / "stix") + _stix_files(shared_data / "attack")
    assert len(files) > 90
    kinds: dict[str, int] = {}
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        big = len(data) > 1 << 20
        outcome = _same(data, (65_536, 1 << 20) if big else (1, 5, 64, 4096))
        kinds[outcome[0]] = kinds.get(outcome[0], 0) + 1
        if path.name.startswith("enterprise-attack"):
            assert len(orjson.loads(outcome[1])) == 24_771
    assert kinds["objects"] >= 15 and kinds["InvalidInput"] > 40, kinds  # schemas, lone objects


_text = st.text(
    alphabet=st.sampled_from(list('[]{}"\\/,:ab \n\t\u00e9\u4e2d\U0001f600\x00\x1f')), max_size=12
)
_number = (
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1.0, -0.0, 0.0, 1e300, 5e-324, 2**53 + 1, -1])
)
_value = st.recursive(
    st.none() | st.booleans() | _number | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=25,
)
_object = st.dictionaries(_text, _value, max_size=5).map(lambda d: {"type": "x-awkward", **d})


@settings(max_examples=250, deadline=None)
@given(
    objects=st.lists(_object, max_size=6),
    skipped=_value,
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, 0, 2]),
    objects_first=st.booleans(),
    chunk=st.integers(min_value=1, max_value=40),
)
def test_generated_bundles_read_the_same(
    objects: list[dict[str, Any]],
    skipped: Any,
    ascii_only: bool,
    indent: Any,
    objects_first: bool,
    chunk: int,
) -> None:
    """Strings full of brackets, quotes, backslashes and escapes; floats, exponents, -0.0;
    a skipped member of any shape; objects before or after the bundle's own keys."""
    members: dict[str, Any] = {"objects": objects} if objects_first else {}
    members |= {"type": "bundle", "id": "bundle--1", "x_skipped": skipped, "spec_version": "2.1"}
    members.setdefault("objects", objects)
    data = json.dumps(members, ensure_ascii=ascii_only, indent=indent).encode()
    expected = _same(data, (chunk, 1 << 20))
    assert expected == ("objects", orjson.dumps(objects))


def _bundle(objects: str, extra: str = "") -> bytes:
    return (HEAD + extra + '"objects": ' + objects + "}").encode()


DEEP_OBJECT = '{"a": ' * (MAX_DEPTH - 2) + "1" + "}" * (MAX_DEPTH - 2)  # level 64 in the bundle
HOSTILE = {
    "depth at the limit": (_bundle("[" + DEEP_OBJECT + "]"), "objects"),
    "depth past the limit in an object": (_bundle('[{"a": ' + DEEP_OBJECT + "}]"), "nested deeper"),
    "depth past the limit in a skipped member": (
        _bundle("[]", '"x_pad": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + ", "),
        "nested deeper",
    ),
    "deep array element": (
        _bundle("[" + "[" * 100 + "]" * 100 + "]"),
        "must contain JSON objects",
    ),  # found first
    "brackets in strings": (
        _bundle('[{"type": "x", "a": "]}\\"[{", "b": ["}", "]", "\\\\"], "c": {"d": "\\u005d\\u007d"}}]'),
        "objects",
    ),
    "skipped members with tricky strings": (
        _bundle('[{"type": "x"}]', '"x_note": "]} \\" [{\\\\", "x_list": [{"a": "}"}, "]", 1.5e3], '),
        "objects",
    ),
    "trailing garbage": (_bundle("[]") + b" x", "invalid"),
    "trailing bracket": (_bundle('[{"type": "x"}]') + b"]", "invalid"),
    "second document": (_bundle("[]") + b" {}", "invalid"),
    "number element": (_bundle("[1]"), "must contain JSON objects"),
    "string element": (_bundle('["a"]'), "must contain JSON objects"),
    "array element": (_bundle("[[1]]"), "must contain JSON objects"),
    "null element after an object": (_bundle('[{"type": "x"}, null]'), "must contain JSON objects"),
    "number element before an object": (_bundle('[5, {"type": "x"}]'), "must contain JSON objects"),
    "objects missing": (HEAD.rstrip(", ").encode() + b"}", "objects"),
    "objects an object": (_bundle('{"a": 1}'), "must be a list"),
    "objects a number": (_bundle("5"), "must be a list"),
    "objects null": (_bundle("null"), "must be a list"),
    "two objects members": (_bundle("[]", '"objects": [], '), "more than one 'objects'"),
    "type not bundle": (b'{"type": "campaign-list", "objects": []}', "not a STIX bundle"),
    "type after the objects": (b'{"objects": [{"type": "x"}], "type": "report"}', "not a STIX bundle"),
    "no type, no id": (b'{"objects": []}', "not a STIX bundle"),
    "spec_version 2.0": (_bundle('[{"type": "x"}]', '"spec_version": "2.0", '), "objects"),
    "spec_version 2.0 after its objects": (
        b'{"type": "bundle", "objects": [{"type": "x"}], "spec_version": "2.0"}',
        "spec_version",
    ),
    "spec_version 2.2": (_bundle("[]", '"spec_version": "2.2", '), "spec_version"),
    "UTF-8 BOM": (b"\xef\xbb\xbf" + _bundle('[{"type": "x"}]'), "objects"),
    "UTF-8 BOM only": (b"\xef\xbb\xbf", "invalid"),
    "two UTF-8 BOMs": (b"\xef\xbb\xbf\xef\xbb\xbf" + _bundle("[]"), "invalid"),
    "UTF-16 LE with BOM": (_bundle('[{"type": "x"}]').decode().encode("utf-16"), "UTF-16"),
    "UTF-16 BE without BOM": (_bundle('[{"type": "x"}]').decode().encode("utf-16-be"), "UTF-16"),
    "top level array": (b'[{"type": "bundle", "objects": []}]', "not a STIX bundle"),
    "top level string": (b'"bundle"', "not a STIX bundle"),
    "empty input": (b"", "invalid"),
    "missing comma": (_bundle('[{"type": "x"} {"type": "y"}]'), "invalid"),
    "trailing comma": (_bundle('[{"type": "x"},]'), "invalid"),
    "leading comma": (_bundle('[,{"type": "x"}]'), "invalid"),
    "double comma": (_bundle('[{"type": "x"},,{"type": "y"}]'), "invalid"),
    "bad literal": (_bundle('[{"type": tru}]'), "invalid"),
    "bad escape": (_bundle('[{"type": "\\x"}]'), "invalid"),
    "control character": (_bundle('[{"type": "a\nb"}]'), "invalid"),
    "NaN": (_bundle('[{"type": "x", "v": NaN}]'), "invalid"),
    "invalid UTF-8": (_bundle('[{"type": "x"}]').replace(b'"x"', b'"\xff\xfe"'), "invalid"),
    "unterminated string": (_bundle('[{"type": "x}]'), "invalid"),
    "binary": (b"\x00\x01\x02binary\xff\xfe", "invalid"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_refused_alike(name: str) -> None:
    data, expected = HOSTILE[name]
    outcome = _same(data)
    assert outcome[0] == "objects" if expected == "objects" else outcome == ("InvalidInput", expected)


def test_truncated_anywhere_refused_alike() -> None:
    """Cut at every byte: each prefix is refused by both readers with the same kind of error."""
    data = _bundle(
        '[{"type": "x", "s": "a]}\\"\\\\\\u00e9", "n": [1.5e-3, -0.0, {"k": null}]}, {"type": "y", "t": true}]',
        '"x_skip": {"a": ["]", "}"]}, ',
    )
    for cut in range(len(data)):
        assert _same(data[:cut], (1, 7, 64))[0] == "InvalidInput", cut


def test_known_differences_from_the_reference() -> None:
    """Where orjson and yajl disagree: integers beyond 64 bits (orjson keeps them to 2**64 - 1
    and turns larger ones into floats, as every small file read whole always has; yajl
    refuses past 2**63 - 1; STIX allows no integer past 2**53) and a lone surrogate escape
    (orjson refuses it; yajl turns it into "?")."""
    big = _bundle('[{"type": "x", "n": 18446744073709551615, "m": 18446744073709551616}]')
    assert list(read_bundle(io.BytesIO(big)))[0] == {"type": "x", "n": 2**64 - 1, "m": float(2**64)}
    assert _outcome(read_bundle_reference, big) == ("InvalidInput", "invalid")
    surrogate = _bundle('[{"type": "x", "s": "\\ud800"}]')
    assert _outcome(read_bundle, surrogate) == ("InvalidInput", "invalid")
    assert list(read_bundle_reference(io.BytesIO(surrogate)))[0]["s"] == "?"


def _write_indicators(path: Path, n: int, *, gz: bool = False) -> None:
    opener: Any = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(HEAD.encode() + b'"objects": [\n')
        for i in range(n):
            obj = {
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{i:08d}-0000-4000-8000-000000000000",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": f"[url:value = 'http://h{i}.example/\\\\\"]}}']", "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z", "confidence": i % 101, "x_score": i / 7,
            }  # fmt: skip
            f.write((b",\n" if i else b"") + orjson.dumps(obj))
        f.write(b"\n]}\n")


def test_large_bundle_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 40 MB bundle read one object at a time never holds more than a few chunks."""
    path = tmp_path / "large.json"
    _write_indicators(path, 120_000)
    assert path.stat().st_size > 35_000_000
    tracemalloc.start()
    try:
        count = 0
        for obj in read_bundle_file(path):
            count += obj["type"] == "indicator"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 120_000
    assert peak < 32 * 1024 * 1024, peak  # less than the file: read whole, its text alone is 40 MB


def test_large_gzip_bundle_same_as_reference_and_capped(tmp_path: Path) -> None:
    """Through the gzip cap: the same objects as the reference; past the cap TooLarge; a
    truncated gzip file refused with its own message by both readers."""
    from colsec.formats.stix_bundle import open_maybe_gzip

    path = tmp_path / "large.json.gz"
    _write_indicators(path, 20_000, gz=True)

    def both(limit: int, file: Path) -> list[tuple[Any, ...]]:
        out = []
        for reader in (read_bundle, read_bundle_reference):
            with open_maybe_gzip(file, max_decompressed=limit) as f:
                out.append(_outcome(lambda _s, **kw: reader(f, **kw), b""))  # noqa: B023
        return out

    fast, reference = both(1 << 31, path)
    assert fast == reference and fast[0] == "objects"
    assert len(orjson.loads(fast[1])) == 20_000
    assert both(1 << 20, path) == [("TooLarge", "decompresses to more than")] * 2
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert both(1 << 31, cut) == [("InvalidInput", "gzip file is truncated")] * 2
    with pytest.raises(TooLarge):
        list(read_stix_file(path, max_decompressed=1 << 20))


def test_read_stix_file_small_and_large_paths_agree(tmp_path: Path, shared_data: Path) -> None:
    """A file's size decides only how it is read: whole (small) or streamed (large)."""
    import colsec.formats.stix_bundle as stix_bundle

    path = tmp_path / "b.json"
    _write_indicators(path, 3_000)
    whole = list(read_stix_file(path))
    small_file = stix_bundle.SMALL_FILE
    stix_bundle.SMALL_FILE = 1024
    try:
        streamed = list(read_stix_file(path))
    finally:
        stix_bundle.SMALL_FILE = small_file
    assert orjson.dumps(whole) == orjson.dumps(streamed)
    with pytest.raises(InvalidInput, match="spec_version"):
        path.write_bytes(_bundle("[]", '"spec_version": "2.2", '))
        list(read_stix_file(path))
    path.write_bytes(_bundle('[{"type": "x"}]', '"spec_version": "2.0", '))  # upgraded on both paths
    said: list[list[str]] = []
    for size in (small_file, 16):
        stix_bundle.SMALL_FILE = size
        try:
            notes: list[str] = []
            assert list(read_stix_file(path, notes=notes)) == [{"type": "x", "spec_version": "2.1"}]
            said.append(notes)
        finally:
            stix_bundle.SMALL_FILE = small_file
    assert said[0] == said[1] and "upgraded to 2.1: 1 objects" in said[0][0]


def _both_with_notes(data: bytes, **kwargs: Any) -> list[tuple[Any, list[str]]]:
    out = []
    for reader, sizes in ((read_bundle_reference, (None,)), (read_bundle, (1, 7, 1 << 20))):
        for size in sizes:
            notes: list[str] = []
            extra = {} if size is None else {"chunk_size": size}
            objects = list(reader(io.BytesIO(data), source="t", notes=notes, **extra, **kwargs))
            out.append((orjson.dumps(objects), notes))
    return out


def test_stix20_bundle_upgraded_alike(shared_data: Path) -> None:
    """A STIX 2.0 bundle is read upgraded to 2.1 as a medallion migration upgrades its objects
    (``stix.upgrade``), by both readers, and both say so in the notes."""
    from colsec.stix.upgrade import upgrade_to_21

    raw = (shared_data / "misp/misp_stix_pairs/test_event1_stix20.json").read_bytes()
    expected = [upgrade_to_21(o)[0] for o in json.loads(raw)["objects"]]
    outcomes = _both_with_notes(raw)
    assert all(o == outcomes[0] for o in outcomes)
    objects, notes = orjson.loads(outcomes[0][0]), outcomes[0][1]
    assert objects == expected and all(o["spec_version"] == "2.1" for o in objects)
    assert (
        len(notes) == 1
        and "STIX 2.0 bundle upgraded to 2.1" in notes[0]
        and "spec_version 2.1 added" in notes[0]
    )
    bom = b"\xef\xbb\xbf" + raw
    assert _both_with_notes(bom) == outcomes
    plain_21 = _bundle('[{"type": "x", "spec_version": "2.1"}]')
    assert all(notes == [] for _, notes in _both_with_notes(plain_21))


def test_bom_and_utf16_files_gzip_or_plain(tmp_path: Path, shared_data: Path) -> None:
    """A file beginning with a UTF-8 BOM reads as without one, plain or gzip, small or large path;
    UTF-16 is refused naming UTF-16."""
    raw = (shared_data / "misp/misp_stix_pairs/test_event1_stix21.json").read_bytes()
    expected = list(read_stix_file(_write(tmp_path / "plain.json", raw)))
    for name, data in (
        ("bom.json", b"\xef\xbb\xbf" + raw),
        ("bom.json.gz", gzip.compress(b"\xef\xbb\xbf" + raw)),
    ):
        path = _write(tmp_path / name, data)
        assert list(read_stix_file(path)) == expected
        assert list(read_bundle_file(path)) == expected
    for name, data in (
        ("u16.json", raw.decode().encode("utf-16")),
        ("u16.json.gz", gzip.compress(raw.decode().encode("utf-16"))),
    ):
        path = _write(tmp_path / name, data)
        for read in (read_stix_file, read_bundle_file):
            with pytest.raises(InvalidInput, match="UTF-16"):
                list(read(path))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
