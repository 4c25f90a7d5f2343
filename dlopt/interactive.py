"""Interactive figures for the static HTML book: sliders over *precomputed* curves.

A figure here computes nothing. The chapter runs the course's functions (update rules, schedules)
for every slider value on a small grid, hands the resulting curves to :class:`SliderFigure`, and the
figure embeds them as JSON in one self-contained HTML snippet: an inline SVG plot, one
``<input type="range">`` (or a checkbox) per parameter with a live label, and a few lines of
JavaScript that only *select and draw* the curves stored for the current slider position. No kernel,
no network, no library: it works in the offline book, and every algorithm stays in one place.

Example:
    >>> import numpy as np
    >>> rate = Slider("rate", "decay rate", [0.5, 0.9])
    >>> steps = np.arange(5)
    >>> curve = Trace("exponential", tabulate(lambda r: r ** steps, rate), depends=["rate"], x=steps)
    >>> figure = SliderFigure("demo", [rate], [curve], xlabel="step", ylabel="factor")
    >>> html = figure.to_html()
    >>> embedded_config(html)["traces"][0]["data"]["1"][:3]
    [1.0, 0.9, 0.81]

Several figures coexist on a page: every rendering gets its own element ids
(``dlopt-fig-<name>-<n>``); the container carries a stable ``data-dlopt-figure="<name>"`` for tests.
"""

from __future__ import annotations

import html as html_lib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["Slider", "Trace", "SliderFigure", "tabulate", "contour_paths", "embedded_config", "series_at",
           "PALETTE"]

#: Line colours (matplotlib's tab10, which the static figures of the book use too).
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

_COUNTER = itertools.count(1)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _no_dollar(text: str, what: str) -> str:
    text = str(text)
    if "$" in text:
        raise ValueError(f"{what} {text!r} contains '$', which the page's math rendering could pick up")
    return text


def _round(values: Any, digits: int) -> list:
    """A flat list of floats rounded to ``digits`` significant digits; non-finite values become None."""
    out = []
    for value in np.asarray(values, dtype=np.float64).ravel():
        out.append(float(f"{value:.{digits}g}") if math.isfinite(value) else None)
    return out


@dataclass
class Slider:
    """One parameter of a figure: a name, a label and the grid of values the curves were computed for.

    Args:
        name: identifier used by :class:`Trace` ``depends`` (letters, digits, ``_``).
        label: what the reader sees next to the control (no ``$``: plain text or Unicode).
        values: the grid (numbers, or ``[False, True]`` for a checkbox).
        initial: index of the value shown first (default: the middle one).
        fmt: format of the live value label, e.g. ``"{:.2f}"``; or ``value_labels``.
        value_labels: one label per value (overrides ``fmt``).
        checkbox: draw a checkbox instead of a range input (exactly two values: off, on).
    """

    name: str
    label: str
    values: Sequence
    initial: int | None = None
    fmt: str = "{:.3g}"
    value_labels: Sequence[str] | None = None
    checkbox: bool = False

    def __post_init__(self):
        self.values = list(self.values)
        if not self.values:
            raise ValueError(f"slider {self.name!r} has no values")
        if self.checkbox and len(self.values) != 2:
            raise ValueError(f"checkbox {self.name!r} needs exactly two values (off, on)")
        if self.initial is None:
            self.initial = 0 if self.checkbox else (len(self.values) - 1) // 2
        if not 0 <= self.initial < len(self.values):
            raise ValueError(f"slider {self.name!r}: initial index {self.initial} out of range")
        if self.value_labels is None:
            self.value_labels = [("on" if v else "off") if isinstance(v, (bool, np.bool_)) else self.fmt.format(v)
                                 for v in self.values]
        if len(self.value_labels) != len(self.values):
            raise ValueError(f"slider {self.name!r}: one label per value")


def tabulate(function: Callable, *sliders: Slider) -> dict[tuple[int, ...], Any]:
    """``{(i, j, ...): function(sliders[0].values[i], sliders[1].values[j], ...)}`` over the whole grid."""
    grids = [range(len(s.values)) for s in sliders]
    return {index: function(*(s.values[i] for s, i in zip(sliders, index))) for index in itertools.product(*grids)}


