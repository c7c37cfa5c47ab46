"""Server time and SQL statements of the stock list page (§5): page 1 with its count, and a search.

Group-wide (filiale user: the whole network) and for one concession (a dealer manager).
Target: p95 ≤ 100 ms.

    DATABASE_URL=postgresql+psycopg://... python -m bench.stock_lists [--runs 30]
"""
from __future__ import annotations

import argparse

from bench.common import login, measure, prepare, report

URLS = (
    ("page 1 with count", "/stock/retail/"),
    ("page 1, score 6", "/stock/retail/?score=6"),
    ("quick search 'peugeot 2019'", "/stock/retail/?q=peugeot+2019"),
    ("quick search entry number", "/stock/retail/?q=01234"),
    ("sorted by price age, desc", "/stock/retail/?sort=price_age&dir=desc"),
)
USERS = (("group-wide (filiale)", "filiale@demo.example"), ("one concession (cdv.nord)", "cdv.nord@demo.example"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-vacuum", action="store_true")
    args = parser.parse_args(argv)

    app, counter = prepare(args.no_vacuum)
    for who, email in USERS:
        client = login(app, email)
        for label, url in URLS:
            report(f"{who} {label}", measure(client, counter, url, runs=args.runs), 100.0)


if __name__ == "__main__":
    main()
