"""The dealer network: filiale → pôles → concessions → sites → lieux."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.extensions import db


class Filiale(db.Model):
    """The national subsidiary at the top of the network."""
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))

    poles: Mapped[list[Pole]] = relationship(back_populates="filiale")

    def __str__(self) -> str:
        return self.name


class Pole(db.Model):
    """A regional group of concessions."""
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    filiale_id: Mapped[int] = mapped_column(ForeignKey("filiale.id"))

    filiale: Mapped[Filiale] = relationship(back_populates="poles")
    concessions: Mapped[list[Concession]] = relationship(back_populates="pole")

    def __str__(self) -> str:
        return self.name


class Concession(db.Model):
    """A dealership: the tenant every dealer row belongs to."""
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    pole_id: Mapped[int | None] = mapped_column(ForeignKey("pole.id"), index=True)

    pole: Mapped[Pole | None] = relationship(back_populates="concessions")
    sites: Mapped[list[Site]] = relationship(back_populates="concession", order_by="Site.name")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.id.in_(concession_ids)

    def __str__(self) -> str:
        return self.name


class Site(db.Model):
    """A physical site of a concession (GAP, DAINVILLE…), with its manager as fallback contact."""
    __table_args__ = (UniqueConstraint("concession_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("concession.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(120))
    manager_name: Mapped[str | None] = mapped_column(String(120))
    manager_phone: Mapped[str | None] = mapped_column(String(30))
    manager_email: Mapped[str | None] = mapped_column(String(255))

    concession: Mapped[Concession] = relationship(back_populates="sites")
    locations: Mapped[list[Location]] = relationship(back_populates="site", order_by="Location.name")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    def __str__(self) -> str:
        return self.name


class Location(db.Model):
    """A lieu: where on a site a vehicle stands (parc, atelier, vitrine…)."""
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))

    site: Mapped[Site] = relationship(back_populates="locations")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.site_id.in_(select(Site.id).where(Site.concession_id.in_(concession_ids)))

    def __str__(self) -> str:
        return f"{self.site.name} – {self.name}" if self.site else self.name
