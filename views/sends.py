"""Send pages (§6.5): history of send reports (bilans), one report per medium with the sent and
filtered vehicles, search of a VO across media, progress of a running send, the shrink-guard
confirmation, and the publication dashboard's send panels.

Reports hold every concession's vehicles; each lookup goes through the user's Scope, so a dealer
sees only rows of their own concessions' vehicles (figures included), and a URL to a vehicle
outside the scope answers 404.
"""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from models.clock import utcnow
from models.permissions import REPORTS_READ, SEND_RUN
from models.scope import Scope
from models.send import (FILTERED_OUTCOMES, HELD, SendMedium, SendRun, elapsed_phrase, latest_run_of_vehicle,
                         medium_counts, not_sent_listings, progress, report_vehicles, search_vehicle,
                         sent_listings)
from models.vehicle import Vehicle

from .base import SecureBaseView
from .home import HOME_SECTIONS

HOME_SECTIONS.append((REPORTS_READ, "sends/_home.html"))

HISTORY_SIZE = 30
PAGE_SIZE = 500


def _scope() -> Scope:
    return Scope.for_user(current_user)


def _run_or_404(run_id: int) -> SendRun:
    run = db.session.get(SendRun, run_id)
    if run is None:
        abort(404)
    return run


def _medium_or_404(send_medium_id: int) -> SendMedium:
    sm = db.session.get(SendMedium, send_medium_id)
    if sm is None:
        abort(404)
    return sm


def report_title(run: SendRun) -> str:
    """"Bilan du lun. 24/07/17 à 02:14" (local time)."""
    from flask_babel import format_datetime

    return _("Bilan du %(when)s", when=format_datetime(run.started_at, "EEE dd/MM/yy 'à' HH:mm"))


def latest_runs(limit: int = HISTORY_SIZE) -> list[SendRun]:
    return db.session.execute(select(SendRun).order_by(SendRun.started_at.desc(), SendRun.id.desc())
                              .limit(limit)).scalars().all()


def last_finished_run() -> SendRun | None:
    return db.session.execute(select(SendRun).where(SendRun.finished_at.isnot(None))
                              .order_by(SendRun.started_at.desc(), SendRun.id.desc()).limit(1)).scalar_one_or_none()


def media_table(run: SendRun, scope: Scope) -> list[dict]:
    """Per medium: name, list codes, sent and filtered (in scope), state and hold reason."""
    counts = medium_counts(db.session, run.id, scope) if not scope.is_network else {}
    rows = []
    for sm in run.media:
        c = ({"sent": sm.sent_count, "filtered": sm.filtered_count} if scope.is_network
             else counts.get(sm.id, {"sent": 0, "filtered": 0}))
        rows.append({"sm": sm, "sent": c["sent"], "filtered": c["filtered"]})
    return rows


# The vehicle columns of the sent and filtered lists, in the template's order.
VEHICLE_COLUMNS = (Vehicle.entry_number, Vehicle.status, Vehicle.make, Vehicle.model, Vehicle.family, Vehicle.version,
                   Vehicle.colour, Vehicle.sale_price_ttc, Vehicle.mileage, Vehicle.photo_count)


def _listing_key(listing) -> tuple:
    return listing.rank is None, listing.rank or 0


def listings_page(listings, page: int, size: int = PAGE_SIZE) -> list[tuple]:
    """One page of sent (``Listing``) or filtered (``NotSentListing``) listings ordered by rank then N° VO,
    as (listing, *vehicle columns) rows.

    Listings are sorted on their rank in Python; the N° VO that breaks ties is loaded only for the
    page and the rank ties straddling its edges (one query), not for the whole medium.
    """
    order = sorted(listings, key=_listing_key)   # stable: feed order among equal ranks
    start, end = (page - 1) * size, min(page * size, len(order))
    if start >= end:
        return []
    lo, hi = start, end
    while lo > 0 and _listing_key(order[lo - 1]) == _listing_key(order[start]):
        lo -= 1
    while hi < len(order) and _listing_key(order[hi]) == _listing_key(order[end - 1]):
        hi += 1
    window = order[lo:hi]
    vehicles = report_vehicles(db.session, (x.vehicle_id for x in window), VEHICLE_COLUMNS)
    window.sort(key=lambda x: (_listing_key(x), vehicles[x.vehicle_id][0] if x.vehicle_id in vehicles else ""))
    return [(x, *vehicles[x.vehicle_id]) for x in window[start - lo:end - lo] if x.vehicle_id in vehicles]


