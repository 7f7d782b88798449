"""Alerts straight from the column hits: the engine is not asked again for a hit row.

The columns' index hits say which (row, indicator, path, value) matched; the format's reader
reads each hit row once (its timestamp, its refusals and its normalisation stay the reader's
own), and a hit is kept only when the reader's event holds that value at that path.  The
columns offer every value the reader makes (the differential tests hold them to it), so the
kept hits are exactly the engine's hits on the same event: an alert made here is the event
path's alert, without the engine's second gather, hash and lookup of every value of the row.
Rows hit by a compound indicator still go through the engine (``complex_only``), which holds
the exact semantics and the windowed state, as in ``vector._alerts_for`` for EVE.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from colsec.match.compiler import MAX_LEAVES
from colsec.match.engine import Alert, MatchEngine
from colsec.match.events import Event
from colsec.match.paths import Steps, extract_values, path_steps


@functools.lru_cache(maxsize=1024)
def _steps(path: str) -> tuple[str, Steps]:
    obj_type, _, key = path.partition(":")
    return obj_type, path_steps(key)


def _plain(path: str) -> tuple[str, str] | None:
    """(object type, property) of a path that is one plain property ("value"), else None."""
    obj_type, steps = _steps(path)
    step = steps[0] if len(steps) == 1 else None
    if step is not None and not step.endswith(("_ref", "_refs")):
        return obj_type, step
    return None


def event_values(ev: Event, path: str) -> list[str]:
    """Every value the event holds at ``path`` ("type:key"), as the engine gathers them."""
    obj_type, steps = _steps(path)
    step = steps[0] if len(steps) == 1 else None
    if step is not None and not step.endswith(("_ref", "_refs")):
        # most paths are one plain property ("value"): no walk, as ``paths.gather_columns``
        return [
            v
            for obj in ev.objects.values()
            if obj.get("type") == obj_type and isinstance(v := obj.get(step), str)
        ]
    out: list[str] = []
    for obj in ev.objects.values():
        if obj.get("type") == obj_type:
            out.extend(extract_values(obj, steps, ev.objects))
    return out


def direct_alerts(
    engine: MatchEngine,
    events: dict[int, Event],
    rows: np.ndarray,
    codes: np.ndarray,
    where: np.ndarray,
    texts: Sequence[Any],
    paths: list[str],
) -> list[Alert]:
    """Alerts for column hits sorted by (row, code), each confirmed on the row's event.

    ``events``: the reader's event of each hit row (absent: the reader made none, no alert).
    A hit's matched list is the event's: each confirmed value once per time the event holds it
    at that path (the engine records every occurrence).
    """
    if not len(rows):
        return []
    inds = codes // MAX_LEAVES
    complex_set = engine.complex
    is_complex = (
        np.fromiter((i in complex_set for i in inds.tolist()), dtype=bool, count=len(inds))
        if complex_set
        else np.zeros(len(inds), dtype=bool)
    )
    alerts: list[Alert] = []
    simple = np.flatnonzero(~is_complex)
    if len(simple):
        r_s, c_s = rows[simple], codes[simple]
        starts = np.flatnonzero(np.r_[True, (r_s[1:] != r_s[:-1]) | (c_s[1:] != c_s[:-1])])
        ends = np.r_[starts[1:], len(simple)].tolist()
        meta = engine.rows.get_many(np.unique(inds[simple]).tolist())
        where_s = where[simple].tolist()
        texts_s = [texts[i] for i in simple.tolist()]
        listed = engine.warninglisted if engine.has_warninglist else None
        r_list, i_list = r_s.tolist(), inds[simple].tolist()
        held: dict[tuple[int, str], list[str]] = {}
        plain = [_plain(p) for p in paths]
        for a, b in zip(starts.tolist(), ends, strict=True):
            row = r_list[a]
            ev = events.get(row)
            if ev is None:
                continue
            matched: list[tuple[str, Any]]
            if b - a == 1:  # nearly every hit: one value of one plain property
                w, text = where_s[a], texts_s[a]
                path, one = paths[w], plain[w]
                if one is not None:  # ``event_values(ev, path).count(text)`` without the list
                    obj_type, step = one
                    n = 0
                    for obj in ev.objects.values():
                        if obj.get("type") == obj_type and obj.get(step) == text:
                            n += 1
                else:
                    values = held.get((row, path))
                    if values is None:
                        values = held[(row, path)] = event_values(ev, path)
                    n = values.count(text)
                matched = [(path, text)] * n
            else:
                matched = []
                for path, text in dict.fromkeys((paths[where_s[j]], texts_s[j]) for j in range(a, b)):
                    values = held.get((row, path))
                    if values is None:
                        values = held[(row, path)] = event_values(ev, path)
                    matched.extend([(path, text)] * values.count(text))
            if not matched:
                continue  # a value the columns offered and the reader did not make
            if listed is not None and all(listed(w, v) for w, v in matched):
                engine.suppressed += 1
                continue
            ident, owner, tlp, name = meta[i_list[a]]
            alerts.append(Alert(ident, [ev], matched, owner, tlp, name))
    complex_rows = sorted(set(rows[is_complex].tolist()))
    if complex_rows:
        batch = [events[r] for r in complex_rows if r in events]
        alerts.extend(engine.match(batch, complex_only=True))
    return alerts
