"""Hypothesis strategies: STIX patterns over the full grammar and observed-data sets.

Values come from small pools so that patterns and observations actually meet.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

TIMES = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", "2024-01-01T00:00:02.5Z", "2024-01-01T00:00:10Z"]
IPS = ["10.0.0.1", "10.0.0.2", "192.168.1.7", "10.0.1.9"]
CIDRS = ["10.0.0.0/8", "10.0.0.0/24", "192.168.0.0/16", "10.0.0.2/32", "10.0.0.0/30"]
DOMAINS = ["evil.example", "a.evil.example", "good.test", "x.good.test"]
STRINGS = ["abc", "aBc", "a.c", "", "héllo", "a_c%"]
HASHES = ["d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661"]
NUMBERS: list[Any] = [0, 1, 2, -1, 1.5, 80, 443]

_string_lit = st.sampled_from(STRINGS + DOMAINS + IPS + HASHES + TIMES)


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _lit(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _quote(v)
    return repr(v)


# (object type, path text, kind of values found there)
PATHS = [
    ("ipv4-addr", "value", "ip"),
    ("domain-name", "value", "str"),
    ("network-traffic", "src_ref.value", "ip"),
    ("network-traffic", "dst_ref.value", "ip"),
    ("network-traffic", "dst_port", "num"),
    ("network-traffic", "protocols[*]", "str"),
    ("network-traffic", "protocols[0]", "str"),
    ("file", "name", "str"),
    ("file", "size", "num"),
    ("file", "hashes.MD5", "hash"),
    ("x-thing", "n", "num"),
    ("x-thing", "s", "str"),
    ("x-thing", "flag", "bool"),
    ("x-thing", "when", "ts"),
    ("x-thing", "tags[*]", "str"),
    ("x-thing", "nested.k", "str"),
]

REGEXES = ["^a", "c$", "b.", "[0-9]+", "evil", "^(a|x)\\.", "é", "B"]
LIKES = ["a%", "%c", "a_c", "%evil%", "%.good.test", "abc", "h_llo", "%"]


@st.composite
def comparison(draw: st.DrawFn) -> str:
    obj_type, path, kind = draw(st.sampled_from(PATHS))
    target = f"{obj_type}:{path}"
    neg = "NOT " if draw(st.integers(0, 4)) == 0 else ""
    if kind == "ip":
        op = draw(st.sampled_from(["=", "!=", "ISSUBSET", "IN", "LIKE", "MATCHES"]))
    elif kind == "num":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "IN"]))
    elif kind == "ts":
        op = draw(st.sampled_from(["=", "<", ">=", "IN"]))
    elif kind == "bool":
        op = draw(st.sampled_from(["=", "!="]))
    else:
        op = draw(st.sampled_from(["=", "!=", "<", ">", "IN", "LIKE", "MATCHES"]))
    if op == "ISSUBSET":
        return f"{target} {neg}ISSUBSET {_quote(draw(st.sampled_from(CIDRS)))}"
    if op == "LIKE":
        return f"{target} {neg}LIKE {_quote(draw(st.sampled_from(LIKES)))}"
    if op == "MATCHES":
        return f"{target} {neg}MATCHES {_quote(draw(st.sampled_from(REGEXES)))}"
    if kind == "num":
        pool = st.sampled_from(NUMBERS)
    elif kind == "ts":
        pool = st.sampled_from(TIMES).map(lambda t: f"t'{t}'")
    elif kind == "bool":
        pool = st.booleans()
    elif kind == "ip":
        pool = st.sampled_from(IPS)
    else:
        pool = _string_lit
    if op == "IN":
        values = draw(st.lists(pool, min_size=1, max_size=3))
        text = ", ".join(v if kind == "ts" else _lit(v) for v in values)
        return f"{target} {neg}IN ({text})"
    value = draw(pool)
    return f"{target} {neg}{op} {value if kind == 'ts' else _lit(value)}"


def comparison_expression(max_leaves: int = 4) -> st.SearchStrategy[str]:
    return st.recursive(
        comparison(),
        lambda inner: st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})" if "OR" in t[0] + t[2] else f"{t[0]} {t[1]} {t[2]}"
        ),
        max_leaves=max_leaves,
    )


@st.composite
def qualifier(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["WITHIN", "REPEATS", "START"]))
    if kind == "WITHIN":
        return f" WITHIN {draw(st.sampled_from(['1', '2', '5', '0.5', '30']))} SECONDS"
    if kind == "REPEATS":
        return f" REPEATS {draw(st.integers(1, 3))} TIMES"
    start, stop = sorted(draw(st.lists(st.sampled_from(TIMES), min_size=2, max_size=2, unique=True)))
    return f" START t'{start}' STOP t'{stop}'"


def observation_expression() -> st.SearchStrategy[str]:
    simple = st.tuples(comparison_expression(), st.lists(qualifier(), max_size=1)).map(
        lambda t: f"[{t[0]}]" + "".join(t[1])
    )
    return st.recursive(
        simple,
        lambda inner: st.tuples(
            inner, st.sampled_from(["AND", "OR", "FOLLOWEDBY"]), inner, st.lists(qualifier(), max_size=1)
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})" + "".join(t[3])),
        max_leaves=3,
    )


@st.composite
def scos(draw: st.DrawFn, prefix: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n = draw(st.integers(1, 3))
    for i in range(n):
        sid = f"{prefix}-{i}"
        kind = draw(st.sampled_from(["ip", "domain", "traffic", "file", "thing"]))
        if kind == "ip":
            out.append({"type": "ipv4-addr", "id": f"ipv4-addr--{sid}", "value": draw(st.sampled_from(IPS))})
        elif kind == "domain":
            out.append(
                {"type": "domain-name", "id": f"domain-name--{sid}", "value": draw(st.sampled_from(DOMAINS))}
            )
        elif kind == "traffic":
            src = {"type": "ipv4-addr", "id": f"ipv4-addr--{sid}s", "value": draw(st.sampled_from(IPS))}
            dst = {"type": "ipv4-addr", "id": f"ipv4-addr--{sid}d", "value": draw(st.sampled_from(IPS))}
            out += [src, dst]
            out.append(
                {
                    "type": "network-traffic",
                    "id": f"network-traffic--{sid}",
                    "src_ref": src["id"],
                    "dst_ref": dst["id"],
                    "dst_port": draw(st.sampled_from([80, 443, 1, 2])),
                    "protocols": draw(st.lists(st.sampled_from(["tcp", "abc", "a.c"]), max_size=2)),
                }
            )
        elif kind == "file":
            f: dict[str, Any] = {"type": "file", "id": f"file--{sid}", "name": draw(_string_lit)}
            if draw(st.booleans()):
                f["size"] = draw(st.sampled_from(NUMBERS))
            if draw(st.booleans()):
                f["hashes"] = {"MD5": draw(st.sampled_from(HASHES))}
            out.append(f)
        else:
            t: dict[str, Any] = {"type": "x-thing", "id": f"x-thing--{sid}"}
            t["n"] = draw(st.sampled_from([*NUMBERS, True, "1"]))
            t["s"] = draw(_string_lit)
            t["flag"] = draw(st.booleans())
            t["when"] = draw(st.sampled_from(TIMES))
            t["tags"] = draw(st.lists(_string_lit, max_size=2))
            t["nested"] = {"k": draw(_string_lit)}
            out.append(t)
    return out


@st.composite
def observed_data_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A list of observed-data SDOs, each followed by the SCOs it references."""
    objects: list[dict[str, Any]] = []
    for j in range(draw(st.integers(1, 3))):
        first = draw(st.integers(0, len(TIMES) - 1))
        last = draw(st.integers(first, len(TIMES) - 1))
        items = draw(scos(f"{j}"))
        objects.append(
            {
                "type": "observed-data",
                "id": f"observed-data--{j}",
                "first_observed": TIMES[first],
                "last_observed": TIMES[last],
                "number_observed": draw(st.integers(1, 2)),
                "object_refs": [o["id"] for o in items],
            }
        )
        objects += items
    return objects
