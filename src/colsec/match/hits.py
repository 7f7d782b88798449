"""Index lookups over prepared value columns: what EVE's columns and every other format's share.

Each distinct prepared column is hashed (and cut into octet prefixes for CIDR blocks) once, in
one polars pass, whichever indexes and keys then read it; the numpy lookups follow, and only
the hits (row, indicator, path, value) come back to Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from colsec.match.addresses import ipv4_column
from colsec.match.cidr import nested_prefixes, octet_prefix, octet_prefixes
from colsec.match.compiler import MAX_LEAVES
from colsec.match.engine import MatchEngine
from colsec.match.index import HASH_SEED, SubstringIndex, SuffixIndex

__all__ = ["Hits", "PreparedFrame", "collect_hits", "column_values", "hit_rows"]


@dataclass
class PreparedFrame:
    """Rows as STIX-path value columns: per column, the non-null values and their rows."""

    rows: int
    columns: list[tuple[tuple[str, str], str]]
    positions: dict[str, np.ndarray]
    values: dict[str, pl.Series]
    #: ``column_values`` of these columns when made already (in a parse-ahead thread)
    hashed: dict[str, Any] | None = None


def column_values(engine: MatchEngine, prepared: PreparedFrame) -> dict[str, Any]:
    """The polars half of matching: value hashes for equality and octet prefixes (and their
    hashes) for CIDR blocks in one pass over the prepared values; IPv4 numbers for the other
    CIDR blocks in a pass per address column."""
    select: dict[str, pl.Expr] = {}
    out: dict[str, Any] = {}
    for key, name in prepared.columns:
        v = pl.lit(prepared.values[name])
        if key in engine.eq:
            select[name + "#h"] = v.hash(HASH_SEED).implode().alias(name + "#h")
        cidx = engine.cidr.get(key)
        if cidx is not None:
            cidx.freeze()
            # the numbers answer the octet blocks too when they are read anyway
            todo = (
                [] if cidx.numeric_octets else [plen for plen in cidx.octets if f"{name}#p{plen}" not in out]
            )
            if nested_prefixes(todo):  # several lengths: one regex pass of its own
                for plen, pre in octet_prefixes(prepared.values[name], todo).items():
                    out[f"{name}#p{plen}"] = pre
                    out[f"{name}#p{plen}h"] = pre.hash(HASH_SEED).to_numpy()
            else:
                for plen in todo:
                    select[f"{name}#p{plen}"] = octet_prefix(v, plen).implode().alias(f"{name}#p{plen}")
            if cidx.needs_numbers and name + "#ip" not in out:
                # a query of its own: among the hashes, polars split the text once per octet
                out[name + "#ip"], out[name + "#ok"] = ipv4_column(prepared.values[name])
    if not select:
        return out
    frame = pl.select(list(select.values()))
    for column in select:
        cell: pl.Series = frame[column][0]
        if "#p" in column:  # hashed here: hashing inside the pass would compute the prefix twice
            out[column] = cell
            out[column + "h"] = cell.hash(HASH_SEED).to_numpy()
        else:
            out[column] = cell.to_numpy()
    return out


def hit_rows(engine: MatchEngine, prepared: PreparedFrame) -> np.ndarray:
    """The rows some live indicator's index hit, in order (each once)."""
    hits = collect_hits(engine, prepared, make_alerts=False)
    if not hits.rows:
        return np.empty(0, dtype=np.int64)
    rows, codes = np.concatenate(hits.rows), np.concatenate(hits.codes)
    return np.unique(rows[engine.alive[codes // MAX_LEAVES]])


def collect_hits(engine: MatchEngine, prepared: PreparedFrame, *, make_alerts: bool) -> Hits:
    """Every index hit of every prepared column (matched texts kept only for alerts).

    The columns of one key (a source and a destination address, a DNS answer) are looked up
    together, as one column: an index is asked once per key, not once per column (each ask
    costs a few polars calls whatever its size)."""
    hits = Hits()
    extra = prepared.hashed if prepared.hashed is not None else column_values(engine, prepared)
    names_of: dict[tuple[str, str], list[str]] = {}
    for key, name in prepared.columns:
        names_of.setdefault(key, []).append(name)
    for key, names in names_of.items():
        rows_of, s, got = _joined(names, prepared, extra)
        lookups: list[tuple[np.ndarray, np.ndarray]] = []
        if key in engine.eq:
            lookups.append(engine.eq[key].lookup(s, got["#h"]))
        if key in engine.cidr:
            cidx = engine.cidr[key]
            ipv4 = (got["#ip"], got["#ok"]) if "#ip" in got else None
            prefixes = None
            if not cidx.numeric_octets:
                prefixes = {plen: (got[f"#p{plen}"], got[f"#p{plen}h"]) for plen in cidx.octets}
            lookups.append(cidx.lookup(s, ipv4, prefixes))
        for table2 in (engine.suffix, engine.substr):
            idx2 = table2.get(key)
            if idx2 is not None:
                cand_pos, cand_vals = _candidates(idx2, s)
                pairs = [(int(cand_pos[i]), c) for i, c in idx2.lookup(cand_vals)]
                if pairs:
                    arr = np.asarray(pairs, dtype=np.int64)
                    lookups.append((arr[:, 0], arr[:, 1]))
        for pos, codes in lookups:
            if len(pos):
                hits.add(f"{key[0]}:{key[1]}", rows_of[pos], codes, s.gather(pos) if make_alerts else None)
    return hits


def _joined(
    names: list[str], prepared: PreparedFrame, extra: dict[str, Any]
) -> tuple[np.ndarray, pl.Series, dict[str, Any]]:
    """The rows, values and ``column_values`` entries (by suffix) of columns taken as one, in
    order: a hit's position in the joined column is its position in its own plus the lengths
    of the columns before."""
    if len(names) == 1:
        name = names[0]
        mine = {k[len(name) :]: v for k, v in extra.items() if k.startswith(name + "#")}
        return prepared.positions[name], prepared.values[name], mine
    got: dict[str, Any] = {}
    for suffix in {k[len(names[0]) :] for k in extra if k.startswith(names[0] + "#")}:
        parts = [extra[n + suffix] for n in names if n + suffix in extra]
        if len(parts) < len(names):
            continue  # an entry made for some columns only: the lookup makes its own
        got[suffix] = pl.concat(parts) if isinstance(parts[0], pl.Series) else np.concatenate(parts)
    rows_of = np.concatenate([prepared.positions[n] for n in names])
    return rows_of, pl.concat([prepared.values[n] for n in names]), got


class Hits:
    """(row, indicator code, matched path, matched value) of every index hit, column by column."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.where: list[np.ndarray] = []
        self.texts: list[pl.Series] = []
        self.paths: list[str] = []

    def add(self, path: str, rows: np.ndarray, codes: np.ndarray, texts: pl.Series | None) -> None:
        if path not in self.paths:
            self.paths.append(path)
        self.rows.append(rows)
        self.codes.append(codes)
        self.where.append(np.full(len(rows), self.paths.index(path), dtype=np.int64))
        if texts is not None:
            self.texts.append(texts)

    def live(self, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any]]:
        """The hits of indicators still alive, in (row, code) order: file order for the alerts."""
        rows, codes, where = (np.concatenate(a) for a in (self.rows, self.codes, self.where))
        keep = alive[codes // MAX_LEAVES]
        order = np.lexsort((codes, rows))
        order = order[keep[order]]
        texts: list[Any] = []
        if self.texts:
            texts = pl.concat(self.texts).gather(order).to_list()
        return rows[order], codes[order], where[order], texts


def _candidates(idx: SuffixIndex | SubstringIndex, s: pl.Series) -> tuple[np.ndarray, list[str | None]]:
    """Positions and values that may hit, chosen in one vectorised pass (Aho-Corasick in polars)."""
    needles: list[str] | pl.Series = list(idx.suffixes) if isinstance(idx, SuffixIndex) else idx.needles()
    if not len(needles) or (isinstance(needles, pl.Series) and not len(needles[0])):
        return np.empty(0, dtype=np.int64), []
    # The one-item list column goes as a scalar expression: polars 2.2 takes no Series here.
    patterns: list[str] | pl.Expr = pl.lit(needles).first() if isinstance(needles, pl.Series) else needles
    pos = np.nonzero(s.str.contains_any(patterns).fill_null(False).to_numpy())[0]
    return pos, s.gather(pos.tolist()).to_list()
