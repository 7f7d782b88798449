"""Reading posted forms the same way on every page: fields, validation, the way back, the redirect.

A refused form is a ``ColsecError`` like any other; the UI's error page (``colsec.web.ui``)
renders it with a link back to the form when the route named one with ``back_on_error``.
Validation goes through the domain's own Pydantic schema, so a form accepts exactly what
the JSON API accepts; only the wording of the refusal is the page's: each problem is kept by
field and kind (``details["problems"]``) and ``explain`` words it in the reader's language,
naming the field by the label the form shows (``FIELD_LABELS``), never by its internal name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from colsec.errors import InvalidInput
from colsec.web.i18n import N_
from colsec.web.ui.refusals import phrase

__all__ = [
    "FIELD_LABELS",
    "back_on_error",
    "explain",
    "explain_document",
    "field",
    "form_problems",
    "local_next",
    "see_other",
    "validated",
    "when",
]

M = TypeVar("M", bound=BaseModel)


def field(form: FormData, name: str) -> str:
    """A text field, stripped; missing fields and uploads read as empty."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def when(value: str) -> str | None:
    """A ``datetime-local`` field (minutes, no zone) read as UTC; empty is None."""
    return value + ":00Z" if len(value) == 16 else (value or None)


# Form field names as the forms label them (the templates' own messages). A name labelled
# differently on one form is given that form's label by its route (``validated(labels=...)``).
FIELD_LABELS: dict[str, str] = {
    "actions": N_("Actions"),
    "agenda": N_("Agenda (one item per line)"),
    "alert_level": N_("Alert level"),
    "capability": N_("Capability"),
    "category": N_("Category"),
    "chair": N_("Chair"),
    "code": N_("Code"),
    "comment": N_("Comment (optional)"),
    "cpes": N_("Products (one per line)"),
    "criticality": N_("Criticality"),
    "deadline": N_("Deadline"),
    "decision_id": N_("Following the decision (optional)"),
    "deputy": N_("Deputy"),
    "description": N_("Description"),
    "domains": N_("Domains (one per line)"),
    "due_on": N_("Due"),
    "eligible_org_ids": N_("Members asked"),
    "ends_at": N_("Until (UTC)"),
    "function": N_("Role in the group"),
    "incident_ids": N_("Escalated incidents"),
    "ip_ranges": N_("IP ranges (one per line)"),
    "kind": N_("Kind"),
    "level": N_("Alert level"),
    "location": N_("Location"),
    "members": N_("Members"),
    "name": N_("Name"),
    "name_en": N_("Name (English)"),
    "name_ru": N_("Name (Russian)"),
    "needed_by": N_("Needed by"),
    "needs": N_("Needs"),
    "next_report_due": N_("Next report due"),
    "note": N_("Note"),
    "option": N_("Option"),
    "options": N_("Options, one per line (optional)"),
    "organisation": N_("Organisation"),
    "owner": N_("Owner"),
    "owner_organisation": N_("Owner organisation"),
    "owner_user": N_("Responsible person (username, optional)"),
    "place": N_("Place or link"),
    "quantity": N_("Quantity"),
    "question": N_("Question"),
    "quorum": N_("Quorum (empty: more than half)"),
    "readiness_hours": N_("Ready within, hours"),
    "representative": N_("Representative (username, optional)"),
    "resource_id": N_("Resource"),
    "rule": N_("Rule"),
    "secretary": N_("Secretary"),
    "sector": N_("Sector"),
    "severity": N_("Severity"),
    "size": N_("Size"),
    "stance": N_("Your answer"),
    "starts_at": N_("Start"),
    "summary": N_("Summary"),
    "text": N_("Lesson"),
    "text_en": N_("Decision text (English)"),
    "text_ru": N_("Decision text (Russian)"),
    "title": N_("Title"),
    "to": N_("Next step"),
    "tz": N_("Time zone"),
    "username": N_("User name"),
}
# A field the forms do not label (a page's address, a parameter a link set).
OTHER_FIELD = N_("A field of the form")
ADDRESS = N_("The page address")

