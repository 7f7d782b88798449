"""The group page in both languages: each role sees only its own actions, and the forms work."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from colsec.accounts import service as accounts
from colsec.accounts.models import User
from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.groups import actions, meetings, minutes, procedure
from colsec.groups.schemas import ActionIn, MeetingIn, ProcedureIn, ProcedureRule

from .conftest import Committee

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login(app: Any, username: str, lang: str = "en") -> TestClient:
    c = TestClient(app, headers={"Accept-Language": lang})
    page = c.get("/login")
    csrf = CSRF_RE.search(page.text)
    assert csrf
    r = c.post("/login", data={"csrf_token": csrf.group(1), "username": username, "password": PASSWORD, "next": "/"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    return c


def _csrf(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m
    return m.group(1)


@pytest.mark.slow  # logs in four people (argon2)
def test_role_aware_group_page(app: Any, database: Database, committee: Committee) -> None:
    c = committee
    people = {"chair": c.chair, "sec": c.secretary, "nm": c.reps["NM"], "out": c.outsider}
    t0 = datetime.now(UTC)
    with database.unit_of_work() as s:
        for p in people.values():
            accounts.set_password(s, actor=SYSTEM, user=s.get(User, p.user.id), password=PASSWORD)  # type: ignore[arg-type]
        # planned two days ago for yesterday, held now (attendance is recorded once a meeting has begun)
        m = meetings.create_meeting(s, actor=c.secretary.actor, group_id=c.group_id, now=t0 - timedelta(days=2),
                                   data=MeetingIn(title="Plenary", starts_at=t0 - timedelta(days=1), tz="Asia/Almaty"))  # fmt: skip
        meetings.hold_meeting(
            s, actor=c.secretary.actor, meeting_id=m.id, present=["NM", "EV", "SD", "WH"], now=t0
        )
        minutes.draft_minutes(s, actor=c.secretary.actor, meeting_id=m.id, now=t0)
        procedure.open_procedure(s, actor=c.secretary.actor, group_id=c.group_id, now=t0,
                                 data=ProcedureIn(question="Adopt the glossary?", text_en="Adopted.", text_ru="Принято.",
                                                  rule=ProcedureRule.SILENCE, deadline=t0 + timedelta(days=5)))  # fmt: skip
        a1 = actions.create_action(s, actor=c.secretary.actor, group_id=c.group_id,
                                   data=ActionIn(title="NM translates the glossary", owner_organisation="NM", due_on=date(2030, 1, 1)))  # fmt: skip
        a2 = actions.create_action(s, actor=c.secretary.actor, group_id=c.group_id,
                                   data=ActionIn(title="EV hosts the workshop", owner_organisation="EV", due_on=date(2030, 1, 1)))  # fmt: skip
        actions.move_action(s, actor=c.reps["EV"].actor, action_id=a2.id, to="done")
        ids = (m.id, a1.id, a2.id)
    mid, a1_id, a2_id = ids
    url = f"/groups/{c.group_id}"

    chair_client = _login(app, c.chair.user.username)
    chair = chair_client.get(url).text
    assert 'data-testid="approve-minutes"' in chair and f'data-testid="action-{a2_id}-verified"' in chair
    assert 'data-testid="draft-minutes"' not in chair and 'data-testid="answer-form"' not in chair

    sec_client = _login(app, c.secretary.user.username)
    sec = sec_client.get(url).text
    assert 'data-testid="approve-minutes"' not in sec and "-verified" not in sec
    assert 'data-testid="plan-meeting"' in sec and 'data-testid="open-procedure"' in sec
    when = (t0 + timedelta(days=9)).strftime("%Y-%m-%dT10:30")
    r = sec_client.post(f"/groups/{c.group_id}/meetings", follow_redirects=False, data={
        "csrf_token": _csrf(sec), "title": "Riga workshop", "starts_at": when, "tz": "Europe/Riga", "agenda": "Welcome\nTabletop"})  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    r = sec_client.post(
        f"/groups/{c.group_id}/meetings",
        data={"csrf_token": _csrf(sec), "title": "x", "starts_at": when, "tz": "Nowhere/Land"},
    )
    assert r.status_code == 422 and "Nowhere/Land" in r.text

    nm_client = _login(app, c.reps["NM"].user.username)
    nm = nm_client.get(url).text
    assert 'data-testid="answer-form"' in nm and f'data-testid="action-{a1_id}-in_progress"' in nm
    assert f'data-testid="action-{a2_id}-' not in nm and "approve-minutes" not in nm
    assert 'value="agree"' not in nm  # silence procedure: the only answer is an objection
    # NM attended: it comments on the draft minutes from the page; the chair, who did not, is not offered it
    assert 'data-testid="comment-minutes"' in nm and 'data-testid="comment-minutes"' not in chair
    r = nm_client.post(f"/groups/meetings/{mid}/comments", follow_redirects=False,
                       data={"csrf_token": _csrf(nm), "text": "Add the Almaty venue."})  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    r = nm_client.post(f"/groups/meetings/{mid}/comments", data={"csrf_token": _csrf(nm), "text": "x" * 4001})
    assert r.status_code == 422 and "4000" in r.text  # refused whole: nothing stored
    with database.unit_of_work(write=False) as s:
        assert [x.text for x in minutes.minutes_comments(s, actor=c.secretary.actor, meeting_id=mid)] == [
            "Add the Almaty venue."
        ]
    assert "Asia/Almaty" in nm and "Plenary" in nm and "Riga workshop" in nm and "10:30" in nm
    assert (
        'data-testid="table-paper"' in nm
        and 'data-testid="plan-meeting"' not in nm
        and 'data-testid="open-procedure"' not in nm
    )
    r = nm_client.post(f"/groups/{c.group_id}/papers", follow_redirects=False, data={"csrf_token": _csrf(nm), "title": "Red annex",
                       "language": "en", "tlp": "red", "recipients": "EV"}, files={"file": ("annex.pdf", b"%PDF-1.4 annex")})  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    assert "Red annex" in nm_client.get(url).text

    assert "Red annex" not in sec_client.get(url).text  # TLP:RED for NM and EV only
    out = _login(app, c.outsider.user.username)
    assert out.get(url).status_code == 404
    assert "WG3" not in out.get("/groups").text

    # forms: NM objects (silence broken), the chair verifies EV's item; EV cannot verify its own
    r = nm_client.post(
        "/groups/procedures/1/answer",
        data={"csrf_token": _csrf(nm), "stance": "object"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Your organisation has answered." in nm_client.get(url).text
    r = chair_client.post(
        f"/groups/actions/{a2_id}/move",
        data={"csrf_token": _csrf(chair), "to": "verified"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = nm_client.post(f"/groups/actions/{a2_id}/move", data={"csrf_token": _csrf(nm), "to": "open"})
    assert r.status_code == 403  # only the chair reopens

    # the same page in Russian for the chair
    r = chair_client.post("/lang", data={"csrf_token": _csrf(chair), "lang": "ru", "next": url})
    ru = r.text
    assert "Рабочие группы" in ru and "Утвердить протокол" in ru and "Рабочая группа 3" in ru
    with database.unit_of_work(write=False) as s:
        from colsec.groups.models import ActionItem, Procedure

        assert s.get(ActionItem, a2_id).status == "verified"  # type: ignore[union-attr]
        assert s.get(Procedure, 1).outcome == "rejected"  # type: ignore[union-attr]
    del mid


def test_the_crisis_centre_sets_a_group_up_in_the_browser(
    app: Any, database: Database, committee: Committee
) -> None:
    """No page created a group or named its officers, so nobody got the meeting and procedure
    forms. The centre's coordinator now creates one on /groups, chairing it by default."""
    c = committee
    with database.unit_of_work() as s:
        for p in (c.coordinator, c.reps["NM"]):
            accounts.set_password(s, actor=SYSTEM, user=s.get(User, p.user.id), password=PASSWORD)  # type: ignore[arg-type]
    coord = _login(app, c.coordinator.user.username)
    page = coord.get("/groups").text
    assert 'data-testid="group-form"' in page and f'value="{c.coordinator.user.username}"' in page
    form = {"csrf_token": _csrf(page), "code": "ics-wg", "name_en": "ICS working group", "name_ru": "Рабочая группа АСУ ТП",
            "kind": "expert_group", "chair": c.coordinator.user.username, "secretary": "", "members": "NM, EV"}  # fmt: skip
    r = coord.post("/groups", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/groups/"), r.text[:300]
    group = coord.get(r.headers["location"]).text
    assert (
        "ICS-WG" in group and 'action="/groups/' in group and "/meetings" in group
    )  # the chair plans meetings
    again = coord.post("/groups", data=form, follow_redirects=False)
    assert again.status_code == 409 and "already exists" in again.text
    member = _login(app, c.reps["NM"].user.username)
    assert 'data-testid="group-form"' not in member.get("/groups").text
    refused = member.post(
        "/groups", data={**form, "code": "X2", "csrf_token": _csrf(member.get("/groups").text)}
    )
    assert refused.status_code == 403


def test_the_node_operator_gets_the_officers_forms_the_domain_lets_them_use(
    app: Any, database: Database, committee: Committee, quick_account: Any
) -> None:
    """The domain lets the node operator act as a group's officer; the page offered the meeting and
    procedure forms to the chair and the secretary only."""
    from colsec.accounts.roles import Role

    op = quick_account(Role.ADMIN, "OPS")
    with database.unit_of_work() as s:
        user = s.get(User, op.user.id)
        accounts.set_node_operator(s, actor=SYSTEM, user=user, operator=True)  # type: ignore[arg-type]
        accounts.set_password(s, actor=SYSTEM, user=user, password=PASSWORD)  # type: ignore[arg-type]
    page = _login(app, op.user.username).get(f"/groups/{committee.group_id}").text
    assert 'data-testid="plan-meeting"' in page and 'data-testid="open-procedure"' in page
