"""The "Configuration de la publication" screen (§6.4): a concession's settings for one medium, with the effect
preview. A preview never writes: it swaps the edited configuration into the loaded inputs and decides
again in memory (``models.send_decision.decide``).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import fields as wtf
from wtforms import validators as v

from backoffice.extensions import db
from models import Concession, Site, Vehicle
from models.permissions import PUBLICATION_CONFIGURE
from models.publication import (LIMIT_MODE_LABELS, ORDERING_LABELS, SELECTION_MODE_LABELS, Contact,
                                ListSubscription, Medium, MediumConfig, PublicationList, config_input,
                                load_decision_inputs)
from models.send_decision import OUTCOMES, SubscriptionInput, decide, sent_changes
from models.vehicle import GENRES, STATUSES

from .base import SecureBaseView, current_scope
from .publication_fields import (CUSTOMER_CODE_RE, CommaListField, MultiCheckboxField, Range, choices, is_admin,
                                 optional_int, optional_money)


def _sent_by_medium(decision_set, medium_id) -> set[int]:
    return {v for g in decision_set.groups if g.medium_id == medium_id for v in g.sent}


def _best_outcomes(decision_set, medium_id) -> dict[int, tuple[str, tuple]]:
    """vehicle id → (outcome, reasons) on one medium, best across lists."""
    order = {o: i for i, o in enumerate(OUTCOMES)}
    best: dict[int, tuple[str, tuple]] = {}
    for g in decision_set.groups:
        if g.medium_id != medium_id:
            continue
        for d in g:
            if d.vehicle_id not in best or order[d.outcome] < order[best[d.vehicle_id][0]]:
                best[d.vehicle_id] = (d.outcome, d.reasons)
    return best


# Configuration de la publication -------------------------------------------------------------------------

class MediumConfigForm(FlaskForm):
    """The edit form of one medium's configuration for one concession (per-list fields added per request)."""
    selection_mode = wtf.RadioField(_l("Sélection des véhicules"), choices=choices(SELECTION_MODE_LABELS),
                                    default="auto", validators=[v.InputRequired(message=_l("Choisissez le mode de sélection."))])
    limit_mode = wtf.RadioField(_l("Limite max. de VO publiables"), choices=choices(LIMIT_MODE_LABELS),
                                default="none", validators=[v.InputRequired(message=_l("Choisissez le type de limite."))])
    limit_value = wtf.IntegerField(_l("Nombre maximum d'annonces (toutes listes)"), validators=[
        v.Optional(), Range(min=0, max=1_000_000, message=_l("Saisissez un nombre positif ou nul."))])
    ordering = wtf.SelectField(_l("Favoriser l'envoi des véhicules selon"), choices=choices(ORDERING_LABELS),
                               default="score")
    published_statuses = MultiCheckboxField(_l("Statuts publiés"), choices=choices(STATUSES),
                                            description=_l("Aucun coché : ST, VD et DV."))
    admin_imposed_selection = wtf.BooleanField(_l("Sélection imposée par l'administrateur (lecture seule pour la concession)"))
    # Custom filter ("filtre personnalisé"): an empty criterion is not applied.
    filter_min_score = optional_int(_l("Scoring ≥"), 0, 10)
    filter_max_stock_days = optional_int(_l("Âge du stock < (jours)"), 1, 100000,
                                          _l("Saisissez un nombre de jours d'au moins 1."))
    filter_max_vehicle_age = optional_int(_l("Âge du véhicule ≤ (années)"), 0, 100)
    filter_min_photos = optional_int(_l("Nombre de photos ≥"), 0, 500)
    filter_requires_cote = wtf.BooleanField(_l("Avec une cote"))
    filter_genres = MultiCheckboxField(_l("Genre"), choices=choices(GENRES))
    filter_makes = CommaListField(_l("Marques"), description=_l("Séparées par des virgules, par exemple PEUGEOT, CITROEN."))
    filter_site_ids = MultiCheckboxField(_l("Sites"), coerce=int, choices=[])
    filter_max_price_age_days = optional_int(_l("Âge du prix de vente < (jours)"), 1, 100000,
                                              _l("Saisissez un nombre de jours d'au moins 1."))
    filter_min_sale_price = optional_money(_l("Prix de vente TTC minimum (€)"))
    filter_max_sale_price = optional_money(_l("Prix de vente TTC maximum (€)"))
    filter_min_merchant_price = optional_money(_l("Prix marchand minimum (€)"))
    filter_max_merchant_price = optional_money(_l("Prix marchand maximum (€)"))
    filter_colours = CommaListField(_l("Couleurs"), description=_l("Séparées par des virgules."))
    preview = wtf.SubmitField(_l("Prévisualiser"))
    save = wtf.SubmitField(_l("Enregistrer"))

    FILTER_FIELDS = MediumConfig.FILTER_COLUMNS

    def validate_against(self, lists) -> bool:
        """Cross-field rules; messages next to the fields. ``lists``: the concession's publication lists."""
        ok = True
        if self.limit_mode.data == "global" and self.limit_value.data is None and not self.limit_value.errors:
            self.limit_value.errors.append(_("Indiquez le nombre maximum d'annonces pour toutes les listes."))
            ok = False
        subscribed = 0
        for pl in lists:
            on, code, limit = self.list_fields(pl.id)
            if not on.data:
                continue
            subscribed += 1
            if code.data and not CUSTOMER_CODE_RE.match(code.data):
                code.errors.append(_("Code invalide : lettres, chiffres, « . », « _ » ou « - » (40 au plus)."))
                ok = False
            if self.limit_mode.data == "per_list" and limit.data is None and not limit.errors:
                limit.errors.append(_("Indiquez la limite de cette liste."))
                ok = False
        if subscribed == 0 and self.limit_mode.data == "per_list":
            self.limit_mode.errors.append(_("Une limite par liste demande au moins une liste inscrite."))
            ok = False
        for low, high in (("filter_min_sale_price", "filter_max_sale_price"),
                          ("filter_min_merchant_price", "filter_max_merchant_price")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo.data is not None and hi.data is not None and lo.data > hi.data:
                hi.errors.append(_("Le maximum doit être supérieur ou égal au minimum."))
                ok = False
        return ok

    def list_fields(self, list_id):
        return (getattr(self, f"list_{list_id}_on"), getattr(self, f"list_{list_id}_code"),
                getattr(self, f"list_{list_id}_limit"))


def _config_form_class(lists, sites):
    """The form with one (subscribed, customer code, limit) trio per publication list of the concession."""
    attrs = {}
    for pl in lists:
        attrs[f"list_{pl.id}_on"] = wtf.BooleanField(pl.name)
        attrs[f"list_{pl.id}_code"] = wtf.StringField(_l("Code liste inscrit"), filters=[
            lambda s: s.strip() if s else s], validators=[v.Optional(), v.Length(max=40)])
        attrs[f"list_{pl.id}_limit"] = wtf.IntegerField(_l("Limite"), validators=[
            v.Optional(), Range(min=0, max=1_000_000, message=_l("Saisissez un nombre positif ou nul."))])
    form_class = type("BoundMediumConfigForm", (MediumConfigForm,), attrs)
    return form_class


@dataclass
class PreviewVehicle:
    id: int
    entry_number: str
    label: str
    reasons: tuple = ()
    outcome: str | None = None


class PublicationConfigView(SecureBaseView):
    """"Configuration de la publication": media of a concession, their lists, filters, limits, counts."""
    permission = PUBLICATION_CONFIGURE

    # Concession selector: an admin picks any concession, a dealer only theirs (404 otherwise).
    def _concessions(self):
        stmt = current_scope().filter(select(Concession).order_by(Concession.name), Concession)
        return db.session.execute(stmt).scalars().all()

    def _concession(self, concessions):
        wanted = request.args.get("concession")
        if wanted in (None, ""):
            if not concessions:
                abort(404)
            return concessions[0]
        return current_scope().get_or_404(Concession, wanted)

    @expose("/")
    def index(self):
        concessions = self._concessions()
        if not concessions:
            return self.render("publication/config.html", concessions=[], concession=None, rows=[])
        concession = self._concession(concessions)
        media = sorted(db.session.execute(select(Medium).where(Medium.active.is_(True))).scalars(),
                       key=lambda m: m.name.lower())
        configs = {c.medium_id: c for c in db.session.execute(
            select(MediumConfig).where(MediumConfig.concession_id == concession.id).options(
                selectinload(MediumConfig.subscriptions).selectinload(ListSubscription.publication_list))).scalars()}
        inputs = load_decision_inputs(db.session, [concession.id])
        decided = decide(inputs)
        per_list = {(g.medium_id, g.list_id): g for g in decided.groups}
        contacts = db.session.execute(select(Contact).where(Contact.concession_id == concession.id)
                                      .options(selectinload(Contact.media)).order_by(Contact.name)).scalars().all()
        rows = []
        for medium in media:
            config = configs.get(medium.id)
            subs = sorted(config.subscriptions, key=lambda s: s.publication_list.name) if config else []
            lists = []
            for sub in subs:
                group = per_list.get((medium.id, sub.publication_list_id))
                lists.append({"sub": sub, "in_stock": group.in_stock if group else 0,
                              "eligible": group.eligible if group else 0,
                              "to_send": len(group.sent) if group else 0})
            linked = [c for c in contacts if not c.media or medium in c.media]
            rows.append({"medium": medium, "config": config, "lists": lists, "contacts": linked,
                         "total_to_send": len({x for g in decided.groups if g.medium_id == medium.id for x in g.sent})})
        return self.render("publication/config.html", concessions=concessions, concession=concession, rows=rows,
                           selection_labels=SELECTION_MODE_LABELS, ordering_labels=ORDERING_LABELS)

    @expose("/medium/<int:medium_id>/", methods=("GET", "POST"))
    def edit(self, medium_id):
        concessions = self._concessions()
        concession = self._concession(concessions)
        medium = db.session.get(Medium, medium_id)
        if medium is None or not medium.active:
            abort(404)
        lists = db.session.execute(select(PublicationList).where(PublicationList.concession_id == concession.id)
                                   .options(selectinload(PublicationList.sites))
                                   .order_by(PublicationList.name)).scalars().all()
        sites = db.session.execute(select(Site).where(Site.concession_id == concession.id)
                                   .order_by(Site.name)).scalars().all()
        config = db.session.execute(select(MediumConfig).where(
            MediumConfig.concession_id == concession.id, MediumConfig.medium_id == medium.id)).scalar_one_or_none()
        form_class = _config_form_class(lists, sites)
        form = form_class(formdata=request.form if request.method == "POST" else None)
        form.filter_site_ids.choices = [(s.id, s.name) for s in sites]
        if request.method == "GET":
            _prefill(form, config, lists)
        preview = None
        if request.method == "POST":
            valid = form.validate()
            valid = form.validate_against(lists) and valid
            if valid:
                proposed, proposed_subs = _proposed(form, concession, medium, config, lists)
                preview = _preview(concession, medium, proposed, proposed_subs)
                if form.save.data and not form.preview.data:
                    _save(form, concession, medium, config, lists)
                    flash(_("Configuration de %(medium)s enregistrée : %(enter)s véhicule(s) entrent, "
                            "%(leave)s sortent.", medium=medium.name, enter=len(preview["entering"]),
                            leave=len(preview["leaving"])), "success")
                    return redirect(url_for(".index", concession=concession.id))
            else:
                flash(_("La configuration n'a pas été enregistrée : corrigez les champs signalés."), "error")
        contacts = [c for c in db.session.execute(select(Contact).where(Contact.concession_id == concession.id)
                                                  .options(selectinload(Contact.media)).order_by(Contact.name))
                    .scalars() if not c.media or medium in c.media]
        return self.render("publication/config_edit.html", form=form, medium=medium, concession=concession,
                           contacts=contacts,
                           concessions=concessions, lists=lists, preview=preview, is_admin=is_admin(),
                           config=config)


def _prefill(form, config, lists):
    """Fill the form from the saved configuration (or the defaults when there is none)."""
    if config is None:
        form.selection_mode.data, form.limit_mode.data, form.ordering.data = "auto", "none", "score"
        return
    form.selection_mode.data = config.selection_mode
    form.limit_mode.data = config.limit_mode
    form.limit_value.data = config.limit_value
    form.ordering.data = config.ordering
    form.published_statuses.data = list(config.published_statuses or [])
    form.admin_imposed_selection.data = bool(config.admin_imposed_selection)
    for name in MediumConfigForm.FILTER_FIELDS:
        value = getattr(config, name)
        if name == "filter_site_ids" and value:
            value = [int(x) for x in value]
        getattr(form, name).data = value
    subs = {s.publication_list_id: s for s in config.subscriptions}
    for pl in lists:
        on, code, limit = form.list_fields(pl.id)
        sub = subs.get(pl.id)
        on.data = sub is not None
        code.data = sub.customer_code if sub else None
        limit.data = sub.limit if sub else None


def _apply(form, row: MediumConfig, is_admin: bool) -> None:
    """Copy the form's scalar settings and custom filter onto a MediumConfig (saved or transient)."""
    row.selection_mode = form.selection_mode.data
    row.limit_mode = form.limit_mode.data
    row.limit_value = form.limit_value.data if form.limit_mode.data == "global" else None
    row.ordering = form.ordering.data
    row.published_statuses = list(form.published_statuses.data) or None
    if is_admin:
        row.admin_imposed_selection = bool(form.admin_imposed_selection.data)
    for name in MediumConfigForm.FILTER_FIELDS:
        value = getattr(form, name).data
        if isinstance(value, list) and not value:
            value = None
        if name == "filter_requires_cote":
            value = bool(value)
        setattr(row, name, value)


def _proposed(form, concession, medium, config, lists):
    """The engine's ConfigInput and subscriptions for the edited (unsaved) configuration."""
    transient = MediumConfig(concession_id=concession.id, medium_id=medium.id,
                             admin_imposed_selection=bool(config.admin_imposed_selection) if config else False)
    _apply(form, transient, is_admin())
    sites_of = {pl.id: tuple(sorted(s.id for s in pl.sites)) for pl in lists}
    subs = []
    for pl in lists:
        on, code, limit = form.list_fields(pl.id)
        if on.data:
            subs.append(SubscriptionInput(medium.id, pl.id, concession.id, sites_of[pl.id], code.data or None,
                                          limit.data if form.limit_mode.data == "per_list" else None))
    return config_input(transient), subs


def _preview(concession, medium, proposed, proposed_subs):
    """Decide with the saved and with the proposed configuration: who enters, who leaves (nothing written)."""
    inputs = load_decision_inputs(db.session, [concession.id], [medium.id])
    before = decide(inputs)
    inputs.configs[(concession.id, medium.id)] = proposed
    inputs.subscriptions = [s for s in inputs.subscriptions
                            if not (s.medium_id == medium.id and s.concession_id == concession.id)] + proposed_subs
    after = decide(inputs)
    sent_before, sent_after = _sent_by_medium(before, medium.id), _sent_by_medium(after, medium.id)
    entering, leaving = sent_changes(before, after).get(medium.id, (set(), set()))
    outcomes_after = _best_outcomes(after, medium.id) if leaving else {}
    rows = {}
    if entering or leaving:
        for r in db.session.execute(select(Vehicle.id, Vehicle.entry_number, Vehicle.make, Vehicle.model,
                                           Vehicle.version).where(Vehicle.id.in_(entering | leaving),
                                                                  Vehicle.concession_id == concession.id)):
            rows[r.id] = PreviewVehicle(r.id, r.entry_number, " ".join(p for p in (r.make, r.model, r.version) if p))
    for vid in leaving:
        if vid in rows:
            outcome, reasons = outcomes_after.get(vid, (None, ()))
            rows[vid].outcome = outcome
            rows[vid].reasons = reasons or (_("plus dans aucune liste inscrite"),)

    def listed(ids):
        return sorted((rows[i] for i in ids if i in rows), key=lambda r: r.entry_number)

    count = {g.list_id: len(g.sent) for g in before.groups if g.medium_id == medium.id}
    count_after = {g.list_id: len(g.sent) for g in after.groups if g.medium_id == medium.id}
    return {"before": len(sent_before), "after": len(sent_after), "entering": listed(entering),
            "leaving": listed(leaving), "per_list": {k: (count.get(k, 0), count_after.get(k, 0))
                                                     for k in set(count) | set(count_after)}}


def _save(form, concession, medium, config, lists) -> None:
    """Write the configuration and its list subscriptions."""
    if config is None:
        config = MediumConfig(concession_id=concession.id, medium_id=medium.id)
        db.session.add(config)
    _apply(form, config, is_admin())
    subs = {s.publication_list_id: s for s in config.subscriptions}
    for pl in lists:
        on, code, limit = form.list_fields(pl.id)
        sub = subs.get(pl.id)
        if on.data:
            if sub is None:
                sub = ListSubscription(publication_list=pl, concession_id=concession.id)
                config.subscriptions.append(sub)
            sub.customer_code = code.data or None
            sub.limit = limit.data
        elif sub is not None:
            config.subscriptions.remove(sub)
    db.session.commit()
