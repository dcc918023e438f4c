"""The server-rendered SVG chart: axes, zero line, one path per series, escaped text."""

import re
import xml.etree.ElementTree as ET

from tournaments.charts import Series, line_chart_svg, nice_ticks, score_history_svg

SVG = "{http://www.w3.org/2000/svg}"


def _paths(svg: str) -> list[str]:
    return re.findall(r'<path d="([^"]*)"', svg)


def test_score_history_has_a_path_per_series_axes_and_a_zero_line():
    history = [
        {"round": 1, "corr": 0.02, "mmc": -0.01},
        {"round": 2, "corr": 0.035, "mmc": 0.004},
        {"round": 3, "corr": -0.01, "mmc": 0.012},
    ]
    svg = str(score_history_svg(history=history, model_name="gale"))
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    series = root.findall(f"{SVG}g[@data-series]")
    assert [g.get("data-series") for g in series] == ["CORR", "MMC"]
    for g in series:
        path = g.find(f"{SVG}path").get("d")
        assert path.startswith("M") and path.count("L") == 2  # three points, one line
        assert len(g.findall(f"{SVG}circle")) == 3
    assert 'class="axis axis-x"' in svg and 'class="axis axis-y"' in svg
    assert 'class="zero-line"' in svg
    for label in ("R1", "R2", "R3", "gale: CORR and MMC per round"):
        assert label in svg
    assert "CORR at R2: +0.0350" in svg  # tooltip


def test_higher_values_are_drawn_higher():
    svg = str(line_chart_svg(x_labels=["a", "b"], series=[Series("s", [0.0, 0.05])], title="t"))
    (path,) = _paths(svg)
    (_, y0), (_, y1) = [map(float, p[1:].split()) for p in path.split(" L")]
    assert y1 < y0  # SVG y grows downwards


def test_names_and_labels_are_escaped():
    evil = '<script>alert("x")</script>'
    svg = str(
        line_chart_svg(
            x_labels=["<b>1</b>"], series=[Series(evil, [0.1]), Series("a&b", [0.2])], title=evil
        )
    )
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg
    assert "a&amp;b" in svg
    ET.fromstring(svg)  # still well-formed


def test_gaps_split_the_path_and_empty_history_says_so():
    svg = str(
        line_chart_svg(
            x_labels=[1, 2, 3, 4], series=[Series("s", [0.1, None, 0.2, 0.3])], title="t"
        )
    )
    (path,) = _paths(svg)
    assert path.count("M") == 2 and path.count("L") == 1
    empty = str(score_history_svg(history=[], model_name="new"))
    assert "No scores yet" in empty and "<path" not in empty
    ET.fromstring(empty)


def test_nice_ticks_cover_the_range_with_round_steps():
    assert [round(t, 10) for t in nice_ticks(-0.013, 0.047)] == [-0.01, 0.0, 0.01, 0.02, 0.03, 0.04]
    assert [round(t, 10) for t in nice_ticks(-0.05, 0.05)] == [-0.04, -0.02, 0.0, 0.02, 0.04]
    assert [round(t, 10) for t in nice_ticks(-1.2, 3.9)] == [-1, 0, 1, 2, 3]
    assert nice_ticks(0.3, 0.3) == [0.3]
