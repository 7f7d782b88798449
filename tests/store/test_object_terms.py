"""An indicator's search terms read from its pattern's head and value (issue 20) equal its
``document_terms``: whatever the head, the value and the other keys, the fast reading either
gives the same terms or leaves the object to ``document_terms``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.fulltext import document_terms
from colsec.store import textindex
from colsec.store.textindex import object_terms, objects_terms

HEADS = [
    "[ipv4-addr:value", "[domain-name:value", "[url:value", "[file:hashes.'SHA-256'", "[file:hashes.MD5",
    "[file:hashes.'SHA-256' = 'ab' AND file:name", "[x:'a' AND y:'b", "[x:a'b", "[x:'a\\'b'", "[",
    "[email-addr:value = 'a@example.org'] OR [url:value", "[process:name", "[Файл:имя",
]  # fmt: skip
VALUES = st.text(alphabet="abcXYZ019.-_/:@ 'ёЖжщ\\=]", max_size=40) | st.sampled_from(
    ["10.0.0.1", "host7.example.com", "http://files.example.net/7.bin", "0" * 64, "", "Running services"]
)
EXTRA = st.dictionaries(
    st.sampled_from(
        ["name", "description", "labels", "hashes", "confidence", "lang", "x_colsec_sharing_group"]
    ),
    st.sampled_from(
        ["Phishing mail", ["malicious-activity"], {"MD5": "d41d8cd98f00b204e9800998ecf8427e"}, 80]
    ),
    max_size=2,
)


def _indicator(pattern: Any, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "pattern": pattern,
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"], **extra,
    }  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(
    head=st.sampled_from(HEADS) | st.text(alphabet="[]:.'\\ =abAB-", max_size=20), value=VALUES, extra=EXTRA
)
def test_terms_equal_the_documents(head: str, value: str, extra: dict[str, Any]) -> None:
    for pattern in (f"{head} = '{value}']", f"{head} = '{value}'", f"{head} = {value}]"):
        body = _indicator(pattern, **extra)
        assert object_terms(body) == document_terms(body)
        assert object_terms(body) == document_terms(body)  # the head's terms from its cache


@pytest.mark.parametrize(
    "pattern",
    [
        None, 7, "", "'] = ']", "[a:b = '" + "x" * 20_000 + "']", "[url:value = 'a\\']", "[url:value = 'a\\b c']",
        "[x:'a = 'b']", "[x:a\\'b = 'c']", "[file:hashes.'SHA-256' = 'ab\\']",
    ],
)  # fmt: skip
def test_odd_patterns_and_other_objects(pattern: Any) -> None:
    for body in (_indicator(pattern), {"type": "malware", "name": "Emotet", "pattern": pattern}):
        assert object_terms(body) == document_terms(body)


def test_usual_indicators_are_read_once_per_head(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(textindex, "document_terms", lambda body: calls.append(body) or document_terms(body))
    textindex._HEAD_TERMS.clear()
    bodies = [_indicator(f"[file:hashes.'SHA-256' = '{i:064x}']") for i in range(50)]
    bodies += [_indicator(f"[domain-name:value = 'host{i}.example.com']") for i in range(50)]
    assert [object_terms(b) for b in bodies] == [document_terms(b) for b in bodies]
    assert calls == [{"pattern": "[file:hashes.'SHA-256'"}, {"pattern": "[domain-name:value"}]


def test_the_pattern_only_keys_hold_no_other_searched_text() -> None:
    """Should ``colsec.fulltext`` come to read one of these keys, the fast reading would miss it."""
    from colsec import fulltext

    others = textindex.PATTERN_ONLY - {"pattern"}
    assert others.isdisjoint(fulltext._TEXT_KEYS)
    assert others.isdisjoint(fulltext._OTHER_KEYS)


@settings(max_examples=200, deadline=None)
@given(
    heads=st.lists(st.sampled_from(HEADS), max_size=6), value=VALUES, extra=EXTRA,
    others=st.lists(st.sampled_from(["Phishing mail", "Фишинг", "a\x00b", "", "T1566.001"]), max_size=6),
)  # fmt: skip
def test_a_batch_terms_equal_each_objects(
    heads: list[str], value: str, extra: dict[str, Any], others: list[str]
) -> None:
    """Indicators and other objects mixed in one batch: each object's terms as ``object_terms``."""
    bodies = [_indicator(f"{head} = '{value}']", **extra) for head in heads]
    bodies += [{"type": "malware", "name": name, **extra} for name in others]
    bodies = bodies[::2] + bodies[1::2]
    assert objects_terms(bodies) == [document_terms(b) for b in bodies]
    assert objects_terms(bodies) == [object_terms(b) for b in bodies]
