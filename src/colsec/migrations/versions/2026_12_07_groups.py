"""groups: working groups, meetings, papers, written procedures, decisions, action items

Also gives crisis lessons a status (recorded | implemented): a lesson is implemented when
the action item a group took on for it is verified by the chair.

Revision ID: groups
Revises: crisis_response
"""

import sqlalchemy as sa
from alembic import op

revision = "groups"
down_revision = "crisis_response"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=False),
        sa.Column("mandate_en", sa.Text(), nullable=False),
        sa.Column("mandate_ru", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("term_start", sa.Date(), nullable=True),
        sa.Column("term_end", sa.Date(), nullable=True),
        sa.Column("default_tlp", sa.SmallInteger(), nullable=False),
        sa.Column("chair_user_id", sa.Integer(), nullable=True),
        sa.Column("secretary_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chair_user_id"],
            ["user_account.id"],
            name=op.f("fk_groups_group_chair_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_group_parent_id_groups_group"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["secretary_user_id"],
            ["user_account.id"],
            name=op.f("fk_groups_group_secretary_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_group")),
        sa.UniqueConstraint("code", name=op.f("uq_groups_group_code")),
    )
    op.create_table(
        "groups_delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("deputy_user_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["deputy_user_id"],
            ["user_account.id"],
            name=op.f("fk_groups_delegation_deputy_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_delegation_group_id_groups_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_groups_delegation_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_delegation")),
    )
    op.create_index(op.f("ix_groups_delegation_group_id"), "groups_delegation", ["group_id"], unique=False)
    op.create_table(
        "groups_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("quorum_reached", sa.Boolean(), nullable=True),
        sa.Column("minutes_en", sa.Text(), nullable=False),
        sa.Column("minutes_ru", sa.Text(), nullable=False),
        sa.Column("comments_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes_draft_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invitations_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_meeting_group_id_groups_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_meeting")),
    )
    op.create_index(op.f("ix_groups_meeting_group_id"), "groups_meeting", ["group_id"], unique=False)
    op.create_table(
        "groups_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_member_group_id_groups_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_groups_member_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_member")),
        sa.UniqueConstraint(
            "group_id", "organisation_id", name=op.f("uq_groups_member_group_id_organisation_id")
        ),
    )
    op.create_index(op.f("ix_groups_member_group_id"), "groups_member", ["group_id"], unique=False)
    op.create_index(
        op.f("ix_groups_member_organisation_id"), "groups_member", ["organisation_id"], unique=False
    )
    op.create_table(
        "groups_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_person_group_id_groups_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_groups_person_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_groups_person_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_person")),
        sa.UniqueConstraint("group_id", "user_id", name=op.f("uq_groups_person_group_id_user_id")),
    )
    op.create_index(op.f("ix_groups_person_group_id"), "groups_person", ["group_id"], unique=False)
    op.create_table(
        "groups_procedure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_ru", sa.Text(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("eligible_count", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("agree_count", sa.Integer(), nullable=False),
        sa.Column("object_count", sa.Integer(), nullable=False),
        sa.Column("abstain_count", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_procedure_group_id_groups_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_procedure")),
    )
    op.create_index(op.f("ix_groups_procedure_group_id"), "groups_procedure", ["group_id"], unique=False)
    op.create_table(
        "groups_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["groups_meeting.id"],
            name=op.f("fk_groups_attendance_meeting_id_groups_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_groups_attendance_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_attendance")),
        sa.UniqueConstraint(
            "meeting_id", "organisation_id", name=op.f("uq_groups_attendance_meeting_id_organisation_id")
        ),
    )
    op.create_index(
        op.f("ix_groups_attendance_meeting_id"), "groups_attendance", ["meeting_id"], unique=False
    )
    op.create_table(
        "groups_decision",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_ru", sa.Text(), nullable=False),
        sa.Column("adopted_on", sa.Date(), nullable=False),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("procedure_id", sa.Integer(), nullable=True),
        sa.Column("positions", sa.Text(), nullable=False),
        sa.Column("paper_ids", sa.Text(), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_decision_group_id_groups_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["groups_meeting.id"],
            name=op.f("fk_groups_decision_meeting_id_groups_meeting"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["groups_procedure.id"],
            name=op.f("fk_groups_decision_procedure_id_groups_procedure"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_decision")),
        sa.UniqueConstraint("group_id", "year", "seq", name=op.f("uq_groups_decision_group_id_year_seq")),
        sa.UniqueConstraint("number", name=op.f("uq_groups_decision_number")),
    )
    op.create_index(
        "ix_groups_decision_group_adopted", "groups_decision", ["group_id", "adopted_on"], unique=False
    )
    op.create_table(
        "groups_procedure_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(length=10), nullable=False),
        sa.Column("option", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("cast_by", sa.String(length=80), nullable=False),
        sa.Column("by_deputy", sa.Boolean(), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_groups_procedure_answer_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["groups_procedure.id"],
            name=op.f("fk_groups_procedure_answer_procedure_id_groups_procedure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_procedure_answer")),
        sa.UniqueConstraint(
            "procedure_id",
            "organisation_id",
            name=op.f("uq_groups_procedure_answer_procedure_id_organisation_id"),
        ),
    )
    op.create_index(
        op.f("ix_groups_procedure_answer_procedure_id"),
        "groups_procedure_answer",
        ["procedure_id"],
        unique=False,
    )
    op.create_table(
        "groups_procedure_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_groups_procedure_member_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["groups_procedure.id"],
            name=op.f("fk_groups_procedure_member_procedure_id_groups_procedure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_procedure_member")),
        sa.UniqueConstraint(
            "procedure_id",
            "organisation_id",
            name=op.f("uq_groups_procedure_member_procedure_id_organisation_id"),
        ),
    )
    op.create_index(
        op.f("ix_groups_procedure_member_procedure_id"),
        "groups_procedure_member",
        ["procedure_id"],
        unique=False,
    )
    op.create_table(
        "groups_action_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("decision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("lesson_id", sa.Integer(), nullable=True),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=80), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["groups_decision.id"],
            name=op.f("fk_groups_action_item_decision_id_groups_decision"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_action_item_group_id_groups_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["crisis_lesson.id"],
            name=op.f("fk_groups_action_item_lesson_id_crisis_lesson"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["groups_meeting.id"],
            name=op.f("fk_groups_action_item_meeting_id_groups_meeting"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organisation.id"],
            name=op.f("fk_groups_action_item_owner_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["user_account.id"],
            name=op.f("fk_groups_action_item_owner_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_action_item")),
    )
    op.create_index("ix_groups_action_item_due", "groups_action_item", ["status", "due_on"], unique=False)
    op.create_index(op.f("ix_groups_action_item_group_id"), "groups_action_item", ["group_id"], unique=False)
    op.create_table(
        "groups_agenda_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("presenter", sa.String(length=200), nullable=False),
        sa.Column("decision_sought", sa.Text(), nullable=False),
        sa.Column("action_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_item_id"],
            ["groups_action_item.id"],
            name=op.f("fk_groups_agenda_item_action_item_id_groups_action_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["groups_meeting.id"],
            name=op.f("fk_groups_agenda_item_meeting_id_groups_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_agenda_item")),
    )
    op.create_index(
        op.f("ix_groups_agenda_item_meeting_id"), "groups_agenda_item", ["meeting_id"], unique=False
    )
    op.create_table(
        "groups_paper",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["groups_agenda_item.id"],
            name=op.f("fk_groups_paper_agenda_item_id_groups_agenda_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups_group.id"],
            name=op.f("fk_groups_paper_group_id_groups_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["groups_meeting.id"],
            name=op.f("fk_groups_paper_meeting_id_groups_meeting"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_paper")),
    )
    op.create_index(op.f("ix_groups_paper_group_id"), "groups_paper", ["group_id"], unique=False)
    op.create_table(
        "groups_paper_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["groups_paper.id"],
            name=op.f("fk_groups_paper_version_paper_id_groups_paper"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups_paper_version")),
        sa.UniqueConstraint("paper_id", "version", name=op.f("uq_groups_paper_version_paper_id_version")),
    )
    op.create_index(
        op.f("ix_groups_paper_version_paper_id"), "groups_paper_version", ["paper_id"], unique=False
    )
    with op.batch_alter_table("crisis_lesson") as batch:
        batch.add_column(sa.Column("status", sa.String(length=12), server_default="recorded", nullable=False))
        batch.add_column(sa.Column("implemented_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crisis_lesson") as batch:
        batch.drop_column("implemented_at")
        batch.drop_column("status")
    op.drop_index(op.f("ix_groups_paper_version_paper_id"), table_name="groups_paper_version")
    op.drop_table("groups_paper_version")
    op.drop_index(op.f("ix_groups_paper_group_id"), table_name="groups_paper")
    op.drop_table("groups_paper")
    op.drop_index(op.f("ix_groups_agenda_item_meeting_id"), table_name="groups_agenda_item")
    op.drop_table("groups_agenda_item")
    op.drop_index(op.f("ix_groups_action_item_group_id"), table_name="groups_action_item")
    op.drop_index("ix_groups_action_item_due", table_name="groups_action_item")
    op.drop_table("groups_action_item")
    op.drop_index(op.f("ix_groups_procedure_member_procedure_id"), table_name="groups_procedure_member")
    op.drop_table("groups_procedure_member")
    op.drop_index(op.f("ix_groups_procedure_answer_procedure_id"), table_name="groups_procedure_answer")
    op.drop_table("groups_procedure_answer")
    op.drop_index("ix_groups_decision_group_adopted", table_name="groups_decision")
    op.drop_table("groups_decision")
    op.drop_index(op.f("ix_groups_attendance_meeting_id"), table_name="groups_attendance")
    op.drop_table("groups_attendance")
    op.drop_index(op.f("ix_groups_procedure_group_id"), table_name="groups_procedure")
    op.drop_table("groups_procedure")
    op.drop_index(op.f("ix_groups_person_group_id"), table_name="groups_person")
    op.drop_table("groups_person")
    op.drop_index(op.f("ix_groups_member_organisation_id"), table_name="groups_member")
    op.drop_index(op.f("ix_groups_member_group_id"), table_name="groups_member")
    op.drop_table("groups_member")
    op.drop_index(op.f("ix_groups_meeting_group_id"), table_name="groups_meeting")
    op.drop_table("groups_meeting")
    op.drop_index(op.f("ix_groups_delegation_group_id"), table_name="groups_delegation")
    op.drop_table("groups_delegation")
    op.drop_table("groups_group")
