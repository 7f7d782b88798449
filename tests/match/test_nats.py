"""Match workers on a real NATS JetStream stream: killed mid-stream, nothing lost or doubled.

Real telemetry (Zeek DNS and Suricata EVE alerts from the shared data) with indicators planted
on values that occur in it; ``colsec match FILE`` on the same lines is the reference for every
alert and every sighting count. The workers are real ``colsec match --nats`` processes.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import pytest
from sqlalchemy import select

from colsec.db import Database
from colsec.match.models import MatchAlert, MatchSightingCount
from colsec.match.readers import read_lines
from colsec.match.service import build_engine
from colsec.match.stream import Message, MessageDecoder, alert_seq
from colsec.store.models import StixObject
from colsec.store.service import import_objects
from colsec.store.versions import revoke_object

from .natsutil import consumer_info, delete_stream, publish, require_nats, unique_stream
from .test_service import indicator

Account = Any
ZEEK_LINES = 2_000
EVE_RECORDS = 1_000


@pytest.fixture
def nats_url() -> str:
    return require_nats()


@pytest.fixture
def stream(nats_url: str) -> Iterator[str]:
    name = unique_stream()
    yield name
    delete_stream(nats_url, name)


@pytest.fixture
def telemetry(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A few thousand real lines: Zeek DNS as logged, EVE alerts one compact record per line."""
    zeek_src = shared_data / "telemetry" / "zeek" / "wrccdc2018_dns.head10000.ndjson"
    eve_src = shared_data / "telemetry" / "suricata" / "eve_alerts_wrccdc-2018.json"
    with zeek_src.open() as f:
        zeek = [next(f) for _ in range(ZEEK_LINES)]
    eve = [orjson.dumps(r).decode() + "\n" for r in orjson.loads(eve_src.read_bytes())[:EVE_RECORDS]]
    (tmp_path / "dns.ndjson").write_text("".join(zeek))
    (tmp_path / "eve.ndjson").write_text("".join(eve))
    return tmp_path / "dns.ndjson", tmp_path / "eve.ndjson"


