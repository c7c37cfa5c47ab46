"""Building campaigns through the screens, as the users do."""
import re

from sqlalchemy import select

from backoffice.extensions import db
from models.campaign import Campaign, Offer


def create_flash(client, name="Flash juin", month="2026-06"):
    response = client.form("/campaigns/new", {"name": name, "month": month})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/campaigns/(\d+)/", response.location).group(1))


def add_offer(client, campaign_id, reference, discount="1500", share="500", start="", end="",
              follow_redirects=False, **extra):
    data = {"reference": reference, "label": extra.pop("label", f"Offre {reference}"), "category": "new",
            "discount_kind": "amount", "discount_value": discount, "network_share": share,
            "conditions": "", "start_date": start, "end_date": end}
    data.update(extra)
    return client.form(f"/campaigns/{campaign_id}/offers/new", data, follow_redirects=follow_redirects)


def flash_ready(client, network, name="Flash juin", references=("CLIO V", "CAPTUR")):
    """A flash of June 2026 with offers, targeting Concession du Nord."""
    flash_id = create_flash(client, name)
    for ref in references:
        assert add_offer(client, flash_id, ref).status_code == 302
    response = client.form(f"/campaigns/{flash_id}/targets", {"concession_ids": [str(network.nord.id)]})
    assert response.status_code == 302
    return flash_id


def copy_of(flash_id, concession):
    db.session.expire_all()
    return db.session.execute(select(Campaign).where(Campaign.parent_id == flash_id,
                                                     Campaign.concession_id == concession.id)).scalar_one()


def live_offers(campaign_id):
    db.session.expire_all()
    return db.session.execute(select(Offer).where(Offer.campaign_id == campaign_id, Offer.deleted.is_(False))
                              .order_by(Offer.reference)).scalars().all()
