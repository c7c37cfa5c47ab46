"""The vehicle stock: fiche VO (grouped fields, validation, price history) and photos (§2)."""
from __future__ import annotations

import io
import os
import uuid

from flask import current_app, flash, redirect, request, send_from_directory, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual, FilterInList, FilterLike
from flask_admin.form import rules
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import inspect, select
from wtforms import fields as wtf
from wtforms import validators as v

from backoffice.extensions import db
from backoffice.formatting import money, number
from models import Site, Vehicle, VehiclePhoto
from models.permissions import STOCK_READ, STOCK_WRITE
from models.vehicle import (AFFECTATIONS, BODY_CATEGORIES, DESTINATIONS, ENERGIES, GEARBOXES, GENRES,
                            ORIGINS, REGISTRATION_PATTERN, STATUSES, VIN_PATTERN, apply_sale_price)

from models.scoring import photo_points, refresh_scores, score_vehicle

from .base import ConcessionScopedModelView, current_scope

MONEY_FIELDS = ("purchase_price", "sale_price_ttc", "recon_cost_estimated", "recon_cost_actual",
                "merchant_price", "custom_valuation", "transaction_value", "listing_value")
ALLOWED_IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


def _choices(mapping):
    return [(k, label) for k, label in mapping.items()]


def _label(mapping):
    return lambda view, ctx, model, name: mapping.get(getattr(model, name), getattr(model, name) or "–")


def _scoped_sites():
    from flask import has_request_context

    if not has_request_context():  # Flask-Admin also asks once at start-up
        return []
    query = current_scope().filter(select(Site.id, Site.name).order_by(Site.name), Site)
    return [(str(i), n) for i, n in db.session.execute(query)]


def _positive(message):
    return v.NumberRange(min=0, message=message)


def _nonneg_money():
    return {"validators": [v.Optional(), _positive(_l("Le montant ne peut pas être négatif."))],
            "places": 2}


