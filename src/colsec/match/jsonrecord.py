"""A JSON line as a record whose repeated keys keep their first value, as polars reads them.

The column paths read fields with polars, which keeps the first value of a key an object
repeats; orjson (the readers' decoder) keeps the last.  A column hit on the first value would
be confirmed against the reader's last one and dropped, and a last value that is an indicator
would never be offered: the two paths would disagree on such a line.  The reader therefore
keeps the first value too.  orjson stays the decoder: a line is decoded again, with a hook
keeping first values, only when its text holds more keys than its objects (a repeated key, or
an escaped quote before a colon inside a string), which one count per line tells.  Before the
count, a line is compared with orjson's compact text of its record: compact writers (Suricata,
orjson) give that text back byte for byte, and the comparison costs half of the count.
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
#: a key with whitespace before its colon (which ``"name":`` does not count)
_SPACED_KEY = re.compile(r'"\s+:')
_SPACED_KEY_BYTES = re.compile(rb'"\s+:')


def loads_first(line: str | bytes) -> Any:
    """``orjson.loads(line)``, a repeated key keeping its first value (raises as orjson does).

    The keys written ``"name":`` are at least the keys of the text, which are at least the
    distinct keys decoded: when the first count is the top object's size, there is no repeat
    (and nothing nested to count), which a flat record shows in one count.
    """
    rec = orjson.loads(line)
    if type(rec) is not dict and type(rec) is not list:
        return rec
    if type(line) is bytes and orjson.dumps(rec) == line:
        return rec  # the line is the record's own compact text, which holds each key once
    if isinstance(line, str):
        tight = line.count('":')
        spaced = _SPACED_KEY.search(line) is not None
    else:
        tight = line.count(b'":')
        spaced = _SPACED_KEY_BYTES.search(line) is not None
    if not spaced and type(rec) is dict and tight == len(rec):
        return rec
    if spaced:  # whitespace between a key and its colon: counted by the pattern
        tight = len(_KEY_END.findall(line) if isinstance(line, str) else _KEY_END_BYTES.findall(line))
    if tight <= _keys(rec):
        return rec
    return json.loads(line, object_pairs_hook=_first)


def _keys(value: Any) -> int:
    """The keys of every object in ``value`` (each object counts a repeated key once)."""
    if type(value) is dict:
        n, values = len(value), value.values()
    else:
        n, values = 0, value
    for v in values:
        t = type(v)
        if t is dict or t is list:
            n += _keys(v)
    return n


def _first(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out
