"""PDF reports (§8): ask for a PDF, follow its job, download it.

Every PDF is one task keyed by (report, object, scope) — see jobs.reports. A dealer's PDF is the one of
their concession (the bilan holds only its vehicles); network users get the network-wide one unless they
pick a concession. Tasks and files are looked up through the Scope: another concession's task answers 404.
"""
from __future__ import annotations

import os

from flask import abort, flash, jsonify, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from backoffice.extensions import db
from jobs.reports import (CAMPAIGN_SUMMARY, SEND_REPORT, TASK_KINDS, ReportError, parse_task_id, request_pdf,
                          task_failed_reason)
from models.permissions import REPORTS_READ
from models.scope import Scope, parse_id
from models.task import FINISHED, BackgroundTask

from .base import SecureBaseView

RECENT = 30


def report_pdf_url(run_id: int) -> str:
    """Where the send history and the report page post to get a bilan's PDF (the include
    ``reports/_send_report_links.html`` renders the button)."""
    return url_for("reports.send_report", run_id=run_id)


def campaign_summary_pdf_url(campaign_id: int) -> str:
    """Where a campaign page posts to get its PDF summary."""
    return url_for("reports.campaign_summary", campaign_id=campaign_id)


def _scope() -> Scope:
    return Scope.for_user(current_user)


def requested_concession(allowed_ids=None) -> int | None:
    """The concession a PDF is for: the form's ``concession`` if the scope allows it (else 404);
    a dealer without one gets their (first) concession; a network user without one, the network."""
    scope = _scope()
    raw = (request.values.get("concession") or "").strip()
    if raw and raw != "all":
        concession_id = parse_id(raw)
        if concession_id is None:
            abort(404)
        if not scope.allows(concession_id) or (allowed_ids is not None and concession_id not in allowed_ids):
            abort(404)
        from models.organisation import Concession

        if db.session.get(Concession, concession_id) is None:
            abort(404)
        return concession_id
    if scope.is_network:
        return None
    own = sorted(scope.concession_ids or ())
    if allowed_ids is not None:
        own = [c for c in own if c in allowed_ids]
    if not own:
        abort(404)
    return own[0]


def task_or_404(task_id: str) -> BackgroundTask:
    """A PDF task the user's scope allows; anything else does not exist for them."""
    try:
        parse_task_id(task_id)
    except ValueError:
        abort(404)
    stmt = select(BackgroundTask).where(BackgroundTask.id == task_id, BackgroundTask.kind.in_(TASK_KINDS))
    task = db.session.execute(_scope().filter(stmt, BackgroundTask)).scalar_one_or_none()
    if task is None:
        abort(404)
    return task


def task_status(task: BackgroundTask) -> dict:
    """The JSON the progress page polls."""
    ready = task.status == FINISHED and bool(task.result_path) and os.path.isfile(task.result_path)
    return {"id": task.id, "status": task.status, "percent": task.percent, "progress": task.progress,
            "total": task.total, "description": task.description,
            "message": task_failed_reason(task) if task.status == "failed" else task.message,
            "download_url": url_for("reports.download", task_id=task.id) if ready else None}


class ReportsView(SecureBaseView):
    permission = REPORTS_READ

    @expose("/")
    def index(self):
        stmt = (select(BackgroundTask).where(BackgroundTask.kind.in_(TASK_KINDS))
                .order_by(BackgroundTask.created_at.desc()).limit(RECENT))
        tasks = db.session.execute(_scope().filter(stmt, BackgroundTask)).scalars().all()
        return self.render("reports/index.html", tasks=tasks, status=task_status)

    @expose("/send/<int:run_id>/", methods=["POST"])
    def send_report(self, run_id):
        from models.send import SendRun

        if db.session.get(SendRun, run_id) is None:
            abort(404)
        return self._start(SEND_REPORT, run_id, requested_concession())

    @expose("/campaign/<int:campaign_id>/", methods=["POST"])
    def campaign_summary(self, campaign_id):
        from models.campaign import get_campaign_or_404

        campaign = get_campaign_or_404(current_user, campaign_id)
        # A concession's copy or own campaign is that concession's summary, whoever asks (one file);
        # a master flash (network users only) is the network's.
        return self._start(CAMPAIGN_SUMMARY, campaign.id, campaign.concession_id)

    def _start(self, report, object_id, concession_id):
        try:
            task = request_pdf(report, object_id, concession_id, user_id=current_user.id)
        except ReportError as exc:
            flash(str(exc), "error")
            return redirect(request.referrer or url_for(".index"))
        return redirect(url_for(".task", task_id=task.id))

    @expose("/task/<task_id>/")
    def task(self, task_id):
        task = task_or_404(task_id)
        return self.render("reports/task.html", task=task, status=task_status(task))

    @expose("/task/<task_id>/status")
    def status(self, task_id):
        return jsonify(task_status(task_or_404(task_id)))

    @expose("/task/<task_id>/download")
    def download(self, task_id):
        task = task_or_404(task_id)
        if task.status != FINISHED or not task.result_path or not os.path.isfile(task.result_path):
            abort(404)
        report, object_id, concession_id = parse_task_id(task.id)
        name = {SEND_REPORT: "bilan-envoi", CAMPAIGN_SUMMARY: "synthese-campagne"}[report]
        scope = "reseau" if concession_id is None else f"concession-{concession_id}"
        return send_file(task.result_path, mimetype="application/pdf", as_attachment=False,
                         download_name=f"{name}-{object_id}-{scope}.pdf", max_age=0)


def register_admin(admin):
    admin.add_view(ReportsView(name=_l("Rapports PDF"), endpoint="reports", url="/reports"))


def register_blueprint(app):
    app.jinja_env.globals.setdefault("report_pdf_url", report_pdf_url)
    app.jinja_env.globals.setdefault("campaign_summary_pdf_url", campaign_summary_pdf_url)
