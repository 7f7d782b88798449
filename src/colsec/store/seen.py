"""The versions one import has already received, held compactly: a unit of 700,000 objects
(a 200,000-attribute MISP event) must not keep a Python dict of 700,000 keys alive (~170 MB).

A version is its (id, modified) key and its body's digest, 16 bytes each.  The latest
``RECENT`` versions sit in a dict, checked as each object arrives; older ones are spilled
into one sorted numpy table (32 bytes a version, in two arrays) that is checked a batch at a time, before
the batch is stored, so a repeat from far back is caught before it is written either way.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future

import numpy as np
import numpy.typing as npt

__all__ = ["RECENT", "SeenVersions", "UnitIds", "body_digest", "version_key"]

RECENT = 65_536  # versions checked one by one before they are spilled into the table
_WIDTH = 16


def version_key(object_id: str, modified: str) -> bytes:
    return hashlib.blake2b(f"{object_id}|{modified}".encode(), digest_size=_WIDTH).digest()


def body_digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=_WIDTH).digest()


def _rows(pairs: list[tuple[bytes, bytes]]) -> npt.NDArray[np.uint64]:
    """(key, digest) pairs as rows of four uint64: key high, key low, digest high, digest low."""
    flat = b"".join(k + d for k, d in pairs)
    return np.frombuffer(flat, dtype=np.uint64).reshape(-1, 4)


class SeenVersions:
    """Digest of each version received so far in one unit; a repeat's earlier digest on request."""

    def __init__(self, recent: int | None = None) -> None:
        self._limit = RECENT if recent is None else recent
        self._recent: dict[bytes, bytes] = {}
        # The table in two arrays, sorted by ``_first`` (key high): that column stays contiguous,
        # as a search in a column of one 4-wide table (a strided view) copied all of it first,
        # each batch; the rest of each row (key low, digest) sits beside it, row for row.
        self._first: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
        self._rest: npt.NDArray[np.uint64] = np.zeros((0, 3), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._recent) + len(self._first)

    def recent(self, key: bytes, digest: bytes) -> bytes | None:
        """The digest of an earlier arrival of ``key`` among the recent versions, or None after
        recording this one (older arrivals are found by ``older`` when the batch is stored)."""
        prior = self._recent.get(key)
        if prior is None:
            self._recent[key] = digest
        return prior

    def older(self, keys: list[bytes]) -> list[bytes | None]:
        """For each key, the digest of an arrival already spilled into the table, or None.
        A key found there leaves the recent versions: its first arrival stays the reference."""
        found: list[bytes | None] = [None] * len(keys)
        if not len(self._first) or not keys:
            return found
        wanted = np.frombuffer(b"".join(keys), dtype=np.uint64).reshape(-1, 2)
        first = self._first
        lo = np.searchsorted(first, wanted[:, 0], side="left")
        hi = np.searchsorted(first, wanted[:, 0], side="right")
        for i in np.flatnonzero(hi > lo).tolist():
            for row in self._rest[int(lo[i]) : int(hi[i])]:
                if row[0] == wanted[i, 1]:
                    found[i] = row[1:].tobytes()
                    self._recent.pop(keys[i], None)
                    break
        return found

    def spill(self) -> None:
        """Move the recent versions into the table once there are ``recent`` of them; call it
        only after ``older`` has checked the batch that is being stored."""
        if len(self._recent) < self._limit:
            return
        new = _rows(list(self._recent.items()))
        self._recent.clear()
        new = new[np.argsort(new[:, 0], kind="stable")]
        # Merged in place of a re-sort: one new table beside the old, no index array of it; a
        # key received again lands after its first arrival, which ``older`` meets first.
        at = np.searchsorted(self._first, new[:, 0], side="right")
        self._first = np.insert(self._first, at, new[:, 0])
        self._rest = np.insert(self._rest, at, new[:, 1:], axis=0)


class UnitIds:
    """The ids one unit has sent to be stored, as their ``hash`` (8 bytes each in a sorted table,
    the latest ``RECENT`` in a set).  When the store held no object as the unit began, only these
    can be stored (when it held few, they are added too: ``service.few_stored_ids``): whether a batch names one is answered here, not by an index probe of the store
    per id (a fifth of the writer thread's time at a million indicators).  Two ids of one hash only
    make a batch look held, and a held batch is looked up in the store as before."""

    def __init__(self, recent: int | None = None) -> None:
        self._limit = RECENT if recent is None else recent
        self._recent: set[int] = set()
        self._table: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def any_of(self, ids: list[str]) -> bool:
        """Whether an id of ``ids`` (or one of the same hash) was added before."""
        keys = list(map(hash, ids))
        if not self._recent.isdisjoint(keys):
            return True
        table = self._table
        if not len(table) or not keys:
            return False
        wanted = np.array(keys, dtype=np.int64)
        at = np.minimum(np.searchsorted(table, wanted), len(table) - 1)
        return bool((table[at] == wanted).any())

    def answer(self, ids: list[str]) -> Future[bool]:
        """``any_of`` as a finished future (in place of the store's ``any_held``), then ``add``."""
        done: Future[bool] = Future()
        done.set_result(self.any_of(ids))
        self.add(ids)
        return done

    def add(self, ids: list[str]) -> None:
        self._recent.update(map(hash, ids))
        if len(self._recent) >= self._limit:
            new = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
            self._recent.clear()
            new.sort()
            self._table = np.insert(self._table, np.searchsorted(self._table, new), new)
