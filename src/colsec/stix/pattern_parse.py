"""Hand-written parser for the whole STIX 2.1 patterning grammar.

Why not stix2-patterns: its ANTLR parser manages ~4,500 patterns/s, so a
million indicators would take minutes to compile.  This recursive-descent
parser follows the same grammar (token rules, precedence, left
associativity) and is checked against stix2-patterns by a differential test.

Precedence, loosest first: ``FOLLOWEDBY``, observation ``OR``, observation
``AND``, qualifiers (postfix, repeatable); inside brackets comparison ``OR``
then ``AND``.  Qualifier values are checked here (``WITHIN`` > 0,
``REPEATS`` >= 1, well-formed timestamps, homogeneous sets) so a bad pattern is
refused at compile time rather than failing at match time.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re
from functools import lru_cache

from colsec.stix.pattern_ast import (
    STAR,
    And,
    Comparison,
    CompExpr,
    FollowedBy,
    Literal,
    ObsAnd,
    Observation,
    ObsExpr,
    ObsOr,
    Or,
    PathStep,
    Qualified,
    Qualifier,
    Repeats,
    StartStop,
    Timestamp,
    Within,
)

__all__ = [
    "MAX_PATTERN_LENGTH",
    "PatternSemanticError",
    "PatternSyntaxError",
    "parse_pattern",
    "timestamp_micros",
    "unescape_string",
]

MAX_PATTERN_LENGTH = 16_384
MAX_DEPTH = 64

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


def _tokenize(text: str) -> list[tuple[str, str, int]]:
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


_LITERAL_KINDS = frozenset({"int", "float", "str", "bool", "hex", "bin", "ts"})
_ORDER_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}
_EQ_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!="}
_STRING_OPS = frozenset({"LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"})


class _Parser:
    __slots__ = ("depth", "i", "leaves", "tokens")

    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.leaves = 0

    # -- helpers ---------------------------------------------------------
    def peek(self) -> str:
        return self.tokens[self.i][0]

    def take(self, kind: str) -> str:
        tok = self.tokens[self.i]
        if tok[0] != kind:
            got = tok[1] or "end of pattern"
            raise PatternSyntaxError(f"expected {kind} at {tok[2]}, got {got!r}")
        self.i += 1
        return tok[1]

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PatternSyntaxError("pattern nested too deeply")

    # -- observation level -----------------------------------------------
    def pattern(self) -> ObsExpr:
        expr = self.followed_by()
        self.take("EOF")
        return expr

    def followed_by(self) -> ObsExpr:
        left = self.obs_or()
        while self.peek() == "FOLLOWEDBY":
            self.i += 1
            left = FollowedBy(left, self.obs_or())
        return left

    def obs_or(self) -> ObsExpr:
        left = self.obs_and()
        while self.peek() == "OR":
            self.i += 1
            left = ObsOr(left, self.obs_and())
        return left

    def obs_and(self) -> ObsExpr:
        left = self.obs_qualified()
        while self.peek() == "AND":
            self.i += 1
            left = ObsAnd(left, self.obs_qualified())
        return left

    def obs_qualified(self) -> ObsExpr:
        self.enter()
        kind = self.peek()
        expr: ObsExpr
        simple = kind == "["
        if simple:
            self.i += 1
            expr = Observation(self.comp_or(), self.leaves)
            self.leaves += 1
            self.take("]")
        elif kind == "(":
            self.i += 1
            expr = self.followed_by()
            self.take(")")
        else:
            tok = self.tokens[self.i]
            raise PatternSyntaxError(f"expected '[' or '(' at {tok[2]}, got {tok[1] or 'end of pattern'!r}")
        seen: set[type] = set()
        while self.peek() in ("WITHIN", "REPEATS", "START"):
            qual = self.qualifier()
            if simple:
                # Same rule as the reference validator: no qualifier type twice
                # directly on a bracketed observation.
                if type(qual) in seen:
                    raise PatternSemanticError(f"duplicate {type(qual).__name__.upper()} qualifier")
                seen.add(type(qual))
            expr = Qualified(expr, qual)
        self.depth -= 1
        return expr

    def qualifier(self) -> Qualifier:
        kind = self.peek()
        self.i += 1
        if kind == "WITHIN":
            tok = self.tokens[self.i]
            if tok[0] not in ("int", "float") or tok[1].startswith("-"):
                raise PatternSyntaxError(f"WITHIN needs a positive number at {tok[2]}")
            self.i += 1
            self.take("SECONDS")
            seconds = float(tok[1]) if tok[0] == "float" else int(tok[1])
            if seconds <= 0:
                raise PatternSemanticError("WITHIN must be positive")
            return Within(round(seconds * 1_000_000))
        if kind == "REPEATS":
            tok = self.tokens[self.i]
            if tok[0] != "int" or tok[1].startswith("-"):
                raise PatternSyntaxError(f"REPEATS needs a positive integer at {tok[2]}")
            self.i += 1
            self.take("TIMES")
            times = int(tok[1])
            if times < 1:
                raise PatternSemanticError("REPEATS must be at least 1")
            return Repeats(times)
        start = self.timestamp()
        self.take("STOP")
        return StartStop(start, self.timestamp())

    def timestamp(self) -> int:
        text = self.take("ts")
        try:
            return timestamp_micros(text[2:-1])
        except ValueError as exc:
            raise PatternSemanticError(str(exc)) from None

    # -- comparison level ------------------------------------------------
    def comp_or(self) -> CompExpr:
        items = [self.comp_and()]
        while self.peek() == "OR":
            self.i += 1
            items.append(self.comp_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def comp_and(self) -> CompExpr:
        items = [self.prop_test()]
        while self.peek() == "AND":
            self.i += 1
            items.append(self.prop_test())
        return items[0] if len(items) == 1 else And(tuple(items))

    def prop_test(self) -> CompExpr:
        kind = self.peek()
        if kind == "(":
            self.enter()
            self.i += 1
            expr = self.comp_or()
            self.take(")")
            self.depth -= 1
            return expr
        negated = False
        if kind == "NOT":
            # Only ``NOT EXISTS`` may start a comparison.
            self.i += 1
            negated = True
            if self.peek() != "EXISTS":
                raise PatternSyntaxError("expected EXISTS after a leading NOT")
            kind = "EXISTS"
        if kind == "EXISTS":
            self.i += 1
            obj_type, path = self.object_path()
            return Comparison(obj_type, path, "EXISTS", None, negated)
        obj_type, path = self.object_path()
        if self.peek() == "NOT":
            self.i += 1
            negated = True
        tok = self.tokens[self.i]
        op = tok[0]
        self.i += 1
        if op in _EQ_OPS:
            value: Literal | frozenset[Literal] | None = self.literal(allow_bool=True)
            return Comparison(obj_type, path, _EQ_OPS[op], value, negated)
        if op in _ORDER_OPS:
            return Comparison(obj_type, path, op, self.literal(allow_bool=False), negated)
        if op == "IN":
            return Comparison(obj_type, path, "IN", self.set_literal(), negated)
        if op in _STRING_OPS:
            text = self.take("str")
            return Comparison(obj_type, path, op, unescape_string(text), negated)
        raise PatternSyntaxError(f"expected a comparison operator at {tok[2]}, got {tok[1]!r}")

    def object_path(self) -> tuple[str, tuple[PathStep, ...]]:
        tok = self.tokens[self.i]
        if tok[0] != "ident":
            raise PatternSyntaxError(f"expected an object type at {tok[2]}, got {tok[1] or 'end'!r}")
        self.i += 1
        self.take(":")
        steps: list[PathStep] = [self.key()]
        while True:
            kind = self.peek()
            if kind == ".":
                self.i += 1
                steps.append(self.key())
            elif kind == "[":
                self.i += 1
                idx = self.tokens[self.i]
                if idx[0] == "*":
                    steps.append(STAR)
                elif idx[0] == "int":
                    steps.append(int(idx[1]))
                else:
                    raise PatternSyntaxError(f"expected a list index at {idx[2]}")
                self.i += 1
                self.take("]")
            else:
                return tok[1], tuple(steps)

    def key(self) -> str:
        tok = self.tokens[self.i]
        if tok[0] == "ident" and "-" not in tok[1]:
            self.i += 1
            return tok[1]
        if tok[0] == "str":
            self.i += 1
            return unescape_string(tok[1])
        raise PatternSyntaxError(f"expected a property name at {tok[2]}, got {tok[1] or 'end'!r}")

    def literal(self, *, allow_bool: bool) -> Literal:
        kind, text, pos = self.tokens[self.i]
        if kind not in _LITERAL_KINDS or (kind == "bool" and not allow_bool):
            raise PatternSyntaxError(f"expected a literal at {pos}, got {text or 'end'!r}")
        self.i += 1
        return _literal_value(kind, text)

    def set_literal(self) -> frozenset[Literal]:
        self.take("(")
        values: list[Literal] = []
        if self.peek() != ")":
            values.append(self.literal(allow_bool=True))
            while self.peek() == ",":
                self.i += 1
                values.append(self.literal(allow_bool=True))
        self.take(")")
        kinds = {type(v) for v in values}
        if len(kinds) > 1 and not (kinds <= {int, float}):
            raise PatternSemanticError("values in a set must all be of one type")
        return frozenset(values)


def _literal_value(kind: str, text: str) -> Literal:
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


@lru_cache(maxsize=4096)  # small: parsed trees are GC-tracked and bulk imports rarely repeat a pattern
def parse_pattern(text: str) -> ObsExpr:
    """Parse ``text``; raise :class:`PatternSyntaxError` when it is not STIX 2.1 patterning."""
    if not isinstance(text, str) or not text.strip():
        raise PatternSyntaxError("pattern is empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternSyntaxError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    return _Parser(_tokenize(text)).pattern()
