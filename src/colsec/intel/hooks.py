"""Wiring of the intel domain into the store: what runs when objects arrive.

The node (``colsec.node``) builds an ``IntelConfig`` from its settings and passes
``post_import_step(config)`` to its database, so every import it runs calls
``on_import`` inside the import's transaction: correlation of the touched keys,
scores, exposure and cross-member alerts land atomically with the objects.  Nothing
is registered on import; two nodes in one process keep their own configuration.

An import of ``defer_after`` new versions or more (a 200,000-attribute MISP event makes
~730,000) queues that work as a durable job (``AFTER_IMPORT_KIND``, run by
``colsec.intel.jobs``) in the import's transaction instead: the import answers without it,
a rolled-back import queues nothing, and the job works through the same slices later, each
slice its own transaction (every step recomputes what it touches, so a retried job only
repeats work).  Until it has run, the event's values are not correlated yet and its
indicators carry no score (read as active, as an indicator not scored yet always is).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.intel import exposure, scoring, signals
from colsec.intel.correlation import DEFAULT_CAP, BenignLookup, CorrelationConfig, correlate_new
from colsec.jobs import queue
from colsec.settings import Settings
from colsec.store.seqsets import seq_runs
from colsec.store.service import PostImportStep

__all__ = [
    "AFTER_IMPORT_KIND",
    "CHUNK",
    "DEFER_AFTER",
    "IntelConfig",
    "benign_lookup",
    "on_import",
    "on_slice",
    "post_import_step",
]

AFTER_IMPORT_KIND = "intel.after_import"
DEFER_AFTER = 100_000  # new versions in one import from which its post-import work is a job


@dataclass(frozen=True)
class IntelConfig:
    cap: int = DEFAULT_CAP
    cross_member_threshold: int = 3
    cross_member_window_hours: int = 72
    benign: BenignLookup | None = None  # None: the stored MISP warninglists (colsec.formats.warninglists)
    defer_after: int | None = DEFER_AFTER  # None: always in the import's transaction

    @classmethod
    def from_settings(cls, settings: Settings, *, benign: BenignLookup | None = None) -> IntelConfig:
        return cls(
            cross_member_threshold=settings.cross_member_threshold,
            cross_member_window_hours=settings.cross_member_window_hours,
            benign=benign,
            defer_after=settings.intel_defer_after or None,
        )


def post_import_step(config: IntelConfig) -> PostImportStep:
    """The step a node runs after each import, bound to its own configuration."""
    return partial(on_import, config=config)


def benign_lookup(db: Session, config: IntelConfig) -> BenignLookup | None:
    """The configured lookup, else the stored MISP warninglists (the formats domain's cached index)."""
    if config.benign is not None:
        return config.benign
    try:
        from colsec.formats.warninglists import cached_index
    except ImportError:  # formats domain absent: nothing is warninglisted
        return None
    index = cached_index(db)
    if index.empty:
        return None  # no list stored: nothing is warninglisted, and no key need be asked
    return _verdicts(index)


_VERDICTS_HELD = 200_000  # per index; an import's shared keys, and the next feed's same values
_by_index: dict[int, tuple[object, Callable[[str, str], str | None]]] = {}


def _verdicts(index: Any) -> BenignLookup:
    """The index's verdict per (kind, value), kept while the index is the current one: re-imports
    of a feed state mostly the same values, and each verdict walks every substring and regex list."""
    held = _by_index.get(id(index))
    if held is not None and held[0] is index:
        return held[1]
    verdicts: dict[tuple[str, str], str | None] = {}

    def lookup(kind: str, value: str) -> str | None:
        key = (kind, value)
        try:
            return verdicts[key]
        except KeyError:
            pass
        if len(verdicts) >= _VERDICTS_HELD:
            verdicts.clear()
        found = verdicts[key] = ", ".join(sorted(index.lists_for(kind, value))) or None
        return found

    if len(_by_index) >= 4:  # an index replaced (lists changed) or another node's
        _by_index.clear()
    _by_index[id(index)] = (index, lookup)
    return lookup


CHUNK = 50_000


def on_import(db: Session, seqs: Sequence[int], *, config: IntelConfig) -> str | None:
    """Everything that follows arrival; big imports go in slices so memory stays bounded,
    and the biggest to a job, off the import's request (see the module's docstring), whose id
    the import reports so its page can show that work's state."""
    if config.defer_after is not None and len(seqs) >= config.defer_after:
        runs = [[lo, hi] for lo, hi in seq_runs(seqs)]
        payload = {"runs": runs, "versions": len(seqs)}
        return queue.enqueue(db, kind=AFTER_IMPORT_KIND, payload=payload, actor=SYSTEM).id
    for i in range(0, len(seqs), CHUNK):
        on_slice(db, seqs[i : i + CHUNK], config)
    return None


def on_slice(db: Session, seqs: Sequence[int], cfg: IntelConfig) -> None:
    """The post-import work of one slice of an import's new versions."""
    corr = correlate_new(db, seqs, config=CorrelationConfig(cap=cfg.cap, benign=benign_lookup(db, cfg)))
    scoring.update_for_import(db, seqs)
    exposure.check_objects(db, seqs)
    sighted_keys, sighted_named = signals.keys_for_sightings(db, seqs)
    keys = set(corr.changed) | set(sighted_keys)
    signals.check_keys(
        db,
        keys,
        threshold=cfg.cross_member_threshold,
        window_hours=cfg.cross_member_window_hours,
        cap=cfg.cap,
    )
    signals.check_named(
        db,
        [*seqs, *sighted_named],
        threshold=cfg.cross_member_threshold,
        window_hours=cfg.cross_member_window_hours,
    )
