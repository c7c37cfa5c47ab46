"""Per-vehicle media flags (§6.3): the stock lists' Média column and the clickable states of a
vehicle on each medium, the pure transitions of ``models.media_state``."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload, with_loader_criteria

from backoffice.extensions import db
from models import Vehicle
from models.media_state import (DISPLAY_LABELS, ForbiddenTransition, allowed_transitions, apply_transition,
                                display_state, select_all)
from models.permissions import PUBLICATION_CONFIGURE, STOCK_READ
from models.publication import MediumConfig, MediumStateChange, VehicleMediumState, load_decision_inputs
from models.send_decision import OUTCOMES, decide

from .base import SecureBaseView, current_scope
from .publication_fields import is_admin, safe_next

# Flag letters as the guide shows them; FM and SA are the read-only F and S.
FLAG_LETTERS = {"P": "P", "S": "S", "D": "D", "F": "F", "FM": "F", "SA": "S"}
FLAG_CLASSES = {"P": "badge-primary", "S": "badge-success", "D": "badge-secondary", "F": "badge-warning",
                "FM": "badge-danger", "SA": "badge-info"}
TARGET_LABELS = {"P": _l("Prioriser"), "S": _l("Sélectionner"), "D": _l("Désélectionner")}
STATE_WORDS = {None: _l("Par défaut"), "P": _l("Prioritaire"), "S": _l("Sélectionné"), "D": _l("Désélectionné")}


# Per-vehicle media states (§6.4) ---------------------------------------------------------------------------

@dataclass
class Flag:
    """One medium's flag for one vehicle."""
    medium_id: int
    medium_name: str
    display: str | None  # None: the vehicle is no candidate of this medium
    locked: bool = False
    targets: tuple = ()
    reasons: tuple = ()
    outcome: str | None = None
    stored: str | None = None

    @property
    def letter(self):
        return FLAG_LETTERS.get(self.display, "–")

    @property
    def css(self):
        return FLAG_CLASSES.get(self.display, "badge-light")

    @property
    def label(self):
        return DISPLAY_LABELS.get(self.display, "") if self.display else ""

    @property
    def title(self):
        if self.display is None:
            return _("%(m)s : véhicule hors des listes inscrites à ce média", m=self.medium_name)
        text = f"{self.medium_name} : {DISPLAY_LABELS.get(self.display, self.display)}"
        if self.reasons and self.display in ("F", "FM"):
            text += " – " + ", ".join(self.reasons)
        return text


class _OnlyVehicles:
    """A session for ``load_decision_inputs`` that loads only some vehicles (every other input whole).

    A flag depends on the vehicle alone (media filter, state, custom filter, selection mode): only the
    limit looks at the other vehicles, and sent and "limite atteinte" show the same flag. So the stock
    list's page of vehicles is decided without loading its concessions' whole stock.
    """

    def __init__(self, session, vehicle_ids):
        self.session, self.vehicle_ids = session, vehicle_ids

    def execute(self, statement, *args, **kwargs):
        return self.session.execute(
            statement.options(with_loader_criteria(Vehicle, Vehicle.id.in_(self.vehicle_ids))), *args, **kwargs)


def vehicle_flags(vehicle_ids, is_admin: bool = False, exact: bool = True) -> dict[int, list[Flag]]:
    """vehicle id → its flags on every active medium, from one decision run for their concessions.

    ``exact`` False decides the given vehicles only (cheap; the outcome may say "sent" for a vehicle
    the limit stops: the flags are the same, the outcome shown is not).
    """
    vehicle_ids = sorted({int(i) for i in vehicle_ids})
    if not vehicle_ids:
        return {}
    concession_of = dict(db.session.execute(select(Vehicle.id, Vehicle.concession_id)
                                            .where(Vehicle.id.in_(vehicle_ids))).all())
    if not concession_of:
        return {}
    session = db.session if exact else _OnlyVehicles(db.session, vehicle_ids)
    inputs = load_decision_inputs(session, sorted(set(concession_of.values())))
    decided = decide(inputs)
    wanted = set(concession_of)
    order = {o: i for i, o in enumerate(OUTCOMES)}
    best: dict[tuple[int, int], tuple] = {}
    for g in decided.groups:
        # Skip groups without any wanted vehicle cheaply before building Decision objects.
        ids = set(g.sent) | set(g.limit_reached) | set(g.not_selected) | set(g.deselected)
        ids.update(x for _r, xs in g.filtered_custom for x in xs)
        ids.update(x for _r, xs in g.filtered_media for x in xs)
        if ids.isdisjoint(wanted):
            continue
        for d in g:
            if d.vehicle_id not in wanted:
                continue
            key = (d.vehicle_id, d.medium_id)
            if key not in best or order[d.outcome] < order[best[key][0]]:
                best[key] = (d.outcome, d.reasons)
    stored = {(r.vehicle_id, r.medium_id): (r.state, bool(r.admin_locked)) for r in db.session.execute(
        select(VehicleMediumState.vehicle_id, VehicleMediumState.medium_id, VehicleMediumState.state,
               VehicleMediumState.admin_locked).where(VehicleMediumState.vehicle_id.in_(vehicle_ids)))}
    media = sorted(inputs.media, key=lambda m: m.name.lower())
    out: dict[int, list[Flag]] = {}
    for vid, cid in concession_of.items():
        flags = []
        for m in media:
            config = inputs.configs.get((cid, m.id))
            imposed = bool(config and config.admin_imposed)
            state, locked_row = stored.get((vid, m.id), (None, False))
            decision = best.get((vid, m.id))
            if decision is None:
                flags.append(Flag(m.id, m.name, None, stored=state))
                continue
            display, locked = display_state(decision[0], state, locked_row, imposed)
            targets = tuple(sorted(allowed_transitions(display, locked, is_admin), key="PSD".index))
            flags.append(Flag(m.id, m.name, display, locked, targets, decision[1], decision[0], state))
        out[vid] = flags
    return out


