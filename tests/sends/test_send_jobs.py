"""The send without Redis (the same job code runs in-process): feeds, report, faults, shrink guard."""
from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import xxhash
from sqlalchemy import func, select

from backoffice.extensions import db
from jobs.feeds.validate import parse_feed, validate_feed
from jobs.send import confirm_held_medium, send_medium_job, start_send
from models.publication_inputs import compute_decisions
from models.scope import Scope
from models.send import DONE, FAILED, HELD, PublishedFeed, SendMedium, SendRun, report_row_count, sent_listings

from .report import outcomes


def feed_file(folder, medium, ext):
    return folder / medium.code / f"{medium.code}.{ext}"


def test_a_send_writes_each_feed_and_a_report_matching_the_engine(network, factories, publication, feed_folder):
    a = factories.vehicle(network.gap, entry_number="2029", photo_count=2)
    b = factories.vehicle(network.rennes, entry_number="3001", photo_count=1)
    c = factories.vehicle(network.gap, entry_number="2030", gearbox=None)
    xml = publication.medium("EDEN", "generic_xml", [network.nord, network.sud], mandatory=["gearbox"])
    google = publication.medium("GOOG", "google_vehicle_listings", [network.nord, network.sud])
    expected = {(d.vehicle_id, d.list_id): (d.outcome, list(d.reasons)) for d in compute_decisions(
        db.session, medium_ids=[xml.id])}

    run_id = start_send(kind="manual")

    run = db.session.get(SendRun, run_id)
    assert run.status == DONE and run.finished_at is not None
    assert outcomes(run_id, xml.id) == expected
    listings = parse_feed("generic_xml", feed_file(feed_folder, xml, "xml").read_bytes())
    assert sorted(x["reference"] for x in listings) == ["2029", "3001"]
    assert outcomes(run_id, xml.id)[(c.id, publication.lists[(network.nord.id, "PE05")].id)] == (
        "filtered_media", ["véhicule sans type de boîte de renseigné"])
    google_bytes = feed_file(feed_folder, google, "tsv").read_bytes()
    assert validate_feed("google_vehicle_listings", google_bytes) == []
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id,
                                                     SendMedium.medium_id == xml.id)).scalar_one()
    assert (sm.sent_count, sm.filtered_count) == (2, 1)
    assert sm.list_codes == "bm11c1nord, bm11c1sud"
    feed = db.session.execute(select(PublishedFeed).where(PublishedFeed.send_medium_id == sm.id)).scalar_one()
    published = feed_file(feed_folder, xml, "xml").read_bytes()
    assert feed.checksum == "xxh3-128:" + xxhash.xxh3_128(published).hexdigest()
    assert feed.size_bytes == len(published)
    assert a.id and b.id


@pytest.fixture
def rendered_listings(monkeypatch):
    """The entry numbers whose generic CSV listing is rendered (not copied from the previous store)."""
    import dataclasses

    from jobs import feeds

    fmt, seen = feeds.get_format("generic_csv"), []

    def listing(row):
        seen.append(row["entry_number"])
        return fmt.listing(row)
    monkeypatch.setitem(feeds.FORMATS, "generic_csv", dataclasses.replace(fmt, listing=listing))
    return seen


def test_the_next_send_renders_again_only_the_listings_whose_vehicle_changed(network, factories, publication,
                                                                              feed_folder, rendered_listings):
    from decimal import Decimal

    changed = factories.vehicle(network.gap, entry_number="2029", photo_count=1)
    factories.vehicle(network.gap, entry_number="2030", photo_count=1)
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    assert sorted(rendered_listings) == ["2029", "2030"]
    first = {x["reference"]: x["price"] for x in parse_feed("generic_csv", feed_file(feed_folder, medium,
                                                                                      "csv").read_bytes())}
    rendered_listings.clear()
    changed.sale_price_ttc = Decimal("8990.00")
    db.session.commit()

    start_send()

    assert rendered_listings == ["2029"]
    second = {x["reference"]: x["price"] for x in parse_feed("generic_csv", feed_file(feed_folder, medium,
                                                                                       "csv").read_bytes())}
    assert second == {**first, "2029": "8990.00"} and first["2029"] != "8990.00"


