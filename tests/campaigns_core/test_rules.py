"""Conflict detection, precedence, workflow and statistics rules over plain data (table-driven)."""
import datetime as dt
from decimal import Decimal

import pytest

from models import campaign_rules as rules
from models.campaign_rules import ConflictIndex, OfferSpan, find_conflicts

D = dt.date


def span(offer_id, campaign_id, start, end, reference="CLIO-V", owner="filiale", concession_id=1, targets=(),
         family_id=None, campaign_start=None, validated_at=None):
    return OfferSpan(offer_id, campaign_id, reference, start, end, owner, concession_id, frozenset(targets),
                     family_id, campaign_start or start, validated_at)


PERIODS = [
    # name, period A, period B, conflict?
    ("identical", (D(2026, 3, 1), D(2026, 3, 31)), (D(2026, 3, 1), D(2026, 3, 31)), True),
    ("overlapping", (D(2026, 3, 1), D(2026, 3, 20)), (D(2026, 3, 15), D(2026, 4, 10)), True),
    ("touching (inclusive end = other start)", (D(2026, 3, 1), D(2026, 3, 15)), (D(2026, 3, 15), D(2026, 3, 31)), True),
    ("adjacent (end the day before)", (D(2026, 3, 1), D(2026, 3, 14)), (D(2026, 3, 15), D(2026, 3, 31)), False),
    ("nested", (D(2026, 3, 1), D(2026, 3, 31)), (D(2026, 3, 10), D(2026, 3, 12)), True),
    ("disjoint", (D(2026, 3, 1), D(2026, 3, 10)), (D(2026, 4, 1), D(2026, 4, 10)), False),
    ("one day inside", (D(2026, 3, 5), D(2026, 3, 5)), (D(2026, 3, 1), D(2026, 3, 31)), True),
]


@pytest.mark.parametrize("name,a,b,expected", PERIODS, ids=[p[0] for p in PERIODS])
def test_periods(name, a, b, expected):
    spans = [span(1, 10, *a), span(2, 20, *b)]
    conflicts = find_conflicts(spans)
    assert (1 in conflicts and 2 in conflicts) is expected
    assert rules.periods_overlap(*a, *b) is expected
    assert bool(ConflictIndex(spans[1:]).check(spans[0])) is expected


@pytest.mark.parametrize("case,other,expected", [
    ("other reference", dict(reference="208-II"), False),
    ("same campaign", dict(campaign_id=10), False),
    ("other concession", dict(concession_id=2), False),
    ("flash copy of the same flash", dict(family_id=10), False),
    ("same concession, other campaign", dict(), True),
])
def test_what_is_a_conflict(case, other, expected):
    a = span(1, 10, D(2026, 3, 1), D(2026, 3, 31), family_id=10)
    fields = dict(offer_id=2, campaign_id=20, start=D(2026, 3, 1), end=D(2026, 3, 31))
    fields.update(other)
    b = span(**fields)
    assert (1 in find_conflicts([a, b])) is expected
    assert bool(ConflictIndex([b]).check(a)) is expected


def test_master_flash_conflicts_through_its_targets_not_with_its_own_copies():
    master = span(1, 100, D(2026, 3, 1), D(2026, 3, 31), concession_id=None, targets={1, 2}, family_id=100)
    copy_nord = span(2, 101, D(2026, 3, 1), D(2026, 3, 31), concession_id=1, family_id=100)
    dealer_nord = span(3, 200, D(2026, 3, 10), D(2026, 3, 20), owner="dealer", concession_id=1)
    dealer_other = span(4, 300, D(2026, 3, 10), D(2026, 3, 20), owner="dealer", concession_id=3)
    conflicts = find_conflicts([master, copy_nord, dealer_nord, dealer_other])
    assert {c.other_offer_id for c in conflicts[3]} == {1, 2}
    assert 4 not in conflicts
    assert {c.other_offer_id for c in conflicts[1]} == {3}