# What is wrong, by Pydantic's error type; ``%(...)s`` take the constraint from the error.
_PROBLEMS: dict[str, str] = {
    "missing": N_("fill this in."),
    "string_too_short": N_("use at least %(min_length)s characters."),
    "string_too_long": N_("use at most %(max_length)s characters."),
    "too_short": N_("give at least %(min_length)s."),
    "too_long": N_("give at most %(max_length)s."),
    "int_parsing": N_("enter a whole number."),
    "int_type": N_("enter a whole number."),
    "int_from_float": N_("enter a whole number."),
    "float_parsing": N_("enter a number."),
    "float_type": N_("enter a number."),
    "decimal_parsing": N_("enter a number."),
    "greater_than_equal": N_("enter %(ge)s or more."),
    "greater_than": N_("enter more than %(gt)s."),
    "less_than_equal": N_("enter %(le)s or less."),
    "less_than": N_("enter less than %(lt)s."),
    "datetime_parsing": N_("enter a date and time."),
    "datetime_from_date_parsing": N_("enter a date and time."),
    "datetime_type": N_("enter a date and time."),
    "timezone_aware": N_("enter a date and time."),
    "date_parsing": N_("enter a date."),
    "date_from_datetime_parsing": N_("enter a date."),
    "date_from_datetime_inexact": N_("enter a date."),
    "date_type": N_("enter a date."),
    "enum": N_("choose one of the offered values."),
    "literal_error": N_("choose one of the offered values."),
    "bool_parsing": N_("choose yes or no."),
    "string_pattern_mismatch": N_("this is not in the expected form."),
    "url_parsing": N_("enter a web address."),
}
NOT_VALID = N_("this is not valid.")
_LIMITS = ("min_length", "max_length", "ge", "gt", "le", "lt")


def form_problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as the error page explains them: the field (as the form names it), the
    kind of problem, its limit, and Pydantic's own sentence for kinds with no wording of ours."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "form", "header", "cookie") else ""
        names = [p for p in loc[1:] if not p.isdigit()] if where else [p for p in loc if not p.isdigit()]
        ctx = {k: v for k, v in (e.get("ctx") or {}).items() if k in _LIMITS and isinstance(v, int | float)}
        out.append({"field": names[0] if names else "", "in": where, "type": str(e.get("type", "")),
                    "ctx": ctx, "msg": str(e.get("msg", ""))})  # fmt: skip
    return out


