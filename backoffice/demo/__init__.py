"""Demo and scale data. Each seeder module defines ``seed(ctx)``; they run in order.

Add a feature's seeder to SEEDERS (e.g. media and lists, campaigns).
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from importlib import import_module

SEEDERS = [
    "backoffice.demo.organisation",
    "backoffice.demo.vehicles",
    "backoffice.demo.scores",
    "backoffice.demo.publication",
    "backoffice.demo.campaigns",
    "backoffice.demo.sends",
]

DEMO_PASSWORD = "demo-password"
DEMO_ACCOUNTS = [
    ("admin@demo.example", "admin", None, "Alice", "Admin"),
    ("filiale@demo.example", "filiale", None, "Fanny", "Digital"),
    ("vpp@demo.example", "validator", None, "Victor", "VPP"),
    ("cdv.nord@demo.example", "dealer_manager", "NORD", "Claire", "Dupont"),
    ("vendeur.nord@demo.example", "dealer_staff", "NORD", "Vincent", "Martin"),
    ("cdv.sud@demo.example", "dealer_manager", "SUD", "Samuel", "Le Gall"),
]


@dataclass
class SeedContext:
    rng: random.Random
    today: dt.date
    vehicles: int
    extra_concessions: int
    with_photos: bool
    log: callable = print
    data: dict = field(default_factory=dict)  # what seeders hand to later ones


def build(vehicles: int = 150, concessions: int = 0, seed: int = 42, today: dt.date | None = None,
          with_photos: bool | None = None, log=print) -> SeedContext:
    """Build the demo organisation, accounts and stock (plus ``concessions`` generated ones)."""
    ctx = SeedContext(rng=random.Random(seed), today=today or dt.date.today(), vehicles=vehicles,
                      extra_concessions=concessions,
                      with_photos=(vehicles <= 2000) if with_photos is None else with_photos, log=log)
    for name in SEEDERS:
        started = time.perf_counter()
        import_module(name).seed(ctx)
        log(f"  {name.rsplit('.', 1)[-1]}: {time.perf_counter() - started:.1f} s")
    return ctx
