"""The send (envoi) as background jobs, §6.5.

``start_send`` creates one ``SendRun`` and one ``SendMedium`` per active medium, then enqueues one
job per medium with a deterministic id (``send-<run>-<medium>``) so several workers share a large
send. Each ``send_medium_job``:

1. claims its row (a finished medium is never redone: retries and duplicates are no-ops);
2. takes its share of the run's shared work (``jobs.send_plan``: one decide for every medium of the
   run, one listing store per format) and reads its own decisions;
3. writes the feed into a staging file (same file system as the target) from its format's listing
   store, with its checksum, and has it fsynced in the background;
4. records the report rows (sent listings per concession, every reason of the vehicles not sent);
5. applies the shrink guard: a feed losing more than half of the previous listings (or empty) is
   held until an admin confirms (``confirm_held_medium``);
6. marks the row "publishing" with the checksum, then publishes (atomic rename, or POST with an
   Idempotency-Key) and records the ``PublishedFeed`` (unique per run × medium).

A crash anywhere before 6 leaves the previous feed and report untouched and the job is retried
(RQ ``Retry`` with backoff). A crash during 6 is recovered by the retry: the checksum tells whether
the file already holds this run's feed, and the endpoint dedupes on the idempotency key, so a feed
is never published twice for the same run. The run is done when every medium is final.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import time
import uuid
from itertools import chain
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from flask import current_app
from sqlalchemy import delete, select, update

from backoffice.extensions import db
from models.clock import utcnow
from models.send import (DONE, FAILED, FILTERED_OUTCOMES, FINAL_MEDIUM_STATES, HELD, PENDING, PUBLISHING,
                         RUNNING, SKIPPED, NotSentListings, PublishedFeed, SendMedium, SendRun, SentListings,
                         run_status, shrink_hold_reason, write_report_rows)

from .delivery import FeedFile, holds_checksum, post_feed, publish_to_folder
from .feeds import get_format
from .feeds.templates import write_feed
from .queue import enqueue, get_queue
from .send_plan import discard, listing_store, medium_plan, prepare, remove_retired, retired_folder
from .worker import release_worker

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_RETRY_INTERVALS = (30, 120, 600)   # seconds between the attempts of a failed medium


# Starting a send ------------------------------------------------------------------------------------

def start_send(kind: str = "manual", user_id: int | None = None, today: dt.date | None = None,
               run_key: str | None = None, medium_ids: list[int] | None = None) -> int:
    """Create the run and its media rows, enqueue one job per medium; returns the run id.

    A nightly run is keyed by its date: asking twice the same night returns the same run.
    """
    from models.publication import Medium

    today = today or dt.datetime.now(PARIS).date()
    run_key = run_key or (f"nightly-{today.isoformat()}" if kind == "nightly"
                          else f"manual-{utcnow():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}")
    existing = db.session.execute(select(SendRun).where(SendRun.run_key == run_key)).scalar_one_or_none()
    if existing is not None:
        enqueue_pending_media(existing.id)
        return existing.id
    stmt = select(Medium).where(Medium.active.is_(True)).order_by(Medium.name)
    if medium_ids:
        stmt = stmt.where(Medium.id.in_(medium_ids))
    media = db.session.execute(stmt).scalars().all()
    run = SendRun(run_key=run_key, kind=kind, decision_date=today, requested_by_id=user_id,
                  media_total=len(media), status=RUNNING)
    db.session.add(run)
    db.session.flush()
    for m in media:
        db.session.add(SendMedium(run_id=run.id, medium_id=m.id, medium_name=m.name, medium_code=m.code,
                                  job_id=medium_job_id(run.run_key, m.id), status=PENDING))
    db.session.commit()
    run_id = run.id
    if not media:
        finalize_run(run_id)
    enqueue_pending_media(run_id)
    return run_id


DEFAULT_REPORT_RETENTION_DAYS = 62


def nightly_send() -> int:
    """The scheduled send (jobs.schedule): one run per night, in Europe/Paris dates."""
    purge_old_reports()
    return start_send(kind="nightly")


def purge_old_reports(days: int | None = None) -> int:
    """Delete the vehicle lists (``NotSentListings`` and ``SentListings`` rows) of bilans older than
    ``SEND_REPORT_RETENTION_DAYS`` (default 62); returns the number of rows deleted.

    The history keeps every run's per-medium figures forever, the vehicle lists of the last two months."""
    days = days if days is not None else int(current_app.config.get("SEND_REPORT_RETENTION_DAYS")
                                             or os.environ.get("SEND_REPORT_RETENTION_DAYS")
                                             or DEFAULT_REPORT_RETENTION_DAYS)
    cutoff = utcnow() - dt.timedelta(days=days)
    old = select(SendRun.id).where(SendRun.started_at < cutoff, SendRun.finished_at.isnot(None))
    count = db.session.execute(delete(NotSentListings).where(NotSentListings.run_id.in_(old))).rowcount
    count += db.session.execute(delete(SentListings).where(SentListings.run_id.in_(old))).rowcount
    db.session.commit()
    return count


