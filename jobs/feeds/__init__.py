"""Feed formats as plug-ins (§6.6).

A format is a writer ``write(rows, medium, out) -> int``: it streams the decided vehicles (``rows``,
an iterable of plain dicts built by ``jobs.feeds.rows``) into ``out`` (a binary stream) and returns
the number of listings written. Nothing is built as a whole document in memory: XML is written
element by element with escaping, CSV through the csv module, row by row.

Each format declares ``REQUIRED_VEHICLE_FIELDS``: the vehicle fields a portal rejects a listing
without. A medium's mandatory fields include them (``mandatory_fields_for``), so the send decision
files such a vehicle as "filtré média" with the reason instead of publishing a listing the portal
would refuse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable


@dataclass(frozen=True)
class FeedFormat:
    key: str
    label: str
    extension: str
    content_type: str
    write: Callable[[Iterable[dict], object, object], int]
    required_vehicle_fields: tuple[str, ...] = ()
    schema: str | None = None          # JSON Schema file in jobs/feeds/schemas/ (public formats)
    encoding: str = "utf-8"
    documentation: str = ""
    fields: tuple[str, ...] = field(default_factory=tuple)


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
