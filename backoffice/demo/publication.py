"""Demo media, publication lists, subscriptions, media configurations, states and contacts (§6.1–§6.4).

Modelled on the guide's screens: the media largus.fr, LaCentrale, LeBonCoin, Site Constructeur,
Site Concession, eden-auto.com, autoscout24.fr and a trade platform; "Concession du Nord" (PE05 AU62:
GAP, DAINVILLE) and the two lists of the Sud; customer codes bm11c1…; a manual selection, custom
filters, global and per-list limits, an admin-imposed selection, a few P/D/S states and contacts
(Bernard Fouineau, Florent Dumas). Scale runs give every generated concession one list and a few
configured media, inserted set-wise.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from backoffice.extensions import db
from models import Site, User, Vehicle
from models.clock import utcnow
from models.publication import (Contact, ListSubscription, Medium, MediumConfig, MediumStateChange,
                                PublicationList, VehicleMediumState, publication_list_site)

# code, name, kind, destination, feed format, mandatory fields, listing base URL
MEDIA = [
    ("largus", "largus.fr", "classified", "retail", "generic_xml", ["sale_price_ttc", "mileage", "photo"],
     "https://www.largus.fr/annonces/"),
    ("lacentrale", "LaCentrale", "classified", "retail", "generic_xml",
     ["body_category", "gearbox", "sale_price_ttc", "mileage", "photo"], "https://www.lacentrale.fr/annonce/"),
    ("leboncoin", "LeBonCoin", "classified", "retail", "generic_csv", ["gearbox", "sale_price_ttc", "photo"],
     "https://www.leboncoin.fr/voitures/"),
    ("constructeur", "Site Constructeur", "manufacturer", "retail", "google_vehicle_listings",
     ["sale_price_ttc", "version", "photo"], "https://occasions.constructeur.example/vo/"),
    ("concession", "Site Concession", "dealer", "retail", "meta_catalog_csv", ["sale_price_ttc"],
     "https://www.concession.example/occasions/"),
    ("eden", "eden-auto.com", "classified", "retail", "meta_catalog_xml", ["sale_price_ttc", "energy", "photo"],
     "https://www.eden-auto.com/annonce/"),
    ("autoscout24", "autoscout24.fr", "classified", "retail", "mobile_de_csv",
     ["gearbox", "sale_price_ttc", "mileage", "first_registration_date", "photo"],
     "https://www.autoscout24.fr/offres/"),
    ("marchands", "Marchands VO (plateforme B2B)", "trade", "trade", "generic_csv", ["merchant_price", "mileage"],
     None),
]
# concession → [(list name, codes, site names, customer code)]
LISTS = {
    "NORD": [("Concession du Nord", "PE05 AU62", ("GAP", "DAINVILLE"), "bm11c1")],
    "SUD": [("Sud – Bretagne", "RE35 PE29", ("RENNES", "QUIMPER"), "bm11c2"),
            ("Sud – Sud-Ouest", "FO82 PE47", ("MONTAUBAN", "AGEN"), "bm34c2")],
}
# (concession, medium code) → configuration fields; per-list limits in "list_limits" (in LISTS order)
CONFIGS = {
    ("NORD", "largus"): dict(limit_mode="global", limit_value=6, ordering="score"),
    ("NORD", "lacentrale"): dict(limit_mode="per_list", ordering="stock_age_youngest", list_limits=[25],
                                 filter_max_stock_days=180, filter_min_sale_price=1),
    ("NORD", "leboncoin"): dict(ordering="none", filter_min_photos=3),
    ("NORD", "constructeur"): dict(admin_imposed_selection=True, ordering="none"),
    ("NORD", "concession"): dict(selection_mode="manual", limit_mode="global", limit_value=50, ordering="score"),
    ("NORD", "eden"): dict(ordering="score"),
    ("NORD", "autoscout24"): dict(limit_mode="global", limit_value=15, ordering="price_asc",
                                  filter_requires_cote=True),
    ("NORD", "marchands"): dict(ordering="stock_age_oldest"),
    ("SUD", "largus"): dict(limit_mode="global", limit_value=25, ordering="score"),
    ("SUD", "lacentrale"): dict(limit_mode="per_list", ordering="stock_age_youngest", list_limits=[25, 12],
                                filter_max_stock_days=180),
    ("SUD", "leboncoin"): dict(ordering="none"),
    ("SUD", "constructeur"): dict(admin_imposed_selection=True, ordering="none"),
    ("SUD", "concession"): dict(limit_mode="global", limit_value=50, ordering="score"),
    ("SUD", "eden"): dict(ordering="photos", filter_makes=["RENAULT", "PEUGEOT", "CITROEN", "DACIA"]),
    ("SUD", "marchands"): dict(ordering="stock_age_oldest"),
}
# generated concessions of scale runs: these media, with light configurations
SCALE_MEDIA = ("largus", "leboncoin", "concession", "eden", "marchands")


def seed(ctx):
    from jobs.feeds import mandatory_fields_for

    media = {}
    for code, name, kind, destination, feed, mandatory, base_url in MEDIA:
        media[code] = Medium(code=code, name=name, kind=kind, destination=destination, feed_format=feed,
                             delivery_kind="folder", delivery_target=f"feeds/{code}",
                             mandatory_fields=mandatory_fields_for(feed, mandatory),
                             active=True, base_url=base_url)
    db.session.add_all(media.values())
    db.session.flush()

    concessions = ctx.data["concessions"]
    lists: dict[str, list[tuple[PublicationList, str]]] = {}
    for concession_code, specs in LISTS.items():
        concession = concessions[concession_code]
        sites = {s.name: s for s in concession.sites}
        lists[concession_code] = []
        for name, codes, site_names, customer_code in specs:
            plist = PublicationList(concession_id=concession.id, name=name, codes=codes,
                                    sites=[sites[n] for n in site_names],
                                    created_at=dt.datetime.combine(ctx.today - dt.timedelta(days=400), dt.time(9)))
            db.session.add(plist)
            lists[concession_code].append((plist, customer_code))
    db.session.flush()

    for (concession_code, medium_code), fields in CONFIGS.items():
        fields = dict(fields)
        list_limits = fields.pop("list_limits", None)
        concession = concessions[concession_code]
        config = MediumConfig(concession_id=concession.id, medium_id=media[medium_code].id, **fields)
        for i, (plist, customer_code) in enumerate(lists[concession_code]):
            config.subscriptions.append(ListSubscription(
                publication_list=plist, concession_id=concession.id, customer_code=customer_code,
                limit=list_limits[i] if list_limits else None))
        db.session.add(config)

    _contacts(concessions, lists, media)
    db.session.flush()
    _states(ctx, concessions["NORD"], media)
    if ctx.extra_concessions:
        _scale(ctx, media)
    db.session.commit()
    ctx.data["media"] = media
    ctx.data["publication_lists"] = lists


def _contacts(concessions, lists, media):
    nord_list = lists["NORD"][0][0]
    db.session.add_all([
        Contact(concession_id=concessions["NORD"].id, name="Bernard Fouineau", phone="01 47 28 44 25",
                publication_lists=[nord_list], media=[media["lacentrale"]], makes=[], statuses=[]),
        Contact(concession_id=concessions["NORD"].id, name="Florent Dumas", phone="01 58 03 96 20",
                mobile="06 02 10 98 81", email="florent.dumas@mongarage.example", publication_lists=[nord_list],
                media=[media["largus"], media["leboncoin"]], makes=["CITROEN", "PEUGEOT"], statuses=["ST"]),
        Contact(concession_id=concessions["SUD"].id, name="Maëlle Le Goff", phone="02 99 41 12 30",
                email="maelle.legoff@demo.example", publication_lists=[lists["SUD"][0][0]], media=[], makes=[],
                statuses=[]),
    ])


def _states(ctx, nord, media):
    """A few clicks of the Nord's CDV: priorities, deselections, a manual selection, with their history."""
    rng = ctx.rng
    user_id = db.session.execute(select(User.id).where(User.email == "cdv.nord@demo.example")).scalar()
    vehicles = db.session.execute(
        select(Vehicle.id).where(Vehicle.concession_id == nord.id, Vehicle.status.in_(("ST", "VD", "DV")),
                                 Vehicle.destination == "retail", Vehicle.photo_count > 0,
                                 Vehicle.sale_price_ttc.isnot(None))
        .order_by(Vehicle.id)).scalars().all()
    if not vehicles:
        return
    picks = rng.sample(vehicles, min(len(vehicles), 12))
    clicks = []  # (vehicle, medium code, from, to)
    for v in picks[:2]:
        clicks.append((v, "largus", None, "P"))
    for v in picks[2:4]:
        clicks.append((v, "leboncoin", None, "D"))
    for v in picks[4:10]:
        clicks.append((v, "concession", None, "S"))
    for v in picks[10:12]:
        clicks.append((v, "eden", None, "D"))
    now = utcnow()
    for n, (vehicle_id, code, old, new) in enumerate(clicks):
        at = now - dt.timedelta(days=len(clicks) - n, hours=rng.randint(0, 8))
        db.session.add(VehicleMediumState(vehicle_id=vehicle_id, medium_id=media[code].id, concession_id=nord.id,
                                          state=new, updated_by_id=user_id, updated_at=at))
        db.session.add(MediumStateChange(vehicle_id=vehicle_id, medium_id=media[code].id, concession_id=nord.id,
                                         user_id=user_id, at=at, from_state=old, to_state=new))