def medium_job_id(run_key: str, medium_id: int) -> str:
    """Deterministic RQ job id of a medium in a run (the run key is unique across databases too)."""
    return f"send-{run_key}-{medium_id}"


def send_queue() -> str:
    """The RQ queue of send jobs (``SEND_QUEUE``, default "default"); workers listen to it."""
    return current_app.config.get("SEND_QUEUE") or os.environ.get("SEND_QUEUE") or "default"


def retry_intervals() -> list[int]:
    raw = current_app.config.get("SEND_RETRY_INTERVALS") or os.environ.get("SEND_RETRY_INTERVALS")
    if raw is None:
        return list(DEFAULT_RETRY_INTERVALS)
    if isinstance(raw, str):
        return [int(x) for x in raw.split(",") if x.strip() != ""]
    return [int(x) for x in raw]


def enqueue_pending_media(run_id: int) -> None:
    """(Re-)enqueue every medium of the run that is not final; a queued or running job is left alone."""
    rows = db.session.execute(select(SendMedium.id, SendMedium.job_id).where(
        SendMedium.run_id == run_id, SendMedium.status.not_in(FINAL_MEDIUM_STATES))).all()
    intervals = retry_intervals()
    in_process = get_queue(send_queue()) is None
    for sm_id, job_id in rows:
        if in_process:
            run_medium_with_retries(sm_id, attempts=len(intervals) + 1)
        else:
            from rq import Retry

            retry = Retry(max=len(intervals), interval=intervals) if intervals else None
            enqueue(send_medium_job, sm_id, job_id=job_id, retry=retry, job_timeout=3600, queue=send_queue())


def run_medium_with_retries(send_medium_id: int, attempts: int) -> None:
    """Embedded mode (no Redis): the same job, retried in-process without waiting."""
    for attempt in range(attempts):
        try:
            send_medium_job(send_medium_id, _final_attempt=attempt == attempts - 1)
            return
        except Exception:
            log.exception("send medium %s attempt %d failed", send_medium_id, attempt + 1)
            db.session.rollback()


# The job of one medium -------------------------------------------------------------------------------

def _is_final_attempt() -> bool:
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover
        return True
    job = get_current_job()
    if job is None:
        return True
    return not (job.retries_left and job.retries_left > 0)


def send_medium_job(send_medium_id: int, _final_attempt: bool | None = None) -> str:
    """Decide, write, record and publish the feed of one medium in one run. Safe to run twice."""
    sm = db.session.get(SendMedium, send_medium_id)
    if sm is None:
        return "missing"
    if sm.status in (DONE, HELD, SKIPPED):
        return sm.status
    if sm.status == PUBLISHING and _recover_publishing(sm):
        return DONE
    final_attempt = _is_final_attempt() if _final_attempt is None else _final_attempt
    attempt = db.session.execute(update(SendMedium).where(SendMedium.id == sm.id).values(
        status=RUNNING, attempts=SendMedium.attempts + 1, started_at=utcnow(), message=None)
        .returning(SendMedium.attempts)).scalar_one()
    db.session.commit()
    try:
        result = _process_medium(send_medium_id, attempt)
    except Exception as exc:
        db.session.rollback()
        message = _failure_message(exc)
        state = FAILED if final_attempt else PENDING
        # Only this attempt's own state is changed: a newer attempt may own the row by now.
        db.session.execute(update(SendMedium).where(
            SendMedium.id == send_medium_id, SendMedium.attempts == attempt,
            SendMedium.status.in_((RUNNING, PUBLISHING))).values(
            status=state, message=message, finished_at=utcnow() if state == FAILED else None))
        db.session.commit()
        finalize_run(db.session.get(SendMedium, send_medium_id).run_id)
        raise
    finalize_run(db.session.get(SendMedium, send_medium_id).run_id)
    return result


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "Disque plein : le flux n'a pas pu être écrit (le flux précédent est conservé)."
    return f"{type(exc).__name__}: {exc}"[:2000]


