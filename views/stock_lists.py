"""Stock lists Particulier / Marchand (§5): filters, quick and advanced search, sort, export, in-place price.

``/stock/<destination>/`` lists the vehicles of one destination (retail, trade, none…) of the user's
scope, filtered by the parameters of ``models.stock_filters`` (the same conditions the dashboards
count with). A page is a known set of statements: the count, the page rows (one select joining site
and location), the first photo of the page's vehicles, the concessions and sites of the selector,
and whatever the Média column provider needs (one call for the page's ids). Exports run the same
select without the page limit.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from flask import Response, abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from backoffice.extensions import db
from backoffice.formatting import money
from models import Concession, Location, Site, Vehicle, VehiclePhoto
from models.permissions import STOCK_READ, STOCK_WRITE
from models.scope import parse_id
from models.scoring import RESALE_LABELS, score_vehicle, stored_breakdown
from models.stock_filters import (DEAL_BUCKETS, PRICE_AGE_BUCKETS, PRICE_BANDS, STOCK_AGE_BUCKETS,
                                  list_destinations, param_values, statuses, stock_conditions)
from models.valuation import (MAX_IMPORT_BYTES, ComparableSalesProvider, NotQuotable, apply_quote,
                              apply_valuation_rows, displayed_cote, facts_of, is_stale, parse_valuation_csv)
from models.vehicle import (AFFECTATIONS, BODY_CATEGORIES, DESTINATIONS, ENERGIES, GEARBOXES, GENRES, ORIGINS,
                            STATUSES, apply_sale_price)

from .base import SecureBaseView, current_scope, neutralise_formula

# The Média column (§6.4): the publication module sets a callable(vehicle_ids) -> {vehicle_id: Markup}.
MEDIA_COLUMN_PROVIDER = None
# The valuation provider used by "Coter": a callable(session, today) -> ValuationProvider.
VALUATION_PROVIDER_FACTORY = ComparableSalesProvider

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
LIST_TITLES = {"retail": _l("VO à particulier"), "trade": _l("VO à marchand"), "none": _l("VO sans destination"),
               "destruction": _l("VO à détruire"), "transfer": _l("VO mutés"), "all": _l("Tous les VO")}

_cote = func.coalesce(Vehicle.custom_valuation, Vehicle.transaction_value)
# Sort keys (URL ``sort``) → SQL expression; ``dir=desc`` reverses. Ages sort on their dates, reversed.
SORTS = {
    "vehicle": (Vehicle.make, Vehicle.model, Vehicle.version),
    "make": (Vehicle.make,), "model": (Vehicle.model,), "version": (Vehicle.version,),
    "entry_number": (Vehicle.entry_number,), "registration": (Vehicle.registration,),
    "year": (Vehicle.first_registration_date,), "mileage": (Vehicle.mileage,),
    "warranty": (Vehicle.warranty,), "purchase_price": (Vehicle.purchase_price,),
    "recon_estimated": (Vehicle.recon_cost_estimated,), "recon_actual": (Vehicle.recon_cost_actual,),
    "score": (Vehicle.score,), "photos": (Vehicle.photo_count,), "resale": (Vehicle.score_resale,),
    "deal": (Vehicle.score_deal,), "referenced": (Vehicle.referenced,),
    "status": (Vehicle.status,), "stock_age": (Vehicle.entry_date,), "site": (Site.name,),
    "location": (Location.name,), "affectation": (Vehicle.affectation,),
    "price": (Vehicle.sale_price_ttc,), "price_age": (Vehicle.price_changed_on,),
    "cote": (_cote,), "transaction_value": (Vehicle.transaction_value,), "listing_value": (Vehicle.listing_value,),
}
DEFAULT_SORT = "score"
REVERSED_SORTS = ("stock_age", "price_age")

ROW_COLUMNS = (
    Vehicle.id, Vehicle.concession_id, Vehicle.entry_number, Vehicle.make, Vehicle.model, Vehicle.version,
    Vehicle.registration, Vehicle.first_registration_date, Vehicle.mileage, Vehicle.warranty,
    Vehicle.purchase_price, Vehicle.recon_cost_estimated, Vehicle.recon_cost_actual, Vehicle.photo_count,
    Vehicle.score, Vehicle.score_photos, Vehicle.score_price, Vehicle.score_referenced, Vehicle.score_deal,
    Vehicle.score_resale, Vehicle.resale_ease, Vehicle.referenced, Vehicle.status, Vehicle.entry_date,
    Vehicle.affectation, Vehicle.destination, Vehicle.sale_price_ttc, Vehicle.price_changed_on,
    Vehicle.custom_valuation, Vehicle.custom_valuation_date, Vehicle.transaction_value, Vehicle.listing_value,
    Vehicle.valuation_date, Vehicle.energy, Site.name.label("site_name"), Location.name.label("location_name"),
)

# Export columns, in order (the values are built by export_values).
EXPORT_HEADERS = (
    _l("N° entrée"), _l("Immatriculation"), _l("Marque"), _l("Modèle"), _l("Version"), _l("Année"),
    _l("Kilométrage"), _l("Note (/10)"), _l("Nb photos"), _l("Facilité de revente"), _l("Bonne affaire"),
    _l("Référencé"), _l("Statut"), _l("Âge du stock (j)"), _l("Site"), _l("Lieu"), _l("Affectation"),
    _l("Prix de vente TTC"), _l("Âge du prix (j)"), _l("Cote"), _l("Date de la cote"), _l("Valeur transaction"),
    _l("Valeur annonce"),
)


def export_values(rows, today):
    """Cell values of the exported rows; translations looked up once, typed text neutralised."""
    yes, no = _("Oui"), _("Non")
    affectations = {k: str(v) for k, v in AFFECTATIONS.items()}
    n = neutralise_formula
    for r in rows:
        cote, cote_date = displayed_cote(r)
        yield [
            n(r.entry_number), n(r.registration), n(r.make), n(r.model), n(r.version),
            r.first_registration_date.year if r.first_registration_date else None, r.mileage, r.score,
            r.photo_count, RESALE_LABELS.get(r.resale_ease, ""), r.score_deal, yes if r.referenced else no,
            r.status, (today - r.entry_date).days if r.entry_date else None, n(r.site_name), n(r.location_name),
            affectations.get(r.affectation, r.affectation or ""), _number(r.sale_price_ttc),
            (today - r.price_changed_on).days if r.price_changed_on else None, _number(cote), cote_date,
            _number(r.transaction_value), _number(r.listing_value),
        ]


def _today() -> dt.date:
    return dt.date.today()


def _safe_next(default: str) -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.headers.get("X-Requested-With") == "fetch"


def parse_price(text: str) -> tuple[Decimal | None, str | None]:
    """A typed sale price (French notation allowed) or the French message that refuses it."""
    cleaned = (text or "").strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("€", "")
    if not cleaned:
        return None, _("Saisissez un prix de vente TTC.")
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(".", "")
    cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None, _("Le prix doit être un nombre (par exemple 12 990).")
    if not value.is_finite():
        return None, _("Le prix doit être un nombre (par exemple 12 990).")
    if value < 0:
        return None, _("Le prix ne peut pas être négatif.")
    if value >= Decimal("10000000"):
        return None, _("Le prix est trop élevé.")
    return value.quantize(Decimal("0.01")), None


class StockListView(SecureBaseView):
    """The stock list of one destination (§5)."""
    permission = STOCK_READ

    # Query --------------------------------------------------------------------------------------
    def _params(self, destination) -> MultiDict:
        params = MultiDict(request.args)
        params.setlist("destination", [] if destination == "all" else [destination])
        return params

    def _filtered(self, destination, today):
        """(conditions incl. scope, params) for the current request."""
        params = self._params(destination)
        conds = stock_conditions(params, today)
        clause = current_scope().clause(Vehicle)
        if clause is not None:
            conds.append(clause)
        return conds, params

    @staticmethod
    def _sort():
        key = request.args.get("sort", DEFAULT_SORT)
        if key not in SORTS:
            key = DEFAULT_SORT
        desc = request.args.get("dir") == "desc"
        order = []
        for expr in SORTS[key]:
            reverse = key in REVERSED_SORTS  # ages: a young age is a recent date
            descending = desc != reverse
            order.append((expr.desc() if descending else expr.asc()).nulls_last())
        order.append(Vehicle.id.desc() if desc else Vehicle.id.asc())
        return key, desc, order

    @staticmethod
    def _rows_select(conds, order):
        return (select(*ROW_COLUMNS).select_from(Vehicle).join(Site, Site.id == Vehicle.site_id)
                .outerjoin(Location, Location.id == Vehicle.location_id).where(*conds).order_by(*order))

    # Pages --------------------------------------------------------------------------------------
    @expose("/")
    def root(self):
        return self.index("retail")

    @expose("/<destination>/")
    def index(self, destination):
        if destination not in list_destinations():
            abort(404)
        today = _today()
        conds, params = self._filtered(destination, today)
        sort, desc, order = self._sort()
        per_page = request.args.get("per_page", DEFAULT_PAGE_SIZE, type=int)
        per_page = per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE
        total = db.session.execute(select(func.count()).select_from(Vehicle).where(*conds)).scalar()
        pages = max(1, -(-total // per_page))
        page = min(max(1, request.args.get("page", 1, type=int)), pages)
        rows = db.session.execute(self._rows_select(conds, order).limit(per_page)
                                  .offset((page - 1) * per_page)).all()
        ids = [r.id for r in rows]
        thumbs = {}
        if ids:
            for vehicle_id, photo_id in db.session.execute(
                    select(VehiclePhoto.vehicle_id, VehiclePhoto.id).where(VehiclePhoto.vehicle_id.in_(ids))
                    .order_by(VehiclePhoto.vehicle_id, VehiclePhoto.position, VehiclePhoto.id)):
                thumbs.setdefault(vehicle_id, photo_id)
        media = MEDIA_COLUMN_PROVIDER(ids) if (MEDIA_COLUMN_PROVIDER and ids) else None
        concessions, sites = self._selector_choices(params)
        return self.render(
            "stock_lists/list.html", destination=destination, title=LIST_TITLES[destination], rows=rows,
            total=total, page=page, pages=pages, per_page=per_page, page_sizes=PAGE_SIZES, sort=sort, desc=desc,
            thumbs=thumbs, media=media, has_media=MEDIA_COLUMN_PROVIDER is not None, today=today,
            media_legend=getattr(MEDIA_COLUMN_PROVIDER, "legend", None),
            params=params, chosen_statuses=statuses(params) or [], concessions=concessions, sites=sites,
            can_write=current_user.has_permission(STOCK_WRITE), helpers=ListHelpers(destination, today),
            active_filters=self._active_filters(params, concessions, sites), option_lists=OPTION_LISTS,
            bucket_lists=BUCKET_LISTS)

    @staticmethod
    def _selector_choices(params):
        """Concessions and sites of the scope for the selector (sites of the chosen concession)."""
        scope = current_scope()
        concessions = db.session.execute(
            scope.filter(select(Concession.id, Concession.name).order_by(Concession.name), Concession)).all()
        chosen = [i for i in map(parse_id, param_values(params, "concession")) if i is not None]
        chosen_sites = [i for i in map(parse_id, param_values(params, "site")) if i is not None]
        site_q = select(Site.id, Site.name, Site.concession_id).order_by(Site.name)
        if chosen:
            site_q = site_q.where(Site.concession_id.in_(chosen))
        elif scope.is_network and chosen_sites:  # a dashboard link to one site: offer its concession's sites
            site_q = site_q.where(Site.concession_id.in_(
                select(Site.concession_id).where(Site.id.in_(chosen_sites)).scalar_subquery()))
        elif scope.is_network:
            return concessions, None  # thousands of sites network-wide: choose a concession first
        sites = db.session.execute(scope.filter(site_q, Site)).all()
        return concessions, sites

    @staticmethod
    def _active_filters(params, concessions, sites):
        """(label, url without it) for every filter in effect, so a dashboard link is visible and removable."""
        labels = {"score": _("Note"), "stock_age": _("Âge du stock"), "price_age": _("Âge du prix"),
                  "deal": _("Bonne affaire"), "price_band": _("Tranche de prix"), "energy": _("Énergie"),
                  "make": _("Marque"), "model": _("Modèle"), "q": _("Recherche"), "site": _("Site"),
                  "concession": _("Concession"), "no_price": _("Sans prix"), "no_photos": _("Sans photo"),
                  "not_referenced": _("Non référencé"), "valuation_stale": _("Cote de plus de 15 jours"),
                  "no_valuation": _("Sans cote")}
        names = {("concession", str(c.id)): c.name for c in concessions}
        names.update({("site", str(s.id)): s.name for s in (sites or [])})
        for key, buckets in BUCKET_LISTS.items():
            names.update({(key, b.key): str(b.label) for b in buckets})
        names.update({("energy", k): str(v) for k, v in ENERGIES.items()})
        out = []
        for key in params:
            if key in ("destination", "status", "page", "sort", "dir", "per_page", "advanced"):
                continue
            values = param_values(params, key) if key != "q" else [params.get("q", "")]
            values = [v for v in values if v]
            if not values:
                continue
            shown = ", ".join(names.get((key, v), v) for v in values)
            label = labels.get(key, key)
            rest = [(k, v) for k, v in params.items(multi=True) if k not in (key, "destination", "page")]
            out.append((f"{label} : {shown}" if key not in FLAG_LABELS else label,
                        request.path + ("?" + urlencode(rest) if rest else "")))
        return out

    # Export -------------------------------------------------------------------------------------
    @expose("/<destination>/export/<fmt>")
    def export(self, destination, fmt):
        if destination not in list_destinations() or fmt not in ("csv", "xlsx"):
            abort(404)
        today = _today()
        conds, _params = self._filtered(destination, today)
        _key, _desc, order = self._sort()
        stmt = self._rows_select(conds, order).limit(EXPORT_LIMIT)
        headers = [str(h) for h in EXPORT_HEADERS]
        rows = export_values(db.session.execute(stmt.execution_options(yield_per=2000)), today)
        name = f"stock-{destination}-{today.isoformat()}"
        if fmt == "csv":
            out = io.StringIO()
            out.write("\ufeff")  # Excel opens UTF-8 with accents correctly
            writer = csv.writer(out, delimiter=";")
            writer.writerow(headers)
            for values in rows:
                writer.writerow([_csv_text(v) for v in values])
            return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(str(LIST_TITLES[destination])[:31])
        ws.append(headers)
        for values in rows:
            ws.append(values)
        buf = io.BytesIO()
        wb.save(buf)
        return Response(buf.getvalue(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})

    # Actions ------------------------------------------------------------------------------------
    def _writable_vehicle(self, id):
        if not current_user.has_permission(STOCK_WRITE):
            abort(403)
        return current_scope().get_or_404(Vehicle, id)

    @expose("/price/<int:id>", methods=("POST",))
    def edit_price(self, id):
        """In-place edit of the sale price TTC: validated, dated, recorded, rescored."""
        vehicle = self._writable_vehicle(id)
        back = _safe_next(url_for(".index", destination=vehicle.destination
                                  if vehicle.destination in list_destinations() else "all"))
        price, error = parse_price(request.form.get("price", ""))
        if error:
            if _wants_json():
                return jsonify(ok=False, message=error), 400
            flash(_("VO %(number)s : %(error)s", number=vehicle.entry_number, error=error), "error")
            return redirect(back)
        today = _today()
        changed = apply_sale_price(vehicle, price, current_user.id, today=today)
        breakdown = score_vehicle(db.session, vehicle, today=today)
        db.session.commit()
        message = (_("VO %(number)s : prix de vente enregistré (%(price)s).", number=vehicle.entry_number,
                     price=money(price)) if changed else
                   _("VO %(number)s : prix inchangé.", number=vehicle.entry_number))
        if _wants_json():
            return jsonify(ok=True, changed=changed, message=message, price=money(price),
                           price_age=vehicle.price_age_days(today), score=breakdown.total,
                           score_detail=score_title(vehicle))
        flash(message, "success")
        return redirect(back)

    @expose("/coter/<int:id>", methods=("POST",))
    def coter(self, id):
        """Ask the valuation provider for this vehicle and store the quote with its date."""
        vehicle = self._writable_vehicle(id)
        back = _safe_next(url_for(".index", destination=vehicle.destination
                                  if vehicle.destination in list_destinations() else "all"))
        today = _today()
        provider = VALUATION_PROVIDER_FACTORY(db.session, today=today)
        quote = provider.quote(facts_of(vehicle))
        if isinstance(quote, NotQuotable):
            flash(_("VO %(number)s non cotable : %(reason)s.", number=vehicle.entry_number, reason=quote.reason),
                  "warning")
            return redirect(back)
        apply_quote(vehicle, quote)
        score_vehicle(db.session, vehicle, today=today)
        db.session.commit()
        flash(_("VO %(number)s coté : valeur transaction %(value)s (%(count)s ventes comparables).",
                number=vehicle.entry_number, value=money(quote.transaction_value), count=quote.comparables),
              "success")
        return redirect(back)

    @expose("/import-valuations/", methods=("GET", "POST"))
    def import_valuations(self):
        """Import of valuations from the external reference's CSV file (scoped matching)."""
        if not current_user.has_permission(STOCK_WRITE):
            abort(403)
        result = parse_errors = None
        if request.method == "POST":
            upload = request.files.get("file")
            data = upload.read(MAX_IMPORT_BYTES + 1) if upload and upload.filename else b""
            if not data:
                flash(_("Choisissez un fichier CSV."), "error")
            elif len(data) > MAX_IMPORT_BYTES:
                flash(_("Fichier trop volumineux (5 Mo au plus)."), "error")
            else:
                today = _today()
                rows, parse_errors = parse_valuation_csv(data, today)
                result = apply_valuation_rows(db.session, rows, current_scope().clause(Vehicle))
                if result.vehicle_ids:
                    from models.scoring import refresh_scores

                    refresh_scores(db.session, vehicle_ids=result.vehicle_ids, today=today)
                db.session.commit()
                result.errors = sorted(parse_errors + result.errors)
        return self.render("stock_lists/import.html", result=result, back=_safe_next(url_for(".index",
                                                                                              destination="retail")))


