"""Text splitters (CEF, syslog): vectorised key=value splits and regex extraction."""

from __future__ import annotations

import numpy as np
import polars as pl

from colsec.match.readers.cef import CEF_FULL_NAMES

from .lines import Columns

_CEF_SHORT = {**CEF_FULL_NAMES}


def cef_columns(lines: pl.Series, names: list[str]) -> Columns:
    """The extension's key=value pairs of every CEF line, split in one vectorised pass.

    A key starts after whitespace and ends at ``=`` (as ``readers.cef`` reads it); every pair
    is kept, so a key given twice (short and full name) offers both values.
    """
    cef = lines.str.splitn("CEF:", 2).struct.field("field_1")
    head = cef.str.splitn("|", 8).struct.unnest()
    ext = head["field_7"]
    escaped = pl.select(
        pl.any_horizontal(head[f"field_{i}"].str.contains("\\", literal=True) for i in range(7))
    )
    rows = np.flatnonzero(escaped.to_series().fill_null(False).to_numpy())
    if len(rows):  # a header with escapes: split as ``parse_cef`` does (rare, and slower)
        exact = cef.gather(rows).str.extract(r"^(?:(?:[^|\\]|\\.)*\|){7}(.*)$", 1)
        ext = ext.scatter(rows.tolist(), exact)
    marked = ext.str.replace_all(r"(?:^|\s+)([A-Za-z_][\w.\[\]-]*)=", "\x00${1}\x01")
    frame = (
        pl.DataFrame({"row": pl.int_range(len(lines), dtype=pl.Int64, eager=True), "x": marked})
        .with_columns(pl.col("x").str.split("\x00"))
        .explode("x")
        .filter(pl.col("x").str.contains("\x01", literal=True))
        .with_columns(pl.col("x").str.split_exact("\x01", 1).alias("kv"))
        .unnest("kv")
    )
    wanted = [n for n in names if not n.startswith("#")]
    frame = frame.select(
        pl.col("row"),
        pl.col("field_0").replace(_CEF_SHORT).alias("k"),
        pl.col("field_1").str.strip_chars().str.replace_all(r"\\([=\\|])", "$1").alias("v"),
    ).filter(pl.col("k").is_in(wanted))
    out: Columns = {}
    for (name,), part in frame.partition_by("k", as_dict=True, maintain_order=True).items():
        out[str(name)] = (part["row"].to_numpy(), part["v"])  # a key given twice offers both values
    return out


_URLS = r"(?i)\bhttps?://[^\s\"'<>]+"
_QUADS = r"[\d.]*\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}[\d.]*"
#: every URL has "://", every dotted quad and host name a '.': tokens with neither offer nothing
_TOKENS = r"\S*(?:\.|://)\S*"


def syslog_columns(lines: pl.Series, names: list[str]) -> Columns:
    """The whitespace-separated tokens with a '.' or ':' (one regex pass over the text), then
    URLs and dotted quads found inside them: a match never spans whitespace."""
    tokens = (
        pl.DataFrame(
            {"row": pl.int_range(len(lines), dtype=pl.Int64, eager=True), "t": lines.str.extract_all(_TOKENS)}
        )
        .explode("t")
        .drop_nulls("t")
    )
    rows, texts = tokens["row"].to_numpy(), tokens["t"]
    out: Columns = {}
    if "#tokens" in names:
        out["#tokens"] = (rows, texts)
    for name, pattern, marker in (("#urls", _URLS, "://"), ("#quads", _QUADS, ".")):
        if name in names:
            has = texts.str.contains(marker, literal=True).to_numpy()
            found = pl.DataFrame(
                {"row": rows[has], "v": texts.filter(pl.Series(has)).str.extract_all(pattern)}
            )
            found = found.explode("v").drop_nulls("v")
            out[name] = (found["row"].to_numpy(), found["v"])
    return out