def _process_medium(send_medium_id: int, attempt: int) -> str:
    from models.publication import Medium

    sm = db.session.get(SendMedium, send_medium_id)
    run = db.session.get(SendRun, sm.run_id)
    medium = db.session.get(Medium, sm.medium_id)
    if medium is None or not medium.active:
        sm.status, sm.finished_at, sm.message = SKIPPED, utcnow(), "Média inactif ou supprimé."
        db.session.commit()
        return SKIPPED
    fmt = get_format(medium.feed_format)
    timings = _Timings()
    prepare(run)
    timings.lap("shared")
    store = listing_store(run, fmt)
    timings.lap("listings")
    plan = medium_plan(run, medium.id)
    subscriptions = _subscriptions(medium.id)
    lists, sent, contacts = _medium_listings(medium, plan, store)
    timings.lap("plan")
    fault("slow", medium.code)

    # 1. The feed, streamed into a staging file next to its target.
    staging = _staging_path(run, medium, fmt)
    try:
        with FeedFile(staging) as out:
            fault("disk_full", medium.code)
            try:
                count = write_feed(fmt, medium, store, lists, out)
            finally:
                store.release()
            # The disk takes the rest (and the fsync) while the report is recorded; it is on disk
            # before anything is committed or published.
            written = out.close_in_background()
        checksum = out.checksum
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    timings.lap("feed")

    # Until the row names it (held or publishing), the staged feed is this attempt's alone: any
    # failure removes it, so failed attempts leave nothing behind.
    try:
        outcome = _record_and_guard(sm, run, medium, plan, subscriptions, sent, contacts, count, attempt, staging,
                                    checksum, written, timings)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            written()   # no write left running into the file removed
        Path(staging).unlink(missing_ok=True)
        if isinstance(exc, _Superseded):
            return "superseded"
        raise
    if outcome == PUBLISHING:
        fault("before_publish", medium.code)
        _deliver(sm, medium, fmt, staging, checksum, count, confirmed=False)
        outcome = DONE
    timings.lap("publish")
    log.info("send %s, medium %s: %d listings, %s", run.id, medium.code, count, timings)
    return outcome


class _Superseded(Exception):
    """A newer attempt owns the medium: this one publishes nothing."""


def _record_and_guard(sm, run, medium, plan, subscriptions, sent, contacts, count, attempt, staging, checksum,
                      written, timings) -> str:
    """Steps 2 to 5 of a medium once its feed is staged: still ours, report rows, shrink guard, and
    the row marked held or publishing (committed with the staged file's path and checksum)."""
    # 2. Still ours? A worker killed with -9 can leave its work horse running: when it wakes up after
    # a newer attempt took over, it must neither touch the report nor publish. The conditional
    # UPDATE also locks the row until this attempt's commit.
    if not db.session.execute(update(SendMedium).where(
            SendMedium.id == sm.id, SendMedium.attempts == attempt, SendMedium.status == RUNNING)
            .values(status=RUNNING)).rowcount:
        db.session.rollback()
        log.warning("send medium %s: attempt %s superseded by a newer one, nothing published", sm.id, attempt)
        raise _Superseded
    db.session.refresh(sm)

    # 3. The report rows of this medium (replacing those of a failed earlier attempt).
    write_report_rows(db.session, sm, sent, (d for g in plan.groups for d in g.not_sent()), replace=attempt > 1,
                      contacts=contacts)
    codes = sorted({c for c in subscriptions.values() if c})
    sm.list_codes = ", ".join(codes)
    sm.sent_count = count
    sm.filtered_count = sum(g.count(o) for g in plan.groups for o in FILTERED_OUTCOMES)
    sm.other_count = sum(g.in_stock for g in plan.groups) - sm.sent_count - sm.filtered_count
    previous = previous_listing_count(medium.id, run.id)
    sm.previous_count = previous
    timings.lap("report")
    # What is left waits for the disk, the database and the portal: the worker may start its next
    # medium's work meanwhile (jobs.worker).
    release_worker()
    written()
    timings.lap("disk")

    # 4. The shrink guard.
    reason = shrink_hold_reason(previous, count)
    if reason:
        sm.status, sm.message, sm.pending_path, sm.pending_checksum = HELD, reason, staging, checksum
        sm.finished_at = utcnow()
        db.session.commit()
        log.warning("send %s: medium %s held: %s", run.id, medium.code, reason)
        return HELD

    # 5. Publish: say so first (with the checksum); the caller delivers and records it.
    sm.status, sm.pending_path, sm.pending_checksum = PUBLISHING, staging, checksum
    db.session.commit()
    return PUBLISHING


