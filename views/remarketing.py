"""Remarketing dashboards (§4): Publication, Particulier, Marchand.

Thin views: the figures come from ``models.stock_indicators`` (set-based, one statement per
figure), the charts from ``reports.charts`` (SVG, each bar a link to the stock list with the
same parameters the count was made with). The site selector and the status filter are parsed
once into a ``Selection`` that every figure and every link carries.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from backoffice.extensions import db
from backoffice.formatting import number
from models import stock_indicators as si
from models.permissions import STOCK_READ
from models.stock_filters import stock_list_url
from models.vehicle import DESTINATIONS, ENERGIES, STATUSES
from reports.charts import BAR_COLOUR, NETWORK_COLOUR, Bar, column_chart, paired_column_chart, row_chart

from .base import SecureBaseView, current_scope
from .home import HOME_SECTIONS

# Panels of the publication dashboard provided by other features (last send, next send, send
# detail, history of send reports). Each is a callable ``(scope, selection) -> Markup`` or
# ``-> (title, Markup)``; None or an empty Markup hides the panel. While no feature has added
# one, the dashboard shows an empty state for sends.
PUBLICATION_PANELS: list = []

if (STOCK_READ, "remarketing/_home.html") not in HOME_SECTIONS:
    HOME_SECTIONS.append((STOCK_READ, "remarketing/_home.html"))

REPARTITION_LIMIT = 15  # makes and sites shown in a répartition chart (largest first)


def today() -> dt.date:
    """The day stock and price ages are counted to (the stock lists use the same)."""
    return dt.date.today()


class Selector:
    """The site/concession selector and status filter of a request, checked against the scope.

    Values: ``all``, ``c<concession id>``, ``s<site id>`` (parameter ``where``); links coming from the
    stock lists may carry ``site=`` / ``concession=`` instead."""

    def __init__(self, scope, args):
        self.error = None
        kind, ident = self._parse(args)
        self.options = si.site_options(db.session, scope, concession_id=ident if kind == "c" else None,
                                       site_id=ident if kind == "s" else None)
        if scope.is_network:  # thousands of sites: concessions first, then the sites of the chosen one
            self.concession_choices = si.concession_options(db.session, scope)
        else:
            seen: dict[int, str] = {}
            for option in self.options:
                seen.setdefault(option.concession_id, option.concession_name)
            self.concession_choices = list(seen.items())
        concession_id = site_id = None
        if kind == "s" and ident in {o.id for o in self.options}:
            site_id = ident
        elif kind == "c" and ident in {cid for cid, _name in self.concession_choices}:
            concession_id = ident
        elif kind is not None:
            # Same answer for a site that does not exist and one outside the scope.
            self.error = _("Ce site ou cette concession n'existe pas : tous vos sites sont affichés.")
        self.value = (f"s{site_id}" if site_id else f"c{concession_id}" if concession_id else "all")
        self.selection = si.Selection(concession_id=concession_id, site_id=site_id,
                                      statuses=si.parse_statuses(args))

    @staticmethod
    def _parse(args):
        raw = (args.get("where") or "").strip()
        if not raw:
            if args.get("site"):
                raw = f"s{args.get('site')}"
            elif args.get("concession"):
                raw = f"c{args.get('concession')}"
        if not raw or raw == "all":
            return None, None
        try:
            ident = int(raw[1:])
        except ValueError:
            return raw[0], None
        # Ids are 32-bit integers in the database: anything else cannot exist (and must not reach SQL).
        return raw[0], ident if 0 < ident < 2**31 else None

    @property
    def concessions(self):
        """Options grouped by concession: [(concession id, name, [sites])]; sites may be empty."""
        sites: dict[int, list] = {}
        for option in self.options:
            sites.setdefault(option.concession_id, []).append(option)
        return [(cid, name, sites.get(cid, [])) for cid, name in self.concession_choices]

    @property
    def site_names(self) -> dict[int, str]:
        return {o.id: o.name for o in self.options}

    @property
    def label(self) -> str:
        sel = self.selection
        for option in self.options:
            if sel.site_id == option.id:
                return f"{option.concession_name} – {option.name}"
        for cid, name in self.concession_choices:
            if sel.site_id is None and sel.concession_id == cid:
                return name
        return _("Tous les sites")


def list_url(destination, selection: si.Selection, **params) -> str:
    """The stock list of ``destination`` with the dashboard's selection and ``params``."""
    merged = dict(selection.params())
    merged.update(params)
    return stock_list_url(destination, **merged)