def test_night_after_night_the_store_keeps_its_unchanged_listings_in_its_base(network, factories, publication,
                                                                              feed_folder, rendered_listings):
    """A store built on the previous one holds only what was rendered since; the next run's store is
    built on the same base (kept beside it in the cache), and every feed is still complete."""
    from decimal import Decimal

    from jobs.feeds.templates import base_path

    cars = [factories.vehicle(network.gap, entry_number=str(2020 + n), photo_count=1) for n in range(8)]
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    cache = feed_folder / ".listings" / "store-generic_csv"

    def prices():
        return {x["reference"]: x["price"] for x in parse_feed("generic_csv", feed_file(feed_folder, medium,
                                                                                         "csv").read_bytes())}
    start_send()
    first = prices()
    for night, car in ((2, cars[1]), (3, cars[5])):
        rendered_listings.clear()
        car.sale_price_ttc = Decimal(f"{night}990.00")
        db.session.commit()

        start_send()

        assert rendered_listings == [car.entry_number]
        first[car.entry_number] = f"{night}990.00"
        assert prices() == first
        assert base_path(cache).exists() and cache.stat().st_size < base_path(cache).stat().st_size / 2
    assert not list((feed_folder / ".retired").glob("*"))


def test_a_medium_in_the_default_ordering_finds_each_lists_listings_one_after_the_other_in_the_store(
        network, factories, publication, feed_folder):
    """Stores keep each concession's vehicles together, best score first: the order of a list on a
    medium ordered by score (the default), so its feed copies them a run at a time."""
    from jobs.feeds.templates import ListingStore

    ids = {}
    for n, score in enumerate((4, 9, None, 7, 9, 2)):
        for site, entry in ((network.gap, 2040 + n), (network.rennes, 3040 + n)):
            ids[str(entry)] = factories.vehicle(site, entry_number=str(entry), photo_count=1, score=score).id
    medium = publication.medium("EDEN", "generic_csv", [network.nord, network.sud])

    start_send()

    listed = [ids[x["reference"]] for x in parse_feed("generic_csv", feed_file(feed_folder, medium,
                                                                                "csv").read_bytes())]
    store = ListingStore(feed_folder / ".listings" / "store-generic_csv")
    # Each list is one stretch of the store; here the two lists follow each other there too.
    assert len(listed) == 12 and len(list(store.runs(listed))) == 1


def test_a_new_public_address_or_a_damaged_store_renders_every_listing_again(app, network, factories, publication,
                                                                          feed_folder, rendered_listings,
                                                                          monkeypatch):
    factories.vehicle(network.gap, entry_number="2029", photo_count=1)
    factories.vehicle(network.gap, entry_number="2030", photo_count=1)
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    rendered_listings.clear()
    monkeypatch.setitem(app.config, "FEED_PUBLIC_BASE_URL", "https://occasions.example.com")

    start_send()

    assert sorted(rendered_listings) == ["2029", "2030"]
    listings = parse_feed("generic_csv", feed_file(feed_folder, medium, "csv").read_bytes())
    assert all(x["url"].startswith("https://occasions.example.com/vo/") for x in listings)
    rendered_listings.clear()
    kept = feed_folder / ".listings" / "store-generic_csv"
    kept.write_bytes(kept.read_bytes()[:-3])      # cut short

    run_id = start_send()

    assert db.session.get(SendRun, run_id).status == DONE
    assert sorted(rendered_listings) == ["2029", "2030"]
    assert parse_feed("generic_csv", feed_file(feed_folder, medium, "csv").read_bytes()) == listings


