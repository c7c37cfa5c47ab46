"""In a real browser: expand a column group, refuse a bad price in place, save a good one."""
import datetime as dt
from decimal import Decimal as D


def test_edit_price_in_place(page, network, factories):
    v = factories.vehicle(network.gap, entry_number="B1", make="NORDMARKER", sale_price_ttc=D("9000"),
                          price_changed_on=dt.date.today() - dt.timedelta(days=40))
    page.login("cdv.nord@test.example")
    page.goto(page.base_url + "/stock/retail/")
    row = page.locator(f'tr[data-vehicle-id="{v.id}"]')
    assert row.locator("[data-role=price-age]").text_content().strip() == "40"
    page.click("[data-toggle-group=vehicle]")
    assert page.locator("th.det-vehicle").first.is_visible()
    form = row.locator("form.price-form")
    form.locator("input[name=price]").fill("douze mille")
    form.locator("button").click()
    error = form.locator("[data-role=price-error]")
    error.wait_for(state="visible")
    assert "nombre" in error.text_content()
    form.locator("input[name=price]").fill("8 490")
    form.locator("button").click()
    page.wait_for_function(
        f"document.querySelector('tr[data-vehicle-id=\"{v.id}\"] [data-role=price-age]').textContent.trim() === '0'")
    page.artifact("stock-list-price-edited")
    page.reload()
    assert row.locator("input[name=price]").input_value() == "8490"
