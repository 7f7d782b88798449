"""A JSON line as a record whose repeated keys keep their first value, as polars reads them.

The column paths read fields with polars, which keeps the first value of a key an object
repeats; orjson (the readers' decoder) keeps the last.  A column hit on the first value would
be confirmed against the reader's last one and dropped, and a last value that is an indicator
would never be offered: the two paths would disagree on such a line.  The reader therefore
keeps the first value too.  orjson stays the decoder: a line is decoded again, with a hook
keeping first values, only when its text holds more keys than its objects (a repeated key, or
an escaped quote before a colon inside a string), which one count per line tells.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["loads_first"]

#: a key's end: its closing quote, optional whitespace, the colon
_KEY_END = re.compile(r'"\s*:')
_KEY_END_BYTES = re.compile(rb'"\s*:')
#: a quote followed by JSON whitespace: a key may end there, counted only by the pattern
_SPACED = ('" ', '"\t', '"\n', '"\r')
_SPACED_BYTES = tuple(q.encode() for q in _SPACED)


def loads_first(line: str | bytes) -> Any:
    """``orjson.loads(line)``, a repeated key keeping its first value (raises as orjson does)."""
    rec = orjson.loads(line)
    if not isinstance(rec, dict | list):
        return rec
    keys = _keys(rec)
    if isinstance(line, str):
        found = line.count('":')
        if found < keys or any(q in line for q in _SPACED):  # whitespace before a colon
            found = len(_KEY_END.findall(line))
    else:
        found = line.count(b'":')
        if found < keys or any(q in line for q in _SPACED_BYTES):
            found = len(_KEY_END_BYTES.findall(line))
    if found <= keys:
        return rec
    return json.loads(line, object_pairs_hook=_first)


def _keys(value: Any) -> int:
    """The keys of every object in ``value`` (each object counts a repeated key once)."""
    if isinstance(value, dict):
        n = len(value)
        for v in value.values():
            if isinstance(v, dict | list):
                n += _keys(v)
        return n
    n = 0
    for v in value:
        if isinstance(v, dict | list):
            n += _keys(v)
    return n


def _first(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out
