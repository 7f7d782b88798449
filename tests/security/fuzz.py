"""Fuzz targets for the input parsers: every input parses or raises the parser's declared error.

Hypothesis drives each target for a time budget, mixing mutated seeds (real fixtures from
../shared/data when present, small inline ones otherwise) with generated structure. An
exception outside the declared errors is a crash; it is recorded with the input that
caused it. Run one process per group of targets:
``python -m tests.security.fuzz SECONDS TARGET...`` prints one JSON line per target.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from colsec.errors import ColsecError

__all__ = ["TARGETS", "Result", "run_target"]

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def _pattern_errors() -> tuple[type[BaseException], ...]:
    """The pure STIX layer's declared errors: ``stix.pattern`` raises PatternError, the parser
    PatternSyntaxError and RE2 RegexError (all ValueError, as the match engine catches)."""
    from colsec.match.regex import RegexError
    from colsec.stix.pattern import PatternError
    from colsec.stix.pattern_parse import PatternSyntaxError

    return (ColsecError, PatternError, PatternSyntaxError, RegexError)


def _seeds(folder: str, pattern: str, inline: list[bytes], limit: int = 6) -> list[bytes]:
    base = SHARED / folder
    found = sorted(base.glob(pattern))[:limit] if base.is_dir() else []
    return inline + [p.read_bytes()[:200_000] for p in found]


INDICATOR = {
    "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
    "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    "granular_markings": [{"marking_ref": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
                           "selectors": ["description"]}],
    "description": "x", "labels": ["a"], "external_references": [{"source_name": "cve", "external_id": "CVE-2026-1"}],
}  # fmt: skip
STIX_SEED = orjson.dumps(
    {"type": "bundle", "id": "bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3e", "objects": [INDICATOR]}
)
MISP_SEED = orjson.dumps({"Event": {
    "uuid": "5f1b1c1e-0000-4000-8000-000000000001", "info": "x", "date": "2026-11-01", "distribution": "4",
    "SharingGroup": {"name": "g"}, "Tag": [{"name": "tlp:amber"}],
    "Attribute": [{"uuid": "5f1b1c1e-0000-4000-8000-000000000002", "type": "ip-dst", "category": "Network activity",
                   "value": "198.51.100.1", "to_ids": True, "timestamp": "1700000000"}],
    "Object": [{"name": "file", "uuid": "5f1b1c1e-0000-4000-8000-000000000003",
                "Attribute": [{"type": "md5", "object_relation": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"}]}],
}})  # fmt: skip
CSV_SEED = b"type,value,comment\nip,198.51.100.1,x\ndomain,bad.example.net,y\nmd5,d41d8cd98f00b204e9800998ecf8427e,\n"
TEXT_SEED = b"C2 hxxps://bad[.]example[.]net/gate 198.51.100[.]44 CVE-2026-1234 d41d8cd98f00b204e9800998ecf8427e a@example.org"
CAP_SEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x1</identifier><sender>a@example.org</sender>
<sent>2026-11-01T10:00:00-00:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><category>Met</category><event>Storm</event><urgency>Immediate</urgency><severity>Severe</severity>
<certainty>Observed</certainty><area><areaDesc>coast</areaDesc><polygon>1,1 2,2 3,1 1,1</polygon></area></info></alert>"""
PATTERN_SEEDS = [
    "[ipv4-addr:value = '198.51.100.1']",
    "[domain-name:value LIKE '%.example.net'] AND [url:value MATCHES '^https?://[a-z]+/x$']",
    "([file:hashes.'SHA-256' = 'aa'] OR [ipv4-addr:value ISSUBSET '198.51.100.0/24']) FOLLOWEDBY "
    "[network-traffic:dst_port > 80 AND network-traffic:src_ref.value != '192.0.2.1'] WITHIN 300 SECONDS",
    "[x-custom:list[*].value IN ('a', 'b', 3)] REPEATS 5 TIMES START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z'",
    "[process:pid = -1 AND NOT process:name = 'x' AND windows-registry-key:values[0].data = h'ff' AND artifact:payload_bin = b'AAAA']",
]
PATTERN_TOKENS = [
    "[", "]", "(", ")", "AND", "OR", "NOT", "FOLLOWEDBY", "=", "!=", "<", ">", "<=", ">=", "IN", "LIKE", "MATCHES",
    "ISSUBSET", "ISSUPERSET", "EXISTS", "WITHIN", "SECONDS", "REPEATS", "TIMES", "START", "STOP", "ipv4-addr:value",
    "domain-name:value", "file:hashes.'SHA-256'", "x:a[*].b", "x:a[0]", ",", "'198.51.100.0/24'", "'a'", "'%a%a%a%a%b'",
    "'^(a+)+$'", "1", "-3", "2.5", "true", "t'2026-01-01T00:00:00Z'", "h'ff'", "b'AA=='", "99999999999999999999999",
]  # fmt: skip


