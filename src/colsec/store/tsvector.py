"""PostgreSQL's ``tsvector`` of a search row in its binary form, made from the row's terms.

The write gate stores beside each search row ``to_tsvector('simple', terms)`` (``search_doc.tsv``,
``colsec.store.textindex``).  Sent as text (``word:1 other:2 word:3``) the server parsed every
character, position and repeat of it: the larger half of its work on those rows in an ATT&CK
import.  Binary COPY hands it the value as its receive function reads it:

    int32 lexeme count, then per lexeme: its UTF-8 bytes, a zero byte, uint16 position count,
    and each position as uint16 (weight bits 0), all big-endian

with each lexeme once, the lexemes in byte order and each one's positions ascending (the
server would sort lexemes given out of order, but not merge repeats).  ``binary_tsvectors`` makes
those of a batch of texts with numpy over their bytes, no Python object per word (made per word
in Python, the binary form cost the client more than it spared the server); ``binary_tsvector``
is the reference it is held equal to (``tests/store/test_tsvector_binary.py``).

Only terms of the plain alphabets are encoded (``colsec.store.textindex`` sends the others to the
server's parser); ``tests/store/test_search_tsv.py`` holds the stored value equal to the parser's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_POSITIONS", "MAX_WORDS", "binary_tsvector", "binary_tsvectors"]

MAX_POSITIONS = 255  # to_tsvector keeps a word's first 255 positions
MAX_WORDS = 16_383  # positions are 14 bits; longer texts are left to the server
_EMPTY = b"\0\0\0\0"


def binary_tsvector(terms: str) -> bytes | None:
    """The binary ``to_tsvector('simple', terms)`` of plain terms (words of ``[a-z0-9а-я]`` separated
    by spaces), one word at a time: the reference ``binary_tsvectors`` is held equal to, and its
    way for a batch holding a text too long for 14-bit positions (None for that text)."""
    words = terms.encode().split()
    if len(words) > MAX_WORDS:
        return None
    positions: dict[bytes, list[int]] = {}
    for i, word in enumerate(words, 1):
        kept = positions.setdefault(word, [])
        if len(kept) < MAX_POSITIONS:
            kept.append(i)
    out = [len(positions).to_bytes(4, "big")]
    for word in sorted(positions):
        kept = positions[word]
        out.append(word + b"\0" + len(kept).to_bytes(2, "big"))
        out.extend(p.to_bytes(2, "big") for p in kept)
    return b"".join(out)


def binary_tsvectors(texts: Sequence[str]) -> list[bytes | None]:
    """``binary_tsvector`` of each of ``texts`` (plain terms), many at once: the words found,
    grouped and ordered by numpy over the texts' bytes instead of a Python object per word."""
    out: list[bytes | None] = []
    start = 0
    while start < len(texts):
        end, size = start, 0
        while end < len(texts) and (end == start or size + len(texts[end]) <= _CHUNK_CHARS):
            size += len(texts[end])
            end += 1
        out.extend(_encoded(texts[start:end]))
        start = end
    return out


def _ranks(buf: np.ndarray, begins: np.ndarray, lens: np.ndarray) -> np.ndarray | None:
    """Each word's rank among the distinct words, in PostgreSQL's order of lexemes (bytes, a prefix
    first).  Words are told apart by a hash of their zero-padded bytes, checked byte for byte (None
    should two words share one), and only the distinct ones are sorted as byte strings."""
    n = len(begins)
    width = -(-int(lens.max()) // 8) * 8
    offsets = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    table = np.zeros((n, width), dtype=np.uint8)
    table[np.repeat(np.arange(n), lens), offsets] = buf[np.repeat(begins, lens) + offsets]
    lanes = table.view(np.uint64)
    digest = lens.astype(np.uint64) * _MIX[0]
    for k in range(lanes.shape[1]):
        digest = (digest ^ lanes[:, k]) * _MIX[1 + k % (len(_MIX) - 1)]
        digest ^= digest >> np.uint64(29)
    distinct, first, which = np.unique(digest, return_index=True, return_inverse=True)
    which = which.ravel()
    if not np.array_equal(table, table[first[which]]):
        return None  # two words with one hash: the caller takes the reference way
    order = np.argsort(table[first].view(f"S{width}").ravel(), kind="stable")
    rank_of = np.empty(len(distinct), dtype=np.int64)
    rank_of[order] = np.arange(len(distinct))
    return rank_of[which]


_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93], dtype=np.uint64
)
_CHUNK_CHARS = 1 << 18  # text per numpy pass: its word table holds a row of the longest word per word


