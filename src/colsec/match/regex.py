"""Linear-time regular expressions for ``MATCHES`` and ``LIKE`` (google-re2 only).

Patterns arrive from other members and are untrusted: Python's ``re``
backtracks for seconds to minutes on ``'^(a+)+$'``, RE2 never does.  There
is deliberately no fallback to ``re``; a pattern RE2 refuses is refused.

Differences from Python ``re`` that a pattern author may notice (each is
covered by a test in ``tests/match/test_regex.py``):

* no backreferences (``\\1``) and no look-around (``(?=..)``, ``(?<=..)``):
  refused at compile time;
* ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII-only (``re`` is Unicode-aware on ``str``);
* ``$`` without the ``m`` flag matches only at the very end, not before a final
  newline; ``\\Z`` does not exist (use ``\\z``);
* ``LIKE`` is translated with ``.`` matching newlines too (the spec's ``%`` is
  "any sequence of characters"); the reference matcher's translation does not.
"""

from __future__ import annotations

import re2

__all__ = ["MAX_REGEX_LENGTH", "RegexError", "compile_like", "compile_regex", "like_to_regex"]

MAX_REGEX_LENGTH = 2_048
_MAX_MEM = 4 << 20  # per compiled program: bounds the automaton, not just the text


class RegexError(ValueError):
    """RE2 refuses the expression (unsupported syntax, too large)."""


def _options(latin1: bool = False) -> re2.Options:
    opts = re2.Options()
    opts.max_mem = _MAX_MEM
    opts.log_errors = False
    if latin1:
        opts.encoding = re2.Options.Encoding.LATIN1
    return opts


def compile_regex(pattern: str | bytes, *, latin1: bool = False) -> re2._Regexp:
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RegexError(f"regular expression longer than {MAX_REGEX_LENGTH} characters")
    try:
        return re2.compile(pattern, _options(latin1))
    except re2.error as exc:
        msg = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexError(f"unsupported regular expression: {msg}") from None


def like_to_regex(like: str) -> str:
    """``%`` -> any run, ``_`` -> one character, everything else literal, anchored."""
    out = ["(?s)^"]
    for c in like:
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c.isascii() and not c.isalnum():
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    out.append("$")
    return "".join(out)


def compile_like(like: str) -> re2._Regexp:
    return compile_regex(like_to_regex(like))
