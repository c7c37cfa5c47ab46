"""Feed formats as plug-ins (§6.6).

A format renders one listing as text *around its listing-dependent slots*: ``listing(row)`` returns
the parts of the listing that depend only on the vehicle, and ``slots`` say how to render what
depends on the medium and the publication list (the customer code at the portal, the listing link,
the contact), which go between those parts. ``FeedFormat.write`` streams rows into a file with
both. The send renders each vehicle's parts once per run and format (``jobs.feeds.templates``)
and only fills the slots for each medium: 50 media in six formats cost six renderings, not 50.

Nothing is built as a whole document in memory: listings are written as they come, escaped one
by one (XML text, CSV quoting).

Each format declares ``required_vehicle_fields``: the vehicle fields a portal rejects a listing
without. A medium's mandatory fields include them (``mandatory_fields_for``), so the send decision
files such a vehicle as "filtré média" with the reason instead of publishing a listing the portal
would refuse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Callable, Iterable

# What a slot is filled with, from a normalised row (jobs.feeds.rows.feed_row).
SLOT_KINDS = ("customer_code", "url", "contact")


def slot_value(kind: str, row: dict):
    """The value of a slot in a normalised row: a text, or (name, phone, email) for the contact."""
    if kind == "contact":
        return row.get("contact_name"), row.get("contact_phone"), row.get("contact_email")
    return row.get(kind)


@dataclass(frozen=True)
class Slot:
    """A listing-dependent field of a format: its kind and how the format renders its value."""
    kind: str
    render: Callable[[object], str]


@dataclass(frozen=True)
class FeedFormat:
    key: str
    label: str
    extension: str
    content_type: str
    header: Callable[[object], str]            # medium → the text before the first listing
    listing: Callable[[dict], list[str]]       # row → the listing's text around its slots
    slots: tuple[Slot, ...] = ()
    footer: str = ""
    required_vehicle_fields: tuple[str, ...] = ()
    schema: str | None = None          # JSON Schema file in jobs/feeds/schemas/ (public formats)
    encoding: str = "utf-8"
    errors: str = "strict"             # how characters the encoding lacks are written
    documentation: str = ""
    fields: tuple[str, ...] = field(default_factory=tuple)

    def render(self, row: dict) -> str:
        """One listing's whole text."""
        parts = self.listing(row)
        if not self.slots:
            return parts[0]
        values = [s.render(slot_value(s.kind, row)) for s in self.slots]
        return "".join(chain.from_iterable(zip(parts, values))) + parts[-1]

    def write(self, rows: Iterable[dict], medium, out) -> int:
        """Stream normalised rows into the binary stream ``out``; returns the listings written."""
        encoding, errors, render = self.encoding, self.errors, self.render
        pending = [self.header(medium)]
        count = 0
        for row in rows:
            pending.append(render(row))
            count += 1
            if len(pending) >= 256:
                out.write("".join(pending).encode(encoding, errors))
                pending.clear()
        pending.append(self.footer)
        out.write("".join(pending).encode(encoding, errors))
        return count


FORMATS: dict[str, FeedFormat] = {}


def register(fmt: FeedFormat) -> FeedFormat:
    """Add a format to the registry (a plug-in module calls this at import)."""
    FORMATS[fmt.key] = fmt
    return fmt


def get_format(key: str | None) -> FeedFormat:
    """The format for ``key``; unknown or empty keys fall back to the generic XML."""
    _load()
    return FORMATS.get(key or "", FORMATS["generic_xml"])


def format_choices() -> list[tuple[str, str]]:
    """(key, label) pairs for a select field."""
    _load()
    return [(f.key, f.label) for f in FORMATS.values()]


def required_vehicle_fields(key: str | None) -> tuple[str, ...]:
    """The vehicle fields the format needs (names of models.publication mandatory fields)."""
    return get_format(key).required_vehicle_fields


def mandatory_fields_for(format_key: str | None, configured: Iterable[str] | None = ()) -> list[str]:
    """A medium's effective mandatory fields: what the admin chose plus what its format requires."""
    out = list(dict.fromkeys(list(configured or ()) + list(required_vehicle_fields(format_key))))
    return out


_LOADED = False


def _load() -> None:
    global _LOADED
    if not _LOADED:
        from . import generic, google, meta, mobile_de  # noqa: F401  (plug-ins register themselves)
        _LOADED = True


_load()
