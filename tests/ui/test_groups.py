"""An existing working group is run from its page: membership, officers, attendance, decisions,
action items and delegations (before: the API only), in both languages, refused to whoever may not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.groups import meetings, service
from colsec.groups.models import ActionItem, Decision, Delegation, Group
from colsec.groups.schemas import DelegationIn, GroupIn, MeetingIn, MemberIn

from .conftest import csrf_of, login
from .test_i18n import _switch, untranslated


@dataclass
class Committee:
    group_id: int
    people: dict[str, Any]  # key -> Account (tests/conftest.py)

    def name(self, key: str) -> str:
        return str(self.people[key].user.username)


def _committee(database: Database, make_account: Callable[..., Any]) -> Committee:
    """WG7: a crisis-centre coordinator chairs, a centre analyst is secretary; NM and EV are members."""
    people = {
        "chair": make_account(Role.COORDINATOR, "ACC", kind="crisis_centre"),
        "sec": make_account(Role.ANALYST, "ACC", kind="crisis_centre"),
        "new_sec": make_account(Role.ANALYST, "ACC", kind="crisis_centre"),
        "nm": make_account(Role.REPRESENTATIVE, "NM"),
        "nm_dep": make_account(Role.ANALYST, "NM"),
        "nm_viewer": make_account(Role.VIEWER, "NM"),
        "ev": make_account(Role.REPRESENTATIVE, "EV"),
        "sd": make_account(Role.REPRESENTATIVE, "SD"),
        "out": make_account(Role.REPRESENTATIVE, "OUT"),
    }
    with database.unit_of_work() as s:
        g = service.create_group(s, actor=people["chair"].actor, data=GroupIn(
            code="WG7", name_en="Working Group 7", name_ru="Рабочая группа 7", chair=people["chair"].user.username,
            secretary=people["sec"].user.username,
            members=[MemberIn(organisation="NM", representative=people["nm"].user.username,
                              deputies=[people["nm_dep"].user.username]),
                     MemberIn(organisation="EV", representative=people["ev"].user.username)]))  # fmt: skip
        return Committee(group_id=g.id, people=people)


def _client(app: Any, c: Committee, key: str) -> TestClient:
    return login(TestClient(app), c.name(key), c.people[key].password)


def _section(html: str, marker: str) -> str:
    """The inside of the section whose opening tag holds ``marker``."""
    return html.split(marker, 1)[1].split(">", 1)[1].split("</section>", 1)[0]


def test_officers_change_the_members_on_the_page(
    app: Any, database: Database, make_account: Callable[..., Any]
) -> None:
    c = _committee(database, make_account)
    url = f"/groups/{c.group_id}"
    sec = _client(app, c, "sec")
    page = sec.get(url).text
    assert 'data-testid="add-member"' in page and 'data-testid="add-person"' in page
    assert 'data-testid="set-officers"' not in page  # the secretary is no appointer
    token = csrf_of(page)
    r = sec.post(f"{url}/members", data={"csrf_token": token, "organisation": "SD", "kind": "observer",
                                         "representative": c.name("sd")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{url}#members", r.text[:300]
    r = sec.post(
        f"{url}/people", data={"csrf_token": token, "organisation": "EV", "username": c.name("new_sec")}
    )
    assert r.status_code == 422 and "does not belong" in r.text  # a person of another organisation
    r = sec.post(f"{url}/people", data={"csrf_token": token, "organisation": "NM", "username": c.name("nm_dep"),
                                        "function": "representative"})  # fmt: skip
    assert r.status_code == 409 and "remove them first" in r.text
    r = sec.post(f"{url}/people", data={"csrf_token": token, "organisation": "NM", "username": c.name("nm_viewer"),
                                        "function": "deputy"})  # fmt: skip
    assert r.status_code == 422 and "read-only account" in r.text  # a viewer holds no seat
    # a removal asks first: without the ticked box nothing is removed, and the refusal says why
    r = sec.post(f"{url}/people/remove", data={"csrf_token": token, "username": c.name("nm_dep")})
    assert r.status_code == 422 and "nothing was removed" in r.text
    r = sec.post(f"{url}/members/remove", data={"csrf_token": token, "organisation": "EV"})
    assert r.status_code == 422 and 'data-member="EV"' in sec.get(url).text
    r = sec.post(
        f"{url}/people/remove", data={"csrf_token": token, "username": c.name("nm_dep"), "confirm": "1"}
    )
    assert r.status_code == 200  # followed back to the page
    members = _section(r.text, 'id="members"')
    assert 'data-member="SD"' in members and c.name("sd") in members and c.name("nm_dep") not in members
    r = sec.post(f"{url}/members/remove", data={"csrf_token": token, "organisation": "EV", "confirm": "1"})
    assert r.status_code == 200 and 'data-member="EV"' not in r.text
    assert _client(app, c, "ev").get(url).status_code == 404  # EV left the group with its people

    # a member, a viewer of a member and another organisation may not
    nm = _client(app, c, "nm")
    nm_page = nm.get(url).text
    assert 'data-testid="add-member"' not in nm_page and 'data-testid="remove-member-' not in nm_page
    form = {"csrf_token": csrf_of(nm_page), "organisation": "OUT"}
    assert nm.post(f"{url}/members", data=form).status_code == 403
    assert (
        nm.post(f"{url}/members/remove", data={**form, "organisation": "SD", "confirm": "1"}).status_code
        == 403
    )
    viewer = _client(app, c, "nm_viewer")
    assert (
        viewer.post(f"{url}/members", data={**form, "csrf_token": csrf_of(viewer.get(url).text)}).status_code
        == 403
    )
    out = _client(app, c, "out")
    assert (
        out.post(f"{url}/members", data={**form, "csrf_token": csrf_of(out.get("/").text)}).status_code == 404
    )

    _switch(sec, "ru")
    page = sec.get(url).text
    members = _section(page, 'id="members"')
    assert "Добавить члена или наблюдателя" in members and "Исключить из группы" in members
    # the removal form asks for the ticked box (required, so the browser asks before it posts)
    assert 'name="confirm" value="1" required' in members and "Подтверждаю: " in members
    assert "наблюдатель" in members and not untranslated(members, "ru")
    with database.unit_of_work(write=False) as s:
        assert service.member_org_ids(s, c.group_id, kinds=("observer",)) == [c.people["sd"].org.id]


def test_the_crisis_centre_changes_the_chair_and_the_secretary_on_the_page(
    app: Any, database: Database, make_account: Callable[..., Any]
) -> None:
    c = _committee(database, make_account)
    url = f"/groups/{c.group_id}"
    chair = _client(app, c, "chair")
    _switch(chair, "ru")
    page = chair.get(url).text
    officers = _section(page, 'id="members"')
    assert 'data-testid="set-officers"' in officers and f'value="{c.name("sec")}"' in officers
    assert "Сменить председателя или секретаря" in officers and not untranslated(officers, "ru")
    r = chair.post(f"{url}/officers", data={"csrf_token": csrf_of(page), "chair": c.name("chair"),
                                            "secretary": c.name("new_sec")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{url}#members", r.text[:300]
    assert _client(app, c, "sec").get(url).status_code == 404  # the old secretary is out of the group
    new_sec = _client(app, c, "new_sec")
    sec_page = new_sec.get(url).text
    assert 'data-testid="plan-meeting"' in sec_page and 'data-testid="set-officers"' not in sec_page
    for key in ("new_sec", "nm"):  # the secretary and the members do not appoint
        who = new_sec if key == "new_sec" else _client(app, c, key)
        r = who.post(f"{url}/officers", data={"csrf_token": csrf_of(who.get(url).text), "chair": c.name(key)})
        assert r.status_code == 403
    # the chair hands the office over and, no longer in the group, goes back to the list
    r = chair.post(f"{url}/officers", data={"csrf_token": csrf_of(page), "chair": "", "secretary": c.name("new_sec")},
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/groups"
    with database.unit_of_work(write=False) as s:
        g = s.get(Group, c.group_id)
        assert (
            g is not None and g.chair_user_id is None and g.secretary_user_id == c.people["new_sec"].user.id
        )


def test_attendance_decisions_action_items_and_delegations_on_the_page(
    app: Any, database: Database, make_account: Callable[..., Any]
) -> None:
    c = _committee(database, make_account)
    url = f"/groups/{c.group_id}"
    t0 = datetime.now(UTC)
    with database.unit_of_work() as s:  # planned yesterday for an hour ago: they can be held now
        ids = [meetings.create_meeting(s, actor=c.people["sec"].actor, group_id=c.group_id, now=t0 - timedelta(days=1),
                                       data=MeetingIn(title=t, starts_at=t0 - timedelta(hours=1))).id
               for t in ("Plenary", "Thin")]  # fmt: skip
    full, thin = ids
    sec = _client(app, c, "sec")
    page = sec.get(url).text
    token = csrf_of(page)
    assert f'data-testid="hold-meeting-{full}"' in page and 'data-testid="record-decision-' not in page
    r = sec.post(f"/groups/meetings/{full}/held", data={"csrf_token": token, "present": ["NM", "EV"]})
    assert r.status_code == 200 and f'data-testid="record-decision-{full}"' in r.text
    r = sec.post(f"/groups/meetings/{thin}/held", data={"csrf_token": token, "present": "NM"})
    assert f'data-testid="record-decision-{thin}"' not in r.text and "no quorum" in r.text
    r = sec.post(
        f"/groups/meetings/{thin}/decisions", data={"csrf_token": token, "text_en": "x", "text_ru": "x"}
    )
    assert r.status_code == 422 and "no quorum" in r.text
    r = sec.post(f"/groups/meetings/{full}/decisions", data={"csrf_token": token, "text_en": "Adopt the glossary.",
                                                              "text_ru": "Принять глоссарий."}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{url}#decisions", r.text[:300]
    page = sec.get(url).text
    assert "WG7-" in page and 'data-testid="add-action"' in page
    with database.unit_of_work(write=False) as s:
        decision = s.execute(select(Decision).where(Decision.group_id == c.group_id)).scalar_one()
    r = sec.post(f"{url}/actions", data={"csrf_token": token, "title": "Translate the glossary", "owner_organisation": "NM",
                                         "owner_user": "", "due_on": "2030-01-15", "decision_id": str(decision.id)},
                 follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{url}#actions", r.text[:300]
    r = sec.post(
        f"{url}/actions",
        data={"csrf_token": token, "title": "x", "owner_organisation": "OUT", "due_on": "2030-01-15"},
    )
    assert r.status_code == 422 and "only members own action items" in r.text

    # the member: moves its item, delegates to its deputy; it records nothing for the group
    nm = _client(app, c, "nm")
    nm_page = nm.get(url).text
    assert "Translate the glossary" in nm_page and 'data-testid="add-action"' not in nm_page
    assert 'data-testid="record-decision-' not in nm_page and 'data-testid="hold-meeting-' not in nm_page
    assert 'data-testid="delegate"' in nm_page and f'<option value="{c.name("nm_dep")}">' in nm_page
    nm_token = csrf_of(nm_page)
    refused = [
        nm.post(f"{url}/actions", data={"csrf_token": nm_token, "title": "x", "owner_organisation": "NM", "due_on": "2030-01-15"}),
        nm.post(f"/groups/meetings/{full}/decisions", data={"csrf_token": nm_token, "text_en": "x", "text_ru": "x"}),
    ]  # fmt: skip
    assert [r.status_code for r in refused] == [403, 403]
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    until = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    r = nm.post(f"{url}/delegations", data={"csrf_token": nm_token, "deputy": c.name("nm_dep"), "starts_at": start,
                                            "ends_at": until}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    dep = _client(app, c, "nm_dep")  # the deputy does not delegate onwards
    dep_page = dep.get(url).text
    assert 'data-testid="delegate"' not in dep_page
    r = dep.post(f"{url}/delegations", data={"csrf_token": csrf_of(dep_page), "deputy": c.name("nm_dep"),
                                             "starts_at": start, "ends_at": until})  # fmt: skip
    assert r.status_code == 403
    assert 'data-testid="delegate"' not in _client(app, c, "ev").get(url).text  # EV has no deputy

    _switch(nm, "ru")
    ru = nm.get(url).text
    assert "Поручить заместителю отвечать за вашу организацию" in ru and not untranslated(
        _section(ru, 'id="members"'), "ru"
    )
    _switch(sec, "ru")
    ru = sec.get(url).text
    assert "Добавить поручение" in ru and "нет кворума" in ru
    for marker in ('id="members"', 'id="meetings"', 'id="decisions"', 'id="actions"'):  # every form open
        assert not untranslated(_section(ru, marker), "ru"), marker
    _switch(sec, "en")
    assert not untranslated(sec.get(url).text, "en")
    with database.unit_of_work(write=False) as s:
        item = s.execute(select(ActionItem).where(ActionItem.group_id == c.group_id)).scalar_one()
        assert (item.decision_id, item.source, item.due_on) == (decision.id, "decision", date(2030, 1, 15))
        assert s.execute(select(Delegation.deputy_user_id)).scalar_one() == c.people["nm_dep"].user.id


def test_the_group_page_lists_current_and_upcoming_delegations(
    app: Any, database: Database, make_account: Callable[..., Any]
) -> None:
    """A browser review found delegations recorded but listed nowhere: the members' list now says
    who answers for whom and until when, in both languages; an ended one is history, not listed."""
    c = _committee(database, make_account)
    url = f"/groups/{c.group_id}"
    t0 = datetime.now(UTC).replace(second=0, microsecond=0)
    windows = {"current": (t0 - timedelta(hours=1), t0 + timedelta(days=2)),
               "upcoming": (t0 + timedelta(days=10), t0 + timedelta(days=12)),
               "ended": (t0 - timedelta(days=5), t0 - timedelta(days=4))}  # fmt: skip
    with database.unit_of_work() as s:
        for starts, ends in windows.values():
            service.delegate(s, actor=c.people["nm"].actor, group_id=c.group_id,
                             data=DelegationIn(deputy=c.name("nm_dep"), starts_at=starts, ends_at=ends))  # fmt: skip
    ev = _client(app, c, "ev")  # another member reads it too: who answers for NM is the group's business
    members = _section(ev.get(url).text, 'id="members"')
    listed = members.split('data-testid="delegations"', 1)[1].split("</ul>", 1)[0]
    assert listed.count("<li") == 2 and c.name("nm_dep") in listed and c.name("nm") in listed
    assert "(current)" in listed and "(upcoming)" in listed
    assert listed.index("(current)") < listed.index("(upcoming)")  # by start
    days = [w.strftime("%-d %b %Y") for w in (windows["upcoming"][0], windows["upcoming"][1])]
    assert all(d in listed for d in days), (days, listed)
    assert windows["ended"][0].strftime("%-d %b %Y, %H:%M") not in listed
    _switch(ev, "ru")
    members = _section(ev.get(url).text, 'id="members"')
    assert "Передача полномочий" in members and "действует" in members and "предстоит" in members
    assert "отвечает вместо" in members and not untranslated(members, "ru")
    # a group without any delegation says so
    sec = _client(app, c, "sec")
    with database.unit_of_work() as s:
        for d in s.execute(select(Delegation)).scalars():
            s.delete(d)
    assert 'data-testid="no-delegations"' in sec.get(url).text