def validated(model: type[M], values: Mapping[str, Any], *, labels: Mapping[str, str] | None = None) -> M:
    """``values`` through the domain schema; every problem in the message (English, for the log)
    and in ``details`` (for the page), the first field named.  ``labels``: this form's own label
    of a field whose name other forms label differently."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in errors]
        detail = form_problems(errors)
        for p in detail:
            if labels and p["field"] in labels:
                p["label"] = labels[p["field"]]
        raise InvalidInput(
            "; ".join(f"{loc}: {msg}" for loc, msg in problems),
            details={"field": problems[0][0], "problems": detail},
        ) from None


def _label(problem: Mapping[str, Any]) -> str:
    if problem.get("label"):
        return str(problem["label"])
    if problem.get("in") == "path":
        return ADDRESS
    return FIELD_LABELS.get(str(problem.get("field", "")), OTHER_FIELD)


def explain(details: Any, gettext: Callable[[str], str]) -> list[tuple[str, str, str]]:
    """A refusal's problems in the reader's language, one per field: (label, what is wrong, and
    Pydantic's own English sentence where we have no wording of the kind, else "")."""
    if not isinstance(details, Mapping):
        return []
    problems = details.get("problems")
    if not isinstance(problems, list):
        name = details.get("field")
        return [(gettext(_label({"field": name})), gettext(NOT_VALID), "")] if isinstance(name, str) else []
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for p in problems:
        if not isinstance(p, Mapping):
            continue
        label = gettext(_label(p))
        kind = str(p.get("type", ""))
        if kind == "string_too_short" and (p.get("ctx") or {}).get("min_length") == 1:
            kind = "missing"  # an empty text field: Pydantic says "at least 1 character"
        if label in seen:
            continue
        seen.add(label)
        wording = _PROBLEMS.get(kind)
        if wording is None:
            out.append((label, gettext(NOT_VALID), str(p.get("msg", ""))))
            continue
        try:
            text = gettext(wording) % dict(p.get("ctx") or {})
        except (KeyError, TypeError, ValueError):
            text = gettext(NOT_VALID)
        out.append((label, text, ""))
    return out


# What is wrong inside an uploaded document (a scenario file), by the refusal's stable kind.
_DOCUMENT_PROBLEMS: dict[str, str] = {
    "file_too_large": N_("the file is larger than %(limit)s bytes."),
    "yaml_syntax": N_("the file is not valid YAML."),
    "yaml_syntax_at": N_("the file is not valid YAML: see line %(line)s, column %(column)s."),
    "json_syntax": N_("the file is not valid JSON."),
    "scenario_not_mapping": N_(
        "the file does not hold a scenario: its top level must be a mapping of fields."
    ),
    "scenario_target_empty": N_("a target names an organisation or a user."),
    "scenario_unknown_role": N_("unknown role “%(role)s”."),
    "scenario_after_one": N_("a dependency names exactly one inject or one expectation."),
    "scenario_inject_when": N_("an inject needs an offset or a dependency."),
    "scenario_injects_unique": N_("inject numbers must be unique."),
    "scenario_expectations_unique": N_("expectation numbers must be unique across the scenario."),
    "scenario_unknown_inject": N_(
        "inject %(inject)s depends on inject %(after)s, which the scenario does not have."
    ),
    "scenario_unknown_expectation": N_(
        "inject %(inject)s depends on expectation %(after)s, which the scenario does not have."
    ),
    "scenario_unknown_objective": N_(
        "expectation %(expectation)s names objective “%(objective)s”, which the scenario does not have."
    ),
    "msel_columns": N_("the first row of the MSEL must name its columns: %(expected)s."),
    "msel_cell": N_("row %(row)s, column “%(column)s” of the MSEL is not valid."),
    "msel_too_many_rows": N_("the MSEL has more than %(limit)s rows."),
    "msel_unreadable": N_("the MSEL is neither a readable UTF-8 CSV file nor an XLSX workbook."),
    "scenario_incident_category": N_(
        "inject %(inject)s: “%(category)s” is not an incident category (one of %(categories)s)."
    ),
}
# Kinds whose own sentence lists what is allowed (the channels, a pattern): shown beside ours.
_KEEP_ORIGINAL = {
    "enum", "literal_error", "string_pattern_mismatch", "json_syntax", "msel_columns", "msel_cell", "msel_unreadable",
}  # fmt: skip


def explain_document(
    details: Any, gettext: Callable[[str], str], lang: str = "en"
) -> list[tuple[str, str, str]]:
    """A refused file's problems in the reader's language: (where in the file, as its own keys with
    list items counted from 1; what is wrong; the parser's English sentence where it helps)."""
    problems = details.get("document_problems") if isinstance(details, Mapping) else None
    if not isinstance(problems, list):
        return []
    out: list[tuple[str, str, str]] = []
    for p in problems:
        if not isinstance(p, Mapping):
            continue
        place = " › ".join(str(x + 1) if isinstance(x, int) else str(x) for x in p.get("place") or ())
        kind = str(p.get("type", ""))
        wording = _DOCUMENT_PROBLEMS.get(kind) or _PROBLEMS.get(kind)
        original = str(p.get("msg", "")) if wording is None or kind in _KEEP_ORIGINAL else ""
        # names taken from the file (a category, a role, an objective) are data, not words to translate
        try:
            text = phrase(wording, dict(p.get("ctx") or {}), gettext, lang) if wording else gettext(NOT_VALID)
        except (KeyError, TypeError, ValueError):
            text = gettext(NOT_VALID)
        out.append((place, text, original))
    return out


def back_on_error(request: Request, path: str) -> None:
    """Where the error page's "back to the form" link leads if this post is refused."""
    request.state.error_back = path


def local_next(value: str, *, prefix: str, default: str) -> str:
    """A ``next`` field followed only within this node's ``prefix`` pages (never to another host)."""
    return value if value.startswith(prefix) and "//" not in value else default


def see_other(path: str) -> RedirectResponse:
    """After a successful post: the browser loads ``path`` with a GET (no re-post on reload)."""
    return RedirectResponse(path, status_code=303)
