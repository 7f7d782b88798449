"""Object paths of STIX patterns, resolved against the objects of one event.

The engine gathers, per (object type, path) an index holds, the values of a
whole batch; these helpers turn a path key such as
``extensions.http-request-ext.request_header.Host`` or ``src_ref.value`` into
steps once, and walk an event's objects with them, following references.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Steps", "Wanted", "extract_values", "gather_columns", "path_steps"]

Steps = tuple[str | None, ...]
#: object type -> (path key, its steps) for every path some index holds
Wanted = dict[str, list[tuple[str, Steps]]]


def path_steps(key: str) -> Steps:
    """Path key -> steps; None stands for ``[*]``."""
    out: list[str | None] = []
    for part in key.split("."):
        stars = 0
        while part.endswith("[*]"):
            part = part[:-3]
            stars += 1
        if part:
            out.append(part)
        out.extend([None] * stars)
    return tuple(out)


def extract_values(obj: dict[str, Any], steps: Steps, objects: dict[str, dict[str, Any]]) -> list[str]:
    """The strings at ``steps`` below ``obj``; ``_ref``/``_refs`` steps follow into ``objects``."""
    values: list[Any] = [obj]
    for step in steps:
        nxt: list[Any] = []
        if step is None:
            for v in values:
                if isinstance(v, list):
                    nxt.extend(v)
        else:
            for v in values:
                if isinstance(v, dict) and step in v:
                    x = v[step]
                    if step.endswith("_ref"):
                        if isinstance(x, str) and x in objects:
                            nxt.append(objects[x])
                    elif step.endswith("_refs"):
                        if isinstance(x, list):
                            nxt.append([objects[r] for r in x if isinstance(r, str) and r in objects])
                    else:
                        nxt.append(x)
        values = nxt
        if not values:
            return []
    return [v for v in values if isinstance(v, str)]


def gather_columns(
    batch: list[dict[str, dict[str, Any]]], wanted: Wanted
) -> tuple[dict[tuple[str, str], tuple[list[str], list[int]]], list[set[str]]]:
    """Per (type, path key): the batch's values and their event numbers; and each event's types.

    One column per path lets every index answer the whole batch in one vectorised call.
    """
    columns: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
    types_of: list[set[str]] = []
    for ei, objects in enumerate(batch):
        types: set[str] = set()
        for obj in objects.values():
            t = obj.get("type")
            if not isinstance(t, str):
                continue
            types.add(t)
            for pkey, steps in wanted.get(t, ()):
                if len(steps) == 1 and not pkey.endswith(("_ref", "_refs")):
                    one = obj.get(pkey)  # most paths are one plain property ("value"): no walk
                    found: list[str] = [one] if isinstance(one, str) else []
                else:
                    found = extract_values(obj, steps, objects)
                for value in found:
                    col = columns.get((t, pkey))
                    if col is None:
                        col = columns[(t, pkey)] = ([], [])
                    col[0].append(value)
                    col[1].append(ei)
        types_of.append(types)
    return columns, types_of
