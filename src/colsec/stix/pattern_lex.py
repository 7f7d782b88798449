"""The lexical half of the STIX 2.1 pattern parser: tokens, literal values and timestamps.

The token rules follow the grammar's lexer (whitespace and comments skipped, keywords, quoted
strings with their two escapes, hex and base64 binaries, ``t'...'`` timestamps); literal values
are decoded here so the parser (``pattern_parse.py``) deals only in tokens and trees.
``timestamp_micros`` is also how the matching engine reads the times it compares.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re

from colsec.stix.pattern_ast import Literal, Timestamp

__all__ = [
    "PatternSemanticError",
    "PatternSyntaxError",
    "literal_value",
    "timestamp_micros",
    "tokenize",
    "unescape_string",
]

_KEYWORDS = frozenset(
    "AND OR NOT FOLLOWEDBY LIKE MATCHES ISSUPERSET ISSUBSET EXISTS LAST IN START STOP SECONDS "
    "WITHIN REPEATS TIMES".split()
)

# The lexer's own token rules: fixed and trusted, so the standard library
# engine is fine here (pattern *values* never reach it as regexes).
_WS = "[ \t\r\n\u000b\u000c\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
_TS = (
    r"t'[0-9]{4}-(?:0[1-9]|1[012])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:"
    r"(?:[0-5][0-9]|60)(?:\.[0-9]+)?Z'"
)
_B64 = "[A-Za-z0-9+/]"
_TOKEN_RE = re.compile(
    "|".join(
        [
            f"(?P<ws>{_WS})",
            r"(?P<comment>/\*.*?\*/|//[^\r\n]*)",
            f"(?P<ts>{_TS})",
            r"(?P<hex>h'(?:[0-9a-fA-F]{2})*')",
            f"(?P<bin>b'(?:{_B64}{{4}})*(?:{_B64}{{4}}|{_B64}{{3}}=|{_B64}{{2}}==)')",
            r"(?P<str>'(?:[^'\\]|\\'|\\\\)*')",
            r"(?P<float>[+-]?[0-9]*\.[0-9]+)",
            r"(?P<int>[+-]?(?:0|[1-9][0-9]*))",
            r"(?P<ident>[a-zA-Z_][a-zA-Z0-9_-]*)",
            r"(?P<op>==|!=|<>|<=|>=|[=<>:.,()\[\]*])",
        ]
    ),
    re.DOTALL,
)


class PatternSyntaxError(ValueError):
    """The text is not a valid STIX 2.1 pattern (message says where)."""


class PatternSemanticError(PatternSyntaxError):
    """Grammatical, but breaks a rule the grammar cannot express (``WITHIN 0``, mixed sets, ...)."""


def timestamp_micros(text: str) -> int:
    """``YYYY-MM-DDTHH:MM:SS[.frac]Z`` -> UTC microseconds; ValueError when invalid.

    Fractions beyond microseconds are truncated (as the reference matcher
    does); upper-case ``T``/``Z`` are required.
    """
    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] != "T" or text[-1] != "Z":
        raise ValueError(f"invalid timestamp: {text}")
    if text[13] != ":" or text[16] != ":":
        raise ValueError(f"invalid timestamp: {text}")
    try:
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
        hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    except ValueError:
        raise ValueError(f"invalid timestamp: {text}") from None
    micros = 0
    rest = text[19:-1]
    if rest:
        frac = rest[1:]
        if rest[0] != "." or not frac.isdigit() or not frac.isascii():
            raise ValueError(f"invalid timestamp: {text}")
        micros = int(frac[:6].ljust(6, "0"))
    if not (1 <= month <= 12 and hour < 24 and minute < 60 and second < 60 and year >= 1):
        raise ValueError(f"invalid timestamp: {text}")
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"invalid timestamp: {text}")
    days = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return days * 1_000_000 + micros


def unescape_string(text: str) -> str:
    """The value of a quoted string token (quotes removed, ``\\'`` and ``\\\\`` unescaped)."""
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 1
            c = body[i]
        out.append(c)
        i += 1
    return "".join(out)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    n = len(text)
    match = _TOKEN_RE.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise PatternSyntaxError(f"unexpected character {text[pos]!r} at {pos}")
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "ident":
            if value in _KEYWORDS:
                kind = value
            elif value in ("true", "false"):
                kind = "bool"
        elif kind == "op":
            kind = value
        if kind not in ("ws", "comment"):
            tokens.append((kind, value, pos))
        pos = m.end()
    tokens.append(("EOF", "", n))
    return tokens


def literal_value(kind: str, text: str) -> Literal:
    if kind == "str":
        return unescape_string(text)
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return text == "true"
    if kind == "hex":
        return binascii.a2b_hex(text[2:-1])
    if kind == "bin":
        return base64.standard_b64decode(text[2:-1])
    try:
        return Timestamp(timestamp_micros(text[2:-1]))
    except ValueError as exc:
        raise PatternSemanticError(str(exc)) from None
