"""Publication screens (§6.1–§6.4): media, publication lists, contacts, "Configuration de la publication"
with the effect preview, per-vehicle media flags and the "Prochain envoi" panel of the dashboard.

Thin views: the decision is ``models.send_decision.decide`` over inputs loaded by
``models.publication_inputs`` (a few set-based queries per concession); the clicks on flags are the
pure transitions of ``models.media_state``. A preview never writes: it swaps the edited configuration
into the loaded inputs and decides again in memory.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload, with_loader_criteria
from wtforms import fields as wtf
from wtforms import validators as v
from wtforms.widgets import CheckboxInput, ListWidget

from backoffice.extensions import db
from models import Concession, Site, Vehicle
from models.media_state import (DISPLAY_LABELS, ForbiddenTransition, allowed_transitions, apply_transition,
                                display_state, select_all)
from models.permissions import MEDIA_ADMIN, PUBLICATION_CONFIGURE, STOCK_READ
from models.publication import (DELIVERY_KINDS, FEED_FORMATS, LIMIT_MODE_LABELS, LIST_CODE_RE,
                                MANDATORY_FIELD_LABELS, MEDIUM_DESTINATIONS, MEDIUM_KINDS, ORDERING_LABELS,
                                SELECTION_MODE_LABELS, Contact, ListSubscription, Medium, MediumConfig,
                                MediumStateChange, PublicationList, VehicleMediumState, config_input,
                                load_decision_inputs, split_codes)
from models.send_decision import OUTCOMES, SubscriptionInput, decide, sent_changes
from models.vehicle import GENRES, STATUSES

from .base import ConcessionScopedModelView, SecureBaseView, SecureModelView, current_scope
from .home import HOME_SECTIONS

CATEGORY = _l("Publication")
CUSTOMER_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
# Flag letters as the guide shows them; FM and SA are the read-only F and S.
FLAG_LETTERS = {"P": "P", "S": "S", "D": "D", "F": "F", "FM": "F", "SA": "S"}
FLAG_CLASSES = {"P": "badge-primary", "S": "badge-success", "D": "badge-secondary", "F": "badge-warning",
                "FM": "badge-danger", "SA": "badge-info"}
TARGET_LABELS = {"P": _l("Prioriser"), "S": _l("Sélectionner"), "D": _l("Désélectionner")}
STATE_WORDS = {None: _l("Par défaut"), "P": _l("Prioritaire"), "S": _l("Sélectionné"), "D": _l("Désélectionné")}


def _choices(mapping):
    return [(k, str(label)) for k, label in mapping.items()]


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.has_permission(MEDIA_ADMIN)


def _safe_next(default: str) -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return default


# Form fields -----------------------------------------------------------------------------------------

class CommaListField(wtf.StringField):
    """A list of words typed as "PEUGEOT, CITROEN" (stored as a JSON list, upper case)."""

    def _value(self):
        return ", ".join(self.data or []) if isinstance(self.data, (list, tuple)) else (self.data or "")

    def process_formdata(self, valuelist):
        if valuelist:
            words = [w.strip().upper() for w in re.split(r"[,;\n]+", valuelist[0] or "")]
            self.data = [w for i, w in enumerate(words) if w and w not in words[:i]] or None
        else:
            self.data = None


class MultiCheckboxField(wtf.SelectMultipleField):
    """Checkboxes for a multiple choice (readable without JavaScript)."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _Range(v.NumberRange):
    """NumberRange that stays quiet when the value could not be read (the field already says why)."""

    def __call__(self, form, field):
        if field.data is not None:
            super().__call__(form, field)


def _optional_int(label, minimum=0, maximum=None, message=None):
    return wtf.IntegerField(label, validators=[v.Optional(), _Range(
        min=minimum, max=maximum, message=message or _l("Saisissez un nombre entre %(min)s et %(max)s.")
        if maximum is not None else message or _l("Saisissez un nombre positif ou nul."))])


def _optional_money(label):
    return wtf.DecimalField(label, places=2, validators=[v.Optional(), _Range(
        min=0, message=_l("Le montant ne peut pas être négatif."))])


# Media (admin) -----------------------------------------------------------------------------------------

