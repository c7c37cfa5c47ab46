"""The PDF bilan d'envoi (§6.5, §8): header, per-medium table, then per medium the filtered vehicles
with their reasons and the sent vehicles.

Three layers, so that the layout and the speed are testable without a send in the database:
``SendReportData`` (plain rows), ``send_report_parts`` (the HTML parts, cut for the engine) and
``load_send_report`` (the rows of one run from the send models, scoped to one concession or the network,
with one query per figure, never one per vehicle).
"""
from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app, render_template

from .pdf import RenderResult, render_parts

MIN_ROWS_PER_PART = 120   # below this a part's fixed cost (a WeasyPrint document) dominates
MAX_ROWS_PER_PART = 600


@dataclass
class SentRow:
    entry_number: str
    status: str
    make: str
    family: str | None
    version: str | None
    colour: str | None
    price: Decimal | None
    mileage: int | None
    photos: int | None
    contact: str | None
    phone: str | None


@dataclass
class FilteredRow:
    entry_number: str
    make: str
    model: str
    version: str | None
    outcome_label: str
    reasons: list[str]


@dataclass
class MediumReport:
    name: str
    list_codes: list[str]
    sent_count: int
    filtered_count: int
    other_count: int | None = 0   # None: not counted for this scope (the pages do not show it)
    filtered: list[FilteredRow] = field(default_factory=list)
    sent: list[SentRow] = field(default_factory=list)
    filtered_omitted: int = 0     # vehicles left out of a long list (``printable_rows_per_list``)
    sent_omitted: int = 0


@dataclass
class SendReportData:
    run_id: int
    group_name: str
    scope_label: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    media: list[MediumReport]
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))

    @property
    def sent_total(self) -> int:
        return sum(m.sent_count for m in self.media)

    @property
    def filtered_total(self) -> int:
        return sum(m.filtered_count for m in self.media)

    @property
    def other_total(self) -> int | None:
        """Not sent for another reason (deselected, not selected, limit); None when not counted."""
        if any(m.other_count is None for m in self.media):
            return None
        return sum(m.other_count for m in self.media)

    @property
    def row_count(self) -> int:
        return sum(len(m.sent) + len(m.filtered) for m in self.media)


def rows_per_part(total_rows: int, processes: int) -> int:
    """Slice size: about two parts per process, within bounds (fewer parts = fewer half-empty pages)."""
    wanted = math.ceil(total_rows / max(1, 2 * processes)) if total_rows else MIN_ROWS_PER_PART
    return max(MIN_ROWS_PER_PART, min(MAX_ROWS_PER_PART, wanted))


def _row_weight(row) -> float:
    return 1 + 0.6 * max(0, len(getattr(row, "reasons", ())) - 1)


def send_report_blocks(data: SendReportData, budget: int) -> list[list[dict]]:
    """The report as parts of blocks, each part holding about ``budget`` rows.

    A medium's tables are cut between parts where the budget runs out; the next part opens with the
    medium's name and "(suite)", and the table header is repeated (in a part, WeasyPrint repeats
    ``thead`` on every page itself).
    """
    parts: list[list[dict]] = [[{"kind": "cover"}]]
    used = 10 + len(data.media)
    current = parts[0]

    def new_part():
        nonlocal current, used
        current = []
        parts.append(current)
        used = 0

    for medium in data.media:
        if used > budget * 0.85:
            new_part()
        current.append({"kind": "medium", "medium": medium, "continued": False})
        used += 3
        for kind, rows, omitted in (("filtered", medium.filtered, medium.filtered_omitted),
                                    ("sent", medium.sent, medium.sent_omitted)):
            block = {"kind": kind, "rows": [], "continued": False, "omitted": omitted}
            current.append(block)
            used += 2
            for row in rows:
                if used >= budget:
                    new_part()
                    current.append({"kind": "medium", "medium": medium, "continued": True})
                    previous, block = block, {"kind": kind, "rows": [], "continued": True, "omitted": omitted}
                    previous["omitted"] = 0   # said once, after the last rows
                    current.append(block)
                    used = 4
                block["rows"].append(row)
                used += _row_weight(row)
    return parts


