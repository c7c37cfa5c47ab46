"""What a user may see: the concession scope every lookup goes through (§1).

Views and jobs never filter by concession by hand: they ask ``Scope.for_user(user)`` and
call ``scope.filter(query, Model)`` or ``scope.get_or_404(Model, id)``. A model takes part by
defining ``in_concessions(ids)``, a SQL clause restricting it to those concessions.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import false, select

from backoffice.extensions import db

from .permissions import NETWORK_WIDE


MAX_ID = 2**63 - 1  # the largest key a database integer holds


def parse_id(value) -> int | None:
    """A row key typed by a user (URL, form): a positive integer the database can hold, else None."""
    try:
        ident = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return ident if 0 < ident <= MAX_ID else None


@dataclass(frozen=True)
class Scope:
    """``concession_ids`` None means the whole network."""
    concession_ids: frozenset[int] | None

    @classmethod
    def for_user(cls, user) -> Scope:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls(frozenset())
        if user.has_permission(NETWORK_WIDE):
            return cls(None)
        return cls(frozenset(c.id for c in user.concessions))

    @classmethod
    def network(cls) -> Scope:
        return cls(None)

    @property
    def is_network(self) -> bool:
        return self.concession_ids is None

    def allows(self, concession_id: int | None) -> bool:
        return self.concession_ids is None or concession_id in self.concession_ids

    def clause(self, model):
        """The WHERE clause restricting ``model`` to this scope."""
        if self.concession_ids is None:
            return None
        if not self.concession_ids:
            return false()
        return model.in_concessions(sorted(self.concession_ids))

    def filter(self, query, model):
        """Restrict an ORM query or a ``select()`` to the scope."""
        clause = self.clause(model)
        if clause is None:
            return query
        return query.where(clause) if hasattr(query, "where") else query.filter(clause)

    def get(self, model, ident):
        """The row with this primary key if the scope allows it, else None."""
        ident = parse_id(ident)
        if ident is None:
            return None
        stmt = self.filter(select(model).where(model.id == ident), model)
        return db.session.execute(stmt).scalar_one_or_none()

    def get_or_404(self, model, ident):
        """Same as ``get`` but answers 404: a row outside the scope does not exist for this user."""
        row = self.get(model, ident)
        if row is None:
            abort(404)
        return row
