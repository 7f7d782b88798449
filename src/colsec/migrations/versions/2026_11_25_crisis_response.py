"""crisis response: incidents, crises, requests, consultations, resources, notifications, CAP alerts

Revision ID: crisis_response
Revises: foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "crisis_response"
down_revision = "foundation"
branch_labels = ("crisis",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("capability", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("readiness_hours", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_crisis_resource_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_resource")),
    )
    op.create_index(op.f("ix_crisis_resource_capability"), "crisis_resource", ["capability"], unique=False)
    op.create_index(
        op.f("ix_crisis_resource_organisation_id"), "crisis_resource", ["organisation_id"], unique=False
    )
    op.create_table(
        "crisis_webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_crisis_webhook_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_webhook")),
    )
    op.create_index(
        op.f("ix_crisis_webhook_organisation_id"), "crisis_webhook", ["organisation_id"], unique=False
    )
    op.create_table(
        "crisis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("alert_level", sa.SmallInteger(), nullable=False),
        sa.Column("lead_user_id", sa.Integer(), nullable=True),
        sa.Column("lead_username", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stabilising_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_report_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_user_id"],
            ["user_account.id"],
            name=op.f("fk_crisis_lead_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis")),
    )
    op.create_index(op.f("ix_crisis_status"), "crisis", ["status"], unique=False)
    op.create_table(
        "crisis_notification",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_status", sa.String(length=12), nullable=False),
        sa.Column("email_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_crisis_notification_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_crisis_notification_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_notification")),
    )
    op.create_index(
        op.f("ix_crisis_notification_email_status"), "crisis_notification", ["email_status"], unique=False
    )
    op.create_index(op.f("ix_crisis_notification_user_id"), "crisis_notification", ["user_id"], unique=False)
    op.create_table(
        "crisis_webhook_delivery",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["crisis_webhook.id"],
            name=op.f("fk_crisis_webhook_delivery_webhook_id_crisis_webhook"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_webhook_delivery")),
    )
    op.create_index(
        op.f("ix_crisis_webhook_delivery_status"), "crisis_webhook_delivery", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_crisis_webhook_delivery_webhook_id"), "crisis_webhook_delivery", ["webhook_id"], unique=False
    )
    op.create_table(
        "assistance_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("capability", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("needed_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_consultation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crisis.id"],
            name=op.f("fk_assistance_request_crisis_id_crisis"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_assistance_request_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistance_request")),
    )
    op.create_index(
        op.f("ix_assistance_request_crisis_id"), "assistance_request", ["crisis_id"], unique=False
    )
    op.create_index(
        op.f("ix_assistance_request_organisation_id"), "assistance_request", ["organisation_id"], unique=False
    )
    op.create_index(op.f("ix_assistance_request_status"), "assistance_request", ["status"], unique=False)
    op.create_table(
        "cap_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=250), nullable=False),
        sa.Column("sender", sa.String(length=250), nullable=False),
        sa.Column("sent", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("msg_type", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("event", sa.String(length=250), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crisis.id"], name=op.f("fk_cap_alert_crisis_id_crisis"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_cap_alert_organisation_id_organisation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cap_alert")),
        sa.UniqueConstraint("sender", "identifier", "sent", name=op.f("uq_cap_alert_sender_identifier_sent")),
    )
    op.create_index(op.f("ix_cap_alert_crisis_id"), "cap_alert", ["crisis_id"], unique=False)
    op.create_table(
        "crisis_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("organisation", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crisis.id"], name=op.f("fk_crisis_event_crisis_id_crisis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_event")),
    )
    op.create_index(op.f("ix_crisis_event_crisis_id"), "crisis_event", ["crisis_id"], unique=False)
    op.create_table(
        "crisis_incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stix_id", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("reported_by", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("sector", sa.String(length=60), nullable=False),
        sa.Column("critical_infrastructure", sa.Boolean(), nullable=False),
        sa.Column("stix_refs", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("triage_note", sa.Text(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crisis.id"],
            name=op.f("fk_crisis_incident_crisis_id_crisis"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_crisis_incident_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_incident")),
        sa.UniqueConstraint("stix_id", name=op.f("uq_crisis_incident_stix_id")),
    )
    op.create_index(op.f("ix_crisis_incident_crisis_id"), "crisis_incident", ["crisis_id"], unique=False)
    op.create_index(
        op.f("ix_crisis_incident_organisation_id"), "crisis_incident", ["organisation_id"], unique=False
    )
    op.create_index(op.f("ix_crisis_incident_status"), "crisis_incident", ["status"], unique=False)
    op.create_table(
        "crisis_lesson",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crisis.id"], name=op.f("fk_crisis_lesson_crisis_id_crisis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_lesson")),
    )
    op.create_index(op.f("ix_crisis_lesson_crisis_id"), "crisis_lesson", ["crisis_id"], unique=False)
    op.create_table(
        "situation_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("next_report_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crisis.id"],
            name=op.f("fk_situation_report_crisis_id_crisis"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_situation_report")),
        sa.UniqueConstraint("crisis_id", "number", name=op.f("uq_situation_report_crisis_id_number")),
    )
    op.create_index(op.f("ix_situation_report_crisis_id"), "situation_report", ["crisis_id"], unique=False)
    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("eligible_count", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("agree_count", sa.Integer(), nullable=False),
        sa.Column("object_count", sa.Integer(), nullable=False),
        sa.Column("abstain_count", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("chosen_option", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crisis.id"], name=op.f("fk_consultation_crisis_id_crisis"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["assistance_request.id"],
            name=op.f("fk_consultation_request_id_assistance_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation")),
    )
    op.create_index(op.f("ix_consultation_crisis_id"), "consultation", ["crisis_id"], unique=False)
    op.create_index(op.f("ix_consultation_deadline"), "consultation", ["deadline"], unique=False)
    op.create_index(op.f("ix_consultation_request_id"), "consultation", ["request_id"], unique=False)
    op.create_index(op.f("ix_consultation_status"), "consultation", ["status"], unique=False)
    op.create_table(
        "resource_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("demobilised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_resource_offer_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["assistance_request.id"],
            name=op.f("fk_resource_offer_request_id_assistance_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["crisis_resource.id"],
            name=op.f("fk_resource_offer_resource_id_crisis_resource"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_offer")),
    )
    op.create_index(op.f("ix_resource_offer_request_id"), "resource_offer", ["request_id"], unique=False)
    op.create_index(op.f("ix_resource_offer_resource_id"), "resource_offer", ["resource_id"], unique=False)
    op.create_index(op.f("ix_resource_offer_status"), "resource_offer", ["status"], unique=False)
    op.create_table(
        "consultation_delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("delegate_user_id", sa.Integer(), nullable=False),
        sa.Column("delegated_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_consultation_delegation_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delegate_user_id"],
            ["user_account.id"],
            name=op.f("fk_consultation_delegation_delegate_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_consultation_delegation_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_delegation")),
        sa.UniqueConstraint(
            "consultation_id",
            "organisation_id",
            name=op.f("uq_consultation_delegation_consultation_id_organisation_id"),
        ),
    )
    op.create_index(
        op.f("ix_consultation_delegation_consultation_id"),
        "consultation_delegation",
        ["consultation_id"],
        unique=False,
    )
    op.create_table(
        "consultation_member",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_consultation_member_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_consultation_member_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consultation_id", "organisation_id", name=op.f("pk_consultation_member")),
    )
    op.create_index(
        op.f("ix_consultation_member_organisation_id"),
        "consultation_member",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "consultation_position",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(length=10), nullable=False),
        sa.Column("option", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("cast_by", sa.String(length=80), nullable=False),
        sa.Column("delegated", sa.Boolean(), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_consultation_position_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_consultation_position_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_position")),
        sa.UniqueConstraint(
            "consultation_id",
            "organisation_id",
            name=op.f("uq_consultation_position_consultation_id_organisation_id"),
        ),
    )
    op.create_index(
        op.f("ix_consultation_position_consultation_id"),
        "consultation_position",
        ["consultation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("consultation_position")
    op.drop_table("consultation_member")
    op.drop_table("consultation_delegation")
    op.drop_table("resource_offer")
    op.drop_table("consultation")
    op.drop_table("situation_report")
    op.drop_table("crisis_lesson")
    op.drop_table("crisis_incident")
    op.drop_table("crisis_event")
    op.drop_table("cap_alert")
    op.drop_table("assistance_request")
    op.drop_table("crisis_webhook_delivery")
    op.drop_table("crisis_notification")
    op.drop_table("crisis")
    op.drop_table("crisis_webhook")
    op.drop_table("crisis_resource")
