"""Feed plug-ins: every public format validates against its schema; escaping and encodings hold."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from decimal import Decimal

import pytest

from jobs.feeds import FORMATS, get_format, mandatory_fields_for, required_vehicle_fields
from jobs.feeds.rows import feed_row
from jobs.feeds.validate import parse_feed, schema_for, validate_feed
from models.send_decision import MANDATORY_FIELDS

pytestmark = pytest.mark.no_db

NAMES = {"gearbox": {"automatic": "Automatique"}, "energy": {"diesel": "Diesel"}, "body": {"suv": "SUV / 4x4"}}


class FakeMedium:
    code = "PORTAIL"
    name = "Portail <test> & co"


def row(**overrides):
    base = dict(
        id=7, entry_number="2029", vin="WBAFG41000LJ12345", registration="AB-123-CD", status="ST", genre="VP",
        make="BMW", model="X6", family="X6", version="xDrive40d 313 ch", energy="diesel", gearbox="automatic",
        body_category="suv", colour="Carbonschwarz métallisé", doors=5, seats=5, fiscal_power=22, co2=190,
        mileage=53800, sale_price_ttc=Decimal("74990.00"), first_registration_date=dt.date(2019, 3, 14),
        registration_date=None, description="Toit ouvrant, sièges chauffants", photo_count=3, concession_id=1,
        site_id=1, site_code="GAP", site_name="Gap", site_address="12 avenue d'Embrun", site_postcode="05000",
        site_city="Gap", site_manager_name="Marie Curie", site_manager_phone="04 92 00 00 00",
        site_manager_email="gap@example.fr", concession_code="NORD", concession_name="Concession du Nord",
        customer_code="bm11c1")
    base.update(overrides)
    return feed_row(base, "https://vo.example.fr", None, NAMES)


def write(key, rows):
    out = io.BytesIO()
    count = get_format(key).write(rows, FakeMedium(), out)
    return count, out.getvalue()


PUBLIC = ["google_vehicle_listings", "meta_catalog_csv", "meta_catalog_xml", "mobile_de_csv"]


@pytest.mark.parametrize("key", PUBLIC)
def test_each_public_feed_validates_against_its_published_required_fields(key):
    count, data = write(key, [row(), row(id=8, entry_number="2030", vin="VF1RFB00012345678")])
    assert count == 2
    assert validate_feed(key, data) == []
    assert len(parse_feed(key, data)) == 2


@pytest.mark.parametrize("key", PUBLIC)
def test_the_schema_rejects_a_listing_missing_what_the_format_requires(key):
    # The check is not vacuous: a listing without price (and mileage) fails the schema.
    _, data = write(key, [row(sale_price_ttc=None, mileage=None)])
    errors = validate_feed(key, data)
    assert errors and any("price" in e or "preis" in e for e in errors)


@pytest.mark.parametrize("key", PUBLIC)
def test_each_public_format_declares_the_vehicle_fields_its_schema_needs(key):
    fields = required_vehicle_fields(key)
    assert {"sale_price_ttc", "mileage", "first_registration_date"} <= set(fields)
    assert set(fields) <= set(MANDATORY_FIELDS)   # names the decision engine knows, with their reasons
    assert schema_for(key)["required"]


def test_a_medium_mandatory_fields_include_its_format_requirements():
    assert mandatory_fields_for("google_vehicle_listings", ["gearbox"]) == [
        "gearbox", "vin", "sale_price_ttc", "first_registration_date", "mileage", "photo"]
    assert mandatory_fields_for("generic_csv", ["gearbox"]) == ["gearbox"]


@pytest.mark.parametrize("key", list(FORMATS))
def test_xml_special_characters_and_accents_survive_every_format(key):
    tricky = 'Série 3 <Touring> & "Sport" – été €'
    _, data = write(key, [row(model=tricky, description="Très bien ; prix, à voir\x01")])
    listing = parse_feed(key, data)[0]
    model = listing.get("model") or listing.get("modell")
    # ISO-8859-15 has no en dash: mobile.de gets a plain hyphen, every other character as is.
    assert model == (tricky.replace("–", "-") if key == "mobile_de_csv" else tricky)
    assert "Très bien" in (listing.get("description") or listing.get("beschreibung"))


def test_the_mobile_de_csv_is_iso_8859_15_and_semicolon_separated():
    _, data = write("mobile_de_csv", [row(colour="Gris métallisé €", description="Œuvre d'été")])
    text = data.decode("iso-8859-15")
    assert text.splitlines()[0].startswith("kundennummer;interne_nummer;")
    assert "Gris métallisé €" in text and "Œuvre d'été" in text
    assert "é".encode("iso-8859-15") in data and "é".encode("utf-8") not in data
    assert "€".encode("iso-8859-15") == b"\xa4" and b"\xa4" in data


def test_feeds_stream_many_rows_without_building_a_document():
    def many():
        for i in range(2000):
            yield row(id=i, entry_number=str(i))
    for key in FORMATS:
        count, data = write(key, many())
        assert count == 2000
        assert len(parse_feed(key, data)) == 2000


def test_an_unknown_format_falls_back_to_the_generic_xml():
    assert get_format("nope").key == "generic_xml"


@pytest.mark.parametrize("key", list(FORMATS))
def test_the_send_writer_fills_stored_listings_into_the_same_bytes_as_the_format(key, tmp_path):
    # The send renders each vehicle once per run and format, then fills each medium's customer codes,
    # links and contacts: the feed must be exactly what the format writes for those listings.
    from jobs.feeds import slot_value
    from jobs.feeds.templates import ListingStore, build_store, write_feed

    rows = [row(),
            row(id=8, entry_number="2030", customer_code='a;b,"c"', description='Ligne 1\nLigne 2, "cité" & <b>\x00',
                photo_count=0, mileage=None, sale_price_ttc=None, vin=None),
            row(id=9, entry_number="2031", customer_code=None, version="a\tb", make="Citroën & Fils")]
    rows[1].update(contact_name='Jean "JJ", Dupont', contact_phone="06 01 02 03 04", contact_email=None,
                   url="https://portail.example/annonce?ref=NORD-2030&x=1")
    build_store(get_format(key), rows, tmp_path / "store")
    # The second listing has its own link and contact; the others are copied whole with their list's code.
    stored = io.BytesIO()
    count = write_feed(get_format(key), FakeMedium(), ListingStore(tmp_path / "store"),
                       [(rows[0]["customer_code"], [7], None),
                        (rows[1]["customer_code"], [8], [(rows[1]["url"], slot_value("contact", rows[1]))]),
                        (rows[2]["customer_code"], [9], None)], stored)
    direct = write(key, rows)
    assert (count, stored.getvalue()) == direct
    assert (b"06 01 02 03 04" in stored.getvalue()) == (key != "google_vehicle_listings")   # Google has no contact
    assert len(parse_feed(key, stored.getvalue())) == 3


@pytest.mark.parametrize("key", list(FORMATS))
def test_a_store_built_on_the_previous_one_gives_the_bytes_of_a_store_rendered_whole(key, tmp_path):
    # The next night copies the unchanged listings from the previous store and renders the others:
    # its feed must be exactly the one a store rendered from scratch gives.
    from jobs.feeds.templates import ListingStore, build_store, write_feed

    night1 = [row(), row(id=8, entry_number="2030", make="Citroën & Fils"), row(id=9, entry_number="2031")]
    night2 = [row(), row(id=8, entry_number="2030", make="Citroën & Fils", sale_price_ttc=Decimal("8990")),
              row(id=10, entry_number="2032", description="Nouvelle <annonce>")]
    fmt = get_format(key)
    build_store(fmt, night1, tmp_path / "night1", context=b"ctx", fingerprints={7: b"a" * 16, 8: b"b" * 16})
    previous = ListingStore(tmp_path / "night1")
    assert previous.same_context(b"ctx") and not previous.same_context(b"other")
    build_store(fmt, night2[1:], tmp_path / "night2", context=b"ctx", previous=previous, reused=[7],
                fingerprints={8: b"c" * 16, 10: b"d" * 16})
    build_store(fmt, night2, tmp_path / "whole")

    def feed(name):
        out = io.BytesIO()
        write_feed(fmt, FakeMedium(), ListingStore(tmp_path / name), [("bm11c1", [7, 8, 10], None)], out)
        return out.getvalue()
    assert feed("night2") == feed("whole") == write(key, night2)[1]
    assert b"8990" in feed("night2") or b"8 990" in feed("night2")
    assert ListingStore(tmp_path / "night2").fingerprint_of() == {7: b"a" * 16, 8: b"c" * 16, 10: b"d" * 16}


def test_a_store_keeps_only_the_listings_whose_row_has_the_same_fingerprint(tmp_path):
    """What the next night reuses: a vehicle with a listing rendered from the same row, and nothing else
    (a changed row, a vehicle new to the store)."""
    import numpy as np

    from jobs.feeds.templates import ListingStore, build_store

    build_store(get_format("generic_csv"), [row(), row(id=8, entry_number="2030")], tmp_path / "store",
                fingerprints={7: b"a" * 16, 8: b"b" * 16})
    ids = np.array([8, 9, 7], np.int64)
    prints = np.frombuffer(b"b" * 16 + b"b" * 16 + b"z" * 15 + b"a", "V16")
    assert ListingStore(tmp_path / "store").unchanged(ids, prints).tolist() == [True, False, False]


@pytest.mark.parametrize("key", list(FORMATS))
def test_unchanged_listings_around_changed_ones_are_copied_with_their_right_offsets(key, tmp_path):
    # Runs of unchanged listings (7-8 and 11-12, around 9 that changed and 10 that left) are copied in
    # one piece each, in whatever order the reused vehicles come.
    from jobs.feeds.templates import ListingStore, build_store, write_feed

    night1 = [row(id=n, entry_number=str(2000 + n), make=f"Marque {n} & Cie") for n in (7, 8, 9, 10, 11, 12)]
    night2 = [r for r in night1 if r["id"] != 10]
    night2[2] = row(id=9, entry_number="2009", make="Marque 9 & Cie", sale_price_ttc=Decimal("8990"))
    fmt = get_format(key)
    build_store(fmt, night1, tmp_path / "night1", context=b"ctx",
                fingerprints={r["id"]: bytes([r["id"]]) * 16 for r in night1})
    build_store(fmt, [night2[2]], tmp_path / "night2", context=b"ctx", previous=ListingStore(tmp_path / "night1"),
                reused=[12, 8, 7, 11], fingerprints={9: b"x" * 16})
    build_store(fmt, night2, tmp_path / "whole")
    ids = [7, 8, 9, 11, 12]

    def feed(name):
        out = io.BytesIO()
        write_feed(fmt, FakeMedium(), ListingStore(tmp_path / name), [("bm11c1", ids, None)], out)
        return out.getvalue()
    assert feed("night2") == feed("whole") == write(key, night2)[1]
    assert ListingStore(tmp_path / "night2").fingerprint_of() == {
        7: bytes([7]) * 16, 8: bytes([8]) * 16, 9: b"x" * 16, 11: bytes([11]) * 16, 12: bytes([12]) * 16}


def test_a_damaged_store_is_refused_not_read(tmp_path):
    from jobs.feeds.templates import ListingStore, StoreError, build_store

    build_store(get_format("generic_csv"), [row()], tmp_path / "store")
    data = (tmp_path / "store").read_bytes()
    (tmp_path / "store").write_bytes(data[:-5])     # cut short, as by a full disk
    with pytest.raises(StoreError):
        ListingStore(tmp_path / "store")


@pytest.mark.parametrize("key", list(FORMATS))
def test_stores_built_night_after_night_on_a_base_give_the_bytes_of_stores_rendered_whole(key, tmp_path):
    # Night 2 keeps its unchanged listings in night 1's store (its base) and holds only the one rendered;
    # night 3 keeps the same base, copies night 2's own listing still current and renders another;
    # night 4 is written whole again. Every night's feed is the one a store rendered whole gives.
    import numpy as np

    from jobs.feeds.templates import ListingStore, base_path, build_store, write_feed

    fmt = get_format(key)
    nights = [[row(id=n, entry_number=str(2000 + n), make=f"Marque {n} & Cie") for n in range(7, 17)]]
    changes = {2: (9, "8990"), 3: (12, "7490"), 4: (7, "6990")}
    for night in (2, 3, 4):
        vehicle, price = changes[night]
        nights.append([row(id=r["id"], entry_number=r["entry_number"], make=r["make"], sale_price_ttc=Decimal(price))
                       if r["id"] == vehicle else r for r in nights[-1]])
    prints = [{r["id"]: fingerprint(r) for r in rows} for rows in nights]
    build_store(fmt, nights[0], tmp_path / "night1", context=b"ctx", fingerprints=prints[0])
    for night in (2, 3, 4):
        previous = ListingStore(tmp_path / f"night{night - 1}")
        # What the send keeps (jobs.send_plan): the listings whose row has the same fingerprint.
        current = np.fromiter(prints[night - 1], np.int64)
        kept = previous.unchanged(current, np.frombuffer(b"".join(prints[night - 1].values()), "V16"))
        reused = current[kept]
        changed = [r for r in nights[night - 1] if r["id"] not in set(reused.tolist())]
        build_store(fmt, changed, tmp_path / f"night{night}", context=b"ctx", fingerprints=prints[night - 1],
                    previous=previous, reused=reused, layered=night != 4)
        build_store(fmt, nights[night - 1], tmp_path / f"whole{night}")
        ids = [r["id"] for r in nights[night - 1]]

        def feed(name):
            out = io.BytesIO()
            write_feed(fmt, FakeMedium(), ListingStore(tmp_path / name), [("bm11c1", ids, None)], out)
            return out.getvalue()
        assert feed(f"night{night}") == feed(f"whole{night}") == write(key, nights[night - 1])[1]
        assert ListingStore(tmp_path / f"night{night}").fingerprint_of() == prints[night - 1]
    assert base_path(tmp_path / "night3").samefile(tmp_path / "night1")   # the same base, no copy
    own = {n: (tmp_path / f"night{n}").stat().st_size for n in (1, 2, 3, 4)}
    assert own[2] < own[3] < own[1] / 3 and own[4] == (tmp_path / "whole4").stat().st_size
    assert not base_path(tmp_path / "night4").exists()


def fingerprint(r) -> bytes:
    return hashlib.md5(repr(sorted(r.items())).encode()).digest()


def test_a_store_cannot_keep_a_listing_the_previous_store_does_not_have(tmp_path):
    # A vehicle said unchanged but absent from the previous store would otherwise be copied from
    # whatever listing sits at the end of it.
    from jobs.feeds.templates import ListingStore, build_store

    fmt = get_format("generic_csv")
    rows = [row(id=n, entry_number=str(2000 + n)) for n in range(7, 10)]
    build_store(fmt, rows, tmp_path / "night1")
    with pytest.raises(KeyError):
        build_store(fmt, [], tmp_path / "night2", previous=ListingStore(tmp_path / "night1"), reused=[7, 42],
                    layered=False)
    assert not (tmp_path / "night2").exists()


def test_a_store_whose_base_was_replaced_or_lost_is_refused(tmp_path):
    from jobs.feeds.templates import ListingStore, StoreError, base_path, build_store

    fmt = get_format("generic_csv")
    rows = [row(id=n, entry_number=str(2000 + n)) for n in range(7, 17)]
    build_store(fmt, rows, tmp_path / "night1")
    build_store(fmt, rows[:1], tmp_path / "night2", previous=ListingStore(tmp_path / "night1"),
                reused=[r["id"] for r in rows[1:]])
    assert base_path(tmp_path / "night2").exists()   # one listing of ten: built on its base by default
    build_store(fmt, rows, tmp_path / "other")
    base_path(tmp_path / "night2").unlink()
    os.link(tmp_path / "other", base_path(tmp_path / "night2"))
    with pytest.raises(StoreError):
        ListingStore(tmp_path / "night2")
    base_path(tmp_path / "night2").unlink()
    with pytest.raises(StoreError):
        ListingStore(tmp_path / "night2")


@pytest.mark.parametrize("key", ["generic_xml", "mobile_de_csv"])
def test_listings_stored_in_the_feeds_order_are_copied_a_run_at_a_time_and_any_order_gives_the_formats_bytes(
        key, tmp_path, monkeypatch):
    from jobs.feeds import templates
    from jobs.feeds.templates import ListingStore, base_path, build_store, write_feed

    fmt = get_format(key)
    rows = [row(id=n, entry_number=str(2000 + n), concession_id=1 + n % 2) for n in range(7, 19)]
    # The send stores each concession's vehicles together, in its lists' usual order (here: id descending).
    order = {r["id"]: (r["concession_id"], -r["id"]) for r in rows}
    by_order = sorted(rows, key=lambda r: order[r["id"]])
    build_store(fmt, rows, tmp_path / "night1", context=b"ctx", fingerprints={r["id"]: fingerprint(r) for r in rows},
                order=order)

    def feed(name, listed):
        out = io.BytesIO()
        write_feed(fmt, FakeMedium(), ListingStore(tmp_path / name), [("bm11c1", [r["id"] for r in listed], None)], out)
        return out.getvalue()

    def runs(name, listed):
        return len(list(ListingStore(tmp_path / name).runs([r["id"] for r in listed])))

    assert runs("night1", by_order) == 1
    assert runs("night1", by_order[:6]) == 1 and runs("night1", by_order[::3]) == 4   # one per stretch
    for listed in (by_order, by_order[::-1], by_order[1::3], rows):
        assert feed("night1", listed) == write(key, listed)[1]
    # Two lists of neighbours are two runs (each list gets its own customer code), found at once.
    ids = [r["id"] for r in by_order]
    assert [len(list(r)) for r in ListingStore(tmp_path / "night1").list_runs([ids[:5], ids[5:], [], ids[::3]])] \
        == [1, 1, 0, 4]
    two_lists = io.BytesIO()
    write_feed(fmt, FakeMedium(), ListingStore(tmp_path / "night1"),
               [("bm11c1", ids[:5], None), ("bm11c2", ids[5:], None)], two_lists)
    assert two_lists.getvalue() == write(key, by_order[:5] + [dict(r, customer_code="bm11c2") for r in by_order[5:]])[1]
    # The next night, the changed listing is the store's own, its neighbours stay in the base.
    changed = row(id=12, entry_number="2012", concession_id=1, sale_price_ttc=Decimal("990.00"))
    night2 = [changed if r["id"] == 12 else r for r in rows]
    build_store(fmt, [changed], tmp_path / "night2", context=b"ctx", fingerprints={12: fingerprint(changed)},
                previous=ListingStore(tmp_path / "night1"), reused=[r["id"] for r in rows if r["id"] != 12],
                order=order)
    assert base_path(tmp_path / "night2").exists()
    by_order = sorted(night2, key=lambda r: order[r["id"]])
    assert runs("night2", by_order) == 3
    for listed in (by_order, by_order[::-1], night2):
        assert feed("night2", listed) == write(key, listed)[1]
    # Night 3 is written whole: vehicle 9's score moved it to the front of its concession (its row, so
    # its listing, did not change), vehicle 15 changed. The store follows the new order: a feed in that
    # order is still one run, and each listing is its row's, copied from night 2's base or own part.
    changed = row(id=15, entry_number="2015", concession_id=2, sale_price_ttc=Decimal("1990.00"))
    night3 = [changed if r["id"] == 15 else r for r in night2]
    order3 = {**order, 9: (2, -100)}
    prints3 = {r["id"]: fingerprint(r) for r in night3}
    build_store(fmt, [changed], tmp_path / "night3", context=b"ctx", fingerprints={15: prints3[15]},
                previous=ListingStore(tmp_path / "night2"), reused=[r["id"] for r in night3 if r["id"] != 15],
                layered=False, order=order3)
    assert not base_path(tmp_path / "night3").exists()
    by_order = sorted(night3, key=lambda r: order3[r["id"]])
    assert by_order[6]["id"] == 9 and runs("night3", by_order) == 1
    for listed in (by_order, by_order[::-1], night3):
        assert feed("night3", listed) == write(key, listed)[1]
    assert ListingStore(tmp_path / "night3").fingerprint_of() == {
        **{r["id"]: fingerprint(r) for r in rows if r["id"] not in (12, 15)}, 12: fingerprint(night2[5]),
        15: prints3[15]}
    # Byte for byte the store rendered whole in that order (but for its own random token).
    build_store(fmt, night3, tmp_path / "whole3", context=b"ctx", fingerprints=prints3, order=order3)
    night3_bytes, whole3_bytes = ((tmp_path / name).read_bytes() for name in ("night3", "whole3"))
    assert night3_bytes[:-56] == whole3_bytes[:-56] and night3_bytes[-40:] == whole3_bytes[-40:]
    # The same when every run is written straight from the previous store (as a long run is).
    monkeypatch.setattr(templates, "_LONG_RUN", 1)
    build_store(fmt, [changed], tmp_path / "night3b", context=b"ctx", fingerprints={15: prints3[15]},
                previous=ListingStore(tmp_path / "night2"), reused=[r["id"] for r in night3 if r["id"] != 15],
                layered=False, order=order3)
    assert (tmp_path / "night3b").read_bytes()[:-56] == whole3_bytes[:-56]
