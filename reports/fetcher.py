"""The URL fetcher of every PDF render: ``data:`` URLs and the app's static folder, nothing else.

WeasyPrint's default fetcher follows any URL a document names (http, https, ftp, file): a vehicle
description turned into markup could then read local files or reach internal hosts (SSRF). User text is
always escaped, so no user URL should ever reach here; this fetcher is the second wall.
"""
from __future__ import annotations

import logging
import mimetypes
import os
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)


class RefusedURL(ValueError):
    """A resource the report is not allowed to load."""


def _url_fetcher_base():
    from weasyprint import URLFetcher  # imported late: WeasyPrint costs seconds to import

    return URLFetcher


def make_fetcher(static_folder: str):
    """A fetcher instance serving ``data:`` and files under ``static_folder`` only."""
    base = _url_fetcher_base()

    class StaticOnlyFetcher(base):
        """Serves ``data:`` URLs and ``file://`` URLs inside the static folder; refuses the rest."""

        def __init__(self, root: str):
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)
            self.root = os.path.realpath(root)
            self.asked: list[str] = []    # every URL the document asked for
            self.refused: list[str] = []  # the ones refused (logged, shown in tests)

        def fetch(self, url, headers=None):
            self.asked.append(url)
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = os.path.realpath(unquote(urlsplit(url).path))
                if path.startswith(self.root + os.sep) and os.path.isfile(path):
                    with open(path, "rb") as handle:
                        body = handle.read()
                    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
                    from weasyprint.urls import URLFetcherResponse

                    return URLFetcherResponse(url, body, {"Content-Type": mime})
            self.refused.append(url)
            log.warning("PDF render: refused to fetch %s", url[:200])
            raise RefusedURL(f"resource refused: {url[:200]}")

    return StaticOnlyFetcher(static_folder)