def progress_payload(run: SendRun, scope: Scope) -> dict:
    states = [sm.status for sm in run.media]
    done, total = progress(states)
    return {
        "run_id": run.id, "status": run.status, "done": done, "total": total,
        "finished": run.finished_at is not None,
        "media": [{"name": sm.medium_name, "status": sm.status,
                   "message": sm.message if scope.is_network else None} for sm in run.media],
    }


class SendsView(SecureBaseView):
    """Envois: history, reports, search, progress."""
    permission = REPORTS_READ

    @expose("/")
    def index(self):
        runs = latest_runs()
        running = [r for r in runs if r.finished_at is None]
        return self.render("sends/index.html", runs=runs, running=running, report_title=report_title,
                           can_run=current_user.has_permission(SEND_RUN))

    @expose("/start", methods=("POST",))
    def start(self):
        if not current_user.has_permission(SEND_RUN):
            abort(403)
        from jobs.send import start_send

        run_id = start_send(kind="manual", user_id=current_user.id)
        flash(_("Envoi lancé."), "success")
        return redirect(url_for(".run", run_id=run_id))

    @expose("/run/<int:run_id>/")
    def run(self, run_id):
        run = _run_or_404(run_id)
        scope = _scope()
        reference = (request.args.get("ref") or "").strip()
        results = search_vehicle(db.session, run.id, reference, scope) if reference else None
        error = _("Saisissez une référence VO (N° d'entrée) de 20 caractères au plus.") \
            if len(reference) > 20 else None
        if error:
            results = None
        return self.render("sends/run.html", run=run, title=report_title(run), media=media_table(run, scope),
                           reference=reference, results=results, error=error,
                           progress=progress_payload(run, scope), can_run=current_user.has_permission(SEND_RUN))

    @expose("/run/<int:run_id>/progress.json")
    def run_progress(self, run_id):
        return jsonify(progress_payload(_run_or_404(run_id), _scope()))

    @expose("/medium/<int:send_medium_id>/<any(sent, filtered):which>/")
    def medium_vehicles(self, send_medium_id, which):
        sm = _medium_or_404(send_medium_id)
        scope = _scope()
        try:
            page = max(1, int(request.args.get("page", 1)))
        except ValueError:
            page = 1
        if which == "sent":
            listings = sent_listings(db.session, scope, send_medium_id=sm.id).get(sm.id, [])
        else:
            listings = not_sent_listings(db.session, scope, send_medium_id=sm.id,
                                         outcomes=FILTERED_OUTCOMES).get(sm.id, [])
        total, rows = len(listings), listings_page(listings, page)
        return self.render("sends/vehicles.html", sm=sm, run=sm.run, title=report_title(sm.run), which=which,
                           rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)))

    @expose("/vehicle/<int:id>/")
    def vehicle(self, id):
        """Why is this car (not) on each portal: its outcomes in the latest send reports."""
        scope = _scope()
        vehicle = scope.get_or_404(Vehicle, id)
        run = latest_run_of_vehicle(db.session, vehicle)
        results = search_vehicle(db.session, run.id, vehicle.entry_number, scope) if run else []
        results = [r for r in results if r["vehicle_id"] == vehicle.id]
        return self.render("sends/vehicle.html", vehicle=vehicle, run=run,
                           title=report_title(run) if run else None, results=results)

    @expose("/medium/<int:send_medium_id>/confirm", methods=("POST",))
    def confirm(self, send_medium_id):
        """Publish a feed held by the shrink guard, after the admin read why."""
        if not current_user.has_permission(SEND_RUN):
            abort(403)
        sm = _medium_or_404(send_medium_id)
        from jobs.send import confirm_held_medium

        target = request.form.get("next") or ""
        if not target.startswith("/") or target.startswith("//"):   # never redirect off-site
            target = url_for(".run", run_id=sm.run_id)
        try:
            ok = confirm_held_medium(sm.id, current_user.id)
        except Exception as exc:  # endpoint down, disk full: the feed stays held, the admin is told
            flash(_("La publication a échoué : %(err)s. Le flux reste retenu.", err=str(exc)), "danger")
            return redirect(target)
        if ok:
            flash(_("Flux de %(medium)s publié.", medium=sm.medium_name), "success")
        else:
            db.session.refresh(sm)
            flash(sm.message or _("Ce flux n'est plus en attente de confirmation."), "warning")
        return redirect(target)


