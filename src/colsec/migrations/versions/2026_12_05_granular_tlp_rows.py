"""store: a row whose granular markings name a stricter TLP than its own takes that TLP

Rows written before the write gate applied granular markings carry only their
object-level TLP, so a property marked TLP:RED was served with the object.  Raising
them once makes the stored rows agree with ``colsec.store.policy.restricted_tlp``.

Revision ID: store_granular_tlp_rows
Revises: foundation
Create Date: 2026-12-05
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "store_granular_tlp_rows"
down_revision = "foundation"
branch_labels = None
depends_on = None

# TLP marking-definition ids (2.0 and 1.0) → level, frozen here: a migration must not change
# when the code it was written against does.
_LEVELS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": 0,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": 1,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": 2,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": 3,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": 4,
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": 0,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": 1,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": 2,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": 4,
}
_BATCH = 1000


def _granular_level(body: str) -> int | None:
    try:
        marks = json.loads(body).get("granular_markings")
    except (ValueError, AttributeError):
        return None
    if not isinstance(marks, list):
        return None
    levels = [
        _LEVELS[m["marking_ref"]]
        for m in marks
        if isinstance(m, dict) and isinstance(m.get("marking_ref"), str) and m["marking_ref"] in _LEVELS
    ]
    return max(levels) if levels else None


def upgrade() -> None:
    conn = op.get_bind()
    t = sa.table("stix_object", sa.column("seq", sa.BigInteger), sa.column("tlp", sa.SmallInteger),
                 sa.column("body", sa.Text))  # fmt: skip
    last = 0
    while True:
        rows = conn.execute(
            sa.select(t.c.seq, t.c.tlp, t.c.body)
            .where(t.c.seq > last, t.c.body.like('%"granular_markings"%'))
            .order_by(t.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for seq, tlp, body in rows:
            level = _granular_level(body)
            if level is not None and level > tlp:
                conn.execute(sa.update(t).where(t.c.seq == seq).values(tlp=level))
        last = rows[-1][0]


def downgrade() -> None:
    # Restricting is not undone: widening a marking is for the object's owner to decide.
    pass