class _Timings:
    """Where a medium's job spends its time, for the worker's log ("plan 0.21 s, feed 1.03 s…")."""

    def __init__(self):
        self.laps, self.last = [], time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.laps)


def medium_decisions(medium, today: dt.date):
    """The engine's decisions for one medium alone, its mandatory fields widened with what its format
    requires (the send decides all its media at once in ``jobs.send_plan``; this is the same rule for
    one medium, used to check it)."""
    import dataclasses

    from models.publication_inputs import decide, load_decision_inputs

    from .feeds import mandatory_fields_for

    inputs = load_decision_inputs(db.session, medium_ids=[medium.id], today=today)
    inputs.media = [dataclasses.replace(m, mandatory_fields=tuple(mandatory_fields_for(medium.feed_format,
                                                                                       m.mandatory_fields)))
                    for m in inputs.media]
    return list(decide(inputs))


def _subscriptions(medium_id: int) -> dict[int, str | None]:
    """publication list id → customer code at this medium ("Code liste inscrit")."""
    from models.publication import ListSubscription, MediumConfig

    rows = db.session.execute(select(ListSubscription.publication_list_id, ListSubscription.customer_code)
                              .join(MediumConfig, MediumConfig.id == ListSubscription.config_id)
                              .where(MediumConfig.medium_id == medium_id)).all()
    return {list_id: code for list_id, code in rows}


def _medium_listings(medium, plan, store):
    """The medium's feed, list by list, for ``write_feed``; the columns of its sent listings for the
    report (concession ids, vehicle ids, list ids, ranks, contact numbers, as arrays in feed order)
    and the contacts they number.

    A listing's contact is the most specific contact of its concession, else its site's manager
    (§6.3); its link is the medium's listing base + our reference when the medium has one, else our
    public page. A list of a concession without contacts on a medium without listing base has only
    usual listings, copied whole from the store. A medium lists 100,000 vehicles: they are looked up
    in arrays (``jobs.vehicle_index``), all at once, not a dict per vehicle."""
    resolve, site_managers = plan.resolver.resolve, plan.resolver.site_managers
    listing_base = medium.base_url or None
    contacts: list[tuple | None] = []          # a contact's number → (name, phone, email) or None
    numbers: dict[tuple | None, int] = {}      # and back
    site_numbers: dict[int, int] = {}          # site id → its manager's number

    def number(contact) -> int:
        n = numbers.get(contact)
        if n is None:
            n = numbers[contact] = len(contacts)
            contacts.append(contact)
        return n

    def manager(site_id) -> int:
        n = site_numbers.get(site_id)
        if n is None:
            c = site_managers.get(site_id)
            n = site_numbers[site_id] = number((c.name, c.phone or c.mobile, c.email) if c is not None else None)
        return n

    groups = [g for g in plan.groups if g.sent]
    sizes = np.fromiter((len(g.sent) for g in groups), np.int64, len(groups))
    vehicle_ids = np.fromiter(chain.from_iterable(g.sent for g in groups), np.int64, int(sizes.sum()))
    group_of = np.repeat(np.arange(len(groups)), sizes)
    # Ranks count every sent vehicle of the list; one without a feed row (no site) is left out.
    ranks = np.arange(len(vehicle_ids)) - np.r_[0, np.cumsum(sizes)][group_of] + 1
    stored = store.locate(vehicle_ids) >= 0
    if not stored.all():
        vehicle_ids, ranks, group_of = vehicle_ids[stored], ranks[stored], group_of[stored]
    bounds = np.searchsorted(group_of, np.arange(len(groups) + 1)).tolist()
    # Each listing's contact number: its site's manager, but where its list resolves its own.
    sites, at = np.unique(plan.site_of(vehicle_ids), return_inverse=True)
    codes = np.array([manager(site) for site in sites.tolist()], np.int64)[at.ravel()]
    lists = []
    for k, g in enumerate(groups):
        start, end = bounds[k], bounds[k + 1]
        if start == end:
            continue
        ids = vehicle_ids[start:end]
        if listing_base is None and not plan.resolver.by_concession.get(g.concession_id):
            lists.append((g.customer_code, ids, None))   # every listing has its site's manager
            continue
        details, sites_of, own = plan.details, plan.sites, []
        for n, v in enumerate(ids.tolist(), start):
            make, status, reference, link, site_contact = details[v]
            c = resolve(g.concession_id, sites_of[v], g.list_id, medium.id, make, status)
            contact = (c.name, c.phone or c.mobile, c.email) if c is not None else None
            codes[n] = number(contact)
            own.append((f"{listing_base}{reference}" if listing_base else link, contact or site_contact))
        lists.append((g.customer_code, ids.tolist(), own))
    concession_ids = np.fromiter((g.concession_id for g in groups), np.int64, len(groups))[group_of]
    list_ids = np.fromiter((g.list_id for g in groups), np.int64, len(groups))[group_of]
    return lists, (concession_ids, vehicle_ids, list_ids, ranks, codes), contacts