def _plant(paths: tuple[Path, Path]) -> list[dict[str, Any]]:
    """Indicators on observed values seen 3-150 times (three per kind), and one never seen."""
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    for path in paths:
        for event in read_lines(path.read_text().splitlines(keepends=True)):
            seen.update(
                {
                    (o["type"], o["value"])
                    for o in event.objects.values()
                    if o.get("type") in ("ipv4-addr", "domain-name")
                }
            )
    picked: list[dict[str, Any]] = []
    for kind in ("ipv4-addr", "domain-name"):
        values = sorted(v for (t, v), n in seen.items() if t == kind and 3 <= n <= 150)
        picked += [indicator(f"[{kind}:value = '{v}']") for v in values[:: max(1, len(values) // 3)][:3]]
    return [*picked, indicator("[domain-name:value = 'never.example.com']")]


@dataclass
class _Seeded:
    account: Account
    planted: list[dict[str, Any]]
    lines: list[str]  # the telemetry's, Zeek then EVE


@pytest.fixture
def seeded(database: Database, make_account: Callable[..., Account], telemetry: tuple[Path, Path]) -> _Seeded:
    """An account whose store holds the indicators planted on the telemetry's values."""
    account = make_account(org="ORG-A")
    planted = _plant(telemetry)
    with database.unit_of_work() as s:
        import_objects(s, actor=account.actor, objects=planted)
    lines = [*telemetry[0].read_text().splitlines(), *telemetry[1].read_text().splitlines()]
    return _Seeded(account, planted, lines)


def _env(tmp_path: Path, database: Database) -> dict[str, str]:
    return {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}


def _worker(
    env: dict[str, str], url: str, stream: str, user: str, out: Path, *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colsec",
            "match",
            "--nats",
            url,
            "--stream",
            stream,
            "--as",
            user,
            "--alerts",
            str(out),
            "--ack-wait",
            "2",
            "--refresh",
            "0.2",
            *extra,
        ],  # fmt: skip
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _await_line(stream: IO[str] | None, text: str, timeout: float = 60) -> None:
    assert stream is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if text in line:
            return
        assert line, f"worker ended before printing {text!r}"
    raise AssertionError(f"no {text!r} within {timeout}s")


def _stop(procs: list[subprocess.Popen[str]]) -> list[str]:
    errs = []
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        errs.append(p.communicate(timeout=60)[1] or "")
    return errs


def _sightings(database: Database) -> dict[str, dict[str, Any]]:
    with database.unit_of_work(write=False) as s:
        rows = s.execute(select(StixObject.body).where(StixObject.type == "sighting", StixObject.is_latest))
        return {b["id"]: b for b in map(orjson.loads, rows.scalars())}


@pytest.mark.slow
@pytest.mark.parametrize("per", [1, 40])
def test_three_workers_one_killed_mid_stream_lose_and_double_nothing(
    per: int,
    tmp_path: Path,
    database: Database,
    seeded: _Seeded,
    telemetry: tuple[Path, Path],
    nats_url: str,
    stream: str,
) -> None:
    a, planted, lines = seeded.account, seeded.planted, seeded.lines
    env = _env(tmp_path, database)
    # the reference: the same lines as files, through `colsec match FILE`
    ref_out = tmp_path / "reference.jsonl"
    r = subprocess.run(
        [sys.executable, "-m", "colsec", "match", *map(str, telemetry), "--as", a.user.username, "--alerts", str(ref_out)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    reference = _sightings(database)
    ref_alerts = [orjson.loads(line) for line in ref_out.read_text().splitlines()]
    assert len({a["indicator_id"] for a in ref_alerts}) == len(planted) - 1  # all but the unseen one hit
    # ``per`` lines a message: one, or newline-delimited as Vector and Fluent Bit batch them
    bodies = ["\n".join(lines[i : i + per]) for i in range(0, len(lines), per)]
    subject = f"telemetry.{stream}"
    publish(nats_url, stream, subject, [])

    outs = [tmp_path / f"alerts-{i}.jsonl" for i in range(3)]
    workers = [_worker(env, nats_url, stream, a.user.username, out, "--batch", "25") for out in outs]
    try:
        for w in workers:
            _await_line(w.stderr, "pulling from stream")
        # published as sensors do, while the workers run; worker 0 dies once it has alerted
        # (or two thirds in), so messages it held and messages not yet sent both come after
        seqs: list[int] = []
        step = max(1, 100 // per)
        for i in range(0, len(bodies), step):
            seqs += publish(nats_url, stream, subject, bodies[i : i + step])
            alerted = outs[0].exists() and outs[0].stat().st_size > 0
            if workers[0].poll() is None and (alerted or i >= len(bodies) * 2 // 3):
                workers[0].kill()  # kill -9, mid-stream
                workers[0].wait()
            time.sleep(0.05)
        assert workers[0].returncode == -signal.SIGKILL
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            info = consumer_info(nats_url, stream, "colsec-match")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
            time.sleep(0.2)
    finally:
        errs = _stop(workers)
    assert info.num_pending == 0 and info.num_ack_pending == 0, errs
    offset = {"zeek-dns": 0, "eve": ZEEK_LINES}
    # the message of each alert's last line: one alert row per message and indicator
    expected_all = collections.Counter(
        (seqs[(offset[e["source"]] + e["line"] - 1) // per], a["indicator_id"])
        for a in ref_alerts
        for e in a["events"][-1:]
    )
    expected = set(expected_all)
    assert expected_all.total() == len(ref_alerts) and (per == 1) is (len(expected) == len(ref_alerts))
    with database.unit_of_work(write=False) as s:
        rows = s.execute(select(MatchAlert.seq, MatchAlert.indicator_id)).all()
        totals = {(c.indicator_id, c.count) for c in s.execute(select(MatchSightingCount)).scalars()}
    assert sorted(rows) == sorted(expected)  # every planted alert, once
    assert totals == {(b["sighting_of_ref"], b["count"]) for b in reference.values()}
    after = _sightings(database)
    assert after.keys() == reference.keys()
    for sid, ref in reference.items():  # the workers' latest version says what the file run said
        got = after[sid]
        assert got["modified"] > ref["modified"]
        assert (got["count"], got["first_seen"], got["last_seen"]) == (
            ref["count"],
            ref["first_seen"],
            ref["last_seen"],
        )
    printed = collections.Counter(
        (f["events"][-1]["line"], f["indicator_id"])
        for out in outs
        if out.exists()
        for f in map(orjson.loads, out.read_text().splitlines())
    )
    assert printed <= expected_all  # printed once, when committed


def test_indicator_changes_reach_a_running_worker(
    tmp_path: Path,
    database: Database,
    make_account: Callable[..., Account],
    nats_url: str,
    stream: str,
) -> None:
    """Added: the next message alerts; revoked: the one after does not; same process throughout."""
    a = make_account(org="ORG-A")
    line = (
        '{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"C1","id.orig_h":"10.47.1.100",'
        '"id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","query":"late.example.org"}'
    )
    subject = f"telemetry.{stream}"
    publish(nats_url, stream, subject, [])
    out = tmp_path / "alerts.jsonl"
    worker = _worker(_env(tmp_path, database), nats_url, stream, a.user.username, out, "--subject", subject)
    try:
        _await_line(worker.stderr, "pulling from stream")

        def alerts_after(seq: int) -> set[str]:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                info = consumer_info(nats_url, stream, "colsec-match")
                if info.ack_floor.stream_seq >= seq:
                    break
                time.sleep(0.05)
            found = [orjson.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
            return {f["indicator_id"] for f in found if f["events"][-1]["line"] == seq}

        (first,) = publish(nats_url, stream, subject, [line])
        assert alerts_after(first) == set()
        late = indicator("[domain-name:value = 'late.example.org']")
        with database.unit_of_work() as s:
            import_objects(s, actor=a.actor, objects=[late])
        time.sleep(1.0)  # five refresh periods
        (second,) = publish(nats_url, stream, subject, [line])
        assert alerts_after(second) == {late["id"]}
        with database.unit_of_work() as s:
            revoke_object(s, actor=a.actor, object_id=late["id"])
        time.sleep(1.0)
        (third,) = publish(nats_url, stream, subject, [line])
        assert alerts_after(third) == set()
        assert worker.poll() is None  # never restarted
    finally:
        _stop([worker])


@pytest.mark.slow
def test_a_backlog_is_committed_several_fetches_at_a_time_and_a_quiet_message_at_once(
    tmp_path: Path, database: Database, seeded: _Seeded, nats_url: str, stream: str
) -> None:
    """Full fetches are held and share a commit; every alert is still committed once, and once
    the backlog is gone a single message is committed (and acknowledged) without more traffic."""
    a, lines = seeded.account, seeded.lines
    with database.unit_of_work(write=False) as s:
        engine, _ = build_engine(s, actor=a.actor)
    subject = f"telemetry.{stream}"
    seqs = publish(nats_url, stream, subject, lines)  # the backlog, there before the worker
    reference = collections.Counter(
        (alert_seq(x), x.indicator_id)
        for x in engine.match(
            MessageDecoder().decode(Message(q, line) for q, line in zip(seqs, lines, strict=True))
        )
    )
    assert reference and max(reference.values()) == 1
    out = tmp_path / "alerts.jsonl"
    worker = _worker(_env(tmp_path, database), nats_url, stream, a.user.username, out, "--batch", "25")
    try:
        _await_line(worker.stderr, "pulling from stream")

        def acked(seq: int) -> bool:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if consumer_info(nats_url, stream, "colsec-match").ack_floor.stream_seq >= seq:
                    return True
                time.sleep(0.05)
            return False

        assert acked(seqs[-1])
        first = min(q for q, _ in reference)
        (last,) = publish(nats_url, stream, subject, [lines[seqs.index(first)]])
        assert acked(last)  # not held for a fetch that never fills
    finally:
        (err,) = _stop([worker])
    stats = next(x for x in err.splitlines() if x.startswith("messages:"))
    found = re.search(r"messages: ([\d,]+) in ([\d,]+) batches, ([\d,]+) commits", stats)
    assert found, stats
    messages, batches, commits = (int(n.replace(",", "")) for n in found.groups())
    assert messages == len(lines) + 1
    assert commits < batches / 2, stats  # a backlog of 3,000 messages in fetches of 25: up to 16 a commit
    with database.unit_of_work(write=False) as s:
        rows = collections.Counter(
            map(tuple, s.execute(select(MatchAlert.seq, MatchAlert.indicator_id)).all())
        )
    assert rows == reference + collections.Counter((last, i) for q, i in reference if q == first)
