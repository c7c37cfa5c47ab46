"""Reading PDFs back as a user would see them: text (pdftotext), images (pdfimages), pixels (pdftoppm)."""
from __future__ import annotations

import io
import os
import subprocess
import tempfile


def pdf_text(pdf: bytes, layout: bool = False, raw: bool = False) -> str:
    """The PDF's text. Default: poppler's reading order, which interleaves the lines of side-by-side
    table cells when both wrap (cell A line 1, cell B line 1, cell A line 2...). ``layout``: laid out
    as on the page. ``raw``: content-stream order, i.e. the order WeasyPrint paints its boxes, so a
    cell's wrapped lines come out together, whatever the font and column widths."""
    assert not (layout and raw), "pdftotext takes -layout or -raw, not both"
    mode = ["-layout"] if layout else ["-raw"] if raw else []
    args = ["pdftotext", "-enc", "UTF-8"] + mode + ["-", "-"]
    return subprocess.run(args, input=pdf, capture_output=True, check=True).stdout.decode("utf-8")


def pdf_pages_text(pdf: bytes) -> list[str]:
    """One string per page (pdftotext separates pages with form feeds)."""
    pages = pdf_text(pdf).split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_image_count(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf", delete=False) as handle:
        handle.write(pdf)
    try:
        out = subprocess.run(["pdfimages", "-list", handle.name], capture_output=True, check=True, text=True).stdout
    finally:
        os.unlink(handle.name)
    return max(0, len(out.strip().splitlines()) - 2)  # two header lines


def page_is_blank(pdf: bytes, page: int = 1) -> bool:
    """Render one page to PNG and tell whether every pixel is white."""
    from PIL import Image

    png = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "40", "-png", "-"],
                         input=pdf, capture_output=True, check=True).stdout
    image = Image.open(io.BytesIO(png)).convert("L")
    return image.getextrema()[0] >= 250


def save_page_png(pdf: bytes, name: str, page: int = 1) -> str:
    """Keep a page as a PNG in test-artifacts/ for a human to look at."""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "test-artifacts")
    os.makedirs(root, exist_ok=True)
    png = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "80", "-png", "-"],
                         input=pdf, capture_output=True, check=True).stdout
    path = os.path.join(root, f"{name}.png")
    with open(path, "wb") as handle:
        handle.write(png)
    return path
