"""Wiring of the intel domain into the store: what runs when objects arrive.

``install(settings)`` adds ``on_import`` to ``colsec.store.service.POST_IMPORT_HOOKS``
(idempotent); the web app and the CLI call it at start.  ``on_import`` runs inside
the import's transaction: correlation of the touched keys, scores, exposure and
cross-member alerts land atomically with the objects, and webhook deliveries are
sent after that transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from colsec.intel import exposure, scoring, signals
from colsec.intel.correlation import DEFAULT_CAP, BenignLookup, CorrelationConfig, correlate_new
from colsec.outbound import DENY_ALL, OutboundPolicy, from_settings
from colsec.settings import Settings
from colsec.store.service import POST_IMPORT_HOOKS

__all__ = ["IntelConfig", "benign_lookup", "config", "install", "on_import", "uninstall"]


@dataclass
class IntelConfig:
    cap: int = DEFAULT_CAP
    cross_member_threshold: int = 3
    cross_member_window_hours: int = 72
    outbound: OutboundPolicy = DENY_ALL
    send_webhooks: bool = True
    benign: BenignLookup | None = None  # None: the stored MISP warninglists (colsec.formats.warninglists)


_CONFIG = IntelConfig()


def config() -> IntelConfig:
    return _CONFIG


def install(settings: Settings | None = None, *, benign: BenignLookup | None = None) -> None:
    """Register the import hook once; settings give the cross-member threshold and window."""
    if settings is not None:
        _CONFIG.cross_member_threshold = settings.cross_member_threshold
        _CONFIG.cross_member_window_hours = settings.cross_member_window_hours
        _CONFIG.outbound = from_settings(settings)
    if benign is not None:
        _CONFIG.benign = benign
    if on_import not in POST_IMPORT_HOOKS:
        POST_IMPORT_HOOKS.append(on_import)


def uninstall() -> None:
    while on_import in POST_IMPORT_HOOKS:
        POST_IMPORT_HOOKS.remove(on_import)


def benign_lookup(db: Session) -> BenignLookup | None:
    """The configured lookup, else the stored MISP warninglists (the formats domain's cached index)."""
    if _CONFIG.benign is not None:
        return _CONFIG.benign
    try:
        from colsec.formats.warninglists import cached_index
    except ImportError:  # formats domain absent: nothing is warninglisted
        return None
    index = cached_index(db)
    return lambda kind, value: ", ".join(sorted(index.lists_for(kind, value))) or None


CHUNK = 50_000


def on_import(db: Session, seqs: Sequence[int]) -> None:
    """Everything that follows arrival; big imports go in slices so memory stays bounded."""
    for i in range(0, len(seqs), CHUNK):
        _on_slice(db, seqs[i : i + CHUNK])


def _on_slice(db: Session, seqs: Sequence[int]) -> None:
    cfg = _CONFIG
    corr = correlate_new(db, seqs, config=CorrelationConfig(cap=cfg.cap, benign=benign_lookup(db)))
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