def _days(value) -> str:
    return "–" if value is None else _("%(n)s jours", n=number(round(value)))


# Charts -----------------------------------------------------------------------------------------
CHARTS = (
    ("score", _l("Scoring (note /10)")),
    ("stock_age", _l("Âge du stock")),
    ("price_age", _l("Âge du prix")),
    ("deal", _l("Bonnes affaires")),
)
DEAL_SHORT = {"2": _l("≤ 100 %"), "1": _l("≤ 105 %"), "0": _l("> 105 % ou sans cote")}


def _buckets(param):
    return dict(si.DISTRIBUTIONS)[param]


def _bucket_label(param, bucket) -> str:
    return str(DEAL_SHORT[bucket.key]) if param == "deal" else str(bucket.label)


def distribution_chart(param, title, figures, destination, selection) -> Markup:
    """The dealer's own distribution: counts, each bar a link to the matching list."""
    tip = _("%(label)s : %(n)s VO")  # translated once per chart, not once per bar
    bars = [Bar(label=_bucket_label(param, b), value=figures.counts[param][b.key], key=b.key,
                href=list_url(destination, selection, **{param: b.key}),
                tooltip=tip % {"label": _bucket_label(param, b), "n": figures.counts[param][b.key]})
            for b in _buckets(param)]
    return column_chart(bars, title=str(title), testid=f"chart-{param}")


def comparison_chart(param, title, figures, network) -> Markup:
    """Your shares beside the network's, per bucket: aggregates only, no link, no row."""
    buckets = _buckets(param)
    return paired_column_chart(
        [_bucket_label(param, b) for b in buckets],
        [(_("Vous"), BAR_COLOUR, [figures.share(param, b.key) for b in buckets]),
         (_("Réseau"), NETWORK_COLOUR, [network.share(param, b.key) for b in buckets])],
        title=_("%(title)s – part du stock (%%)", title=title), testid=f"network-{param}")


def repartition_chart(slices, param, destination, selection, labels=None, title="") -> Markup:
    """Vehicles per energy, status, site or make; each bar opens the list of that group."""
    tip = _("%(label)s : %(n)s VO")
    bars = []
    for s in slices:
        label = str(labels.get(s.value, s.value)) if labels else s.label
        if s.value is None:  # no list filter selects an empty field: shown, not linked
            bars.append(Bar(label=_("Non renseigné"), value=s.count, key="none"))
            continue
        bars.append(Bar(label=label or "–", value=s.count, key=str(s.value),
                        href=list_url(destination, selection, **{param: s.value}),
                        tooltip=tip % {"label": label, "n": s.count}))
    return row_chart(bars, title=title, testid=f"repartition-{param}")


def price_band_chart(figures, destination, selection) -> Markup:
    tip = _("%(label)s : %(n)s VO")
    bars = [Bar(label=str(b.label), value=figures.counts["price_band"][b.key], key=b.key,
                href=list_url(destination, selection, price_band=b.key),
                tooltip=tip % {"label": b.label, "n": figures.counts["price_band"][b.key]})
            for b in si.PRICE_BANDS]
    return row_chart(bars, testid="repartition-price_band")


# Views ------------------------------------------------------------------------------------------
class _DashboardBase(SecureBaseView):
    permission = STOCK_READ

    def _context(self):
        scope = current_scope()
        selector = Selector(scope, request.args)
        return scope, selector


