"""Vectorised matching of Suricata EVE on pre-parsed columns (polars).

``polars.read_ndjson`` parses EVE at close to a million lines a second; this
module turns the parsed frame into one value column per STIX object path and
hands whole columns to the engine's indexes, so Python only sees the rows
that hit.  Rows that hit a non-exact (complex) indicator are rebuilt as full
:class:`~colsec.match.events.Event` objects and go through the ordinary
engine path, so results are identical to matching event by event.

Complex indicators anchored only on an object *type* (e.g. ``file:size > 5``)
cannot be answered from columns; when any exist for a type the frame
carries, the rows carrying it take the event-by-event path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from colsec.match.compiler import MAX_LEAVES
from colsec.match.engine import Alert, MatchEngine
from colsec.match.readers.network import eve_event

__all__ = ["VectorResult", "eve_columns", "match_eve_file", "match_eve_frame"]


def _field(df: pl.DataFrame, *names: str) -> pl.Series | None:
    if names[0] not in df.columns:
        return None
    s = df[names[0]]
    for n in names[1:]:
        if not isinstance(s.dtype, pl.Struct) or n not in [f.name for f in s.dtype.fields]:
            return None
        s = s.struct.field(n)
    return s if s.dtype == pl.String else None


def eve_columns(df: pl.DataFrame) -> dict[tuple[str, str], list[pl.Series]]:
    """(object type, path key) -> value columns aligned with the frame's rows."""
    cols: dict[tuple[str, str], list[pl.Series]] = {}

    def put(key: tuple[str, str], s: pl.Series | None) -> None:
        if s is not None:
            cols.setdefault(key, []).append(s)

    src, dst = _field(df, "src_ip"), _field(df, "dest_ip")
    for s in (src, dst):
        if s is not None:
            v6 = s.str.contains(":", literal=True)
            put(("ipv4-addr", "value"), pl.select(pl.when(~v6).then(s)).to_series())
            put(("ipv6-addr", "value"), pl.select(pl.when(v6).then(s)).to_series())
    put(("network-traffic", "src_ref.value"), src)
    put(("network-traffic", "dst_ref.value"), dst)
    rdata = _field(df, "dns", "rdata")
    if rdata is not None:
        put(("ipv4-addr", "value"), rdata)
    for path in (("dns", "rrname"), ("http", "hostname"), ("tls", "sni")):
        s = _field(df, *path)
        if s is not None:
            put(("domain-name", "value"), s.str.to_lowercase().str.strip_chars_end("."))
    host, url = _field(df, "http", "hostname"), _field(df, "http", "url")
    if host is not None and url is not None:
        full = pl.select(
            pl.when(url.str.starts_with("http://") | url.str.starts_with("https://"))
            .then(url)
            .otherwise(pl.lit("http://") + host + url)
        ).to_series()
        put(("url", "value"), full)
    for algo, key in (("md5", "MD5"), ("sha1", "SHA-1"), ("sha256", "SHA-256")):
        s = _field(df, "fileinfo", algo)
        if s is not None:
            put(("file", f"hashes.{key}"), s.str.to_lowercase())
    fname = _field(df, "fileinfo", "filename")
    if fname is not None:
        put(("file", "name"), fname.str.replace(r"^.*[/\\]", ""))
    return cols


@dataclass
class VectorResult:
    rows: int
    hits: int
    alerts: list[Alert]