def test_a_vehicle_a_portal_would_reject_is_filtered_with_the_reason_not_sent(network, factories, publication,
                                                                                feed_folder):
    ok = factories.vehicle(network.gap, entry_number="1", photo_count=3)
    no_photo = factories.vehicle(network.gap, entry_number="2", photo_count=0)
    no_vin = factories.vehicle(network.gap, entry_number="3", photo_count=2, vin=None)
    # The medium's own mandatory fields say nothing: the Google format's requirements apply anyway.
    google = publication.medium("GOOG", "google_vehicle_listings", [network.nord], mandatory=[])
    run_id = start_send()
    got = {v: o for (v, _l), o in outcomes(run_id, google.id).items()}
    assert got[ok.id] == ("sent", [])
    assert got[no_photo.id] == ("filtered_media", ["véhicule sans photo"])
    assert got[no_vin.id] == ("filtered_media", ["véhicule sans numéro de série (VIN) de renseigné"])
    data = feed_file(feed_folder, google, "tsv").read_bytes()
    assert [x["vin"] for x in parse_feed("google_vehicle_listings", data)] == [ok.vin]
    assert validate_feed("google_vehicle_listings", data) == []


def test_running_a_medium_again_for_the_same_run_publishes_nothing_twice(network, factories, publication,
                                                                         feed_folder):
    factories.vehicle(network.gap, photo_count=1)
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    run_id = start_send()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id)).scalar_one()
    path = feed_file(feed_folder, medium, "csv")
    mtime = path.stat().st_mtime_ns
    assert send_medium_job(sm.id) == DONE
    assert path.stat().st_mtime_ns == mtime
    assert db.session.execute(select(func.count()).select_from(PublishedFeed)).scalar_one() == 1


def test_an_attempt_resuming_after_a_newer_one_took_over_publishes_nothing(network, factories, publication,
                                                                            feed_folder, monkeypatch):
    """A worker stalled mid-medium past its heartbeat (its job taken up again by another worker) resumes:
    the newer attempt owns the medium, so the stalled one neither publishes nor writes the report."""
    import jobs.send
    from models.send import NotSentListings, SentListings

    car = factories.vehicle(network.gap, photo_count=1)
    factories.vehicle(network.gap, photo_count=0)        # a filtered one: a not-sent row would be written
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    path = feed_file(feed_folder, medium, "csv")
    before = path.read_bytes()
    car.mileage = 99999
    db.session.commit()

    write_feed = jobs.send.write_feed

    def stalled_while_another_worker_takes_over(*args, **kwargs):
        count = write_feed(*args, **kwargs)
        db.session.execute(SendMedium.__table__.update().values(attempts=SendMedium.attempts + 1))
        db.session.commit()
        return count
    monkeypatch.setattr(jobs.send, "write_feed", stalled_while_another_worker_takes_over)
    run_id = start_send()

    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id)).scalar_one()
    assert (sm.status, sm.attempts) == ("running", 2)    # left to the newer attempt
    assert path.read_bytes() == before
    assert not db.session.execute(select(PublishedFeed).where(PublishedFeed.send_medium_id == sm.id)).first()
    for table in (SentListings, NotSentListings):
        assert not db.session.execute(select(table).where(table.send_medium_id == sm.id)).first()
    assert not list((feed_folder / ".staging").rglob("*.tmp"))


def test_a_full_disk_keeps_the_previous_feed_and_reports_the_failure(network, factories, publication, feed_folder,
                                                                     monkeypatch):
    factories.vehicle(network.gap, photo_count=1)
    factories.vehicle(network.gap, photo_count=1)
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    first = start_send()
    path = feed_file(feed_folder, medium, "csv")
    before = path.read_bytes()
    monkeypatch.setenv("SEND_FAULTS", "disk_full=EDEN")
    second = start_send()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == second)).scalar_one()
    assert sm.status == FAILED and "Disque plein" in sm.message
    assert sm.attempts == 3                       # retried, then reported failed
    assert path.read_bytes() == before            # the portal's feed is intact
    assert not list((feed_folder / ".staging").rglob("*.tmp"))
    assert db.session.get(SendRun, first).status == DONE   # the previous report is intact
    assert len(outcomes(first, medium.id)) == 2
    assert db.session.get(SendRun, second).status == FAILED