class PublicationDashboardView(_DashboardBase):
    """Tableau de bord Publication: stock, averages, listings to improve, sends."""

    @expose("/")
    def index(self):
        scope, selector = self._context()
        sel = selector.selection
        figures = si.publication_figures(db.session, scope, sel, today())
        panels = []
        for panel in PUBLICATION_PANELS:
            result = panel(scope, sel)
            if not result:
                continue
            panels.append(result if isinstance(result, tuple) else (None, result))
        return self.render("remarketing/publication.html", selector=selector, statuses=STATUSES, figures=figures,
                           sel=sel,
                           list_url=list_url, destinations=DESTINATIONS, panels=panels, days=_days,
                           si=si, number=number, tab="publication")


class DestinationDashboardView(_DashboardBase):
    """Tableau de bord Particulier or Marchand (same layout, one per destination)."""
    destination = "retail"

    @expose("/")
    def index(self):
        scope, selector = self._context()
        sel = selector.selection
        day = today()
        dest = self.destination
        figures = si.destination_figures(db.session, scope, dest, sel, day)
        # the guide's "9 VO sans destination": vehicles to route to this list or the other one
        without_destination = si.stock_count(db.session, scope, "none", sel, day)
        if scope.is_network and sel.site_id is None and sel.concession_id is None:
            network = figures  # the whole network is what this user sees: no second statement
        else:
            network = si.network_figures(
                db.session, dest, sel.statuses, day,
                max_age_seconds=current_app.config.get("REMARKETING_NETWORK_CACHE_SECONDS",
                                                       0 if current_app.testing else 300),
                cache_key=str(db.engine.url))
        charts = [(param, title, distribution_chart(param, title, figures, dest, sel),
                   comparison_chart(param, title, figures, network))
                  for param, title in CHARTS]
        energy = si.code_slices(figures, "energy")
        status = si.code_slices(figures, "status")
        sites = si.site_breakdown(db.session, scope, dest, sel, day, selector.site_names, limit=REPARTITION_LIMIT)
        makes = si.breakdown(db.session, scope, dest, sel, "make", day, limit=REPARTITION_LIMIT)
        status_labels = {k: f"{k} – {v}" for k, v in STATUSES.items()}
        # (param, title, chart, truncated: only the largest REPARTITION_LIMIT groups are shown)
        repartitions = [
            ("energy", _("Énergie"), repartition_chart(energy, "energy", dest, sel, ENERGIES), False),
            ("status", _("Statut"), repartition_chart(status, "status", dest, sel, status_labels), False),
            ("site", _("Site"), repartition_chart(sites, "site", dest, sel), len(sites) >= REPARTITION_LIMIT),
            ("price_band", _("Répartition par prix"), price_band_chart(figures, dest, sel), False),
            ("make", _("Marque"), repartition_chart(makes, "make", dest, sel), len(makes) >= REPARTITION_LIMIT),
        ]
        return self.render("remarketing/destination.html", selector=selector, statuses=STATUSES, figures=figures,
                           network=network, without_destination=without_destination,
                           charts=charts, repartitions=repartitions, sel=sel, destination=dest,
                           list_url=list_url, days=_days, number=number, si=si, tab=dest,
                           repartition_limit=REPARTITION_LIMIT)


class RetailDashboardView(DestinationDashboardView):
    destination = "retail"


class TradeDashboardView(DestinationDashboardView):
    destination = "trade"


def register_admin(admin):
    category = _l("Remarketing")
    admin.add_view(PublicationDashboardView(name=_l("Tableau de bord"), endpoint="remarketing",
                                            url="/remarketing", category=category))
    admin.add_view(RetailDashboardView(name=_l("Tableau de bord Particulier"), endpoint="remarketing_retail",
                                       url="/remarketing/retail", category=category))
    admin.add_view(TradeDashboardView(name=_l("Tableau de bord Marchand"), endpoint="remarketing_trade",
                                      url="/remarketing/trade", category=category))
