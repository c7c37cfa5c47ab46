"""Which contact is written into a listing (§6.3): pure rule, no Flask, no database.

A contact applies to chosen publication lists, media, makes and statuses; an empty choice means
"all". The contact of a listing is the most specific contact that matches (list, medium, make,
status) — the one restricting the most of these four; on a tie the restriction on the list weighs
more than on the medium, then the make, then the status; then the narrower choice; then the oldest
contact. With no match: the site manager ("Responsable du site").
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ContactInput:
    id: int
    concession_id: int
    name: str
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    list_ids: frozenset[int] = frozenset()
    medium_ids: frozenset[int] = frozenset()
    makes: frozenset[str] = frozenset()  # upper case
    statuses: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ResolvedContact:
    """The contact written into the listing; ``source`` is "contact" or "site_manager"."""
    name: str | None
    phone: str | None
    mobile: str | None = None
    email: str | None = None
    source: str = "contact"
    contact_id: int | None = None


def _matches(c: ContactInput, list_id, medium_id, make, status) -> bool:
    return ((not c.list_ids or list_id in c.list_ids) and (not c.medium_ids or medium_id in c.medium_ids)
            and (not c.makes or (make or "").upper() in c.makes) and (not c.statuses or status in c.statuses))


def _specificity(c: ContactInput) -> tuple:
    dims = (c.list_ids, c.medium_ids, c.makes, c.statuses)
    restricted = tuple(bool(d) for d in dims)
    narrowness = tuple(-len(d) if d else 0 for d in dims)
    return (sum(restricted), restricted, narrowness, -c.id)


def resolve_contact(contacts, *, concession_id: int, list_id: int | None, medium_id: int | None,
                    make: str | None, status: str | None, site_manager: ResolvedContact | None = None
                    ) -> ResolvedContact | None:
    """The most specific matching contact of the concession, else the site manager."""
    best = None
    for c in contacts:
        if c.concession_id != concession_id or not _matches(c, list_id, medium_id, make, status):
            continue
        if best is None or _specificity(c) > _specificity(best):
            best = c
    if best is None:
        return site_manager
    return ResolvedContact(best.name, best.phone, best.mobile, best.email, "contact", best.id)


def site_manager_contact(name, phone, email=None) -> ResolvedContact | None:
    """The fallback contact of a site (None when the site has no manager)."""
    if not name and not phone:
        return None
    return ResolvedContact(name, phone, None, email, "site_manager", None)


class ContactResolver:
    """Resolve many listings at once: contacts indexed by concession, answers cached per combination."""

    def __init__(self, contacts, site_managers: dict[int, ResolvedContact | None] | None = None):
        self.by_concession: dict[int, list[ContactInput]] = {}
        for c in contacts:
            self.by_concession.setdefault(c.concession_id, []).append(c)
        self.site_managers = site_managers or {}
        self._cache: dict[tuple, ResolvedContact | None] = {}

    def resolve(self, concession_id: int, site_id: int | None, list_id: int | None, medium_id: int | None,
                make: str | None, status: str | None) -> ResolvedContact | None:
        """The contact of one listing (see ``resolve_contact``)."""
        key = (concession_id, site_id, list_id, medium_id, (make or "").upper(), status)
        if key not in self._cache:
            self._cache[key] = resolve_contact(
                self.by_concession.get(concession_id, ()), concession_id=concession_id, list_id=list_id,
                medium_id=medium_id, make=make, status=status, site_manager=self.site_managers.get(site_id))
        return self._cache[key]
