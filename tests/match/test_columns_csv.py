"""CSV flows through the column path (issue #20): chunks after the first are looked up in the
indexes ahead, off the main thread, and their hit rows read by the batch reader; the alerts stay
the event path's, compound and removed indicators included."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from colsec.match.columns import match_columns_file
from colsec.match.columns import run as column_run
from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.readers import FieldMapping, ReaderFormat

from .test_columns import YEAR, _count, _reference

_SPEC = {
    "timestamp": "time",
    "fields": {
        "src": "network-traffic:src_ref.value",
        "dst": "network-traffic:dst_ref.value",
        "dport": "network-traffic:dst_port",
        "host": "domain-name:value",
    },
}


def _flows(path: Path, n: int) -> None:
    rows = [
        f"{1714557600 + i / 1000:.3f},10.{i % 7}.{i % 250}.{i % 99},{1024 + i % 60000},"
        f"192.0.2.{i % 200},{443 if i % 3 else 80},H{i % 700}.Example.com.,{i % 9999}"
        for i in range(n)
    ]
    path.write_text("time,src,sport,dst,dport,host,bytes\n" + "\n".join(rows) + "\n")


def _indicators() -> list[IndicatorRecord]:
    recs = [
        IndicatorRecord(f"indicator--ip{i}", f"[ipv4-addr:value = '192.0.2.{i}']") for i in range(0, 200, 7)
    ]
    recs += [
        IndicatorRecord(f"indicator--d{i}", f"[domain-name:value = 'h{i}.example.com']")
        for i in range(0, 700, 11)
    ]
    recs += [
        IndicatorRecord("indicator--net", "[ipv4-addr:value ISSUBSET '10.3.0.0/16']"),
        IndicatorRecord("indicator--block", "[ipv4-addr:value ISSUBSET '10.4.4.0/24']"),
        # compound: its hit rows go through the engine after the direct alerts
        IndicatorRecord(
            "indicator--and",
            "[network-traffic:dst_ref.value = '192.0.2.5' AND network-traffic:dst_port = 443]",
        ),
        IndicatorRecord("indicator--gone", "[ipv4-addr:value = '192.0.2.3']"),
    ]
    return recs


@pytest.mark.parametrize("removed", [False, True])
def test_csv_flows_looked_up_ahead_are_the_event_path(tmp_path: Path, removed: bool) -> None:
    path = tmp_path / "flows.csv"
    _flows(path, 6000)
    assert path.stat().st_size > 4 << 16  # five chunks at least of 64 KiB

    def engine() -> MatchEngine:
        e = MatchEngine()
        assert e.load(_indicators()).invalid == 0
        if removed:  # the hits looked up ahead still meet ``alive`` on the main thread
            assert e.remove("indicator--gone")
        return e

    expected = _count(_reference(engine(), path, ReaderFormat.CSV, lambda: FieldMapping(_SPEC)))
    res = match_columns_file(
        engine(), path, ReaderFormat.CSV, mapping=FieldMapping(_SPEC), year=YEAR, batch_bytes=1 << 16
    )
    assert res.refused == 0
    assert _count(res.alerts) == expected
    assert sum(expected.values()) > 1000
    assert any(a.indicator_id == "indicator--and" for a in res.alerts)
    assert any(a.indicator_id == "indicator--gone" for a in res.alerts) is not removed


def test_csv_preparation_after_the_first_chunk_runs_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the first chunk (it holds the header the others' columns need) is prepared on the
    caller's thread; the others' are prepared and hashed beside the matching of the chunk
    before, and every chunk's index lookups run on the caller's thread (issue #20: ahead, they
    made the parse the slower half)."""
    path = tmp_path / "flows.csv"
    _flows(path, 6000)
    prepared: list[bool] = []
    looked_up: list[bool] = []
    values, collect = column_run.column_values, column_run.collect_hits

    def spy_values(*args: object, **kwargs: object) -> object:
        prepared.append(threading.current_thread() is threading.main_thread())
        return values(*args, **kwargs)  # type: ignore[arg-type]

    def spy_collect(*args: object, **kwargs: object) -> object:
        looked_up.append(threading.current_thread() is threading.main_thread())
        return collect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(column_run, "column_values", spy_values)
    monkeypatch.setattr(column_run, "collect_hits", spy_collect)
    e = MatchEngine()
    e.load(_indicators())
    match_columns_file(e, path, ReaderFormat.CSV, mapping=FieldMapping(_SPEC), year=YEAR, batch_bytes=1 << 16)
    assert len(prepared) >= 4 and not any(prepared)  # the first chunk's are made inside the lookup
    assert len(looked_up) == len(prepared) + 1 and all(looked_up)


@pytest.mark.parametrize("refused", [False, True])
def test_alerts_of_a_run_skip_the_young_collection(tmp_path: Path, refused: bool) -> None:
    """A run that made no garbage cycle hands its alerts to the oldest generation unscanned
    (``gcpause``); a refused chunk's exception and traceback make one: collected as before."""
    path = tmp_path / "flows.csv"
    _flows(path, 6000)
    if refused:  # a quoted line end: polars reads two lines as one row, the chunk is refused
        with path.open("a") as f:
            f.write('1714557700.000,"10.3.0.1\n",1,192.0.2.7,443,h0.example.com,1\n')
    e = MatchEngine()
    e.load(_indicators())
    gc.collect()
    before = sum(g["collections"] for g in gc.get_stats())
    res = match_columns_file(e, path, ReaderFormat.CSV, mapping=FieldMapping(_SPEC), year=YEAR)
    [[] for _ in range(10)]  # allocations: a due collection starts
    assert (res.refused > 0) is refused
    assert (sum(g["collections"] for g in gc.get_stats()) > before) is refused
    if not refused:
        assert any(o is res.alerts[0] for o in gc.get_objects(2))
