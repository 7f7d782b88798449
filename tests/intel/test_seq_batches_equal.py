"""The post-import steps give the same rows whether a unit's sequences go as ranges or IN lists.

The steps select a unit's rows by ``colsec.store.seqsets.seq_batches``; the reference is the
900-value ``IN`` lists they used before.  Both run over the same realistic unit (the shared
MISP events held by two members, with an indicator and sighting touching an asset), for the
unit's sequences whole and with holes, and must leave identical correlations, scores and alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from colsec.formats.service import import_source
from colsec.intel import correlation, exposure, scoring, signals
from colsec.intel.assets import create_asset
from colsec.intel.hooks import IntelConfig, on_import
from colsec.intel.models import Alert, AlertObject, Correlation, IndicatorScore
from colsec.intel.schemas import AssetIn
from colsec.store.models import StixObject
from colsec.store.seqsets import seq_batches

from .conftest import Orgs, indicator, sighting

_EVENTS = (
    "asert_long_event",
    "circl_xorist_57c4445b",
    "existing_event_sednit",
    "misp_event",
    "new_misp_event",
)


def _in_lists(column: Any, seqs: Iterable[int]) -> Iterator[ColumnElement[bool]]:
    values = list(seqs)
    for i in range(0, len(values), 900):
        yield column.in_(values[i : i + 900])


def _outcome(db: Session, seqs: list[int]) -> dict[str, list[tuple[Any, ...]]]:
    """The steps' rows for ``seqs``, undone afterwards so the next run starts from the same state."""
    point = db.begin_nested()
    on_import(db, seqs, config=IntelConfig(cross_member_threshold=2))
    db.flush()
    out = {
        "correlations": sorted(
            (c.kind, c.value, c.n_objects, c.n_owners, c.status, c.warninglist, c.contains)
            for c in db.execute(select(Correlation)).scalars()
        ),
        "scores": sorted(
            (
                s.object_id,
                s.object_seq,
                s.kind,
                s.confidence,
                s.sightings,
                s.ref_time,
                s.base_score,
                s.expires_at,
            )
            for s in db.execute(select(IndicatorScore)).scalars()
        ),
        "alerts": sorted(
            (a.kind, a.dedupe_key, a.severity, a.title, a.value_kind, a.value, a.asset_id, a.cve)
            for a in db.execute(select(Alert)).scalars()
        ),
        "alert objects": sorted(
            db.execute(
                select(Alert.dedupe_key, AlertObject.object_seq).join(
                    AlertObject, AlertObject.alert_id == Alert.id
                )
            ).all()
        ),
    }
    point.rollback()
    return out


def test_ranges_and_in_lists_agree(
    db: Session, orgs: Orgs, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [shared_data / "misp" / "events" / f"pymisp_{n}.json" for n in _EVENTS]
    for short in ("A", "B"):
        for path in events:
            import_source(db, actor=orgs.actor(short), data=path.read_bytes(), owner_org_id=orgs(short).id)
    create_asset(
        db, actor=orgs.actor("A"),
        data=AssetIn(name="edge", sector="energy", criticality="high", ip_ranges=["198.51.100.0/24"]),
    )  # fmt: skip
    ind = indicator("edge-hit", "ipv4", "198.51.100.7")
    orgs.add("A", [ind])
    orgs.add(
        "B",
        [
            indicator("edge-hit-b", "ipv4", "198.51.100.7"),
            sighting("s1", ind["id"], created="2026-11-21T10:00:00.000Z"),
        ],
    )
    every = sorted(db.execute(select(StixObject.seq)).scalars())
    # the last three versions (the indicators and the sighting on the asset) make the alerts: the
    # holes keep them, whatever seqs the events' conversion left them on
    touching = set(every[-3:])
    holes = [s for s in every if (s % 5 and s % 13 not in (2, 3)) or s in touching]
    modules = (correlation, exposure, scoring, signals)
    for seqs in (every, holes):
        ranges = _outcome(db, seqs)
        for module in modules:
            monkeypatch.setattr(module, "seq_batches", _in_lists)
        lists = _outcome(db, seqs)
        for module in modules:
            monkeypatch.setattr(module, "seq_batches", seq_batches)
        assert all(ranges[k] for k in ranges), {
            k: len(v) for k, v in ranges.items()
        }  # the unit exercises each
        assert ranges == lists
