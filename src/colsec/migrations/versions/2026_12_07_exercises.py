"""exercises: scenarios, runs, injects, expectations, notes; the run id on what a run creates

Revision ID: exercises
Revises: crisis_response, foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "exercises"
down_revision = ("crisis_response", "foundation")
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# Rows an exercise run creates carry its id; default reads leave them out.
STAMPED = ("stix_object", "crisis_incident", "crisis", "assistance_request", "consultation", "cap_alert",
           "crisis_notification")  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "exercise_scenario",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("title_ru", sa.String(length=200), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_scenario")),
        sa.UniqueConstraint("name", name=op.f("uq_exercise_scenario_name")),
    )
    op.create_table(
        "exercise_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("frozen", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("scheduled_start", TS, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("paused_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("controller_org_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["exercise_scenario.id"],
            name=op.f("fk_exercise_run_scenario_id_exercise_scenario"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["controller_org_id"],
            ["organisation.id"],
            name=op.f("fk_exercise_run_controller_org_id_organisation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_run")),
    )
    op.create_index(op.f("ix_exercise_run_scenario_id"), "exercise_run", ["scenario_id"])
    op.create_index(op.f("ix_exercise_run_status"), "exercise_run", ["status"])
    op.create_table(
        "exercise_inject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("offset_seconds", sa.Integer(), nullable=True),
        sa.Column("after_inject", sa.Integer(), nullable=True),
        sa.Column("after_expectation", sa.Integer(), nullable=True),
        sa.Column("condition", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target_org_id", sa.Integer(), nullable=True),
        sa.Column("target_role", sa.String(length=20), nullable=False),
        sa.Column("target_user", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=250), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("object_ref", sa.String(length=200), nullable=False),
        sa.Column("adhoc", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["exercise_run.id"],
            name=op.f("fk_exercise_inject_run_id_exercise_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_org_id"],
            ["organisation.id"],
            name=op.f("fk_exercise_inject_target_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_inject")),
        sa.UniqueConstraint("run_id", "number", name=op.f("uq_exercise_inject_run_id_number")),
    )
    op.create_index(op.f("ix_exercise_inject_run_id"), "exercise_inject", ["run_id"])
    op.create_index(op.f("ix_exercise_inject_due_at"), "exercise_inject", ["due_at"])
    op.create_index(op.f("ix_exercise_inject_status"), "exercise_inject", ["status"])
    op.create_table(
        "exercise_expectation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("inject_number", sa.Integer(), nullable=False),
        sa.Column("objective", sa.String(length=60), nullable=False),
        sa.Column("event", sa.String(length=80), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("within_seconds", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=40), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("override", sa.String(length=10), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.Column("override_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["exercise_run.id"],
            name=op.f("fk_exercise_expectation_run_id_exercise_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_exercise_expectation_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_expectation")),
        sa.UniqueConstraint("run_id", "number", name=op.f("uq_exercise_expectation_run_id_number")),
    )
    op.create_index(op.f("ix_exercise_expectation_run_id"), "exercise_expectation", ["run_id"])
    op.create_table(
        "exercise_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["exercise_run.id"],
            name=op.f("fk_exercise_note_run_id_exercise_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_note")),
    )
    op.create_index(op.f("ix_exercise_note_run_id"), "exercise_note", ["run_id"])
    for table in STAMPED:
        # a plain ADD COLUMN (nullable, no default): no table copy, even for a large store
        op.add_column(table, sa.Column("exercise_run_id", sa.Integer(), nullable=True))
        op.create_index(op.f(f"ix_{table}_exercise_run_id"), table, ["exercise_run_id"])


def downgrade() -> None:
    for table in STAMPED:
        op.drop_index(op.f(f"ix_{table}_exercise_run_id"), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("exercise_run_id")
    for table in (
        "exercise_note",
        "exercise_expectation",
        "exercise_inject",
        "exercise_run",
        "exercise_scenario",
    ):
        op.drop_table(table)
