"""sent listings: one report row per (send medium, concession) for the sent vehicles

A send of 100,000 vehicles × 50 media wrote 5 million send_outcome rows, one per sent listing. The
sent listings now go in sent_listings, one row per medium and concession (about 10,000 a night);
send_outcome keeps only the decisions that were not sent, with their reasons (and loses the contact
columns, which only sent listings filled). Existing sent rows are
moved into sent_listings (and back on downgrade), one send medium at a time, so the bilans of the
retention period look the same after the upgrade.

Revision ID: 5e1d2c7a9b40
Revises: d085d7b2c3b2
Create Date: 2026-11-23 10:00:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1d2c7a9b40'
down_revision = 'd085d7b2c3b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sent_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('send_medium_id', sa.Integer(), nullable=False),
    sa.Column('concession_id', sa.Integer(), nullable=False),
    sa.Column('listing_count', sa.Integer(), nullable=False),
    sa.Column('vehicle_ids', sa.Text(), nullable=False),
    sa.Column('listings', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['send_run.id'], name=op.f('fk_sent_listings_run_id_send_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['send_medium_id'], ['send_medium.id'], name=op.f('fk_sent_listings_send_medium_id_send_medium'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_listings')),
    sa.UniqueConstraint('send_medium_id', 'concession_id', name='uq_sent_listings_medium_concession')
    )
    with op.batch_alter_table('sent_listings', schema=None) as batch_op:
        batch_op.create_index('ix_sent_listings_run_concession', ['run_id', 'concession_id'], unique=False)

    _move_sent_outcomes()
    # Only sent listings had a contact: the columns are empty now.
    with op.batch_alter_table('send_outcome', schema=None) as batch_op:
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')


def downgrade():
    with op.batch_alter_table('send_outcome', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=30), nullable=True))
    _restore_sent_outcomes()
    with op.batch_alter_table('sent_listings', schema=None) as batch_op:
        batch_op.drop_index('ix_sent_listings_run_concession')

    op.drop_table('sent_listings')


# The data steps use the encoding of models.send.encode_listings as it is at this revision (a
# migration must not import models that later change).

_outcome = sa.table('send_outcome', sa.column('id'), sa.column('run_id'), sa.column('send_medium_id'),
                    sa.column('vehicle_id'), sa.column('concession_id'), sa.column('publication_list_id'),
                    sa.column('outcome'), sa.column('reasons'), sa.column('rank'), sa.column('contact_name'),
                    sa.column('contact_phone'))
_sent = sa.table('sent_listings', sa.column('run_id'), sa.column('send_medium_id'), sa.column('concession_id'),
                 sa.column('listing_count'), sa.column('vehicle_ids'), sa.column('listings'))


def _encode(rows):
    table = {}
    index = [None if r.contact_name is None and r.contact_phone is None
             else table.setdefault((r.contact_name, r.contact_phone), len(table)) for r in rows]
    ids = "," + ",".join(str(r.vehicle_id) for r in rows) + ","
    return ids, json.dumps({"list": [r.publication_list_id for r in rows], "rank": [r.rank for r in rows],
                            "contact": index, "contacts": list(table)}, ensure_ascii=False, separators=(",", ":"))


def _move_sent_outcomes():
    bind = op.get_bind()
    media = bind.execute(sa.select(_outcome.c.send_medium_id).where(_outcome.c.outcome == 'sent')
                         .distinct()).scalars().all()
    for sm_id in media:
        rows = bind.execute(sa.select(_outcome).where(_outcome.c.send_medium_id == sm_id,
                                                      _outcome.c.outcome == 'sent')
                            .order_by(_outcome.c.concession_id, _outcome.c.publication_list_id,
                                      _outcome.c.rank, _outcome.c.vehicle_id)).all()
        by_concession = {}
        for r in rows:
            by_concession.setdefault(r.concession_id, []).append(r)
        values = []
        for concession_id, group in by_concession.items():
            ids, listings = _encode(group)
            values.append({"run_id": group[0].run_id, "send_medium_id": sm_id, "concession_id": concession_id,
                           "listing_count": len(group), "vehicle_ids": ids, "listings": listings})
        bind.execute(sa.insert(_sent), values)
        bind.execute(sa.delete(_outcome).where(_outcome.c.send_medium_id == sm_id, _outcome.c.outcome == 'sent'))


def _restore_sent_outcomes():
    bind = op.get_bind()
    for row in bind.execute(sa.select(_sent)).all():
        data = json.loads(row.listings)
        ids = [int(x) for x in row.vehicle_ids.strip(",").split(",") if x]
        people = data["contacts"]
        values = [{"run_id": row.run_id, "send_medium_id": row.send_medium_id, "vehicle_id": vid,
                   "concession_id": row.concession_id, "publication_list_id": list_id, "outcome": "sent",
                   "reasons": None, "rank": rank,
                   "contact_name": None if i is None else people[i][0],
                   "contact_phone": None if i is None else people[i][1]}
                  for vid, list_id, rank, i in zip(ids, data["list"], data["rank"], data["contact"])]
        if values:
            bind.execute(sa.insert(_outcome), values)
