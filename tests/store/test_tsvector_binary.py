"""The binary tsvectors of a batch (``binary_tsvectors``, numpy over the texts' bytes) equal,
byte for byte, those of the one-word-at-a-time reference (``binary_tsvector``).

``tests/store/test_search_tsv.py`` holds the reference's values equal to PostgreSQL's parser.
"""

from __future__ import annotations

import random

import pytest

from colsec.store import tsvector
from colsec.store.tsvector import MAX_POSITIONS, MAX_WORDS, binary_tsvector, binary_tsvectors


def _decoded(value: bytes) -> list[tuple[bytes, list[int]]]:
    count, at, entries = int.from_bytes(value[:4], "big"), 4, []
    for _ in range(count):
        end = value.index(b"\0", at)
        n = int.from_bytes(value[end + 1 : end + 3], "big")
        positions = [int.from_bytes(value[end + 3 + 2 * k : end + 5 + 2 * k], "big") for k in range(n)]
        entries.append((value[at:end], positions))
        at = end + 3 + 2 * n
    assert at == len(value)
    return entries


_TEXTS = [
    "",
    " ",
    "a",
    "b a b",
    "  spaced   words  ",
    "t1566 001 spearphish attach t1566",
    "фишинг письм ботнет c2 фишинг 2024 а я",
    "abc абв ab аб a а",  # Latin before Cyrillic in byte order, a prefix before its longer words
    " ".join(["repeat"] * 300 + ["other"] * 10 + ["repeat"] * 5),  # past the 255 positions kept
    " ".join(f"word{i % 97}" for i in range(9000)),
]


def test_reference_layout() -> None:
    assert binary_tsvector("") == b"\0\0\0\0"
    assert _decoded(binary_tsvector("b a b") or b"") == [(b"a", [2]), (b"b", [1, 3])]
    repeated = dict(_decoded(binary_tsvector(_TEXTS[8]) or b""))
    assert repeated[b"repeat"] == list(range(1, MAX_POSITIONS + 1))
    assert repeated[b"other"] == list(range(301, 311))
    assert binary_tsvector(" ".join(["w"] * (MAX_WORDS + 1))) is None


def test_batch_equals_reference() -> None:
    rnd = random.Random(20)
    texts = [*_TEXTS] + [
        " ".join(
            rnd.choice(["a", "ab", "abc", "я", "яж", "0", "9z", "ёж", "b" * 60])
            for _ in range(rnd.randint(0, 40))
        )
        for _ in range(500)
    ]
    assert binary_tsvectors(texts) == [binary_tsvector(t) for t in texts]
    assert binary_tsvectors([]) == []
    assert binary_tsvectors(["", " "]) == [b"\0\0\0\0"] * 2


def test_batch_chunks_and_long_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tsvector, "_CHUNK_CHARS", 50)  # many numpy passes, texts split across none
    texts = [*_TEXTS, " ".join(["w"] * (MAX_WORDS + 1)), "x y x"]
    made = binary_tsvectors(texts)
    assert made == [binary_tsvector(t) for t in texts]
    assert made[-2] is None and made[-1] is not None


def test_words_sharing_a_hash_take_the_reference_way(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    monkeypatch.setattr(tsvector, "_MIX", np.zeros(4, dtype=np.uint64))  # every word one hash
    texts = ["b a b", "abc абв ab", "x"]
    assert binary_tsvectors(texts) == [binary_tsvector(t) for t in texts]
