"""Builders of plain engine inputs for the table-driven tests."""
import datetime as dt

from models.send_decision import (MANDATORY_FIELDS, ConfigInput, DecisionInputs, MediumInput, StateInput,
                                  SubscriptionInput, VehicleInput, decide, fields_mask)

TODAY = dt.date(2026, 6, 15)
FULL = fields_mask(MANDATORY_FIELDS)
CONCESSION, SITE_A, SITE_B = 1, 10, 11
MEDIUM = 100
LIST_A, LIST_B = 1000, 1001


def vehicle(id, site=SITE_A, missing=(), **fields):
    values = dict(concession_id=CONCESSION, site_id=site, status="ST", destination="retail",
                  filled=FULL & ~fields_mask(missing), make="RENAULT", genre="VP", colour="Gris", score=7,
                  photo_count=5, entry_date=TODAY - dt.timedelta(days=20),
                  price_changed_on=TODAY - dt.timedelta(days=5),
                  first_registration_date=TODAY - dt.timedelta(days=3 * 365), sale_price_ttc=15000.0,
                  merchant_price=12000.0, has_cote=True)
    values.update(fields)
    return VehicleInput(id=id, **values)


def run(vehicles, config=None, mandatory=(), states=(), lists=((LIST_A, (SITE_A,), None),),
        destination="retail", active=True):
    """Decide one medium of one concession; lists = ((list id, site ids, per-list limit), ...)."""
    config = config or ConfigInput(CONCESSION, MEDIUM)
    inputs = DecisionInputs(
        vehicles=list(vehicles),
        media=[MediumInput(MEDIUM, "LeBonCoin", destination, tuple(mandatory), active)],
        configs={(CONCESSION, MEDIUM): config},
        subscriptions=[SubscriptionInput(MEDIUM, list_id, CONCESSION, tuple(sites), f"bm{list_id}", limit)
                       for list_id, sites, limit in lists],
        states=[StateInput(v, MEDIUM, s, locked) for v, s, locked in
                ((t + (False,)) if len(t) == 2 else t for t in states)],
        today=TODAY)
    return decide(inputs)


def outcomes(result):
    """vehicle id → (outcome, reasons) for a single list run."""
    return {d.vehicle_id: (d.outcome, d.reasons) for d in result}