def previous_listing_count(medium_id: int, run_id: int) -> int | None:
    """Listings of the medium's last published feed before this run (None: never published)."""
    return db.session.execute(select(PublishedFeed.listing_count).where(
        PublishedFeed.medium_id == medium_id, PublishedFeed.run_id != run_id)
        .order_by(PublishedFeed.published_at.desc(), PublishedFeed.id.desc()).limit(1)).scalar_one_or_none()


def feed_folder() -> Path:
    return Path(current_app.config["FEED_FOLDER"])


def _staging_path(run, medium, fmt) -> str:
    folder = feed_folder() / ".staging" / f"run-{run.id}"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{medium.code}.{fmt.extension}.{os.getpid()}.tmp")


def target_path(medium, fmt) -> str:
    """Where a folder medium's feed is published (an absolute delivery target, else FEED_FOLDER/<code>/)."""
    target = (medium.delivery_target or "").strip()
    folder = Path(target) if target and medium.delivery_kind == "folder" and os.path.isabs(target) \
        else feed_folder() / medium.code
    return str(folder / f"{medium.code}.{fmt.extension}")


def idempotency_key(run_key: str, medium_code: str) -> str:
    return f"{run_key}:{medium_code}"


def _deliver(sm, medium, fmt, staging, checksum, count, confirmed: bool) -> None:
    run = db.session.get(SendRun, sm.run_id)
    key = idempotency_key(run.run_key, medium.code)
    size = os.path.getsize(staging)
    # During the run, the feed replaced is freed after it (a confirmation comes after the run's end).
    retired = None if confirmed else retired_folder(run.id)
    if medium.delivery_kind == "http":
        post_feed(medium.delivery_target, staging, fmt.content_type, key)
        target = medium.delivery_target
        # Keep a copy of what the endpoint received, for the record.
        publish_to_folder(staging, str(feed_folder() / ".sent" / medium.code / f"{medium.code}.{fmt.extension}"),
                          retired)
    else:
        target = target_path(medium, fmt)
        publish_to_folder(staging, target, retired)
    fault("after_publish", medium.code)
    db.session.add(PublishedFeed(send_medium_id=sm.id, medium_id=medium.id, run_id=sm.run_id, format=fmt.key,
                                 delivery=medium.delivery_kind, target=target, checksum=checksum,
                                 size_bytes=size, listing_count=count, idempotency_key=key,
                                 confirmed=confirmed))
    sm.status, sm.finished_at, sm.pending_path = DONE, utcnow(), None
    db.session.commit()


def _recover_publishing(sm) -> bool:
    """A previous attempt died while publishing: finish the record if the feed did reach the portal.

    Folder: the target holds this run's bytes (same checksum) → record it. HTTP: the staging file is
    POSTed again with the same idempotency key (the endpoint ignores a duplicate).
    """
    from models.publication import Medium

    if db.session.execute(select(PublishedFeed.id).where(PublishedFeed.send_medium_id == sm.id)).first():
        sm.status, sm.finished_at = DONE, utcnow()
        db.session.commit()
        return True
    medium = db.session.get(Medium, sm.medium_id)
    fmt = get_format(medium.feed_format)
    staging = sm.pending_path
    if medium.delivery_kind != "http":
        target = target_path(medium, fmt)
        if holds_checksum(target, sm.pending_checksum) and not (staging and os.path.exists(staging)):
            db.session.add(PublishedFeed(
                send_medium_id=sm.id, medium_id=medium.id, run_id=sm.run_id, format=fmt.key, delivery="folder",
                target=target, checksum=sm.pending_checksum, size_bytes=os.path.getsize(target),
                listing_count=sm.sent_count,
                idempotency_key=idempotency_key(sm.run.run_key, medium.code)))
            sm.status, sm.finished_at, sm.pending_path = DONE, utcnow(), None
            db.session.commit()
            finalize_run(sm.run_id)
            return True
    if holds_checksum(staging, sm.pending_checksum):
        _deliver(sm, medium, fmt, staging, sm.pending_checksum, sm.sent_count, confirmed=False)
        finalize_run(sm.run_id)
        return True
    return False   # nothing usable: redo the medium from the start


