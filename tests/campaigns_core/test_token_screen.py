"""Storefront tokens screen: a CDV creates a token for their concession (shown once), revokes it; scope."""
import re

from sqlalchemy import select

from backoffice.extensions import db
from models.campaign import StorefrontToken, issue_storefront_token


def test_cdv_creates_a_token_shown_once_and_it_works(login, network):
    cdv = login(network.cdv_nord)
    page = cdv.get("/storefront-tokens/")
    assert page.status_code == 200 and "Concession du Sud" not in page.get_data(as_text=True)
    response = cdv.form("/storefront-tokens/new", {"concession_id": network.nord.id, "name": "Site vitrine"})
    html = response.get_data(as_text=True)
    token = re.search(r"<code>(sf_[^<]+)</code>", html).group(1)
    assert cdv.get("/api/storefront/v1/offers", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in cdv.get("/storefront-tokens/").get_data(as_text=True)   # never shown again

    row = db.session.execute(select(StorefrontToken)).scalar_one()
    cdv.form(f"/storefront-tokens/{row.id}/revoke")
    assert cdv.get("/api/storefront/v1/offers", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_cdv_cannot_create_or_revoke_for_another_concession(login, network):
    cdv = login(network.cdv_nord)
    response = cdv.form("/storefront-tokens/new", {"concession_id": network.sud.id, "name": "Pirate"})
    assert response.status_code == 400 and "Choisissez une concession" in response.get_data(as_text=True)
    response = cdv.form("/storefront-tokens/new", {"concession_id": network.nord.id, "name": ""})
    assert response.status_code == 400
    assert db.session.execute(select(StorefrontToken)).first() is None
    sud_token, _ = issue_storefront_token(db.session, network.sud.id, "Sud")
    db.session.commit()
    assert cdv.form(f"/storefront-tokens/{sud_token.id}/revoke").status_code == 404
    db.session.refresh(sud_token)
    assert sud_token.revoked_at is None


def test_who_may_open_the_screen(login, network):
    assert login(network.admin).get("/storefront-tokens/").status_code == 200
    for user in (network.vendeur_nord, network.validator, network.filiale):
        assert login(user).get("/storefront-tokens/").status_code == 403
