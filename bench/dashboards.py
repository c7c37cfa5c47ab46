"""Server time and SQL statements of the remarketing dashboards (§4).

Group-wide (filiale user: the whole network) and for one concession (a dealer manager), on the
Publication, Particulier and Marchand dashboards, default statuses, plus a site selection.
Targets: p95 ≤ 100 ms group-wide, ≤ 30 ms for one concession.

    DATABASE_URL=postgresql+psycopg://... python -m bench.dashboards [--runs 30] [--explain]
"""
from __future__ import annotations

import argparse

from bench.common import login, measure, prepare, report

PAGES = ("/remarketing/", "/remarketing/retail/", "/remarketing/trade/")
USERS = (("group-wide (filiale)", "filiale@demo.example", 100.0),
         ("one concession (cdv.nord)", "cdv.nord@demo.example", 30.0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--statements", action="store_true", help="print the SQL of one page view")
    parser.add_argument("--no-vacuum", action="store_true",
                        help="skip VACUUM ANALYZE (run by default: the demo load leaves no statistics "
                             "nor visibility map, which autovacuum provides in a running system)")
    args = parser.parse_args(argv)

    app, counter = prepare(args.no_vacuum)
    results = []
    for who, email, target in USERS:
        client = login(app, email)
        for page in PAGES:
            results.append(report(f"{who} {page}", measure(client, counter, page, runs=args.runs), target))
        if email.startswith("cdv"):
            with app.app_context():
                from sqlalchemy import select

                from backoffice.extensions import db
                from models import Concession, Site

                site_id = db.session.execute(select(Site.id).join(Concession).where(Concession.code == "NORD")
                                             .order_by(Site.id)).scalars().first()
            url = f"/remarketing/retail/?where=s{site_id}"
            results.append(report(f"{who} one site {url}", measure(client, counter, url, runs=args.runs), target))
        else:
            url = "/remarketing/retail/?status=ST&status=VD&status=DV&status=ARR"
            results.append(report(f"{who} 4 statuses", measure(client, counter, url, runs=args.runs), target))
    # The publication dashboard's send panels come from the publication and sends features:
    # the dashboard's own share, measured without them.
    import views.remarketing as remarketing

    panels = list(remarketing.PUBLICATION_PANELS)
    remarketing.PUBLICATION_PANELS[:] = []
    for who, email, target in USERS:
        client = login(app, email)
        results.append(report(f"{who} /remarketing/ without send panels",
                              measure(client, counter, "/remarketing/", runs=args.runs), target))
    remarketing.PUBLICATION_PANELS[:] = panels

    # The network comparison is kept REMARKETING_NETWORK_CACHE_SECONDS (300 s by default): the
    # first dealer view after that pays for one aggregate over the whole network. Measured here.
    app.config["REMARKETING_NETWORK_CACHE_SECONDS"] = 0
    client = login(app, "cdv.nord@demo.example")
    results.append(report("one concession, network figures not cached /remarketing/retail/",
                          measure(client, counter, "/remarketing/retail/", runs=args.runs)))
    if args.statements:
        client = login(app, "cdv.nord@demo.example")
        with counter.counting():
            client.get("/remarketing/retail/")
        for sql in counter.statements:
            print("---\n" + sql)


if __name__ == "__main__":
    main()
