"""``colsec match``: telemetry files or a followed stream against every active indicator."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from colsec.cli.acting import AsOption, OrgOption, acting_for
from colsec.cli.common import console, err_console, fail, is_tty, open_session
from colsec.match.records import CompileReport

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("match")(match_cmd)


def _is_eve_ndjson(path: Path, chosen: object) -> bool:
    """Plain (not gzip, not array) EVE JSON lines: eligible for the vectorised path."""
    from colsec.match.readers import ReaderFormat, detect_format

    if path.suffix == ".gz" or chosen not in (None, ReaderFormat.EVE):
        return False
    with path.open("r", encoding="utf-8", errors="replace") as f:
        head = [f.readline() for _ in range(5)]
    return bool(head[0].lstrip().startswith("{")) and detect_format(head) is ReaderFormat.EVE


def _column_format(path: Path, chosen: object, mapping: object) -> object:
    """The format of a file the column path reads (``colsec.match.columns``), else None."""
    from colsec.match.columns import COLUMN_FORMATS
    from colsec.match.readers import FieldMapping, ReaderFormat, detect_format, open_text

    with open_text(path) as f:
        head = [f.readline() for _ in range(20)]
    if "".join(head).lstrip().startswith("["):
        return None  # a JSON array, whatever the format named: read whole by the reader
    if chosen is not None:
        return chosen if chosen in COLUMN_FORMATS else None
    fmt = detect_format(head, mapping=mapping if isinstance(mapping, FieldMapping) else None)
    return fmt if fmt in COLUMN_FORMATS and fmt is not ReaderFormat.EVE else None


def _format_label(path: Path, chosen: object, mapping: object) -> str:
    """How a file is read, for the summary: the format named, or the one detected from its head."""
    from colsec.match.readers import FieldMapping, ReaderFormat, detect_format, open_text

    if isinstance(chosen, ReaderFormat):
        return f"{chosen.value} (as named)"
    if str(path) == "-":
        return "detected from the first lines of standard input"
    with open_text(path) as f:
        head = [f.readline() for _ in range(20)]
    if "".join(head).lstrip().startswith("["):
        return "a JSON array (detected)"
    fmt = detect_format(head, mapping=mapping if isinstance(mapping, FieldMapping) else None)
    return f"{fmt.value} (detected)"


def match_cmd(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Telemetry files (gzip allowed); '-' for stdin")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="eve, zeek-json, zeek-tsv, windows, cef, syslog, snort-csv, json, csv (default: detect)",
        ),
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Field mapping (JSON) for csv/json telemetry")] = None,
    follow: Annotated[
        Path | None, typer.Option("--follow", help="Follow a growing file (or '-' for stdin)")
    ] = None,
    alerts_out: Annotated[
        Path | None, typer.Option("--alerts", help="Write alerts as JSON lines here")
    ] = None,
    sightings: Annotated[bool, typer.Option(help="Store aggregated STIX sightings")] = True,
    window: Annotated[int, typer.Option(help="Sighting aggregation window, seconds")] = 3600,
    retro: Annotated[
        bool, typer.Option("--retro", help="Every non-revoked indicator, whatever its validity or decay")
    ] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="The indicators in force at this time (historical logs)")
    ] = None,
    nats_url: Annotated[
        str | None, typer.Option("--nats", help="Pull telemetry from NATS JetStream at this URL")
    ] = None,
    stream_name: Annotated[
        str | None, typer.Option("--stream", help="JetStream stream (with --nats)")
    ] = None,
    subjects: Annotated[
        list[str] | None, typer.Option("--subject", help="Subjects to consume (default: all of the stream)")
    ] = None,
    durable: Annotated[
        str, typer.Option("--durable", help="Durable consumer shared by every worker of this stream")
    ] = "colsec-match",
    batch_size: Annotated[int, typer.Option("--batch", min=1, max=100_000, help="Messages per batch")] = 1000,
    ack_wait: Annotated[
        float,
        typer.Option(
            "--ack-wait", min=0.5, help="Seconds before another worker gets unacknowledged messages"
        ),
    ] = 30.0,
    sighting_interval: Annotated[
        float, typer.Option("--sighting-interval", min=0.1, help="Seconds between sighting versions (--nats)")
    ] = 10.0,
    refresh: Annotated[
        float,
        typer.Option("--refresh", min=0.05, help="Seconds between looks at changed indicators (--nats)"),
    ] = 1.0,
    as_user: AsOption = None,
    org: OrgOption = None,
    stop_after: Annotated[float | None, typer.Option(hidden=True)] = None,
) -> None:
    """Match telemetry against every active indicator visible to your organisation."""
    from colsec.errors import ColsecError
    from colsec.match.events import Malformed
    from colsec.match.follow import follow_lines
    from colsec.match.readers import (
        ReaderFormat,
        ReaderStats,
        StreamDecoder,
        load_mapping,
        read_file,
        read_lines,
    )
    from colsec.match.selection import mode_from_options
    from colsec.match.service import build_engine, sighter_identity, store_sightings
    from colsec.match.sightings import SightingAggregator

    if nats_url is not None and (files or follow is not None):
        fail("give telemetry files, --follow FILE or --nats URL, one of them", 2)
    if nats_url is not None and not stream_name:
        fail("--nats needs --stream NAME", 2)
    if nats_url is not None and (retro or at):
        fail("--nats matches the indicators in force as messages arrive: no --retro or --at", 2)
    if not files and follow is None and nats_url is None:
        fail("give telemetry files, --follow FILE or --nats URL --stream NAME", 2)
    try:
        chosen = ReaderFormat(fmt) if fmt else None
    except ValueError:
        fail(f"unknown format {fmt!r}; choose from {', '.join(f.value for f in ReaderFormat)}", 2)
    if chosen is ReaderFormat.CSV and mapping is None:
        fail("CSV telemetry needs a field mapping (--mapping FILE)", 2)
    for given in [*(files or []), *([follow] if follow is not None else [])]:
        if str(given) != "-" and not given.is_file():
            fail(f"{given}: {'not a file' if given.exists() else 'no such file'}", 2)
        if str(given) != "-":
            _refuse_binary_file(given)
    try:
        field_map = load_mapping(mapping) if mapping else None
    except (OSError, ValueError) as exc:  # orjson's decode error is a ValueError
        fail(f"mapping {mapping}: {exc}", 2)
    if retro and at:
        fail("give --retro or --at TIME, not both", 2)
    try:
        mode, when = mode_from_options(retro=retro, at=at)
    except ColsecError as exc:
        fail(exc.message, 2)
    with open_session(write=False) as session:
        actor = acting_for(session, as_user=as_user, org=org)
        t0 = time.perf_counter()
        engine, report = build_engine(session, actor=actor, mode=mode, now=when)
        sighter = sighter_identity(session, actor=actor) if sightings and actor.org_id is not None else None
    out: IO[str] = alerts_out.open("a", encoding="utf-8") if alerts_out else sys.stdout
    label = {"active": "active", "retro": "retro-hunt", "at": f"in force at {at}"}[mode.value]
    err_console.print(
        f"{report.loaded:,} indicators ({label}) compiled in {time.perf_counter() - t0:.1f}s "
        f"({report.simple:,} simple, {report.complex:,} compound)",
        highlight=False,
    )
    for line in exclusion_lines(report):
        err_console.print(line, highlight=False)
    # Stream workers commit sightings with every batch (colsec.match.stream), not at the end.
    agg = (
        SightingAggregator(sighter_identity=sighter, window_seconds=window)
        if sighter and not nats_url
        else None
    )
    per_indicator: Counter[str] = Counter()
    stats = ReaderStats()

    def emit(batch: list) -> None:  # type: ignore[type-arg]
        emit_alerts(engine.match(batch))

    def emit_alerts(alerts: list) -> None:  # type: ignore[type-arg]
        for a in alerts:
            per_indicator[a.indicator_id] += 1
            out.write(orjson.dumps(a.to_json(), default=str).decode() + "\n")
        if alerts:
            out.flush()
        if agg is not None:
            agg.add(alerts)

    def flush_sightings() -> None:
        if agg is not None and len(agg):
            with open_session() as s:
                res = store_sightings(s, actor=actor, objects=agg.sightings())
            err_console.print(f"sightings: {res.inserted} stored")

    started = time.perf_counter()
    read_as: list[str] = []  # each file and the format it was read as, for the summary
    if nats_url is not None and stream_name:
        from colsec.match.nats_worker import StreamOptions

        opts = StreamOptions(
            url=nats_url, stream=stream_name, durable=durable, subjects=list(subjects or []), batch=batch_size,
            fmt=chosen, mapping=field_map, window_seconds=window, stop_after=stop_after, stats=stats,
            ack_wait=ack_wait, refresh_seconds=refresh, sighting_seconds=sighting_interval,
        )  # fmt: skip
        _run_nats(opts, actor=actor, sighter=sighter, engine=engine, cursor=report.last, emit=emit_alerts)
    elif follow is not None:
        piped = str(follow) == "-"
        stream: IO[bytes] = sys.stdin.buffer if piped else follow.open("rb")
        last_flush = time.monotonic()
        decoder = StreamDecoder(fmt=chosen, mapping=field_map, stats=stats)
        for lines in follow_lines(
            stream, stop_after=stop_after, until_eof=piped, path=None if piped else follow
        ):
            if lines:
                emit(decoder.feed(lines))
            if time.monotonic() - last_flush > 60:
                flush_sightings()
                last_flush = time.monotonic()
        flush_sightings()
    else:
        paths = [p for p in files or [] if str(p) != "-"]
        total = sum(p.stat().st_size for p in paths)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=err_console,
            disable=not is_tty(),
        ) as progress:
            task = progress.add_task("matching", total=total or None, rate="")
            for path in files or []:
                read_as.append(f"{path}: read as {_format_label(path, chosen, field_map)}")
                if str(path) != "-" and _is_eve_ndjson(path, chosen):
                    # vectorised path: polars columns, Python only for the rows that hit
                    from colsec.match.eve_file import match_eve_file

                    bad: list[int] = []

                    def tick(rows: int, nbytes: int) -> None:
                        stats.events += rows
                        rate = stats.events / max(time.perf_counter() - started, 1e-9)
                        progress.update(task, advance=nbytes, rate=f"{rate:,.0f} events/s")

                    res = match_eve_file(engine, path, on_batch=tick, malformed=bad)
                    stats.events -= len(bad)
                    stats.lines += res.rows
                    for n in bad:
                        stats.bad(Malformed(n, "not an EVE JSON record"))
                    emit_alerts(res.alerts)
                    continue
                column_fmt = _column_format(path, chosen, field_map) if str(path) != "-" else None
                if column_fmt is not None:
                    # table-driven columns: polars proposes the rows, the reader reads only those
                    from colsec.match.columns import match_columns_file
                    from colsec.match.readers import ReaderFormat as _Fmt

                    assert isinstance(column_fmt, _Fmt)
                    sub = ReaderStats()
                    cres = match_columns_file(engine, path, column_fmt, mapping=field_map, stats=sub)
                    stats.lines += cres.records
                    stats.events += cres.records - sub.malformed
                    stats.malformed += sub.malformed
                    stats.reasons.update(sub.reasons)
                    stats.examples.extend(sub.examples[: max(0, 10 - len(stats.examples))])
                    emit_alerts(cres.alerts)
                    progress.advance(task, path.stat().st_size)
                    continue
                source = (
                    read_lines(sys.stdin, fmt=chosen, mapping=field_map, stats=stats)
                    if str(path) == "-"
                    else read_file(path, fmt=chosen, mapping=field_map, stats=stats)
                )
                batch = []
                for event in source:
                    batch.append(event)
                    if len(batch) >= 5_000:
                        emit(batch)
                        batch = []
                        rate = stats.events / max(time.perf_counter() - started, 1e-9)
                        progress.update(task, rate=f"{rate:,.0f} events/s")
                emit(batch)
                if str(path) != "-":
                    progress.advance(task, path.stat().st_size)
        flush_sightings()
    elapsed = time.perf_counter() - started
    table = Table(title="match summary")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("events", f"{stats.events:,}")
    table.add_row("malformed lines", f"{stats.malformed:,}")
    table.add_row("events/s", f"{stats.events / max(elapsed, 1e-9):,.0f}")
    table.add_row("alerts", f"{sum(per_indicator.values()):,}")
    table.add_row("indicators hit", f"{len(per_indicator):,}")
    table.add_row("suppressed (warninglisted)", f"{engine.suppressed:,}")
    for reason, n in exclusion_counts(report).items():
        table.add_row(f"left out: {reason}", f"{n:,}")
    for line in read_as:  # a file read as the wrong format shows here, not only in odd counts
        err_console.print(line, markup=False, highlight=False)
    err_console.print(table)
    for reason, n in stats.reasons.most_common(5):
        err_console.print(f"  malformed: {n:,} x {reason}")
    for ind, n in per_indicator.most_common(10):
        err_console.print(f"  {n:>8,}  {ind}")
    if alerts_out:
        out.close()
    console.file.flush()


def _run_nats(opts: Any, *, actor: Any, sighter: str | None, engine: Any, cursor: Any, emit: Any) -> None:
    """``--nats``: alerts are printed once committed; sightings are committed with every batch."""
    from colsec.cli.common import get_database
    from colsec.errors import ColsecError
    from colsec.match.nats_worker import StreamWorker

    def log(text: str) -> None:
        err_console.print(text, highlight=False)

    try:
        run = StreamWorker(
            opts, units=get_database().unit_of_work, audited=open_session, actor=actor, sighter=sighter,
            engine=engine, cursor=cursor, on_alerts=emit, log=log,
        ).serve()  # fmt: skip
    except ColsecError as exc:
        fail(exc.message, 2)
    err_console.print(
        f"messages: {run.messages:,} in {run.batches:,} batches, {run.commits:,} commits, "
        f"{run.duplicates:,} already committed, "
        f"{run.sightings:,} sighting versions",
        highlight=False,
    )


def _refuse_binary_file(path: Path) -> None:
    """Exit 2 when a telemetry file (after gunzip) is binary data, as the import refuses it."""
    import gzip

    from colsec.errors import InvalidInput
    from colsec.formats.service import BINARY_HEAD, refuse_binary
    from colsec.match.readers import TELEMETRY_TEXT

    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            refuse_binary(f.read(BINARY_HEAD), TELEMETRY_TEXT)
    except InvalidInput as exc:
        fail(f"{path}: {exc.message}", 2)
    except OSError as exc:  # unreadable, or a .gz that is no gzip
        fail(f"{path}: {exc}", 2)


def exclusion_counts(report: CompileReport) -> dict[str, int]:
    """Every reason an indicator was not matched, with its count (zeros included: silence misleads)."""
    ex = report.excluded
    counts = {reason.replace("_", " "): len(ids) for reason, ids in (ex.named() if ex else {}).items()}
    counts["warninglisted"] = report.warninglisted
    counts["invalid pattern"] = report.invalid
    counts["not visible"] = ex.not_visible if ex else 0
    return counts


def exclusion_lines(report: CompileReport, *, shown: int = 10) -> list[str]:
    """One line of counts, then the ids per named reason (never for indicators not visible)."""
    counts = exclusion_counts(report)
    lines = ["left out: " + ", ".join(f"{n:,} {reason}" for reason, n in counts.items())]
    named = dict(report.excluded.named()) if report.excluded else {}
    named["warninglisted"] = report.warninglisted_ids
    for reason, ids in named.items():
        if ids:
            more = f" and {len(ids) - shown:,} more" if len(ids) > shown else ""
            lines.append(f"  {reason.replace('_', ' ')}: {', '.join(ids[:shown])}{more}")
    lines.extend(f"  invalid: {e}" for e in report.errors[:shown])
    return lines
