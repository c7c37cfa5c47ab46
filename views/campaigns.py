"""Promotion campaign journeys (§7): the filiale's flash, the dealers' copies and own campaigns, VPP
review, offer history, statistics, and the transverse offer calendar.

The pages are thin: every rule (visibility, offer changes and their history, the workflow, sending,
conflicts, statistics) lives in ``models.campaign`` / ``models.campaign_rules``. Lookups go through
``get_campaign_or_404`` / ``get_offer_or_404``: a campaign the user may not see answers 404.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from backoffice.extensions import db
from models import campaign_rules as rules
from models.campaign import (CATEGORIES, DISCOUNT_KINDS, OFFER_FIELD_LABELS, Campaign, CampaignError, Offer,
                             answer_review, campaigns_visible_to, create_offer, delete_offer, flash_statistics,
                             get_campaign_or_404, month_statistics,
                             get_offer_or_404, new_campaign, offer_spans, send_flash, share_for_review,
                             update_offer, validate_campaign, visible_campaign_ids)
from models.notification import Notification, notify
from models.scope import MAX_ID, parse_id
from models.organisation import Concession, Pole
from models.permissions import CAMPAIGN_DEALER, CAMPAIGN_FILIALE, CAMPAIGN_READ, CAMPAIGN_VALIDATE, NETWORK_WIDE
from models.scope import Scope
from models.user import Role, User, user_concession

from .base import SecureBaseView
from .home import HOME_SECTIONS

HOME_SECTIONS.append((None, "campaigns/_home.html"))

OFFER_FORM_FIELDS = ("reference", "label", "category", "discount_kind", "discount_value", "network_share",
                     "conditions", "start_date", "end_date")
DATE_FIELDS = ("start_date", "end_date")
TIMELINE_PAGE_SIZE = 200


# Small helpers ---------------------------------------------------------------------------------------
def parse_date(value):
    """A date from an ISO (2026-06-01) or French (01/06/2026) string; None if empty; ValueError if bad."""
    value = (value or "").strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def parse_month(value, default: dt.date) -> dt.date:
    """The first day of the month given as YYYY-MM (``default``'s month if missing or malformed)."""
    try:
        return dt.datetime.strptime((value or "").strip(), "%Y-%m").date()
    except ValueError:
        return default.replace(day=1)


def shift_month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def offer_form_values(form, locked=()):
    """Offer fields from a posted form, and field → message for dates that cannot be read."""
    values, errors = {}, {}
    for name in OFFER_FORM_FIELDS:
        if name not in form or name in locked:
            continue
        raw = form.get(name, "")
        if name in DATE_FIELDS:
            try:
                values[name] = parse_date(raw)
            except ValueError:
                errors[name] = _("Date invalide : utilisez le format jj/mm/aaaa.")
        else:
            values[name] = raw
    return values, errors


def may_edit_offers(campaign: Campaign, user=None) -> bool:
    """Who may add, modify and delete the offers of a campaign, in its present state."""
    user = user or current_user
    if campaign.is_master_flash:
        # Once sent, the flash is what the concessions received; new targets get it as it is.
        return user.has_permission(CAMPAIGN_FILIALE) and campaign.state in (rules.DRAFT, rules.REVIEW)
    return user.has_permission(CAMPAIGN_DEALER) and Scope.for_user(user).allows(campaign.concession_id)


def may_validate(campaign: Campaign, user=None) -> bool:
    user = user or current_user
    return (not campaign.is_master_flash and user.has_permission(CAMPAIGN_DEALER)
            and Scope.for_user(user).allows(campaign.concession_id)
            and "validate" in rules.allowed_actions(campaign.kind, campaign.is_copy, campaign.state))


def may_send(campaign: Campaign, user=None) -> bool:
    user = user or current_user
    return campaign.is_master_flash and user.has_permission(CAMPAIGN_FILIALE)


def my_review(campaign: Campaign, user=None):
    user = user or current_user
    if not user.has_permission(CAMPAIGN_VALIDATE):
        return None
    email = (user.email or "").lower()
    return next((r for r in campaign.reviews if r.reviewer_id == user.id or r.reviewer_email == email), None)


def dealer_managers(concession_ids) -> dict[int, list[User]]:
    """The CDVs (dealer_manager accounts, active) of each concession, in one query."""
    if not concession_ids:
        return {}
    rows = db.session.execute(
        select(user_concession.c.concession_id, User)
        .join(User, User.id == user_concession.c.user_id)
        .where(user_concession.c.concession_id.in_(sorted(concession_ids)), User.active.is_(True),
               User.roles.any(Role.name == "dealer_manager"))
        .order_by(User.email)).all()
    found = defaultdict(list)
    for concession_id, user in rows:
        found[concession_id].append(user)
    return dict(found)


def conflict_scope(user, concession_ids=None):
    """The campaigns whose offers may be compared for ``user``: what they may see; for network users
    showing some concessions' rows, only those concessions' campaigns plus the filiale's flashes and the
    dealers' own campaigns (another concession's copy cannot conflict with the rows shown)."""
    if not user.has_permission(NETWORK_WIDE):
        return visible_campaign_ids(user)
    if concession_ids is None:
        return None
    return select(Campaign.id).where(or_(Campaign.concession_id.in_(sorted(concession_ids)),
                                         Campaign.concession_id.is_(None), Campaign.kind == rules.DEALER))


def conflicts_among(references, user, period=None, concession_ids=None):
    """Conflicts of the offers with these references (touching ``period``), among the campaigns ``user``
    may see: offer id → [Conflict] (the offers loaded in one query, the rule in models.campaign_rules)."""
    references = sorted(set(references))
    if not references:
        return {}
    spans = offer_spans(db.session, campaign_ids=conflict_scope(user, concession_ids), references=references,
                        period=period)
    return rules.find_conflicts(spans)


CONFLICTS_SHOWN = 5


def shown_conflicts(conflicts, offer_ids, limit: int = CONFLICTS_SHOWN):
    """The first ``limit`` conflicts of each offer (a flash can conflict in hundreds of concessions), and
    how many more each has."""
    shown, more = {}, {}
    for oid in offer_ids:
        found = sorted(conflicts.get(oid, ()), key=lambda c: (c.other_campaign_id, c.other_offer_id))
        if found:
            shown[oid], more[oid] = found[:limit], max(0, len(found) - limit)
    return shown, more


def conflict_campaigns(conflicts, offer_ids) -> dict[int, Campaign]:
    """The campaigns named by these offers' conflicts (the other one and the one that wins)."""
    ids = set()
    for oid in offer_ids:
        for c in conflicts.get(oid, ()):
            ids.update((c.other_campaign_id, c.winner_campaign_id))
    if not ids:
        return {}
    return {c.id: c for c in db.session.execute(
        select(Campaign).options(selectinload(Campaign.concession)).where(Campaign.id.in_(ids))).scalars()}


def save_time_conflicts(offer: Offer, user) -> list[tuple[Campaign, Campaign]]:
    """Conflicts the saved offer has with offers of other campaigns the user may see:
    [(other campaign, campaign that takes precedence)]."""
    concession_id = offer.campaign.concession_id
    spans = offer_spans(db.session, references=[offer.reference], period=(offer.start_date, offer.end_date),
                        campaign_ids=conflict_scope(user, set() if concession_id is None else {concession_id}))
    mine = [s for s in spans if s.offer_id == offer.id]
    if not mine:
        return []
    index = rules.ConflictIndex(spans)
    found = index.check(mine[0])
    if not found:
        return []
    wanted = {c.other_campaign_id for c in found} | {c.winner_campaign_id for c in found}
    campaigns = {c.id: c for c in db.session.execute(select(Campaign).where(Campaign.id.in_(wanted))).scalars()}
    seen, out = set(), []
    for c in found:
        if c.other_campaign_id in seen:
            continue
        seen.add(c.other_campaign_id)
        out.append((campaigns[c.other_campaign_id], campaigns[c.winner_campaign_id]))
    return out


def warn_conflicts(offer: Offer) -> None:
    """Flash a warning when the offer just saved is also in another campaign over the same period."""
    for other, winner in save_time_conflicts(offer, current_user):
        flash(_("Attention : l'offre %(reference)s est aussi dans la campagne « %(other)s » sur une période "
                "qui se chevauche. La campagne « %(winner)s » prend le dessus.",
                reference=offer.reference, other=str(other), winner=str(winner)), "warning")


# Campaign pages -------------------------------------------------------------------------------------
class CampaignView(SecureBaseView):
    """Campaign list, campaign page with its offers and workflow buttons, offer forms and history."""

    def is_accessible(self) -> bool:
        return super().is_accessible() and (current_user.has_permission(CAMPAIGN_READ)
                                            or current_user.has_permission(CAMPAIGN_VALIDATE))

    def _campaign(self, campaign_id) -> Campaign:
        return get_campaign_or_404(current_user, campaign_id)

    def _offer(self, campaign: Campaign, offer_id, include_deleted=False) -> Offer:
        offer = get_offer_or_404(current_user, offer_id, include_deleted=include_deleted)
        if offer.campaign_id != campaign.id:
            abort(404)
        return offer

    # List ---------------------------------------------------------------------------------------
    @expose("/")
    def index(self):
        stmt = (campaigns_visible_to(current_user)
                .options(selectinload(Campaign.concession))
                .order_by(Campaign.start_date.desc(), Campaign.name, Campaign.id))
        kind = request.args.get("kind")
        if kind in (rules.FLASH, rules.DEALER):
            stmt = stmt.where(Campaign.kind == kind)
        campaigns = db.session.execute(stmt.limit(500)).scalars().all()
        counts = dict(db.session.execute(
            select(Offer.campaign_id, db.func.count(Offer.id))
            .where(Offer.deleted.is_(False), Offer.campaign_id.in_([c.id for c in campaigns]))
            .group_by(Offer.campaign_id)).all()) if campaigns else {}
        may_create = current_user.has_permission(CAMPAIGN_FILIALE) or current_user.has_permission(CAMPAIGN_DEALER)
        return self.render("campaigns/list.html", campaigns=campaigns, counts=counts, may_create=may_create,
                           kind=kind)

    # Create ---------------------------------------------------------------------------------------
    @expose("/new", methods=("GET", "POST"))
    def new(self):
        is_filiale = current_user.has_permission(CAMPAIGN_FILIALE)
        if not (is_filiale or current_user.has_permission(CAMPAIGN_DEALER)):
            abort(403)
        concessions = [] if is_filiale else list(current_user.concessions)
        today = dt.date.today()
        default_month = shift_month(today, 1) if today.day > 20 else today.replace(day=1)
        values = {"name": "", "month": default_month.strftime("%Y-%m"), "start_date": "", "end_date": "",
                  "concession_id": str(concessions[0].id) if concessions else ""}
        errors = {}
        if request.method == "POST":
            values.update({k: request.form.get(k, "").strip() for k in values})
            try:
                if is_filiale:
                    try:
                        month = dt.datetime.strptime(values["month"], "%Y-%m").date()
                    except ValueError:
                        raise CampaignError(_("Choisissez le mois (aaaa-mm)."), "month") from None
                    campaign = new_campaign(db.session, current_user, name=values["name"], kind=rules.FLASH,
                                            month=month)
                else:
                    try:
                        start, end = parse_date(values["start_date"]), parse_date(values["end_date"])
                    except ValueError:
                        raise CampaignError(_("Date invalide : utilisez le format jj/mm/aaaa."), "start_date") from None
                    try:
                        concession_id = int(values["concession_id"])
                    except ValueError:
                        raise CampaignError(_("Choisissez la concession."), "concession_id") from None
                    if concession_id not in {c.id for c in concessions}:
                        raise CampaignError(_("Choisissez la concession."), "concession_id")
                    campaign = new_campaign(db.session, current_user, name=values["name"], kind=rules.DEALER,
                                            start_date=start, end_date=end, concession_id=concession_id)
                db.session.commit()
            except CampaignError as exc:
                db.session.rollback()
                errors = exc.errors or {"name": exc.message}
            else:
                flash(_("Campagne « %(name)s » créée. Ajoutez sa première offre.", name=campaign.name), "success")
                return redirect(url_for(".details", campaign_id=campaign.id))
        return self.render("campaigns/new.html", values=values, errors=errors, is_filiale=is_filiale,
                           concessions=concessions)

    # Campaign page ---------------------------------------------------------------------------------
    @expose("/<int:campaign_id>/")
    def details(self, campaign_id):
        campaign = self._campaign(campaign_id)
        offers = [o for o in campaign.offers if not o.deleted]
        deleted = [o for o in campaign.offers if o.deleted]
        sources = {}
        if campaign.is_copy:
            ids = [o.source_offer_id for o in offers if o.source_offer_id]
            if ids:
                sources = {o.id: o for o in db.session.execute(select(Offer).where(Offer.id.in_(ids))).scalars()}
        conflicts = conflicts_among([o.reference for o in offers], current_user,
                                    period=(campaign.start_date, campaign.end_date),
                                    concession_ids=set() if campaign.is_master_flash else {campaign.concession_id})
        conflicts, more = shown_conflicts(conflicts, [o.id for o in offers])
        named = conflict_campaigns(conflicts, [o.id for o in offers])
        context = dict(
            campaign=campaign, offers=offers, deleted=deleted, sources=sources,
            modified={o.id for o in offers if o.source_offer_id in sources
                      and rules.is_modified(o, sources[o.source_offer_id])},
            conflicts=conflicts, more_conflicts=more, named=named,
            may_edit=may_edit_offers(campaign), may_validate=may_validate(campaign),
            may_send=may_send(campaign), review=my_review(campaign), locked=rules.locked_offer_fields(campaign.is_copy),
        )
        if campaign.is_master_flash:
            context.update(self._targets_context(campaign))
        return self.render("campaigns/details.html", **context)

    def _targets_context(self, campaign):
        from models.campaign import target_concession_ids

        from models.campaign import STATES

        # One row per concession's copy (no ORM objects: a flash may have 2,000 copies).
        copies = {r.concession_id: (r.id, str(STATES.get(r.state, r.state)), r.name) for r in db.session.execute(
            select(Campaign.concession_id, Campaign.id, Campaign.state, Concession.name)
            .join(Concession, Concession.id == Campaign.concession_id)
            .where(Campaign.parent_id == campaign.id).order_by(Concession.name))}
        return dict(
            all_concessions=db.session.execute(select(Concession).order_by(Concession.name)).scalars().all(),
            all_poles=db.session.execute(select(Pole).order_by(Pole.name)).scalars().all(),
            target_ids=target_concession_ids(db.session, campaign), copies=copies,
            selected_concessions={c.id for c in campaign.target_concessions},
            selected_poles={p.id for p in campaign.target_poles},
        )

    # Targets (filiale) -----------------------------------------------------------------------------
    @expose("/<int:campaign_id>/targets", methods=("POST",))
    def targets(self, campaign_id):
        campaign = self._campaign(campaign_id)
        if not may_send(campaign):
            abort(403)
        try:
            concession_ids = {int(v) for v in request.form.getlist("concession_ids")}
            pole_ids = {int(v) for v in request.form.getlist("pole_ids")}
        except ValueError:
            abort(400)
        concessions = db.session.execute(select(Concession).where(Concession.id.in_(concession_ids))).scalars().all()
        poles = db.session.execute(select(Pole).where(Pole.id.in_(pole_ids))).scalars().all()
        if campaign.state == rules.SENT:
            # Concessions that already have their copy stay targeted: their copy is theirs now.
            kept = set(db.session.execute(select(Campaign.concession_id).where(Campaign.parent_id == campaign.id))
                       .scalars())
            concessions += [c for c in campaign.target_concessions if c.id in kept and c.id not in concession_ids]
        campaign.target_concessions = concessions
        campaign.target_poles = poles
        db.session.commit()
        flash(_("Concessions et pôles destinataires enregistrés."), "success")
        return redirect(url_for(".details", campaign_id=campaign.id) + "#targets")

    # Offers -------------------------------------------------------------------------------------
    @expose("/<int:campaign_id>/offers/new", methods=("GET", "POST"))
    def offer_new(self, campaign_id):
        campaign = self._campaign(campaign_id)
        if not may_edit_offers(campaign):
            abort(403)
        values = {"discount_kind": rules.AMOUNT, "start_date": campaign.start_date, "end_date": campaign.end_date}
        errors = {}
        if request.method == "POST":
            values, errors = offer_form_values(request.form)
            # An empty date means the campaign's own bounds.
            values = {k: v for k, v in values.items() if not (k in DATE_FIELDS and v is None)}
            if not errors:
                try:
                    offer = create_offer(db.session, campaign, current_user, **values)
                    db.session.commit()
                except CampaignError as exc:
                    db.session.rollback()
                    errors = exc.errors or {"reference": exc.message}
                else:
                    flash(_("Offre %(reference)s ajoutée.", reference=offer.reference), "success")
                    warn_conflicts(offer)
                    if request.form.get("again"):
                        return redirect(url_for(".offer_new", campaign_id=campaign.id))
                    return redirect(url_for(".details", campaign_id=campaign.id))
        return self._offer_form(campaign, None, values, errors)

    def _offer_form(self, campaign, offer, values, errors):
        locked = rules.locked_offer_fields(campaign.is_copy) if offer is not None else frozenset()
        values = {k: (v.isoformat() if isinstance(v, dt.date)
                      else rules.format_number(v) if isinstance(v, Decimal) else v) for k, v in values.items()}
        return self.render("campaigns/offer_form.html", campaign=campaign, offer=offer, values=values,
                           errors=errors, locked=locked, categories=CATEGORIES, discount_kinds=DISCOUNT_KINDS)

    @expose("/<int:campaign_id>/offers/<int:offer_id>/edit", methods=("GET", "POST"))
    def offer_edit(self, campaign_id, offer_id):
        campaign = self._campaign(campaign_id)
        offer = self._offer(campaign, offer_id)
        if not may_edit_offers(campaign):
            abort(403)
        values = {name: getattr(offer, name) for name in OFFER_FORM_FIELDS}
        errors = {}
        if request.method == "POST":
            posted, errors = offer_form_values(request.form)
            values.update(posted)
            if not errors:
                try:
                    changes = update_offer(db.session, offer, current_user, **posted)
                    db.session.commit()
                except CampaignError as exc:
                    db.session.rollback()
                    errors = exc.errors or {"reference": exc.message}
                    if set(errors) & set(DATE_FIELDS) and campaign.is_copy:
                        # Show the dates as they are: they did not change.
                        values.update({n: getattr(offer, n) for n in DATE_FIELDS})
                else:
                    if changes:
                        flash(_("Offre %(reference)s modifiée.", reference=offer.reference), "success")
                        warn_conflicts(offer)
                    else:
                        flash(_("Aucune modification."), "info")
                    return redirect(url_for(".details", campaign_id=campaign.id))
        return self._offer_form(campaign, offer, values, errors)

    @expose("/<int:campaign_id>/offers/<int:offer_id>/delete", methods=("POST",))
    def offer_delete(self, campaign_id, offer_id):
        campaign = self._campaign(campaign_id)
        offer = self._offer(campaign, offer_id)
        if not may_edit_offers(campaign):
            abort(403)
        delete_offer(db.session, offer, current_user)
        db.session.commit()
        flash(_("Offre %(reference)s supprimée.", reference=offer.reference), "success")
        return redirect(url_for(".details", campaign_id=campaign.id))

    @expose("/<int:campaign_id>/offers/<int:offer_id>/history")
    def offer_history(self, campaign_id, offer_id):
        campaign = self._campaign(campaign_id)
        offer = self._offer(campaign, offer_id, include_deleted=True)
        source = db.session.get(Offer, offer.source_offer_id) if offer.source_offer_id else None
        # Current content, field by field: the filiale's (violet) unless the dealer wrote it (green).
        content = []
        for name in OFFER_FORM_FIELDS:
            value = getattr(offer, name)
            if offer.origin == rules.ORIGIN_DEALER:
                side = rules.ORIGIN_DEALER
            elif source is not None and not rules.same_value(value, getattr(source, name)):
                side = rules.ORIGIN_DEALER
            else:
                side = rules.ORIGIN_FILIALE
            content.append((OFFER_FIELD_LABELS.get(name, name), display_value(name, value, offer), side))
        history = list(offer.history)
        return self.render("campaigns/history.html", campaign=campaign, offer=offer, source=source,
                           content=content, history=history)

    # Workflow -----------------------------------------------------------------------------------
    @expose("/<int:campaign_id>/share", methods=("POST",))
    def share(self, campaign_id):
        campaign = self._campaign(campaign_id)
        if not may_send(campaign):
            abort(403)
        emails = [e for e in request.form.get("emails", "").replace(";", ",").replace("\n", ",").split(",")]
        emails = [e.strip() for e in emails if e.strip()]
        bad = [e for e in emails if "@" not in e or " " in e]
        if bad:
            flash(_("Adresse e-mail invalide : %(emails)s", emails=", ".join(bad)), "danger")
            return redirect(url_for(".details", campaign_id=campaign.id) + "#share")
        try:
            reviews = share_for_review(db.session, campaign, current_user, emails)
        except CampaignError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for(".details", campaign_id=campaign.id) + "#share")
        link = url_for(".details", campaign_id=campaign.id)
        notify(db.session, [r.reviewer_id for r in reviews if r.reviewer_id], "campaign-review",
               _("%(sender)s vous demande de valider la campagne « %(campaign)s ».",
                 sender=current_user.full_name, campaign=campaign.name), link)
        db.session.commit()
        from jobs.campaign_mail import send_review_requests

        enqueue_mail(send_review_requests, campaign.id, [r.id for r in reviews], current_user.id,
                     request.form.get("message", "").strip()[:2000], request.url_root,
                     job_id=f"campaign-share-{campaign.id}-{int(campaign.reviews[-1].shared_at.timestamp())}")
        flash(_("Campagne partagée pour validation avec %(emails)s.", emails=", ".join(r.reviewer_email for r in reviews)),
              "success")
        return redirect(url_for(".details", campaign_id=campaign.id))

    @expose("/<int:campaign_id>/review", methods=("POST",))
    def review(self, campaign_id):
        campaign = self._campaign(campaign_id)   # not shared with this validator: 404
        if not current_user.has_permission(CAMPAIGN_VALIDATE):
            abort(403)
        approved = request.form.get("decision") == "approve"
        try:
            review = answer_review(db.session, campaign, current_user, approved, request.form.get("comment"))
        except CampaignError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for(".details", campaign_id=campaign.id) + "#review")
        if review.shared_by_id:
            text = (_("%(reviewer)s a approuvé la campagne « %(campaign)s ».") if approved
                    else _("%(reviewer)s a commenté la campagne « %(campaign)s »."))
            notify(db.session, [review.shared_by_id], "campaign-review-answered",
                   text % {"reviewer": current_user.full_name, "campaign": campaign.name},
                   url_for(".details", campaign_id=campaign.id))
        db.session.commit()
        from jobs.campaign_mail import send_review_answer

        enqueue_mail(send_review_answer, review.id, request.url_root,
                     job_id=f"campaign-review-{review.id}-{int(review.answered_at.timestamp())}")
        flash(_("Votre avis a été transmis à la filiale."), "success")
        return redirect(url_for(".details", campaign_id=campaign.id))

    @expose("/<int:campaign_id>/send", methods=("POST",))
    def send(self, campaign_id):
        campaign = self._campaign(campaign_id)
        if not may_send(campaign):
            abort(403)
        try:
            result = send_flash(db.session, campaign, current_user)
        except CampaignError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for(".details", campaign_id=campaign.id))
        except IntegrityError:
            return self._send_raced(campaign_id)
        managers = dealer_managers(result.new_concession_ids)
        for concession_id in result.new_concession_ids:
            # In the same transaction as the copy: a concession gets its copy and its notifications once.
            notify(db.session, [u.id for u in managers.get(concession_id, ())], "flash-sent",
                   _("La filiale a mis en ligne le flash « %(campaign)s » : %(count)s offre(s) à valider.",
                     campaign=campaign.name, count=result.offer_count),
                   url_for(".details", campaign_id=result.copy_ids[concession_id]))
        try:
            db.session.commit()
        except IntegrityError:
            return self._send_raced(campaign_id)
        if result.new_concession_ids:
            from jobs.campaign_mail import send_flash_mails

            enqueue_mail(send_flash_mails, campaign.id, result.new_concession_ids, current_user.id,
                         len(result.concession_ids) - len(result.new_concession_ids), request.url_root,
                         job_id=f"flash-mail-{campaign.id}-" + "-".join(map(str, result.new_concession_ids[:20])))
            flash(_("Flash envoyé : %(offers)s offre(s) à %(concessions)s concession(s). Un récapitulatif vous "
                    "a été envoyé par e-mail.", offers=result.offer_count,
                    concessions=len(result.new_concession_ids)), "success")
        else:
            flash(_("Le flash avait déjà été envoyé à ces %(concessions)s concession(s) : rien n'a été renvoyé.",
                    concessions=len(result.concession_ids)), "info")
        return redirect(url_for(".details", campaign_id=campaign.id))

    def _send_raced(self, campaign_id):
        # A double click raced this send: the other request created the copies (unique per concession).
        db.session.rollback()
        flash(_("Le flash est déjà en cours d'envoi : rien n'a été renvoyé."), "info")
        return redirect(url_for(".details", campaign_id=campaign_id))

    @expose("/<int:campaign_id>/validate", methods=("POST",))
    def validate(self, campaign_id):
        campaign = self._campaign(campaign_id)
        if not may_validate(campaign):
            abort(403)
        try:
            validate_campaign(db.session, campaign, current_user)
            db.session.commit()
        except CampaignError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash(_("Campagne validée du %(start)s au %(end)s : ses offres sont publiées sur votre vitrine.",
                    start=campaign.start_date.strftime("%d/%m/%Y"), end=campaign.end_date.strftime("%d/%m/%Y")),
                  "success")
        return redirect(url_for(".details", campaign_id=campaign.id))

    # Statistics and export -----------------------------------------------------------------------
    @expose("/<int:campaign_id>/statistics")
    def statistics(self, campaign_id):
        campaign = self._campaign(campaign_id)
        if not campaign.is_master_flash or not current_user.has_permission(CAMPAIGN_FILIALE):
            abort(404)
        stats = flash_statistics(db.session, campaign.id)
        return self.render("campaigns/statistics.html", campaign=campaign, stats=stats)

    @expose("/statistics")
    def statistics_month(self):
        if not current_user.has_permission(CAMPAIGN_FILIALE):
            abort(403)
        month = parse_month(request.args.get("month"), dt.date.today())
        return self.render("campaigns/month_statistics.html", month=month, rows=month_statistics(db.session, month),
                           previous=shift_month(month, -1), next=shift_month(month, 1))

    # Notifications ------------------------------------------------------------------------------
    @expose("/notifications/<int:notification_id>/open", methods=("POST",))
    def open_notification(self, notification_id):
        note = db.session.get(Notification, notification_id)
        if note is None or note.user_id != current_user.id:
            abort(404)
        if note.read_at is None:
            from models.clock import utcnow

            note.read_at = utcnow()
            db.session.commit()
        link = note.link or url_for(".index")
        if not link.startswith("/") or link.startswith("//"):
            link = url_for(".index")
        return redirect(link)