@dataclass
class Trace:
    """One curve of the figure, precomputed for every position of the sliders it depends on.

    Args:
        name: legend entry (no ``$``).
        values: ``{(i, j, ...): curve}`` with one index per slider in ``depends`` (see :func:`tabulate`);
            a curve is ``y`` (when ``x`` is given) or a pair ``(x, y)``. With ``depends=[]`` the key is ``()``.
        depends: names of the sliders the curve changes with, in the order of the key.
        x: abscissae shared by all curves of the trace (optional).
        color, dash: SVG stroke colour and ``stroke-dasharray`` (e.g. ``"6 3"``).
        markers: also mark every point with a small circle (trajectories).
    """

    name: str
    values: dict
    depends: Sequence[str] = ()
    x: Any = None
    color: str | None = None
    dash: str | None = None
    markers: bool = False
    width: float = 2.0

    def __post_init__(self):
        self.depends = list(self.depends)
        self.values = {tuple(k) if isinstance(k, (tuple, list)) else (k,): v for k, v in self.values.items()}


@dataclass
class SliderFigure:
    """A line plot whose curves follow a set of sliders; renders as self-contained HTML.

    Args:
        name: stable figure name, lower case with dashes; the container gets
            ``data-dlopt-figure="<name>"`` and element ids ``dlopt-fig-<name>-<n>``.
        sliders: the controls (:class:`Slider`).
        traces: the curves (:class:`Trace`), drawn in order, listed in the legend.
        xlabel, ylabel, title: axis labels and a title over the plot (plain text, no ``$``).
        xlim, ylim: fixed axis ranges (default: all data of all slider positions, so that moving a
            slider never rescales the axes).
        xlog, ylog: logarithmic axes.
        background: static polylines drawn in light grey under the curves (e.g. :func:`contour_paths`),
            each an ``(n, 2)`` array.
        points: static labelled points, ``[(x, y, label), ...]`` (e.g. the minimizer).
        width, height: size of the SVG in pixels (it scales down with the page).
        digits: significant digits of the embedded numbers.
        caption: a line of text under the controls.
    """

    name: str
    sliders: Sequence[Slider]
    traces: Sequence[Trace]
    xlabel: str = ""
    ylabel: str = ""
    title: str = ""
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    xlog: bool = False
    ylog: bool = False
    background: Sequence[Any] = field(default_factory=list)
    points: Sequence[tuple[float, float, str]] = field(default_factory=list)
    width: int = 640
    height: int = 400
    digits: int = 4
    caption: str = ""

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise ValueError(f"figure name {self.name!r}: use lower case letters, digits and dashes")
        names = [s.name for s in self.sliders]
        if len(set(names)) != len(names):
            raise ValueError(f"slider names repeat: {names}")
        for trace in self.traces:
            unknown = [d for d in trace.depends if d not in names]
            if unknown:
                raise ValueError(f"trace {trace.name!r} depends on unknown sliders {unknown}")
            sizes = [len(self.sliders[names.index(d)].values) for d in trace.depends]
            missing = [k for k in itertools.product(*[range(n) for n in sizes]) if k not in trace.values]
            if missing:
                raise ValueError(f"trace {trace.name!r} has no curve for slider indices {missing[:3]}")

    # -- the embedded data ------------------------------------------------------------------------
    def config(self) -> dict:
        """The JSON-ready description the JavaScript draws from (rounded numbers, index keys ``"i_j"``)."""
        names = [s.name for s in self.sliders]
        traces, all_x, all_y = [], [], []
        for n, trace in enumerate(self.traces):
            data = {}
            for key, curve in trace.values.items():
                if trace.x is None:
                    x, y = curve
                    data["_".join(map(str, key))] = [_round(x, self.digits), _round(y, self.digits)]
                else:
                    x, y = trace.x, curve
                    data["_".join(map(str, key))] = _round(y, self.digits)
                if len(np.ravel(x)) != len(np.ravel(y)):
                    raise ValueError(f"trace {trace.name!r}, key {key}: x and y differ in length")
                all_x.append(np.ravel(np.asarray(x, dtype=float)))
                all_y.append(np.ravel(np.asarray(y, dtype=float)))
            traces.append({
                "name": _no_dollar(trace.name, "trace name"),
                "depends": [names.index(d) for d in trace.depends],
                "x": None if trace.x is None else _round(trace.x, self.digits),
                "data": data,
                "color": trace.color or PALETTE[n % len(PALETTE)],
                "dash": trace.dash,
                "markers": bool(trace.markers),
                "width": float(trace.width),
            })
        return {
            "name": self.name,
            "width": int(self.width), "height": int(self.height),
            "xlabel": _no_dollar(self.xlabel, "x label"), "ylabel": _no_dollar(self.ylabel, "y label"),
            "title": _no_dollar(self.title, "title"),
            "xlim": list(self.xlim) if self.xlim else _extent(all_x, self.xlog),
            "ylim": list(self.ylim) if self.ylim else _extent(all_y, self.ylog),
            "xlog": bool(self.xlog), "ylog": bool(self.ylog),
            "sliders": [{"name": s.name, "label": _no_dollar(s.label, "slider label"),
                         "values": [bool(v) if isinstance(v, (bool, np.bool_)) else float(v) for v in s.values],
                         "labels": [_no_dollar(t, "slider value label") for t in s.value_labels],
                         "initial": int(s.initial), "checkbox": bool(s.checkbox)} for s in self.sliders],
            "traces": traces,
            "background": [[_round(np.asarray(p)[:, 0], self.digits), _round(np.asarray(p)[:, 1], self.digits)]
                           for p in self.background],
            "points": [[float(x), float(y), _no_dollar(label, "point label")] for x, y, label in self.points],
        }

    # -- rendering --------------------------------------------------------------------------------
    def to_html(self) -> str:
        """The self-contained HTML snippet; every call uses fresh element ids."""
        element_id = f"dlopt-fig-{self.name}-{next(_COUNTER)}"
        data = json.dumps(self.config(), separators=(",", ":"), allow_nan=False)
        data = data.replace("</", "<\\/").replace("$", "\\u0024")
        caption = f'<div class="dlopt-fig-caption">{html_lib.escape(_no_dollar(self.caption, "caption"))}</div>' \
            if self.caption else ""
        return (f'<div class="dlopt-interactive tex2jax_ignore mathjax_ignore" id="{element_id}" '
                f'data-dlopt-figure="{self.name}" style="{_CONTAINER_STYLE}">'
                f'<div class="dlopt-fig-plot"></div><div class="dlopt-fig-legend" style="{_LEGEND_STYLE}"></div>'
                f'<div class="dlopt-fig-controls" style="{_CONTROLS_STYLE}"></div>{caption}'
                f'<noscript>This interactive figure needs JavaScript.</noscript></div>\n'
                f'<script type="application/json" id="{element_id}-data">{data}</script>\n'
                f'<script>{_SCRIPT.replace("__ELEMENT_ID__", json.dumps(element_id))}</script>\n')

    def _repr_html_(self) -> str:
        return self.to_html()

    def display(self):
        """An :class:`IPython.display.HTML` object (``display(figure.display())`` or as a cell's value)."""
        from IPython.display import HTML

        return HTML(self.to_html())


