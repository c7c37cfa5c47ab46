"""Send report storage: sent listings packed per (medium, concession), not-sent decisions per (medium,
concession, publication list, outcome, reasons).

The encoding is tested directly; the writer through what users see (pages, search, PDF data)."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backoffice.extensions import db
from models.scope import Scope
from models.send import (Listing, NotSentListings, SendMedium, SendRun, SentListings, decode_listings, decode_ranks,
                         decode_vehicle_ids, encode_listings, encode_ranks, encode_sent_listings, medium_counts,
                         pack_not_sent,
                         search_vehicle, write_medium_report, write_report_rows)
from models.send_decision import Decision


# Encoding -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("listings", [
    [],
    [Listing(12, 3, 1, "Jean Gap", "04 92 11 22 33")],
    [Listing(12, 3, 1, "Jean Gap", "04 92 11 22 33"), Listing(15, 3, 2, "Jean Gap", "04 92 11 22 33"),
     Listing(18, 4, None, None, None), Listing(7, None, 3, "Zoé « Agen » & co", None)],
])
def test_listings_survive_encoding_in_feed_order(listings):
    ids, details = encode_listings([x.vehicle_id for x in listings], [x.list_id for x in listings],
                                   [x.rank for x in listings],
                                   [None if x.contact_name is None and x.contact_phone is None
                                    else (x.contact_name, x.contact_phone) for x in listings])
    assert decode_listings(ids, details) == listings
    assert decode_vehicle_ids(ids) == [x.vehicle_id for x in listings]


def test_vehicle_ids_are_comma_framed_and_contacts_kept_once():
    ids, details = encode_listings([12, 15, 18], [1, 1, 1], [1, 2, 3], [("A", "1"), ("A", "1"), ("B", "2")])
    assert ids == ",12,15,18,"
    assert details.count('"A"') == 1
    with pytest.raises(ValueError):
        encode_listings([12, 15], [1], [1, 2], [None, None])


@pytest.mark.parametrize("ranks, text", [
    ([None], None), ([None, None, None], None), ([3], ",3,"), ([3, None, 7], ",3,,7,"), ([None, 1], ",,1,"),
    ([1, None], ",1,,"),
])
def test_not_sent_ranks_survive_encoding(ranks, text):
    assert encode_ranks(ranks) == text
    assert decode_ranks(text, len(ranks)) == ranks


def test_a_list_ranked_from_one_is_kept_as_one_run_however_long():
    n = 100_000
    people = [(f"Responsable {i}", f"04 92 00 00 {i:02d}") for i in range(100)]
    columns = (list(range(1, n + 1)), [7] * n, list(range(1, n + 1)), [people[i % 100] for i in range(n)])
    ids, details = encode_listings(*columns)
    data = json.loads(details)
    assert (data["list"], data["rank"]) == ([[7, n]], [[1, n]])
    assert len(data["contacts"]) == 100
    assert decode_listings(ids, details) == [Listing(v, 7, v, *people[(v - 1) % 100]) for v in range(1, n + 1)]


def test_two_lists_ranked_from_one_are_two_runs():
    ids, details = encode_listings([12, 15, 18, 7, 9], [3, 3, 3, 4, 4], [1, 2, 3, 1, 2], [None] * 5)
    data = json.loads(details)
    assert (data["list"], data["rank"]) == ([[3, 3], [4, 2]], [[1, 3], [1, 2]])
    assert [(x.list_id, x.rank) for x in decode_listings(ids, details)] == [(3, 1), (3, 2), (3, 3), (4, 1), (4, 2)]


listing_rows = st.lists(st.tuples(st.sampled_from([5, 9, 13]), st.integers(0, 10 ** 9), st.sampled_from([1, 2, None]),
                                   st.one_of(st.none(), st.integers(1, 6)), st.integers(0, 4)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(listing_rows)
def test_a_mediums_listings_encoded_at_once_give_each_concession_its_own_row(rows):
    # The send encodes a medium's 100,000 listings in one pass (encode_sent_listings); each concession's
    # row must read back exactly as if it had been encoded alone, in the same feed order.
    people = [None, ("Jean Gap", "04 92 11 22 33", "a@x.fr"), ("Jean Gap", "04 92 11 22 33", "b@x.fr"),
              ("Zoé « Agen » & co", None, None), ("Luc", "05 53 00 00 00", None)]
    encoded = encode_sent_listings(*zip(*rows), people) if rows else encode_sent_listings([], [], [], [], [], people)
    assert set(encoded) == {r[0] for r in rows}
    for concession_id, (count, ids, details) in encoded.items():
        mine = [r for r in rows if r[0] == concession_id]
        contacts = [people[r[4]] for r in mine]
        assert (count, ids, details) == (len(mine), *encode_listings([r[1] for r in mine], [r[2] for r in mine],
                                                                      [r[3] for r in mine], contacts))
        assert decode_listings(ids, details) == [Listing(r[1], r[2], r[3], *(people[r[4]] or (None, None))[:2])
                                                 for r in mine]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 12), st.integers(0, 10 ** 6), st.integers(0, 10 ** 12)), max_size=40))
def test_ids_are_written_in_plain_decimal_each_where_its_offset_says(values):
    # The vehicle ids of a bilan row are cut from one text per medium by these offsets: a leading zero
    # or a digit lost would name another vehicle.
    from models.send import _decimal_items

    text, offsets = _decimal_items(np.array(values, np.int64))
    assert text == "".join(f"{v}," for v in values)
    assert [text[a:b] for a, b in zip(offsets.tolist(), offsets[1:].tolist())] == [f"{v}," for v in values]


def test_rows_written_with_one_value_per_listing_are_still_read():
    # The bilans of the last two months were written before runs were kept.
    details = json.dumps({"list": [3, 3, 4], "rank": [1, 2, None], "contact": [0, 0, None],
                          "contacts": [["Jean Gap", "04 92 11 22 33"]]})
    assert decode_listings(",12,15,18,", details) == [Listing(12, 3, 1, "Jean Gap", "04 92 11 22 33"),
                                                       Listing(15, 3, 2, "Jean Gap", "04 92 11 22 33"),
                                                       Listing(18, 4, None, None, None)]


# The writer, through what users see ------------------------------------------------------------------

@pytest.fixture
def report(network, factories):
    """A run with two media written by write_medium_report: Nord's VO 2029 sent on eden, filtered on
    UbiFlow; Nord's 1937 and Sud's 9001 sent on eden."""
    nord_ok = factories.vehicle(network.gap, entry_number="1937", model="NORDMARKER")
    nord = factories.vehicle(network.gap, entry_number="2029", model="NORDMARKER")
    sud = factories.vehicle(network.rennes, entry_number="9001", model="SUDMARKER")
    run = SendRun(run_key="manual-test", kind="manual", decision_date=dt.date(2026, 11, 22), status="done",
                  started_at=dt.datetime(2026, 11, 22, 2, 0), finished_at=dt.datetime(2026, 11, 22, 2, 30))
    db.session.add(run)
    db.session.flush()
    eden = SendMedium(run_id=run.id, medium_id=1, medium_name="eden-auto.com", job_id="j1", status="done")
    ubi = SendMedium(run_id=run.id, medium_id=2, medium_name="Applications UbiFlow", job_id="j2", status="done")
    db.session.add_all([eden, ubi])
    db.session.commit()
    n, s = network.nord.id, network.sud.id
    eden_decisions = [Decision(nord.id, 1, 10, n, "sent", (), 2, False, "c1"),
                      Decision(nord_ok.id, 1, 10, n, "sent", (), 1, False, "c1"),
                      Decision(sud.id, 1, 20, s, "sent", (), 1, False, "c2")]
    contacts = {(nord.id, 10): ("Responsable Gap", "04 92 11 22 33", None),
                (nord_ok.id, 10): ("Responsable Gap", "04 92 11 22 33", None),
                (sud.id, 20): ("Responsable Rennes", "02 99 00 00 00", None)}
    ubi_decisions = [Decision(nord.id, 2, 10, n, "filtered_media",
                              ("véhicule sans type de boîte de renseigné", "véhicule sans catégorie de renseignée")),
                     Decision(nord_ok.id, 2, 10, n, "sent", (), 1),
                     Decision(sud.id, 2, 20, s, "limit_reached", ("limite atteinte",))]
    write_medium_report(db.session, eden, eden_decisions, contacts)
    write_medium_report(db.session, ubi, ubi_decisions, {})
    eden.sent_count, eden.filtered_count = 3, 0
    ubi.sent_count, ubi.filtered_count, ubi.other_count = 1, 1, 1
    db.session.commit()
    return dict(run=run, eden=eden, ubi=ubi, nord=nord, nord_ok=nord_ok, sud=sud,
                eden_decisions=eden_decisions, contacts=contacts)


def test_sent_listings_take_one_row_per_concession_and_not_sent_one_per_kind_of_decision(network, report):
    rows = db.session.execute(select(SentListings).where(SentListings.send_medium_id == report["eden"].id)
                              .order_by(SentListings.concession_id)).scalars().all()
    assert [(r.concession_id, r.listing_count) for r in rows] == [(network.nord.id, 2), (network.sud.id, 1)]
    # Feed order: by list then rank.
    assert rows[0].vehicle_ids == f",{report['nord_ok'].id},{report['nord'].id},"
    assert db.session.execute(select(NotSentListings.outcome, NotSentListings.vehicle_ids).where(
        NotSentListings.send_medium_id == report["ubi"].id).order_by(NotSentListings.id)).all() == [
        ("filtered_media", f",{report['nord'].id},"), ("limit_reached", f",{report['sud'].id},")]


def test_a_retried_medium_replaces_its_rows(network, report):
    eden, nord = report["eden"], report["nord"]
    write_medium_report(db.session, eden, report["eden_decisions"], report["contacts"])   # same attempt again
    retry = [Decision(nord.id, 1, 10, network.nord.id, "filtered_custom", ("score inférieur à 50",))]
    write_medium_report(db.session, eden, retry, {})
    db.session.commit()
    assert db.session.execute(select(SentListings).where(SentListings.send_medium_id == eden.id)).all() == []
    assert [(x.vehicle_id, x.reason_list) for row in db.session.execute(select(NotSentListings).where(
        NotSentListings.send_medium_id == eden.id)).scalars() for x in row.decoded()] == [
        (nord.id, ["score inférieur à 50"])]
    assert medium_counts(db.session, report["run"].id, Scope(frozenset({network.nord.id})))[eden.id] == {
        "sent": 0, "filtered": 1}


def test_a_dealer_sees_only_their_concessions_counts_and_listings(network, report, login):
    run, eden, ubi = report["run"], report["eden"], report["ubi"]
    assert medium_counts(db.session, run.id, Scope(frozenset({network.nord.id}))) == {
        eden.id: {"sent": 2, "filtered": 0}, ubi.id: {"sent": 1, "filtered": 1}}
    assert medium_counts(db.session, run.id, Scope(frozenset({network.sud.id}))) == {
        eden.id: {"sent": 1, "filtered": 0}}
    body = login(network.cdv_sud).get(f"/sends/run/{run.id}/").get_data(as_text=True)
    assert f'href="/sends/medium/{eden.id}/sent/">1<' in body
    nord = login(network.cdv_nord).get(f"/sends/medium/{eden.id}/sent/").get_data(as_text=True)
    assert "1937" in nord and "2029" in nord and "9001" not in nord and "Responsable Gap" in nord
    assert nord.index("1937") < nord.index("2029")                       # rank 1 before rank 2
    sud = login(network.cdv_sud).get(f"/sends/medium/{eden.id}/sent/").get_data(as_text=True)
    assert "9001" in sud and "02 99 00 00 00" in sud and "2029" not in sud and "Responsable Gap" not in sud


def test_a_vehicle_sent_on_one_medium_and_filtered_on_another_gives_both_phrases(network, report, login):
    nord = login(network.cdv_nord)
    body = nord.get(f"/sends/run/{report['run'].id}/?ref=2029").get_data(as_text=True)
    assert "VO 2029 diffusé sur eden-auto.com" in body
    assert "VO 2029 filtré sur Applications UbiFlow pour 2 raisons" in body
    body = nord.get(f"/sends/vehicle/{report['nord'].id}/").get_data(as_text=True)
    assert "VO 2029 diffusé sur eden-auto.com" in body and "VO 2029 filtré sur Applications UbiFlow" in body
    body = login(network.cdv_sud).get(f"/sends/run/{report['run'].id}/?ref=9001").get_data(as_text=True)
    assert "VO 9001 diffusé sur eden-auto.com" in body and "VO 9001 non diffusé sur Applications UbiFlow" in body
    assert "VO 9001" not in nord.get(f"/sends/vehicle/{report['nord'].id}/").get_data(as_text=True)


def test_a_vehicle_is_found_in_a_row_by_its_whole_id_only(network, report):
    row = db.session.execute(select(SentListings).where(SentListings.send_medium_id == report["eden"].id,
                                                        SentListings.concession_id == network.nord.id)).scalar_one()
    row.vehicle_ids = ",12,210,"
    db.session.commit()

    def found(vehicle_id):
        return db.session.execute(select(SentListings.id).where(SentListings.id == row.id,
                                                                SentListings.has_vehicle(vehicle_id))).first()
    assert found(12) and found(210)
    assert not found(1) and not found(2) and not found(21) and not found(10)


def test_the_pdf_data_lists_sent_vehicles_with_contact_by_rank(network, report):
    from reports.send_report import load_send_report

    data = load_send_report(report["run"].id, network.nord.id)
    eden = next(m for m in data.media if m.name == "eden-auto.com")
    assert [(r.entry_number, r.contact, r.phone) for r in eden.sent] == [
        ("1937", "Responsable Gap", "04 92 11 22 33"), ("2029", "Responsable Gap", "04 92 11 22 33")]
    assert eden.sent_count == 2
    network_data = load_send_report(report["run"].id)
    assert [r.entry_number for r in next(m for m in network_data.media if m.name == "eden-auto.com").sent] == [
        "1937", "9001", "2029"]                                              # rank, then N° VO


def test_a_sent_page_breaks_rank_ties_by_entry_number_across_page_edges(network, factories, app):
    from views.sends import listings_page

    cars = [factories.vehicle(network.gap, entry_number=f"E{n}") for n in (5, 3, 9, 1, 7)]
    listings = [Listing(c.id, 1, rank, None, None) for c, rank in zip(cars, (1, 2, 1, 2, 1))]
    with app.test_request_context():
        pages = [[row[1] for row in listings_page(listings, page, size=2)] for page in (1, 2, 3, 4)]
    assert pages == [["E5", "E7"], ["E9", "E1"], ["E3"], []]


def test_reasons_with_tabs_backslashes_and_accents_are_stored_as_written(network, report):
    # Reasons quote what users typed (a make, a colour): stored and grouped as written.
    eden, nord = report["eden"], report["nord"]
    reasons = ("marque « C\\D\tE » exclue", "couleur\r\nGris")
    write_medium_report(db.session, eden, [Decision(nord.id, 1, 10, network.nord.id, "filtered_custom", reasons)],
                        {})
    db.session.commit()
    stored = db.session.execute(select(NotSentListings.reasons).where(
        NotSentListings.send_medium_id == eden.id)).scalar_one()
    assert stored == "\n".join(reasons)


def test_the_pdf_bilan_of_a_huge_send_prints_a_share_of_each_list_and_counts_the_rest(app, network, report,
                                                                                     monkeypatch):
    from reports.send_report import load_send_report

    monkeypatch.setitem(app.config, "SEND_REPORT_PDF_MAX_ROWS", 2)   # 5 rows in this bilan
    data = load_send_report(report["run"].id)
    eden = next(m for m in data.media if m.name == "eden-auto.com")
    # Printed in the pages' order (rank, then N° VO): the last one is counted, not listed.
    assert [r.entry_number for r in eden.sent] == ["1937", "9001"] and eden.sent_omitted == 1
    assert eden.sent_count == 3                                # the figures stay whole
    ubi = next(m for m in data.media if m.name == "Applications UbiFlow")
    assert (len(ubi.filtered), ubi.filtered_omitted) == (1, 0)


# Not-sent decisions packed per (concession, list, outcome, reasons), through what users see ----------------

GEARBOX, CATEGORY = "véhicule sans type de boîte de renseigné", "véhicule sans catégorie de renseignée"


@pytest.fixture
def packed(network, factories, report):
    """On UbiFlow, three Nord cars filtered for the same two reasons through list 10 (ranks None, 2, 1: rank
    order is neither entry nor id order), one for one reason, and Sud's 9001 filtered for the same two."""
    ubi, n = report["ubi"], network.nord.id
    cars = {ref: factories.vehicle(network.gap, entry_number=ref, model=f"M{ref}", make="PACKMAKE")
            for ref in ("4001", "4003", "4002", "4100")}
    same = (GEARBOX, CATEGORY)
    decisions = [Decision(cars["4001"].id, 2, 10, n, "filtered_media", same, None),
                 Decision(cars["4003"].id, 2, 10, n, "filtered_media", same, 2),
                 Decision(cars["4100"].id, 2, 10, n, "filtered_media", (GEARBOX,), None),
                 Decision(cars["4002"].id, 2, 10, n, "filtered_media", same, 1),
                 Decision(report["sud"].id, 2, 20, network.sud.id, "filtered_media", same, None),
                 Decision(report["nord_ok"].id, 2, 10, n, "sent", (), 1)]
    write_medium_report(db.session, ubi, decisions, {})
    ubi.sent_count, ubi.filtered_count, ubi.other_count = 1, 5, 0
    db.session.commit()
    return dict(report, cars=cars, decisions=decisions)


