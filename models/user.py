"""Users and roles. Roles carry their permissions as data (§1)."""
from __future__ import annotations

from flask_security.models import fsqla_v3 as fsqla
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.extensions import db

fsqla.FsModels.set_db_info(db)

user_concession = Table(
    "user_concession",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("concession_id", Integer, ForeignKey("concession.id", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model, fsqla.FsRoleMixin):
    def __str__(self) -> str:
        return self.description or self.name


class User(db.Model, fsqla.FsUserMixin):
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(30))
    locale: Mapped[str | None] = mapped_column(String(5))

    concessions = relationship("Concession", secondary=user_concession, lazy="selectin",
                               order_by="Concession.name")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email

    def __str__(self) -> str:
        return self.full_name