def _csv_text(value) -> str:
    """French spreadsheet conventions: decimal comma, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def _number(value):
    return float(value) if value is not None else None


FLAG_LABELS = ("no_price", "no_photos", "not_referenced", "valuation_stale", "no_valuation")
BUCKET_LISTS = {"stock_age": STOCK_AGE_BUCKETS, "price_age": PRICE_AGE_BUCKETS, "deal": DEAL_BUCKETS,
                "price_band": PRICE_BANDS}
OPTION_LISTS = {"energy": ENERGIES, "gearbox": GEARBOXES, "genre": GENRES, "body": BODY_CATEGORIES,
                "affectation": AFFECTATIONS, "origin": ORIGINS, "status": STATUSES, "destination": DESTINATIONS}


class ListHelpers:
    """Small formatting helpers for the list template (no queries)."""

    _MARK = 987654321

    def __init__(self, destination, today):
        self.destination = destination
        self.today = today
        # URL patterns built once per page; rows only substitute their id.
        mark = str(self._MARK)
        self._links = {
            name: url_for(endpoint, **{arg: self._MARK}).replace(mark, "{}")
            for name, endpoint, arg in (("photos", "vehicle.photos_view", "id"),
                                        ("photo_file", "vehicle.photo_file", "photo_id"),
                                        ("edit", "vehicle.edit_view", "id"),
                                        ("price", "stock_list.edit_price", "id"),
                                        ("coter", "stock_list.coter", "id"))}
        self._score_text = _("Photos %(p)s/3 · Prix récent %(f)s/2 · Référencé %(r)s/1 · Bonne affaire %(d)s/2 · "
                             "Revente %(e)s %(s)s/2")

    def link(self, name, ident) -> str:
        return self._links[name].format(int(ident))

    @staticmethod
    def price_input(price) -> str:
        """The price as typed in the in-place field: 12490 or 12490.50."""
        if price is None:
            return ""
        return str(int(price)) if price == int(price) else f"{price:.2f}"

    def url(self, **changes):
        """The current list URL with some parameters changed (None removes one)."""
        params = MultiDict(request.args)
        for key, value in changes.items():
            params.poplist(key)
            if value is not None:
                params.setlist(key, value if isinstance(value, list) else [value])
        query = urlencode(list(params.items(multi=True)))
        return request.path + ("?" + query if query else "")

    def sort_url(self, key, current, desc):
        return self.url(sort=key, dir="asc" if (current == key and desc) else ("desc" if current == key else None),
                        page=None)

    def age(self, day):
        return (self.today - day).days if day else None

    def score_title(self, row) -> str:
        return score_title(row, self._score_text)

    @staticmethod
    def resale_label(row):
        return RESALE_LABELS.get(row.resale_ease, "–")

    def cote(self, row):
        """(value, stale) of the cote shown."""
        value, day = displayed_cote(row)
        return value, is_stale(day, self.today)

    @staticmethod
    def label(mapping, key):
        return mapping.get(key, key) if key else "–"


def score_title(row, text: str | None = None) -> str:
    """The breakdown of a stored score, as the tooltip of the note."""
    b = stored_breakdown(row)
    if b is None:
        return _("Note non calculée")
    text = text or _("Photos %(p)s/3 · Prix récent %(f)s/2 · Référencé %(r)s/1 · Bonne affaire %(d)s/2 · "
                     "Revente %(e)s %(s)s/2")
    return text % {"p": b.photos, "f": b.price, "r": b.referenced, "d": b.deal,
                   "e": RESALE_LABELS.get(b.resale_ease, ""), "s": b.resale}


def register_admin(admin):
    from flask_admin.menu import MenuLink

    admin.add_view(StockListView(name=_l("VO à particulier"), endpoint="stock_list", url="/stock",
                                 category=_l("Remarketing")))
    admin.add_link(MenuLink(name=_l("VO à marchand"), url="/stock/trade/", category=_l("Remarketing")))
