"""The crisis service is imported by the web UI and the CLI: its public names are a contract."""

from __future__ import annotations

from colsec.crisis import service

EXPECTED = {
    "add_lesson", "add_sitrep", "advance_crisis", "advance_offer", "assign_role", "list_roles", "remove_role", "submit_for_consultation", "close_due", "close_incident", "coverage",
    "create_request", "crisis_coverage", "crisis_metrics", "delegate", "eligible_org_ids", "escalate_incident",
    "get_consultation", "get_crisis", "get_incident", "get_offer", "get_request", "list_consultations", "list_crises",
    "list_incidents", "list_lessons", "list_offers", "list_positions", "list_requests", "list_resources",
    "list_sitreps", "make_offer", "open_consultation", "open_crisis", "post_position", "register_resource",
    "report_incident", "search_lessons", "send_reminders", "set_alert_level", "submit_request", "timeline", "triage_incident",
    "withdraw_request",
}  # fmt: skip


def test_service_exports() -> None:
    assert set(service.__all__) == EXPECTED
    assert list(service.__all__) == sorted(service.__all__)
    for name in service.__all__:
        assert callable(getattr(service, name)), name
