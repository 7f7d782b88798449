"""The scenario document: what is played, to whom, through which channel, and what is expected back.

One pydantic model is the contract for the YAML file, the API body and the MSEL rows, so a
scenario refused in one form is refused in all, with the place of the problem named.  A refusal
also carries each problem as data (``details["document_problems"]``: where in the file, a stable
kind, its numbers) so a page can word it in the reader's language.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor, Role
from colsec.crisis.schemas import CategoryName
from colsec.errors import Conflict, InvalidInput, NotFound, TooLarge
from colsec.exercises.models import ExerciseScenario, ref
from colsec.store import audit

__all__ = [
    "Channel",
    "Expectation",
    "Inject",
    "Scenario",
    "create_scenario",
    "dump_yaml",
    "get_scenario",
    "list_scenarios",
    "load_json",
    "load_yaml",
    "model_of",
    "parse_scenario",
    "require_author",
    "scenario_document",
]

MAX_YAML_BYTES = 5 * 1024 * 1024


class Channel(StrEnum):
    INCIDENT = "incident"
    REQUEST = "request"
    CONSULTATION = "consultation"
    CAP = "cap"
    STIX = "stix"
    MESSAGE = "message"
    EMAIL = "email"
    WEBHOOK = "webhook"


class Condition(StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"


class Text(BaseModel):
    en: str = Field(min_length=1, max_length=20_000)
    ru: str = Field(default="", max_length=20_000)


class Objective(BaseModel):
    key: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_-]+$")
    title: Text
    weight: float = Field(default=1.0, gt=0, le=1000)


class Participant(BaseModel):
    org: str = Field(min_length=1, max_length=40)
    role: Role = Role.REPRESENTATIVE


class Target(BaseModel):
    org: str = Field(default="", max_length=40)  # "" with a user; "*" = every participant
    role: str = Field(default="", max_length=20)
    user: str = Field(default="", max_length=80)

    @model_validator(mode="after")
    def _some(self) -> Target:
        if not self.org and not self.user:
            raise PydanticCustomError("scenario_target_empty", "a target names an organisation or a user")
        if self.role and self.role not in {r.value for r in Role}:
            raise PydanticCustomError("scenario_unknown_role", "unknown role '{role}'", {"role": self.role})
        return self


class After(BaseModel):
    """A dependency: after inject N is answered, or if expectation N was missed."""

    inject: int | None = Field(default=None, ge=1)
    expectation: int | None = Field(default=None, ge=1)
    condition: Condition

    @model_validator(mode="after")
    def _one(self) -> After:
        if (self.inject is None) == (self.expectation is None):
            raise PydanticCustomError(
                "scenario_after_one", "a dependency names exactly one inject or one expectation"
            )
        return self


class Expectation(BaseModel):
    number: int = Field(ge=1)
    event: str = Field(min_length=1, max_length=80, pattern=r"^[a-z][a-z0-9_.]*$")
    org: str = Field(default="", max_length=40)  # "" = the inject's target organisation
    role: str = Field(default="", max_length=20)
    within: int = Field(ge=1, le=90 * 86400)  # seconds after delivery
    objective: str = Field(default="", max_length=60)
    condition: str = Field(default="", max_length=40)
    weight: float = Field(default=1.0, gt=0, le=1000)


class Inject(BaseModel):
    number: int = Field(ge=1)
    offset: int | None = Field(
        default=None, ge=0, le=90 * 86400
    )  # seconds from start (or after the dependency)
    after: After | None = None
    target: Target
    channel: Channel
    type: str = Field(default="", max_length=40)
    title: str = Field(min_length=1, max_length=250)
    content: str = Field(default="", max_length=100_000)
    params: dict[str, Any] = Field(default_factory=dict)
    expects: list[Expectation] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _when(self) -> Inject:
        if self.offset is None and self.after is None:
            raise PydanticCustomError("scenario_inject_when", "an inject has an offset or a dependency")
        return self


class Scenario(BaseModel):
    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
    title: Text
    narrative: Text = Field(default_factory=lambda: Text(en="-"))
    objectives: list[Objective] = Field(default_factory=list, max_length=100)
    participants: list[Participant] = Field(default_factory=list, max_length=500)
    injects: list[Inject] = Field(default_factory=list, max_length=5000)

    @field_validator("injects")
    @classmethod
    def _sorted(cls, v: list[Inject]) -> list[Inject]:
        return sorted(v, key=lambda i: i.number)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        numbers = [i.number for i in self.injects]
        if len(set(numbers)) != len(numbers):
            raise PydanticCustomError("scenario_injects_unique", "inject numbers must be unique")
        expectations = [e.number for i in self.injects for e in i.expects]
        if len(set(expectations)) != len(expectations):
            raise PydanticCustomError(
                "scenario_expectations_unique", "expectation numbers must be unique across the scenario"
            )
        keys = {o.key for o in self.objectives}
        categories = [c.value for c in CategoryName]
        for i in self.injects:
            if i.channel == Channel.INCIDENT and i.type and i.type not in categories:
                # caught here, not when the run's clock delivers it: a failed inject mid-exercise
                raise PydanticCustomError(
                    "scenario_incident_category",
                    "inject {inject}: '{category}' is no incident category (one of {categories})",
                    {"inject": i.number, "category": i.type, "categories": ", ".join(categories)},
                )
            if i.after and i.after.inject is not None and i.after.inject not in numbers:
                raise PydanticCustomError(
                    "scenario_unknown_inject",
                    "inject {inject} depends on unknown inject {after}",
                    {"inject": i.number, "after": i.after.inject},
                )
            if i.after and i.after.expectation is not None and i.after.expectation not in expectations:
                raise PydanticCustomError(
                    "scenario_unknown_expectation",
                    "inject {inject} depends on unknown expectation {after}",
                    {"inject": i.number, "after": i.after.expectation},
                )
            for e in i.expects:
                if e.objective and e.objective not in keys:
                    raise PydanticCustomError(
                        "scenario_unknown_objective",
                        "expectation {expectation} names unknown objective '{objective}'",
                        {"expectation": e.number, "objective": e.objective},
                    )
        return self


def _where(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(x) for x in e["loc"]) or "scenario"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def _problem(kind: str, msg: str, *, place: list[str | int] | None = None, **ctx: Any) -> dict[str, Any]:
    """One problem of a refused file as data: where (keys and list positions), a stable kind, its numbers."""
    return {"place": place or [], "type": kind, "ctx": ctx, "msg": msg}


def _problems(err: ValidationError) -> list[dict[str, Any]]:
    out = []
    for e in err.errors()[:5]:
        ctx = {k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, int | float | str)}
        out.append(_problem(e["type"], e["msg"], place=list(e["loc"]), **ctx))
    return out


def parse_scenario(data: Any) -> Scenario:
    """A validated scenario from plain data, or ``InvalidInput`` naming where it is wrong."""
    if not isinstance(data, dict):
        msg = "a scenario is a mapping (name, title, narrative, objectives, participants, injects)"
        raise InvalidInput(msg, details={"document_problems": [_problem("scenario_not_mapping", msg)]})
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise InvalidInput(
            f"invalid scenario: {_where(err)}", details={"document_problems": _problems(err)}
        ) from None


def _too_large(limit: int) -> InvalidInput:
    msg = f"scenario file larger than {limit} bytes"
    return InvalidInput(msg, details={"document_problems": [_problem("file_too_large", msg, limit=limit)]})


def load_yaml(text: bytes | str) -> Scenario:
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_YAML_BYTES:
        raise _too_large(MAX_YAML_BYTES)
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        msg = f"not valid YAML{where}"
        problem = (
            _problem("yaml_syntax_at", msg, line=mark.line + 1, column=mark.column + 1)
            if mark
            else _problem("yaml_syntax", msg)
        )
        raise InvalidInput(msg, details={"document_problems": [problem]}) from None
    return parse_scenario(data)


def load_json(raw: bytes, *, max_bytes: int = MAX_YAML_BYTES) -> Scenario:
    """A scenario from a JSON file, refused as a YAML file is (the same problems as data)."""
    from colsec.jsonutil import loads

    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    try:
        data = loads(raw, what="scenario file")
    except (InvalidInput, TooLarge) as err:
        details = {"document_problems": [_problem("json_syntax", err.message)]}
        raise type(err)(err.message, details=details) from None
    return parse_scenario(data)


def scenario_document(s: Scenario) -> dict[str, Any]:
    return s.model_dump(mode="json", exclude_none=True)


def dump_yaml(s: Scenario) -> str:
    return str(yaml.safe_dump(scenario_document(s), allow_unicode=True, sort_keys=False))


def create_scenario(
    db: Session, *, actor: Actor, scenario: Scenario, replace: bool = False
) -> ExerciseScenario:
    """Store a scenario (coordinators and admins of the crisis centre write scenarios)."""
    require_author(db, actor)
    row = db.execute(
        select(ExerciseScenario).where(ExerciseScenario.name == scenario.name)
    ).scalar_one_or_none()
    if row is not None and not replace:
        raise Conflict(
            f"a scenario named {scenario.name!r} exists",
            kind="scenario_name_taken",
            params={"name": scenario.name},
        )
    if row is None:
        row = ExerciseScenario(name=scenario.name, created_by=actor.username, document="{}", title_en="")
        db.add(row)
    row.title_en = scenario.title.en[:200]
    row.title_ru = scenario.title.ru[:200]
    row.document = _json(scenario)
    db.flush()
    audit.record(
        db, actor=actor, action="exercise.scenario.save", target=ref(ExerciseScenario, row.id),
        details={"name": scenario.name, "injects": len(scenario.injects)},
    )  # fmt: skip
    return row


def require_author(db: Session, actor: Actor) -> None:
    """Who may write scenarios; a page asks it before reading an upload, so a refused role learns
    nothing about its file."""
    from colsec.crisis.access import require_centre

    require_centre(db, actor, doing="write exercise scenarios")


def _json(s: Scenario) -> str:
    return s.model_dump_json(exclude_none=True)


def get_scenario(db: Session, *, scenario_id: int) -> ExerciseScenario:
    row = db.get(ExerciseScenario, scenario_id)
    if row is None:
        raise NotFound(
            f"scenario {scenario_id} not found", kind="scenario_not_found", params={"scenario": scenario_id}
        )
    return row


def list_scenarios(db: Session) -> list[ExerciseScenario]:
    return list(db.execute(select(ExerciseScenario).order_by(ExerciseScenario.id)).scalars())


def model_of(row: ExerciseScenario) -> Scenario:
    return Scenario.model_validate_json(row.document)
