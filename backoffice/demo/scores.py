"""Scores of the demo stock (§3), computed set-wise once the vehicles and their sales exist."""
from __future__ import annotations

from backoffice.extensions import db
from models.scoring import refresh_scores


def seed(ctx):
    count = refresh_scores(db.session, today=ctx.today)
    db.session.commit()
    ctx.log(f"    {count} vehicles scored")
