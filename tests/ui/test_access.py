"""Access control in the UI: roles for admin pages; no other organisation's TLP:RED anywhere."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import import_objects

from .conftest import csrf_of
from .test_i18n import _switch, untranslated

SECRET_VALUE = "203.0.113.199"


def results_of(html: str) -> str:
    """The results section only (the search form echoes the query itself)."""
    start = html.index('data-testid="results"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize("path", ["/admin/organisations", "/admin/users", "/admin/tokens", "/admin/peers"])
def test_viewer_and_analyst_cannot_reach_admin_pages(ui_client, path: str) -> None:
    for username in ("viewer", "nm-analyst", "coordinator"):
        c = ui_client(username)
        r = c.get(path)
        assert r.status_code == 403, (username, path)
        assert 'data-testid="error-title"' in r.text
        r = c.post(
            path,
            data={"csrf_token": csrf_of(c.get("/").text), "name": "x", "short_name": "x", "username": "x"},
        )
        assert r.status_code == (405 if path == "/admin/peers" else 403)  # the peers page has no form
    admin = ui_client("admin")
    assert admin.get(path).status_code == 200


def test_a_new_users_role_defaults_to_the_least_privilege(ui_client) -> None:
    """The new-user form starts at viewer: an administrator is chosen, never defaulted to."""
    html = ui_client("admin").get("/admin/users").text
    form = html[html.index('<select name="role">') :]
    form = form[: form.index("</select>")]
    assert form.count(" selected") == 1 and '<option value="viewer" selected>' in form


def test_viewer_cannot_import(ui_client) -> None:
    c = ui_client("viewer")
    assert c.get("/import").status_code == 403
    assert "/import" not in c.get("/").text.split("<main>")[0]  # not offered in the navigation


def _red_object(database) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A TLP:RED indicator and a TLP:RED relationship of EV-CERT, pointing at each other's world."""
    with database.unit_of_work() as db:
        org = db.execute(select(Organisation).where(Organisation.short_name == "EV-CERT")).scalar_one()
        actor = Actor(username="ev-test", role=Role.ANALYST, org_id=org.id, org_short_name="EV-CERT")
        ts = now_timestamp()
        ind = "indicator--7a1f0c2e-0000-4000-8000-00000000a001"
        rel = "relationship--7a1f0c2e-0000-4000-8000-00000000a002"
        shared_malware = db.execute(
            select(Organisation.identity_id).where(Organisation.short_name == "NM-CERT")
        ).scalar_one()
        import_objects(
            db,
            actor=actor,
            objects=[
                {
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": ind,
                    "created": ts,
                    "modified": ts,
                    "name": "red secret indicator",
                    "pattern": f"[ipv4-addr:value = '{SECRET_VALUE}']",
                    "pattern_type": "stix",
                    "valid_from": ts,
                    "labels": ["red-secret"],
                    "object_marking_refs": [marking_id(TLP.RED)],
                },
                {
                    "type": "relationship",
                    "spec_version": "2.1",
                    "id": rel,
                    "created": ts,
                    "modified": ts,
                    "relationship_type": "related-to",
                    "source_ref": ind,
                    "target_ref": shared_malware,
                    "object_marking_refs": [marking_id(TLP.RED)],
                },
            ],  # fmt: skip
            owner_org_id=org.id,
        )
    return ind, rel


def test_red_object_of_another_organisation_is_never_shown(ui_client, demo_database) -> None:
    ind, rel = _red_object(demo_database)
    other = ui_client("nm-analyst")
    searches = [
        f"/intel?q={SECRET_VALUE}",
        "/intel?q=203.0.113",
        f"/intel?q={ind}",
        "/intel?label=red-secret",
        "/intel?tlp=red",
        "/intel?type=indicator",
        "/intel?type=relationship",
        "/intel",
    ]
    for path in searches:
        r = other.get(path)
        assert r.status_code == 200
        found = results_of(r.text)
        assert ind not in found and rel not in found and "red secret indicator" not in found, path
    assert other.get(f"/intel/{ind}").status_code == 404
    assert other.get(f"/intel/{rel}").status_code == 404
    page = other.get("/")
    assert ind not in page.text and rel not in page.text
    # the identity the red relationship points at belongs to NM-CERT: its page must not list the edge
    ident = other.get("/intel?type=identity").text
    assert rel not in ident
    admin = ui_client("admin")  # another organisation (the crisis centre), even as admin
    for path in searches:
        assert ind not in results_of(admin.get(path).text)
    owner = ui_client("ev-analyst")
    assert ind in results_of(owner.get(f"/intel?q={SECRET_VALUE}").text)
    assert owner.get(f"/intel/{ind}").status_code == 200
    assert "red secret indicator" in owner.get("/intel?label=red-secret").text


