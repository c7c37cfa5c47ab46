"""Publication data for the UI tests: media, lists, configurations and vehicles of both concessions."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from backoffice.extensions import db
from models.publication import ListSubscription, Medium, MediumConfig, PublicationList


@dataclass
class Publication:
    network: object
    lbc: Medium          # retail medium requiring the gearbox
    site: Medium         # retail medium, no mandatory field
    nord_list: PublicationList
    sud_list: PublicationList
    nord_config: MediumConfig
    sud_config: MediumConfig
    nord_vehicles: list
    sud_vehicles: list


def make_medium(name, code, mandatory=(), destination="retail"):
    medium = Medium(name=name, code=code, kind="classified", destination=destination, feed_format="generic_xml",
                    delivery_kind="folder", delivery_target=f"/tmp/feeds/{code}", mandatory_fields=list(mandatory),
                    active=True)
    db.session.add(medium)
    db.session.commit()
    return medium


def make_list(concession, name, codes, sites):
    pl = PublicationList(concession_id=concession.id, name=name, codes=codes, sites=list(sites))
    db.session.add(pl)
    db.session.commit()
    return pl


def make_config(concession, medium, lists, **fields):
    config = MediumConfig(concession_id=concession.id, medium_id=medium.id, **fields)
    for pl, code in lists:
        config.subscriptions.append(ListSubscription(publication_list=pl, concession_id=concession.id,
                                                     customer_code=code))
    db.session.add(config)
    db.session.commit()
    return config


@pytest.fixture
def pub(network, factories) -> Publication:
    """LeBonCoin (needs a gearbox) and Site Concession; one list and one config per concession."""
    lbc = make_medium("LeBonCoin Test", "lbc", ["gearbox"])
    site = make_medium("Site Concession", "site")
    nord_list = make_list(network.nord, "Concession du Nord", "PE05 AU62", [network.gap, network.dainville])
    sud_list = make_list(network.sud, "Concession du Sud", "RE35", [network.rennes, network.agen])
    nord_config = make_config(network.nord, lbc, [(nord_list, "bm11c1")])
    sud_config = make_config(network.sud, lbc, [(sud_list, "bm34c2")])
    make_config(network.nord, site, [(nord_list, None)])
    nord = [factories.vehicle(network.gap, entry_number="N100", make="PEUGEOT", model="208", score=9),
            factories.vehicle(network.gap, entry_number="N200", make="RENAULT", model="CLIO", score=5),
            factories.vehicle(network.dainville, entry_number="N300", make="CITROEN", model="C3", score=2,
                              gearbox=None)]
    sud = [factories.vehicle(network.rennes, entry_number="S100", make="FIAT", model="SUDMARKER", score=7)]
    return Publication(network, lbc, site, nord_list, sud_list, nord_config, sud_config, nord, sud)
