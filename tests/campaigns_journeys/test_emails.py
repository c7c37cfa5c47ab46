"""Campaign emails as a real SMTP server (aiosmtpd) receives them: recipients, counts, no duplicates."""
from backoffice.extensions import db

from .helpers import copy_of, flash_ready


def _text(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def test_sending_the_flash_mails_every_targeted_cdv_and_the_sender_once(network, login, factories, smtp):
    second_cdv = factories.user("dealer_manager", [network.nord], email="cdv2.nord@test.example")
    gone = factories.user("dealer_manager", [network.nord], email="ancien.cdv@test.example")
    gone.active = False
    db.session.commit()
    filiale = login(network.filiale)
    flash_id = flash_ready(filiale, network)
    filiale.form(f"/campaigns/{flash_id}/targets", {"concession_ids": [str(network.nord.id), str(network.sud.id)]})
    filiale.form(f"/campaigns/{flash_id}/send")

    assert smtp.recipients() == sorted(["cdv.nord@test.example", "cdv2.nord@test.example", "cdv.sud@test.example",
                                        "filiale@test.example"])   # no vendeur, no inactive account, no VPP
    [to_nord] = smtp.to("cdv.nord@test.example")
    copy = copy_of(flash_id, network.nord)
    assert to_nord["Subject"] == "Nouveau flash de la filiale : Flash juin"
    assert f"/campaigns/{copy.id}/" in _text(to_nord)
    assert "2 offre(s) pré-renseignée(s)" in _text(to_nord)
    assert to_nord.get_body(preferencelist=("html",)) is not None
    [recap] = smtp.to("filiale@test.example")
    assert "Offres envoyées : 2" in _text(recap) and "Concessions destinataires : 2" in _text(recap)
    assert "Concession du Nord (2 CDV prévenu(s))" in _text(recap)
    assert second_cdv.id

    smtp.clear()
    filiale.form(f"/campaigns/{flash_id}/send")
    assert smtp.messages == []   # sending twice sends nothing more


def test_sharing_mails_each_vpp_address_and_the_answer_goes_back_to_the_sender(network, login, smtp):
    filiale = login(network.filiale)
    flash_id = flash_ready(filiale, network)
    filiale.form(f"/campaigns/{flash_id}/share", {"emails": "vpp@test.example, externe.vpp@test.example",
                                                  "message": "Merci de valider avant le 25"})
    assert smtp.recipients() == ["externe.vpp@test.example", "vpp@test.example"]
    [mail] = smtp.to("vpp@test.example")
    assert mail["Subject"] == "Campagne à valider : Flash juin"
    assert "Merci de valider avant le 25" in _text(mail) and f"/campaigns/{flash_id}/" in _text(mail)

    smtp.clear()
    login(network.validator).form(f"/campaigns/{flash_id}/review", {"decision": "approve", "comment": "OK pour moi"})
    [answer] = smtp.to("filiale@test.example")
    assert answer["Subject"] == "Campagne approuvée : Flash juin"
    assert "OK pour moi" in _text(answer)
    assert len(smtp.messages) == 1


def test_mail_jobs_run_outside_any_request_as_a_worker_would(app, network, login, smtp):
    from jobs.campaign_mail import send_flash_mails

    filiale = login(network.filiale)
    flash_id = flash_ready(filiale, network)
    app.config["MAIL_BACKEND"] = "console"   # the page's own mails are not the subject here
    filiale.form(f"/campaigns/{flash_id}/send")
    app.config["MAIL_BACKEND"] = "smtp"
    db.session.remove()
    with app.app_context():
        sent = send_flash_mails(flash_id, [network.nord.id], network.filiale.id, 0, "https://bo.example/")
    assert sent == 2
    assert "https://bo.example/campaigns/" in _text(smtp.to("cdv.nord@test.example")[0])
