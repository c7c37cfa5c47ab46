"""In a real headless Chromium: a dealer manager limits a medium, previews who leaves, saves, and sees the
dashboard's "Prochain envoi" follow."""
import re

from backoffice.extensions import db
from models.publication import MediumConfig


def test_dealer_limits_a_medium_previews_who_leaves_saves_and_sees_the_next_send(pub, page):
    base = page.base_url
    page.login("cdv.nord@test.example")

    page.goto(base + "/remarketing/")
    assert re.search(r"2 vo à envoyer", page.inner_text(f'[data-testid="to-send-{pub.lbc.id}"]'))

    page.goto(base + "/publication/config/")
    page.click(f'[data-testid="edit-{pub.lbc.id}"]')
    page.check('input[name="limit_mode"][value="global"]')
    page.fill('[data-testid="limit-value"]', "1")
    page.click('[data-testid="preview-button"]')

    leaving = page.inner_text('[data-testid="preview-leaving"]')
    assert "N200" in leaving and "RENAULT CLIO" in leaving and "limite atteinte" in leaving
    assert "N100" not in leaving
    assert "1 sortent" in page.inner_text('[data-testid="preview-summary"]')
    page.artifact("publication-config-preview")
    db.session.expire_all()
    assert db.session.get(MediumConfig, pub.nord_config.id).limit_mode == "none"  # a preview saves nothing

    # The form keeps what was typed: saving now applies the previewed change.
    assert page.input_value('[data-testid="limit-value"]') == "1"
    page.click('[data-testid="save-button"]')
    page.wait_for_url(lambda url: "/publication/config/" in url and "/medium/" not in url)
    assert "enregistrée" in page.inner_text("body")
    assert page.inner_text(f'[data-testid="to-send-{pub.lbc.id}-{pub.nord_list.id}"]').strip() == "1"

    page.goto(base + "/remarketing/")
    assert re.search(r"1 vo à envoyer", page.inner_text(f'[data-testid="to-send-{pub.lbc.id}"]'))
    db.session.expire_all()
    config = db.session.get(MediumConfig, pub.nord_config.id)
    assert (config.limit_mode, config.limit_value) == ("global", 1)


def test_dealer_deselects_a_vehicle_from_the_stock_list_flags(pub, page):
    vehicle = pub.nord_vehicles[0]
    page.login("cdv.nord@test.example")
    page.goto(page.base_url + "/stock/retail/")
    flag = f'[data-testid="flag-{vehicle.id}-{pub.lbc.id}"]'
    assert page.get_attribute(flag, "data-state") == "S"
    page.click(flag)
    page.click(f'[data-testid="flag-{vehicle.id}-{pub.lbc.id}-to-D"]')
    page.wait_for_selector(f'{flag}[data-state="D"]')
    assert "/stock/retail/" in page.url
