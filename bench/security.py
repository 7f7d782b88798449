"""Security figures (issue 16): leak oracle, schemathesis, fuzzing, and hostile inputs.

    python bench/security.py [--oracle-examples 20] [--schemathesis-examples 20]
                             [--fuzz-seconds 10] [--only oracle,schemathesis,fuzz,hostile]

Prints one table: leak-oracle examples, checked states and violations (target 0);
schemathesis cases and server errors (target 0); fuzz executions and crashes per parser
(target 0); for each hostile input, the answer, wall time and peak RSS above the process's
baseline (targets < 2 s and < 256 MB). Each hostile input runs in its own process so the
peak RSS of one does not hide another's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the proofs live in tests/security; the figures reuse them
MAX_SECONDS = 2.0
MAX_RSS_MB = 256.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- hostile inputs, one per process --------------------------------------------------------


def _indicator(pattern: str, **extra: Any) -> dict[str, Any]:
    from colsec.stix.ids import now_timestamp

    now = now_timestamp()
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": now,
        "modified": now, "pattern": pattern, "pattern_type": "stix", "valid_from": now, **extra,
    }  # fmt: skip


def _node() -> Any:
    from tests.security.node import Node

    from colsec.accounts.roles import Role

    node = Node.start()
    return node, node.member("ORG-A", Role.ANALYST)


def hostile_deep_json_rest() -> tuple[Callable[[], str], Callable[[], None]]:
    node, a = _node()
    body = b"[" * 100_000 + b"]" * 100_000

    def run() -> str:
        r = node.client.post(
            "/api/v1/objects", content=body, headers={**a.headers, "content-type": "application/json"}
        )
        return str(r.status_code)

    return run, node.stop


def hostile_deep_json_import() -> tuple[Callable[[], str], Callable[[], None]]:
    node, a = _node()
    body = b'{"type": "bundle", "objects": [' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"]}"

    def run() -> str:
        r = node.client.post("/api/v1/imports?format=stix", content=body, headers=a.headers)
        if r.status_code != 202:
            return str(r.status_code)
        job = node.client.get(r.json()["url"], headers=a.headers).json()
        return f"202 job {job.get('status')}"

    return run, node.stop


def hostile_huge_string() -> tuple[Callable[[], str], Callable[[], None]]:
    import orjson

    node, a = _node()
    body = orjson.dumps(_indicator("[ipv4-addr:value = '198.51.100.1']", description="x" * 64_000_000))

    def run() -> str:
        r = node.client.post(
            "/api/v1/objects", content=body, headers={**a.headers, "content-type": "application/json"}
        )
        return str(r.status_code)

    return run, node.stop


def _redos(pattern: str) -> tuple[Callable[[], str], Callable[[], None]]:
    import orjson

    node, a = _node()
    r = node.client.post("/api/v1/objects", json=_indicator(pattern), headers=a.headers)
    assert r.status_code == 201, r.text
    line = orjson.dumps({
        "_path": "dns", "ts": "2026-11-01T00:00:00Z", "uid": "C1", "id.orig_h": "192.0.2.1", "id.orig_p": 1,
        "id.resp_h": "192.0.2.2", "id.resp_p": 53, "proto": "udp", "query": "a" * 100_000 + "!", "answers": [],
    })  # fmt: skip

    def run() -> str:
        r = node.client.post("/api/v1/match?format=zeek-json", content=line + b"\n", headers=a.headers)
        return f"{r.status_code} alerts {r.json().get('alerts_total') if r.status_code == 200 else '-'}"

    return run, node.stop


def hostile_redos_matches() -> tuple[Callable[[], str], Callable[[], None]]:
    return _redos("[domain-name:value MATCHES '^(a+)+$']")


def hostile_redos_like() -> tuple[Callable[[], str], Callable[[], None]]:
    return _redos("[domain-name:value LIKE '%a%a%a%a%b']")


def hostile_gzip_bomb() -> tuple[Callable[[], str], Callable[[], None]]:
    """A 1 GiB bundle of whitespace gzipped to about 1 MB, read by the CLI's file import path."""
    folder = Path(tempfile.mkdtemp(prefix="colsec-bomb-"))
    path = folder / "bomb.json.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b'{"type": "bundle", "objects": [')
        chunk = b" " * (1 << 20)
        for _ in range(1024):
            f.write(chunk)
        f.write(b"]}")

    def run() -> str:
        from colsec.errors import ColsecError
        from colsec.formats.stix_bundle import read_stix_file

        try:
            n = sum(1 for _ in read_stix_file(path))
        except ColsecError as exc:
            return f"refused: {exc.code}"
        return f"read {n} objects"

    return run, lambda: path.unlink()


