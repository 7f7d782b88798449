"""object_links: which relationship and sighting versions point at an object id (object pages)

Revision ID: object_links
Revises: foundation
Create Date: 2026-12-07
"""

import orjson
import sqlalchemy as sa
from alembic import op

revision = "object_links"
down_revision = "foundation"
branch_labels = None
depends_on = None

BATCH = 2000
LINK_KEYS = ("source_ref", "target_ref", "sighting_of_ref")  # as colsec.store.textindex.link_rows


def upgrade() -> None:
    op.create_table(
        "object_link",
        sa.Column("ref_id", sa.String(length=120), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["stix_object.seq"], name=op.f("fk_object_link_seq_stix_object"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ref_id", "seq", name=op.f("pk_object_link")),
    )
    with op.batch_alter_table("object_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_object_link_seq"), ["seq"], unique=False)
    bind = op.get_bind()
    insert = sa.text("INSERT INTO object_link (ref_id, seq) VALUES (:ref_id, :seq)")
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT seq, body FROM stix_object WHERE type IN ('relationship', 'sighting') AND seq > :last "
                "ORDER BY seq LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        links: set[tuple[str, int]] = set()
        for seq, body in rows:
            obj = orjson.loads(body)
            links.update(
                (obj[k], seq) for k in LINK_KEYS if isinstance(obj.get(k), str) and len(obj[k]) <= 120
            )
        if links:
            bind.execute(insert, [{"ref_id": r, "seq": s} for r, s in sorted(links)])
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table("object_link")
