"""JSON splitters (Zeek JSON, Windows, JSON lines): ``read_ndjson`` with every wanted field
as a string."""

from __future__ import annotations

import polars as pl

from .lines import Columns, Refused


def json_columns(chunk: bytes, names: list[str], physical: int) -> dict[str, pl.Series]:
    """The fields by their literal names, and a dotted name also as a path into objects (as
    ``readers.text._lookup`` reads them); a list is kept as its JSON text, split later."""
    tops = list(dict.fromkeys([*names, *(n.split(".", 1)[0] for n in names if "." in n)]))
    try:
        df = pl.read_ndjson(chunk, schema=dict.fromkeys(tops, pl.String))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    if len(df) != physical:  # blank lines: row numbers would not be line numbers
        raise Refused("blank lines")
    out: dict[str, pl.Series] = {}
    for name in names:
        col = df[name]
        if "." in name:
            top, rest = name.split(".", 1)
            path = "$" + "".join(f"['{p}']" for p in rest.split("."))
            nested = df[top].str.json_path_match(path)
            col = pl.select(pl.coalesce(pl.lit(col), pl.lit(nested))).to_series()
        out[name] = col
    return out


def json_list(values: pl.Series) -> pl.Series:
    """A JSON field that may hold an array, as one list per row (a scalar is a list of one)."""
    mask = values.str.starts_with("[").fill_null(False)
    if not mask.any():
        return values.to_frame("v").select(pl.concat_list(pl.col("v"))).to_series()
    try:
        decoded = values.filter(mask).str.json_decode(pl.List(pl.String))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise Refused(str(exc)) from exc
    rows = pl.int_range(len(values), dtype=pl.Int64, eager=True)
    listed = pl.DataFrame({"row": rows.filter(mask), "l": decoded})
    full = pl.DataFrame({"row": rows, "v": values}).join(listed, on="row", how="left", maintain_order="left")
    return full.select(pl.coalesce(pl.col("l"), pl.concat_list(pl.col("v")))).to_series()


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
