"""The crisis verbs in one place: routes and commands import from here.

Every verb takes the session first and the acting ``Actor`` as a keyword, checks role
and organisation, moves state with a conditional UPDATE, writes the audit row and
queues notifications in the caller's transaction; the outbox's workers deliver them.
"""

from __future__ import annotations

from colsec.crisis.consultation import (
    eligible_org_ids,
    get_consultation,
    list_consultations,
    list_positions,
    open_consultation,
    post_position,
    submit_for_consultation,
)
from colsec.crisis.crises import (
    add_lesson,
    add_sitrep,
    advance_crisis,
    get_crisis,
    list_crises,
    list_lessons,
    list_sitreps,
    open_crisis,
    search_lessons,
    set_alert_level,
    timeline,
)
from colsec.crisis.deadlines import close_due, send_reminders
from colsec.crisis.delegation import delegate
from colsec.crisis.incident import (
    close_incident,
    escalate_incident,
    get_incident,
    list_incidents,
    report_incident,
    triage_incident,
)
from colsec.crisis.metrics import crisis_metrics
from colsec.crisis.requests import (
    create_request,
    get_request,
    list_requests,
    submit_request,
    withdraw_request,
)
from colsec.crisis.resources import (
    advance_offer,
    coverage,
    crisis_coverage,
    get_offer,
    list_offers,
    list_resources,
    make_offer,
    register_resource,
)
from colsec.crisis.staff import assign_role, list_roles, remove_role

__all__ = [
    "add_lesson",
    "add_sitrep",
    "advance_crisis",
    "advance_offer",
    "assign_role",
    "close_due",
    "close_incident",
    "coverage",
    "create_request",
    "crisis_coverage",
    "crisis_metrics",
    "delegate",
    "eligible_org_ids",
    "escalate_incident",
    "get_consultation",
    "get_crisis",
    "get_incident",
    "get_offer",
    "get_request",
    "list_consultations",
    "list_crises",
    "list_incidents",
    "list_lessons",
    "list_offers",
    "list_positions",
    "list_requests",
    "list_resources",
    "list_roles",
    "list_sitreps",
    "make_offer",
    "open_consultation",
    "open_crisis",
    "post_position",
    "register_resource",
    "remove_role",
    "report_incident",
    "search_lessons",
    "send_reminders",
    "set_alert_level",
    "submit_for_consultation",
    "submit_request",
    "timeline",
    "triage_incident",
    "withdraw_request",
]
