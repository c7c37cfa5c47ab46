"""The "Prochain envoi" panel of the publication dashboard: a dry run of the send for the selection."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from backoffice.extensions import db
from models import Site
from models.permissions import PUBLICATION_CONFIGURE
from models.publication import load_decision_inputs
from models.send_decision import OUTCOMES, decide


# Decisions for the screens -----------------------------------------------------------------------------

def _medium_sets(decision_set, allowed_vehicles=None):
    """medium id → {outcome: set of vehicle ids, "prioritised": set}; a vehicle counts once per medium (best
    outcome across lists, sent first) so that the figures are vehicles, not candidates."""
    raw: dict[int, dict[str, set]] = defaultdict(lambda: {o: set() for o in (*OUTCOMES, "prioritised")})
    for g in decision_set.groups:
        sets = raw[g.medium_id]
        sets["sent"].update(g.sent)
        sets["limit_reached"].update(g.limit_reached)
        sets["not_selected"].update(g.not_selected)
        sets["deselected"].update(g.deselected)
        for _reasons, ids in g.filtered_custom:
            sets["filtered_custom"].update(ids)
        for _reasons, ids in g.filtered_media:
            sets["filtered_media"].update(ids)
        sets["prioritised"].update(g.prioritised)
    out = {}
    for medium_id, sets in raw.items():
        seen: set = set()
        best = {}
        for outcome in OUTCOMES:
            ids = sets[outcome] - seen
            if allowed_vehicles is not None:
                ids &= allowed_vehicles
            best[outcome] = ids
            seen |= sets[outcome]
        eligible = best["sent"] | best["limit_reached"]
        best["prioritised"] = sets["prioritised"] & eligible
        out[medium_id] = best
    return out


# "Prochain envoi" panel of the publication dashboard ----------------------------------------------------------

def next_send_panel(scope, selection):
    """Dry run of the send for the dashboard's selection: per medium the VO to send and the detail."""
    if not current_user.is_authenticated:
        return None
    if selection is not None and getattr(selection, "concession_id", None):
        concession_ids = [selection.concession_id]
    elif selection is not None and getattr(selection, "site_id", None):
        concession_ids = [db.session.execute(select(Site.concession_id).where(Site.id == selection.site_id)).scalar()]
    else:
        concession_ids = None if scope.is_network else sorted(scope.concession_ids)
    if concession_ids is not None and not all(scope.allows(c) for c in concession_ids):
        return None
    site_id = getattr(selection, "site_id", None) if selection is not None else None
    statuses = tuple(sorted(getattr(selection, "statuses", ()) or ()))
    rows = _next_send_rows(concession_ids, site_id, statuses)
    if rows is None:
        return None
    can_configure = current_user.has_permission(PUBLICATION_CONFIGURE)
    single = concession_ids[0] if concession_ids and len(concession_ids) == 1 else None
    body = Markup(render_template("publication/_next_send.html", rows=rows, can_configure=can_configure,
                                  concession_id=single))
    return (_("Prochain envoi"), body)
CACHE_FROM_CONCESSIONS = 20  # a dry run over more concessions than this is kept for a short while
_NEXT_SEND_CACHE: dict = {}


def _next_send_rows(concession_ids, site_id, statuses):
    """Per medium figures of the dry run; network-wide runs (seconds at 100,000 vehicles) are cached
    for PUBLICATION_NEXT_SEND_CACHE_SECONDS, a concession's never (a dealer sees their change at once)."""
    from flask import current_app

    ttl = current_app.config.get("PUBLICATION_NEXT_SEND_CACHE_SECONDS", 0 if current_app.testing else 60)
    cacheable = ttl > 0 and (concession_ids is None or len(concession_ids) > CACHE_FROM_CONCESSIONS)
    key = (str(db.engine.url), None if concession_ids is None else tuple(concession_ids), site_id, statuses)
    now = dt.datetime.now().timestamp()
    if cacheable and key in _NEXT_SEND_CACHE and now - _NEXT_SEND_CACHE[key][0] < ttl:
        return _NEXT_SEND_CACHE[key][1]
    inputs = load_decision_inputs(db.session, concession_ids)
    if not inputs.media:
        return None
    allowed = None
    if site_id is not None or statuses:
        allowed = {x.id for x in inputs.vehicles
                   if (site_id is None or x.site_id == site_id) and (not statuses or x.status in statuses)}
    sets = _medium_sets(decide(inputs), allowed)
    rows = []
    for m in sorted(inputs.media, key=lambda m: m.name.lower()):
        s = sets.get(m.id) or {o: set() for o in (*OUTCOMES, "prioritised")}
        eligible = s["sent"] | s["limit_reached"]
        rows.append({"medium": m, "to_send": len(s["sent"]), "filtered": len(s["filtered_media"]),
                     "filtered_custom": len(s["filtered_custom"]), "deselected": len(s["deselected"]),
                     "not_selected": len(s["not_selected"]), "limit_reached": len(s["limit_reached"]),
                     "selected": len(eligible - s["prioritised"]), "prioritised": len(s["prioritised"])})
    if cacheable:
        if len(_NEXT_SEND_CACHE) >= 64:  # a handful of selections are looked at; never grow without bound
            _NEXT_SEND_CACHE.clear()
        _NEXT_SEND_CACHE[key] = (now, rows)
    return rows