def test_a_failure_after_the_feed_is_written_leaves_no_staged_file_and_the_previous_feed(network, factories,
                                                                                       publication, feed_folder,
                                                                                       monkeypatch):
    import jobs.send

    factories.vehicle(network.gap, photo_count=1)
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    path = feed_file(feed_folder, medium, "csv")
    before = path.read_bytes()

    def database_gone(*args, **kwargs):
        raise RuntimeError("connexion à la base perdue")
    monkeypatch.setattr(jobs.send, "write_report_rows", database_gone)
    second = start_send()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == second)).scalar_one()
    assert sm.status == FAILED and "connexion à la base perdue" in sm.message and sm.attempts == 3
    assert path.read_bytes() == before
    assert not list((feed_folder / ".staging").rglob("*.tmp"))     # three attempts, nothing left behind
    assert not list((feed_folder / ".staging").rglob("store-*"))    # the run's shared files are gone too


def test_the_end_of_a_run_sweeps_what_killed_attempts_left_but_keeps_a_held_feed(network, factories, publication,
                                                                                  feed_folder):
    from jobs.send_plan import discard, run_folder

    factories.vehicle(network.gap, photo_count=1)
    publication.medium("EDEN", "generic_csv", [network.nord])
    run_id = start_send()
    folder = run_folder(run_id)
    stray, held = folder / "EDEN.csv.4242.tmp", folder / "EDEN.csv.4343.tmp"   # a kill -9'd attempt's, a held one
    stray.write_bytes(b"partial")
    held.write_bytes(b"held feed")
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id)).scalar_one()
    sm.pending_path = str(held)
    db.session.commit()
    discard(run_id)
    assert not stray.exists() and held.read_bytes() == b"held feed"


def test_the_feeds_a_run_replaces_are_freed_once_every_medium_is_over(network, factories, publication,
                                                                       feed_folder, monkeypatch):
    """Freeing gigabytes while the feeds are written slows the writes: the run keeps what it replaces
    (feeds and listing stores) and frees it when its last medium is over."""
    import jobs.send
    from jobs.send_plan import retired_folder

    car = factories.vehicle(network.gap, photo_count=1)
    eden = publication.medium("EDEN", "generic_csv", [network.nord])
    goog = publication.medium("GOOG", "google_vehicle_listings", [network.nord])
    start_send()
    before = feed_file(feed_folder, eden, "csv").read_bytes()
    car.mileage = 99999
    db.session.commit()
    monkeypatch.setattr(jobs.send, "enqueue_pending_media", lambda run_id: None)   # media run by hand below
    run_id = start_send()
    media = {sm.medium_id: sm.id for sm in db.session.execute(
        select(SendMedium).where(SendMedium.run_id == run_id)).scalars()}

    assert send_medium_job(media[eden.id]) == DONE
    kept = {p.name.split(".")[0]: p for p in retired_folder(run_id).iterdir()}
    assert kept["EDEN"].read_bytes() == before != feed_file(feed_folder, eden, "csv").read_bytes()
    assert "store-generic_csv" in kept   # the previous night's store, replaced by this run's
    assert db.session.get(SendRun, run_id).status == "running"

    assert send_medium_job(media[goog.id]) == DONE
    assert db.session.get(SendRun, run_id).status == DONE
    assert not retired_folder(run_id).exists()