class MediumView(SecureModelView):
    """Média definitions: network-wide, admins only (gateways, mandatory fields, delivery)."""
    permission = MEDIA_ADMIN
    write_permission = MEDIA_ADMIN
    can_export = True
    column_list = ("name", "code", "kind", "destination", "feed_format", "delivery_kind", "delivery_target",
                   "mandatory_fields", "active")
    column_labels = {
        "name": _l("Nom"), "code": _l("Code"), "kind": _l("Type"), "destination": _l("Destination"),
        "feed_format": _l("Format du flux"), "delivery_kind": _l("Livraison"),
        "delivery_target": _l("Dossier ou URL de livraison"), "mandatory_fields": _l("Champs obligatoires"),
        "active": _l("Actif"), "base_url": _l("URL des annonces"), "created_at": _l("Créé le"),
    }
    column_searchable_list = ("name", "code")
    column_default_sort = "name"
    column_formatters = {
        "kind": lambda v_, c, m, n: MEDIUM_KINDS.get(m.kind, m.kind),
        "destination": lambda v_, c, m, n: MEDIUM_DESTINATIONS.get(m.destination, m.destination),
        "feed_format": lambda v_, c, m, n: FEED_FORMATS.get(m.feed_format, m.feed_format),
        "delivery_kind": lambda v_, c, m, n: DELIVERY_KINDS.get(m.delivery_kind, m.delivery_kind),
        "mandatory_fields": lambda v_, c, m, n: ", ".join(
            str(MANDATORY_FIELD_LABELS.get(k, k)) for k in (m.mandatory_fields or ())) or "–",
    }
    column_export_list = ("name", "code", "kind", "destination", "feed_format", "delivery_kind", "delivery_target",
                          "mandatory_fields", "active")
    column_formatters_export = {
        "mandatory_fields": lambda v_, c, m, n: " ".join(m.mandatory_fields or ()),
    }
    form_columns = ("name", "code", "kind", "destination", "feed_format", "delivery_kind", "delivery_target",
                    "mandatory_fields", "base_url", "active")
    form_overrides = {"mandatory_fields": MultiCheckboxField, "kind": wtf.SelectField,
                      "destination": wtf.SelectField, "feed_format": wtf.SelectField,
                      "delivery_kind": wtf.SelectField}
    form_args = {
        "name": {"validators": [v.InputRequired(message=_l("Le nom est obligatoire.")), v.Length(max=120)]},
        "code": {"validators": [v.InputRequired(message=_l("Le code est obligatoire.")), v.Regexp(
            r"^[A-Za-z0-9_.-]{1,40}$", message=_l("Code : lettres, chiffres, « . », « _ » ou « - » (40 au plus)."))]},
        "kind": {"choices": _choices(MEDIUM_KINDS)},
        "destination": {"choices": _choices(MEDIUM_DESTINATIONS)},
        "feed_format": {"choices": _choices(FEED_FORMATS)},
        "delivery_kind": {"choices": _choices(DELIVERY_KINDS)},
        "mandatory_fields": {"choices": _choices(MANDATORY_FIELD_LABELS),
                             "description": _l("Le filtre média : un véhicule sans l'un de ces champs n'est pas envoyé.")},
        "delivery_target": {"validators": [v.InputRequired(
            message=_l("Indiquez le dossier ou l'URL où livrer le flux.")), v.Length(max=500)]},
        "base_url": {"validators": [v.Optional(), v.URL(message=_l("URL invalide.")), v.Length(max=500)]},
    }

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or not hasattr(form, "code"):
            return ok
        if form.delivery_kind.data == "http" and not re.match(r"^https?://\S+$", form.delivery_target.data or ""):
            form.delivery_target.errors.append(_("Une livraison HTTP demande une URL http:// ou https://."))
            ok = False
        if form.delivery_kind.data == "folder" and "://" in (form.delivery_target.data or ""):
            form.delivery_target.errors.append(_("Une livraison en dossier demande un chemin de dossier, pas une URL."))
            ok = False
        current_id = request.args.get("id", type=int)
        clash = db.session.execute(select(Medium.id).where(
            func.lower(Medium.code) == (form.code.data or "").lower())).scalar()
        if clash is not None and clash != current_id:
            form.code.errors.append(_("Ce code est déjà utilisé par un autre média."))
            ok = False
        return ok

    def on_model_change(self, form, model, is_created):
        # What the feed format requires is always mandatory: a vehicle the portal would reject is
        # "filtré média" in the dry run, the flags and the send alike.
        from jobs.feeds import mandatory_fields_for

        model.mandatory_fields = mandatory_fields_for(model.feed_format, model.mandatory_fields)
        super().on_model_change(form, model, is_created)


