"""Both journeys in a real headless Chromium: the filiale sends a flash to Concession du Nord; its CDV sees
the notification, edits an offer, adds one, validates; the calendar shows the conflict with the dealer's own
campaign and names the campaign that takes precedence. Screenshots go to test-artifacts/."""
import datetime as dt

from sqlalchemy import select

from backoffice.extensions import db
from models.campaign import Campaign, create_offer, new_campaign


def _next_month():
    today = dt.date.today()
    return (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def test_filiale_sends_a_flash_and_the_cdv_of_nord_works_on_it(page, network):
    month = _next_month()
    # Nord already runs its own campaign with a Clio offer mid-month.
    own = new_campaign(db.session, network.cdv_nord, name="Portes ouvertes Nord", kind="dealer",
                       start_date=month.replace(day=10), end_date=month.replace(day=20),
                       concession_id=network.nord.id)
    create_offer(db.session, own, network.cdv_nord, reference="CLIO V", label="Clio portes ouvertes",
                 discount_kind="amount", discount_value="2000")
    db.session.commit()
    base = page.base_url

    # Filiale: create the flash, add offers, choose Nord, send.
    page.login("filiale@test.example")
    page.goto(base + "/campaigns/")
    page.click("[data-testid=campaign-new]")
    page.fill("input[name=name]", "Flash du mois")
    page.fill("input[name=month]", month.strftime("%Y-%m"))
    page.click("[data-testid=campaign-create]")
    page.click("[data-testid=offer-add]")
    page.wait_for_selector("[data-testid=offer-form]")
    for reference, label, discount, share in (("CLIO V", "Clio V remise flash", "1500", "500"),
                                              ("CAPTUR", "Captur remise flash", "1000", "300")):
        page.fill("input[name=reference]", reference)
        page.fill("input[name=label]", label)
        page.fill("input[name=discount_value]", discount)
        page.fill("input[name=network_share]", share)
        page.click("[data-testid=offer-save-again]" if reference == "CLIO V" else "[data-testid=offer-save]")
        page.wait_for_selector(f"text=Offre {reference} ajoutée.")
    assert page.locator("[data-testid=offer-row]").count() == 2
    page.select_option("[data-testid=targets-concessions]", label="Concession du Nord")
    page.click("[data-testid=targets-save]")
    page.wait_for_selector("text=Concessions et pôles destinataires enregistrés.")
    page.click("[data-testid=flash-send]")
    page.wait_for_selector("text=Flash envoyé : 2 offre(s) à 1 concession(s)")
    page.artifact("campaign-01-filiale-flash-sent")
    page.click("[data-testid=logout]")

    # CDV of Nord: the home page notification leads to the flash.
    page.login("cdv.nord@test.example")
    page.goto(base + "/")
    note = page.locator("[data-testid=notification]")
    assert "Flash du mois" in note.inner_text()
    page.artifact("campaign-02-cdv-home-notification")
    page.click("[data-testid=notification-link]")
    page.wait_for_selector("[data-testid=offers]")
    assert "À valider" in page.inner_text("[data-testid=campaign-state]")

    # Edit the Clio offer: the dates are read-only, the discount changes.
    page.locator("[data-testid=offer-row][data-reference='CLIO V'] [data-testid=offer-edit]").click()
    assert page.get_attribute("input[name=start_date]", "readonly") is not None
    page.fill("input[name=discount_value]", "1800")
    page.click("[data-testid=offer-save]")
    page.wait_for_selector("text=Offre CLIO V modifiée.")
    assert "1\u202f800 €" in page.inner_text("[data-testid=offer-row][data-reference='CLIO V']")

    # Add an offer of the dealer's own, then validate the month.
    page.click("[data-testid=offer-add]")
    page.wait_for_selector("[data-testid=offer-form]")
    page.fill("input[name=reference]", "ARKANA")
    page.fill("input[name=label]", "Arkana offre concession")
    page.fill("input[name=discount_value]", "1200")
    page.click("[data-testid=offer-save]")
    page.wait_for_selector("text=Offre ARKANA ajoutée.")
    added = page.locator("[data-testid=offer-row][data-reference='ARKANA']")
    assert "origin-dealer" in added.get_attribute("class")
    page.click("[data-testid=campaign-validate]")
    page.wait_for_selector("text=Campagne validée du")
    assert "Validée" in page.inner_text("[data-testid=campaign-state]")
    page.artifact("campaign-03-cdv-flash-validated")

    # The history of the Clio offer: filiale content violet, dealer change green.
    page.locator("[data-testid=offer-row][data-reference='CLIO V'] [data-testid=offer-history]").click()
    page.wait_for_selector("[data-testid=history]")
    sides = [page.locator("[data-testid=history-row]").nth(i).get_attribute("data-side")
             for i in range(page.locator("[data-testid=history-row]").count())]
    assert "dealer" in sides and "filiale" in sides
    page.artifact("campaign-04-offer-history")

    # The calendar: the Clio offer conflicts with "Portes ouvertes Nord", which takes precedence.
    page.goto(base + f"/campaigns/calendar/?month={month:%Y-%m}")
    page.wait_for_selector("[data-testid=conflicts]")
    conflicted = page.locator("[data-testid=calendar-row][data-conflict=yes]")
    assert conflicted.count() == 2
    winners = page.locator("[data-testid=conflict-winner]").all_inner_texts()
    assert winners and all("Portes ouvertes Nord" in w for w in winners)
    page.artifact("campaign-05-calendar-conflict")
    page.locator("[data-testid=conflict-open]").first.click()
    page.wait_for_selector("[data-testid=offers]")
    db.session.expire_all()
    copy = db.session.execute(select(Campaign).where(Campaign.parent_id.is_not(None))).scalar_one()
    assert copy.state == "validated"