def hostile_billion_laughs() -> tuple[Callable[[], str], Callable[[], None]]:
    ents = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY l0 "lol">{ents}]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&l9;</identifier></alert>'.encode()
    node, a = _node()

    def run() -> str:
        from colsec.errors import ColsecError
        from colsec.formats.cap import parse_cap

        try:
            parse_cap(bomb)
            direct = "parsed"
        except ColsecError as exc:
            direct = f"refused {exc.code}"
        r = node.client.post(
            "/api/v1/crisis/alerts/import",
            content=bomb,
            headers={**a.headers, "content-type": "application/xml"},
        )
        return f"{direct}; HTTP {r.status_code}"

    return run, node.stop


HOSTILE: dict[str, Callable[[], tuple[Callable[[], str], Callable[[], None]]]] = {
    "100,000-deep JSON (REST)": hostile_deep_json_rest,
    "100,000-deep JSON (import)": hostile_deep_json_import,
    "64 MB string (REST)": hostile_huge_string,
    "MATCHES '^(a+)+$' on 100k a's": hostile_redos_matches,
    "LIKE '%a%a%a%a%b' on 100k a's": hostile_redos_like,
    "gzip bomb 1 GiB (CLI file path)": hostile_gzip_bomb,
    "billion laughs CAP XML": hostile_billion_laughs,
}


def hostile_child(name: str) -> None:
    setup, cleanup = HOSTILE[name]()
    base = _rss_mb()
    t0 = time.perf_counter()
    try:
        answer = setup()
    except Exception as exc:  # a crash is a figure too
        answer = f"crash {type(exc).__name__}"
    seconds = time.perf_counter() - t0
    peak = _rss_mb() - base
    cleanup()
    print(json.dumps({"name": name, "answer": answer, "seconds": seconds, "rss_mb": peak}))