# Publication lists and contacts (concession-scoped) ----------------------------------------------------

def _concession_of(form):
    """The concession chosen in a form, else the user's only one."""
    if getattr(form, "concession", None) is not None:
        return form.concession.data.id if form.concession.data is not None else None
    if len(current_user.concessions) == 1:
        return current_user.concessions[0].id
    return None


def _dropped_choices(name, chosen) -> bool:
    """Whether the request named rows that the (scoped) choices of a multiple select silently dropped."""
    asked = {x for x in request.form.getlist(name) if x}
    return len(asked) != len(chosen or [])


class _ConcessionFormMixin:
    """Admins and multi-concession dealers pick the concession; single-concession dealers get theirs."""

    def _drop_concession(self, form):
        if not current_scope().is_network and len(current_user.concessions) == 1 \
                and getattr(form, "concession", None) is not None:
            delattr(form, "concession")
        return form

    def create_form(self, obj=None):
        return self._drop_concession(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._drop_concession(super().edit_form(obj))

    def _check_concession(self, form) -> tuple[bool, int | None]:
        concession_id = _concession_of(form)
        if concession_id is None:
            if getattr(form, "concession", None) is not None:
                form.concession.errors.append(_("Choisissez la concession."))
            return False, None
        return True, concession_id


class PublicationListView(_ConcessionFormMixin, ConcessionScopedModelView):
    """"Configuration des listes de publication": a concession's named groups of sites and list codes."""
    permission = PUBLICATION_CONFIGURE
    write_permission = PUBLICATION_CONFIGURE
    can_export = True
    column_list = ("name", "codes", "sites", "media", "concession", "created_at")
    column_labels = {"name": _l("Liste de publication"), "codes": _l("Code de la liste"), "sites": _l("Site(s)"),
                     "media": _l("Média"), "concession": _l("Concession"), "created_at": _l("Date de création")}
    column_searchable_list = ("name", "codes")
    column_default_sort = "name"
    column_formatters = {
        "sites": lambda v_, c, m, n: ", ".join(s.name for s in m.sites) or "–",
        "media": lambda v_, c, m, n: ", ".join(x.name for x in m.media) or "–",
        "codes": lambda v_, c, m, n: " ".join(m.code_list) or "–",
        "created_at": lambda v_, c, m, n: m.created_at.strftime("%d/%m/%Y") if m.created_at else "–",
    }
    column_export_list = ("name", "codes", "sites", "media", "concession", "created_at")
    column_formatters_export = {
        "sites": lambda v_, c, m, n: " ".join(s.name for s in m.sites),
        "media": lambda v_, c, m, n: ", ".join(x.name for x in m.media),
        "concession": lambda v_, c, m, n: m.concession.name if m.concession else "",
        "created_at": lambda v_, c, m, n: m.created_at.date().isoformat() if m.created_at else "",
    }
    form_columns = ("concession", "name", "codes", "sites")
    form_args = {
        "name": {"validators": [v.InputRequired(message=_l("Le nom de la liste est obligatoire.")),
                                v.Length(max=120)]},
        "codes": {"label": _l("Codes de la liste"),
                  "description": _l("Un ou plusieurs codes séparés par des espaces, par exemple PE05 AU62.")},
        "sites": {"label": _l("Sites")},
        "concession": {"label": _l("Concession")},
    }

    def get_query(self):
        # The media of a page of lists (through their subscriptions) in a few statements; Flask-Admin
        # already joins the listed relations (sites, concession).
        return super().get_query().options(
            selectinload(PublicationList.subscriptions).selectinload(ListSubscription.config)
            .selectinload(MediumConfig.medium))

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or not hasattr(form, "codes"):
            return ok
        codes = split_codes(form.codes.data)
        bad = [c for c in codes if not LIST_CODE_RE.match(c)]
        if bad:
            form.codes.errors.append(_("Code(s) de liste invalide(s) : %(codes)s (lettres, chiffres, « _ » ou « - »).",
                                       codes=", ".join(bad)))
            ok = False
        elif len(" ".join(codes)) > 200:
            form.codes.errors.append(_("Trop de codes (200 caractères au plus)."))
            ok = False
        form.codes.data = " ".join(codes)
        has, concession_id = self._check_concession(form)
        if not has:
            return False
        foreign = [s.name for s in (form.sites.data or []) if s.concession_id != concession_id]
        if _dropped_choices("sites", form.sites.data):
            form.sites.errors.append(_("Site inconnu ou hors de votre périmètre."))
            ok = False
        elif foreign:
            form.sites.errors.append(_("Ces sites n'appartiennent pas à la concession de la liste : %(s)s.",
                                       s=", ".join(foreign)))
            ok = False
        current_id = request.args.get("id", type=int)
        clash = db.session.execute(select(PublicationList.id).where(
            PublicationList.concession_id == concession_id,
            func.lower(PublicationList.name) == (form.name.data or "").strip().lower())).scalar()
        if clash is not None and clash != current_id:
            form.name.errors.append(_("Une liste porte déjà ce nom dans cette concession."))
            ok = False
        return ok

    def on_model_change(self, form, model, is_created):
        if model.concession_id is None and model.concession is not None:
            model.concession_id = model.concession.id
        super().on_model_change(form, model, is_created)
        # A list moved to another concession (admins) must not keep the old concession's subscriptions.
        for sub in list(model.subscriptions):
            if sub.concession_id != model.concession_id:
                model.subscriptions.remove(sub)


class ContactView(_ConcessionFormMixin, ConcessionScopedModelView):
    """"Administration des contacts": who is written into listings (tracking numbers)."""
    permission = PUBLICATION_CONFIGURE
    write_permission = PUBLICATION_CONFIGURE
    can_export = True
    column_list = ("name", "phone", "mobile", "email", "publication_lists", "media", "makes", "statuses",
                   "concession")
    column_labels = {"name": _l("Contact"), "phone": _l("Téléphone"), "mobile": _l("Mobile"), "email": _l("E-mail"),
                     "publication_lists": _l("Liste de publication"), "media": _l("Média"),
                     "makes": _l("Marque"), "statuses": _l("Statut"), "concession": _l("Concession")}
    column_searchable_list = ("name", "phone", "email")
    column_default_sort = "name"
    column_formatters = {
        "publication_lists": lambda v_, c, m, n: ", ".join(x.name for x in m.publication_lists) or _("Toutes"),
        "media": lambda v_, c, m, n: ", ".join(x.name for x in m.media) or _("Tous"),
        "makes": lambda v_, c, m, n: ", ".join(m.makes or ()) or _("Toutes"),
        "statuses": lambda v_, c, m, n: ", ".join(m.statuses or ()) or _("Tous"),
    }
    column_export_list = ("name", "phone", "mobile", "email", "publication_lists", "media", "makes", "statuses",
                          "concession")
    column_formatters_export = {
        "publication_lists": lambda v_, c, m, n: ", ".join(x.name for x in m.publication_lists),
        "media": lambda v_, c, m, n: ", ".join(x.name for x in m.media),
        "makes": lambda v_, c, m, n: ", ".join(m.makes or ()),
        "statuses": lambda v_, c, m, n: ", ".join(m.statuses or ()),
        "concession": lambda v_, c, m, n: m.concession.name if m.concession else "",
    }
    form_columns = ("concession", "name", "phone", "mobile", "email", "publication_lists", "media", "makes",
                    "statuses")
    form_overrides = {"makes": CommaListField, "statuses": MultiCheckboxField}
    form_args = {
        "name": {"validators": [v.InputRequired(message=_l("Le nom du contact est obligatoire.")),
                                v.Length(max=120)]},
        "phone": {"validators": [v.Optional(), v.Regexp(r"^[0-9+ ().-]{6,30}$", message=_l(
            "Numéro de téléphone invalide."))]},
        "mobile": {"validators": [v.Optional(), v.Regexp(r"^[0-9+ ().-]{6,30}$", message=_l(
            "Numéro de mobile invalide."))]},
        "email": {"validators": [v.Optional(), v.Email(message=_l("Adresse e-mail invalide.")), v.Length(max=255)]},
        "publication_lists": {"label": _l("Listes de publication"),
                              "description": _l("Aucune : toutes les listes.")},
        "media": {"label": _l("Médias"), "description": _l("Aucun : tous les médias.")},
        "makes": {"label": _l("Marques"), "description": _l("Séparées par des virgules ; vide : toutes les marques.")},
        "statuses": {"label": _l("Statuts"), "choices": _choices(STATUSES),
                     "description": _l("Aucun : tous les statuts.")},
        "concession": {"label": _l("Concession")},
    }

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or not hasattr(form, "name"):
            return ok
        if not (form.phone.data or form.mobile.data or form.email.data):
            form.phone.errors.append(_("Indiquez au moins un téléphone, un mobile ou un e-mail."))
            ok = False
        has, concession_id = self._check_concession(form)
        if not has:
            return False
        foreign = [x.name for x in (form.publication_lists.data or []) if x.concession_id != concession_id]
        if _dropped_choices("publication_lists", form.publication_lists.data):
            form.publication_lists.errors.append(_("Liste inconnue ou hors de votre périmètre."))
            ok = False
        elif foreign:
            form.publication_lists.errors.append(_(
                "Ces listes n'appartiennent pas à la concession du contact : %(s)s.", s=", ".join(foreign)))
            ok = False
        return ok

    def on_model_change(self, form, model, is_created):
        if model.concession_id is None and model.concession is not None:
            model.concession_id = model.concession.id
        model.makes = model.makes or None
        model.statuses = model.statuses or None
        super().on_model_change(form, model, is_created)


# Decisions for the screens -----------------------------------------------------------------------------

def _medium_sets(decision_set, allowed_vehicles=None):
    """medium id → {outcome: set of vehicle ids, "prioritised": set}; a vehicle counts once per medium (best
    outcome across lists, sent first) so that the figures are vehicles, not candidates."""
    raw: dict[int, dict[str, set]] = defaultdict(lambda: {o: set() for o in (*OUTCOMES, "prioritised")})
    for g in decision_set.groups:
        sets = raw[g.medium_id]
        sets["sent"].update(g.sent)
        sets["limit_reached"].update(g.limit_reached)
        sets["not_selected"].update(g.not_selected)
        sets["deselected"].update(g.deselected)
        for _reasons, ids in g.filtered_custom:
            sets["filtered_custom"].update(ids)
        for _reasons, ids in g.filtered_media:
            sets["filtered_media"].update(ids)
        sets["prioritised"].update(g.prioritised)
    out = {}
    for medium_id, sets in raw.items():
        seen: set = set()
        best = {}
        for outcome in OUTCOMES:
            ids = sets[outcome] - seen
            if allowed_vehicles is not None:
                ids &= allowed_vehicles
            best[outcome] = ids
            seen |= sets[outcome]
        eligible = best["sent"] | best["limit_reached"]
        best["prioritised"] = sets["prioritised"] & eligible
        out[medium_id] = best
    return out


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
    selection_mode = wtf.RadioField(_l("Sélection des véhicules"), choices=_choices(SELECTION_MODE_LABELS),
                                    default="auto", validators=[v.InputRequired(message=_l("Choisissez le mode de sélection."))])
    limit_mode = wtf.RadioField(_l("Limite max. de VO publiables"), choices=_choices(LIMIT_MODE_LABELS),
                                default="none", validators=[v.InputRequired(message=_l("Choisissez le type de limite."))])
    limit_value = wtf.IntegerField(_l("Nombre maximum d'annonces (toutes listes)"), validators=[
        v.Optional(), _Range(min=0, max=1_000_000, message=_l("Saisissez un nombre positif ou nul."))])
    ordering = wtf.SelectField(_l("Favoriser l'envoi des véhicules selon"), choices=_choices(ORDERING_LABELS),
                               default="score")
    published_statuses = MultiCheckboxField(_l("Statuts publiés"), choices=_choices(STATUSES),
                                            description=_l("Aucun coché : ST, VD et DV."))
    admin_imposed_selection = wtf.BooleanField(_l("Sélection imposée par l'administrateur (lecture seule pour la concession)"))
    # Custom filter ("filtre personnalisé"): an empty criterion is not applied.
    filter_min_score = _optional_int(_l("Scoring ≥"), 0, 10)
    filter_max_stock_days = _optional_int(_l("Âge du stock < (jours)"), 1, 100000,
                                          _l("Saisissez un nombre de jours d'au moins 1."))
    filter_max_vehicle_age = _optional_int(_l("Âge du véhicule ≤ (années)"), 0, 100)
    filter_min_photos = _optional_int(_l("Nombre de photos ≥"), 0, 500)
    filter_requires_cote = wtf.BooleanField(_l("Avec une cote"))
    filter_genres = MultiCheckboxField(_l("Genre"), choices=_choices(GENRES))
    filter_makes = CommaListField(_l("Marques"), description=_l("Séparées par des virgules, par exemple PEUGEOT, CITROEN."))
    filter_site_ids = MultiCheckboxField(_l("Sites"), coerce=int, choices=[])
    filter_max_price_age_days = _optional_int(_l("Âge du prix de vente < (jours)"), 1, 100000,
                                              _l("Saisissez un nombre de jours d'au moins 1."))
    filter_min_sale_price = _optional_money(_l("Prix de vente TTC minimum (€)"))
    filter_max_sale_price = _optional_money(_l("Prix de vente TTC maximum (€)"))
    filter_min_merchant_price = _optional_money(_l("Prix marchand minimum (€)"))
    filter_max_merchant_price = _optional_money(_l("Prix marchand maximum (€)"))
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
            v.Optional(), _Range(min=0, max=1_000_000, message=_l("Saisissez un nombre positif ou nul."))])
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
                           concessions=concessions, lists=lists, preview=preview, is_admin=_is_admin(),
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
    _apply(form, transient, _is_admin())
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
    _apply(form, config, _is_admin())
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
    flags = vehicle_flags(vehicle_ids, _is_admin(), exact=False)
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
        flags = vehicle_flags([vehicle.id], _is_admin()).get(vehicle.id, [])
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
        back = _safe_next(url_for(".vehicle", id=vehicle.id))
        medium_id = request.form.get("medium_id", type=int)
        target = request.form.get("target", "")
        flag = next((f for f in vehicle_flags([vehicle.id], _is_admin(), exact=False).get(vehicle.id, [])
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
            new = apply_transition(flag.display, target, locked=flag.locked, is_admin=_is_admin(),
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
        back = _safe_next(url_for(".vehicle", id=vehicle.id))
        choose = request.form.get("select") == "1"
        flags = [f for f in vehicle_flags([vehicle.id], _is_admin(), exact=False).get(vehicle.id, [])
                 if f.display is not None]
        configs = {c.medium_id: c for c in db.session.execute(select(MediumConfig).where(
            MediumConfig.concession_id == vehicle.concession_id)).scalars()}
        changes, skipped = select_all(
            {f.medium_id: (f.display, f.locked) for f in flags}, choose, is_admin=_is_admin(),
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


# "Prochain envoi" panel of the publication dashboard ----------------------------------------------------------

def next_send_panel(scope, selection):
    """Dry run of the send for the dashboard's selection: per medium the VO to send and the detail."""
    if not current_user.is_authenticated:
        return None
    if selection is not None and getattr(selection, "concession_id", None):
        concession_ids = [selection.concession_id]
    elif selection is not None and getattr(selection, "site_id", None):
        concession_ids = [db.session.execute(select(Site.concession_id).where(Site.id == selection.site_id)).scalar()]
    else:
        concession_ids = None if scope.is_network else sorted(scope.concession_ids)
    if concession_ids is not None and not all(scope.allows(c) for c in concession_ids):
        return None
    site_id = getattr(selection, "site_id", None) if selection is not None else None
    statuses = tuple(sorted(getattr(selection, "statuses", ()) or ()))
    rows = _next_send_rows(concession_ids, site_id, statuses)
    if rows is None:
        return None
    can_configure = current_user.has_permission(PUBLICATION_CONFIGURE)
    single = concession_ids[0] if concession_ids and len(concession_ids) == 1 else None
    body = Markup(render_template("publication/_next_send.html", rows=rows, can_configure=can_configure,
                                  concession_id=single))
    return (_("Prochain envoi"), body)


_NEXT_SEND_CACHE: dict = {}
CACHE_FROM_CONCESSIONS = 20  # a dry run over more concessions than this is kept for a short while


def _next_send_rows(concession_ids, site_id, statuses):
    """Per medium figures of the dry run; network-wide runs (seconds at 100,000 vehicles) are cached
    for PUBLICATION_NEXT_SEND_CACHE_SECONDS, a concession's never (a dealer sees their change at once)."""
    from flask import current_app

    ttl = current_app.config.get("PUBLICATION_NEXT_SEND_CACHE_SECONDS", 0 if current_app.testing else 60)
    cacheable = ttl > 0 and (concession_ids is None or len(concession_ids) > CACHE_FROM_CONCESSIONS)
    key = (str(db.engine.url), None if concession_ids is None else tuple(concession_ids), site_id, statuses)
    now = dt.datetime.now().timestamp()
    if cacheable and key in _NEXT_SEND_CACHE and now - _NEXT_SEND_CACHE[key][0] < ttl:
        return _NEXT_SEND_CACHE[key][1]
    inputs = load_decision_inputs(db.session, concession_ids)
    if not inputs.media:
        return None
    allowed = None
    if site_id is not None or statuses:
        allowed = {x.id for x in inputs.vehicles
                   if (site_id is None or x.site_id == site_id) and (not statuses or x.status in statuses)}
    sets = _medium_sets(decide(inputs), allowed)
    rows = []
    for m in sorted(inputs.media, key=lambda m: m.name.lower()):
        s = sets.get(m.id) or {o: set() for o in (*OUTCOMES, "prioritised")}
        eligible = s["sent"] | s["limit_reached"]
        rows.append({"medium": m, "to_send": len(s["sent"]), "filtered": len(s["filtered_media"]),
                     "filtered_custom": len(s["filtered_custom"]), "deselected": len(s["deselected"]),
                     "not_selected": len(s["not_selected"]), "limit_reached": len(s["limit_reached"]),
                     "selected": len(eligible - s["prioritised"]), "prioritised": len(s["prioritised"])})
    if cacheable:
        if len(_NEXT_SEND_CACHE) >= 64:  # a handful of selections are looked at; never grow without bound
            _NEXT_SEND_CACHE.clear()
        _NEXT_SEND_CACHE[key] = (now, rows)
    return rows


# Registration -------------------------------------------------------------------------------------------------

def _install_hooks():
    """Plug the flags into the stock lists and the panel into the publication dashboard (when they exist)."""
    from . import remarketing, stock_lists

    if hasattr(stock_lists, "MEDIA_COLUMN_PROVIDER"):
        stock_lists.MEDIA_COLUMN_PROVIDER = render_media_flags
    panels = getattr(remarketing, "PUBLICATION_PANELS", None)
    if panels is not None and next_send_panel not in panels:
        panels.append(next_send_panel)


_install_hooks()
if (PUBLICATION_CONFIGURE, "publication/_home.html") not in HOME_SECTIONS:
    HOME_SECTIONS.append((PUBLICATION_CONFIGURE, "publication/_home.html"))


def register_admin(admin):
    admin.add_view(PublicationConfigView(name=_l("Configuration de la publication"), endpoint="publication_config",
                                         url="/publication/config", category=CATEGORY))
    admin.add_view(PublicationListView(PublicationList, name=_l("Listes de publication"), endpoint="publication_list",
                                       url="/publication/lists", category=CATEGORY))
    admin.add_view(ContactView(Contact, name=_l("Contacts"), endpoint="contact", url="/publication/contacts",
                               category=CATEGORY))
    admin.add_view(MediumView(Medium, name=_l("Médias"), endpoint="medium", url="/publication/media",
                              category=CATEGORY))
    admin.add_view(VehicleMediaView(name=_l("États média des véhicules"), endpoint="vehicle_media",
                                    url="/publication/vehicle"))
