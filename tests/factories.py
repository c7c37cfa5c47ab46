"""Factories that build committed rows; each returns the created object."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

from backoffice.security import create_user
from models import Concession, Filiale, Location, Pole, Site, Vehicle

PASSWORD = "demo-password"
_seq = itertools.count(1)


@dataclass
class Network:
    """Two tenants and one user per role."""
    nord: Concession
    sud: Concession
    gap: Site
    dainville: Site
    rennes: Site
    agen: Site
    admin: object
    filiale: object
    validator: object
    cdv_nord: object
    vendeur_nord: object
    cdv_sud: object
    vendeur_sud: object


class Factories:
    def __init__(self, db):
        self.db = db

    def commit(self):
        self.db.session.commit()

    def concession(self, code, name=None, pole=None, sites=("SITE",)):
        pole = pole or Pole(name=f"Pôle {code}", filiale=Filiale(name="Filiale"))
        concession = Concession(code=code, name=name or f"Concession {code}", pole=pole)
        for site_name in sites:
            site = Site(code=site_name[:3], name=site_name, city=site_name.title(), postcode="75000",
                        address="1 rue de la Paix", manager_name=f"Resp {site_name}",
                        manager_phone="01 02 03 04 05", manager_email=f"{site_name.lower()}@demo.example")
            site.locations = [Location(name="Parc VO")]
            concession.sites.append(site)
        self.db.session.add(concession)
        self.db.session.commit()
        return concession

    def user(self, role, concessions=(), email=None, **fields):
        email = email or f"{role}.{next(_seq)}@test.example"
        user = create_user(email, PASSWORD, role, concessions=list(concessions), **fields)
        self.db.session.commit()
        return user

    def vehicle(self, site, **fields):
        n = next(_seq)
        today = dt.date.today()
        values = dict(
            entry_number=f"{n:05d}", status="ST", destination="retail", affectation="sale",
            make="RENAULT", model="CLIO", version="1.0 TCe 90", family="CLIO V", genre="VP",
            energy="petrol", gearbox="manual", body_category="hatchback", mileage=35000,
            first_registration_date=today - dt.timedelta(days=3 * 365), entry_date=today - dt.timedelta(days=20),
            sale_price_ttc=Decimal("14990.00"), sale_price_ht=Decimal("12491.67"),
            price_changed_on=today - dt.timedelta(days=10), colour="Gris", photo_count=0, referenced=True,
            vin=f"VF1{n:014d}", registration=f"AB-{n % 900 + 100:03d}-CD",
        )
        values.update(fields)
        vehicle = Vehicle(site=site, concession_id=site.concession_id, **values)
        self.db.session.add(vehicle)
        self.db.session.commit()
        return vehicle

    def network(self) -> Network:
        filiale = Filiale(name="Filiale France")
        nord = self.concession("NORD", "Concession du Nord", Pole(name="Pôle Nord", filiale=filiale),
                               sites=("GAP", "DAINVILLE"))
        sud = self.concession("SUD", "Concession du Sud", Pole(name="Pôle Sud", filiale=filiale),
                              sites=("RENNES", "AGEN"))
        gap, dainville = nord.sites[1], nord.sites[0]  # sites are ordered by name
        agen, rennes = sud.sites[0], sud.sites[1]
        return Network(
            nord=nord, sud=sud, gap=gap, dainville=dainville, rennes=rennes, agen=agen,
            admin=self.user("admin", email="admin@test.example"),
            filiale=self.user("filiale", email="filiale@test.example"),
            validator=self.user("validator", email="vpp@test.example"),
            cdv_nord=self.user("dealer_manager", [nord], email="cdv.nord@test.example"),
            vendeur_nord=self.user("dealer_staff", [nord], email="vendeur.nord@test.example"),
            cdv_sud=self.user("dealer_manager", [sud], email="cdv.sud@test.example"),
            vendeur_sud=self.user("dealer_staff", [sud], email="vendeur.sud@test.example"),
        )
