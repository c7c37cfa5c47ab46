"""SVG bar charts: valid markup, one link per bar, every text escaped."""
import xml.etree.ElementTree as ET

import pytest

from reports.charts import Bar, column_chart, paired_column_chart, row_chart

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.no_db
@pytest.mark.parametrize("render", [column_chart, row_chart])
def test_each_bar_is_a_link_and_hostile_text_stays_text(render):
    bars = [Bar("<script>alert(1)</script>", 3, href="/stock/retail/?make=A&score=2", key="a"),
            Bar('Mar"que', 0, href="/stock/retail/?make=B", key="b"),
            Bar("sans lien", 5)]
    svg = str(render(bars, title="Titre <b>", testid="chart-x"))
    root = ET.fromstring(svg)  # well-formed XML, printable by WeasyPrint
    links = root.findall(f".//{SVG}a")
    assert [a.get("href") for a in links] == ["/stock/retail/?make=A&score=2", "/stock/retail/?make=B"]
    assert [a.get("data-value") for a in links] == ["3", "0"]
    assert "<script>" not in svg and "<b>" not in svg
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "<script>alert(1)</script>" in texts or "<script>alert(1)</scrip" in texts


@pytest.mark.no_db
def test_bars_are_proportional_to_their_values():
    svg = str(column_chart([Bar("a", 10, href="/x"), Bar("b", 5, href="/y"), Bar("c", 0, href="/z")]))
    root = ET.fromstring(svg)
    heights = [float(a.findall(f"{SVG}rect")[1].get("height")) for a in root.findall(f".//{SVG}a")]
    assert heights[0] == pytest.approx(2 * heights[1]) and heights[2] == 0


@pytest.mark.no_db
def test_the_comparison_chart_has_no_link():
    svg = str(paired_column_chart(["0–30 j", "> 180 j"], [("Vous", "#00f", [40, 60]), ("Réseau", "#999", [55, 45])],
                                  title="Âge du stock"))
    root = ET.fromstring(svg)
    assert not root.findall(f".//{SVG}a")
    assert "Réseau" in svg and "60" in svg


@pytest.mark.no_db
def test_charts_print_in_a_pdf():
    from weasyprint import HTML

    from reports.fetcher import make_fetcher

    chart = column_chart([Bar("0–30 j", 12, href="/stock/retail/?stock_age=0-30"), Bar("> 180 j", 3)],
                         title="Âge du stock")
    rows = row_chart([Bar("PEUGEOT", 11, href="/stock/retail/?make=PEUGEOT")])
    pdf = HTML(string=f"<html><body>{chart}{rows}</body></html>", base_url="/",
               url_fetcher=make_fetcher("static")).write_pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
