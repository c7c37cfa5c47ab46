"""The PDF engine: page numbers across parts, repeated headers, French formatting, safe rendering."""
from __future__ import annotations

import datetime as dt
import http.server
import threading
from decimal import Decimal

import pytest

from reports.pdf import RenderTimeout, render_parts
from reports.send_report import (FilteredRow, MediumReport, SendReportData, SentRow, render_send_report,
                                 send_report_blocks)

from .pdftools import page_is_blank, pdf_image_count, pdf_pages_text, pdf_text

PNG_1PX = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhV"
           "AAAAAElFTkSuQmCC")


def sent_row(i, **fields):
    values = dict(entry_number=f"VO{1000 + i}", status="ST", make="CITROËN", family="C3",
                  version="BlueHDi 100 Shine", colour="Gris Platinium", price=Decimal("12345"),
                  mileage=45678, photos=12, contact="Amélie Lefèvre", phone="03 21 45 67 89")
    values.update(fields)
    return SentRow(**values)


def report(sent=3, filtered=None, **medium_fields):
    filtered = filtered if filtered is not None else [
        FilteredRow(entry_number="VO2029", make="RENAULT", model="CLIO", version="TCe 90",
                    outcome_label="Filtré (média)",
                    reasons=["véhicule sans type de boîte de renseigné", "véhicule sans photo"])]
    medium = MediumReport(name="Applications UbiFlow", list_codes=["bm11c1", "bm11c2"],
                          sent_count=sent, filtered_count=len(filtered), other_count=1,
                          sent=[sent_row(i) for i in range(sent)], filtered=filtered, **medium_fields)
    return SendReportData(run_id=7, group_name="Groupe Émeraude", scope_label="Concession Nord",
                          started_at=dt.datetime(2026, 11, 22, 1, 5), finished_at=dt.datetime(2026, 11, 22, 1, 9),
                          media=[medium])


def test_the_bilan_prints_the_header_the_medium_table_reasons_and_sent_vehicles_in_french(app):
    result = render_send_report(report(), processes=1)
    text = pdf_text(result.pdf)
    assert "Bilan d'envoi" in text and "Groupe Émeraude" in text and "Concession Nord" in text
    assert "22/11/2026 02:05" in text          # stored in UTC, printed in Paris time
    assert "bm11c1, bm11c2" in text and "Applications UbiFlow" in text
    assert "véhicule sans type de boîte de renseigné" in text and "véhicule sans photo" in text
    assert "VO2029" in text and "VO1000" in text and "VO1002" in text
    assert "12\u202f345\xa0€" in text or "12 345 €" in text.replace("\u202f", " ").replace("\xa0", " ")
    assert "45 678" in text.replace("\u202f", " ").replace("\xa0", " ")
    assert "CITROËN" in text and "Amélie Lefèvre" in text      # accents intact
    assert "Page 1 / 1" in text
    assert not page_is_blank(result.pdf, 1)


def test_long_tables_are_numbered_across_parts_and_repeat_their_header_on_every_page(app):
    data = report(sent=700)
    parts = send_report_blocks(data, budget=150)
    assert len(parts) > 3  # the engine really merges several documents here
    result = render_send_report(data, processes=2)
    pages = pdf_pages_text(result.pdf)
    assert len(pages) == result.pages > 5
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} / {len(pages)}" in page
    vehicle_pages = [p for p in pages if "VO1" in p]
    assert len(vehicle_pages) >= 5
    for page in vehicle_pages:  # the column headers are on every page that lists vehicles
        assert "N° VO" in page and "Contact – téléphone" in page and "Prix TTC" in page
    text = "".join(pages)
    assert all(f"VO{1000 + i}" in text for i in range(700))
    assert not page_is_blank(result.pdf, len(pages))


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    _Recorder.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Recorder.hits
    server.shutdown()


def test_markup_in_vehicle_fields_is_printed_as_text_and_nothing_is_fetched(app, listener):
    url, hits = listener
    plain = dict(version="-", colour="-", contact="-", phone="-")  # one long value per row: wrapped cells
    evil = [sent_row(0, **{**plain, "version": '<img src="file:///etc/passwd">'}),  # of one row interleave
            sent_row(1, **{**plain, "colour": f'<img src="{url}/x.png">'}),
            sent_row(2, **{**plain, "contact": f"{url}/contact"}),
            sent_row(3, **{**plain, "phone": "<style>@import url(file:///etc/passwd)</style>"})]
    data = report(sent=0, filtered=[FilteredRow(entry_number="VO666", make="<b>X</b>", model="Y", version=None,
                                                outcome_label="Filtré (perso)",
                                                reasons=[f'<link rel=stylesheet href="{url}/a.css">'])])
    data.media[0].sent = evil
    result = render_send_report(data, processes=1)
    text = pdf_text(result.pdf)
    flat = "".join(text.split())  # narrow columns wrap the text: compare without white space
    assert '<imgsrc="file:///etc/passwd">' in flat        # the literal text, escaped
    assert f'<imgsrc="{url}/x.png">' in flat and f"{url}/contact" in flat
    assert "<b>X</b>" in flat and "<style>@importurl(file:///etc/passwd)</style>" in flat
    assert result.asked == [] and result.refused == []      # the document never even named a resource
    assert hits == []
    assert pdf_image_count(result.pdf) == 0
    assert "root:" not in text


