"""Publication screens (§6.1–§6.4): media, publication lists and contacts (Flask-Admin CRUD), and
the registration of the publication menu with its other screens: "Configuration de la publication"
(``views.publication_config``), the per-vehicle media flags (``views.media_flags``) and the
"Prochain envoi" panel of the dashboard (``views.next_send``).

Thin views: the decision is ``models.send_decision.decide`` over inputs loaded by
``models.publication_inputs`` (a few set-based queries per concession); the clicks on flags are the
pure transitions of ``models.media_state``.
"""
from __future__ import annotations

import re

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import fields as wtf
from wtforms import validators as v

from backoffice.extensions import db
from models.permissions import MEDIA_ADMIN, PUBLICATION_CONFIGURE
from models.publication import (DELIVERY_KINDS, FEED_FORMATS, LIST_CODE_RE, MANDATORY_FIELD_LABELS,
                                MEDIUM_DESTINATIONS, MEDIUM_KINDS, Contact, ListSubscription, Medium, MediumConfig,
                                PublicationList, split_codes)
from models.vehicle import STATUSES

from .base import ConcessionScopedModelView, SecureModelView, current_scope
from .home import HOME_SECTIONS
from .media_flags import VehicleMediaView, render_media_flags
from .next_send import next_send_panel
from .publication_config import PublicationConfigView
from .publication_fields import CommaListField, MultiCheckboxField, choices

CATEGORY = _l("Publication")


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
        "kind": {"choices": choices(MEDIUM_KINDS)},
        "destination": {"choices": choices(MEDIUM_DESTINATIONS)},
        "feed_format": {"choices": choices(FEED_FORMATS)},
        "delivery_kind": {"choices": choices(DELIVERY_KINDS)},
        "mandatory_fields": {"choices": choices(MANDATORY_FIELD_LABELS),
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
        "statuses": {"label": _l("Statuts"), "choices": choices(STATUSES),
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