def test_vehicles_filtered_alike_take_one_row_in_rank_order(network, packed):
    cars = packed["cars"]
    rows = db.session.execute(select(NotSentListings).where(NotSentListings.send_medium_id == packed["ubi"].id)
                              .order_by(NotSentListings.id)).scalars().all()
    assert [(r.concession_id, r.listing_count, r.reasons) for r in rows] == [
        (network.nord.id, 3, f"{GEARBOX}\n{CATEGORY}"), (network.nord.id, 1, GEARBOX),
        (network.sud.id, 1, f"{GEARBOX}\n{CATEGORY}")]
    assert rows[0].vehicle_ids == f",{cars['4002'].id},{cars['4003'].id},{cars['4001'].id},"
    assert rows[0].ranks == ",1,2,,"
    assert rows[1].ranks is None                                      # no rank at all: nothing stored
    assert medium_counts(db.session, packed["run"].id, Scope(frozenset({network.nord.id})))[packed["ubi"].id] == {
        "sent": 1, "filtered": 4}


def test_reasons_of_the_same_text_are_one_row_in_vehicle_order():
    # ("a\nb",) and ("a", "b") are stored alike, one reason per line: one row, not two of the same key;
    # without ranks the vehicles are in id order, whatever the order they were decided in.
    rows = pack_not_sent([Decision(7, 2, 10, 3, "filtered_custom", ("a\nb",)),
                          Decision(2, 2, 10, 3, "filtered_custom", ("a", "b")),
                          Decision(5, 2, 10, 3, "filtered_custom", ("a\nb",))])
    assert [(r["reasons"], r["vehicle_ids"], r["ranks"]) for r in rows] == [("a\nb", ",2,5,7,", None)]


