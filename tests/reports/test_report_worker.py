"""The PDF job on the real Redis (database 3) with a real `flask worker` process."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from backoffice.extensions import db
from models.task import BackgroundTask

from .pdftools import pdf_text

pytestmark = pytest.mark.services

REDIS_URL = "redis://127.0.0.1:6379/3"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def report_queue(app, report_folder, monkeypatch):
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except Exception:  # pragma: no cover
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    name = f"reports-test-{uuid.uuid4().hex[:8]}"  # this test's own queue: no other run takes its jobs
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "REPORT_QUEUE", name)
    queue = Queue(name, connection=connection)
    yield queue
    queue.delete(delete_jobs=True)


def test_the_pdf_is_an_rq_job_that_a_worker_renders_and_the_page_then_offers(
        app, network, sent, login, report_queue, report_folder):
    client = login(network.cdv_nord)
    location = client.form(f"/reports/send/{sent['run_id']}/").location
    task_id = re.search(r"/reports/task/([^/]+)/", location).group(1)
    assert report_queue.count == 1 and report_queue.job_ids == [task_id]
    status = client.get(f"/reports/task/{task_id}/status").get_json()
    assert status["status"] == "queued" and status["download_url"] is None
    assert "Génération du PDF en cours" in client.get(location).get_data(as_text=True)
    again = client.form(f"/reports/send/{sent['run_id']}/").location
    assert again == location and report_queue.count == 1      # asking again joins the queued job

    env = dict(os.environ, BACKOFFICE_ENV="testing", REDIS_URL=REDIS_URL, REPORT_FOLDER=str(report_folder),
               REPORT_QUEUE=report_queue.name, BACKOFFICE_INSTANCE_PATH=os.environ["BACKOFFICE_INSTANCE_PATH"])
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        env["DATABASE_URL"] = url
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi.py", "worker", report_queue.name, "--burst"],
                         cwd=ROOT, env=env, capture_output=True, timeout=180)
    assert out.returncode == 0, (out.stdout + out.stderr).decode(errors="replace")[-3000:]

    db.session.expire_all()
    task = db.session.get(BackgroundTask, task_id)
    assert task.status == "finished", task.message
    status = client.get(f"/reports/task/{task_id}/status").get_json()
    assert status["percent"] == 100 and status["download_url"]
    text = pdf_text(client.get(status["download_url"]).data)
    assert "1937" in text and "9001" not in text


def run_worker(app, queue, report_folder):
    env = dict(os.environ, BACKOFFICE_ENV="testing", REDIS_URL=REDIS_URL, REPORT_FOLDER=str(report_folder),
               REPORT_QUEUE=queue.name, BACKOFFICE_INSTANCE_PATH=os.environ["BACKOFFICE_INSTANCE_PATH"])
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        env["DATABASE_URL"] = url
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi.py", "worker", queue.name, "--burst"],
                         cwd=ROOT, env=env, capture_output=True, timeout=180)
    assert out.returncode == 0, (out.stdout + out.stderr).decode(errors="replace")[-3000:]


def test_the_progress_page_shows_the_link_when_the_worker_is_done(
        app, network, sent, login, report_queue, report_folder, page):
    client = login(network.cdv_nord)
    location = client.form(f"/reports/send/{sent['run_id']}/").location
    page.login(network.cdv_nord.email)
    page.goto(page.base_url + location)
    assert "Génération du PDF en cours" in page.inner_text("[data-testid=report-state]")
    assert not page.is_visible("[data-testid=report-download]")
    run_worker(app, report_queue, report_folder)
    db.session.expire_all()
    task = db.session.get(BackgroundTask, re.search(r"/reports/task/([^/]+)/", location).group(1))
    assert task.status == "finished", task.message
    page.wait_for_selector("[data-testid=report-download]:not(.d-none)", timeout=20000)
    assert "Le PDF est prêt." in page.inner_text("[data-testid=report-state]")
    href = page.get_attribute("[data-testid=report-download]", "href")
    assert href.endswith("/download")
    page.artifact("reports-progress-ready")
    response = page.request.get(page.base_url + href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
