"""not sent listings: one report row per (send medium, concession, list, outcome, reasons)

A send of 100,000 vehicles × 50 media still wrote about 300,000 send_outcome rows, one per decision
not sent, and PostgreSQL spent about 6 s of CPU on their COPY (indexes and two foreign-key triggers
per row). Those decisions share few reasons: they fall into about 12,000 groups of (send medium,
concession, publication list, outcome, reasons). not_sent_listings holds one row per group with the
vehicle ids (",12,15,18," in rank order: rank ascending, no rank last, then vehicle id) and their
ranks (",3,,7,", NULL when none has a rank). Existing send_outcome rows are packed into it, one send
medium at a time, then send_outcome is dropped; the downgrade recreates send_outcome and unpacks the
rows back, so the bilans of the retention period look the same either way.

Revision ID: 7c3f9e1a2b58
Revises: 5e1d2c7a9b40
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c3f9e1a2b58'
down_revision = '5e1d2c7a9b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('not_sent_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('send_medium_id', sa.Integer(), nullable=False),
    sa.Column('concession_id', sa.Integer(), nullable=False),
    sa.Column('publication_list_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('listing_count', sa.Integer(), nullable=False),
    sa.Column('vehicle_ids', sa.Text(), nullable=False),
    sa.Column('ranks', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['send_run.id'], name=op.f('fk_not_sent_listings_run_id_send_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['send_medium_id'], ['send_medium.id'], name=op.f('fk_not_sent_listings_send_medium_id_send_medium'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_not_sent_listings'))
    )
    with op.batch_alter_table('not_sent_listings', schema=None) as batch_op:
        batch_op.create_index('ix_not_sent_listings_medium_outcome', ['send_medium_id', 'outcome'], unique=False)
        batch_op.create_index('ix_not_sent_listings_run_concession', ['run_id', 'concession_id'], unique=False)

    _pack_outcomes()
    with op.batch_alter_table('send_outcome', schema=None) as batch_op:
        batch_op.drop_index('ix_send_outcome_run_vehicle')
        batch_op.drop_index('ix_send_outcome_run_concession')
        batch_op.drop_index('ix_send_outcome_medium_outcome')

    op.drop_table('send_outcome')


def downgrade():
    op.create_table('send_outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('send_medium_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('concession_id', sa.Integer(), nullable=False),
    sa.Column('publication_list_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['send_run.id'], name=op.f('fk_send_outcome_run_id_send_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['send_medium_id'], ['send_medium.id'], name=op.f('fk_send_outcome_send_medium_id_send_medium'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_send_outcome'))
    )
    with op.batch_alter_table('send_outcome', schema=None) as batch_op:
        batch_op.create_index('ix_send_outcome_medium_outcome', ['send_medium_id', 'outcome'], unique=False)
        batch_op.create_index('ix_send_outcome_run_concession', ['run_id', 'concession_id'], unique=False)
        batch_op.create_index('ix_send_outcome_run_vehicle', ['run_id', 'vehicle_id'], unique=False)

    _unpack_outcomes()
    with op.batch_alter_table('not_sent_listings', schema=None) as batch_op:
        batch_op.drop_index('ix_not_sent_listings_run_concession')
        batch_op.drop_index('ix_not_sent_listings_medium_outcome')

    op.drop_table('not_sent_listings')


# The data steps use the encoding of models.send.pack_not_sent / decode_not_sent as it is at this
# revision (a migration must not import models that later change).

_outcome = sa.table('send_outcome', sa.column('id'), sa.column('run_id'), sa.column('send_medium_id'),
                    sa.column('vehicle_id'), sa.column('concession_id'), sa.column('publication_list_id'),
                    sa.column('outcome'), sa.column('reasons'), sa.column('rank'))
_packed = sa.table('not_sent_listings', sa.column('id'), sa.column('run_id'), sa.column('send_medium_id'),
                   sa.column('concession_id'), sa.column('publication_list_id'), sa.column('outcome'),
                   sa.column('reasons'), sa.column('listing_count'), sa.column('vehicle_ids'), sa.column('ranks'))


def _pack_outcomes():
    bind = op.get_bind()
    media = bind.execute(sa.select(_outcome.c.send_medium_id).distinct()).scalars().all()
    for sm_id in media:
        # Groups in order of their first row, so the packed rows keep the order the rows were written in.
        groups = {}
        for r in bind.execute(sa.select(_outcome).where(_outcome.c.send_medium_id == sm_id)
                              .order_by(_outcome.c.id)).all():
            key = (r.run_id, r.concession_id, r.publication_list_id, r.outcome, r.reasons)
            groups.setdefault(key, []).append((r.vehicle_id, r.rank))
        values = []
        for (run_id, concession_id, list_id, outcome, reasons), items in groups.items():
            items.sort(key=lambda x: (x[1] is None, x[1] or 0, x[0]))
            ranks = [rank for _, rank in items]
            values.append({"run_id": run_id, "send_medium_id": sm_id, "concession_id": concession_id,
                           "publication_list_id": list_id, "outcome": outcome, "reasons": reasons,
                           "listing_count": len(items),
                           "vehicle_ids": "," + ",".join(str(v) for v, _ in items) + ",",
                           "ranks": None if all(x is None for x in ranks)
                           else "," + ",".join("" if x is None else str(x) for x in ranks) + ","})
        bind.execute(sa.insert(_packed), values)


def _unpack_outcomes():
    bind = op.get_bind()
    media = bind.execute(sa.select(_packed.c.send_medium_id).distinct()).scalars().all()
    for sm_id in media:
        values = []
        for row in bind.execute(sa.select(_packed).where(_packed.c.send_medium_id == sm_id)
                                .order_by(_packed.c.id)).all():
            ids = [int(x) for x in row.vehicle_ids[1:-1].split(",") if x]
            ranks = ([None] * len(ids) if row.ranks is None
                     else [int(x) if x else None for x in row.ranks[1:-1].split(",")])
            values.extend({"run_id": row.run_id, "send_medium_id": sm_id, "vehicle_id": vid,
                           "concession_id": row.concession_id, "publication_list_id": row.publication_list_id,
                           "outcome": row.outcome, "reasons": row.reasons, "rank": rank}
                          for vid, rank in zip(ids, ranks))
        if values:
            bind.execute(sa.insert(_outcome), values)