def render_media_flags(vehicle_ids) -> dict:
    """The stock lists' Média column: vehicle id → clickable flags (set-wise: one decision run)."""
    can_click = current_user.is_authenticated and current_user.has_permission(PUBLICATION_CONFIGURE)
    flags = vehicle_flags(vehicle_ids, is_admin(), exact=False)
    nxt = request.full_path if request else None
    return {vid: Markup(render_template("publication/_flags.html", vehicle_id=vid, flags=fl, can_click=can_click,
                                        next=nxt, target_labels=TARGET_LABELS))
            for vid, fl in flags.items()}


def media_legend() -> Markup:
    """The legend of the flags, shown once under a list."""
    return Markup(render_template("publication/_legend.html"))


render_media_flags.legend = media_legend


def _record(vehicle, medium_id, new, old_state, old_locked, user) -> bool:
    """Store a click's result and its history row; False when nothing changes."""
    if (new.state, bool(new.admin_locked)) == (old_state, bool(old_locked)):
        return False
    row = db.session.execute(select(VehicleMediumState).where(
        VehicleMediumState.vehicle_id == vehicle.id, VehicleMediumState.medium_id == medium_id)).scalar_one_or_none()
    if new.state is None:
        if row is not None:
            db.session.delete(row)
    else:
        if row is None:
            row = VehicleMediumState(vehicle_id=vehicle.id, medium_id=medium_id, concession_id=vehicle.concession_id)
            db.session.add(row)
        row.state, row.admin_locked, row.updated_by_id = new.state, bool(new.admin_locked), user.id
    db.session.add(MediumStateChange(vehicle_id=vehicle.id, medium_id=medium_id, concession_id=vehicle.concession_id,
                                     user_id=user.id, from_state=old_state, to_state=new.state,
                                     from_locked=bool(old_locked), to_locked=bool(new.admin_locked)))
    return True


# History rows show their vehicle, medium and author: loaded with the page, not one query per row.
_CHANGE_LOADS = (selectinload(MediumStateChange.vehicle), selectinload(MediumStateChange.medium),
                 selectinload(MediumStateChange.user))