# Shrink guard confirmation ---------------------------------------------------------------------------

def confirm_held_medium(send_medium_id: int, user_id: int | None) -> bool:
    """Publish a held feed after an admin's confirmation; False when there is nothing to publish."""
    from models.publication import Medium

    claimed = db.session.execute(update(SendMedium).where(
        SendMedium.id == send_medium_id, SendMedium.status == HELD).values(status=PUBLISHING)).rowcount
    db.session.commit()
    if not claimed:
        return False
    sm = db.session.get(SendMedium, send_medium_id)
    medium = db.session.get(Medium, sm.medium_id)
    fmt = get_format(medium.feed_format)
    newer = db.session.execute(select(PublishedFeed.id).where(
        PublishedFeed.medium_id == sm.medium_id, PublishedFeed.run_id > sm.run_id).limit(1)).first()
    if newer:   # publishing this older feed would replace a newer one on the portal
        sm.status, sm.finished_at = SKIPPED, utcnow()
        sm.message = "Un envoi plus récent a déjà publié ce média : ce flux retenu n'est plus à publier."
        if sm.pending_path:
            Path(sm.pending_path).unlink(missing_ok=True)
        db.session.commit()
        finalize_run(sm.run_id)
        return False
    if not holds_checksum(sm.pending_path, sm.pending_checksum):
        sm.status, sm.message = FAILED, "Le flux retenu n'est plus disponible : relancez un envoi."
        db.session.commit()
        finalize_run(sm.run_id)
        return False
    sm.confirmed_by_id, sm.confirmed_at = user_id, utcnow()
    db.session.commit()
    try:
        _deliver(sm, medium, fmt, sm.pending_path, sm.pending_checksum, sm.sent_count, confirmed=True)
    except Exception as exc:
        db.session.rollback()
        db.session.execute(update(SendMedium).where(SendMedium.id == send_medium_id).values(
            status=HELD, message=_failure_message(exc)))
        db.session.commit()
        raise
    finalize_run(sm.run_id)
    return True


# Run completion ----------------------------------------------------------------------------------------

def finalize_run(run_id: int) -> str:
    """Set the run's state from its media; the finish time is written once, by whoever ends last."""
    states = [s for (s,) in db.session.execute(select(SendMedium.status).where(SendMedium.run_id == run_id))]
    status = run_status(states)
    if status != RUNNING:
        discard(run_id)   # the run's shared plan is no longer needed
        ended_now = db.session.execute(update(SendRun).where(SendRun.id == run_id, SendRun.finished_at.is_(None))
                                       .values(finished_at=utcnow())).rowcount == 1
    else:
        ended_now = False
    # Written only when it changes: most media leave the run running, and an UPDATE of nothing
    # commits without writing (no WAL flush, no lock of the run's row against the other workers).
    db.session.execute(update(SendRun).where(SendRun.id == run_id, SendRun.status.is_distinct_from(status))
                       .values(status=status))
    db.session.commit()
    if ended_now:
        # The send produces its printable bilan itself (network-wide; dealers' own ones on demand).
        from .reports import queue_send_report_pdf

        queue_send_report_pdf(run_id)
    if status != RUNNING:
        remove_retired(run_id)   # the feeds and stores it replaced, now that every medium is over
    return status


# Fault injection (tests only) ----------------------------------------------------------------------------

def fault(stage: str, medium_code: str) -> None:
    """Test hook: ``SEND_FAULTS="slow=CODE:30,disk_full=CODE,before_publish=CODE"`` (testing config only)."""
    if not current_app.config.get("TESTING"):
        return
    spec = os.environ.get("SEND_FAULTS") or current_app.config.get("SEND_FAULTS") or ""
    for item in filter(None, (p.strip() for p in spec.split(","))):
        name, _, arg = item.partition("=")
        code, _, value = arg.partition(":")
        if name != stage or code != medium_code:
            continue
        if stage == "slow":
            time.sleep(float(value or 30))
        elif stage == "disk_full":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        else:
            raise RuntimeError(f"injected fault at {stage}")
