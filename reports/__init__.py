"""Printable PDF reports: the send report (bilan d'envoi) and the campaign summary (§8).

``reports.pdf`` is the rendering engine (WeasyPrint, chunked and page-numbered), ``reports.fetcher``
the only URL fetcher it uses; ``send_report`` and ``campaign_summary`` turn domain rows into HTML.
"""