def test_hostile_content_is_escaped(ui_client, demo_database) -> None:
    with demo_database.unit_of_work() as db:
        org = db.execute(select(Organisation).where(Organisation.short_name == "SD-CERT")).scalar_one()
        actor = Actor(username="sd-test", role=Role.ANALYST, org_id=org.id, org_short_name="SD-CERT")
        ts = now_timestamp()
        import_objects(db, actor=actor, owner_org_id=org.id, objects=[
            {"type": "malware", "spec_version": "2.1", "id": "malware--7a1f0c2e-0000-4000-8000-00000000b001",
             "created": ts, "modified": ts, "name": "<script>alert(1)</script><img src=x onerror=alert(2)>",
             "is_family": True, "description": "\"'><svg onload=alert(3)>",
             "object_marking_refs": [marking_id(TLP.GREEN)]}])  # fmt: skip
    c = ui_client("nm-analyst")
    for path in ("/intel?type=malware", "/intel/malware--7a1f0c2e-0000-4000-8000-00000000b001"):
        html = c.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_no_foreign_red_object_on_postgresql_either(database, tmp_path) -> None:
    """The same leak checks against the PostgreSQL store (CI sets COLSEC_TEST_DATABASE_URL)."""
    if database.sqlite:
        pytest.skip("the SQLite store is covered by the demo-database tests above")
    from fastapi.testclient import TestClient

    from colsec.demo import build_demo
    from colsec.intel.hooks import IntelConfig
    from colsec.node import demo_extensions
    from colsec.settings import Settings
    from colsec.web.app import create_app

    from .conftest import login

    with database.unit_of_work() as db:
        build_demo(db, extensions=demo_extensions(IntelConfig()))
    ind, rel = _red_object(database)
    settings = Settings(data_dir=tmp_path / "data", database_url=database.url, secret_key="pg-ui-test-secret")
    with TestClient(create_app(settings, database=database)) as c:
        login(c, "nm-analyst")
        for path in (
            f"/intel?q={SECRET_VALUE}",
            f"/intel?q={ind}",
            "/intel?label=red-secret",
            "/intel?tlp=red",
            "/intel",
        ):
            found = results_of(c.get(path).text)
            assert ind not in found and rel not in found, path
        assert c.get(f"/intel/{ind}").status_code == 404
        assert ind not in c.get("/").text
    with TestClient(create_app(settings, database=database)) as owner:
        login(owner, "ev-analyst")
        assert ind in results_of(owner.get(f"/intel?q={SECRET_VALUE}").text)


def test_the_audit_log_page_shows_an_administrator_their_entries(ui_client, demo_database) -> None:
    """The audit log had no page (only the verify command): the node operator reads every row,
    newest first, filtered by action prefix and user, paging on; other roles are refused."""
    from colsec.accounts.roles import SYSTEM
    from colsec.store import audit

    with demo_database.unit_of_work() as db:
        for n in range(120):  # more than a page
            audit.record(db, actor=SYSTEM, action="test.entry", target=f"t{n}")
    admin = ui_client("admin")
    html = admin.get("/admin/audit").text
    assert 'data-testid="audit-rows"' in html and 'href="/admin/audit"' in html
    ids = [int(x) for x in re.findall(r'data-audit-id="(\d+)"', html)]
    assert ids == sorted(ids, reverse=True) and len(ids) == 100
    older = admin.get(f"/admin/audit?before={ids[-1]}").text
    assert max(int(x) for x in re.findall(r'data-audit-id="(\d+)"', older)) < ids[-1]
    crisis = admin.get("/admin/audit?action=crisis.").text
    actions = re.findall(r"<code>([^<]+)</code>", crisis.split('data-testid="audit-rows"')[1])
    assert actions and all(a.startswith("crisis.") for a in actions)
    assert "No entry matches" in admin.get("/admin/audit?action=no-such.").text
    for username in ("viewer", "nm-analyst", "coordinator"):
        assert ui_client(username).get("/admin/audit").status_code == 403, username


