"""Administration: organisations (node operator), users and API tokens (admins); peers are in federation.

An organisation admin sees and manages only its own organisation's accounts; the
accounts service enforces it, these views only render what it returns.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colsec.accounts import service as accounts
from colsec.accounts.roles import Actor, Role
from colsec.errors import Forbidden, InvalidInput
from colsec.store import audit
from colsec.web.deps import DbDep
from colsec.web.i18n import N_
from colsec.web.params import IdQuery
from colsec.web.ui.forms import field, see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page, require

__all__ = ["require_operator", "router"]

router = APIRouter(include_in_schema=False)

ROLES = [r for r in Role]
KINDS = ["member", "crisis_centre", "external"]


def require_operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise Forbidden("only the node operator may open this page", kind="operator_only")


@router.get("/admin/organisations", response_class=HTMLResponse)
def organisations(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    require_operator(actor)
    return page(
        request, "ui/admin_orgs.html", {"orgs": accounts.list_organisations(db), "kinds": KINDS}, actor=actor
    )


@router.post("/admin/organisations")
async def create_organisation(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require_operator(actor)
    form = await form_data(request)
    kind = field(form, "kind") or "member"
    accounts.create_organisation(
        db,
        actor=actor,
        name=field(form, "name"),
        short_name=field(form, "short_name"),
        country=field(form, "country").upper()[:3] or None,
        kind=kind,
    )
    return see_other("/admin/organisations")


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    require(actor)
    users = accounts.list_users(db, actor=actor)
    ctx = {"users": users, "orgs": accounts.organisations_by_id(db), "roles": ROLES, "new_token": None}
    return page(request, "ui/admin_users.html", ctx, actor=actor)


@router.post("/admin/users")
async def create_user(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require(actor)
    form = await form_data(request)
    org = accounts.get_managed_org(db, actor=actor, name=field(form, "org"))
    accounts.create_user(
        db,
        actor=actor,
        username=field(form, "username"),
        password=field(form, "password") or None,
        role=field(form, "role"),
        org=org,
        display_name=field(form, "display_name"),
        language=field(form, "language") or "en",
    )
    return see_other("/admin/users")


@router.post("/admin/users/{username}/active")
async def set_user_active(request: Request, db: WriteDb, actor: FormActor, username: str) -> Response:
    """Disable an account (its sessions and tokens stop at the next request) or enable it again."""
    require(actor)
    form = await form_data(request)
    user = accounts.get_managed_user(db, actor=actor, username=username)
    accounts.set_active(db, actor=actor, user=user, active=field(form, "active") == "1")
    return see_other("/admin/users")


@router.post("/admin/users/{username}/password")
async def reset_password(request: Request, db: WriteDb, actor: FormActor, username: str) -> Response:
    """An admin sets a user's new password (every session of the user ends); one's own is changed
    with the current password, through the API."""
    require(actor)
    form = await form_data(request)
    user = accounts.get_managed_user(db, actor=actor, username=username)
    if user.id == actor.user_id:
        raise InvalidInput(
            "change your own password with your current one (PUT /api/v1/users/<you>/password)",
            kind="own_password_via_profile",
        )
    accounts.set_password(db, actor=actor, user=user, password=str(form.get("password") or ""))
    return see_other("/admin/users")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    request: Request, db: DbDep, actor: PageActor, action: str = "", user: str = "", before: IdQuery = None
) -> HTMLResponse:
    """The audit log, newest first: every organisation's for the node operator, an organisation's own
    for its admins; the chain itself is checked by ``colsec audit verify``."""
    require(actor)
    if not actor.is_operator and actor.org_short_name is None:
        raise Forbidden(
            "an administrator without an organisation has no audit log to read",
            kind="audit_needs_organisation",
        )
    rows = audit.entries(
        db, organisation=None if actor.is_operator else actor.org_short_name, action=action.strip()[:80],
        actor=user.strip()[:120], before=before, limit=PAGE,
    )  # fmt: skip
    ctx = {"rows": rows, "action": action, "user": user, "older": rows[-1].id if len(rows) == PAGE else None}
    return page(request, "ui/admin_audit.html", ctx, actor=actor)


PAGE = 100


#: a job's state and kind as the jobs page names them (the stored values stay beside, for support)
JOB_STATES = {
    "queued": N_("queued"),
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "failed": N_("failed"),
}
JOB_KINDS = {
    "import": N_("Import"),
    "import.feed": N_("Feed import"),
    "taxii.add": N_("TAXII upload"),
    "intel.after_import": N_("Intelligence after an import"),
    "correlation.rebuild": N_("Correlation rebuild"),
    "intel.alert_escalation": N_("Alert escalation"),
    "federation.sync_due": N_("Federation: pulls due"),
    "federation.pull": N_("Federation: pull from a peer"),
    "crisis.tick": N_("Crisis deadlines"),
    "crisis.sitrep_reminders": N_("Situation report reminders"),
    "groups.sweep": N_("Working group deadlines"),
    "groups.digest": N_("Working group digest"),
    "reports.schedule": N_("Scheduled bulletins"),
    "exercise.deliver": N_("Exercise injects"),
    "store.analyze": N_("Database statistics"),
}


@router.get("/admin/jobs", response_class=HTMLResponse)
def jobs(request: Request, db: DbDep, actor: PageActor, status: str = "") -> HTMLResponse:
    """The newest background jobs (imports, post-import intelligence, pulls, deliveries): the
    organisation's own for its admins, every one for the node operator; a failed one says why."""
    from colsec.jobs import queue
    from colsec.jobs.models import JobStatus

    require(actor)
    states = [s.value for s in JobStatus]
    if status and status not in states:
        raise InvalidInput(
            f"unknown job state {status!r}: one of {', '.join(states)}",
            kind="filter_unknown",
            params={"value": status},
        )
    rows = [
        queue.to_dict(j)
        for j in queue.list_jobs(db, actor=actor, kind=None, status=status or None, limit=200)
    ]
    return page(
        request, "ui/admin_jobs.html",
        {"jobs": rows, "status": status, "states": states, "state_labels": JOB_STATES, "kind_labels": JOB_KINDS},
        actor=actor,
    )  # fmt: skip


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    require(actor)
    ctx = {
        "tokens": accounts.list_tokens(db, actor=actor),
        "users": accounts.list_users(db, actor=actor),
        "new_token": None,
    }
    return page(request, "ui/admin_tokens.html", ctx, actor=actor)


@router.post("/admin/tokens", response_class=HTMLResponse)
async def create_token(request: Request, db: WriteDb, actor: FormActor) -> HTMLResponse:
    """Create a token and show its value once (it is stored only as a hash)."""
    require(actor)
    form = await form_data(request)
    user = accounts.get_managed_user(db, actor=actor, username=field(form, "username"))
    value = accounts.create_token(db, actor=actor, user=user, name=field(form, "name") or "api")
    ctx = {
        "tokens": accounts.list_tokens(db, actor=actor),
        "users": accounts.list_users(db, actor=actor),
        "new_token": (user.username, value),
    }
    return page(request, "ui/admin_tokens.html", ctx, actor=actor)