def _encoded(texts: Sequence[str]) -> list[bytes | None]:
    buf = np.frombuffer(("\n".join(texts) + "\n").encode(), dtype=np.uint8)
    ends_doc = np.flatnonzero(buf == 10)  # one per text, where it ends
    sep = (buf == 32) | (buf == 10)
    word = ~sep
    begins = np.flatnonzero(word & np.concatenate(([True], sep[:-1])))
    lens = np.flatnonzero(word & np.concatenate((sep[1:], [True]))) + 1 - begins
    n = len(begins)
    if n == 0:
        return [_EMPTY] * len(texts)
    doc = np.searchsorted(ends_doc, begins)
    per_doc = np.bincount(doc, minlength=len(texts))
    if per_doc.max() > MAX_WORDS:
        return [binary_tsvector(t) for t in texts]
    first_of_doc = np.concatenate(([0], np.cumsum(per_doc)[:-1]))
    position = np.arange(n) - first_of_doc[doc] + 1
    rank = _ranks(buf, begins, lens)
    if rank is None:
        return [binary_tsvector(t) for t in texts]
    key = doc * (int(rank.max()) + 1) + rank
    order = np.argsort(key, kind="stable")  # by text, then word, then position
    keys = key[order]
    first = np.concatenate(([True], keys[1:] != keys[:-1]))
    entry = np.cumsum(first) - 1  # the lexeme entry of each sorted word
    heads = np.flatnonzero(first)
    nth = np.arange(n) - heads[entry]
    kept = nth < MAX_POSITIONS
    order, entry, nth = order[kept], entry[kept], nth[kept]
    counts = np.bincount(entry, minlength=len(heads))
    head_words = order[np.flatnonzero(nth == 0)]
    e_len = lens[head_words]
    e_doc = doc[head_words]
    e_size = e_len + 3 + 2 * counts
    entries_of_doc = np.bincount(e_doc, minlength=len(texts))
    doc_at = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(e_doc, weights=e_size, minlength=len(texts)).astype(np.int64) + 4, out=doc_at[1:])
    e_before = np.concatenate(([0], np.cumsum(e_size)))
    first_entry = np.concatenate(([0], np.cumsum(entries_of_doc)[:-1]))
    e_at = doc_at[e_doc] + 4 + e_before[:-1] - e_before[first_entry[e_doc]]
    res = np.zeros(int(doc_at[-1]), dtype=np.uint8)
    for k, shift in enumerate((24, 16, 8, 0)):
        res[doc_at[:-1] + k] = (entries_of_doc >> shift) & 255
    lex_offsets = np.arange(int(e_len.sum())) - np.repeat(np.cumsum(e_len) - e_len, e_len)
    res[np.repeat(e_at, e_len) + lex_offsets] = buf[np.repeat(begins[head_words], e_len) + lex_offsets]
    count_at = e_at + e_len + 1
    res[count_at] = counts >> 8
    res[count_at + 1] = counts & 255
    pos = position[order]
    pos_at = count_at[entry] + 2 + 2 * nth
    res[pos_at] = pos >> 8
    res[pos_at + 1] = pos & 255
    data = res.tobytes()
    bounds = doc_at.tolist()
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
