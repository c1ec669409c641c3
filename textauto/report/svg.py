"""Charts as inline SVG: the HTML report opens from disk with nothing fetched and no script run.

Each function returns one ``<svg>`` element with its size set, a title for every mark (shown
on hover) and the data's text escaped. Only what the report draws: points and step lines on
two axes, horizontal bars, a heat map of counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

# Tableau's ten categorical colours: distinct for most colour-blind readers too.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
GREY = "#9a9a9a"
SHAPES = ("circle", "square", "triangle", "diamond", "down", "plus", "cross", "star")
FONT = 'font-family="sans-serif" font-size="11"'
MARGIN = (48, 16, 20, 40)  # left, right, top, bottom


@dataclass(frozen=True)
class Scale:
    """Maps data values in ``[lo, hi]`` to pixels in ``[start, end]``."""

    lo: float
    hi: float
    start: float
    end: float

    @classmethod
    def over(cls, values: Sequence[float], start: float, end: float, pad: float = 0.04) -> Scale:
        finite = [v for v in values if math.isfinite(v)] or [0.0, 1.0]
        lo, hi = min(finite), max(finite)
        if hi - lo < 1e-12:  # one value: a band around it
            lo, hi = lo - 0.05 * (abs(lo) or 1.0), hi + 0.05 * (abs(hi) or 1.0)
        span = hi - lo
        return cls(lo - pad * span, hi + pad * span, start, end)

    def __call__(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        """Round values inside the range, about ``count`` of them."""
        raw = (self.hi - self.lo) / count
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first = math.ceil(self.lo / step) * step
        return [first + i * step for i in range(int((self.hi - first) / step) + 1)]


@dataclass
class Series:
    """Marks of one kind and colour: ``points`` as dots, ``step`` as a line that holds its
    value until the next point (a best-so-far curve), ``line`` as straight segments between
    them. ``titles`` name each point on hover."""

    name: str
    points: list[tuple[float, float]]
    kind: str = "points"  # or "step", "line"
    color: str = PALETTE[0]
    shape: str = "circle"  # one of SHAPES
    hollow: bool = False
    titles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reference:
    """A horizontal line across the plot at ``y``, labelled."""

    y: float
    label: str
    color: str = GREY


def fmt(value: float) -> str:
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.2g}"


def chart(
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    references: Sequence[Reference] = (),
    strips: dict[str, list[tuple[float, str]]] | None = None,
    width: int = 640,
    height: int = 320,
) -> str:
    """Points and step lines on shared axes, with horizontal reference lines and a legend.

    ``strips``: rows of hollow grey marks under the plot on the same x axis, for events with
    no y value (a trial pruned or failed), each titled."""
    left, right, top, bottom = MARGIN
    strips = {name: marks for name, marks in (strips or {}).items() if marks}
    xs = [x for s in series for x, _ in s.points] + [x for marks in strips.values() for x, _ in marks]
    ys = [y for s in series for _, y in s.points] + [r.y for r in references]
    sx = Scale.over(xs, left, width - right)
    sy = Scale.over(ys, height - bottom, top)
    body = [_axes(sx, sy, x_label, y_label, width, height)]
    for ref in references:
        y = sy(ref.y)
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{ref.color}" '
            f'stroke-dasharray="4 3"><title>{escape(ref.label)}: {fmt(ref.y)}</title></line>'
            f'<text x="{width - right - 2}" y="{y - 3:.1f}" text-anchor="end" fill="{ref.color}" {FONT}>'
            f"{escape(ref.label)}</text>"
        )
    for s in series:
        body.append(_series(s, sx, sy, width - right))
    if not xs:
        body.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" {FONT}>no data</text>')
    for r, (name, marks) in enumerate(strips.items()):
        y = height + STRIP_ROW * r + 8
        body.append(f'<text x="{left - 4}" y="{y + 4}" text-anchor="end" {FONT}>{escape(name)}</text>')
        body += [mark("circle", sx(x), y, GREY, hollow=True, title=title) for x, title in marks]
    below = height + STRIP_ROW * len(strips)
    return _svg(width, below + _legend_height(series, width), [*body, _legend(series, width, below)])


def mark(shape: str, x: float, y: float, color: str, hollow: bool = False, title: str = "") -> str:
    """One marker centred on (x, y); ``title`` shows on hover."""
    fill = "none" if hollow else color
    tip = f"<title>{escape(title)}</title>" if title else ""
    style = f'fill="{fill}" stroke="{color}" stroke-width="1.2"'
    r = 3.8
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" {style}>{tip}</circle>'
    outline = {
        "square": [(-r, -r), (r, -r), (r, r), (-r, r)],
        "triangle": [(0, -r * 1.2), (r * 1.1, r * 0.8), (-r * 1.1, r * 0.8)],
        "down": [(0, r * 1.2), (r * 1.1, -r * 0.8), (-r * 1.1, -r * 0.8)],
        "diamond": [(0, -r * 1.3), (r, 0), (0, r * 1.3), (-r, 0)],
        "star": [
            (r * 1.3 * math.sin(k * math.pi / 5) * (1 if k % 2 == 0 else 0.45),
             -r * 1.3 * math.cos(k * math.pi / 5) * (1 if k % 2 == 0 else 0.45))
            for k in range(10)
        ],
        "plus": [(-r, -1), (-1, -1), (-1, -r), (1, -r), (1, -1), (r, -1), (r, 1), (1, 1), (1, r), (-1, r),
                 (-1, 1), (-r, 1)],
        "cross": [(-r, -r + 1.4), (-r + 1.4, -r), (0, -1.4), (r - 1.4, -r), (r, -r + 1.4), (1.4, 0),
                  (r, r - 1.4), (r - 1.4, r), (0, 1.4), (-r + 1.4, r), (-r, r - 1.4), (-1.4, 0)],
    }[shape]  # fmt: skip
    points = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in outline)
    return f'<polygon points="{points}" {style}>{tip}</polygon>'


def _points(s: Series, sx: Scale, sy: Scale) -> str:
    marks = []
    for i, (x, y) in enumerate(s.points):
        title = s.titles[i] if i < len(s.titles) else f"{s.name}: {fmt(x)}, {fmt(y)}"
        marks.append(mark(s.shape, sx(x), sy(y), s.color, s.hollow, title))
    return f'<g class="series">{"".join(marks)}</g>'


def _step(s: Series, sx: Scale, sy: Scale, x_end: float) -> str:
    if not s.points:
        return ""
    path = [f"M{sx(s.points[0][0]):.1f},{sy(s.points[0][1]):.1f}"]
    for x1, y1 in s.points[1:]:
        path.append(f"H{sx(x1):.1f}V{sy(y1):.1f}")
    path.append(f"H{x_end:.1f}")
    return (
        f'<path d="{"".join(path)}" fill="none" stroke="{s.color}" stroke-width="2">'
        f"<title>{escape(s.name)}</title></path>"
    )


def _series(s: Series, sx: Scale, sy: Scale, x_end: float) -> str:
    if s.kind == "step":
        return _step(s, sx, sy, x_end)
    return _line(s, sx, sy) if s.kind == "line" else _points(s, sx, sy)


def _line(s: Series, sx: Scale, sy: Scale) -> str:
    points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s.points)
    return (
        f'<polyline points="{points}" fill="none" stroke="{s.color}" stroke-width="1.5">'
        f"<title>{escape(s.name)}</title></polyline>"
    )


def _axes(sx: Scale, sy: Scale, x_label: str, y_label: str, width: int, height: int) -> str:
    left, right, top, bottom = MARGIN
    parts = [
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" '
        'fill="none" stroke="#ccc"/>'
    ]
    for t in sx.ticks():
        x = sx(t)
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 13}" text-anchor="middle" {FONT}>{fmt(t)}</text>'
        )
    for t in sy.ticks():
        y = sy(t)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{fmt(t)}</text>'
        )
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 4}" text-anchor="middle" {FONT}>'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{(top + height - bottom) / 2}" text-anchor="middle" {FONT} '
        f'transform="rotate(-90 12 {(top + height - bottom) / 2})">{escape(y_label)}</text>'
    )
    return "".join(parts)


LEGEND_ROW = 16
STRIP_ROW = 16


def _legend_rows(series: Sequence[Series], width: int) -> list[list[Series]]:
    rows: list[list[Series]] = [[]]
    used = 0
    for s in series:
        need = 24 + 7 * len(s.name)
        if rows[-1] and used + need > width - MARGIN[0]:
            rows.append([])
            used = 0
        rows[-1].append(s)
        used += need
    return [row for row in rows if row]


def _legend_height(series: Sequence[Series], width: int) -> int:
    return LEGEND_ROW * len(_legend_rows(series, width)) + 4


def _legend(series: Sequence[Series], width: int, height: int) -> str:
    parts = []
    for r, row in enumerate(_legend_rows(series, width)):
        x = float(MARGIN[0])
        y = height + 4 + r * LEGEND_ROW
        for s in row:
            line = f'<line x1="{x}" x2="{x + 14}" y1="{y + 6}" y2="{y + 6}" stroke="{s.color}" '
            line += 'stroke-width="2"/>'
            sample = line if s.kind in ("step", "line") else mark(s.shape, x + 7, y + 6, s.color, s.hollow)
            parts.append(f'{sample}<text x="{x + 18}" y="{y + 10}" {FONT}>{escape(s.name)}</text>')
            x += 24 + 7 * len(s.name)
    return f'<g class="legend">{"".join(parts)}</g>'


def bars(labels: Sequence[str], values: Sequence[float], *, x_label: str, width: int = 640) -> str:
    """Horizontal bars, one row per label, longest scale first as given."""
    label_width = min(260, 12 + 7 * max((len(lab) for lab in labels), default=0))
    height = 24 + 20 * len(labels) + 24
    sx = Scale(0.0, max([*values, 1e-12]) * 1.05, label_width, width - MARGIN[1])
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 12 + 20 * i
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end" {FONT}>{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 2}" width="{max(sx(value) - label_width, 0.5):.1f}" '
            f'height="14" fill="{PALETTE[0]}"><title>{escape(label)}: {fmt(value)}</title></rect>'
            f'<text x="{sx(value) + 4:.1f}" y="{y + 13}" {FONT}>{fmt(value)}</text>'
        )
    parts.append(
        f'<text x="{(label_width + width) / 2}" y="{height - 6}" text-anchor="middle" {FONT}>'
        f"{escape(x_label)}</text>"
    )
    return _svg(width, height, parts)


def heatmap(row_labels: Sequence[str], col_labels: Sequence[str], counts: Sequence[Sequence[int]]) -> str:
    """A matrix of counts (rows: true class, columns: predicted), darker for more of its row."""
    n_rows, n_cols = len(row_labels), len(col_labels)
    cell = max(18, min(44, 520 // max(n_cols, 1)))
    label_width = min(200, 12 + 7 * max((len(lab) for lab in row_labels), default=0))
    top = 28
    width, height = label_width + cell * n_cols + 8, top + cell * n_rows + 24
    parts = []
    for j, label in enumerate(col_labels):
        x = label_width + cell * (j + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{top - 6}" text-anchor="middle" {FONT}>{escape(label[:6])}</text>'
        )
    for i, label in enumerate(row_labels):
        total = sum(counts[i]) or 1
        y = top + cell * i
        parts.append(f'<text x="{label_width - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" {FONT}>'
                     f"{escape(label)}</text>")  # fmt: skip
        for j, count in enumerate(counts[i]):
            share = count / total
            colour = f"rgba(78,121,167,{0.08 + 0.92 * share:.3f})" if count else "#fafafa"
            ink = "#fff" if share > 0.55 else "#222"
            x = label_width + cell * j
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{colour}">'
                f"<title>true {escape(label)}, predicted {escape(col_labels[j])}: {count}</title></rect>"
                f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" fill="{ink}" '
                f"{FONT}>{count}</text>"
            )
    parts.append(
        f'<text x="{label_width + cell * n_cols / 2:.1f}" y="{height - 6}" text-anchor="middle" {FONT}>'
        "predicted class (rows: true class)</text>"
    )
    return _svg(width, height, parts)


def _svg(width: float, height: float, parts: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">{"".join(parts)}</svg>'
    )
