"""Excel export of a campaign: opens with openpyxl and holds the right rows, scoped to the user."""
import io

from openpyxl import load_workbook

from backoffice.extensions import db
from models.campaign import Campaign, create_offer, delete_offer, update_offer, validate_campaign
from reports.campaign_excel import campaign_workbook

from .helpers import dealer_campaign, sent_flash


def _rows(workbook, title):
    return [list(r) for r in workbook[title].iter_rows(min_row=2, values_only=True)]


def _prepared(network):
    flash, result = sent_flash(network)
    nord = db.session.get(Campaign, result.copy_ids[network.nord.id])
    update_offer(db.session, next(o for o in nord.offers if o.reference == "CLIO-V"), network.cdv_nord,
                 discount_value=1300)
    delete_offer(db.session, next(o for o in nord.offers if o.reference == "208-II"), network.cdv_nord)
    create_offer(db.session, nord, network.cdv_nord, reference="ARKANA", label="Arkana", discount_value=900)
    validate_campaign(db.session, nord, network.cdv_nord)
    db.session.commit()
    return flash, nord


def test_flash_workbook_holds_offers_concessions_and_statistics(network):
    flash, nord = _prepared(network)
    wb = load_workbook(io.BytesIO(campaign_workbook(db.session, flash.id, network.filiale)))
    assert wb.sheetnames == ["Campagne", "Offres", "Concessions", "Offres des concessions", "Statistiques"]
    offers = _rows(wb, "Offres")
    assert [(r[0], r[3], r[5], r[6]) for r in offers] == [("208-II", "Filiale", 1500, 300), ("CLIO-V", "Filiale", 1000, 300)]
    concessions = {r[0]: r for r in _rows(wb, "Concessions")}
    assert concessions["Concession du Nord"][1] == "Validée" and concessions["Concession du Nord"][3]
    assert concessions["Concession du Nord"][5:8] == [1, 1, 1]   # modified, deleted, added
    assert concessions["Concession du Sud"][1] == "À valider"
    nord_rows = [r for r in _rows(wb, "Offres des concessions") if r[0] == "Concession du Nord"]
    assert sorted((r[1], r[4], r[6], r[11]) for r in nord_rows) == [
        ("208-II", "Filiale", 1500, "Supprimée"), ("ARKANA", "Concession", 900, "Active"),
        ("CLIO-V", "Filiale", 1300, "Active")]
    clio = next(r for r in _rows(wb, "Statistiques") if r and r[0] == "CLIO-V")
    assert clio[2:5] == [1000, 1150, 150]


def test_dealer_export_of_own_copy_and_campaign(network):
    flash, nord = _prepared(network)
    wb = load_workbook(io.BytesIO(campaign_workbook(db.session, nord.id, network.cdv_nord)))
    assert wb.sheetnames == ["Campagne", "Offres"]
    assert sorted(r[0] for r in _rows(wb, "Offres")) == ["208-II", "ARKANA", "CLIO-V"]
    promo = dealer_campaign(network, network.nord, network.cdv_nord, references=("CAPTUR-II",))
    wb = load_workbook(io.BytesIO(campaign_workbook(db.session, promo.id, network.cdv_nord)))
    assert [(r[0], r[3], r[4]) for r in _rows(wb, "Offres")] == [("CAPTUR-II", "Concession", "Pourcentage (%)")]


def test_export_route_is_scoped(login, network):
    flash, nord = _prepared(network)
    response = login(network.cdv_nord).get(f"/campagnes-export/{nord.id}.xlsx")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.data))["Campagne"]["B2"].value == "Flash mars"
    assert login(network.cdv_sud).get(f"/campagnes-export/{nord.id}.xlsx").status_code == 404
    assert login(network.cdv_nord).get(f"/campagnes-export/{flash.id}.xlsx").status_code == 404
    assert login(network.validator).get(f"/campagnes-export/{flash.id}.xlsx").status_code == 404
    response = login(network.filiale).get(f"/campagnes-export/{flash.id}.xlsx")
    assert response.status_code == 200 and "Statistiques" in load_workbook(io.BytesIO(response.data)).sheetnames