def test_an_analyst_exports_from_the_browser_what_their_organisation_may_see(
    ui_client, demo_database
) -> None:
    """Export was the command line's and TAXII's alone. The intelligence page now downloads a STIX
    bundle, a MISP event, CSV or sensor files (several as a zip), through the same sharing policy."""
    import io
    import zipfile

    import orjson

    ind, rel = _red_object(demo_database)  # EV-CERT's TLP:RED: never in NM-CERT's export
    nm = ui_client("nm-analyst")
    assert 'data-testid="export-form"' in nm.get("/intel").text
    r = nm.get("/intel/export?format=stix&type=indicator")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    objects = orjson.loads(r.content)["objects"]
    indicators = [o for o in objects if o["type"] == "indicator"]
    assert indicators and ind not in {o["id"] for o in objects} and SECRET_VALUE.encode() not in r.content
    rules = nm.get("/intel/export?format=suricata")
    assert rules.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(rules.content)).namelist()
    assert any(n.endswith(".rules") for n in names) and SECRET_VALUE.encode() not in rules.content
    bad = nm.get("/intel/export?format=docx")
    assert bad.status_code == 422 and "unknown export format" in bad.text
    owner = ui_client("ev-analyst")  # the owner's own export holds it
    assert ind.encode() in owner.get("/intel/export?format=stix&type=indicator").content


