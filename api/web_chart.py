"""Geometry of the server-side papers-per-year bar chart (the SVG markup is a Jinja template)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Bar:
    """One bar: its year label, value and rectangle."""

    label: str
    value: int
    x: float
    y: float
    w: float
    h: float
    cx: float
    show_label: bool


@dataclass
class Tick:
    """A horizontal grid line with its value label."""

    y: float
    label: str


@dataclass
class Chart:
    """Everything the template needs to draw the chart."""

    title: str
    width: int
    height: int
    left: int
    right: int
    base: float
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    # Papers of the years before the first bar (the span is capped), which the bars leave out.
    earlier: int = 0


def _nice_step(top: int, target_ticks: int = 4) -> int:
    """A 1/2/5 x 10^k step giving about `target_ticks` grid lines up to `top`."""
    raw = max(1.0, top / target_ticks)
    magnitude = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if mult * magnitude >= raw:
            return int(mult * magnitude)
    return int(10 * magnitude)


def year_chart(counts: dict[int, int], title: str, *, width: int = 320, height: int = 150) -> Chart | None:
    """Lay out one bar per year from the first to the last year with papers (gaps drawn as zero)."""
    years = sorted(y for y, n in counts.items() if y is not None and n > 0)
    if not years:
        return None
    span = list(range(years[0], years[-1] + 1))
    # Cap the span so a stray very old year cannot make bars one pixel wide.
    if len(span) > 40:
        span = span[-40:]
    # Counted, so the page can say they are not drawn.
    earlier = sum(int(n) for y, n in counts.items() if y is not None and n > 0 and y < span[0])
    left, right, top_pad, bottom_pad = 28, 6, 14, 18
    base = height - bottom_pad
    plot_w = width - left - right
    plot_h = base - top_pad
    top = max(counts.get(y, 0) for y in span)
    step = _nice_step(top)
    axis_top = max(step, math.ceil(top / step) * step)
    slot = plot_w / len(span)
    bar_w = max(2.0, slot * 0.72)
    label_every = max(1, math.ceil(len(span) / 8))
    bars = []
    for i, year in enumerate(span):
        value = int(counts.get(year, 0))
        h = plot_h * value / axis_top
        x = left + i * slot + (slot - bar_w) / 2
        bars.append(Bar(
            label=str(year), value=value, x=round(x, 1), y=round(base - h, 1), w=round(bar_w, 1),
            h=round(h, 1), cx=round(x + bar_w / 2, 1),
            show_label=(i % label_every == 0) or i == len(span) - 1,
        ))
    ticks = [
        Tick(y=round(base - plot_h * v / axis_top, 1), label=str(v))
        for v in range(step, axis_top + 1, step)
    ]
    return Chart(title=title, width=width, height=height, left=left, right=right, base=base,
                 bars=bars, ticks=ticks, earlier=earlier)
