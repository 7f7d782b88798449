"""crisis workspace: timeline events as codes with parameters, roles on a crisis, report reminders

Existing timeline rows are converted: the parameters are read back out of the English
sentence the older code wrote; a line that matches no known shape keeps its text as
``{"text": ...}`` and is shown as written.

Revision ID: crisis_workspace
Revises: crisis_response
"""

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "crisis_workspace"
down_revision = "crisis_response"
branch_labels = None
depends_on = None

_SHAPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "opened": (r"opened from incident\(s\) \[([\d, ]*)\], alert level (\d)", ("incidents", "level")),
    "alert_level": (r"alert level (\d) -> (\d)\s*(.*)", ("from", "to", "note")),
    "sitrep": (r"situation report (\d+): (.*)", ("number", "text")),
    "lesson": (r"(worked|failed|recommendation): (.*)", ("kind", "text")),
    "request.submitted": (
        r"request (\d+): (\d+) x (\S+) at (.*)",
        ("request", "quantity", "capability", "location"),
    ),
    "request.withdrawn": (r"request (\d+) withdrawn\s*(.*)", ("request", "note")),
    "consultation.opened": (
        r"consultation (\d+) on request (\d+) \((\w+), quorum (\d+), deadline (\S+)\)",
        ("consultation", "request", "rule", "quorum", "deadline"),
    ),
    "consultation.decided": (r"consultation (\d+): (\w+) \((.*)\)", ("consultation", "outcome", "reason")),
    "offer.offered": (
        r"(\S+) offers (\d+) x (\S+) \((.*)\) for request (\d+)",
        ("org", "quantity", "capability", "resource", "request"),
    ),
    "cap.issued": (r"CAP (\w+) (\S+)", ("msg_type", "identifier")),
    "cap.imported": (r"CAP (\w+) from (\S+): (.*)", ("msg_type", "sender", "event")),
}
_OFFER = (r"offer (\d+) \((\d+) units\) \w+", ("offer", "quantity"))
_STATES = ("active", "stabilising", "closed", "reviewed")
_NUMBERS = {"level", "from", "to", "number", "request", "quantity", "consultation", "quorum", "offer"}


def _params(kind: str, summary: str) -> dict[str, object]:
    if kind in _STATES:
        return {"note": "" if summary == f"crisis {kind}" else summary}
    shape = _OFFER if kind.startswith("offer.") and kind != "offer.offered" else _SHAPES.get(kind)
    m = re.fullmatch(shape[0], summary, re.S) if shape else None
    if shape is None or m is None:
        return {"text": summary}
    out: dict[str, object] = {}
    for name, value in zip(shape[1], m.groups(), strict=True):
        if name == "incidents":
            out[name] = [int(v) for v in value.split(",") if v.strip()]
        else:
            out[name] = int(value) if name in _NUMBERS else value
    return out


def upgrade() -> None:
    with op.batch_alter_table("crisis_event") as batch:
        batch.add_column(sa.Column("params", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("crisis") as batch:
        batch.add_column(sa.Column("sitrep_reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "crisis_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("assigned_by", sa.String(length=80), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crisis.id"], name=op.f("fk_crisis_role_crisis_id_crisis"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_crisis_role_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_crisis_role_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_role")),
        sa.UniqueConstraint(
            "crisis_id", "user_id", "role", name=op.f("uq_crisis_role_crisis_id_user_id_role")
        ),
    )
    op.create_index(op.f("ix_crisis_role_crisis_id"), "crisis_role", ["crisis_id"], unique=False)
    conn = op.get_bind()
    events = sa.table(
        "crisis_event", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("summary", sa.Text),
        sa.column("params", sa.Text),
    )  # fmt: skip
    rows = conn.execute(sa.select(events.c.id, events.c.kind, events.c.summary)).all()
    for row_id, kind, summary in rows:
        conn.execute(
            events.update()
            .where(events.c.id == row_id)
            .values(params=json.dumps(_params(kind, summary or ""), ensure_ascii=False))
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_crisis_role_crisis_id"), table_name="crisis_role")
    op.drop_table("crisis_role")
    with op.batch_alter_table("crisis") as batch:
        batch.drop_column("sitrep_reminded_at")
    with op.batch_alter_table("crisis_event") as batch:
        batch.drop_column("params")