def test_what_a_crashed_run_left_to_free_goes_with_the_next_run_but_not_a_running_runs(network, factories,
                                                                                        publication, feed_folder):
    from jobs.send_plan import remove_retired, retired_folder

    factories.vehicle(network.gap, photo_count=1)
    publication.medium("EDEN", "generic_csv", [network.nord])
    ended = start_send()
    running = SendRun(run_key="manual-running", kind="manual", decision_date=db.session.get(SendRun, ended)
                      .decision_date, media_total=1, status="running")
    db.session.add(running)
    db.session.commit()
    for run_id in (ended, running.id):   # the worker that ended ``ended`` died before freeing its files
        retired_folder(run_id).mkdir(parents=True)
        (retired_folder(run_id) / "EDEN.csv.0001").write_bytes(b"old feed")

    start_send()

    assert not retired_folder(ended).exists()
    assert (retired_folder(running.id) / "EDEN.csv.0001").read_bytes() == b"old feed"
    remove_retired(running.id)   # as its last medium ends
    assert not retired_folder(running.id).exists()


class Endpoint:
    """A local HTTP endpoint recording what it receives; ``fail`` answers 503."""

    def __init__(self):
        self.received, self.checksums, self.fail = [], [], False
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if endpoint.fail:
                    self.send_response(503)
                else:
                    endpoint.received.append((self.headers["Idempotency-Key"], body))
                    endpoint.checksums.append(self.headers["X-Feed-Checksum"])
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/feed"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint():
    e = Endpoint()
    yield e
    e.server.shutdown()


def test_http_delivery_posts_the_feed_with_an_idempotency_key(network, factories, publication, feed_folder,
                                                               endpoint):
    factories.vehicle(network.gap, photo_count=1, description="Bon état", body_category="suv")
    medium = publication.medium("FB", "meta_catalog_xml", [network.nord], delivery_kind="http",
                                delivery_target=endpoint.url)
    run_id = start_send()
    run = db.session.get(SendRun, run_id)
    assert run.status == DONE
    [(key, body)] = endpoint.received
    assert key == f"{run.run_key}:FB"
    assert endpoint.checksums == [f"sha256={hashlib.sha256(body).hexdigest()}"]   # a digest the portal can check
    assert validate_feed("meta_catalog_xml", body) == []
    assert medium.id


def test_an_endpoint_down_is_retried_then_reported_failed_and_nothing_is_lost(network, factories, publication,
                                                                              feed_folder, endpoint):
    factories.vehicle(network.gap, photo_count=1)
    medium = publication.medium("API", "generic_xml", [network.nord], delivery_kind="http",
                                delivery_target=endpoint.url)
    first = start_send()
    assert len(endpoint.received) == 1
    endpoint.fail = True
    second = start_send()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == second)).scalar_one()
    assert sm.status == FAILED and "HTTP 503" in sm.message and sm.attempts == 3
    assert len(endpoint.received) == 1                      # the portal keeps the first feed only
    assert db.session.execute(select(func.count()).select_from(PublishedFeed)).scalar_one() == 1
    assert len(outcomes(second, medium.id)) == 1            # the report says what would have gone
    assert db.session.get(SendRun, first).status == DONE


def test_the_shrink_guard_holds_a_feed_losing_half_its_listings_until_confirmed(network, factories, publication,
                                                                                feed_folder):
    cars = [factories.vehicle(network.gap, photo_count=1) for _ in range(4)]
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    path = feed_file(feed_folder, medium, "csv")
    before = path.read_bytes()
    for car in cars[:3]:
        car.status = "VND"
    db.session.commit()
    second = start_send()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == second)).scalar_one()
    assert sm.status == HELD and "3 annonces sur 4" in sm.message
    assert db.session.get(SendRun, second).status == HELD
    assert path.read_bytes() == before                      # not published yet
    assert confirm_held_medium(sm.id, network.admin.id) is True
    assert len(parse_feed("generic_csv", path.read_bytes())) == 1
    db.session.expire_all()
    assert db.session.get(SendMedium, sm.id).status == DONE
    assert db.session.get(SendRun, second).status == DONE
    assert confirm_held_medium(sm.id, network.admin.id) is False   # nothing left to confirm