def _extent(arrays: list[np.ndarray], log: bool) -> list[float]:
    values = np.concatenate(arrays) if arrays else np.array([0.0, 1.0])
    values = values[np.isfinite(values)]
    if log:
        values = values[values > 0]
    if values.size == 0:
        return [1.0, 10.0] if log else [0.0, 1.0]
    low, high = float(values.min()), float(values.max())
    if log:
        return [low, high] if high > low else [low / 2, high * 2]
    pad = 0.04 * (high - low) if high > low else 0.5
    return [low - pad, high + pad]


def contour_paths(loss: Callable, xlim: tuple[float, float], ylim: tuple[float, float], levels: int = 12,
                  resolution: int = 100, log_levels: bool = True) -> list[np.ndarray]:
    """Contour lines of ``loss(w) -> float`` (``w`` of length 2) as a list of ``(n, 2)`` polylines.

    Levels are spaced geometrically (``log_levels``) or linearly between the smallest and the largest
    value on the grid; lines are thinned to at most ~60 points each to keep the embedded data small.
    """
    import contourpy

    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    z = np.array([[loss(np.array([x, y])) for x in xs] for y in ys])
    low, high = float(z.min()), float(z.max())
    if log_levels:
        shift = low - 1e-3 * (high - low)
        values = shift + np.geomspace(1e-3 * (high - low), high - shift, levels + 2)[1:-1]
    else:
        values = np.linspace(low, high, levels + 2)[1:-1]
    generator = contourpy.contour_generator(xs, ys, z)
    paths = []
    for level in values:
        for line in generator.lines(level):
            step = max(1, math.ceil(len(line) / 60))
            thinned = np.vstack([line[::step], line[-1:]])
            paths.append(thinned)
    return paths