def running_header(data: SendReportData) -> str:
    from flask_babel import gettext as _

    from backoffice.formatting import datetime as fdatetime

    return _("%(group)s – Bilan d'envoi du %(when)s – %(scope)s", group=data.group_name,
             when=fdatetime(data.started_at), scope=data.scope_label)


def send_report_parts(data: SendReportData, processes: int = 1) -> list[str]:
    """The HTML documents the engine renders, in order."""
    from flask_babel import gettext as _

    header = running_header(data)
    title = _("Bilan d'envoi")
    budget = rows_per_part(data.row_count, processes)
    return [render_template("reports/send_report_part.html", blocks=blocks, report=data,
                            running_header=header, title=title)
            for blocks in send_report_blocks(data, budget)]


def report_processes() -> int:
    """Processes rendering the parts (config or environment REPORT_PDF_PROCESSES, default the CPUs)."""
    import os

    return int(current_app.config.get("REPORT_PDF_PROCESSES") or os.environ.get("REPORT_PDF_PROCESSES")
               or os.cpu_count() or 1)


def report_time_limit() -> float:
    """Seconds one report may take (config or environment REPORT_PDF_TIME_LIMIT, default 300)."""
    import os

    return float(current_app.config.get("REPORT_PDF_TIME_LIMIT") or os.environ.get("REPORT_PDF_TIME_LIMIT")
                 or 300)


def render_send_report(data: SendReportData, *, time_limit: float | None = None,
                       processes: int | None = None, progress=None) -> RenderResult:
    """The bilan d'envoi as PDF bytes (with the fetcher's log)."""
    from flask_babel import gettext as _

    processes = processes if processes is not None else report_processes()
    parts = send_report_parts(data, processes)
    return render_parts(parts, static_folder=current_app.static_folder, title=_("Bilan d'envoi"),
                        time_limit=time_limit or report_time_limit(), processes=processes, progress=progress)


# Loading from the send models ------------------------------------------------------------------------

DEFAULT_MAX_PRINTED_ROWS = 20_000


