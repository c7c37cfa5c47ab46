"""Server-rendered SVG bar charts: data in, markup out (§4).

Plain functions with no Flask dependency, so the same chart renders in a page and in a PDF
(WeasyPrint draws inline SVG). Every bar with an ``href`` is wrapped in an SVG ``<a>`` link;
every text is escaped. Sizes are in SVG user units; the chart scales to its container.
"""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_COLOUR = "#0b5ed7"
NETWORK_COLOUR = "#adb5bd"
TEXT_COLOUR = "#212529"
FONT = "font-family=\"Helvetica, Arial, sans-serif\""


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value, the text shown on it, and the link it opens (None: no link)."""
    label: str
    value: float
    href: str | None = None
    text: str | None = None      # shown at the end of the bar; defaults to the value
    tooltip: str | None = None   # hover text; defaults to "label : text"
    key: str | None = None       # stable identifier (data-key), used by tests and scripts


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:.1f}".replace(".", ",")


def _fmt_raw(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _wrap_link(bar: Bar, body: str, testid: str | None) -> str:
    key = escape(bar.key if bar.key is not None else bar.label)
    tip = escape(bar.tooltip or f"{bar.label} : {bar.text or _fmt(bar.value)}")
    inner = f"<title>{tip}</title>{body}"
    attrs = f' class="chart-bar" data-key="{key}" data-value="{escape(_fmt_raw(bar.value))}"'
    if testid:
        attrs += f' data-testid="{escape(testid)}-{key}"'
    if bar.href:
        return f'<a href="{escape(bar.href)}"{attrs}>{inner}</a>'
    return f"<g{attrs}>{inner}</g>"


def column_chart(bars: list[Bar], *, title: str = "", colour: str = BAR_COLOUR, testid: str | None = None,
                 width: int = 420, height: int = 190, max_value: float | None = None) -> Markup:
    """Vertical bars with their labels underneath (score, age buckets)."""
    bars = list(bars)
    top, bottom, left, right = (34 if title else 18), 22, 8, 8
    plot_h = height - top - bottom
    n = max(len(bars), 1)
    slot = (width - left - right) / n
    bar_w = max(6.0, slot * 0.68)
    peak = max_value if max_value is not None else max([b.value for b in bars] + [0])
    parts = [_open(width, height, title, testid)]
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
                 f'stroke="#ced4da" stroke-width="1"/>')
    for i, bar in enumerate(bars):
        h = 0.0 if peak <= 0 else (plot_h - 12) * (bar.value / peak)
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        cx = x + bar_w / 2
        text = escape(bar.text or _fmt(bar.value))
        body = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 0.0):.1f}" fill="{colour}"/>'
                f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" {FONT} '
                f'fill="{TEXT_COLOUR}">{text}</text>'
                f'<text x="{cx:.1f}" y="{top + plot_h + 14:.1f}" text-anchor="middle" font-size="11" {FONT} '
                f'fill="{TEXT_COLOUR}">{escape(bar.label)}</text>')
        # A transparent hit area over the whole slot so short bars stay easy to click.
        hit = (f'<rect x="{left + i * slot:.1f}" y="{top:.1f}" width="{slot:.1f}" height="{plot_h + 18:.1f}" '
               f'fill="transparent"/>')
        parts.append(_wrap_link(bar, hit + body, testid))
    parts.append("</svg>")
    return Markup("".join(parts))


def row_chart(bars: list[Bar], *, title: str = "", colour: str = BAR_COLOUR, testid: str | None = None,
              width: int = 420, row_height: int = 22, label_width: int = 150,
              max_value: float | None = None) -> Markup:
    """Horizontal bars with their labels on the left (energy, site, make: long labels)."""
    bars = list(bars)
    top = 18 if title else 4
    height = top + row_height * max(len(bars), 1) + 4
    value_w = 56
    plot_w = width - label_width - value_w
    peak = max_value if max_value is not None else max([b.value for b in bars] + [0])
    parts = [_open(width, height, title, testid)]
    for i, bar in enumerate(bars):
        y = top + i * row_height
        w = 0.0 if peak <= 0 else plot_w * (bar.value / peak)
        label = bar.label if len(bar.label) <= 24 else bar.label[:23] + "…"
        text = escape(bar.text or _fmt(bar.value))
        body = (f'<rect x="0" y="{y:.1f}" width="{width}" height="{row_height}" fill="transparent"/>'
                f'<text x="{label_width - 6}" y="{y + row_height * 0.68:.1f}" text-anchor="end" font-size="11" '
                f'{FONT} fill="{TEXT_COLOUR}">{escape(label)}</text>'
                f'<rect x="{label_width}" y="{y + 3:.1f}" width="{w:.1f}" height="{row_height - 6}" fill="{colour}"/>'
                f'<text x="{label_width + w + 4:.1f}" y="{y + row_height * 0.68:.1f}" font-size="11" {FONT} '
                f'fill="{TEXT_COLOUR}">{text}</text>')
        parts.append(_wrap_link(bar, body, testid))
    if not bars:
        parts.append(f'<text x="{width / 2}" y="{top + 14}" text-anchor="middle" font-size="12" {FONT} '
                     f'fill="#6c757d">–</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def paired_column_chart(labels: list[str], series: list[tuple[str, str, list[float]]], *, title: str = "",
                        testid: str | None = None, width: int = 420, height: int = 190,
                        unit: str = " %") -> Markup:
    """Side-by-side bars per label for a few series ``(name, colour, values)``: a comparison, no links."""
    top, bottom, left, right = (34 if title else 18) + 14, 22, 8, 8
    plot_h = height - top - bottom
    n = max(len(labels), 1)
    slot = (width - left - right) / n
    k = max(len(series), 1)
    bar_w = max(4.0, slot * 0.8 / k)
    peak = max([v for _n, _c, values in series for v in values] + [0])
    parts = [_open(width, height, title, testid)]
    legend_x = 4
    for name, colour, _values in series:  # legend under the title
        parts.append(f'<rect x="{legend_x}" y="{top - 22}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="{top - 13}" font-size="10" {FONT} fill="{TEXT_COLOUR}">'
                     f'{escape(name)}</text>')
        legend_x += 20 + 7 * len(name)
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
                 f'stroke="#ced4da" stroke-width="1"/>')
    for i, label in enumerate(labels):
        x0 = left + i * slot + (slot - bar_w * k) / 2
        group = []
        for j, (name, colour, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = 0.0 if peak <= 0 else (plot_h - 12) * (value / peak)
            x = x0 + j * bar_w
            y = top + plot_h - h
            group.append(f'<g><title>{escape(name)} – {escape(label)} : {escape(_fmt(round(value)))}{escape(unit)}'
                         f'</title><rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"/><text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                         f'font-size="9" {FONT} fill="{TEXT_COLOUR}">{escape(_fmt(round(value)))}</text></g>')
        group.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{top + plot_h + 14:.1f}" text-anchor="middle" '
                     f'font-size="11" {FONT} fill="{TEXT_COLOUR}">{escape(label)}</text>')
        parts.append("".join(group))
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(width: int, height: int, title: str, testid: str | None) -> str:
    label = escape(title)
    attrs = f' data-testid="{escape(testid)}"' if testid else ""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" viewBox="0 0 {width} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{label}"{attrs}>')
    if title:
        head += (f'<text x="4" y="12" font-size="12" font-weight="bold" {FONT} fill="{TEXT_COLOUR}">'
                 f'{label}</text>')
    return head
