"""Hand-written parser for the whole STIX 2.1 patterning grammar.

Why not stix2-patterns: its ANTLR parser manages ~4,500 patterns/s, so a
million indicators would take minutes to compile.  This recursive-descent
parser follows the same grammar (token rules, precedence, left
associativity) and is checked against stix2-patterns by a differential test.

Precedence, loosest first: ``FOLLOWEDBY``, observation ``OR``, observation
``AND``, qualifiers (postfix, repeatable); inside brackets comparison ``OR``
then ``AND``.  Qualifier values are checked here (``WITHIN`` > 0,
``REPEATS`` >= 1, well-formed timestamps, homogeneous sets) so a bad pattern is
refused at compile time rather than failing at match time.  The tokens and literal values
come from ``pattern_lex.py``; its errors and ``timestamp_micros`` stay importable from here,
where the matching engine has always taken them.
"""

from __future__ import annotations

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
    Within,
)
from colsec.stix.pattern_lex import (
    PatternSemanticError,
    PatternSyntaxError,
    literal_value,
    timestamp_micros,
    tokenize,
    unescape_string,
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
        return literal_value(kind, text)

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


@lru_cache(maxsize=4096)  # small: parsed trees are GC-tracked and bulk imports rarely repeat a pattern
def parse_pattern(text: str) -> ObsExpr:
    """Parse ``text``; raise :class:`PatternSyntaxError` when it is not STIX 2.1 patterning."""
    if not isinstance(text, str) or not text.strip():
        raise PatternSyntaxError("pattern is empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternSyntaxError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    return _Parser(tokenize(text)).pattern()
