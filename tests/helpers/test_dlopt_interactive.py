"""dlopt.interactive: self-contained slider figures over precomputed data.

The HTML carries its sliders and its data, nothing else: no URL to fetch, no dollar sign for the
page's math rendering, fresh element ids at every rendering; the embedded data round-trip; the figure
computes nothing (it holds no update rule or schedule) and refuses incomplete grids.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import dlopt.interactive as interactive
from dlopt.interactive import Slider, SliderFigure, Trace, contour_paths, embedded_config, series_at, tabulate


def make_figure(name="demo"):
    rate = Slider("rate", "decay rate r", [0.5, 0.8, 0.9], fmt="{:.1f}")
    shift = Slider("shift", "shift", [0.0, 1.0, 2.0, 3.0], initial=1)
    flag = Slider("flag", "staircase", [False, True], checkbox=True)
    steps = np.arange(20)
    curves = Trace("power", tabulate(lambda r, s: r ** steps + s, rate, shift), depends=["rate", "shift"], x=steps)
    path = Trace("path", tabulate(lambda f: (np.cos(steps / 3.0), np.sin(steps / 3.0) * (2 if f else 1)), flag),
                 depends=["flag"], markers=True)
    constant = Trace("constant", {(): steps * 0 + 0.5}, x=steps, dash="4 2")
    return SliderFigure(name, [rate, shift, flag], [curves, path, constant], xlabel="step k", ylabel="value",
                        title="a demo", points=[(0.0, 0.0, "origin")])


def ids(html):
    return re.findall(r'\bid="([^"]+)"', html)


def test_html_contains_sliders_labels_data_and_the_stable_name():
    html = make_figure().to_html()
    assert 'data-dlopt-figure="demo"' in html
    assert '<script type="application/json"' in html
    config = embedded_config(html)
    assert [s["name"] for s in config["sliders"]] == ["rate", "shift", "flag"]
    assert config["sliders"][0]["labels"] == ["0.5", "0.8", "0.9"]
    assert config["sliders"][2]["checkbox"] and config["sliders"][2]["labels"] == ["off", "on"]
    assert config["sliders"][1]["initial"] == 1 and config["sliders"][0]["initial"] == 1  # given, and the middle
    # the controls are built by the script: a range input per slider, a checkbox for a flag
    assert "input.type = 'range'" in html and "input.type = 'checkbox'" in html
    assert len(config["traces"][0]["data"]) == 12 and set(config["traces"][1]["data"]) == {"0", "1"}
    assert config["traces"][2]["data"].keys() == {""}


def test_element_ids_are_unique_within_and_across_figures():
    first, second = make_figure().to_html(), make_figure().to_html()
    assert len(set(ids(first))) == len(ids(first))
    assert set(ids(first)).isdisjoint(ids(second))
    # the script refers to its own container only
    container = ids(first)[0]
    assert f'document.getElementById("{container}")' in first and container not in second
    figure = make_figure("other-name")
    assert set(ids(figure.to_html())).isdisjoint(ids(figure.to_html()))   # the same object rendered twice


def test_embedded_data_round_trip():
    figure = make_figure()
    config = embedded_config(figure.to_html())
    steps = np.arange(20)
    for r in (0.5, 0.8, 0.9):
        for s in (0.0, 1.0, 2.0, 3.0):
            x, y = series_at(config, "power", rate=r, shift=s)
            assert np.array_equal(x, steps)
            assert np.allclose(y, r ** steps + s, rtol=5e-4, atol=0)  # 4 significant digits
    for flag in (False, True):
        x, y = series_at(config, "path", flag=flag)
        assert np.allclose(x, np.cos(steps / 3.0), rtol=5e-4, atol=1e-12)
        assert np.allclose(y, np.sin(steps / 3.0) * (2 if flag else 1), rtol=5e-4, atol=1e-12)
    assert np.allclose(series_at(config, "constant")[1], 0.5)
    assert config == figure.config()
    with pytest.raises(KeyError):
        series_at(config, "power", rate=0.7, shift=0.0)


def test_non_finite_values_become_gaps_and_axes_cover_all_positions():
    slider = Slider("a", "a", [1.0, 2.0])
    trace = Trace("t", {(0,): [1.0, np.inf, 3.0], (1,): [1.0, np.nan, 30.0]}, depends=["a"], x=[0, 1, 2])
    config = SliderFigure("gaps", [slider], [trace]).config()
    assert config["traces"][0]["data"]["1"] == [1.0, None, 30.0]
    assert config["ylim"][0] < 1.0 and config["ylim"][1] > 30.0          # fixed over every slider position


def test_no_url_no_dollar_no_cdn():
    html = make_figure().to_html()
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)   # only the SVG namespace name, never fetched
    assert "$" not in html and "`" not in html
    assert "<script src" not in html and "<link" not in html and "import " not in html
    with pytest.raises(ValueError, match=r"\$"):
        SliderFigure("dollar", [Slider("a", "$a$", [1.0])], [Trace("t", {(0,): [1.0]}, depends=["a"], x=[0])]).to_html()


def test_incomplete_or_inconsistent_figures_are_refused():
    a = Slider("a", "a", [1.0, 2.0])
    with pytest.raises(ValueError, match="no curve"):
        SliderFigure("x", [a], [Trace("t", {(0,): [1.0]}, depends=["a"], x=[0])])
    with pytest.raises(ValueError, match="unknown"):
        SliderFigure("x", [a], [Trace("t", {(0,): [1.0]}, depends=["b"], x=[0])])
    with pytest.raises(ValueError, match="name"):
        SliderFigure("Bad Name", [a], [])
    with pytest.raises(ValueError, match="checkbox"):
        Slider("f", "f", [0, 1, 2], checkbox=True)
    with pytest.raises(ValueError, match="length"):
        SliderFigure("x", [a], [Trace("t", {(0,): [1.0], (1,): [1.0, 2.0]}, depends=["a"], x=[0])]).config()


def test_contour_paths_lie_on_their_level_sets():
    loss = lambda w: w[0] ** 2 + 4 * w[1] ** 2  # noqa: E731
    paths = contour_paths(loss, (-2, 2), (-2, 2), levels=5, resolution=80)
    assert len(paths) >= 5
    for path in paths:
        values = [loss(p) for p in path]
        assert np.ptp(values) < 0.05 * max(values) + 1e-3
        assert len(path) <= 62


def test_the_module_implements_no_update_rule_or_schedule():
    """Every algorithm lives in dlopt_reference: the figure module only lays out data."""
    source = Path(interactive.__file__).read_text()
    names = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    forbidden = {"sgd", "sgd_momentum", "adam", "rmsprop", "adagrad", "exponential_decay", "cosine_decay",
                 "polynomial_decay", "inverse_time_decay", "natural_exp_decay", "step_decay"}
    assert names.isdisjoint(forbidden)
    assert "dlopt_reference" not in source


def test_repr_html_and_display():
    figure = make_figure()
    assert 'data-dlopt-figure="demo"' in figure._repr_html_()
    assert 'data-dlopt-figure="demo"' in figure.display().data
