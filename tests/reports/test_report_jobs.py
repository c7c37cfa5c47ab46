"""PDF jobs and pages: the bilan of a real send, per scope; asking twice; failures; 404 outside scope."""
from __future__ import annotations

import html
import os
import re

from backoffice.extensions import db
from jobs.reports import SEND_REPORT, generate_send_report_pdf, request_pdf, task_id_for
from models.scope import Scope
from models.send import SendRun
from models.task import BackgroundTask

from .pdftools import page_is_blank, pdf_text, save_page_png


def ask(client, run_id, **data):
    response = client.form(f"/reports/send/{run_id}/", data)
    assert response.status_code == 302, response.status_code
    return response.location


def task_of(location):
    return re.search(r"/reports/task/([^/]+)/", location).group(1)


def test_a_dealer_prints_the_bilan_in_one_click_and_gets_only_their_vehicles(network, sent, login):
    client = login(network.cdv_nord)
    location = ask(client, sent["run_id"])
    task_id = task_of(location)
    assert task_id == task_id_for(SEND_REPORT, sent["run_id"], network.nord.id)
    page = client.get(location).get_data(as_text=True)
    assert "Le PDF est prêt." in page and f"/reports/task/{task_id}/download" in page
    status = client.get(f"/reports/task/{task_id}/status").get_json()
    assert status["status"] == "finished" and status["percent"] == 100
    pdf = client.get(status["download_url"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "Concession du Nord" in text and "Page 1 / " in text
    assert "1937" in text and "2029" in text and "CITROËN" in text
    assert "véhicule sans type de boîte de renseigné" in text
    assert "9001" not in text and "SUDMARKER" not in text
    assert not page_is_blank(pdf.data, 1)
    save_page_png(pdf.data, "reports-send-report-nord")


def test_the_pdf_figures_equal_the_send_pages_figures(network, sent, login):
    from views.sends import media_table

    for user, concession in ((network.admin, None), (network.cdv_sud, network.sud)):
        client = login(user)
        status = client.get(f"/reports/task/{task_of(ask(client, sent['run_id']))}/status").get_json()
        text = pdf_text(client.get(status["download_url"]).data, layout=True)
        run = db.session.get(SendRun, sent["run_id"])
        scope = Scope.network() if concession is None else Scope(frozenset({concession.id}))
        for row in media_table(run, scope):
            line = next(line for line in text.splitlines() if row["sm"].medium_name in line and
                        (row["sm"].list_codes or "").split(",")[0].strip() in line)
            numbers = [int(n) for n in re.findall(r"(?<![\w/])(\d+)(?![\w/])", line.split(row["sm"].list_codes or "")[-1])]
            assert numbers[:2] == [row["sent"], row["filtered"]], (user.email, line)


def test_the_network_pdf_holds_every_concessions_vehicles(network, sent, login):
    client = login(network.filiale)
    task_id = task_of(ask(client, sent["run_id"]))
    assert task_id.endswith("_all")
    text = pdf_text(client.get(f"/reports/task/{task_id}/download").data)
    assert "Tout le réseau" in text and "1937" in text and "9001" in text
    assert "bm11c1nord" in text and "bm11c1sud" in text


def test_asking_twice_returns_the_same_task_and_file_and_a_changed_run_makes_a_new_one(network, sent, login):
    client = login(network.cdv_nord)
    first = task_of(ask(client, sent["run_id"]))
    task = db.session.get(BackgroundTask, first)
    path, created = task.result_path, os.path.getmtime(task.result_path)
    second = task_of(ask(login(network.vendeur_nord), sent["run_id"]))
    db.session.expire_all()
    assert second == first
    assert db.session.get(BackgroundTask, first).result_path == path and os.path.getmtime(path) == created
    run = db.session.get(SendRun, sent["run_id"])
    run.finished_at = run.finished_at.replace(microsecond=(run.finished_at.microsecond + 1) % 1000000)
    db.session.commit()  # the report's data changed (e.g. a held medium confirmed later)
    task = request_pdf(SEND_REPORT, sent["run_id"], network.nord.id)
    assert task.id == first and task.result_path != path
    assert os.path.isfile(task.result_path) and not os.path.exists(path)


def test_the_send_produces_its_network_pdf_itself_when_it_ends(network, sent):
    task = db.session.get(BackgroundTask, task_id_for(SEND_REPORT, sent["run_id"], None))
    assert task is not None and task.status == "finished", "the finished send queued its bilan PDF"
    assert "Tout le réseau" in pdf_text(open(task.result_path, "rb").read())


def test_the_nightly_send_can_produce_its_pdf_itself_and_the_page_then_serves_it(network, sent, login):
    path = generate_send_report_pdf(sent["run_id"])
    assert os.path.isfile(path) and "Tout le réseau" in pdf_text(open(path, "rb").read())
    client = login(network.admin)
    task_id = task_of(ask(client, sent["run_id"]))
    assert db.session.get(BackgroundTask, task_id).result_path == path


def test_a_failing_render_shows_its_reason_and_can_be_asked_again(network, sent, login, monkeypatch):
    import reports.send_report
    from reports.pdf import RenderTimeout

    def too_slow(*args, **kwargs):
        raise RenderTimeout("rendu interrompu après 300 s")

    real_render = reports.send_report.render_send_report
    monkeypatch.setattr(reports.send_report, "render_send_report", too_slow)
    client = login(network.cdv_nord)
    location = ask(client, sent["run_id"])
    status = client.get(f"/reports/task/{task_of(location)}/status").get_json()
    assert status["status"] == "failed" and status["download_url"] is None
    assert "limite de temps" in status["message"] and "300 s" in status["message"]
    page = client.get(location).get_data(as_text=True)
    assert "La génération du PDF a échoué" in page and "limite de temps" in page
    assert client.get(f"/reports/task/{task_of(location)}/download").status_code == 404
    monkeypatch.setattr(reports.send_report, "render_send_report", real_render)
    again = client.get(f"/reports/task/{task_of(ask(client, sent['run_id']))}/status").get_json()
    assert again["status"] == "finished" and again["download_url"]


def test_a_dealer_cannot_reach_another_concessions_report(network, sent, login):
    sud = login(network.cdv_sud)
    sud_task = task_of(ask(sud, sent["run_id"]))
    nord = login(network.cdv_nord)
    for url in (f"/reports/task/{sud_task}/", f"/reports/task/{sud_task}/status",
                f"/reports/task/{sud_task}/download"):
        assert nord.get(url).status_code == 404, url
    network_task = task_of(ask(login(network.admin), sent["run_id"]))
    assert nord.get(f"/reports/task/{network_task}/download").status_code == 404
    assert nord.form(f"/reports/send/{sent['run_id']}/", {"concession": str(network.sud.id)}).status_code == 404
    assert nord.form(f"/reports/send/{sent['run_id']}/", {"concession": "all"}).status_code == 302  # → own
    assert nord.form("/reports/send/999999/").status_code == 404
    assert login(network.admin).form(f"/reports/send/{sent['run_id']}/", {"concession": "4242"}).status_code == 404
    assert login(network.admin).form(f"/reports/send/{sent['run_id']}/", {"concession": "x"}).status_code == 404
    assert nord.get("/reports/task/pdf_send-report_1_x/").status_code == 404
    assert nord.get("/reports/task/not-a-task/status").status_code == 404
    index = nord.get("/reports/").get_data(as_text=True)
    assert "Concession du Sud" not in index and "Concession du Nord" in index
    assert login(network.validator).get(f"/reports/task/{sud_task}/").status_code == 403


def test_the_report_list_shows_ready_pdfs_with_their_link(network, sent, login):
    client = login(network.vendeur_nord)
    task_id = task_of(ask(client, sent["run_id"]))
    body = html.unescape(client.get("/reports/").get_data(as_text=True))
    assert "Bilan d'envoi" in body and f"/reports/task/{task_id}/download" in body and "Prêt" in body


def test_the_report_pages_speak_english_when_asked(network, sent, login):
    client = login(network.cdv_nord)
    client.form("/lang/en", {"next": "/reports/"})
    task_id = task_of(ask(client, sent["run_id"]))
    body = client.get(f"/reports/task/{task_id}/").get_data(as_text=True)
    assert "The PDF is ready." in body and "Download the PDF" in body
    assert "PDF reports" in client.get("/reports/").get_data(as_text=True)


def test_the_pdf_buttons_for_other_pages_post_to_the_report_endpoints(app, network, sent):
    from flask import render_template_string
    from flask_login import login_user

    from views.reports import report_pdf_url

    run = db.session.get(SendRun, sent["run_id"])
    with app.test_request_context("/"):
        login_user(network.cdv_nord)
        html = render_template_string('{% include "reports/_send_report_links.html" %}', run=run)
        assert report_pdf_url(run.id) == f"/reports/send/{run.id}/"
    assert f'action="/reports/send/{run.id}/"' in html and 'name="csrf_token"' in html
    with app.test_request_context("/"):
        login_user(network.validator)  # no report permission: no button
        assert "form" not in render_template_string('{% include "reports/_send_report_links.html" %}', run=run)


def test_a_task_left_queued_by_a_dead_worker_is_started_again_when_asked(network, sent, login, app):
    import datetime as dt

    from models.task import QUEUED

    task_id = task_id_for(SEND_REPORT, sent["run_id"], network.nord.id)
    stuck = BackgroundTask(id=task_id, kind="pdf-send-report", description="x", concession_id=network.nord.id,
                           status=QUEUED, created_at=dt.datetime(2020, 1, 1))
    db.session.add(stuck)
    db.session.commit()
    client = login(network.cdv_nord)
    status = client.get(f"/reports/task/{task_of(ask(client, sent['run_id']))}/status").get_json()
    assert status["status"] == "finished" and status["download_url"]


def test_the_send_can_queue_its_pdf_without_waiting_for_it(network, sent, login):
    from jobs.reports import queue_send_report_pdf

    task_id = queue_send_report_pdf(sent["run_id"])
    task = db.session.get(BackgroundTask, task_id)
    assert task.status == "finished" and os.path.isfile(task.result_path)  # in-process without Redis
    assert queue_send_report_pdf(999999) == task_id_for(SEND_REPORT, 999999, None)  # never raises


def test_a_double_click_racing_the_first_request_joins_its_task(network, sent, monkeypatch):
    import jobs.reports as jr
    from sqlalchemy import insert

    def raced(task_id, *args, **kwargs):
        # The other click's row lands between this request's lookup and its insert.
        db.session.execute(insert(BackgroundTask).values(id=task_id, kind="pdf-send-report", status="running",
                                                         concession_id=network.nord.id, progress=0, total=0))
        db.session.commit()
        db.session.execute(insert(BackgroundTask).values(id=task_id, kind="pdf-send-report", status="queued",
                                                         progress=0, total=0))  # this request's own insert

    monkeypatch.setattr(jr, "create_task", raced)
    task = request_pdf(SEND_REPORT, sent["run_id"], network.nord.id)
    assert task.id == task_id_for(SEND_REPORT, sent["run_id"], network.nord.id) and task.status == "running"
    assert db.session.query(BackgroundTask).filter(BackgroundTask.concession_id == network.nord.id).count() == 1


def test_pdfs_older_than_the_retention_are_removed_and_asking_again_prints_a_fresh_one(network, sent, login, app,
                                                                                       report_folder):
    import datetime as dt

    from jobs.reports import purge_old_pdfs
    from jobs.schedule import periodic_jobs

    assert "purge_old_pdfs" in {name for name, _func, _cron in periodic_jobs(app.config)}   # nightly
    client = login(network.cdv_nord)
    task_id = task_of(ask(client, sent["run_id"]))
    task = db.session.get(BackgroundTask, task_id)
    old_file = task.result_path
    stale = os.path.join(os.path.dirname(old_file), "killed-render.part")
    with open(stale, "wb") as handle:
        handle.write(b"%PDF-1.7 half")
    os.utime(stale, (0, 0))
    assert purge_old_pdfs() == 1                     # the killed render's file; the recent PDF stays
    assert os.path.isfile(old_file) and not os.path.exists(stale)

    task.finished_at -= dt.timedelta(days=63)
    db.session.commit()
    assert purge_old_pdfs() == 1
    assert not os.path.exists(old_file) and db.session.get(BackgroundTask, task_id).result_path is None
    again = client.get(ask(client, sent["run_id"])).get_data(as_text=True)
    assert "Le PDF est prêt." in again
    assert os.path.isfile(db.session.get(BackgroundTask, task_id).result_path)
