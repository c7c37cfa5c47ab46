"""The print stylesheet for HTML report pages, in a real Chromium with print media emulated."""
from __future__ import annotations


def test_printing_an_html_report_hides_the_menu_and_buttons_and_repeats_table_headers(app, page):
    from flask import render_template

    with app.test_request_context("/"):
        styles = render_template("reports/_print_styles.html")
    page.set_content(f"""<html><head>{styles}</head><body>
        <nav class="navbar" id="menu">Menu</nav><div class="container"><h1>Bilan du 22/11/2026</h1>
        <form id="search"><button class="btn">Chercher</button></form>
        <table><thead id="head"><tr><th>Média</th></tr></thead><tbody><tr><td>eden-auto.com</td></tr></tbody></table>
        </div></body></html>""")
    display = "el => getComputedStyle(el).display"
    assert page.eval_on_selector("#menu", display) == "block"        # on screen nothing changes
    page.emulate_media(media="print")
    assert page.eval_on_selector("#menu", display) == "none"
    assert page.eval_on_selector("#search", display) == "none"
    assert page.eval_on_selector("#head", display) == "table-header-group"
    assert page.eval_on_selector("h1", display) == "block"
    pdf = page.pdf(format="A4")
    from .pdftools import pdf_text

    text = pdf_text(pdf)
    assert "Bilan du 22/11/2026" in text and "eden-auto.com" in text and "Menu" not in text