class VehicleMediaView(SecureBaseView):
    """Media flags of one vehicle, the clicks on them, and the history of the changes."""
    permission = STOCK_READ

    def is_visible(self):
        return False

    def _may_click(self):
        if not current_user.has_permission(PUBLICATION_CONFIGURE):
            abort(403)

    @expose("/")
    def index(self):
        scope = current_scope()
        stmt = (select(MediumStateChange).join(Vehicle, Vehicle.id == MediumStateChange.vehicle_id)
                .options(*_CHANGE_LOADS)
                .order_by(MediumStateChange.at.desc(), MediumStateChange.id.desc()).limit(200))
        changes = db.session.execute(scope.filter(stmt, MediumStateChange)).scalars().all()
        return self.render("publication/state_history.html", changes=changes, state_words=STATE_WORDS)

    @expose("/<int:id>/")
    def vehicle(self, id):
        vehicle = current_scope().get_or_404(Vehicle, id)
        flags = vehicle_flags([vehicle.id], is_admin()).get(vehicle.id, [])
        changes = db.session.execute(select(MediumStateChange).where(MediumStateChange.vehicle_id == vehicle.id)
                                     .options(*_CHANGE_LOADS)
                                     .order_by(MediumStateChange.at.desc(), MediumStateChange.id.desc())
                                     .limit(100)).scalars().all()
        can_click = current_user.has_permission(PUBLICATION_CONFIGURE)
        return self.render("publication/vehicle.html", vehicle=vehicle, flags=flags, changes=changes,
                           can_click=can_click, state_words=STATE_WORDS, target_labels=TARGET_LABELS,
                           outcome_labels=_outcome_labels())

    @expose("/<int:id>/flag", methods=("POST",))
    def click(self, id):
        self._may_click()
        vehicle = current_scope().get_or_404(Vehicle, id)
        back = safe_next(url_for(".vehicle", id=vehicle.id))
        medium_id = request.form.get("medium_id", type=int)
        target = request.form.get("target", "")
        flag = next((f for f in vehicle_flags([vehicle.id], is_admin(), exact=False).get(vehicle.id, [])
                     if f.medium_id == medium_id), None)
        if flag is None:
            abort(404)
        if flag.display is None:
            flash(_("Ce véhicule n'est dans aucune liste inscrite à %(m)s : son état ne peut pas être changé.",
                    m=flag.medium_name), "error")
            return redirect(back)
        config = db.session.execute(select(MediumConfig).where(
            MediumConfig.concession_id == vehicle.concession_id, MediumConfig.medium_id == medium_id)).scalar_one_or_none()
        try:
            new = apply_transition(flag.display, target, locked=flag.locked, is_admin=is_admin(),
                                   selection_mode=config.selection_mode if config else "auto",
                                   admin_imposed=bool(config and config.admin_imposed_selection))
        except ForbiddenTransition as exc:
            flash(_("%(m)s : %(msg)s", m=flag.medium_name, msg=_state_message(exc, flag.locked)), "error")
            return redirect(back)
        old_locked = _stored_locked(vehicle.id, medium_id)
        if _record(vehicle, medium_id, new, flag.stored, old_locked, current_user):
            db.session.commit()
            flash(_("%(m)s : %(label)s.", m=flag.medium_name, label=TARGET_LABELS[target]), "success")
        return redirect(back)

    @expose("/<int:id>/all", methods=("POST",))
    def all_media(self, id):
        self._may_click()
        vehicle = current_scope().get_or_404(Vehicle, id)
        back = safe_next(url_for(".vehicle", id=vehicle.id))
        choose = request.form.get("select") == "1"
        flags = [f for f in vehicle_flags([vehicle.id], is_admin(), exact=False).get(vehicle.id, [])
                 if f.display is not None]
        configs = {c.medium_id: c for c in db.session.execute(select(MediumConfig).where(
            MediumConfig.concession_id == vehicle.concession_id)).scalars()}
        changes, skipped = select_all(
            {f.medium_id: (f.display, f.locked) for f in flags}, choose, is_admin=is_admin(),
            selection_modes={k: c.selection_mode for k, c in configs.items()},
            imposed={k: bool(c.admin_imposed_selection) for k, c in configs.items()})
        by_id = {f.medium_id: f for f in flags}
        changed = 0
        for medium_id, new in changes.items():
            if _record(vehicle, medium_id, new, by_id[medium_id].stored, _stored_locked(vehicle.id, medium_id),
                       current_user):
                changed += 1
        db.session.commit()
        flash(_("%(n)s média(s) modifié(s), %(k)s laissé(s) tel(s) quel(s) (lecture seule ou déjà dans cet état).",
                n=changed, k=len(skipped) + len(changes) - changed), "success" if changed else "info")
        return redirect(back)


def _stored_locked(vehicle_id, medium_id) -> bool:
    return bool(db.session.execute(select(VehicleMediumState.admin_locked).where(
        VehicleMediumState.vehicle_id == vehicle_id, VehicleMediumState.medium_id == medium_id)).scalar())


def _state_message(exc: ForbiddenTransition, locked: bool) -> str:
    """Why a click is refused, in the user's language."""
    if exc.display_state == "FM":
        return _("filtre média : un champ obligatoire manque, l'état ne peut pas être modifié.")
    if exc.display_state == "SA" or locked:
        return _("sélection imposée par l'administrateur : l'état ne peut pas être modifié.")
    return _("passage de « %(a)s » à « %(b)s » non autorisé.", a=DISPLAY_LABELS.get(exc.display_state, exc.display_state),
             b=STATE_WORDS.get(exc.target, exc.target))


def _outcome_labels():
    from models.publication import OUTCOME_LABELS
    return OUTCOME_LABELS