class VehicleView(ConcessionScopedModelView):
    """Fiche VO and the stock list."""
    permission = STOCK_READ
    write_permission = STOCK_WRITE
    can_export = True
    list_template = "vehicles/list.html"
    edit_template = "vehicles/edit.html"
    column_display_pk = False

    column_list = ("photo_count", "entry_number", "make", "model", "version", "site", "status",
                   "destination", "mileage", "sale_price_ttc", "entry_date", "price_changed_on")
    column_labels = {
        "photo_count": _l("Photos"), "entry_number": _l("N° entrée"), "make": _l("Marque"),
        "model": _l("Modèle"), "version": _l("Version"), "site": _l("Site"), "location": _l("Lieu"),
        "status": _l("Statut"), "destination": _l("Destination"), "affectation": _l("Affectation"),
        "origin": _l("Origine"), "mileage": _l("Kilométrage"), "sale_price_ttc": _l("Prix de vente TTC"),
        "sale_price_ht": _l("Prix de vente HT"), "vat_rate": _l("TVA (%)"),
        "entry_date": _l("Âge du stock"), "price_changed_on": _l("Âge du prix"),
        "purchase_date": _l("Date d'achat"), "order_date": _l("Date de commande"),
        "delivery_date": _l("Date de livraison"), "sale_date": _l("Date de vente"),
        "purchase_price": _l("Prix d'achat"), "recon_cost_estimated": _l("Frais de remise en état (devis)"),
        "recon_cost_actual": _l("Frais de remise en état (réels)"), "merchant_price": _l("Prix marchand"),
        "registration": _l("Immatriculation"), "registration_date": _l("Date carte grise"),
        "first_registration_date": _l("1re mise en circulation"), "genre": _l("Genre"),
        "energy": _l("Énergie"), "family": _l("Famille"), "vin": _l("VIN"), "cnit": _l("CNIT"),
        "body_category": _l("Carrosserie"), "fiscal_power": _l("Puissance fiscale"), "seats": _l("Places"),
        "doors": _l("Portes"), "co2": _l("CO₂ (g/km)"), "gearbox": _l("Boîte de vitesses"),
        "first_hand": _l("Première main"), "provenance": _l("Provenance"),
        "last_inspection_date": _l("Dernier contrôle technique"), "colour": _l("Couleur"),
        "warranty": _l("Garantie"), "equipment": _l("Équipements"), "description": _l("Description"),
        "supplier": _l("Fournisseur"), "intermediary": _l("Intermédiaire"), "buyer": _l("Acheteur"),
        "repreneur": _l("Repreneur"), "salesperson": _l("Vendeur"), "referenced": _l("Référencé"),
        "custom_valuation": _l("Cote personnalisée"), "custom_valuation_date": _l("Date de la cote"),
        "transaction_value": _l("Valeur transaction"), "listing_value": _l("Valeur annonce"), "valuation_date": _l("Date de cotation"),
        "concession": _l("Concession"), "site.name": _l("Site"),
    }
    column_searchable_list = ("make", "model", "entry_number", "registration", "vin")
    column_sortable_list = ("photo_count", "entry_number", "make", "model", "version", ("site", "site.name"),
                            "status", "destination", "mileage", "sale_price_ttc", "entry_date",
                            "price_changed_on")
    column_default_sort = ("entry_date", True)
    column_formatters = {
        "status": _label(STATUSES),
        "destination": _label(DESTINATIONS),
        "mileage": lambda v_, c, m, n: number(m.mileage) + " km" if m.mileage is not None else "–",
        "sale_price_ttc": lambda v_, c, m, n: money(m.sale_price_ttc),
        "entry_date": lambda v_, c, m, n: _("%(days)s j", days=m.stock_days()) if m.entry_date else "–",
        "price_changed_on": lambda v_, c, m, n: (_("%(days)s j", days=m.price_age_days())
                                                 if m.price_changed_on else "–"),
        "photo_count": lambda v_, c, m, n: (
            Markup('<a href="{}">{}</a>').format(url_for(".photos_view", id=m.id), m.photo_count)
            if m.photo_count else
            Markup('<a href="{}">{}</a>').format(url_for(".photos_view", id=m.id), _("Ajouter une photo"))),
    }
    column_export_list = ("entry_number", "site.name", "status", "destination", "make", "model", "version",
                          "registration", "vin", "mileage", "sale_price_ttc", "entry_date",
                          "price_changed_on", "photo_count", "referenced")
    column_formatters_export = {
        "status": lambda v_, c, m, n: m.status,
        "destination": lambda v_, c, m, n: m.destination,
        "sale_price_ttc": lambda v_, c, m, n: m.sale_price_ttc,
        "entry_date": lambda v_, c, m, n: m.entry_date.isoformat() if m.entry_date else "",
        "price_changed_on": lambda v_, c, m, n: m.price_changed_on.isoformat() if m.price_changed_on else "",
        "photo_count": lambda v_, c, m, n: m.photo_count,
    }
    column_filters = (
        FilterEqual(Vehicle.site_id, _l("Site"), options=_scoped_sites),
        FilterInList(Vehicle.status, _l("Statut"), options=lambda: _choices(STATUSES)),
        FilterEqual(Vehicle.destination, _l("Destination"), options=lambda: _choices(DESTINATIONS)),
        FilterLike(Vehicle.make, _l("Marque")),
        FilterLike(Vehicle.model, _l("Modèle")),
        FilterEqual(Vehicle.energy, _l("Énergie"), options=lambda: _choices(ENERGIES)),
        BooleanEqualFilter(Vehicle.referenced, _l("Référencé")),
        FilterEqual(Vehicle.photo_count, _l("Photos")),
    )

    form_excluded_columns = ("concession", "photo_count", "price_changed_on", "sale_price_ht", "created_at",
                             "score", "score_photos", "score_price", "score_referenced", "score_deal",
                             "score_resale", "resale_ease", "scored_on",
                             "updated_at", "photos", "price_changes")
    form_choices = {
        "status": _choices(STATUSES), "affectation": _choices(AFFECTATIONS), "origin": _choices(ORIGINS),
        "destination": _choices(DESTINATIONS), "genre": _choices(GENRES), "energy": _choices(ENERGIES),
        "gearbox": _choices(GEARBOXES), "body_category": _choices(BODY_CATEGORIES),
    }
    form_args = {
        "entry_number": {"validators": [v.InputRequired(message=_l("Le numéro d'entrée est obligatoire.")),
                                        v.Length(max=20)]},
        "site": {"validators": [v.InputRequired(message=_l("Choisissez un site."))]},
        "make": {"validators": [v.InputRequired(message=_l("La marque est obligatoire."))]},
        "model": {"validators": [v.InputRequired(message=_l("Le modèle est obligatoire."))]},
        "entry_date": {"validators": [v.InputRequired(message=_l("La date d'entrée est obligatoire."))]},
        "vin": {"validators": [v.Optional(), v.Regexp(VIN_PATTERN, message=_l(
            "Le VIN doit comporter exactement 17 caractères (chiffres et lettres, sauf I, O et Q)."))],
            "filters": [lambda s: s.strip().upper() if s else None]},
        "registration": {"validators": [v.Optional(), v.Regexp(REGISTRATION_PATTERN, message=_l(
            "Immatriculation invalide : format AA-123-AA (ou ancien format 1234 AB 56)."))],
            "filters": [lambda s: s.strip().upper() if s else None]},
        "mileage": {"validators": [v.Optional(), _positive(_l("Le kilométrage ne peut pas être négatif."))]},
        "fiscal_power": {"validators": [v.Optional(), v.NumberRange(min=1, max=999)]},
        "seats": {"validators": [v.Optional(), v.NumberRange(min=1, max=99)]},
        "doors": {"validators": [v.Optional(), v.NumberRange(min=0, max=9)]},
        "co2": {"validators": [v.Optional(), v.NumberRange(min=0, max=999)]},
        "vat_rate": {"validators": [v.InputRequired(), v.NumberRange(min=0, max=100)]},
        **{name: _nonneg_money() for name in MONEY_FIELDS},
    }
    form_overrides = {"mileage": wtf.IntegerField}
    form_widget_args = {"equipment": {"rows": 3}, "description": {"rows": 4}}

    form_rules = [
        rules.FieldSet(("entry_number", "site", "location", "status", "affectation", "origin", "destination"),
                       _l("Statut")),
        rules.FieldSet(("purchase_date", "entry_date", "order_date", "delivery_date", "sale_date",
                        "purchase_price", "sale_price_ttc", "vat_rate", "recon_cost_estimated",
                        "recon_cost_actual", "merchant_price"), _l("Dates et prix")),
        rules.FieldSet(("registration", "registration_date", "first_registration_date", "genre", "energy",
                        "make", "model", "version", "family", "vin", "cnit", "body_category", "fiscal_power",
                        "seats", "doors", "co2", "gearbox"), _l("Véhicule")),
        rules.FieldSet(("mileage", "first_hand", "provenance", "last_inspection_date", "colour", "warranty",
                        "equipment", "description"), _l("Infos commerciales")),
        rules.FieldSet(("supplier", "intermediary", "buyer", "repreneur", "salesperson"), _l("Acteurs")),
        rules.FieldSet(("referenced", "custom_valuation", "custom_valuation_date", "transaction_value", "valuation_date",
                        "listing_value"), _l("Cotation")),
    ]

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or not hasattr(form, "entry_number"):
            return ok
        # Entry number is unique per concession: say so next to the field, not as a database error.
        site = form.site.data
        if site is not None and form.entry_number.data:
            clash = select(Vehicle.id).where(Vehicle.concession_id == site.concession_id,
                                             Vehicle.entry_number == form.entry_number.data.strip())
            current_id = request.args.get("id", type=int)
            if current_id:
                clash = clash.where(Vehicle.id != current_id)
            if db.session.execute(clash).first():
                form.entry_number.errors.append(_("Ce numéro d'entrée existe déjà dans la concession."))
                ok = False
        location = form.location.data if hasattr(form, "location") else None
        if location is not None and site is not None and location.site_id != site.id:
            form.location.errors.append(_("Ce lieu n'appartient pas au site choisi."))
            ok = False
        return ok

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        model.entry_number = model.entry_number.strip()
        history = inspect(model).attrs.sale_price_ttc.history
        typed = model.sale_price_ttc
        old = (history.deleted or history.unchanged or [None])[0] if not is_created else None
        model.sale_price_ttc = old
        apply_sale_price(model, typed, current_user.id)
        status = inspect(model).attrs.status.history  # read before a query flushes it away
        sold_or_unsold = not is_created and "VND" in list(status.added or []) + list(status.deleted or [])
        score_vehicle(db.session, model)  # the score's inputs may have changed (price, cote, km…)
        if sold_or_unsold:  # a sale (or its cancellation) moves the resale median of this make+model
            refresh_scores(db.session, make_model=(model.make, model.model))

    # Photos ---------------------------------------------------------------------------------
    @expose("/photos/<int:id>/", methods=("GET", "POST"))
    def photos_view(self, id):
        vehicle = self.get_one(id)
        if request.method == "POST":
            if not self.can_edit:
                return redirect(url_for(".photos_view", id=id))
            action = request.form.get("action")
            if action == "upload":
                self._upload_photos(vehicle, request.files.getlist("photos"))
            elif action in ("up", "down", "delete"):
                photo = next((p for p in vehicle.photos if str(p.id) == request.form.get("photo_id")), None)
                if photo is None:
                    flash(_("Photo introuvable."), "error")
                elif action == "delete":
                    self._delete_photo(vehicle, photo)
                else:
                    self._move_photo(vehicle, photo, -1 if action == "up" else 1)
            if vehicle.score_photos != photo_points(vehicle.photo_count):
                score_vehicle(db.session, vehicle)  # the photo count is part of the score
                db.session.commit()
            return redirect(url_for(".photos_view", id=id))
        return self.render("vehicles/photos.html", vehicle=vehicle,
                           max_mb=current_app.config["PHOTO_MAX_BYTES"] // (1024 * 1024))

    @expose("/photo/<int:photo_id>")
    def photo_file(self, photo_id):
        photo = db.session.get(VehiclePhoto, photo_id)
        if photo is None:
            return self.get_one(0)  # 404
        vehicle = self.get_one(photo.vehicle_id)
        return send_from_directory(_photo_dir(vehicle.id), photo.filename, mimetype=photo.content_type)

    def _upload_photos(self, vehicle, files):
        files = [f for f in files if f and f.filename]
        if not files:
            flash(_("Choisissez au moins une image."), "error")
            return
        checked, limit = [], current_app.config["PHOTO_MAX_BYTES"]
        for f in files:
            data = f.read(limit + 1)
            kind = _image_kind(data)
            if len(data) > limit:
                flash(_("%(name)s : image trop lourde (%(max)s Mo au plus).", name=f.filename,
                        max=limit // (1024 * 1024)), "error")
            elif kind is None:
                flash(_("%(name)s : ce n'est pas une image JPEG, PNG ou WebP.", name=f.filename), "error")
            else:
                checked.append((data, kind))
        if len(checked) != len(files):
            return  # all or nothing: one bad file refuses the upload, nothing is written
        folder = _photo_dir(vehicle.id)
        os.makedirs(folder, exist_ok=True)
        position = max((p.position for p in vehicle.photos), default=-1)
        written = []
        try:
            for data, (mime, ext) in checked:
                position += 1
                name = f"{uuid.uuid4().hex}.{ext}"
                with open(os.path.join(folder, name), "wb") as out:
                    out.write(data)
                written.append(name)
                vehicle.photos.append(VehiclePhoto(filename=name, content_type=mime, size_bytes=len(data),
                                                   position=position))
            vehicle.photo_count = len(vehicle.photos)
            db.session.commit()
        except Exception:
            db.session.rollback()
            for name in written:
                _remove_quietly(os.path.join(folder, name))
            raise
        flash(_("%(count)s photo(s) ajoutée(s).", count=len(checked)), "success")

    def _delete_photo(self, vehicle, photo):
        path = os.path.join(_photo_dir(vehicle.id), photo.filename)
        vehicle.photos.remove(photo)
        for i, p in enumerate(vehicle.photos):
            p.position = i
        vehicle.photo_count = len(vehicle.photos)
        db.session.commit()
        _remove_quietly(path)
        flash(_("Photo supprimée."), "success")

    def _move_photo(self, vehicle, photo, delta):
        photos = list(vehicle.photos)
        i = photos.index(photo)
        j = i + delta
        if 0 <= j < len(photos):
            photos[i], photos[j] = photos[j], photos[i]
            for k, p in enumerate(photos):
                p.position = k
            db.session.commit()


def _photo_dir(vehicle_id: int) -> str:
    return os.path.join(current_app.config["PHOTO_FOLDER"], str(vehicle_id))


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _image_kind(data: bytes):
    """(mime, extension) when the bytes are a real JPEG/PNG/WebP image, else None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return ALLOWED_IMAGE_FORMATS.get(fmt)


def register_admin(admin):
    admin.add_view(VehicleView(Vehicle, name=_l("Stock VO"), endpoint="vehicle", url="/vehicles",
                               category=_l("Stock")))
