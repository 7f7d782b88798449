"""Notices and their e-mails in each recipient's language: one mechanism (``Text`` rendered by the
notifier) for every domain, checked through a real SMTP server and the in-app inbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.header import decode_header, make_header
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from colsec.accounts.models import User
from colsec.accounts.roles import Role
from colsec.crisis import service as crisis
from colsec.crisis.models import Notification
from colsec.crisis.notify import notify
from colsec.crisis.schemas import IncidentIn
from colsec.db import Database
from colsec.exercises import run as runs
from colsec.exercises.scenario import create_scenario, parse_scenario
from colsec.outbox.text import Text, render
from colsec.store.models import EXERCISE_RUN
from outbox.conftest import give_email
from outbox.receivers import MailReceiver


def _speaks(database: Database, user_id: int, lang: str) -> None:
    with database.unit_of_work() as s:
        s.execute(update(User).where(User.id == user_id).values(language=lang))


def _subjects(mail: MailReceiver, n: int) -> dict[str, str]:
    deadline = time.monotonic() + 10
    while len(mail.effects) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return {rcpts[0]: str(make_header(decode_header(msg["Subject"]))) for rcpts, msg in mail.effects.values()}


def test_incident_notice_reaches_each_reader_in_their_language(
    database: Database, make_account: Callable[..., Any], mail: MailReceiver, deliver: Callable[..., int],
    client: TestClient,
) -> None:  # fmt: skip
    reporter = make_account(Role.ANALYST, org="NM")
    ru, en = make_account(Role.ANALYST, org="NM"), make_account(Role.ANALYST, org="NM")
    _speaks(database, ru.user.id, "ru")
    give_email(database, ru.user.id, "ru@nm.example")
    give_email(database, en.user.id, "en@nm.example")
    with database.unit_of_work() as s:
        inc = crisis.report_incident(s, actor=reporter.actor, data=IncidentIn(
            title="Wiper", category="cyber", severity=4))  # fmt: skip
        iid = inc.id
    assert deliver() == 2
    subjects = _subjects(mail, 2)
    assert subjects == {
        "ru@nm.example": f"Сообщено об инциденте #{iid}: Wiper (серьёзность 4)",
        "en@nm.example": f"Incident #{iid} reported: Wiper (severity 4)",
    }
    # the e-mail's body too, and the in-app notice the reader sees over the API
    bodies = {
        r[0]: m.get_payload(decode=True).decode() for r, m in mail.effects.values() if not m.is_multipart()
    }
    assert "Проведите сортировку" in bodies.get("ru@nm.example", ""), bodies
    inbox = client.get("/api/v1/crisis/notifications", headers=ru.headers).json()
    assert inbox[0]["subject"] == f"Сообщено об инциденте #{iid}: Wiper (серьёзность 4)"
    assert inbox[0]["body"] == "Проведите сортировку: передайте в кризисный центр или закройте."
    assert (
        client.get("/api/v1/crisis/notifications", headers=en.headers)
        .json()[0]["subject"]
        .startswith("Incident")
    )


def test_exercise_prefix_stays_on_a_translated_notice(
    database: Database, make_account: Callable[..., Any], mail: MailReceiver, deliver: Callable[..., int]
) -> None:
    ctl = make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre")
    rep = make_account(Role.REPRESENTATIVE, org="NM")
    _speaks(database, rep.user.id, "ru")
    give_email(database, rep.user.id, "duty@nm.example")
    doc = {"name": "lang-drill", "title": {"en": "Drill"}, "participants": [{"org": "NM"}],
           "injects": [{"number": 1, "offset": 0, "target": {"org": "NM"}, "channel": "message", "title": "x"}]}  # fmt: skip
    due = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    with database.unit_of_work() as s:
        sc = create_scenario(s, actor=ctl.actor, scenario=parse_scenario(doc))
        run = runs.create_run(s, actor=ctl.actor, scenario_id=sc.id, name="Учения 1")
        s.info[EXERCISE_RUN] = (run.id, run.name)
        notify(s, kind="crisis.sitrep_due", user_ids=[rep.user.id],
               subject=Text("Crisis #%(id)s: situation report overdue since %(due)s", {"id": 7, "due": due}))  # fmt: skip
    with database.unit_of_work() as s:
        note = s.execute(select(Notification).where(Notification.user_id == rep.user.id)).scalar_one()
        assert (
            note.subject
            == "[EXERCISE Учения 1] Кризис #7: доклад об обстановке просрочен с 6 дек. 2026, 09:30 UTC"
        )
    assert deliver() == 1
    assert _subjects(mail, 1) == {"duty@nm.example": note.subject}


def test_render_translates_parameters_and_keeps_data() -> None:
    role = Text("Crisis #%(id)s: you are now %(role)s", {"id": 3, "role": Text("liaison")})
    assert render(role, "ru") == "Кризис #3: ваша роль — офицер связи"
    assert render(role, "en") == "Crisis #3: you are now liaison"
    assert render(role, None) == render(role, "xx") == "Crisis #3: you are now liaison"
    assert render("an inject's own title", "ru") == "an inject's own title"


def test_working_group_notices_and_digest_in_russian(
    database: Database, make_account: Callable[..., Any]
) -> None:
    from datetime import date

    from colsec.accounts.roles import SYSTEM
    from colsec.groups import actions
    from colsec.groups import service as groups
    from colsec.groups.jobs import weekly_digest
    from colsec.groups.schemas import ActionIn, GroupIn, MemberIn

    rep = make_account(Role.REPRESENTATIVE, org="NM")
    _speaks(database, rep.user.id, "ru")
    with database.unit_of_work() as s:
        g = groups.create_group(s, actor=SYSTEM, data=GroupIn(
            code="CTI", name_en="Threat intel", name_ru="Разведка",
            members=[MemberIn(organisation="NM", representative=rep.user.username)]))  # fmt: skip
        actions.create_action(s, actor=SYSTEM, group_id=g.id, data=ActionIn(
            title="Share the YARA rules", owner_organisation="NM", due_on=date(2026, 12, 10)))  # fmt: skip
    with database.unit_of_work() as s:
        assert weekly_digest(s, now=datetime(2026, 12, 7, tzinfo=UTC)) == 1
        notes = list(s.execute(select(Notification).where(Notification.user_id == rep.user.id)
                               .order_by(Notification.id)).scalars())  # fmt: skip
    new, digest = notes
    assert new.subject == "[CTI] Новое поручение для NM: Share the YARA rules"
    assert new.body == "срок 2026-12-10"
    assert digest.subject == "Рабочие группы: ваша неделя (пунктов: 1)"
    assert digest.body.startswith("[CTI] поручение #") and digest.body.endswith(
        ", срок 2026-12-10: Share the YARA rules"
    )
