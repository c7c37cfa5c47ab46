"""The seed's two journeys end to end in headless Chromium on the demo data, with the demo accounts."""
import datetime as dt

from babel.dates import format_date

from backoffice.demo import build


def test_the_journeys_run_on_the_demo_data(page):
    build(vehicles=12, with_photos=False, log=lambda *a: None)
    base = page.base_url
    flash_name = f"Flash {format_date(dt.date.today(), 'MMMM yyyy', locale='fr')}"

    page.login("filiale@demo.example")
    page.goto(base + "/campaigns/?kind=flash")
    page.click(f"text={flash_name}")
    page.wait_for_selector("[data-testid=flash-send]")
    page.click("[data-testid=flash-send]")
    page.wait_for_selector("text=Flash envoyé : 6 offre(s) à 2 concession(s)")
    page.artifact("campaign-demo-01-filiale-sent")
    page.click("[data-testid=logout]")

    page.login("cdv.nord@demo.example")
    page.goto(base + "/")
    page.click("[data-testid=notification-link]")
    page.wait_for_selector("[data-testid=offers]")
    page.locator("[data-testid=offer-row][data-reference='208-II'] [data-testid=offer-edit]").click()
    page.fill("input[name=discount_value]", "1700")
    page.click("[data-testid=offer-save]")
    page.wait_for_selector("text=Offre 208-II modifiée.")
    page.click("[data-testid=offer-add]")
    page.wait_for_selector("[data-testid=offer-form]")
    page.fill("input[name=reference]", "AUSTRAL")
    page.fill("input[name=label]", "Renault Austral")
    page.fill("input[name=discount_value]", "2000")
    page.click("[data-testid=offer-save]")
    page.wait_for_selector("text=Offre AUSTRAL ajoutée.")
    page.click("[data-testid=campaign-validate]")
    page.wait_for_selector("text=Campagne validée du")
    page.artifact("campaign-demo-02-cdv-validated")

    page.goto(base + "/campaigns/calendar/")
    page.wait_for_selector("[data-testid=conflicts]")
    assert page.locator("[data-testid=calendar-row][data-reference='CLIO-V'][data-conflict=yes]").count() == 2
    winners = page.locator("[data-testid=conflict-winner]").all_inner_texts()
    assert winners and all("Journées Clio Nord" in w for w in winners)
    page.artifact("campaign-demo-03-calendar")
