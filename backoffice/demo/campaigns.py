"""Demo promotion campaigns (§7), relative to the demo's today:

* the current month's flash of the filiale, 6 offers, targeted at Concession du Nord (through its pôle)
  and Concession du Sud, NOT yet sent — the filiale's journey sends it;
* last month's flash, sent; Nord validated it after changing a discount, deleting an offer and adding
  its own, Sud validated it untouched — so last month has statistics;
* a campaign of Concession du Nord of its own, validated, on the Clio V for ten days around today (inside
  the current month): it overlaps the current flash, so the calendar shows a conflict (Nord's campaign wins).

Storefront tokens are not created here: ``flask --app wsgi.py storefront-token NORD`` prints one.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date
from sqlalchemy import select

from backoffice.extensions import db
from models import User
from models.campaign import (create_offer, delete_offer, new_campaign, send_flash, share_for_review, update_offer,
                             validate_campaign)
from models.campaign_rules import month_bounds

# reference, label, category, discount kind, discount, ER, conditions
FLASH_OFFERS = [
    ("CLIO-V", "Renault Clio V", "new", "amount", 2000, 500, "Pour toute commande d'une Clio V neuve en stock."),
    ("CAPTUR-II", "Renault Captur II", "new", "amount", 2500, 700, "Hors version E-Tech full hybrid."),
    ("MEGANE-E-TECH", "Renault Mégane E-Tech électrique", "new", "amount", 3000, 1000,
     "Cumulable avec le bonus écologique."),
    ("208-II", "Peugeot 208", "new", "amount", 1500, 400, "Finitions Allure et GT."),
    ("2008-II", "Peugeot 2008", "new", "percent", 8, 2, "Sur le prix catalogue, options comprises."),
    ("C3-IV", "Citroën C3", "new", "amount", 1200, 300, None),
]
LAST_MONTH_OFFERS = [
    ("CLIO-V", "Renault Clio V", "new", "amount", 1800, 400, None),
    ("ARKANA", "Renault Arkana", "new", "amount", 2200, 600, None),
    ("308-III", "Peugeot 308", "new", "percent", 7, 2, "Hors 308 SW."),
    ("SANDERO-III", "Dacia Sandero", "new", "amount", 800, 200, None),
    ("ENTRETIEN", "Forfait entretien", "service", "percent", 15, 5, "Main d'œuvre uniquement."),
]


def _user(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _offers(campaign, user, rows):
    for reference, label, category, kind, discount, share, conditions in rows:
        create_offer(db.session, campaign, user, reference=reference, label=label, category=category,
                     discount_kind=kind, discount_value=Decimal(discount), network_share=Decimal(share),
                     conditions=conditions)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


def seed(ctx):
    concessions = ctx.data["concessions"]
    nord, sud = concessions["NORD"], concessions["SUD"]
    filiale = _user("filiale@demo.example")
    cdv_nord, cdv_sud = _user("cdv.nord@demo.example"), _user("cdv.sud@demo.example")

    # Last month's flash: sent and validated, with Nord's changes for the statistics.
    last_start, _ = month_bounds(ctx.today.replace(day=1) - dt.timedelta(days=1))
    last = new_campaign(db.session, filiale, name=f"Flash {format_date(last_start, 'MMMM yyyy', locale='fr')}",
                        kind="flash", month=last_start)
    last.target_concessions = [nord, sud]
    _offers(last, filiale, LAST_MONTH_OFFERS)
    result = send_flash(db.session, last, filiale, now=_at(last_start, 9))
    nord_copy = next(c for c in last.copies if c.concession_id == nord.id)
    sud_copy = next(c for c in last.copies if c.concession_id == sud.id)
    by_ref = {o.reference: o for o in nord_copy.offers}
    update_offer(db.session, by_ref["CLIO-V"], cdv_nord, discount_value=Decimal(2100),
                 conditions="Remise concession renforcée sur le stock Clio V.")
    delete_offer(db.session, by_ref["ENTRETIEN"], cdv_nord)
    create_offer(db.session, nord_copy, cdv_nord, reference="KANGOO-III", label="Renault Kangoo Van",
                 category="new", discount_kind="amount", discount_value=Decimal(1500),
                 conditions="Offre professionnels.")
    validate_campaign(db.session, nord_copy, cdv_nord, now=_at(last_start + dt.timedelta(days=2), 11))
    validate_campaign(db.session, sud_copy, cdv_sud, now=_at(last_start + dt.timedelta(days=4), 16))

    # The current month's flash, ready to be sent by the filiale's journey.
    start, end = month_bounds(ctx.today)
    flash = new_campaign(db.session, filiale, name=f"Flash {format_date(start, 'MMMM yyyy', locale='fr')}",
                         kind="flash", month=start)
    flash.target_poles = [nord.pole]
    flash.target_concessions = [sud]
    _offers(flash, filiale, FLASH_OFFERS)
    # Shared with the VPP for review, as the journey suggests: vpp@demo.example has something to answer.
    share_for_review(db.session, flash, filiale, ["vpp@demo.example"])

    # Nord's own campaign on the Clio V, overlapping the flash: a conflict Nord's campaign wins.
    # Around today (so Nord's storefront shows it), inside the month (so it overlaps the flash).
    own_start = max(start, ctx.today - dt.timedelta(days=3))
    own_start = min(own_start, end - dt.timedelta(days=6))
    own = new_campaign(db.session, cdv_nord, name="Journées Clio Nord", kind="dealer", start_date=own_start,
                       end_date=min(end, own_start + dt.timedelta(days=10)), concession_id=nord.id)
    create_offer(db.session, own, cdv_nord, reference="CLIO-V", label="Clio V – journées portes ouvertes",
                 category="new", discount_kind="amount", discount_value=Decimal(2500),
                 conditions="Reprise de votre ancien véhicule +500 €.")
    create_offer(db.session, own, cdv_nord, reference="ENTRETIEN", label="Révision à prix réduit",
                 category="service", discount_kind="percent", discount_value=Decimal(20))
    validate_campaign(db.session, own, cdv_nord, now=_at(start, 10))
    db.session.commit()
    ctx.data["campaigns"] = {"flash": flash, "last_flash": last, "nord_own": own,
                             "last_copies": result.copy_ids}
