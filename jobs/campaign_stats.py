"""Monthly statistics e-mail to the filiale (§7): progress of the month's flash campaigns.

``monthly_figures(month)`` builds the figures (also usable by a page); ``send_monthly_statistics`` mails
them to every active filiale user. Scheduled on the 20th at 08:00 (Europe/Paris), when dealers have had
time to validate and the filiale can still chase those who have not; run it by hand with
``flask --app wsgi.py campaigns stats-mail [--month YYYY-MM]``.
"""
from __future__ import annotations

import datetime as dt
import os

import click
from flask import current_app, url_for
from flask.cli import AppGroup
from flask_babel import format_date, gettext as _
from sqlalchemy import select

from backoffice import mailing
from backoffice.extensions import db
from models.campaign import month_statistics
from models.user import Role, User

SCHEDULE = [("jobs.campaign_stats.send_monthly_statistics", "0 8 20 * *")]


def monthly_figures(month: dt.date):
    """[(flash, CampaignStatistics)] of the filiale's flashes touching the month of ``month``."""
    return month_statistics(db.session, month)


def filiale_recipients() -> list[User]:
    """Active users with the filiale role: the digital team."""
    return db.session.execute(
        select(User).join(User.roles).where(Role.name == "filiale", User.active.is_(True)).order_by(User.email)
    ).scalars().unique().all()


def _link(flash_id: int) -> str:
    try:
        return url_for("campaigns.statistics", campaign_id=flash_id, _external=True)
    except Exception:  # noqa: BLE001 - the campaign screens may not be registered (e.g. a bare worker)
        return url_for("admin.index", _external=True) + f"campaigns/{flash_id}/statistics"


def send_monthly_statistics(month: str | None = None, base_url: str | None = None) -> int:
    """Mail the figures of the month (``YYYY-MM``, default the current one) to the filiale; returns the
    number of mails sent (none when there is no flash that month)."""
    day = dt.date.fromisoformat(f"{month}-01") if month else dt.date.today()
    figures = monthly_figures(day)
    recipients = filiale_recipients()
    if not figures or not recipients:
        return 0
    base_url = base_url or os.environ.get("PUBLIC_BASE_URL") or current_app.config.get("PUBLIC_BASE_URL") \
        or "http://localhost:5000/"
    with current_app.test_request_context("/", base_url=base_url):
        rows = [{"flash": flash, "stats": stats, "url": _link(flash.id)} for flash, stats in figures]
        month_label = format_date(day, "MMMM yyyy")
        subject = _("Statistiques des campagnes – %(month)s", month=month_label)
        messages = [mailing.render_mail("campaigns/email/stats_monthly", user.email, subject,
                                        locale=user.locale or "fr", recipient_name=user.full_name,
                                        month=month_label, rows=rows)
                    for user in recipients]
    return mailing.send(messages)


campaigns_cli = AppGroup("campaigns", help="Campagnes promotionnelles : statistiques, vitrines.")


@campaigns_cli.command("stats-mail")
@click.option("--month", default=None, help="Mois AAAA-MM (par défaut le mois en cours).")
def stats_mail_command(month):
    """Send the monthly statistics e-mail to the filiale now."""
    click.echo(f"{send_monthly_statistics(month)} e-mail(s) sent")


@campaigns_cli.command("storefront-feeds")
@click.option("--date", "day", default=None, help="Jour AAAA-MM-JJ (par défaut aujourd'hui).")
def storefront_feeds_command(day):
    """Write every concession's storefront feed file now."""
    from jobs.storefront import write_storefront_feeds

    counts = write_storefront_feeds(day)
    click.echo(f"{len(counts)} feed file(s) written, {sum(counts.values())} offer(s) published")