def match_eve_frame(
    engine: MatchEngine, df: pl.DataFrame, *, make_alerts: bool = True, row_offset: int = 0
) -> VectorResult:
    """Match every row of a parsed EVE frame; alerts are built only for hit rows."""
    if engine.scan and make_alerts:
        # type-anchored complex indicators need every event: take the event path
        events = [
            e
            for i, rec in enumerate(df.iter_rows(named=True))
            if (e := eve_event(_drop_nulls(rec), row_offset + i + 1)) is not None
        ]
        scan_alerts = engine.match(events)
        return VectorResult(len(df), len({id(a.events[-1]) for a in scan_alerts}), scan_alerts)
    hit_rows: list[np.ndarray] = []
    hit_codes: list[np.ndarray] = []
    matched: dict[tuple[int, int], list[tuple[str, Any]]] = {}
    for key, series_list in eve_columns(df).items():
        for s in series_list:
            for table in (engine.eq, engine.cidr):
                idx = table.get(key)
                if idx is None:
                    continue
                pos, codes = idx.lookup(s)
                if len(pos):
                    hit_rows.append(pos)
                    hit_codes.append(codes)
                    if make_alerts:
                        for p, c in zip(pos.tolist(), codes.tolist(), strict=True):
                            matched.setdefault((p, c), []).append((f"{key[0]}:{key[1]}", s[p]))
            for table2 in (engine.suffix, engine.substr):
                idx2 = table2.get(key)
                if idx2 is not None:
                    pairs = list(idx2.lookup(s.to_list()))
                    if pairs:
                        arr = np.asarray(pairs, dtype=np.int64)
                        hit_rows.append(arr[:, 0])
                        hit_codes.append(arr[:, 1])
    if not hit_rows:
        return VectorResult(len(df), 0, [])
    rows = np.concatenate(hit_rows)
    codes = np.concatenate(hit_codes)
    keep = engine.alive[codes // MAX_LEAVES]
    rows, codes = rows[keep], codes[keep]
    alerts: list[Alert] = []
    if make_alerts and len(rows):
        alerts = _alerts_for(engine, df, rows, codes, matched, row_offset)
    return VectorResult(len(df), int(len(np.unique(rows))), alerts)


def _alerts_for(
    engine: MatchEngine,
    df: pl.DataFrame,
    rows: np.ndarray,
    codes: np.ndarray,
    matched: dict[tuple[int, int], list[tuple[str, Any]]],
    row_offset: int,
) -> list[Alert]:
    alerts: list[Alert] = []
    complex_rows: set[int] = set()
    simple: dict[int, dict[int, list[tuple[str, Any]]]] = {}
    for r, c in zip(rows.tolist(), codes.tolist(), strict=True):
        ind = c // MAX_LEAVES
        if ind in engine.complex:
            complex_rows.add(r)
        else:
            simple.setdefault(r, {}).setdefault(c, []).extend(matched.get((r, c), []))
    wanted = sorted(set(simple) | complex_rows)
    events = {}
    for r in wanted:
        rec = df.row(r, named=True)
        ev = eve_event(_drop_nulls(rec), row_offset + r + 1)
        if ev is not None:
            events[r] = ev
    for r, by_code in simple.items():
        ev = events.get(r)
        if ev is None:
            continue
        for c, m in by_code.items():
            ind = c // MAX_LEAVES
            if m and all(engine.warninglisted(w, v) for w, v in m):
                engine.suppressed += 1
                continue
            alerts.append(
                Alert(engine.ids[ind], [ev], m, engine.owner[ind], engine.tlp[ind], engine.names[ind])
            )
    if complex_rows:
        # exact semantics (and windowed state) come from the event path
        batch = [events[r] for r in sorted(complex_rows) if r in events]
        alerts.extend(
            a for a in engine.match(batch) if engine.row_of.get(a.indicator_id, -1) in engine.complex
        )
    return alerts


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def match_eve_file(
    engine: MatchEngine,
    path: str | Path,
    *,
    batch_rows: int = 500_000,
    make_alerts: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> VectorResult:
    """Read an EVE ndjson file in batches with polars and match it; returns totals."""
    total = VectorResult(0, 0, [])
    reader = pl.read_ndjson(path, infer_schema_length=10_000, ignore_errors=True)
    for start in range(0, len(reader), batch_rows):
        part = reader.slice(start, batch_rows)
        res = match_eve_frame(engine, part, make_alerts=make_alerts, row_offset=start)
        total.rows += res.rows
        total.hits += res.hits
        total.alerts.extend(res.alerts)
        if on_batch is not None:
            on_batch(res.rows)
    return total
