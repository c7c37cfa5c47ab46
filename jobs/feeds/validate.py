"""Read a written feed back into listings and check them against the format's JSON Schema.

Used by the tests on every generated public feed, and usable by hand on a feed file:
``python -m jobs.feeds.validate meta_catalog_xml instance/feeds/FB/feed.xml``.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from xml.etree.ElementTree import iterparse

from . import get_format

SCHEMAS = Path(__file__).with_name("schemas")


def parse_feed(format_key: str, data: bytes) -> list[dict]:
    """The listings of a feed as dicts of text (nested objects for Meta's address, mileage, images)."""
    fmt = get_format(format_key)
    if format_key in ("generic_xml", "meta_catalog_xml"):
        return _parse_xml(format_key, data)
    text = data.decode(fmt.encoding)
    delimiter = {"google_vehicle_listings": "\t", "mobile_de_csv": ";"}.get(format_key, ",")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    if format_key == "meta_catalog_csv":
        return [_meta_from_csv(r) for r in rows]
    return [{k: v for k, v in r.items() if v != ""} for r in rows]


def _meta_from_csv(r: dict) -> dict:
    out = {k: v for k, v in r.items() if "." not in k and "[" not in k and v != ""}
    out["mileage"] = {"value": r["mileage.value"], "unit": r["mileage.unit"]}
    out["address"] = {k.split(".", 1)[1]: v for k, v in r.items() if k.startswith("address.") and v}
    out["images"] = [v for k, v in r.items() if k.startswith("image[") and v]
    return out


def _parse_xml(format_key: str, data: bytes) -> list[dict]:
    item = "vehicle" if format_key == "generic_xml" else "listing"
    out = []
    for _event, el in iterparse(io.BytesIO(data)):
        if el.tag != item:
            continue
        d: dict = {}
        for child in el:
            if child.tag == "mileage":
                d["mileage"] = {c.tag: (c.text or "") for c in child}
            elif child.tag == "address":
                d["address"] = {c.get("name"): (c.text or "") for c in child if c.text}
            elif child.tag == "image":
                d.setdefault("images", []).append(child.findtext("url") or "")
            elif child.tag == "photos":
                d["photos"] = [p.text or "" for p in child]
            else:
                d[child.tag] = child.text or ""
        if el.get("id"):
            d["id"] = el.get("id")
        out.append(d)
        el.clear()
    return out


def schema_for(format_key: str) -> dict | None:
    """The JSON Schema of a public format (None for the generic formats)."""
    name = get_format(format_key).schema
    return json.loads((SCHEMAS / name).read_text("utf-8")) if name else None


def validate_feed(format_key: str, data: bytes) -> list[str]:
    """Every schema violation of every listing, as readable lines (empty: the feed is valid)."""
    from jsonschema import Draft202012Validator

    schema = schema_for(format_key)
    listings = parse_feed(format_key, data)
    if schema is None:
        return []
    validator = Draft202012Validator(schema)
    errors = []
    for i, listing in enumerate(listings, 1):
        for e in validator.iter_errors(listing):
            errors.append(f"listing {i}: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}")
    return errors


if __name__ == "__main__":  # pragma: no cover - manual check of a file
    problems = validate_feed(sys.argv[1], Path(sys.argv[2]).read_bytes())
    print("\n".join(problems) or "valid")
    sys.exit(1 if problems else 0)
