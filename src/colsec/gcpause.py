"""Young-generation-only garbage collection for bulk loops.

A bulk import creates millions of short-lived dicts and tuples.  CPython answers
with full (generation 2) collections that rescan every tracked object in the
process, and with a large heap those scans cost a third of a 200,000-attribute
MISP import.  Inside ``young_gc_only`` automatic collection is off and the
loop calls :func:`tick` once per batch, which collects the young generations
only: garbage cycles made by the batch are still freed, old objects are not
rescanned.  Re-entrant and thread-safe: automatic collection comes back when
the last user leaves.

Coming back, the young generation holds every container the loop kept (a matching run's
alerts and their events): the first automatic collection would scan them all at once, a
tenth of a Zeek file's matching.  A user that knows its loop made no garbage cycle sets
``promote`` on the pause, and those survivors go straight to the oldest generation instead,
scanned only by the next full collection (which would have scanned them anyway); a cycle
among the young ones (at most the few hundred made before the pause) waits for that one too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Pause", "release_free_memory", "tick", "young_gc_only"]

_lock = threading.Lock()
_depth = 0
_was_enabled = True
_promote = True


class Pause:
    """One user's pause; ``promote``: its loop left no garbage cycle (see the module's text)."""

    promote: bool = False


@contextmanager
def young_gc_only() -> Iterator[Pause]:
    global _depth, _was_enabled, _promote
    pause = Pause()
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            _promote = True
        _depth += 1
        gc.disable()
    try:
        yield pause
    finally:
        with _lock:
            _depth -= 1
            _promote = _promote and pause.promote  # every user of this pause must vouch
            if _depth == 0 and _was_enabled:
                if _promote and gc.get_freeze_count() == 0:  # nobody else's frozen objects to thaw
                    # freezing moves every generation's objects aside and resets the young count;
                    # thawing puts them back in the oldest: no scan, and no collection due now
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()


def tick(*, grown: int = 0) -> None:
    """Collect generations 0 and 1 (the batch's own garbage), never the whole heap.

    With ``grown``, only once that many tracked containers have piled up since the last
    collection (allocations less deallocations, as CPython counts them for its own trigger):
    a batch whose objects die by reference counting leaves nothing to collect, and scanning its
    live ones each time cost a twentieth of a bulk import's main thread (ATT&CK: its 157,000 parsed
    containers, then ~2,000 a batch; not one cycle among them).
    """
    if gc.get_count()[0] >= grown:
        gc.collect(1)


def _libc_trim() -> object:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_MALLOC_TRIM = _libc_trim()


def release_free_memory() -> None:
    """Hand memory freed by a bulk build back to the OS (glibc keeps it otherwise).

    A long-running node that compiled a million indicators would keep the build's
    temporary buffers resident for ever; no-op where the C library has no ``malloc_trim``.
    """
    if callable(_MALLOC_TRIM):
        _MALLOC_TRIM(0)
