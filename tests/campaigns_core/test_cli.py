"""Command-line: storefront token creation, feed files, statistics e-mail."""
from sqlalchemy import select

from backoffice.extensions import db
from models.campaign import StorefrontToken


def test_storefront_token_command_prints_a_working_token_once(app, client, network):
    result = app.test_cli_runner().invoke(args=["storefront-token", "NORD", "--name", "Vitrine"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    row = db.session.execute(select(StorefrontToken)).scalar_one()
    assert row.concession_id == network.nord.id and row.token_hash == StorefrontToken.hash(token)
    body = client.get("/api/storefront/v1/offers", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["concession"]["code"] == "NORD"
    bad = app.test_cli_runner().invoke(args=["storefront-token", "NOPE"])
    assert bad.exit_code != 0 and "unknown concession" in bad.output


def test_feed_command_writes_every_concession(app, network, tmp_path):
    saved = app.config["FEED_FOLDER"]
    app.config["FEED_FOLDER"] = str(tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["campaigns", "storefront-feeds", "--date", "2026-03-15"])
        assert result.exit_code == 0, result.output
        assert "2 feed file(s) written" in result.output
        assert sorted(p.name for p in (tmp_path / "storefront").iterdir()) == ["NORD.json", "SUD.json"]
    finally:
        app.config["FEED_FOLDER"] = saved
