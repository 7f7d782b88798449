"""formats: tag vocabularies (MISP taxonomies and galaxies)

Revision ID: formats_vocabulary
Revises: formats_warninglists
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "formats_vocabulary"
down_revision = "formats_warninglists"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_vocabulary",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tag", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("namespace", sa.String(length=120), nullable=False),
        sa.Column("expanded", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("colour", sa.String(length=16), nullable=True),
        sa.Column("uuid", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_vocabulary")),
        sa.UniqueConstraint("tag", name=op.f("uq_tag_vocabulary_tag")),
    )
    op.create_index(op.f("ix_tag_vocabulary_namespace"), "tag_vocabulary", ["namespace"], unique=False)
    op.create_table(
        "tag_alias",
        sa.Column("alias", sa.String(length=512), nullable=False),
        sa.Column("tag_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tag_vocabulary.id"],
            name=op.f("fk_tag_alias_tag_id_tag_vocabulary"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alias", "tag_id", name=op.f("pk_tag_alias")),
    )


def downgrade() -> None:
    op.drop_table("tag_alias")
    op.drop_index(op.f("ix_tag_vocabulary_namespace"), table_name="tag_vocabulary")
    op.drop_table("tag_vocabulary")
