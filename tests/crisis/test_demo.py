"""``colsec demo`` shows a live crisis: deployed teams, an open consultation, a CAP alert."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from colsec.crisis import service
from colsec.crisis.demo import DEMO_CRISIS_TITLE, build_crisis_demo
from colsec.crisis.models import CapAlert, Crisis
from colsec.db import Database
from colsec.demo import build_demo
from colsec.intel.hooks import IntelConfig
from colsec.node import demo_extensions


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
