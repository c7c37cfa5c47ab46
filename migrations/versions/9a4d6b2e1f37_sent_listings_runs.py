"""sent listings keep list ids and ranks as runs

``models.send.encode_listings`` now writes a sent listings row's list ids and ranks as runs
(``{"v": 2, "list": [[id, count]], "rank": [[first, count]], …}``): a concession's 500 listings in
one list ranked 1…500 take a few characters instead of two lists of 500 numbers. The schema does not
change. Rows written before stay as they are (``decode_listings`` reads both). The downgrade writes
the runs back out as one value per listing, the only encoding the earlier revisions read.

Revision ID: 9a4d6b2e1f37
Revises: 7c3f9e1a2b58
Create Date: 2026-11-22 16:40:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a4d6b2e1f37'
down_revision = '7c3f9e1a2b58'
branch_labels = None
depends_on = None

# The data step uses the encodings as they are at this revision (a migration must not import models
# that later change).
_sent = sa.table('sent_listings', sa.column('id'), sa.column('listings'))


def upgrade():
    pass


def _one_value_per_listing(data: dict) -> dict:
    lists = [value for value, n in data["list"] for _ in range(n)]
    ranks = [r for first, n in data["rank"] for r in ([None] * n if first is None else range(first, first + n))]
    # Earlier revisions keep no null in "contacts": a listing without a contact has the index null.
    kept = [c for c in data["contacts"] if c is not None]
    new_index = {old: kept.index(c) for old, c in enumerate(data["contacts"]) if c is not None}
    index = [None if i is None else new_index.get(i) for i in data["contact"]]
    return {"list": lists, "rank": ranks, "contact": index, "contacts": kept}


def downgrade():
    bind = op.get_bind()
    rows = bind.execute(sa.select(_sent.c.id, _sent.c.listings).where(_sent.c.listings.like('{"v":2,%'))).all()
    for row_id, listings in rows:
        data = _one_value_per_listing(json.loads(listings))
        bind.execute(sa.update(_sent).where(_sent.c.id == row_id).values(
            listings=json.dumps(data, ensure_ascii=False, separators=(",", ":"))))
