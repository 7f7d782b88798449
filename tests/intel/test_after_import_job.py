"""A large import's post-import work is a job, and the job leaves what the import's own
transaction would have left.

An import of ``defer_after`` new versions or more queues ``AFTER_IMPORT_KIND`` in its transaction
instead of correlating, scoring and alerting there (``colsec.intel.hooks``); the job runs the
same slices later, each committed on its own.  One member imports MISP events, another a batch of
addresses a third states again in small imports that stay inline (a cross-member alert).
Once the jobs have run, correlations, containment edges, scores and alerts must equal those of
the same imports' steps run inline, in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from colsec.db import Database
from colsec.formats.service import import_source
from colsec.intel.hooks import AFTER_IMPORT_KIND, IntelConfig, on_import, post_import_step
from colsec.intel.jobs import run_after_import
from colsec.intel.models import (
    Alert,
    AlertObject,
    AlertRecipient,
    Correlation,
    CorrelationDomain,
    CorrelationEdge,
    IndicatorScore,
)
from colsec.jobs.models import Job, JobStatus
from colsec.jobs.runner import JobRunner
from colsec.store.service import POST_IMPORT

from .conftest import Orgs, indicator

_EVENTS = ("asert_long_event", "circl_xorist_57c4445b", "existing_event_sednit")


def _derived(s: Session) -> dict[str, Any]:
    """What the steps leave, without the instants they were written at."""
    alerts = []
    for a in s.execute(select(Alert)).scalars():
        objects = sorted(
            s.execute(select(AlertObject.object_seq).where(AlertObject.alert_id == a.id)).scalars()
        )
        recipients = sorted(
            s.execute(select(AlertRecipient.organisation_id).where(AlertRecipient.alert_id == a.id)).scalars()
        )
        alerts.append((a.kind, a.dedupe_key, a.severity, a.title, a.value_kind, a.value, objects, recipients))
    return {
        "correlation": sorted(
            (c.key_hash, c.kind, c.value, c.n_objects, c.n_owners, c.status, c.warninglist, c.contains)
            for c in s.execute(select(Correlation)).scalars()
        ),
        "edges": sorted(
            (e.kind, e.value, e.parent_kind, e.parent_value)
            for e in s.execute(select(CorrelationEdge)).scalars()
        ),
        "scores": sorted(
            (
                x.object_id,
                x.object_seq,
                x.kind,
                x.confidence,
                x.sightings,
                x.ref_time,
                x.base_score,
                x.expires_at,
            )
            for x in s.execute(select(IndicatorScore)).scalars()
        ),
        "alerts": sorted(alerts, key=repr),
    }


def test_large_import_queues_its_post_import_work_and_the_job_equals_running_it_inline(
    database: Database, shared_data: Path
) -> None:
    config = IntelConfig(cross_member_threshold=2, defer_after=20)
    units: list[Sequence[int]] = []
    wired = database.wired(
        **{POST_IMPORT: (lambda _db, seqs: units.append(list(seqs)), post_import_step(config))}
    )
    with wired.unit_of_work() as s:
        orgs = Orgs(s)
        for name in _EVENTS:
            data = (shared_data / "misp" / "events" / f"pymisp_{name}.json").read_bytes()
            import_source(s, actor=orgs.actor("A"), data=data, owner_org_id=orgs("A").id)
        orgs.add("B", [indicator(f"b{i}", "ipv4", f"198.51.100.{i}") for i in range(25)])
        orgs.add("C", [indicator("c7", "ipv4", "198.51.100.7")])  # below the threshold: inline
        orgs.add("C", [indicator("c8", "domain", "sub.198-51-100-8.example")])
    deferred = [u for u in units if len(u) >= config.defer_after]
    inline_units = [u for u in units if len(u) < config.defer_after]
    assert len(deferred) == len(_EVENTS) + 1 and len(inline_units) >= 2  # each organisation's identity too
    with database.unit_of_work(write=False) as s:
        jobs = list(
            s.execute(select(Job).where(Job.kind == AFTER_IMPORT_KIND).order_by(Job.created_at)).scalars()
        )
        assert len(jobs) == len(deferred)
        assert [sorted(q for lo, hi in j.payload["runs"] for q in range(lo, hi + 1)) for j in jobs] == [
            sorted(u) for u in deferred
        ]
        scored = set(s.execute(select(IndicatorScore.object_seq)).scalars())
        assert not scored & {q for u in deferred for q in u}  # not scored before the job
        assert scored == {q for u in inline_units for q in u} & scored and len(scored) == 2  # the small ones
    runner = JobRunner(database, {AFTER_IMPORT_KIND: partial(run_after_import, config=config)})
    assert runner.run_once() == len(deferred)
    with database.unit_of_work(write=False) as s:
        assert {j.status for j in s.execute(select(Job)).scalars()} == {JobStatus.SUCCEEDED.value}
        by_job = _derived(s)
    assert by_job["correlation"] and by_job["scores"] and by_job["edges"]
    assert any(a[0] == "cross_member" for a in by_job["alerts"])
    with database.unit_of_work() as s:
        for table in (AlertObject, AlertRecipient, Alert, CorrelationEdge, CorrelationDomain, Correlation):
            s.execute(delete(table))
        s.execute(delete(IndicatorScore))
    inline = IntelConfig(cross_member_threshold=2, defer_after=None)
    with database.unit_of_work() as s:
        for unit in inline_units + deferred:  # the order the steps ran in: the jobs after every import
            on_import(s, unit, config=inline)
        assert _derived(s) == by_job


@pytest.mark.parametrize("n", [1, 3])
def test_inline_below_the_threshold_queues_nothing(db: Session, orgs: Orgs, n: int) -> None:
    config = IntelConfig(defer_after=4)
    db.info[POST_IMPORT] = (post_import_step(config),)
    seqs = orgs.add("A", [indicator(f"i{i}", "ipv4", f"192.0.2.{i}") for i in range(n)])
    assert not db.execute(select(Job).where(Job.kind == AFTER_IMPORT_KIND)).first()
    assert set(db.execute(select(IndicatorScore.object_seq)).scalars()) == set(seqs)
