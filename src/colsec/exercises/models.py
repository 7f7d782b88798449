"""Exercise tables: a scenario (the document, kept as JSON), its runs with a frozen copy, and a run's
injects, expectations and controller notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, utcnow

__all__ = [
    "ExerciseExpectation",
    "ExerciseInject",
    "ExerciseNote",
    "ExerciseRun",
    "ExerciseScenario",
    "ref",
    "ref_id",
]

TS = DateTime(timezone=True)


class ExerciseScenario(Base):
    """A scenario as written by its authors; runs copy ``document`` when they are created."""

    __tablename__ = "exercise_scenario"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_ru: Mapped[str] = mapped_column(String(200), default="")
    document: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class ExerciseRun(Base):
    """One play of a scenario: its clock, state and the frozen scenario it plays."""

    __tablename__ = "exercise_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_scenario.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    frozen: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="scheduled", index=True)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    scheduled_start: Mapped[datetime | None] = mapped_column(TS)
    started_at: Mapped[datetime | None] = mapped_column(TS)
    paused_at: Mapped[datetime | None] = mapped_column(TS)
    ended_at: Mapped[datetime | None] = mapped_column(TS)
    reviewed_at: Mapped[datetime | None] = mapped_column(TS)
    crisis_id: Mapped[int | None] = mapped_column(Integer)  # the run's own exercise crisis, when needed
    controller_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class ExerciseInject(Base):
    """One inject of a run: when it is due (wall clock), what it is, what it created."""

    __tablename__ = "exercise_inject"
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("exercise_run.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    offset_seconds: Mapped[int | None] = mapped_column(Integer)
    after_inject: Mapped[int | None] = mapped_column(Integer)
    after_expectation: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(20), default="")  # answered | missed
    channel: Mapped[str] = mapped_column(String(20))
    target_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    target_role: Mapped[str] = mapped_column(String(20), default="")
    target_user: Mapped[str] = mapped_column(String(80), default="")
    title: Mapped[str] = mapped_column(String(250))
    content: Mapped[str] = mapped_column(Text, default="{}")
    due_at: Mapped[datetime | None] = mapped_column(TS, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(TS)
    object_ref: Mapped[str] = mapped_column(String(200), default="")
    adhoc: Mapped[bool] = mapped_column(default=False)


class ExerciseExpectation(Base):
    """An expected action: the audit event an organisation should record after an inject."""

    __tablename__ = "exercise_expectation"
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("exercise_run.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    inject_number: Mapped[int] = mapped_column(Integer)
    objective: Mapped[str] = mapped_column(String(60), default="")
    event: Mapped[str] = mapped_column(String(80))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), default="")
    within_seconds: Mapped[int] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(40), default="")
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    override: Mapped[str | None] = mapped_column(String(10))  # met | late | missed
    override_reason: Mapped[str] = mapped_column(Text, default="")
    override_by: Mapped[str] = mapped_column(String(80), default="")


class ExerciseNote(Base):
    """A controller's or umpire's note on the run, and lessons (worked / failed / recommendation)."""

    __tablename__ = "exercise_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("exercise_run.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="note")  # note | worked | failed | recommendation
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120), default="")
    author: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(TS, default=utcnow)


def ref(table: type[ExerciseScenario | ExerciseRun | ExerciseInject], row_id: int) -> str:
    """How audit rows and inject references name an exercise row (``exercise_run:7``).

    Scoring finds acknowledgements by this name, so the writer and the reader share it.
    """
    return f"{table.__tablename__}:{row_id}"


def ref_id(name: str) -> int:
    """The row id in a name made by ``ref``."""
    return int(name.rsplit(":", 1)[1])
