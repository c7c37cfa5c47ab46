"""Report fixtures: a real send (H5's engine, in-process) over NORD and SUD vehicles, and an isolated
report folder."""
from __future__ import annotations

import pytest

from tests.sends.conftest import feed_folder, publication  # noqa: F401  (the send's own fixtures)


@pytest.fixture
def report_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "reports"
    monkeypatch.setitem(app.config, "REPORT_FOLDER", str(folder))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "REPORT_PDF_PROCESSES", 1)
    return folder


@pytest.fixture
def sent(network, factories, publication, feed_folder, report_folder):  # noqa: F811
    """A finished send: NORD's VO 2029 lacks a gearbox for UbiFlow; SUD has its own VO 9001."""
    from jobs.send import start_send

    nord_ok = factories.vehicle(network.gap, entry_number="1937", model="NORDMARKER", photo_count=2,
                                make="CITROËN", colour="Gris Platinium", mileage=45678)
    nord_bad = factories.vehicle(network.gap, entry_number="2029", model="NORDMARKER", gearbox=None,
                                 body_category=None, photo_count=2)
    sud = factories.vehicle(network.rennes, entry_number="9001", model="SUDMARKER", photo_count=2,
                            version="SUDMARKER 1.5 dCi")
    ubiflow = publication.medium("UBI", "generic_xml", [network.nord, network.sud], name="Applications UbiFlow",
                                 mandatory=["gearbox", "body_category"])
    eden = publication.medium("EDEN", "generic_csv", [network.nord, network.sud], name="eden-auto.com")
    run_id = start_send(user_id=network.admin.id)
    return dict(run_id=run_id, nord_ok=nord_ok, nord_bad=nord_bad, sud=sud, ubiflow=ubiflow, eden=eden)
