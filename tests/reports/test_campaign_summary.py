"""PDF campaign summary: offers, targeted concessions with their validation state, statistics equal to
the statistics page's; a dealer's summary is their concession's only."""
from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

from sqlalchemy import select

from backoffice.extensions import db
from models.campaign import Campaign, Offer, create_offer, flash_statistics, update_offer, validate_campaign
from reports.campaign_summary import campaign_summary_parts, load_campaign_summary
from tests.campaigns_core.helpers import sent_flash

from .pdftools import page_is_blank, pdf_image_count, pdf_text, save_page_png


def summary(client, campaign_id):
    response = client.form(f"/reports/campaign/{campaign_id}/")
    assert response.status_code == 302, response.status_code
    task_id = re.search(r"/reports/task/([^/]+)/", response.location).group(1)
    status = client.get(f"/reports/task/{task_id}/status").get_json()
    assert status["status"] == "finished", status
    pdf = client.get(status["download_url"])
    assert pdf.status_code == 200
    return task_id, pdf.data


def copy_of(flash, concession):
    return db.session.execute(select(Campaign).where(Campaign.parent_id == flash.id,
                                                     Campaign.concession_id == concession.id)).scalar_one()


def test_the_filiale_prints_a_flash_summary_with_validation_states_and_the_pages_figures(
        network, login, report_folder):
    flash, _ = sent_flash(network)
    nord_copy = copy_of(flash, network.nord)
    offer = db.session.execute(select(Offer).where(Offer.campaign_id == nord_copy.id,
                                                   Offer.reference == "CLIO-V")).scalar_one()
    update_offer(db.session, offer, network.cdv_nord, discount_value=Decimal("1200"))
    create_offer(db.session, nord_copy, network.cdv_nord, reference="ZOE", label="Offre Zoé électrique",
                 discount_kind="amount", discount_value=Decimal("800"))
    validate_campaign(db.session, nord_copy, network.cdv_nord)
    db.session.commit()

    _task, pdf = summary(login(network.filiale), flash.id)
    text = pdf_text(pdf)
    flat = " ".join(text.split())
    assert "Synthèse de campagne" in text and "Flash mars" in text and "Page 1 / " in text
    assert "CLIO-V" in text and "208-II" in text and "Offre CLIO-V" in text
    assert "Concession du Nord" in text and "Concession du Sud" in text
    assert "Validée" in flat or "validée" in flat
    stats = flash_statistics(db.session, flash.id)
    assert (stats.targeted, stats.validated, stats.modified, stats.added) == (2, 1, 1, 1)
    layout = pdf_text(pdf, layout=True)
    line = next(l for l in layout.splitlines() if "(50 %)" in l)  # the headline figures of the page
    assert [int(n) for n in re.findall(r"\d+", line.replace("(50 %)", ""))] == [
        stats.targeted, stats.validated, stats.modified, stats.deleted, stats.added]
    assert not page_is_blank(pdf, 1)
    save_page_png(pdf, "reports-campaign-summary")


def test_a_dealer_prints_their_copy_and_sees_no_other_concession(network, login, report_folder):
    flash, _ = sent_flash(network)
    sud_copy = copy_of(flash, network.sud)
    create_offer(db.session, sud_copy, network.cdv_sud, reference="SUDREF", label="Offre SUDMARKER",
                 discount_kind="amount", discount_value=Decimal("500"))
    db.session.commit()
    nord = login(network.cdv_nord)
    task_id, pdf = summary(nord, copy_of(flash, network.nord).id)
    text = pdf_text(pdf)
    assert "Concession du Nord" in text and "CLIO-V" in text
    assert "Concession du Sud" not in text and "SUDMARKER" not in text and "SUDREF" not in text
    assert task_id.endswith(f"_{network.nord.id}")
    # Sud's copy, the master flash and Sud's task do not exist for Nord.
    assert nord.form(f"/reports/campaign/{sud_copy.id}/").status_code == 404
    assert nord.form(f"/reports/campaign/{flash.id}/").status_code == 404
    sud_task, _pdf = summary(login(network.cdv_sud), sud_copy.id)
    assert nord.get(f"/reports/task/{sud_task}/download").status_code == 404
    assert nord.get(f"/reports/task/{sud_task}/status").status_code == 404


def test_an_offer_changed_after_printing_makes_a_new_summary(network, login, report_folder):
    flash, _ = sent_flash(network)
    client = login(network.filiale)
    first_task, first = summary(client, flash.id)
    again_task, again = summary(client, flash.id)
    assert again_task == first_task and again == first           # same file while valid
    offer = db.session.execute(select(Offer).where(Offer.campaign_id == flash.id,
                                                   Offer.reference == "208-II")).scalar_one()
    update_offer(db.session, offer, network.filiale, label="Offre 208 remisée")
    db.session.commit()
    _task, changed = summary(client, flash.id)
    assert "Offre 208 remisée" in pdf_text(changed)


def test_offer_text_with_markup_is_printed_as_text(network, login, report_folder):
    label, conditions = '<img src="file:///etc/passwd">', "<script>alert(1)</script> http://169.254.169.254/"
    flash, _ = sent_flash(network)
    nord_copy = copy_of(flash, network.nord)
    create_offer(db.session, nord_copy, network.cdv_nord, reference="EVIL", label=label,
                 discount_kind="amount", discount_value=Decimal("100"), conditions=conditions)
    db.session.commit()

    # The HTML handed to WeasyPrint: the user's text is escaped, so no element is created from it.
    html = "".join(campaign_summary_parts(load_campaign_summary(nord_copy.id, network.nord.id)))
    elements = _Elements()
    elements.feed(html)
    assert "img" not in elements.tags and "script" not in elements.tags, elements.tags
    assert label in elements.cells and conditions in elements.cells

    # The PDF shows the tag characters as text. Content-stream order (-raw) keeps each table cell's
    # wrapped lines together; the default reading order interleaves the lines of neighbouring cells
    # when both wrap (with DejaVu Sans, "Concessi"/"on" next to "<script>alert(1)</"/"script>").
    _task, pdf = summary(login(network.cdv_nord), nord_copy.id)
    flat = "".join(pdf_text(pdf, raw=True).split())
    assert '<imgsrc="file:///etc/passwd">' in flat and "<script>alert(1)</script>http://169.254.169.254/" in flat
    assert "&lt;" not in flat and "&gt;" not in flat and "&quot;" not in flat     # escaped once, not twice
    assert pdf_image_count(pdf) == 0                                              # nothing was fetched


class _Elements(HTMLParser):
    """The element names of an HTML document and the text of its table cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.cells, self._cell = set(), [], None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_the_campaign_page_offers_the_pdf_summary_to_the_filiale_and_to_the_dealer_on_their_copy(
        network, login):
    flash, _ = sent_flash(network)
    nord_copy = copy_of(flash, network.nord)
    filiale_page = login(network.filiale).get(f"/campaigns/{flash.id}/").get_data(as_text=True)
    assert f'action="/reports/campaign/{flash.id}/"' in filiale_page and "Synthèse PDF" in filiale_page
    dealer_page = login(network.cdv_nord).get(f"/campaigns/{nord_copy.id}/").get_data(as_text=True)
    assert f'action="/reports/campaign/{nord_copy.id}/"' in dealer_page