def test_the_fetcher_refuses_local_files_and_network_urls_but_serves_data_urls(app, listener):
    url, hits = listener
    html = (f'<html><body><p>avant</p><img src="file:///etc/passwd"><img src="{url}/x.png">'
            f'<img src="https://example.com/x.png"><link rel="stylesheet" href="{url}/s.css">'
            f'<img src="{PNG_1PX}"><p>après</p></body></html>')
    result = render_parts([html], static_folder=app.static_folder, processes=1)
    assert "file:///etc/passwd" in result.refused
    assert f"{url}/x.png" in result.refused and "https://example.com/x.png" in result.refused
    assert hits == []                                      # no request left the process
    assert pdf_image_count(result.pdf) == 1                 # only the data: image
    assert "après" in pdf_text(result.pdf)


def test_a_static_file_of_the_app_is_served_but_not_a_path_escaping_the_folder(app):
    import os

    css_url = "file://" + os.path.join(os.path.realpath(app.static_folder), "backoffice.css")
    escape = "file://" + os.path.realpath(app.static_folder) + "/../requirements.txt"
    html = f'<html><head><link rel="stylesheet" href="{css_url}"><link rel="stylesheet" href="{escape}"></head><body>x</body></html>'
    result = render_parts([html], static_folder=app.static_folder, processes=1)
    assert css_url in result.asked and css_url not in result.refused
    assert escape in result.refused


def test_a_render_past_its_time_limit_is_stopped(app):
    html = "<html><body><table>" + "<tr><td>x</td><td>y</td></tr>" * 4000 + "</table></body></html>"
    with pytest.raises(RenderTimeout):
        render_parts([html], static_folder=app.static_folder, processes=1, time_limit=0.2)


def test_a_render_in_worker_processes_past_its_time_limit_is_stopped(app):
    html = "<html><body><table>" + "<tr><td>x</td><td>y</td></tr>" * 4000 + "</table></body></html>"
    with pytest.raises(RenderTimeout):
        render_parts([html, html], static_folder=app.static_folder, processes=2, time_limit=0.2)


def test_a_render_from_a_web_server_thread_stays_in_process_and_is_still_numbered(app, monkeypatch):
    """No fork from a thread (inherited locks); the parts are rendered one after the other."""
    import reports.pdf

    def no_fork(*args, **kwargs):
        raise AssertionError("forked from a thread")

    monkeypatch.setattr(reports.pdf, "ProcessPoolExecutor", no_fork)
    data = report(sent=400)
    assert len(send_report_blocks(data, budget=150)) > 2
    out = {}

    def render():
        with app.app_context():
            out["result"] = render_send_report(data, processes=2)

    thread = threading.Thread(target=render)
    thread.start()
    thread.join(120)
    result = out["result"]
    pages = pdf_pages_text(result.pdf)
    assert len(pages) == result.pages > 1
    assert all(f"Page {n} / {len(pages)}" in page for n, page in enumerate(pages, start=1))


def test_the_render_time_limit_gives_an_outer_alarm_its_remaining_time_back(app):
    """RQ's work horse times the whole job out with SIGALRM too: rendering must not cancel it."""
    import signal

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(True))
    signal.setitimer(signal.ITIMER_REAL, 50)
    try:
        render_parts(["<html><body>x</body></html>"], static_folder=app.static_folder, processes=1, time_limit=30)
        remaining, _interval = signal.getitimer(signal.ITIMER_REAL)
        assert 40 < remaining <= 50
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_list_too_long_to_print_says_how_many_more_the_screen_shows(app):
    from reports.send_report import printable_rows_per_list

    # Up to the limit every list prints whole; beyond, each list prints its share.
    assert printable_rows_per_list([300, 200], max_rows=20_000) == 300
    assert printable_rows_per_list([95_000] * 100, max_rows=20_000) == 200
    result = render_send_report(report(sent=3, sent_omitted=94_997), processes=1)
    text = " ".join(pdf_text(result.pdf, raw=True).replace("\u202f", " ").replace("\xa0", " ").split())
    assert "VO1002" in text
    assert "… et 94 997 autres véhicules diffusés : la liste complète est à l'écran Publication › Envois et bilans." in text
    assert "autres véhicules filtrés" not in text
