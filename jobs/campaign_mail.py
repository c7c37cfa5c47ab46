"""Campaign emails, sent as jobs (RQ, or in-process without Redis). Jobs take ids and reload.

URLs in the mails are built inside a request context made from the base URL the page was served
on, so links point where the user actually reaches the backoffice.
"""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select

from backoffice import mailing
from backoffice.extensions import db


def _context(base_url: str):
    return current_app.test_request_context("/", base_url=base_url or "http://localhost/")


def send_flash_mails(flash_id: int, concession_ids: list[int], sender_id: int | None, already_sent: int,
                     base_url: str) -> int:
    """"Le flash est en ligne" to every CDV of the concessions that just got their copy, and the recap
    to the sender. Returns the number of mails sent."""
    from models.campaign import Campaign
    from models.user import User
    from views.campaigns import dealer_managers

    flash = db.session.get(Campaign, flash_id)
    if flash is None or not concession_ids:
        return 0
    copies = db.session.execute(select(Campaign).where(Campaign.parent_id == flash.id,
                                                       Campaign.concession_id.in_(concession_ids))
                                .order_by(Campaign.concession_id)).scalars().all()
    managers = dealer_managers([c.concession_id for c in copies])
    offer_count = len(flash.live_offers)
    messages, recap = [], []
    with _context(base_url):
        for copy in copies:
            people = managers.get(copy.concession_id, [])
            recap.append({"name": copy.concession.name, "managers": len(people)})
            for user in people:
                messages.append(mailing.render_mail(
                    "campaigns/email/flash_to_dealer", [user.email],
                    _l("Nouveau flash de la filiale : %(campaign)s", campaign=flash.name), locale=user.locale or "fr",
                    recipient_name=user.full_name, campaign_name=flash.name, concession_name=copy.concession.name,
                    start=flash.start_date, end=flash.end_date,
                    offer_count=len([o for o in copy.offers if not o.deleted]),
                    url=url_for("campaigns.details", campaign_id=copy.id, _external=True)))
        sender = db.session.get(User, sender_id) if sender_id else None
        if sender is not None:
            messages.append(mailing.render_mail(
                "campaigns/email/flash_recap", [sender.email],
                _l("Récapitulatif de l'envoi du flash : %(campaign)s", campaign=flash.name),
                locale=sender.locale or "fr", recipient_name=sender.full_name, campaign_name=flash.name,
                start=flash.start_date, end=flash.end_date, offer_count=offer_count, concessions=recap,
                already_sent=already_sent,
                url=url_for("campaigns.details", campaign_id=flash.id, _external=True)))
    return mailing.send(messages)


def send_review_requests(campaign_id: int, review_ids: list[int], sender_id: int | None, message: str,
                         base_url: str) -> int:
    """Ask each VPP (by the e-mail typed by the filiale) to approve or comment the campaign."""
    from models.campaign import Campaign, CampaignReview
    from models.user import User

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return 0
    reviews = db.session.execute(select(CampaignReview).where(CampaignReview.id.in_(review_ids),
                                                              CampaignReview.campaign_id == campaign.id)
                                 ).scalars().all()
    sender = db.session.get(User, sender_id) if sender_id else None
    messages = []
    with _context(base_url):
        for review in reviews:
            messages.append(mailing.render_mail(
                "campaigns/email/shared_for_review", [review.reviewer_email],
                _l("Campagne à valider : %(campaign)s", campaign=campaign.name),
                sender_name=sender.full_name if sender else _("La filiale"), campaign_name=campaign.name,
                start=campaign.start_date, end=campaign.end_date, offer_count=len(campaign.live_offers),
                message=message, url=url_for("campaigns.details", campaign_id=campaign.id, _external=True)))
    return mailing.send(messages)


def send_review_answer(review_id: int, base_url: str) -> int:
    """Tell the filiale member who shared the campaign what the VPP answered."""
    from models.campaign import CampaignReview, rules

    review = db.session.get(CampaignReview, review_id)
    if review is None or review.shared_by is None:
        return 0
    campaign, recipient = review.campaign, review.shared_by
    approved = review.status == rules.REVIEW_APPROVED
    with _context(base_url):
        rendered = mailing.render_mail(
            "campaigns/email/review_result", [recipient.email],
            (_l("Campagne approuvée : %(campaign)s", campaign=campaign.name) if approved
             else _l("Campagne commentée : %(campaign)s", campaign=campaign.name)),
            locale=recipient.locale or "fr", recipient_name=recipient.full_name, approved=approved,
            reviewer_name=review.reviewer.full_name if review.reviewer else review.reviewer_email,
            campaign_name=campaign.name, comment=review.comment,
            url=url_for("campaigns.details", campaign_id=campaign.id, _external=True))
    return mailing.send([rendered])
