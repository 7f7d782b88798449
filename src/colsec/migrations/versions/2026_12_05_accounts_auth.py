"""accounts: node operator flag, login throttle, server-side sessions, sharing-group owner

Revision ID: accounts_auth
Revises: foundation
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "accounts_auth"
down_revision = "foundation"
branch_labels = ("accounts",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("node_operator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Existing groups keep owner NULL: owned by the node operator until it hands them over.
    with op.batch_alter_table("sharing_group", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_org_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_sharing_group_owner_org_id_organisation"),
            "organisation",
            ["owner_org_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_sharing_group_owner_org_id"), ["owner_org_id"], unique=False)
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "source", name=op.f("pk_login_throttle")),
    )
    op.create_index(op.f("ix_login_throttle_updated_at"), "login_throttle", ["updated_at"], unique=False)
    op.create_table(
        "login_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_login_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_login_session")),
    )
    op.create_index(op.f("ix_login_session_user_id"), "login_session", ["user_id"], unique=False)
    op.create_index(op.f("ix_login_session_expires_at"), "login_session", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("login_session")
    op.drop_table("login_throttle")
    with op.batch_alter_table("sharing_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_group_owner_org_id"))
        batch_op.drop_constraint(batch_op.f("fk_sharing_group_owner_org_id_organisation"), type_="foreignkey")
        batch_op.drop_column("owner_org_id")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("node_operator")