def printable_rows_per_list(list_sizes: list[int], max_rows: int | None = None) -> int:
    """How many vehicles each list of a bilan prints, so that the PDF stays printable.

    A network-wide bilan of 100,000 vehicles × 50 media would list millions of vehicles (tens of
    thousands of pages, hours of rendering). Up to ``SEND_REPORT_PDF_MAX_ROWS`` (default 20,000) rows
    in all, every list is printed whole; beyond, each list prints the same share (at least 100) and
    says how many more the screen shows."""
    if max_rows is None:
        max_rows = int(current_app.config.get("SEND_REPORT_PDF_MAX_ROWS") or os.environ.get("SEND_REPORT_PDF_MAX_ROWS")
                       or DEFAULT_MAX_PRINTED_ROWS)
    if sum(list_sizes) <= max_rows:
        return max(list_sizes, default=0)
    return max(min(100, max_rows), max_rows // max(1, sum(1 for n in list_sizes if n)))


def load_send_report(run_id: int, concession_id: int | None = None) -> SendReportData:
    """The rows of one run, for one concession (a dealer's bilan) or the whole network (None).

    The figures are the send pages' (views.sends.media_table): the medium's counters for the network,
    ``models.send.medium_counts`` within the concession. Vehicles are listed as the pages list them: one
    line per recorded outcome (vehicle × publication list), by rank then N° VO. Two queries for the figures,
    one for the filtered vehicles (``NotSentListings`` rows, decoded), one for the sent listings
    (``SentListings`` rows, decoded) and one for both lists' vehicle columns (per 10,000 vehicles), whatever
    the number of media.
    """
    from flask_babel import gettext as _
    from sqlalchemy import select

    from backoffice.extensions import db
    from models.organisation import Concession, Filiale
    from models.scope import Scope
    from models.send import (FILTERED_OUTCOMES, SendMedium, SendRun, medium_counts, not_sent_listings,
                             report_vehicles, sent_listings)
    from models.vehicle import Vehicle

    run = db.session.get(SendRun, run_id)
    if run is None:
        raise LookupError(f"send run {run_id} not found")
    scope = Scope.network() if concession_id is None else Scope(frozenset({concession_id}))
    if concession_id is not None:
        concession = db.session.get(Concession, concession_id)
        scope_label = _("Concession %(name)s", name=concession.name if concession else concession_id)
    else:
        scope_label = _("Tout le réseau")
    group_name = db.session.execute(select(Filiale.name).order_by(Filiale.id).limit(1)).scalar() or _("Groupe")

    media = db.session.execute(select(SendMedium).where(SendMedium.run_id == run_id)
                               .order_by(SendMedium.medium_name)).scalars().all()
    counts = medium_counts(db.session, run_id, scope) if concession_id is not None else {}

    outcome_labels = {"filtered_media": _("Filtré (média)"), "filtered_custom": _("Filtré (perso)")}
    vehicle_cols = (Vehicle.entry_number, Vehicle.status, Vehicle.make, Vehicle.model, Vehicle.family,
                    Vehicle.version, Vehicle.colour, Vehicle.sale_price_ttc, Vehicle.mileage, Vehicle.photo_count)
    filtered_listings = not_sent_listings(db.session, scope, run_id=run_id, outcomes=FILTERED_OUTCOMES)
    listings = sent_listings(db.session, scope, run_id=run_id)
    vehicles = report_vehicles(db.session, [x.vehicle_id for group in (filtered_listings, listings)
                                            for rows in group.values() for x in rows], vehicle_cols)
    filtered_rows: dict[int, list] = {}
    for sm_id, rows in filtered_listings.items():
        rows = [x for x in rows if x.vehicle_id in vehicles]   # a deleted car is not listed (as the pages)
        if rows:
            # Stable sort: equal (rank, N° VO) keep the order the engine decided them in.
            rows.sort(key=lambda x: (x.rank is None, x.rank or 0, vehicles[x.vehicle_id][0]))
            filtered_rows[sm_id] = rows
    limit = printable_rows_per_list([len(v) for v in filtered_rows.values()] + [len(v) for v in listings.values()])

    filtered: dict[int, list[FilteredRow]] = {}
    for sm_id, rows in filtered_rows.items():
        out = filtered[sm_id] = []
        for x in rows[:limit]:
            entry_number, _status, make, model, _family, version = vehicles[x.vehicle_id][:6]
            out.append(FilteredRow(entry_number=entry_number, make=make or "", model=model or "", version=version,
                                   outcome_label=outcome_labels.get(x.outcome, x.outcome), reasons=x.reason_list))

    sent: dict[int, list[SentRow]] = {}
    omitted: dict[int, int] = {}
    for sm_id, rows in listings.items():
        rows = [x for x in rows if x.vehicle_id in vehicles]   # a deleted car is not listed (as the pages)
        rows.sort(key=lambda x: (x.rank is None, x.rank or 0, vehicles[x.vehicle_id][0]))
        omitted[sm_id] = max(0, len(rows) - limit)
        out = sent[sm_id] = []
        for x in rows[:limit]:
            (entry_number, status, make, _model, family, version, colour, price, mileage,
             photos) = vehicles[x.vehicle_id]
            out.append(SentRow(entry_number=entry_number, status=status or "", make=make or "", family=family,
                               version=version, colour=colour, price=price, mileage=mileage, photos=photos,
                               contact=x.contact_name, phone=x.contact_phone))

    reports = []
    for m in media:
        if concession_id is None:
            sent_n, filtered_n, other_n = m.sent_count, m.filtered_count, m.other_count
        else:
            c = counts.get(m.id, {"sent": 0, "filtered": 0})
            sent_n, filtered_n, other_n = c["sent"], c["filtered"], None
        reports.append(MediumReport(
            name=m.medium_name, list_codes=[c.strip() for c in (m.list_codes or "").split(",") if c.strip()],
            sent_count=sent_n, filtered_count=filtered_n, other_count=other_n,
            filtered=filtered.get(m.id, []), sent=sent.get(m.id, []),
            filtered_omitted=max(0, len(filtered_rows.get(m.id, ())) - limit), sent_omitted=omitted.get(m.id, 0)))
    return SendReportData(run_id=run.id, group_name=group_name, scope_label=scope_label,
                          started_at=run.started_at, finished_at=run.finished_at, media=reports)