# Publication dashboard panels (views.remarketing.PUBLICATION_PANELS) ------------------------------------

def panel_last_send(scope, selection=None):
    """"Dernier envoi : 14/04 à 02:31 (il y a 7 h 21 min)" and the media held by the shrink guard."""
    from flask_babel import format_datetime

    run = last_finished_run()
    held = []
    if run is not None and current_user.has_permission(SEND_RUN):
        held = [sm for sm in run.media if sm.status == HELD]
    running = db.session.execute(select(SendRun).where(SendRun.finished_at.is_(None))
                                 .order_by(SendRun.id.desc()).limit(1)).scalar_one_or_none()
    html = render_template("sends/_panel_last.html", run=run, held=held, running=running,
                           when=format_datetime(run.started_at, "dd/MM 'à' HH:mm") if run else None,
                           ago=elapsed_phrase(run.started_at, utcnow()) if run else None,
                           can_run=current_user.has_permission(SEND_RUN))
    return _("Dernier envoi"), Markup(html)


def panel_last_detail(scope, selection=None):
    """Détail du dernier envoi: per medium, list codes, sent and filtered (in the user's scope)."""
    run = last_finished_run()
    if run is None:
        return None
    html = render_template("sends/_panel_detail.html", run=run, media=media_table(run, scope),
                           title=report_title(run))
    return _("Détail du dernier envoi"), Markup(html)


def panel_history(scope, selection=None):
    """Historique des bilans d'envoi: the last seven, each a link to its report."""
    runs = [r for r in latest_runs(7)]
    if not runs:
        return None
    html = render_template("sends/_panel_history.html", runs=runs, report_title=report_title)
    return _("Historique des bilans d'envoi"), Markup(html)


def _register_panels() -> None:
    try:
        from views import remarketing
    except ImportError:  # pragma: no cover - the dashboard module is optional
        return
    panels = getattr(remarketing, "PUBLICATION_PANELS", None)
    if panels is None:
        return
    for panel in (panel_last_send, panel_last_detail, panel_history):
        if panel not in panels:
            panels.append(panel)


_register_panels()


def register_admin(admin):
    admin.add_view(SendsView(name=_l("Envois et bilans"), endpoint="sends", url="/sends",
                             category=_l("Publication")))


def send_summary() -> dict:
    """For the home card: the last finished send and, for admins, the media held by the shrink guard."""
    from flask_babel import format_datetime

    run = last_finished_run()
    held = ([sm for sm in run.media if sm.status == HELD]
            if run is not None and current_user.has_permission(SEND_RUN) else [])
    return {"run": run, "held": held,
            "when": format_datetime(run.started_at, "dd/MM 'à' HH:mm") if run else None,
            "ago": elapsed_phrase(run.started_at, utcnow()) if run else None}


def register_blueprint(app):
    from jobs.schedule import send_cli

    app.cli.add_command(send_cli)
    app.jinja_env.globals["send_summary"] = send_summary
