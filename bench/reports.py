"""Benchmark of the PDF bilan d'envoi against a naive single long WeasyPrint table of the same rows.

    .venv/bin/python bench/reports.py            # 1,000 and 5,000 vehicles
    .venv/bin/python bench/reports.py 1000       # one size

Prints, per size: the naive time (one HTML document, one table, auto layout, WeasyPrint's write_pdf),
the report's time (reports.send_report.render_send_report: parts rendered in parallel, merged, numbered)
and their ratio (target ≤ 0.6; and ≤ 3 s for 1,000 vehicles, ≤ 15 s for 5,000). Synthetic rows, no
database. Both timings include WeasyPrint's import cost only once (imported before timing).
"""
from __future__ import annotations

import datetime as dt
import gc
import os
import random
import sys
import tempfile
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("BACKOFFICE_INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-reports-"))

MAKES = [("PEUGEOT", "208", "1.2 PureTech 100ch S&S Allure"), ("RENAULT", "CLIO", "TCe 90 Évolution"),
         ("CITROËN", "C3", "BlueHDi 100 Shine"), ("VOLKSWAGEN", "GOLF", "2.0 TDI 150 DSG7 Life Business"),
         ("TOYOTA", "YARIS", "Hybride 116h Iconic"), ("DACIA", "SANDERO", "Stepway TCe 90 Expression")]
COLOURS = ["Gris Artense", "Blanc Nacré", "Noir Perla", "Bleu Vertigo", "Rouge Élixir"]


def synthetic_report(n: int, seed: int = 7):
    from reports.send_report import MediumReport, SendReportData, SentRow

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        make, family, version = rng.choice(MAKES)
        rows.append(SentRow(entry_number=f"VO{10000 + i}", status=rng.choice(["ST", "VD", "DV"]), make=make,
                            family=family, version=version, colour=rng.choice(COLOURS),
                            price=Decimal(rng.randrange(6000, 45000)), mileage=rng.randrange(5, 180000),
                            photos=rng.randrange(0, 25), contact="Amélie Lefèvre", phone="03 21 45 67 89"))
    medium = MediumReport(name="leboncoin.fr", list_codes=["bm11c1", "bm11c2"], sent_count=n, filtered_count=0,
                          sent=rows)
    return SendReportData(run_id=1, group_name="Groupe Émeraude Automobiles", scope_label="Tout le réseau",
                          started_at=dt.datetime(2026, 11, 22, 1, 0), finished_at=None, media=[medium])


NAIVE_CSS = """@page { size: A4; margin: 14mm 10mm;
  @bottom-right { content: "Page " counter(page) " / " counter(pages); } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 7.5pt; }
table { width: 100%; border-collapse: collapse; } thead { display: table-header-group; }
th, td { border: 0.3pt solid #999; padding: 1pt 2pt; text-align: left; }"""


def naive_html(data) -> str:
    from markupsafe import escape

    from backoffice.formatting import money, number

    head = "".join(f"<th>{h}</th>" for h in ("N° VO", "Statut", "Marque", "Famille", "Version", "Couleur",
                                            "Prix TTC", "Km", "Photos", "Contact", "Téléphone"))
    body = []
    for r in data.media[0].sent:
        cells = (r.entry_number, r.status, r.make, r.family, r.version, r.colour, money(r.price),
                 number(r.mileage), number(r.photos), r.contact, r.phone)
        body.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return (f"<html><head><meta charset='utf-8'><style>{NAIVE_CSS}</style></head><body><h1>Bilan d'envoi</h1>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>")


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the render's worker processes)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(sizes):
    from backoffice import create_app

    app = create_app("testing")
    import weasyprint  # noqa: F401  (import cost out of both timings)

    from reports.fetcher import make_fetcher
    from reports.send_report import render_send_report

    with app.app_context():
        print(f"cpus={os.cpu_count()} processes={app.config.get('REPORT_PDF_PROCESSES') or os.cpu_count()}")
        for n in sizes:
            data = synthetic_report(n)
            html = naive_html(data)
            t0, c0 = time.perf_counter(), cpu_seconds()
            doc = weasyprint.HTML(string=html, url_fetcher=make_fetcher(app.static_folder)).render()
            doc.write_pdf()
            naive, naive_cpu = time.perf_counter() - t0, cpu_seconds() - c0
            naive_pages = len(doc.pages)
            del doc  # the naive document's memory is not the report's to carry (fork copies)
            gc.collect()
            t0, c0 = time.perf_counter(), cpu_seconds()
            result = render_send_report(data)
            ours, ours_cpu = time.perf_counter() - t0, cpu_seconds() - c0
            print(f"{n:>6} vehicles: naive single table {naive:6.2f} s ({naive_pages} pages) | "
                  f"report {ours:6.2f} s ({result.pages} pages) | ratio {ours / naive:.2f} "
                  f"|| CPU naive {naive_cpu:6.2f} s, report {ours_cpu:6.2f} s (all processes), "
                  f"ratio {ours_cpu / naive_cpu:.2f} | load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 5000])
