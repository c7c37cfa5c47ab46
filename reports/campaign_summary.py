"""The PDF campaign summary (§7, §8): the campaign, its offers, the targeted concessions with their
validation state, and the statistics versus the flash.

Figures come from ``models.campaign.flash_statistics`` — the statistics page's own function — so the
PDF and the screen agree. A concession's summary (its copy of a flash, or its own campaign) shows that
concession only: its figures, never another dealer's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app, render_template

from .pdf import RenderResult, chunked, render_parts

OFFERS_PER_PART = 300


@dataclass
class OfferLine:
    reference: str
    label: str
    category: str
    discount: str
    network_share: str
    start_date: dt.date
    end_date: dt.date
    origin: str
    origin_code: str
    conditions: str | None


@dataclass
class TargetLine:
    concession_name: str
    state: str
    validated: bool
    validated_at: dt.datetime | None
    kept: int | None = None
    modified: int | None = None
    deleted: int | None = None
    added: int | None = None


@dataclass
class CampaignSummaryData:
    campaign_id: int
    name: str
    kind: str
    owner: str
    state: str
    start_date: dt.date
    end_date: dt.date
    description: str | None
    scope_label: str
    offers: list[OfferLine]
    targets: list[TargetLine]
    statistics: object | None = None          # models.campaign_rules.CampaignStatistics (network only)
    totals: dict | None = None                 # the headline figures shown
    group_name: str = ""
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))


def campaign_summary_parts(data: CampaignSummaryData) -> list[str]:
    """The HTML parts: the summary with targets and statistics, then the offers in slices."""
    from flask_babel import gettext as _

    header = _("%(group)s – Synthèse de campagne « %(name)s » – %(scope)s", group=data.group_name,
               name=data.name, scope=data.scope_label)
    slices = chunked(data.offers, OFFERS_PER_PART)
    parts = []
    for i, offers in enumerate(slices):
        parts.append(render_template("reports/campaign_summary_part.html", summary=data, offers=offers,
                                     first=i == 0, continued=i > 0, running_header=header,
                                     title=_("Synthèse de campagne")))
    return parts


def render_campaign_summary(data: CampaignSummaryData, *, time_limit: float | None = None,
                            processes: int | None = None, progress=None) -> RenderResult:
    """The campaign summary as PDF bytes."""
    from flask_babel import gettext as _

    from .send_report import report_processes, report_time_limit

    return render_parts(campaign_summary_parts(data), static_folder=current_app.static_folder,
                        title=_("Synthèse de campagne"),
                        time_limit=time_limit or report_time_limit(),
                        processes=processes if processes is not None else report_processes(), progress=progress)


def campaign_fingerprint(campaign_id: int) -> list:
    """What the summary depends on: the campaign's and its copies' last changes and their offers'."""
    from sqlalchemy import func, or_, select

    from backoffice.extensions import db
    from models.campaign import Campaign, Offer

    family = or_(Campaign.id == campaign_id, Campaign.parent_id == campaign_id)
    campaigns = db.session.execute(
        select(func.count(), func.max(Campaign.updated_at), func.max(Campaign.validated_at),
               func.max(Campaign.sent_at)).where(family)).one()
    if not campaigns[0]:
        from jobs.reports import ReportError
        from flask_babel import gettext as _

        raise ReportError(_("Cette campagne n'existe pas."))
    offers = db.session.execute(
        select(func.count(), func.max(Offer.updated_at), func.max(Offer.deleted_at))
        .where(Offer.campaign_id.in_(select(Campaign.id).where(family)))).one()
    states = db.session.execute(select(Campaign.state).where(family).order_by(Campaign.id)).scalars().all()
    return [tuple(campaigns), tuple(offers), tuple(states)]


def load_campaign_summary(campaign_id: int, concession_id: int | None = None) -> CampaignSummaryData:
    """The summary of a campaign for the network (None) or one concession.

    A master flash: every targeted concession with its copy's state and figures (flash_statistics).
    A copy or a concession's campaign: that concession alone.
    """
    from flask_babel import gettext as _
    from sqlalchemy import select

    from backoffice.extensions import db
    from models.campaign import Campaign, Offer, flash_statistics, target_concession_ids
    from models.campaign_rules import VALIDATED
    from models.organisation import Concession, Filiale

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"campaign {campaign_id} not found")
    if concession_id is not None and campaign.concession_id not in (None, concession_id):
        raise LookupError(f"campaign {campaign_id} is not concession {concession_id}'s")
    group_name = db.session.execute(select(Filiale.name).order_by(Filiale.id).limit(1)).scalar() or _("Groupe")

    offers = [OfferLine(reference=o.reference, label=o.label, category=o.category_label,
                        discount=o.discount_label, network_share=o.network_share_label,
                        start_date=o.start_date, end_date=o.end_date, origin=o.origin_label, origin_code=o.origin,
                        conditions=o.conditions)
              for o in db.session.execute(select(Offer).where(Offer.campaign_id == campaign.id,
                                                              Offer.deleted.is_(False))
                                          .order_by(Offer.reference, Offer.id)).scalars()]

    statistics, totals, targets = None, None, []
    if campaign.is_master_flash:
        statistics = flash_statistics(db.session, campaign.id)
        copies = {f.concession_id: f for f in statistics.concessions}
        names = dict(db.session.execute(select(Concession.id, Concession.name)
                                        .where(Concession.id.in_(target_concession_ids(db.session, campaign)))).all())
        states = dict(db.session.execute(select(Campaign.concession_id, Campaign.state)
                                         .where(Campaign.parent_id == campaign.id)).all())
        from models.campaign import STATES

        for cid in sorted(set(names) | set(copies), key=lambda c: str(names.get(c) or copies[c].concession_name)):
            f = copies.get(cid)
            if f is None:
                targets.append(TargetLine(concession_name=names[cid], state=_("Non envoyée"), validated=False,
                                          validated_at=None))
            else:
                targets.append(TargetLine(concession_name=f.concession_name,
                                          state=str(STATES.get(states.get(cid), states.get(cid) or "")),
                                          validated=f.validated, validated_at=f.validated_at, kept=f.kept,
                                          modified=f.modified, deleted=f.deleted, added=f.added))
        totals = {"targeted": statistics.targeted, "validated": statistics.validated,
                  "validated_share": statistics.validated_share, "modified": statistics.modified,
                  "deleted": statistics.deleted, "added": statistics.added}
        scope_label = _("Tout le réseau")
    else:
        name = campaign.concession.name if campaign.concession else ""
        line = TargetLine(concession_name=name, state=campaign.state_label,
                          validated=campaign.state == VALIDATED, validated_at=campaign.validated_at)
        if campaign.is_copy:  # this concession's figures versus the flash (its own line of the flash's)
            own = [f for f in flash_statistics(db.session, campaign.parent_id).concessions
                   if f.concession_id == campaign.concession_id]
            if own:
                line.kept, line.modified, line.deleted, line.added = (own[0].kept, own[0].modified,
                                                                      own[0].deleted, own[0].added)
        targets.append(line)
        scope_label = _("Concession %(name)s", name=name)

    return CampaignSummaryData(
        campaign_id=campaign.id, name=campaign.name, kind=campaign.kind_label, owner=campaign.owner_label,
        state=campaign.state_label, start_date=campaign.start_date, end_date=campaign.end_date,
        description=campaign.description, scope_label=scope_label, offers=offers, targets=targets,
        statistics=statistics, totals=totals, group_name=group_name)
