"""Roles on the crisis page: the crisis centre assigns and removes them; members are shown neither."""

from __future__ import annotations

from .conftest import csrf_of
from .test_crisis import _crisis_with_consultation
from .test_i18n import _switch, untranslated


def test_coordinator_assigns_and_removes_a_role_on_the_page(ui_client, demo_database) -> None:
    crisis_id, _, _ = _crisis_with_consultation(demo_database)
    coord = ui_client("coordinator")
    page = coord.get(f"/crisis/{crisis_id}").text
    r = coord.post(
        f"/crisis/{crisis_id}/roles",
        data={"csrf_token": csrf_of(page), "username": "ev-rep", "role": "liaison"},
    )
    assert r.status_code == 200 and 'data-testid="role-remove-' in r.text
    api = coord.get(f"/api/v1/crisis/crises/{crisis_id}/roles").json()
    liaison = next(x for x in api if x["username"] == "ev-rep")
    # a member sees the role but no removal button, and its post is refused
    rep = ui_client("nm-rep")
    member_page = rep.get(f"/crisis/{crisis_id}").text
    assert "ev-rep" in member_page and 'data-testid="role-remove-' not in member_page
    refused = rep.post(f"/crisis/{crisis_id}/roles/remove",
                       data={"csrf_token": csrf_of(member_page), "username": "ev-rep", "role": "liaison"})  # fmt: skip
    assert refused.status_code == 403
    _switch(coord, "ru")
    page = coord.get(f"/crisis/{crisis_id}").text
    assert f'data-testid="role-remove-{liaison["id"]}"' in page
    r = coord.post(f"/crisis/{crisis_id}/roles/remove",
                   data={"csrf_token": csrf_of(page), "username": "ev-rep", "role": "liaison"})  # fmt: skip
    assert (
        r.status_code == 200
        and "Роль снята" in r.text
        and not untranslated(r.text.split('id="roles"')[1].split("</section>")[0], "ru")
    )
    assert all(
        x["username"] != "ev-rep" for x in coord.get(f"/api/v1/crisis/crises/{crisis_id}/roles").json()
    )