def test_an_empty_feed_is_held(network, factories, publication, feed_folder):
    car = factories.vehicle(network.gap, photo_count=1)
    publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    car.status = "VND"
    db.session.commit()
    second = start_send()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == second)).scalar_one()
    assert sm.status == HELD and "vide" in sm.message


def test_the_nightly_send_runs_once_per_date(network, factories, publication, feed_folder):
    import datetime as dt
    factories.vehicle(network.gap)
    publication.medium("EDEN", "generic_csv", [network.nord])
    day = dt.date(2026, 11, 22)
    assert start_send(kind="nightly", today=day) == start_send(kind="nightly", today=day)
    assert db.session.execute(select(func.count()).select_from(SendRun)).scalar_one() == 1
    assert db.session.execute(select(SendRun.run_key)).scalar_one() == "nightly-2026-11-22"


def test_the_contact_of_a_listing_is_the_site_manager_without_a_contact(network, factories, publication,
                                                                         feed_folder):
    network.gap.manager_name, network.gap.manager_phone = "Responsable Gap", "04 92 11 22 33"
    db.session.commit()
    factories.vehicle(network.gap)
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    run_id = start_send()
    [listing] = [x for rows in sent_listings(db.session, Scope.network(), run_id=run_id).values() for x in rows]
    assert (listing.contact_name, listing.contact_phone) == ("Responsable Gap", "04 92 11 22 33")
    listing = parse_feed("generic_csv", feed_file(feed_folder, medium, "csv").read_bytes())[0]
    assert listing["contact_phone"] == "04 92 11 22 33"
    assert json.dumps(listing)


def test_a_concession_contact_and_a_medium_listing_base_reach_only_their_listings(network, factories, publication,
                                                                                  feed_folder):
    # Listings with the site's manager and our public link are copied whole from the run's store; a
    # concession contact or a medium's own listing links are filled per listing: both must be right.
    from models.publication import Contact

    network.gap.manager_name, network.gap.manager_phone = "Responsable Gap", "04 92 11 22 33"
    network.rennes.manager_name, network.rennes.manager_phone = "Responsable Rennes", "02 99 00 00 00"
    factories.vehicle(network.gap, entry_number="2029")
    factories.vehicle(network.rennes, entry_number="3001")
    plain = publication.medium("EDEN", "generic_xml", [network.nord, network.sud])
    portal = publication.medium("PORT", "generic_xml", [network.nord, network.sud])
    portal.base_url = "https://portail.example/annonce/"
    db.session.add(Contact(concession_id=network.nord.id, name="Service VO Nord", phone="03 20 00 00 00"))
    db.session.commit()

    start_send()

    def listings(medium):
        return {x["reference"]: x for x in parse_feed("generic_xml", feed_file(feed_folder, medium, "xml").read_bytes())}
    for medium in (plain, portal):
        got = listings(medium)
        assert (got["2029"]["contact_name"], got["2029"]["contact_phone"]) == ("Service VO Nord", "03 20 00 00 00")
        assert (got["3001"]["contact_name"], got["3001"]["contact_phone"]) == ("Responsable Rennes", "02 99 00 00 00")
        assert got["2029"]["customer_code"] == "bm11c1nord" and got["3001"]["customer_code"] == "bm11c1sud"
    assert listings(portal)["3001"]["url"] == f"https://portail.example/annonce/{network.sud.code}-3001"
    assert listings(plain)["3001"]["url"].startswith("https://") and "/vo/" in listings(plain)["3001"]["url"]


