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


#: letters Python's ``re.IGNORECASE`` ``[a-z]`` also matches (the reader's domain pattern)
_FOLDED = "\u0130\u0131\u017f\u212a"
#: Python's ``\s`` (``str.split``) also splits at these; Rust's ``\s`` does not
_PY_SPACE = r"\s\x1c-\x1f"


def _patterns(ascii_only: bool) -> dict[str, str]:
    """One pattern per column, each a superset of what ``readers.text`` finds in a line:

    - ``#urls``: the reader's URL pattern;
    - ``#quads``: maximal runs of digits and dots (the reader's IPv4 pattern is bounded by
      neither, so it finds exactly the runs that are a dotted quad), filtered after;
    - ``#tokens``: runs of host-name characters with a '.' ending in a letter or '-', after
      whitespace or at the line start (a whitespace token the reader takes as a domain is
      such a run, whole); the whitespace is cut off after.

    On ASCII text the classes are spelled in ASCII (the same sets there, and faster).
    """
    digit, letter = ("0-9", "A-Za-z") if ascii_only else (r"\d", "A-Za-z" + _FOLDED)
    name = f"{letter}0-9.-"
    return {
        "#urls": rf"(?i)\bhttps?://[^{_PY_SPACE}\"'<>]+",
        "#quads": rf"[{digit}.]{{7,}}",
        "#tokens": rf"(?:^|[{_PY_SPACE}])[{name}]*\.[{name}]*[{letter}-]",
    }


_QUAD = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


def syslog_columns(lines: pl.Series, names: list[str], *, ascii_only: bool = False) -> Columns:
    """URLs, dotted quads and host-name tokens of every line: one regex pass each over the
    lines, run side by side by polars (a match never spans a line)."""
    exprs = {n: pl.col("l").str.extract_all(p) for n, p in _patterns(ascii_only).items() if n in names}
    if not exprs:
        return {}
    frame = pl.DataFrame({"l": lines}).lazy().with_row_index("row")
    found = frame.select(pl.col("row").cast(pl.Int64), **exprs).collect()
    out: Columns = {}
    for name in exprs:
        part = found.lazy().select("row", name).explode(name).drop_nulls(name)
        if name == "#quads":
            part = part.filter(pl.col(name).str.contains(_QUAD))
        elif name == "#tokens":
            part = part.with_columns(pl.col(name).str.replace(rf"^[{_PY_SPACE}]", ""))
        got = part.collect()
        out[name] = (got["row"].to_numpy(), got[name])
    return out