PRECEDENCE = [
    # case, A fields, B fields, winner
    ("dealer's own campaign over the filiale's flash",
     dict(owner="filiale", campaign_start=D(2026, 3, 10)), dict(owner="dealer", campaign_start=D(2026, 3, 1)), "B"),
    ("filiale flash loses even when it starts later",
     dict(owner="dealer", campaign_start=D(2026, 3, 1)), dict(owner="filiale", campaign_start=D(2026, 3, 20)), "A"),
    ("same owner: the one that starts later",
     dict(owner="dealer", campaign_start=D(2026, 3, 5)), dict(owner="dealer", campaign_start=D(2026, 3, 1)), "A"),
    ("same owner, same start: the one validated last",
     dict(owner="dealer", validated_at=dt.datetime(2026, 3, 2, 9)),
     dict(owner="dealer", validated_at=dt.datetime(2026, 3, 2, 10)), "B"),
    ("same owner, same start: validated beats not validated",
     dict(owner="filiale", validated_at=dt.datetime(2026, 3, 2, 9)), dict(owner="filiale"), "A"),
]


@pytest.mark.parametrize("case,a_fields,b_fields,expected", PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
def test_precedence(case, a_fields, b_fields, expected):
    base = dict(start=D(2026, 3, 1), end=D(2026, 3, 31), campaign_start=D(2026, 3, 1))
    a = span(offer_id=1, campaign_id=10, **{**base, **a_fields})
    b = span(offer_id=2, campaign_id=20, **{**base, **b_fields})
    conflicts = find_conflicts([a, b])
    winner = 10 if expected == "A" else 20
    assert conflicts[1][0].winner_campaign_id == winner
    assert conflicts[2][0].winner_campaign_id == winner
    assert ConflictIndex([b]).check(a)[0].winner_campaign_id == winner


def test_conflicts_are_told_per_offer():
    a1 = span(1, 10, D(2026, 3, 1), D(2026, 3, 31), reference="CLIO-V")
    a2 = span(2, 10, D(2026, 3, 1), D(2026, 3, 31), reference="208-II")
    b1 = span(3, 20, D(2026, 3, 1), D(2026, 3, 31), reference="CLIO-V")
    conflicts = find_conflicts([a1, a2, b1])
    assert set(conflicts) == {1, 3}


@pytest.mark.parametrize("kind,is_copy,state,action,allowed", [
    ("flash", False, "draft", "share", True),
    ("flash", False, "draft", "send", True),
    ("flash", False, "review", "send", True),
    ("flash", False, "sent", "send", True),
    ("flash", False, "sent", "share", False),
    ("flash", False, "draft", "validate", False),
    ("flash", True, "received", "validate", True),
    ("flash", True, "received", "send", False),
    ("dealer", False, "draft", "validate", True),
    ("dealer", False, "draft", "send", False),
])
def test_transitions(kind, is_copy, state, action, allowed):
    if allowed:
        assert rules.check_transition(kind, is_copy, state, action) in ("review", "sent", "validated")
        assert action in rules.allowed_actions(kind, is_copy, state)
    else:
        with pytest.raises(rules.RuleError):
            rules.check_transition(kind, is_copy, state, action)


@pytest.mark.parametrize("values,field", [
    (dict(reference="", label="x", discount_value=Decimal(1)), "reference"),
    (dict(reference="A", label="", discount_value=Decimal(1)), "label"),
    (dict(reference="A", label="x" * 161, discount_value=Decimal(1)), "label"),
    (dict(reference="A", label="x", category="cars", discount_value=Decimal(1)), "category"),
    (dict(reference="A", label="x", discount_value=Decimal(0)), "discount_value"),
    (dict(reference="A", label="x", discount_value="abc"), "discount_value"),
    (dict(reference="A", label="x", discount_kind="percent", discount_value=Decimal(101)), "discount_value"),
    (dict(reference="A", label="x", discount_value=Decimal(100), network_share=Decimal(200)), "network_share"),
    (dict(reference="A", label="x", discount_value=Decimal(100), end_date=D(2026, 4, 2)), "start_date"),
    (dict(reference="A", label="x", discount_value=Decimal(100), end_date=D(2026, 2, 27)), "end_date"),
])
def test_offer_errors(values, field):
    values = {"start_date": D(2026, 3, 1), "end_date": D(2026, 3, 31), **values}
    assert field in rules.offer_errors(rules.normalise_offer_fields(values), D(2026, 3, 1), D(2026, 3, 31))


def test_a_valid_offer_has_no_error_and_reference_is_normalised():
    values = rules.normalise_offer_fields(dict(reference=" clio  v ", label="Clio", discount_value="1 500,50",
                                               start_date=D(2026, 3, 1), end_date=D(2026, 3, 31)))
    assert values["reference"] == "CLIO V" and values["discount_value"] == Decimal("1500.50")
    assert rules.offer_errors(values, D(2026, 3, 1), D(2026, 3, 31)) == {}


def _offer(offer_id, campaign_id, discount, source=None, origin="filiale", deleted=False, label="Clio",
           kind="amount"):
    return rules.OfferData(offer_id, campaign_id, "CLIO-V", label, kind, Decimal(discount), Decimal(300),
                           origin=origin, source_offer_id=source, deleted=deleted)


def test_statistics_against_the_flash():
    flash = [_offer(1, 100, 1000), rules.OfferData(2, 100, "208-II", "208", "amount", Decimal(800))]
    copies = [rules.CopyData(101, 1, "Nord", "validated", dt.datetime(2026, 3, 2)),
              rules.CopyData(102, 2, "Sud", "received")]
    copy_offers = [
        _offer(11, 101, 1200, source=1),                    # Nord raised the Clio discount
        rules.OfferData(12, 101, "208-II", "208", "amount", Decimal(800), origin="filiale", source_offer_id=2,
                        deleted=True),                      # Nord deleted the 208
        _offer(13, 101, 500, origin="dealer"),              # Nord added one
        _offer(21, 102, 1000, source=1),                    # Sud kept the Clio
        rules.OfferData(22, 102, "208-II", "208", "amount", Decimal(800), source_offer_id=2),
        _offer(23, 102, 10, origin="dealer", deleted=True),  # added then deleted: not counted
    ]
    stats = rules.campaign_statistics(flash, copies, copy_offers)
    assert (stats.targeted, stats.validated, stats.modified, stats.deleted, stats.added) == (2, 1, 1, 1, 1)
    assert stats.validated_share == 50
    nord = stats.concessions[0]
    assert (nord.concession_name, nord.modified, nord.deleted, nord.added, nord.kept) == ("Nord", 1, 1, 1, 0)
    clio = next(o for o in stats.offers if o.reference == "CLIO-V")
    assert clio.average_applied == Decimal("1100.00") and clio.difference == Decimal("100.00")
    assert (clio.kept, clio.modified, clio.deleted) == (1, 1, 0)
    assert next(o for o in stats.offers if o.reference == "208-II").deleted == 1


# The optimised scan must find exactly the pairs a naive comparison of every pair finds.
from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def _spans(draw):
    # Campaigns first (a campaign is a master flash or bound to one concession, in one family), then offers.
    campaigns = {}
    for campaign_id in range(1, draw(st.integers(1, 8)) + 1):
        master = draw(st.booleans()) and draw(st.booleans())
        campaigns[campaign_id] = dict(
            owner=draw(st.sampled_from(["filiale", "dealer"])),
            concession_id=None if master else draw(st.integers(1, 3)),
            targets=frozenset(draw(st.sets(st.integers(1, 3)))) if master else frozenset(),
            family_id=draw(st.sampled_from([None, 100, 200])),
            campaign_start=D(2026, 3, 1) + dt.timedelta(days=draw(st.integers(0, 10))),
            validated_at=draw(st.sampled_from([None, dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 2)])))
    spans = []
    for i in range(draw(st.integers(0, 40))):
        start = D(2026, 3, 1) + dt.timedelta(days=draw(st.integers(0, 40)))
        campaign_id = draw(st.sampled_from(sorted(campaigns)))
        spans.append(OfferSpan(offer_id=i + 1, campaign_id=campaign_id,
                               reference=draw(st.sampled_from(["A", "B", "C"])), start=start,
                               end=start + dt.timedelta(days=draw(st.integers(0, 15))), **campaigns[campaign_id]))
    return spans


@settings(max_examples=300, deadline=None, database=None)
@given(_spans())
def test_scan_and_index_agree_with_comparing_every_pair(spans):
    naive = {}
    for a in spans:
        for b in spans:
            if a.offer_id != b.offer_id and rules.can_conflict(a, b):
                naive.setdefault(a.offer_id, set()).add((b.offer_id, rules.winner(a, b).campaign_id))
    found = {k: {(c.other_offer_id, c.winner_campaign_id) for c in v} for k, v in find_conflicts(spans).items()}
    assert found == naive
    index = ConflictIndex(spans)
    for s in spans:
        assert {(c.other_offer_id, c.winner_campaign_id) for c in index.check(s)} == naive.get(s.offer_id, set())