def embedded_config(html: str) -> dict:
    """The JSON a rendered figure carries (the inverse of :meth:`SliderFigure.to_html`), for checks and tests."""
    match = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)
    if match is None:
        raise ValueError("no embedded figure data in this HTML")
    return json.loads(match.group(1).replace("<\\/", "</"))


def series_at(config: dict, trace_name: str, **slider_values) -> tuple[np.ndarray, np.ndarray]:
    """The ``(x, y)`` a figure draws for one trace at the given slider values (looked up, not computed)."""
    sliders = config["sliders"]
    trace = next(t for t in config["traces"] if t["name"] == trace_name)
    index = []
    for position in trace["depends"]:
        slider = sliders[position]
        value = slider_values[slider["name"]]
        matches = [i for i, v in enumerate(slider["values"]) if (v == value if isinstance(v, bool) else np.isclose(v, value))]
        if not matches:
            raise KeyError(f"{slider['name']} = {value!r} is not on the grid {slider['values']}")
        index.append(matches[0])
    curve = trace["data"]["_".join(map(str, index))]
    x, y = (trace["x"], curve) if trace["x"] is not None else curve
    as_array = lambda v: np.array([np.nan if e is None else e for e in v], dtype=float)  # noqa: E731
    return as_array(x), as_array(y)


_CONTAINER_STYLE = ("max-width:100%;margin:1em 0;padding:8px 10px;border:1px solid #ddd;border-radius:6px;"
                    "font-family:inherit;font-size:13px;background:#fff;color:#222")
_LEGEND_STYLE = "display:flex;flex-wrap:wrap;gap:4px 16px;margin:2px 0 6px 0"
_CONTROLS_STYLE = "display:grid;grid-template-columns:max-content minmax(120px,320px) max-content;gap:4px 10px;align-items:center"

