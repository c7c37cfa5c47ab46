"""In a real headless Chromium: the demo dealer logs in, sees only their stock, logs out by POST."""
import pytest

pytestmark = pytest.mark.browser


def test_dealer_logs_in_sees_own_stock_in_french_and_logs_out(network, factories, page):
    factories.vehicle(network.gap, model="NORDMARKER")
    factories.vehicle(network.rennes, model="SUDMARKER")
    page.login("cdv.nord@test.example")
    page.goto(page.base_url + "/vehicles/")
    body = page.content()
    assert "NORDMARKER" in body and "SUDMARKER" not in body
    assert "Stock VO" in body and "Se déconnecter" in body
    page.artifact("stock-list-cdv-nord")
    page.click("[data-testid=logout]")
    page.goto(page.base_url + "/vehicles/")
    assert "/auth/login" in page.url