def display_value(name, value, offer) -> str:
    """An offer field as the user reads it."""
    if value is None or value == "":
        return "–"
    if name in DATE_FIELDS:
        return value.strftime("%d/%m/%Y")
    if name == "discount_value":
        return offer.discount_label
    if name == "network_share":
        return offer.network_share_label
    if name == "category":
        return offer.category_label
    if name == "discount_kind":
        return str(DISCOUNT_KINDS.get(value, value))
    return str(value)


def enqueue_mail(func, *args, job_id: str):
    """Emails go out as jobs: a slow or absent SMTP server never blocks nor breaks the page."""
    from jobs.queue import enqueue

    return enqueue(func, *args, job_id=job_id, retry=None)


# Transverse calendar ---------------------------------------------------------------------------------
class CalendarView(SecureBaseView):
    """Every offer the user may see, across campaigns: month grid and timeline, conflicts marked."""
    permission = CAMPAIGN_READ

    @expose("/")
    def index(self):
        today = dt.date.today()
        month = parse_month(request.args.get("month"), today)
        month_end = shift_month(month, 1) - dt.timedelta(days=1)
        sort = request.args.get("sort") if request.args.get("sort") in ("period", "offer") else "period"
        mode = request.args.get("view") if request.args.get("view") in ("grid", "timeline") else "timeline"
        # a page past the end (or not a number) shows the first page rather than an error
        page = parse_id(request.args.get("page", 1)) or 1
        if page * TIMELINE_PAGE_SIZE > MAX_ID:
            page = 1
        base = (select(Offer, Campaign).join(Campaign, Campaign.id == Offer.campaign_id)
                .where(Offer.deleted.is_(False), Offer.start_date <= month_end, Offer.end_date >= month,
                       Offer.campaign_id.in_(visible_campaign_ids(current_user)))
                .options(selectinload(Campaign.concession)))
        order = ((Offer.start_date, Offer.end_date, Offer.reference, Offer.id) if sort == "period"
                 else (Offer.reference, Offer.start_date, Offer.id))
        total = db.session.execute(select(db.func.count()).select_from(base.subquery())).scalar_one()
        rows = db.session.execute(base.order_by(*order).limit(TIMELINE_PAGE_SIZE)
                                  .offset((page - 1) * TIMELINE_PAGE_SIZE)).all()
        conflicts = conflicts_among([o.reference for o, _c in rows], current_user, period=(month, month_end),
                                    concession_ids={c.concession_id for _o, c in rows if c.concession_id})
        conflicts, more = shown_conflicts(conflicts, [o.id for o, _c in rows])
        named = conflict_campaigns(conflicts, [o.id for o, _c in rows])
        days = [month + dt.timedelta(days=i) for i in range((month_end - month).days + 1)]
        # Month grid: weeks of 7 days (Monday first), each day with the offers running that day.
        per_day = defaultdict(list)
        for offer, campaign in rows:
            for day in days:
                if offer.start_date <= day <= offer.end_date:
                    per_day[day].append((offer, campaign))
        first = month - dt.timedelta(days=month.weekday())
        weeks, day = [], first
        while day <= month_end or day.weekday() != 0:
            if day.weekday() == 0:
                weeks.append([])
            weeks[-1].append(day)
            day += dt.timedelta(days=1)
        conflict_rows = [(o, c, conflicts[o.id]) for o, c in rows if o.id in conflicts]
        # Timeline bars as (days before, days on, days after): three cells a row, not one per day.
        last = len(days) - 1
        bars = {}
        for o, _c in rows:
            first_on, last_on = max(0, (o.start_date - month).days), min(last, (o.end_date - month).days)
            bars[o.id] = (first_on, last_on - first_on + 1, last - last_on)
        return self.render("campaigns/calendar.html", rows=rows, days=days, weeks=weeks, per_day=per_day,
                           month=month, month_end=month_end, sort=sort, mode=mode, page=page, total=total,
                           pages=max(1, -(-total // TIMELINE_PAGE_SIZE)), conflicts=conflicts, named=named,
                           conflict_rows=conflict_rows, more_conflicts=more, bars=bars, previous=shift_month(month, -1), next=shift_month(month, 1))


def campaign_notifications():
    """The current user's unread notifications (home page), newest first."""
    if not current_user.is_authenticated:
        return []
    return db.session.execute(select(Notification).where(Notification.user_id == current_user.id,
                                                         Notification.read_at.is_(None))
                              .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(10)
                              ).scalars().all()


def register_admin(admin):
    admin.add_view(CampaignView(name=_l("Campagnes"), endpoint="campaigns", url="/campaigns",
                                category=_l("Promotions")))
    admin.add_view(CalendarView(name=_l("Calendrier des offres"), endpoint="campaign_calendar",
                                url="/campaigns/calendar", category=_l("Promotions")))


def register_blueprint(app):
    app.jinja_env.globals["campaign_notifications"] = campaign_notifications
