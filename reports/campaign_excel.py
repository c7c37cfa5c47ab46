"""Excel export of a campaign (§7): its offers with origin, discount, ER and period, the validation of
each concession, and for a filiale flash the offers of every concession and the statistics.

``campaign_workbook(session, campaign_id, user)`` returns the .xlsx bytes; what a user sees in it is
what they may see on screen (copies outside their scope are left out).
"""
from __future__ import annotations

import io

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Concession
from models import campaign_rules as rules
from models.campaign import (CATEGORIES, DISCOUNT_KINDS, ORIGINS, STATES, Campaign, campaign_visibility_clause,
                             flash_statistics)

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="343A40")
FILIALE_FILL = PatternFill("solid", fgColor="EDE7F6")   # violet: the filiale's content
DEALER_FILL = PatternFill("solid", fgColor="E8F5E9")    # green: the dealer's content
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"


def _sheet(wb, title, headers, first=False):
    ws = wb.active if first else wb.create_sheet()
    ws.title = title[:31]
    ws.append([str(h) for h in headers])
    for cell in ws[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    ws.freeze_panes = "A2"
    return ws


def _widths(ws):
    for i, column in enumerate(ws.columns, start=1):
        longest = max((len(str(c.value)) for c in column if c.value is not None), default=8)
        ws.column_dimensions[get_column_letter(i)].width = min(max(10, longest + 2), 60)


def _formats(ws, date_columns=(), datetime_columns=()):
    for row in ws.iter_rows(min_row=2):
        for idx in date_columns:
            row[idx].number_format = DATE_FORMAT
        for idx in datetime_columns:
            row[idx].number_format = DATETIME_FORMAT


def _offer_row(offer, concession_name=None):
    row = [offer.reference, offer.label, str(CATEGORIES.get(offer.category, offer.category or "")),
           str(ORIGINS.get(offer.origin, offer.origin)), str(DISCOUNT_KINDS.get(offer.discount_kind)),
           float(offer.discount_value), float(offer.network_share) if offer.network_share is not None else None,
           offer.conditions, offer.start_date, offer.end_date, _("Supprimée") if offer.deleted else _("Active")]
    return ([concession_name] if concession_name is not None else []) + row


OFFER_HEADERS = ("Référence", "Libellé", "Catégorie", "Origine", "Type de remise", "Remise", "ER", "Conditions",
                 "Début", "Fin", "État")


def _fill_origin(ws, origin_column: int):
    for row in ws.iter_rows(min_row=2):
        fill = FILIALE_FILL if row[origin_column].value == str(ORIGINS[rules.ORIGIN_FILIALE]) else DEALER_FILL
        for cell in row:
            cell.fill = fill


def campaign_workbook(session, campaign_id: int, user=None) -> bytes:
    """The campaign as .xlsx bytes. ``user`` limits the concessions shown (None: everything, for jobs)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(campaign_id)
    wb = Workbook()

    ws = _sheet(wb, _("Campagne"), [_("Champ"), _("Valeur")], first=True)
    owner = campaign.concession.name if campaign.concession else _("Filiale")
    for label, value in ((_("Nom"), campaign.name), (_("Type"), campaign.kind_label), (_("Propriétaire"), owner),
                         (_("Début"), campaign.start_date), (_("Fin"), campaign.end_date),
                         (_("État"), str(STATES.get(campaign.state, campaign.state))),
                         (_("Envoyée le"), campaign.sent_at), (_("Validée le"), campaign.validated_at),
                         (_("Validée par"), str(campaign.validated_by) if campaign.validated_by else None)):
        ws.append([str(label), value])
    for row in ws.iter_rows(min_row=2):
        if hasattr(row[1].value, "hour"):
            row[1].number_format = DATETIME_FORMAT
        elif hasattr(row[1].value, "day"):
            row[1].number_format = DATE_FORMAT
    _widths(ws)

    ws = _sheet(wb, _("Offres"), [_(h) for h in OFFER_HEADERS])
    for offer in sorted(campaign.offers, key=lambda o: (o.deleted, o.reference, o.id)):
        ws.append(_offer_row(offer))
    _formats(ws, date_columns=(8, 9))
    _fill_origin(ws, 3)
    _widths(ws)

    if campaign.is_master_flash:
        _flash_sheets(wb, session, campaign, user)

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _flash_sheets(wb, session, flash, user):
    stmt = (select(Campaign).where(Campaign.parent_id == flash.id)
            .options(selectinload(Campaign.offers), selectinload(Campaign.validated_by)))
    clause = campaign_visibility_clause(user) if user is not None else None
    if clause is not None:
        stmt = stmt.where(clause)
    copies = session.execute(stmt).scalars().all()
    names = dict(session.execute(select(Concession.id, Concession.name)
                                 .where(Concession.id.in_([c.concession_id for c in copies]))).all())
    copies.sort(key=lambda c: names.get(c.concession_id, ""))
    stats = flash_statistics(session, flash.id)
    figures = {f.concession_id: f for f in stats.concessions}

    ws = _sheet(wb, _("Concessions"), [_("Concession"), _("État"), _("Validée le"), _("Validée par"),
                                       _("Offres conservées"), _("Offres modifiées"), _("Offres supprimées"),
                                       _("Offres ajoutées")])
    for copy in copies:
        f = figures.get(copy.concession_id)
        ws.append([names.get(copy.concession_id), str(STATES.get(copy.state, copy.state)), copy.validated_at,
                   str(copy.validated_by) if copy.validated_by else None,
                   f.kept if f else 0, f.modified if f else 0, f.deleted if f else 0, f.added if f else 0])
    _formats(ws, datetime_columns=(2,))
    _widths(ws)

    ws = _sheet(wb, _("Offres des concessions"), [_("Concession")] + [_(h) for h in OFFER_HEADERS])
    for copy in copies:
        for offer in sorted(copy.offers, key=lambda o: (o.deleted, o.reference, o.id)):
            ws.append(_offer_row(offer, names.get(copy.concession_id)))
    _formats(ws, date_columns=(9, 10))
    _fill_origin(ws, 4)
    _widths(ws)

    if user is None or clause is None:   # network figures only for network-wide users and jobs
        ws = _sheet(wb, _("Statistiques"), [_("Référence"), _("Libellé"), _("Remise flash"),
                                            _("Remise moyenne appliquée"), _("Écart"), _("Conservée"),
                                            _("Modifiée"), _("Supprimée")])
        for line in stats.offers:
            ws.append([line.reference, line.label, float(line.flash_discount),
                       float(line.average_applied) if line.average_applied is not None else None,
                       float(line.difference) if line.difference is not None else None,
                       line.kept, line.modified, line.deleted])
        ws.append([])
        for label, value in ((_("Concessions ciblées"), stats.targeted), (_("Concessions ayant validé"), stats.validated),
                             (_("Offres modifiées"), stats.modified), (_("Offres supprimées"), stats.deleted),
                             (_("Offres ajoutées par les concessions"), stats.added)):
            ws.append([label, value])
        _widths(ws)