def test_the_filtered_page_lists_packed_vehicles_by_rank_with_every_reason(network, packed, login):
    ubi = packed["ubi"]
    body = login(network.cdv_nord).get(f"/sends/medium/{ubi.id}/filtered/").get_data(as_text=True)
    # Rank 1, rank 2, then no rank ordered by N° VO; each with its reasons.
    order = [body.index(f">{ref}<") for ref in ("4002", "4003", "4001", "4100")]
    assert order == sorted(order)
    assert "4 véhicules" in body and "9001" not in body
    row = body[body.index(">4001<"):body.index(">4100<")]
    assert GEARBOX in row and CATEGORY in row
    sud = login(network.cdv_sud).get(f"/sends/medium/{ubi.id}/filtered/").get_data(as_text=True)
    assert "9001" in sud and "PACKMAKE" not in sud and "1 véhicules" in sud
    body = login(network.cdv_sud).get(f"/sends/run/{packed['run'].id}/?ref=4002").get_data(as_text=True)
    assert "VO 4002 filtré" not in body and "Aucun VO 4002" in body


def test_the_pdf_data_lists_packed_filtered_vehicles_by_rank_with_their_reasons(network, packed):
    from reports.send_report import load_send_report

    ubi = next(m for m in load_send_report(packed["run"].id, network.nord.id).media
               if m.name == "Applications UbiFlow")
    assert [(r.entry_number, r.reasons) for r in ubi.filtered] == [
        ("4002", [GEARBOX, CATEGORY]), ("4003", [GEARBOX, CATEGORY]), ("4001", [GEARBOX, CATEGORY]),
        ("4100", [GEARBOX])]
    assert ubi.filtered_count == 4
    sud = next(m for m in load_send_report(packed["run"].id, network.sud.id).media
               if m.name == "Applications UbiFlow")
    assert [r.entry_number for r in sud.filtered] == ["9001"]