def run_hostile() -> list[dict[str, Any]]:
    out = []
    for name in HOSTILE:
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        p = subprocess.run(
            [sys.executable, __file__, "--hostile-child", name],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        line = (p.stdout.strip().splitlines() or ["{}"])[-1]
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append(
                {
                    "name": name,
                    "answer": f"child failed rc={p.returncode}",
                    "seconds": float("nan"),
                    "rss_mb": float("nan"),
                }
            )
    return out


# --- the proofs as figures --------------------------------------------------------------------


def run_oracle(examples: int, steps: int) -> dict[str, Any]:
    from hypothesis.stateful import run_state_machine_as_test
    from tests.security.oracle import REGISTRY, Alliance, oracle_settings

    os.environ["COLSEC_ORACLE_EXAMPLES"] = str(examples)
    os.environ["COLSEC_ORACLE_STEPS"] = str(steps)
    t0 = time.perf_counter()
    run_state_machine_as_test(Alliance, settings=oracle_settings())
    return {"examples": REGISTRY.examples, "states": REGISTRY.steps, "violations": list(REGISTRY.found.values()),
            "seconds": time.perf_counter() - t0}  # fmt: skip


def _fuzz_operation(
    node: Any, members: list[Any], key: str, op: Any, examples: int, stats: dict[str, Any]
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from tests.security.test_schemathesis import _beyond_int64, send

    @given(case=op.as_strategy(), who=st.integers(0, len(members) - 1))
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def one(case: Any, who: int) -> None:
        stats["cases"] += 1
        if send(node, members[who], case) >= 500:
            stats["server_errors"] += 1
            int64 = _beyond_int64([case.path_parameters, case.query, case.body])
            stats["failing"].add(f"{key}{'  (integer beyond 64 bits, finding 15)' if int64 else ''}")

    one()


def run_schemathesis(examples: int) -> dict[str, Any]:
    from tests.security.node import Node
    from tests.security.test_schemathesis import OPERATIONS

    from colsec.accounts.roles import Role

    node = Node.start()
    members = [node.member(org, role) for org in ("ORG-A", "ORG-B") for role in (Role.ADMIN, Role.ANALYST)]
    stats: dict[str, Any] = {"operations": len(OPERATIONS), "cases": 0, "server_errors": 0, "failing": set()}
    t0 = time.perf_counter()
    for key, op in sorted(OPERATIONS.items()):
        _fuzz_operation(node, members, key, op, examples, stats)
    node.stop()
    stats["seconds"] = time.perf_counter() - t0
    return stats


def run_fuzz(seconds: float) -> list[dict[str, Any]]:
    from tests.security.test_fuzz import GROUPS

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.security.fuzz", str(seconds), *g],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for g in GROUPS
    ]
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        out.extend(json.loads(line) for line in stdout.splitlines())
    return sorted(out, key=lambda r: r["target"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--oracle-examples", type=int, default=20)
    ap.add_argument("--oracle-steps", type=int, default=20)
    ap.add_argument("--schemathesis-examples", type=int, default=20)
    ap.add_argument("--fuzz-seconds", type=float, default=10.0)
    ap.add_argument("--only", default="oracle,schemathesis,fuzz,hostile")
    ap.add_argument("--hostile-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hostile_child:
        hostile_child(args.hostile_child)
        return
    only = set(args.only.split(","))
    rows: list[tuple[str, str, str]] = []
    if "oracle" in only:
        o = run_oracle(args.oracle_examples, args.oracle_steps)
        rows.append(("leak oracle", f"{o['examples']} examples, {o['states']} states, {o['seconds']:.0f} s",
                     f"{len(o['violations'])} violations (target 0)"))  # fmt: skip
        for v in o["violations"]:
            rows.append(("", "  violation", str(v)[:160]))
    if "schemathesis" in only:
        s = run_schemathesis(args.schemathesis_examples)
        rows.append(("schemathesis", f"{s['operations']} operations, {s['cases']} cases, {s['seconds']:.0f} s",
                     f"{s['server_errors']} server errors (target 0)"))  # fmt: skip
        for key in sorted(s["failing"]):
            rows.append(("", "  5xx", key))
    if "fuzz" in only:
        for r in run_fuzz(args.fuzz_seconds):
            rows.append((f"fuzz {r['target']}", f"{r['executions']} executions in {r['seconds']} s",
                         f"{len(r['crashes'])} crashes; slowest input {r['slowest_seconds']:.2f} s"))  # fmt: skip
    if "hostile" in only:
        worst_t = worst_m = 0.0
        for h in run_hostile():
            ok = h["seconds"] < MAX_SECONDS and h["rss_mb"] < MAX_RSS_MB
            worst_t, worst_m = max(worst_t, h["seconds"]), max(worst_m, h["rss_mb"])
            rows.append((f"hostile: {h['name']}", f"{h['seconds']:.2f} s, +{h['rss_mb']:.0f} MB",
                         f"{h['answer']} {'ok' if ok else 'OVER TARGET'}"))  # fmt: skip
        rows.append(("hostile worst", f"{worst_t:.2f} s, +{worst_m:.0f} MB",
                     f"targets < {MAX_SECONDS:.0f} s, < {MAX_RSS_MB:.0f} MB"))  # fmt: skip
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:<{w1}}  {c}")


if __name__ == "__main__":
    main()
