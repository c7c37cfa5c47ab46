"""The guide's organisation, the demo accounts, and generated concessions for scale runs."""
from sqlalchemy import insert, select

from backoffice.extensions import db
from backoffice.security import create_user, ensure_roles
from models import Concession, Filiale, Location, Pole, Site

from . import DEMO_ACCOUNTS, DEMO_PASSWORD

DEMO_NETWORK = {
    ("Pôle Nord", "NORD", "Concession du Nord"): [
        ("GAP", "GAP", "12 avenue d'Embrun", "05000", "Gap"),
        ("DAI", "DAINVILLE", "3 rue de Warlus", "62000", "Dainville"),
    ],
    ("Pôle Sud-Ouest", "SUD", "Concession du Sud"): [
        ("REN", "RENNES", "45 route de Lorient", "35000", "Rennes"),
        ("QUI", "QUIMPER", "8 avenue de la Libération", "29000", "Quimper"),
        ("MTB", "MONTAUBAN", "150 avenue de Toulouse", "82000", "Montauban"),
        ("AGE", "AGEN", "21 boulevard de la République", "47000", "Agen"),
    ],
}
LOCATIONS = ("Parc VO", "Atelier", "Vitrine")
FIRST_NAMES = ("Julie", "Thomas", "Nadia", "Pierre", "Sophie", "Karim", "Emma", "Lucas", "Léa", "Hugo")
LAST_NAMES = ("Bernard", "Petit", "Robert", "Richard", "Durand", "Moreau", "Laurent", "Simon", "Michel")
CITIES = (("Lille", "59000"), ("Lyon", "69000"), ("Nantes", "44000"), ("Bordeaux", "33000"),
          ("Toulouse", "31000"), ("Strasbourg", "67000"), ("Dijon", "21000"), ("Tours", "37000"),
          ("Reims", "51100"), ("Angers", "49000"), ("Metz", "57000"), ("Brest", "29200"))


def _manager(rng):
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return (f"{first} {last}", f"0{rng.randint(1, 5)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)} {rng.randint(10, 99)}",
            f"{first.lower()}.{last.lower()}@demo.example".replace("é", "e").replace("ï", "i"))


def seed(ctx):
    rng = ctx.rng
    filiale = Filiale(name="Filiale France")
    db.session.add(filiale)
    concessions = {}
    for (pole_name, code, name), sites in DEMO_NETWORK.items():
        pole = Pole(name=pole_name, filiale=filiale)
        concession = Concession(code=code, name=name, pole=pole)
        for site_code, site_name, address, postcode, city in sites:
            manager, phone, email = _manager(rng)
            site = Site(code=site_code, name=site_name, address=address, postcode=postcode, city=city,
                        manager_name=manager, manager_phone=phone, manager_email=email)
            site.locations = [Location(name=n) for n in LOCATIONS]
            concession.sites.append(site)
        db.session.add(concession)
        concessions[code] = concession
    db.session.flush()

    ensure_roles()
    for email, role, concession_code, first, last in DEMO_ACCOUNTS:
        create_user(email, DEMO_PASSWORD, role,
                    concessions=[concessions[concession_code]] if concession_code else [],
                    first_name=first, last_name=last)

    if ctx.extra_concessions:
        _generate_network(ctx, filiale)
    db.session.commit()
    ctx.data["concessions"] = concessions


def _generate_network(ctx, filiale):
    """Generated concessions (10 per pôle, 1–4 sites each) inserted set-wise for scale runs."""
    rng = ctx.rng
    pole_count = max(1, ctx.extra_concessions // 10)
    db.session.execute(insert(Pole), [{"name": f"Pôle {i + 1:03d}", "filiale_id": filiale.id}
                                      for i in range(pole_count)])
    pole_ids = db.session.execute(select(Pole.id).where(Pole.name.like("Pôle 0%"))).scalars().all()
    db.session.execute(insert(Concession), [
        {"code": f"C{i + 1:04d}", "name": f"Concession {CITIES[i % len(CITIES)][0]} {i + 1:03d}",
         "pole_id": pole_ids[i % len(pole_ids)]} for i in range(ctx.extra_concessions)])
    generated = db.session.execute(select(Concession.id, Concession.code)
                                   .where(Concession.code.like("C0%"))).all()
    sites = []
    for concession_id, code in generated:
        for s in range(rng.randint(1, 4)):
            city, postcode = rng.choice(CITIES)
            manager, phone, email = _manager(rng)
            sites.append({"concession_id": concession_id, "code": f"S{s + 1}", "name": f"{city.upper()} {s + 1}",
                          "address": f"{rng.randint(1, 200)} avenue de la Gare", "postcode": postcode,
                          "city": city, "manager_name": manager, "manager_phone": phone, "manager_email": email})
    db.session.execute(insert(Site), sites)
    site_ids = db.session.execute(select(Site.id).join(Concession).where(Concession.code.like("C0%"))).scalars()
    db.session.execute(insert(Location), [{"site_id": sid, "name": "Parc VO"} for sid in site_ids])
