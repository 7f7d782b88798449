"""Text splitters (CEF, syslog): vectorised key=value splits and regex extraction."""

from __future__ import annotations

import numpy as np
import polars as pl

from colsec.match.readers.cef import CEF_FULL_NAMES, unescape

from .lines import Columns
from .table import py_strip

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
    wanted = [n for n in names if not n.startswith("#")]
    # the keys read under a wanted short name, kept before any value is copied or unescaped
    accept = [n for n in wanted if n not in _CEF_SHORT] + [f for f, n in _CEF_SHORT.items() if n in wanted]
    frame = (
        pl.DataFrame({"row": pl.int_range(len(lines), dtype=pl.Int64, eager=True), "x": marked})
        .lazy()
        .with_columns(pl.col("x").str.split("\x00"))
        .explode("x")
        .select("row", pl.col("x").str.split_exact("\x01", 1).alias("kv"))
        .unnest("kv")
        .filter(
            pl.col("field_0").is_in(accept) & pl.col("field_1").is_not_null()
        )  # a piece with no key: none
        .select(
            pl.col("row"),
            pl.col("field_0").replace(_CEF_SHORT).alias("k"),
            py_strip(pl.col("field_1")).alias("v"),
        )
        .collect()
    )
    # unescaped as the reader unescapes (after Python's strip): '=', backslash and '|' in one
    # pass; a value with an escaped line end (rare) by the reader's own ``unescape``
    values = frame["v"].str.replace_all(r"\\([=\\|])", "$1")
    ends = np.flatnonzero(frame["v"].str.contains(r"\\[nr]").fill_null(False).to_numpy())
    if len(ends):
        exact = pl.Series([unescape(v) for v in frame["v"].gather(ends).to_list()], dtype=pl.String)
        values = values.scatter(ends.tolist(), exact)
    frame = frame.with_columns(values.alias("v"))
    out: Columns = {}
    for (name,), part in frame.partition_by("k", as_dict=True, maintain_order=True).items():
        out[str(name)] = (part["row"].to_numpy(), part["v"])  # a key given twice offers both values
    return out


#: letters Python's ``re.IGNORECASE`` ``[a-z]`` also matches (the reader's domain pattern)
_FOLDED = "\u0130\u0131\u017f\u212a"
#: Python's ``\s`` (``str.split``) also splits at these; Rust's ``\s`` does not
_PY_SPACE = r"\s\x1c-\x1f"


def _patterns(ascii_only: bool) -> tuple[str, str, str]:
    """The URL pattern, the word pattern and the run pattern, each finding a superset of
    what ``readers.text`` finds in a line.

    - URLs: the reader's URL pattern.
    - Words, one pass for two columns, either
      a *token*: host-name characters with a '.' ending in a letter or '-', after whitespace
      or at the line start (a whitespace token the reader takes as a domain is such a run,
      whole; the whitespace is cut off after), or
      a *run*: a maximal run of digits and dots (the reader's IPv4 pattern is bounded by
      neither, so it finds exactly the runs that are a dotted quad), outside the tokens.
      A token neither starts nor ends with a digit or a dot, so the runs inside it are
      maximal too, and the run pattern finds them there.

    On ASCII text the classes are spelled in ASCII (the same sets there, and faster).
    """
    digit, letter = ("0-9", "A-Za-z") if ascii_only else (r"\d", "A-Za-z" + _FOLDED)
    name = f"{letter}0-9.-"
    run = rf"[{digit}.]{{7,}}"
    return (
        rf"(?i)\bhttps?://[^{_PY_SPACE}\"'<>]+",
        rf"(?:^|[{_PY_SPACE}])[{name}]*\.[{name}]*[{letter}-]|{run}",
        run,
    )


_QUAD = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


def _exploded(frame: pl.LazyFrame, name: str) -> pl.LazyFrame:
    return frame.select("row", name).explode(name).drop_nulls(name)


def syslog_columns(lines: pl.Series, names: list[str], *, ascii_only: bool = False) -> Columns:
    """URLs, dotted quads and host-name tokens of every line: two regex passes over the
    lines, run side by side by polars (a match never spans a line)."""
    urls, words, run = _patterns(ascii_only)
    exprs = {}
    if "#urls" in names:
        exprs["#urls"] = pl.col("l").str.extract_all(urls)
    if "#quads" in names or "#tokens" in names:
        exprs["#words"] = pl.col("l").str.extract_all(words)
    if not exprs:
        return {}
    frame = pl.DataFrame({"l": lines}).lazy().with_row_index("row")
    found = frame.select(pl.col("row").cast(pl.Int64), **exprs).collect().lazy()
    out: Columns = {}
    if "#urls" in exprs:
        got = _exploded(found, "#urls").collect()
        out["#urls"] = (got["row"].to_numpy(), got["#urls"])
    if "#words" in exprs:
        every = _exploded(found, "#words").collect()
        is_token = ~every["#words"].str.contains(f"^(?:{run})$")  # a token has a letter or '-'
        tokens = every.filter(is_token).select(
            "row", pl.col("#words").str.replace(rf"^[{_PY_SPACE}]", "").alias("v")
        )
        if "#tokens" in names:
            out["#tokens"] = (tokens["row"].to_numpy(), tokens["v"])
        if "#quads" in names:
            inside = _exploded(tokens.lazy().select("row", pl.col("v").str.extract_all(run)), "v")
            quads = pl.concat([every.lazy().filter(~is_token).rename({"#words": "v"}), inside])
            got = quads.filter(pl.col("v").str.contains(_QUAD)).collect()
            out["#quads"] = (got["row"].to_numpy(), got["v"])
    return out
