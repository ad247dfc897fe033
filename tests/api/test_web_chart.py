"""The papers-per-year chart's geometry (api/web_chart.py): one bar per year, gaps as zero bars, scaled."""

from __future__ import annotations

import pytest

from api.web_chart import year_chart


def test_year_chart_geometry() -> None:
    chart = year_chart({2020: 1, 2022: 4, 2023: 2}, "t")
    assert chart is not None
    assert [b.label for b in chart.bars] == ["2020", "2021", "2022", "2023"]
    assert [b.value for b in chart.bars] == [1, 0, 4, 2]
    heights = [b.h for b in chart.bars]
    assert heights[1] == 0 and heights[2] == max(heights)
    assert heights[0] == pytest.approx(heights[2] / 4, rel=0.02)
    assert all(b.y + b.h == pytest.approx(chart.base) for b in chart.bars)
    assert all(chart.left <= b.x and b.x + b.w <= chart.width - chart.right + 0.5 for b in chart.bars)
    assert year_chart({}, "t") is None

