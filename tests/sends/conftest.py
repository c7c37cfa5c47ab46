"""Send fixtures: media with publication lists and subscriptions, an isolated feed folder."""
from __future__ import annotations

import pytest

from backoffice.extensions import db
from models.publication import ListSubscription, Medium, MediumConfig, PublicationList


@pytest.fixture
def feed_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "feeds"
    monkeypatch.setitem(app.config, "FEED_FOLDER", str(folder))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "SEND_RETRY_INTERVALS", "0,0")
    monkeypatch.delenv("SEND_FAULTS", raising=False)
    return folder


class Publication:
    """Builds media subscribed by publication lists of concessions."""

    def __init__(self):
        self.lists = {}

    def publication_list(self, concession, code="PE05", sites=None):
        key = (concession.id, code)
        if key not in self.lists:
            pl = PublicationList(concession_id=concession.id, name=f"Liste {code}", codes=code)
            pl.sites = list(sites if sites is not None else concession.sites)
            db.session.add(pl)
            db.session.flush()
            self.lists[key] = pl
        return self.lists[key]

    def medium(self, code, feed_format="generic_xml", concessions=(), mandatory=(), delivery_kind="folder",
               delivery_target=None, customer_code="bm11c1", name=None, **config):
        medium = Medium(name=name or f"Média {code}", code=code, feed_format=feed_format,
                        delivery_kind=delivery_kind, delivery_target=delivery_target,
                        mandatory_fields=list(mandatory), active=True, destination="retail")
        db.session.add(medium)
        db.session.flush()
        for concession in concessions:
            cfg = MediumConfig(concession_id=concession.id, medium_id=medium.id, **config)
            db.session.add(cfg)
            db.session.flush()
            pl = self.publication_list(concession)
            db.session.add(ListSubscription(config_id=cfg.id, publication_list_id=pl.id,
                                            concession_id=concession.id,
                                            customer_code=f"{customer_code}{concession.code.lower()}"))
        db.session.commit()
        return medium


@pytest.fixture
def publication(network):
    return Publication()