def test_the_search_finds_a_vehicle_in_the_middle_of_a_packed_row(network, packed, login):
    car = packed["cars"]["4003"]
    body = login(network.cdv_nord).get(f"/sends/run/{packed['run'].id}/?ref=4003").get_data(as_text=True)
    assert "VO 4003 filtré sur Applications UbiFlow pour 2 raisons" in body
    assert [r["vehicle_id"] for r in search_vehicle(db.session, packed["run"].id, "4003", Scope.network())] == [
        car.id]
    body = login(network.cdv_nord).get(f"/sends/vehicle/{car.id}/").get_data(as_text=True)
    assert "VO 4003 filtré sur Applications UbiFlow pour 2 raisons" in body


def test_a_vehicle_decided_alike_through_two_lists_is_one_search_line(network, factories, report):
    ubi, n = report["ubi"], network.nord.id
    car = factories.vehicle(network.gap, entry_number="5005")
    write_medium_report(db.session, ubi, [Decision(car.id, 2, 10, n, "filtered_media", (GEARBOX,)),
                                          Decision(car.id, 2, 11, n, "filtered_media", (GEARBOX,)),
                                          Decision(car.id, 2, 12, n, "deselected", ("véhicule désélectionné",))],
                        {})
    db.session.commit()
    lines = search_vehicle(db.session, report["run"].id, "5005", Scope.network())
    assert [(x["outcome"], x["reasons"]) for x in lines] == [("filtered_media", [GEARBOX]),
                                                            ("deselected", ["véhicule désélectionné"])]


def test_a_retry_replaces_the_packed_rows_and_returns_the_rows_written(network, packed):
    ubi, cars = packed["ubi"], packed["cars"]
    assert write_report_rows(db.session, ubi, {}, [d for d in packed["decisions"] if d.outcome != "sent"]) == (0, 3)
    assert write_report_rows(db.session, ubi, {}, [Decision(cars["4001"].id, 2, 10, network.nord.id,
                                                            "deselected", ("véhicule désélectionné",))]) == (0, 1)
    db.session.commit()
    assert db.session.execute(select(NotSentListings.outcome, NotSentListings.vehicle_ids).where(
        NotSentListings.send_medium_id == ubi.id)).all() == [("deselected", f",{cars['4001'].id},")]
    assert ubi.id not in medium_counts(db.session, packed["run"].id, Scope.network())   # nothing sent nor filtered
