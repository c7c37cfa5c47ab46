"""In a real browser: from the Particulier dashboard, click a score bar, land on its list, fix a price."""
import re


def test_score_bar_opens_its_list_where_a_price_is_fixed_in_place(page, stock):
    page.login("cdv.nord@test.example")
    page.goto(page.base_url + "/remarketing/retail/")
    page.wait_for_selector('[data-testid="chart-score"]')
    page.artifact("dashboard-particulier")

    # the fullest score bar: it certainly holds vehicles priced a while ago
    bars = page.locator('[data-testid="chart-score"] a.chart-bar')
    values = [int(bars.nth(i).get_attribute("data-value")) for i in range(bars.count())]
    best = max(range(len(values)), key=lambda i: values[i])
    key = bars.nth(best).get_attribute("data-key")
    assert values[best] > 0
    bars.nth(best).click()

    page.wait_for_url(re.compile(rf"/stock/retail/\?(.*&)?score={key}(&|$)"))
    count_text = page.locator('[data-testid="vehicle-count"]').text_content()
    assert int(re.sub(r"\D", "", count_text)) == values[best]

    rows = page.locator('tr[data-testid="vehicle-row"]')
    target = None
    for i in range(rows.count()):
        age = rows.nth(i).locator("[data-role=price-age]").text_content().strip()
        if age.isdigit() and int(age) > 0 and rows.nth(i).locator("form.price-form").count():
            target = rows.nth(i)
            break
    assert target is not None, "no vehicle with an old price in this bucket"
    vehicle_id = target.get_attribute("data-vehicle-id")
    form = target.locator("form.price-form")
    form.locator("input[name=price]").fill("12 490")
    form.locator("button").click()
    page.wait_for_function(
        f"document.querySelector('tr[data-vehicle-id=\"{vehicle_id}\"] [data-role=price-age]')"
        ".textContent.trim() === '0'")
    page.artifact("dashboard-particulier-price-fixed")
