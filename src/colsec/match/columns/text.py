"""Text splitters (CEF, syslog): vectorised key=value splits and regex extraction."""

from __future__ import annotations

import numpy as np
import polars as pl

from colsec.match.readers.cef import CEF_FULL_NAMES, unescape
from colsec.match.readers.text import QUAD_JOINED

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


def _patterns(ascii_only: bool) -> tuple[str, str]:
    """The one pattern that finds, in a line, a superset of what ``readers.text`` finds there,
    and the run pattern.  Its alternatives, leftmost first:

    - a *URL*: the reader's URL pattern (only a URL holds a colon);
    - a *token*: host-name characters with a '.' ending in a letter or '-', after whitespace
      or at the line start (a whitespace token the reader takes as a domain is such a run,
      whole; the whitespace is cut off after);
    - a *run*: a maximal run of digits and dots (the reader's IPv4 pattern is bounded by
      neither, so it finds exactly the runs that are a dotted quad), with the characters that
      join it to a longer token (``QUAD_JOINED``) and every run they join: such a run is no
      quad, as the reader takes no address from it (``10.0.0.0-10.255.255.255`` is one value,
      and a chain ending ``-http`` is ``_SWALLOWED``, its line's URLs read again).

    Runs inside a token or a URL are maximal too (a token neither starts nor ends with a digit
    or a dot, a URL starts with a letter and ends before whitespace, a quote or a bracket): the
    run pattern finds them there.  A token swallows a URL's start only when it ends in
    ``.http``/``-http(s)`` right before the URL's ``://``: ``syslog_columns`` reads that
    line's URLs again alone.

    On ASCII text the classes are spelled in ASCII (the same sets there, and faster).
    """
    digit, letter = ("0-9", "A-Za-z") if ascii_only else (r"\d", "A-Za-z" + _FOLDED)
    name = f"{letter}0-9.-"
    run = rf"[{QUAD_JOINED}]?[{digit}.]{{7,}}(?:[{QUAD_JOINED}][{digit}.]*)*"
    return (
        rf"(?i:\bhttps?://[^{_PY_SPACE}\"'<>]+)|(?:^|[{_PY_SPACE}])[{name}]*\.[{name}]*[{letter}-]|{run}",
        run,
    )


#: a run that may be a dotted quad (a token holds a letter, '-' or whitespace, a URL a colon)
_QUAD = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"
#: a token ending where a URL may start: the line's URLs are read again alone
_SWALLOWED = r"(?i)[.-]https?$"


def _not_repeated() -> pl.Expr:
    """A value other than the one before it on its line: a firewall line names an address twice
    in a row (ASA's ``outside:a/443 (a/443)``), and a row offering a value twice hits the same
    indicators twice, which the alerts then count once (they count the event's values)."""
    row, v = pl.col("row"), pl.col("v")
    return ((row != row.shift(1)) | (v != v.shift(1))).fill_null(True)


def syslog_columns(lines: pl.Series, names: list[str], *, ascii_only: bool = False) -> Columns:
    """URLs, dotted quads and host-name tokens of every line, found in one regex pass over
    the lines (a match never spans a line), then told apart by their characters."""
    want_urls = "#urls" in names
    if not want_urls and "#quads" not in names and "#tokens" not in names:
        return {}
    pattern, run = _patterns(ascii_only)
    frame = pl.DataFrame({"l": lines}).lazy().with_row_index("row")
    half = len(lines) // 2
    # the pass in two halves, one a core: the one pattern is a single expression, which polars
    # would run on one thread
    found = pl.concat(
        pl.collect_all(
            [
                part.select(pl.col("row").cast(pl.Int64), pl.col("l").str.extract_all(pattern).alias("v"))
                .explode("v")
                .drop_nulls("v")
                .with_columns(
                    url=pl.col("v").str.contains(":", literal=True), quad=pl.col("v").str.contains(_QUAD)
                )
                for part in (frame.slice(0, half), frame.slice(half))
            ]
        )
    )
    urls = found.filter("url").select("row", "v")
    # the tokens, and the runs that are no quad (a superset: the reader makes no domain of them)
    tokens = found.filter(~pl.col("url") & ~pl.col("quad")).select(
        "row", pl.col("v").str.replace(rf"^[{_PY_SPACE}]", "")
    )
    out: Columns = {}
    if "#tokens" in names:
        out["#tokens"] = (tokens["row"].to_numpy(), tokens["v"])
    if "#quads" in names:
        inside = (
            pl.concat([urls, tokens])
            .lazy()
            .select("row", pl.col("v").str.extract_all(run))
            .explode("v")
            .drop_nulls("v")
        )
        got = pl.concat(
            [
                found.lazy().filter("quad").select("row", "v").filter(_not_repeated()),
                inside.filter(pl.col("v").str.contains(_QUAD)),
            ]
        ).collect()
        out["#quads"] = (got["row"].to_numpy(), got["v"])
    if want_urls:
        swallowed = tokens.filter(pl.col("v").str.contains(_SWALLOWED))["row"].unique()
        if len(swallowed):  # those lines' URLs as the URL pattern alone finds them
            again = (
                pl.DataFrame({"row": swallowed, "v": lines.gather(swallowed)})
                .select("row", pl.col("v").str.extract_all(pattern.split("|", 1)[0]))
                .explode("v")
                .drop_nulls("v")
            )
            urls = pl.concat([urls.filter(~pl.col("row").is_in(swallowed)), again]).sort(
                "row", maintain_order=True
            )
        out["#urls"] = (urls["row"].to_numpy(), urls["v"])
    return out
