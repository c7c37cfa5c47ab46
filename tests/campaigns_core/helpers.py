"""Builders shared by the campaign core tests."""
import datetime as dt
from decimal import Decimal

from backoffice.extensions import db
from models.campaign import create_offer, new_campaign, send_flash, validate_campaign

MONTH = dt.date(2026, 3, 1)
MONTH_END = dt.date(2026, 3, 31)


def flash_with_offers(network, references=("CLIO-V", "208-II"), targets=None, month=MONTH):
    """A filiale flash of the month with one offer per reference, targeting Nord and Sud."""
    flash = new_campaign(db.session, network.filiale, name="Flash mars", kind="flash", month=month)
    flash.target_concessions = list(targets if targets is not None else (network.nord, network.sud))
    for i, ref in enumerate(references):
        create_offer(db.session, flash, network.filiale, reference=ref, label=f"Offre {ref}", category="new",
                     discount_kind="amount", discount_value=Decimal(1000 + 500 * i), network_share=Decimal(300))
    db.session.commit()
    return flash


def sent_flash(network, **kwargs):
    flash = flash_with_offers(network, **kwargs)
    result = send_flash(db.session, flash, network.filiale)
    db.session.commit()
    return flash, result


def dealer_campaign(network, concession, user, references=("CLIO-V",), start=MONTH, end=MONTH_END,
                    validate=False, name="Promo Nord"):
    campaign = new_campaign(db.session, user, name=name, kind="dealer", start_date=start, end_date=end,
                            concession_id=concession.id)
    for ref in references:
        create_offer(db.session, campaign, user, reference=ref, label=f"Promo {ref}", discount_kind="percent",
                     discount_value=Decimal(10))
    if validate:
        validate_campaign(db.session, campaign, user)
    db.session.commit()
    return campaign