def test_old_vehicle_lists_are_purged_but_the_history_figures_stay(network, factories, publication, feed_folder):
    import datetime as dt

    from jobs.send import purge_old_reports

    factories.vehicle(network.gap)
    publication.medium("EDEN", "generic_csv", [network.nord])
    old, recent = start_send(), start_send()
    db.session.get(SendRun, old).started_at -= dt.timedelta(days=90)
    db.session.commit()
    assert purge_old_reports() == 1
    assert outcomes(old, db.session.execute(select(SendMedium.medium_id)).scalars().first()) == {}
    assert report_row_count(db.session, recent) == 1
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == old)).scalar_one()
    assert sm.sent_count == 1                                   # the bilan's figures are kept


def test_a_held_feed_is_not_published_over_a_newer_send(network, factories, publication, feed_folder):
    cars = [factories.vehicle(network.gap, photo_count=1) for _ in range(4)]
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    for car in cars[:3]:
        car.status = "VND"
    db.session.commit()
    held_run = start_send()
    held = db.session.execute(select(SendMedium).where(SendMedium.run_id == held_run)).scalar_one()
    assert held.status == HELD
    for car in cars[:3]:
        car.status = "ST"
    db.session.commit()
    newer = start_send()                                  # back to 4 listings: published
    assert db.session.get(SendRun, newer).status == DONE
    path = feed_file(feed_folder, medium, "csv")
    current = path.read_bytes()
    assert confirm_held_medium(held.id, network.admin.id) is False
    assert path.read_bytes() == current                   # the newer feed stays on the portal
    db.session.expire_all()
    assert db.session.get(SendMedium, held.id).status == "skipped"
    assert db.session.get(SendRun, held_run).status == DONE


def test_a_send_leaves_the_garbage_collector_on_even_when_its_engine_fails(network, factories, publication,
                                                                          feed_folder, monkeypatch, request):
    """The run's shared work pauses automatic garbage collection; a worker that kept it off would
    pile up every later job's garbage cycles."""
    import gc

    from models import send_decision

    request.addfinalizer(gc.enable)   # whatever happens here, the next tests collect their garbage

    factories.vehicle(network.gap, entry_number="2029", photo_count=1)
    medium = publication.medium("EDEN", "generic_csv", [network.nord])
    start_send()
    assert gc.isenabled()

    def engine_down(inputs):
        raise RuntimeError("engine down")
    monkeypatch.setattr(send_decision, "decide", engine_down)
    run_id = start_send()
    sm = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id,
                                                     SendMedium.medium_id == medium.id)).scalar_one()
    assert sm.status == FAILED and "engine down" in sm.message
    assert gc.isenabled()


def test_a_job_rendering_a_store_after_another_reuses_the_rows_it_loaded(network, factories, publication,
                                                                       feed_folder, monkeypatch):
    """The job that decided a run then renders a store the other worker has not reached: it reads the
    changed rows the other job saved instead of fetching them again, and its store is complete."""
    from jobs import send_plan
    from jobs.feeds import get_format
    from jobs.feeds.templates import ListingStore

    car = factories.vehicle(network.gap, entry_number="2029", photo_count=2)
    publication.medium("EDEN", "generic_csv", [network.nord])
    publication.medium("ZOOM", "generic_xml", [network.nord])
    run = SendRun(run_key="rows-shared", kind="manual", decision_date=db.func.current_date(), media_total=2,
                  status="running")
    db.session.add(run)
    db.session.commit()
    folder = send_plan.run_folder(run.id)
    send_plan._render_store(get_format("generic_csv"), send_plan._Rows(run, folder), folder / "store-generic_csv")
    assert (folder / "rows.pickle").exists()

    def fetch_again(self, vehicle_ids):
        raise AssertionError("the rows were fetched again")
    monkeypatch.setattr(send_plan._Rows, "_fetch", fetch_again)
    send_plan._render_store(get_format("generic_xml"), send_plan._Rows(run, folder), folder / "store-generic_xml")
    store = ListingStore(folder / "store-generic_xml")
    assert store.locate([car.id]).tolist() == [0]
    listing = bytes(store.views()[0][store.wholes_at[0]:store.ends_at[0]])
    assert b"<reference>2029</reference>" in listing
