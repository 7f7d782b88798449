"""The index stems with PyStemmer, the C build of the Snowball algorithms that
``snowballstemmer.stemmer`` hands out when it is installed (issue 20: ten times faster than the
pure-Python port).  Both builds must give the same stem for every word, or an index written
with one would miss queries stemmed with the other: held over ATT&CK's English words and over
Russian words with the inflections the Russian algorithm strips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import Stemmer
from snowballstemmer import english_stemmer, russian_stemmer

from colsec import fulltext
from colsec.formats.stix_bundle import read_stix_file

_REPO = Path(__file__).resolve().parents[2]
# Noun, adjective, participle, verb and reflexive endings of the Russian algorithm, so each
# sample word is stemmed through each of its suffix steps, not only in the form found.
_RUSSIAN_ENDINGS = (
    "", "а", "ам", "ами", "ах", "ев", "ей", "ем", "ие", "ий", "ию", "ия", "ого", "ому", "ой", "ую",
    "ая", "ые", "ых", "ыми", "ость", "ости", "ейший", "ующий", "вший", "вшись", "ться", "ется",
    "ются", "ила", "или", "ыла", "енный", "нн", "ь", "и", "ю",
)  # fmt: skip


def _words(text: str, alphabet: str) -> set[str]:
    return {w for w in re.findall(r"[^\W_]+", text.lower().replace("ё", "е")) if re.fullmatch(alphabet, w)}


def test_the_index_stems_with_the_c_build() -> None:
    russian, english = fulltext._stemmers()
    assert isinstance(russian, Stemmer.Stemmer)
    assert isinstance(english, Stemmer.Stemmer)


def test_english_stems_equal_the_pure_python_algorithm(shared_data: Path) -> None:
    path = shared_data / "attack" / "enterprise-attack-18.1.stix21.json.gz"
    if not path.exists():
        pytest.skip("ATT&CK bundle absent from the shared data")
    words: set[str] = set()
    for obj in read_stix_file(path):
        for text in fulltext._texts(obj):
            words |= _words(text, "[a-z]+")
    assert len(words) > 10_000
    c_build, pure = Stemmer.Stemmer("english"), english_stemmer.EnglishStemmer()
    assert [c_build.stemWord(w) for w in sorted(words)] == [pure.stemWord(w) for w in sorted(words)]


def test_russian_stems_equal_the_pure_python_algorithm() -> None:
    catalog = _REPO / "src" / "colsec" / "web" / "locale" / "ru" / "LC_MESSAGES" / "messages.po"
    found = _words(catalog.read_text(encoding="utf-8"), "[а-я]+")
    assert len(found) > 1_000
    stems = {russian_stemmer.RussianStemmer().stemWord(w) for w in found}
    words = sorted(found | {s + e for s in stems for e in _RUSSIAN_ENDINGS})
    c_build, pure = Stemmer.Stemmer("russian"), russian_stemmer.RussianStemmer()
    assert [c_build.stemWord(w) for w in words] == [pure.stemWord(w) for w in words]
