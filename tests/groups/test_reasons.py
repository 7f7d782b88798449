"""A written procedure's reason in each reader's language: the group page, the notices, and the API
(English sentence plus a stable ``reason_code``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from colsec.accounts import service as accounts
from colsec.accounts.models import User
from colsec.accounts.roles import SYSTEM
from colsec.crisis.models import Notification
from colsec.db import Database
from colsec.groups import procedure
from colsec.groups.schemas import AnswerIn, ProcedureIn, ProcedureRule, Stance
from ui.test_i18n import untranslated

from .conftest import Committee
from .test_ui import PASSWORD, _login

RU = "кворум не набран: ответов 2 из 4 необходимых"
EN = "quorum not reached: 2 of 4 required answers"


@pytest.mark.slow  # logs in two people (argon2)
def test_no_quorum_reason_in_each_readers_language(
    app: Any, database: Database, committee: Committee
) -> None:
    c = committee
    t0 = datetime.now(UTC)
    deadline = t0 + timedelta(days=3)
    with database.unit_of_work() as s:
        s.execute(update(User).where(User.id == c.reps["NM"].user.id).values(language="ru"))
        s.execute(update(User).where(User.id == c.reps["EV"].user.id).values(language="en"))
        s.execute(update(User).where(User.id == c.chair.user.id).values(language="ru"))
        s.execute(update(User).where(User.id == c.secretary.user.id).values(language="en"))
        for p in (c.chair, c.secretary):
            accounts.set_password(s, actor=SYSTEM, user=s.get(User, p.user.id), password=PASSWORD)  # type: ignore[arg-type]
        pid = procedure.open_procedure(s, actor=c.secretary.actor, group_id=c.group_id, now=t0, data=ProcedureIn(
            question="Adopt the glossary?", text_en="Adopted.", text_ru="Принято.", rule=ProcedureRule.CONSENSUS,
            quorum=4, deadline=deadline)).id  # fmt: skip
    for org in ("NM", "EV"):
        with database.unit_of_work() as s:
            procedure.answer(s, actor=c.reps[org].actor, procedure_id=pid, data=AnswerIn(stance=Stance.AGREE),
                             now=t0 + timedelta(hours=1))  # fmt: skip
    with database.unit_of_work() as s:
        assert procedure.close_due(s, now=deadline + timedelta(minutes=1)) == [pid]
    with database.unit_of_work(write=False) as s:
        subjects = {n.user_id: n.subject for n in s.execute(
            select(Notification).where(Notification.kind == "groups.procedure.decided")).scalars()}  # fmt: skip
    assert subjects[c.reps["NM"].user.id] == f"[WG3] Письменная процедура #{pid}: без решения ({RU})"
    assert subjects[c.reps["EV"].user.id] == f"[WG3] Written procedure #{pid}: no decision ({EN})"

    api = TestClient(app).get(f"/api/v1/groups/procedures/{pid}", headers=c.secretary.headers).json()
    assert (api["reason"], api["reason_code"]) == (EN, "quorum_not_reached")

    url = f"/groups/{c.group_id}"
    ru = _login(app, c.chair.user.username, "ru").get(url).text
    assert RU in ru and EN not in ru
    line = ru.split('data-testid="procedure-reason">')[1].split("</p>")[0]
    assert RU in line and untranslated(f"<p>{line}</p>", "ru") == []
    en = _login(app, c.secretary.user.username, "en").get(url).text
    assert EN in en and RU not in en