# The JavaScript draws; it never computes a curve. No template literals and no dollar signs (the
# page's math rendering must not see them); ES5 so that any browser runs it.
_SCRIPT = r"""
(function () {
  var root = document.getElementById(__ELEMENT_ID__);
  var cfg = JSON.parse(document.getElementById(__ELEMENT_ID__ + '-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var W = cfg.width, H = cfg.height;
  var M = {left: 64, right: 18, top: cfg.title ? 30 : 12, bottom: 46};
  var PW = W - M.left - M.right, PH = H - M.top - M.bottom;
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(node);
    return node;
  }
  function tr(v, log) { return log ? Math.log(v) / Math.LN10 : v; }
  var x0 = tr(cfg.xlim[0], cfg.xlog), x1 = tr(cfg.xlim[1], cfg.xlog);
  var y0 = tr(cfg.ylim[0], cfg.ylog), y1 = tr(cfg.ylim[1], cfg.ylog);
  function sx(v) { return M.left + (tr(v, cfg.xlog) - x0) / (x1 - x0) * PW; }
  function sy(v) { return M.top + PH - (tr(v, cfg.ylog) - y0) / (y1 - y0) * PH; }
  function clamp(p) { return Math.max(-1e4, Math.min(1e4, p)); }
  function ok(v, log) { return v !== null && isFinite(v) && (!log || v > 0); }
  function fmt(v) {
    if (v === 0) return '0';
    var a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
    return String(parseFloat(v.toPrecision(4)));
  }
  function linearTicks(lo, hi) {
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log(span / 5) / Math.LN10));
    var err = span / 5 / step;
    if (err >= 7) step *= 10; else if (err >= 3) step *= 5; else if (err >= 1.5) step *= 2;
    var ticks = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) ticks.push(Math.abs(t) < 1e-12 * span ? 0 : t);
    return ticks;
  }
  function logTicks(lo, hi) {
    var ticks = [], e0 = Math.floor(lo), e1 = Math.ceil(hi);
    var mults = (e1 - e0 <= 2) ? [1, 2, 5] : [1];
    for (var e = e0; e <= e1; e++) {
      for (var i = 0; i < mults.length; i++) {
        var v = mults[i] * Math.pow(10, e), lv = Math.log(v) / Math.LN10;
        if (lv >= lo - 1e-9 && lv <= hi + 1e-9) ticks.push(v);
      }
    }
    return ticks;
  }
  function pathData(xs, ys, markers) {
    var d = '', pen = false, r = 2.2;
    for (var i = 0; i < xs.length; i++) {
      if (!ok(xs[i], cfg.xlog) || !ok(ys[i], cfg.ylog)) { pen = false; continue; }
      var px = clamp(sx(xs[i])).toFixed(1), py = clamp(sy(ys[i])).toFixed(1);
      d += (pen ? 'L' : 'M') + px + ',' + py;
      pen = true;
    }
    if (markers) {
      for (var j = 0; j < xs.length; j++) {
        if (!ok(xs[j], cfg.xlog) || !ok(ys[j], cfg.ylog)) continue;
        var mx = clamp(sx(xs[j])), my = clamp(sy(ys[j]));
        d += 'M' + (mx - r).toFixed(1) + ',' + my.toFixed(1) + 'a' + r + ',' + r + ' 0 1,0 ' + (2 * r) + ',0a' + r + ',' + r + ' 0 1,0 ' + (-2 * r) + ',0';
      }
    }
    return d;
  }
  var svg = el('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
                       'aria-label': cfg.title || cfg.name, style: 'max-width:100%;height:auto;display:block'});
  root.querySelector('.dlopt-fig-plot').appendChild(svg);
  var clipId = root.id + '-clip';
  var defs = el('defs', {}, svg);
  el('rect', {x: M.left, y: M.top, width: PW, height: PH}, el('clipPath', {id: clipId}, defs));
  el('rect', {x: M.left, y: M.top, width: PW, height: PH, fill: '#fff', stroke: 'none'}, svg);
  var grid = el('g', {stroke: '#e6e6e6', 'stroke-width': 1}, svg);
  var axes = el('g', {fill: '#333', 'font-size': 11}, svg);
  var xt = cfg.xlog ? logTicks(x0, x1) : linearTicks(x0, x1);
  var yt = cfg.ylog ? logTicks(y0, y1) : linearTicks(y0, y1);
  xt.forEach(function (t) {
    var px = sx(t);
    el('line', {x1: px, x2: px, y1: M.top, y2: M.top + PH}, grid);
    el('line', {x1: px, x2: px, y1: M.top + PH, y2: M.top + PH + 4, stroke: '#333'}, axes);
    el('text', {x: px, y: M.top + PH + 16, 'text-anchor': 'middle'}, axes).textContent = fmt(t);
  });
  yt.forEach(function (t) {
    var py = sy(t);
    el('line', {x1: M.left, x2: M.left + PW, y1: py, y2: py}, grid);
    el('line', {x1: M.left - 4, x2: M.left, y1: py, y2: py, stroke: '#333'}, axes);
    el('text', {x: M.left - 7, y: py + 4, 'text-anchor': 'end'}, axes).textContent = fmt(t);
  });
  el('rect', {x: M.left, y: M.top, width: PW, height: PH, fill: 'none', stroke: '#888'}, axes);
  el('text', {x: M.left + PW / 2, y: H - 8, 'text-anchor': 'middle', 'font-size': 12}, axes).textContent = cfg.xlabel;
  el('text', {x: 14, y: M.top + PH / 2, 'text-anchor': 'middle', 'font-size': 12,
              transform: 'rotate(-90 14 ' + (M.top + PH / 2) + ')'}, axes).textContent = cfg.ylabel;
  if (cfg.title) el('text', {x: M.left + PW / 2, y: 18, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 'bold'}, axes).textContent = cfg.title;
  var plot = el('g', {'clip-path': 'url(#' + clipId + ')'}, svg);
  cfg.background.forEach(function (line) {
    el('path', {d: pathData(line[0], line[1], false), fill: 'none', stroke: '#bbb', 'stroke-width': 0.8}, plot);
  });
  var paths = cfg.traces.map(function (t, n) {
    return el('path', {fill: 'none', stroke: t.color, 'stroke-width': t.width, 'stroke-dasharray': t.dash,
                       'stroke-linejoin': 'round', 'class': 'dlopt-trace', 'data-trace': t.name}, plot);
  });
  cfg.points.forEach(function (p) {
    var px = sx(p[0]), py = sy(p[1]);
    el('path', {d: 'M' + (px - 5) + ',' + (py - 5) + 'L' + (px + 5) + ',' + (py + 5) + 'M' + (px - 5) + ',' + (py + 5) + 'L' + (px + 5) + ',' + (py - 5),
                stroke: '#000', 'stroke-width': 2}, plot);
    el('text', {x: px + 7, y: py - 6, 'font-size': 11, fill: '#000'}, plot).textContent = p[2];
  });
  var legend = root.querySelector('.dlopt-fig-legend');
  cfg.traces.forEach(function (t) {
    var item = document.createElement('span');
    item.style.whiteSpace = 'nowrap';
    var swatch = el('svg', {width: 26, height: 10, style: 'vertical-align:middle;margin-right:5px'}, item);
    el('line', {x1: 1, x2: 25, y1: 5, y2: 5, stroke: t.color, 'stroke-width': Math.max(2, t.width), 'stroke-dasharray': t.dash}, swatch);
    item.appendChild(document.createTextNode(t.name));
    legend.appendChild(item);
  });
  var state = cfg.sliders.map(function (s) { return s.initial; });
  var outputs = [];
  var controls = root.querySelector('.dlopt-fig-controls');
  cfg.sliders.forEach(function (s, i) {
    var inputId = root.id + '-' + s.name;
    var label = document.createElement('label');
    label.setAttribute('for', inputId);
    label.textContent = s.label;
    var input = document.createElement('input');
    input.id = inputId;
    input.setAttribute('data-slider', s.name);
    if (s.checkbox) {
      input.type = 'checkbox';
      input.checked = s.initial === 1;
      input.style.justifySelf = 'start';
    } else {
      input.type = 'range';
      input.min = 0; input.max = s.values.length - 1; input.step = 1; input.value = s.initial;
      input.style.width = '100%';
    }
    var output = document.createElement('output');
    output.setAttribute('for', inputId);
    output.style.fontVariantNumeric = 'tabular-nums';
    outputs.push(output);
    function update() {
      state[i] = s.checkbox ? (input.checked ? 1 : 0) : parseInt(input.value, 10);
      draw();
    }
    input.addEventListener('input', update);
    input.addEventListener('change', update);
    controls.appendChild(label); controls.appendChild(input); controls.appendChild(output);
  });
  function draw() {
    cfg.sliders.forEach(function (s, i) { outputs[i].textContent = s.labels[state[i]]; });
    cfg.traces.forEach(function (t, n) {
      var key = t.depends.map(function (i) { return state[i]; }).join('_');
      var curve = t.data[key];
      var xs = t.x ? t.x : curve[0], ys = t.x ? curve : curve[1];
      paths[n].setAttribute('d', pathData(xs, ys, t.markers));
    });
  }
  draw();
})();
"""
