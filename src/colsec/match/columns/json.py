"""JSON splitters (Zeek JSON, Windows, JSON lines): ``read_ndjson`` with every wanted field
as a string."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from .lines import Columns, Lines, Refused


def json_columns(chunk: bytes, names: list[str], physical: int) -> dict[str, pl.Series]:
    """The fields by their literal names, and a dotted name also as a path into objects (as
    ``readers.text._lookup`` reads them); a list is kept as its JSON text, split later.

    The objects a dotted name descends into are read as polars structs in the one parse (their
    JSON text matched path by path cost half as much again as the parse).  An object that is
    itself a wanted field ("url" beside "url.full") is read as its text and decoded to its
    struct; a chunk where a struct's object is something else (a string, a list) is read again
    with every head as text.  A chunk where no struct holds an object's wanted paths takes the
    event path: polars' path match keeps a repeated key's last value, its parse (and the
    reader, ``jsonrecord``) the first.  polars writes an object's text without escaping its
    backslashes: a chunk where such a text holds one takes the event path (``_lossy``).
    """
    heads: dict[str, list[list[str]]] = {}
    for name in names:
        if "." in name:
            top, *rest = name.split(".")
            heads.setdefault(top, []).append(rest)
    structs: dict[str, pl.DataType] = {}
    for top, paths in heads.items():
        dtype = _struct(paths)
        if dtype is not None:
            structs[top] = dtype
    read = {top: dtype for top, dtype in structs.items() if top not in names}
    try:
        return _read(chunk, names, heads, read, structs, physical)
    except Refused:
        if not read:
            raise
    return _read(chunk, names, heads, {}, structs, physical)


def _struct(paths: list[list[str]]) -> pl.DataType | None:
    """The struct holding ``paths`` as strings; None when a path ends where another goes on."""
    fields: dict[str, list[list[str]]] = {}
    for path in paths:
        fields.setdefault(path[0], []).append(path[1:])
    out: dict[str, pl.DataType] = {}
    for key, rest in fields.items():
        if all(not r for r in rest):
            out[key] = pl.String()
        elif any(not r for r in rest):
            return None
        else:
            inner = _struct(rest)
            if inner is None:
                return None
            out[key] = inner
    return pl.Struct(out)


def _read(
    chunk: bytes,
    names: list[str],
    heads: dict[str, list[list[str]]],
    read: dict[str, pl.DataType],
    structs: dict[str, pl.DataType],
    physical: int,
) -> dict[str, pl.Series]:
    """One parse: ``read`` heads as structs, the other heads as text (an object's decoded in
    one pass by the struct ``structs`` knows for it)."""
    schema: dict[str, pl.DataType] = dict.fromkeys(names, pl.String())
    for top in heads:
        schema[top] = read.get(top, pl.String())
    try:
        df = pl.read_ndjson(chunk, schema=schema)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    if len(df) != physical:  # blank lines: row numbers would not be line numbers
        raise Refused("blank lines")
    texts = [top for top in heads if top not in read]
    if texts and df.select(pl.any_horizontal(_lossy(pl.col(top)) for top in texts).any()).item():
        raise Refused("an object read as text holds an escape")
    decoded = [top for top in texts if top in structs]
    if decoded:
        try:
            df = df.with_columns(
                pl.when(pl.col(top).str.starts_with("{")).then(pl.col(top)).str.json_decode(structs[top])
                .alias(f"{top}#")
                for top in decoded
            )  # fmt: skip
        except (pl.exceptions.PolarsError, ValueError):  # a wanted leaf holding an object or a list
            df = df.with_columns(_reread(df[top], structs[top]).alias(f"{top}#") for top in decoded)
    if any(top not in decoded for top in texts):
        # polars' path match keeps a repeated key's last value, its parse and the reader the first
        raise Refused("an object read as text has no struct to decode it")
    exprs: list[pl.Expr] = []
    for name in names:
        if "." not in name:
            exprs.append(pl.col(name))
            continue
        top, *rest = name.split(".")
        nested = pl.col(top if top in read else f"{top}#")
        for part in rest:
            nested = nested.struct.field(part)
        exprs.append(pl.coalesce(pl.col(name), nested).alias(name))
    out = df.select(exprs)
    return {name: out[name] for name in names}


def _reread(text: pl.Series, dtype: pl.DataType) -> pl.Series:
    """Objects' texts as the struct ``dtype`` by polars' line reader, which reads a leaf holding
    an object or a list as its text (``json_decode`` refuses it) and keeps a repeated key's
    first value (its path match keeps the last); one line per row, "{}" for a non-object."""
    assert isinstance(dtype, pl.Struct)
    blob = pl.select(
        pl.when(pl.lit(text).str.starts_with("{")).then(pl.lit(text)).otherwise(pl.lit("{}")).str.join("\n")
    ).item()
    try:
        df = pl.read_ndjson((blob + "\n").encode(), schema={f.name: f.dtype for f in dtype.fields})
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    if len(df) != len(text):
        raise Refused("an object's text spans lines")
    return df.to_struct()


def _lossy(text: pl.Expr) -> pl.Expr:
    """An object's text polars wrote without escaping a backslash or a control character: its
    paths could not be read back from it (a Windows path would be lost)."""
    return text.str.starts_with("{") & text.str.contains(r"[\\\x00-\x1f]")


def json_lists(cols: dict[str, pl.Series], names: list[str]) -> None:
    """JSON fields that may hold an array, as one list per row (a scalar is a list of one),
    in place: every field decoded in one polars pass."""
    names = [
        n
        for n in dict.fromkeys(names)
        if n in cols and cols[n].dtype == pl.String and cols[n].null_count() < len(cols[n])
    ]
    if not names:
        return
    frame = pl.DataFrame({n: cols[n] for n in names})
    arrays = pl.List(pl.String)
    try:
        out = frame.select(
            pl.coalesce(
                pl.when(pl.col(n).str.starts_with("[")).then(pl.col(n)).str.json_decode(arrays),
                pl.concat_list(pl.col(n)),
            ).alias(n)
            for n in names
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    cols.update({n: out[n] for n in names})


def with_url(cols: dict[str, pl.Series]) -> Columns:
    """Zeek's ``url:value`` for a relative ``uri``: ``http://`` + host + uri, as ``zeek_event``."""
    out: Columns = dict(cols)
    if "host" in cols and "uri" in cols:
        url = pl.concat_str([pl.lit("http://"), pl.lit(cols["host"]), pl.lit(cols["uri"])])
        out["#url"] = pl.select(url).to_series()
    return out


def json_literal(chunk: bytes, names: list[str], physical: int) -> dict[str, pl.Series]:
    """Zeek JSON fields by their literal (dotted) names, as ``zeek_event`` reads them."""
    try:
        df = pl.read_ndjson(chunk, schema=dict.fromkeys(names, pl.String))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    if len(df) != physical:
        raise Refused("blank lines")
    return {name: df[name] for name in names}


_WRAPPED = re.compile(rb'(?m)^\s*\{\s*"[^"]*"\s*:\s*\{')


def wrapped(chunk: bytes, lines: Lines) -> bool:
    """Whether a Zeek JSON chunk may hold a record wrapped by its log type ({"http": {...}}).

    When every '{' of the chunk is a line's first byte (flat records, no brace inside a
    string), the pattern could only match across a line end, on a line that is no JSON object
    (``{"http":`` and nothing after), which ``read_ndjson`` refuses anyway: a count of bytes
    at memchr speed then stands for the regex, a quarter of the run on a 16 MiB chunk.
    """
    braces = np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("{"))  # SIMD, not bytes.count
    if braces == np.count_nonzero(lines.heads() == ord("{")):
        return False
    return _WRAPPED.search(chunk) is not None