def test_an_admin_disables_enables_and_resets_a_user_in_the_browser(ui_client, demo_database) -> None:
    """Disabling an account and setting its password were API-only: /admin/users now does both; the
    disabled user's session stops at once, and the new password is the one that logs in."""
    from colsec.accounts.models import User
    from colsec.demo import DEMO_PASSWORD

    from .conftest import login

    victim = ui_client("viewer")
    assert victim.get("/", follow_redirects=False).status_code == 200
    admin = ui_client("admin")
    page = admin.get("/admin/users").text
    token = csrf_of(page)
    assert 'action="/admin/users/viewer/active"' in page and 'action="/admin/users/admin/active"' not in page
    r = admin.post(
        "/admin/users/viewer/active", data={"csrf_token": token, "active": "0"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert victim.get("/", follow_redirects=False).status_code == 303  # back to the login page
    admin.post("/admin/users/viewer/active", data={"csrf_token": token, "active": "1"})
    short = admin.post("/admin/users/viewer/password", data={"csrf_token": token, "password": "short"})
    assert short.status_code == 422 and "at least 8 characters" in short.text
    r = admin.post(
        "/admin/users/viewer/password", data={"csrf_token": token, "password": "a new long secret"}
    )
    assert r.status_code == 200
    with demo_database.unit_of_work() as db:
        assert db.execute(select(User.is_active).where(User.username == "viewer")).scalar_one()
    login(ui_client(), "viewer", "a new long secret")
    old = ui_client()
    page = old.get("/login").text
    refused = old.post(
        "/login", data={"csrf_token": csrf_of(page), "username": "viewer", "password": DEMO_PASSWORD}
    )
    assert refused.status_code == 401
    assert ui_client("nm-analyst").post("/admin/users/viewer/active", data={"active": "0"}).status_code == 403


def test_a_coordinator_manages_their_organisations_sharing_groups_in_the_browser(ui_client) -> None:
    """Sharing groups (who a TLP:AMBER object goes to) were API-only. A coordinator now creates one,
    adds and removes members; a group another organisation owns is listed without controls."""
    coord = ui_client("coordinator")
    assert 'href="/admin/sharing-groups"' in coord.get("/").text  # in the coordinator's navigation
    page = coord.get("/admin/sharing-groups").text
    assert 'data-testid="sharing-group-form"' in page and 'href="/admin/users"' not in page
    token = csrf_of(page)
    r = coord.post("/admin/sharing-groups", data={"csrf_token": token, "name": "water-ops", "description": "Water",
                                                  "members": "NM-CERT"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    coord.post(
        "/admin/sharing-groups/water-ops/members", data={"csrf_token": token, "organisation": "EV-CERT"}
    )
    row = coord.get("/admin/sharing-groups").text.split('data-group="water-ops"')[1].split("</tr>")[0]
    assert "NM-CERT" in row and "EV-CERT" in row and 'action="/admin/sharing-groups/water-ops/members"' in row
    coord.post(
        "/admin/sharing-groups/water-ops/members",
        data={"csrf_token": token, "organisation": "NM-CERT", "remove": "1"},
    )
    row = coord.get("/admin/sharing-groups").text.split('data-group="water-ops"')[1].split("</tr>")[0]
    assert "NM-CERT" not in row and "EV-CERT" in row
    nm_admin_view = ui_client("nm-rep").get("/admin/sharing-groups")
    assert nm_admin_view.status_code == 403  # a representative manages none
    again = coord.post("/admin/sharing-groups", data={"csrf_token": token, "name": "water-ops"})
    # the coordinator reads Russian: the refusal too, the group's name quoted as typed
    assert (
        again.status_code == 409
        and 'Группа обмена «<span translate="no">water-ops</span>» уже существует.' in again.text
    )


def test_an_admin_reads_the_background_jobs_and_why_one_failed(ui_client, demo_database) -> None:
    """Jobs (imports, post-import work, pulls) were listed by the API and the CLI alone."""
    from colsec.accounts.roles import SYSTEM
    from colsec.jobs import queue

    with demo_database.unit_of_work() as db:
        job = queue.enqueue(db, kind="test.kind", payload={}, actor=SYSTEM)
        job_id = job.id
        job.status, job.error = "failed", "the peer refused the token"  # as the runner leaves it
    admin = ui_client("admin")
    html = admin.get("/admin/jobs").text
    assert (
        'data-testid="jobs"' in html
        and f'data-job="{job_id}"' in html
        and "the peer refused the token" in html
    )
    failed = admin.get("/admin/jobs?status=failed").text
    assert all(s == "failed" for s in re.findall(r'data-status="([a-z_]+)"', failed))
    assert admin.get("/admin/jobs?status=odd").status_code == 422
    assert ui_client("nm-analyst").get("/admin/jobs").status_code == 403


def test_the_jobs_and_audit_pages_name_states_kinds_and_actions_in_russian(ui_client, demo_database) -> None:
    """The browser review read job states and kinds raw on Russian pages, and the audit log's
    'Action' column as 'Поручение' (an action item)."""
    from colsec.accounts.roles import SYSTEM
    from colsec.jobs import queue

    with demo_database.unit_of_work() as db:
        queue.enqueue(db, kind="federation.pull", payload={}, actor=SYSTEM)
    admin = ui_client("admin")
    _switch(admin, "ru")
    jobs = admin.get("/admin/jobs").text
    assert "Федерация: загрузка с узла-партнёра" in jobs and ">в очереди<" in jobs
    assert 'translate="no">federation.pull</code>' in jobs  # the stored kind stays beside, for support
    assert untranslated(jobs, "ru") == []
    audit_page = admin.get("/admin/audit").text
    assert "<th>Действие</th>" in audit_page and "Поручение" not in audit_page


def test_every_job_kind_the_runner_handles_is_named_on_the_jobs_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The page's names are its own table: a kind the runner gains must gain a name there too."""
    from colsec.job_wiring import handlers_for
    from colsec.settings import Settings
    from colsec.web.ui.admin import JOB_KINDS

    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'n.db'}", secret_key="jobs-key"
    )
    assert set(handlers_for(settings)) == set(JOB_KINDS)
