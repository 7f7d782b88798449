"""``colsec demo`` shows a live crisis: deployed teams, an open consultation, a CAP alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from colsec.crisis import service
from colsec.crisis.demo import DEMO_CRISIS_TITLE, build_crisis_demo
from colsec.crisis.models import CapAlert, Crisis
from colsec.crisis.states import aware
from colsec.db import Database
from colsec.demo import DEMO_COLLECTION_ID, build_demo
from colsec.intel.hooks import IntelConfig
from colsec.node import demo_extensions
from colsec.store.models import Collection, CollectionObject


@pytest.mark.slow
def test_demo_has_a_live_crisis_and_is_idempotent(sqlite_database: Database) -> None:
    extensions = demo_extensions(IntelConfig())
    assert build_crisis_demo in extensions
    with sqlite_database.unit_of_work() as s:
        build_demo(s, extensions=extensions)
    with sqlite_database.unit_of_work() as s:
        build_demo(s, extensions=extensions)
    with sqlite_database.unit_of_work(write=False) as s:
        crises = s.execute(select(Crisis).where(Crisis.title == DEMO_CRISIS_TITLE)).scalars().all()
        assert len(crises) == 1 and crises[0].status == "active"
        statuses = sorted(c.status for c in service.list_consultations(s, crisis_id=crises[0].id))
        assert statuses == ["closed", "open"]
        m = service.crisis_metrics(s, crisis_id=crises[0].id)
        assert m["decision_to_first_deployment"]["count"] == 1
        assert s.execute(select(func.count()).select_from(CapAlert)).scalar_one() == 1
        # one story over the last month: a realistic time to decision, events spread in time
        assert m["time_to_decision"]["median_s"] == 3 * 3600 + 50 * 60
        assert 3600 < m["decision_to_first_deployment"]["median_s"] < 24 * 3600
        when = [aware(e.at) for e in service.timeline(s, crisis_id=crises[0].id)]
        assert when == sorted(when) and when[-1] - when[0] > timedelta(days=25)
        assert when[-1] <= datetime.now(UTC)
        assert len({w.date() for w in when}) >= 8
        # the alliance's shared indicators are published over TAXII
        coll = s.get(Collection, DEMO_COLLECTION_ID)
        assert coll is not None
        members = s.execute(
            select(func.count())
            .select_from(CollectionObject)
            .where(CollectionObject.collection_id == coll.id)
        ).scalar_one()
        assert members > 10
