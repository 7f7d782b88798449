"""Charts drawn on the server as SVG: no scripts, no network, the same markup in HTML and PDF.

Presentation attributes only (no ``style``), so the page's CSP (``style-src 'self'``)
allows the SVG inline, and WeasyPrint draws the same text as text (it stays searchable
in the PDF).  Every label is escaped: series names come from stored data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "stacked_days"]

PALETTE = ("#1f5fa8", "#d9822b", "#2e8b57", "#a83232", "#6a4c93", "#4a7f8c", "#8c6d1f", "#555555")
FONT = "DejaVu Sans, sans-serif"


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(title: str, values: Mapping[str, float], *, width: int = 560, fmt: str = "{}") -> Markup:
    """Horizontal bars, one per label, largest first (at most twelve)."""
    items = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:12]
    row = 20
    height = 30 + row * max(1, len(items))
    top = max((v for _, v in items), default=0) or 1
    label_w = 170
    bar_w = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-size="12" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]
    for i, (label, v) in enumerate(items):
        y = 24 + i * row
        w = int(bar_w * v / top)
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<text x="0" y="{y + 13}" fill="#222">{escape(label[:28])}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1)}" height="{row - 6}" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{label_w + w + 4}" y="{y + 13}" fill="#222">{escape(fmt.format(_num(v)))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_days(
    title: str, days: Sequence[str], groups: Mapping[str, Sequence[float]], *, width: int = 560
) -> Markup:
    """Columns per day, stacked by group, with a legend; day labels are the given strings."""
    height = 200
    legend_rows = (len(groups) + 2) // 3
    total_h = height + 20 + 16 * legend_rows
    n = max(1, len(days))
    plot_x, plot_w, plot_top, plot_h = 30, width - 40, 24, height - 60
    sums = [sum(g[i] for g in groups.values() if i < len(g)) for i in range(n)]
    top = max(sums, default=0) or 1
    col = plot_w / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{total_h}" '
        f'viewBox="0 0 {width} {total_h}" font-family="{FONT}" font-size="10">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-size="12" font-weight="bold" fill="#222">{escape(title)}</text>',
        f'<text x="0" y="{plot_top + 8}" fill="#555">{_num(top)}</text>',
        f'<line x1="{plot_x}" y1="{plot_top + plot_h}" x2="{plot_x + plot_w}" y2="{plot_top + plot_h}" stroke="#999"/>',
    ]
    for i in range(n):
        base = float(plot_top + plot_h)
        for k, (_name, vals) in enumerate(groups.items()):
            v = vals[i] if i < len(vals) else 0
            if not v:
                continue
            h = plot_h * v / top
            base -= h
            parts.append(
                f'<rect x="{plot_x + i * col + 1:.1f}" y="{base:.1f}" width="{max(col - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[k % len(PALETTE)]}"/>'
            )
        if n <= 16 or i % max(1, n // 8) == 0:
            parts.append(
                f'<text x="{plot_x + i * col + col / 2:.1f}" y="{plot_top + plot_h + 14}" '
                f'text-anchor="middle" fill="#333">{escape(days[i] if i < len(days) else "")}</text>'
            )
    for k, name in enumerate(groups):
        lx = (k % 3) * (width // 3)
        ly = height + 10 + (k // 3) * 16
        parts.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 14}" y="{ly + 9}" fill="#222">{escape(name[:30])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