def _scale(ctx, media):
    """Generated concessions: one list of all their sites, subscribed to a few media; set-wise inserts."""
    rng = ctx.rng
    demo_ids = {c.id for c in ctx.data["concessions"].values()}
    sites_by_concession: dict[int, list[int]] = {}
    for site_id, concession_id in db.session.execute(select(Site.id, Site.concession_id)):
        if concession_id not in demo_ids:
            sites_by_concession.setdefault(concession_id, []).append(site_id)
    now = utcnow()
    db.session.execute(insert(PublicationList), [
        {"concession_id": c, "name": "Liste principale", "codes": f"PL{c:04d}", "created_at": now}
        for c in sites_by_concession])
    list_of = dict(db.session.execute(select(PublicationList.concession_id, PublicationList.id)
                                      .where(PublicationList.concession_id.notin_(demo_ids))).all())
    db.session.execute(insert(publication_list_site), [
        {"publication_list_id": list_of[c], "site_id": s} for c, sites in sites_by_concession.items() for s in sites])
    orderings = ("score", "stock_age_youngest", "price_asc", "photos", "none")
    config_rows = []
    for c in sites_by_concession:
        for code in SCALE_MEDIA:
            limited = rng.random() < 0.25
            config_rows.append({
                "concession_id": c, "medium_id": media[code].id, "selection_mode": "auto",
                "limit_mode": "global" if limited else "none", "limit_value": rng.choice((20, 50)) if limited else None,
                "ordering": rng.choice(orderings), "admin_imposed_selection": False, "filter_requires_cote": False,
                "filter_min_photos": 1 if rng.random() < 0.2 else None, "updated_at": now})
    for start in range(0, len(config_rows), 5000):
        db.session.execute(insert(MediumConfig), config_rows[start:start + 5000])
    configs = db.session.execute(select(MediumConfig.id, MediumConfig.concession_id)
                                 .where(MediumConfig.concession_id.notin_(demo_ids))).all()
    sub_rows = [{"config_id": cid, "publication_list_id": list_of[c], "concession_id": c,
                 "customer_code": f"cl{c:04d}"} for cid, c in configs]
    for start in range(0, len(sub_rows), 5000):
        db.session.execute(insert(ListSubscription), sub_rows[start:start + 5000])
