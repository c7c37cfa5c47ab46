"""The mail helper sends French text + HTML parts over real SMTP, configured at send time."""
import datetime as dt

from backoffice import mailing


def test_a_mail_reaches_the_smtp_server_with_a_french_plain_text_part_and_an_html_part(app, smtp):
    with app.test_request_context():
        rendered = mailing.render_mail(
            "campaigns/email/flash_to_dealer", ["cdv@test.example"], "Nouveau flash",
            recipient_name="Claire", campaign_name="Flash juin", concession_name="Concession du Nord",
            start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30), offer_count=3,
            url="http://backoffice.test/campaigns/1/")
        assert mailing.send([rendered]) == 1
    [message] = smtp.to("cdv@test.example")
    assert message["Subject"] == "Nouveau flash"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Bonjour Claire" in text and "« Flash juin »" in text and "01/06/2026" in text
    assert "http://backoffice.test/campaigns/1/" in html


def test_nothing_is_sent_for_mails_without_recipients(app, smtp):
    with app.test_request_context():
        rendered = mailing.render_mail("campaigns/email/review_result", [], "x", recipient_name="A",
                                       approved=True, reviewer_name="B", campaign_name="C", comment="",
                                       url="http://x/")
        assert mailing.send([rendered]) == 0
    assert smtp.messages == []