def _mutations(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Seeds with a slice replaced, duplicated or removed: most of the input stays well-formed."""

    @st.composite
    def mutate(draw: Any) -> bytes:
        seed = draw(st.sampled_from(seeds))
        n = len(seed)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, n))
            j = draw(st.integers(i, min(n, i + 64)))
            op = draw(st.sampled_from(["replace", "dup", "drop", "insert"]))
            if op == "replace":
                seed = seed[:i] + draw(st.binary(max_size=16)) + seed[j:]
            elif op == "dup":
                seed = seed[:j] + seed[i:j] * draw(st.integers(1, 50)) + seed[j:]
            elif op == "drop":
                seed = seed[:i] + seed[j:]
            else:
                token = draw(st.sampled_from([b"{", b"}", b"[", b"]", b'"', b",", b":", b"null", b"-1e999",
                                              b"<", b">", b"&", b"\x00", b"\xff", b"\n", b"\r", b"=", b"'"]))  # fmt: skip
                seed = seed[:i] + token + seed[i:]
            n = len(seed)
        return seed

    return mutate()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


def _json_variants(seed: bytes) -> st.SearchStrategy[bytes]:
    """The seed's structure with one field replaced by arbitrary JSON."""
    base = orjson.loads(seed)

    @st.composite
    def variant(draw: Any) -> bytes:
        doc = orjson.loads(orjson.dumps(base))
        node = doc
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            key = draw(
                st.sampled_from(list(node.keys()) if isinstance(node, dict) else list(range(len(node))))
            )
            if not isinstance(node[key], dict | list) or draw(st.booleans()):
                node[key] = draw(JSON)
                break
            node = node[key]
        return json.dumps(doc).encode()  # json, not orjson: integers beyond 64 bits are inputs too

    return variant()


def _consume_import(fmt: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        from colsec.formats.registry import IMPORTERS, ImportFormat
        from colsec.stix.validate import validate_object

        for unit in IMPORTERS[ImportFormat(fmt)].parse(data):
            for obj in unit.objects:
                if fmt == "stix":
                    validate_object(obj)

    return run


def _cap(data: bytes) -> None:
    from colsec.formats.cap import parse_cap

    parse_cap(data)


def _freetext(data: bytes) -> None:
    from colsec.formats.freetext import candidate_objects, extract_candidates

    cands = extract_candidates(data.decode("utf-8", "replace"))
    list(candidate_objects([(c.kind, c.value) for c in cands], source="fuzz"))


def _pattern(data: bytes) -> None:
    from colsec.match.compiler import plan_pattern
    from colsec.stix.pattern import validate
    from colsec.stix.pattern_parse import parse_pattern

    text = data.decode("utf-8", "replace")
    validate(text)
    plan_pattern(parse_pattern(text))


def _pattern_inputs() -> st.SearchStrategy[bytes]:
    tokens = st.lists(st.sampled_from(PATTERN_TOKENS), min_size=1, max_size=25).map(" ".join)
    seeds = [s.encode() for s in PATTERN_SEEDS]
    return st.one_of(tokens.map(str.encode), _mutations(seeds), st.text(max_size=200).map(str.encode))


@dataclass
class Target:
    name: str
    run: Callable[[bytes], None]
    inputs: Callable[[], st.SearchStrategy[bytes]]
    allowed: Callable[[], tuple[type[BaseException], ...]] = lambda: (ColsecError,)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        Target("stix", _consume_import("stix"), lambda: st.one_of(
            _mutations(_seeds("stix", "*.json", [STIX_SEED], 2)), _json_variants(STIX_SEED), st.binary(max_size=300))),
        Target("misp", _consume_import("misp"), lambda: st.one_of(
            _mutations(_seeds("misp/events", "*.json", [MISP_SEED], 2)), _json_variants(MISP_SEED), st.binary(max_size=300))),
        Target("csv", _consume_import("csv"), lambda: st.one_of(_mutations([CSV_SEED]), st.binary(max_size=300))),
        Target("text", _freetext, lambda: st.one_of(_mutations([TEXT_SEED]), st.text(max_size=400).map(str.encode))),
        Target("cap", _cap, lambda: st.one_of(_mutations(_seeds("cap/cap12", "*.xml", [CAP_SEED], 3)), st.binary(max_size=300))),
        Target("pattern", _pattern, _pattern_inputs, _pattern_errors),
    ]
}  # fmt: skip


@dataclass
class Result:
    target: str
    executions: int = 0
    seconds: float = 0.0
    crashes: list[dict[str, str]] = field(default_factory=list)
    slowest_seconds: float = 0.0
    rss_growth_mb: float = 0.0

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_target(name: str, seconds: float) -> Result:
    """Run one target for ``seconds``; distinct crashes (by exception type and place) are kept."""
    target = TARGETS[name]
    allowed = target.allowed()
    result = Result(name)
    strategy = target.inputs()
    seen: set[str] = set()
    rss0 = _rss_mb()
    start = time.monotonic()

    @given(data=strategy)
    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def once(data: bytes) -> None:
        result.executions += 1
        t0 = time.monotonic()
        try:
            target.run(data)
        except allowed:
            pass
        except Exception as exc:
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(tb.filename).name}:{tb.lineno}"
            if key not in seen and len(result.crashes) < 20:
                seen.add(key)
                result.crashes.append({"crash": key, "message": str(exc)[:200], "input": repr(data[:300])})
        result.slowest_seconds = max(result.slowest_seconds, time.monotonic() - t0)

    rounds = 0
    while time.monotonic() - start < seconds:
        seed(rounds)(once)()  # seeded rounds: the same inputs in the same order on every run
        rounds += 1
    result.seconds = round(time.monotonic() - start, 1)
    result.rss_growth_mb = round(_rss_mb() - rss0, 1)
    return result


def main(argv: list[str]) -> Iterator[str]:
    seconds = float(argv[0])
    for name in argv[1:]:
        yield run_target(name, seconds).to_json()


if __name__ == "__main__":
    for line in main(sys.argv[1:]):
        print(line, flush=True)
