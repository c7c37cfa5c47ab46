"""Per-vehicle media states and the clicks allowed on them (§6.4): pure rules, no Flask, no database.

Stored states (``VehicleMediumState.state``): "P" prioritaire, "S" sélectionné, "D" désélectionné;
no row = the default (selected in automatic mode, not selected in manual mode).

Display states (the flag shown per medium in the stock lists):

====  ========================================  ===============================================
P     prioritaire                               click: cancel the priority (→ S)
S     sélectionné                               click: deselect (→ D) or prioritise (→ P)
D     désélectionné / non sélectionné (manual)  click: select (→ S) or prioritise (→ P)
F     filtre personnalisé                       click: prioritise (→ P)
FM    filtre média (read-only)                  no click: a mandatory field is missing
SA    sélection imposée par l'admin (read-only) no click for dealers; an admin may → D or P
====  ========================================  ===============================================

``locked`` (the row is ``admin_locked`` or the configuration has ``admin_imposed_selection``) makes
any flag read-only for dealers. Targets of a click are always stored states ("P", "S", "D").
"""
from __future__ import annotations

from typing import NamedTuple

DISPLAY_STATES = ("P", "S", "D", "F", "FM", "SA")
READ_ONLY_DISPLAY_STATES = ("FM", "SA")
DISPLAY_LABELS = {
    "P": "Prioritaire",
    "S": "Sélectionné",
    "D": "Désélectionné",
    "F": "Filtre personnalisé",
    "FM": "Filtre média",
    "SA": "Sélectionné (imposé, lecture seule)",
}
_CLICKS = {
    "P": frozenset({"S"}),
    "S": frozenset({"D", "P"}),
    "D": frozenset({"S", "P"}),
    "F": frozenset({"P"}),
    "SA": frozenset({"D", "P"}),  # admins only
    "FM": frozenset(),
}


class ForbiddenTransition(ValueError):
    """A click that the state does not allow (read-only flag or not a transition of §6.4)."""

    def __init__(self, display_state: str, target: str):
        self.display_state, self.target = display_state, target
        if display_state == "FM":
            message = "Filtre média : un champ obligatoire manque, l'état ne peut pas être modifié."
        elif display_state == "SA":
            message = "Sélection imposée par l'administrateur : l'état ne peut pas être modifié."
        else:
            message = f"Passage de « {DISPLAY_LABELS.get(display_state, display_state)} » à " \
                      f"« {DISPLAY_LABELS.get(target, target)} » non autorisé."
        super().__init__(message)


class StoredState(NamedTuple):
    """What to store after a click: ``state`` None = delete the row (back to the default)."""
    state: str | None
    admin_locked: bool = False


def display_state(outcome: str | None, stored_state: str | None = None, admin_locked: bool = False,
                  admin_imposed: bool = False) -> tuple[str, bool]:
    """(display flag, locked) of a vehicle on a medium from its engine outcome and its stored state."""
    locked = bool(admin_locked or admin_imposed)
    if outcome == "filtered_media":
        return "FM", True
    effective = stored_state if (not admin_imposed or admin_locked) else None
    if effective == "P":
        return "P", locked
    if effective == "D":
        return "D", locked
    if outcome == "filtered_custom":
        return "F", locked
    if outcome == "not_selected":
        return "D", locked
    if locked:
        return "SA", True
    return "S", False


def allowed_transitions(display: str, locked: bool = False, is_admin: bool = False) -> frozenset[str]:
    """The stored states a click may lead to from this flag."""
    if display not in _CLICKS:
        raise ValueError(f"unknown display state {display!r}")
    if display == "FM":
        return frozenset()
    if (display == "SA" or locked) and not is_admin:
        return frozenset()
    return _CLICKS[display]


def apply_transition(display: str, target: str, *, locked: bool = False, is_admin: bool = False,
                     selection_mode: str = "auto", admin_imposed: bool = False) -> StoredState:
    """The state to store for a click from ``display`` to ``target``; raises ForbiddenTransition."""
    if target not in allowed_transitions(display, locked, is_admin):
        raise ForbiddenTransition(display, target)
    # An admin's click on an imposed selection stays imposed (read-only for dealers).
    lock = bool(is_admin and (locked or admin_imposed))
    if target == "S":
        if lock and not admin_imposed:
            return StoredState("S", True)
        if selection_mode == "auto" or admin_imposed:
            return StoredState(None, False)  # selected is the default: no row
        return StoredState("S", False)
    return StoredState(target, lock)


def select_all(flags: dict, select: bool, *, is_admin: bool = False, selection_modes: dict | None = None,
               imposed: dict | None = None) -> tuple[dict, list]:
    """One click for all media of a vehicle: select (→ S) or deselect (→ D) wherever that click is allowed.

    ``flags``: medium id → (display, locked). Returns ({medium id: StoredState}, [medium ids left as they
    are because the flag does not allow it or is already there]).
    """
    target = "S" if select else "D"
    changes, skipped = {}, []
    for medium_id, (display, locked) in flags.items():
        if target in allowed_transitions(display, locked, is_admin):
            changes[medium_id] = apply_transition(
                display, target, locked=locked, is_admin=is_admin,
                selection_mode=(selection_modes or {}).get(medium_id, "auto"),
                admin_imposed=(imposed or {}).get(medium_id, False))
        else:
            skipped.append(medium_id)
    return changes, skipped
