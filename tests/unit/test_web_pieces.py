"""Web UI pieces without I/O: downsampling, the lineage layout, CSRF and redirect guards, and
the package data that ships the templates and vendored assets."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from provledger.adapters.web import charts, graph
from provledger.adapters.web.auth import csrf_for, safe_next
from provledger.domain.record import MetricPoint

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "adapters" / "web"


def test_downsampling_caps_the_points_and_keeps_every_buckets_extremes() -> None:
    points = [MetricPoint(value=float(i % 97), step=i) for i in range(100_000)]
    points[54_321] = MetricPoint(value=-5.0, step=54_321)  # one spike down
    shown = charts.chart("loss", points)
    assert shown["points"] == 100_000
    assert shown["shown"] <= charts.DISPLAY_POINTS
    assert min(shown["series"][0]["y"]) == -5.0
    assert max(shown["series"][0]["y"]) == 96.0
    assert shown["x"] == sorted(shown["x"])


def test_a_short_series_is_shown_whole_and_points_without_steps_use_their_index() -> None:
    shown = charts.chart("t", [MetricPoint(value=2.0), MetricPoint(value=float("nan"))])
    assert shown["x"] == [0.0, 1.0]
    assert shown["series"][0]["y"] == [2.0, None]


def test_overlaid_runs_share_one_x_axis_with_gaps_where_a_run_has_no_point() -> None:
    a = [MetricPoint(value=1.0, step=0), MetricPoint(value=2.0, step=2)]
    b = [MetricPoint(value=3.0, step=1)]
    chart = charts.overlay("m", [("a", a), ("b", b)])
    assert chart["x"] == [0.0, 1.0, 2.0]
    assert [s["y"] for s in chart["series"]] == [[1.0, None, 2.0], [None, 3.0, None]]


def test_the_lineage_layout_puts_producers_left_and_consumers_right_of_the_file() -> None:
    nodes = [
        {"id": "f", "type": "file", "uris": ["out/a.nc"]},
        {"id": "p", "type": "execution", "execution_id": "make", "status": "succeeded"},
        {"id": "c", "type": "execution", "execution_id": "use", "status": "failed"},
    ]
    edges = [
        {"from": "f", "relation": "wasGeneratedBy", "to": "p"},
        {"from": "c", "relation": "used", "to": "f"},
    ]
    cols = {p.node["id"]: p.col for p in graph.layout("f", nodes, edges)}
    assert cols == {"p": -1, "f": 0, "c": 1}
    drawn = graph.svg("f", nodes, edges)
    assert 'href="/executions/p"' in drawn
    assert 'href="/files/f"' in drawn
    assert "<script" not in drawn


def test_labels_in_the_graph_are_escaped() -> None:
    nodes = [{"id": "f", "type": "file", "uris": ["<script>alert(1)</script>"]}]
    assert "<script>" not in graph.svg("f", nodes, [])


def test_the_csrf_token_is_bound_to_the_token_and_redirects_stay_on_site() -> None:
    assert csrf_for("plt_a") != csrf_for("plt_b")
    assert "plt_a" not in csrf_for("plt_a")
    assert safe_next("/cases/a/b?x=1") == "/cases/a/b?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", "", None):
        assert safe_next(bad) == "/"


def test_every_template_and_static_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["provledger.adapters.web"]
    shipped = [
        p.relative_to(WEB).as_posix()
        for folder in ("templates", "static")
        for p in (WEB / folder).rglob("*")
        if p.is_file()
    ]
    assert shipped
    missing = [f for f in shipped if not any(fnmatch.fnmatchcase(f, pat) for pat in patterns)]
    assert missing == []
    for vendor in ("htmx", "uplot"):
        assert (WEB / "static" / "vendor" / vendor / "LICENSE").exists()
