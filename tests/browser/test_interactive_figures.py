"""The interactive figures of the built book, in headless Chromium with no kernel and no network.

For each figure: its page loads cleanly (no console error, no failed request, math typeset), the
figure is drawn (SVG curves with data), and moving a slider redraws the curves and updates the
slider's label. The curves themselves were precomputed by the course's functions at build time (the
chapters assert that); here we check that the page shows them and reacts.
"""

from __future__ import annotations

import pytest

from pages import load_and_check

FIGURES = [
    # (page, data-dlopt-figure, slider to move, index to move it to)
    ("book/02_momentum.html", "momentum-trajectories", "momentum", 1),
    ("book/02_momentum.html", "momentum-trajectories", "learning_rate", 7),
    ("book/04_adaptive.html", "adam-bias-correction", "beta2", 0),
    ("book/04_adaptive.html", "adam-bias-correction", "beta1", 0),
    ("book/05_lr_decay.html", "lr-schedules", "decay_rate", 0),
    ("book/05_lr_decay.html", "lr-schedules", "decay_steps", 0),
    ("book/05_lr_decay.html", "lr-schedules", "power", 5),
    ("book/05_lr_decay.html", "lr-schedules", "alpha", 4),
]

_DRAWN = """
(figure) => Array.from(figure.querySelectorAll('path.dlopt-trace')).map(p => p.getAttribute('d') || '')
"""
_LABELS = """
(figure) => Array.from(figure.querySelectorAll('output')).map(o => o.textContent)
"""


@pytest.fixture(scope="module")
def site(built_book, serve) -> str:
    return serve(built_book)


@pytest.mark.parametrize("page_path", sorted({page for page, *_ in FIGURES}))
def test_pages_with_interactive_figures_load_cleanly(browser, site, page_path):
    report = load_and_check(browser, f"{site}/{page_path}")
    assert report.problems == [], report.problems


def open_figure(browser, site, page_path, name):
    errors = []
    page = browser.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{site}/{page_path}", wait_until="load")
    figures = page.locator(f'[data-dlopt-figure="{name}"]')
    assert figures.count() == 1, f"{name}: {figures.count()} figures on {page_path}"
    return page, figures.first, errors


@pytest.mark.parametrize("page_path, name, slider, index", FIGURES)
def test_moving_a_slider_redraws_the_figure(browser, site, page_path, name, slider, index):
    page, figure, errors = open_figure(browser, site, page_path, name)
    try:
        figure.scroll_into_view_if_needed()
        assert figure.locator("svg").first.is_visible()
        before, labels_before = figure.evaluate(_DRAWN), figure.evaluate(_LABELS)
        assert before and all(len(d) > 50 for d in before), f"{name}: curves not drawn: {before}"
        assert all(labels_before), f"{name}: empty slider labels {labels_before}"
        control = figure.locator(f'input[data-slider="{slider}"]')
        assert control.get_attribute("type") == "range"
        assert control.input_value() != str(index)
        control.fill(str(index))                           # sets the value and dispatches 'input'
        after, labels_after = figure.evaluate(_DRAWN), figure.evaluate(_LABELS)
        assert after != before, f"{name}: moving {slider} did not redraw the curves"
        assert labels_after != labels_before, f"{name}: the label of {slider} did not change"
        assert sum(a != b for a, b in zip(labels_after, labels_before)) == 1
        assert errors == []
    finally:
        page.close()


def test_the_staircase_toggle_redraws_the_schedules(browser, site):
    page, figure, errors = open_figure(browser, site, "book/05_lr_decay.html", "lr-schedules")
    try:
        before, labels_before = figure.evaluate(_DRAWN), figure.evaluate(_LABELS)
        toggle = figure.locator('input[data-slider="staircase"]')
        assert toggle.get_attribute("type") == "checkbox" and not toggle.is_checked()
        toggle.check()
        after, labels_after = figure.evaluate(_DRAWN), figure.evaluate(_LABELS)
        changed = [a != b for a, b in zip(after, before)]
        assert changed == [True, True, True, False, False]   # exponential, inverse-time, natural-exp; not the other two
        assert "on" in labels_after and labels_after != labels_before
        assert errors == []
    finally:
        page.close()


def test_figure_element_ids_are_unique_on_the_page(browser, site):
    """Every element id on the figure pages is unique (the figures' ids included)."""
    page = browser.new_page()
    try:
        for page_path in sorted({p for p, *_ in FIGURES}):
            page.goto(f"{site}/{page_path}", wait_until="load")
            duplicates = page.evaluate("""() => {
              const ids = Array.from(document.querySelectorAll('.dlopt-interactive [id], .dlopt-interactive')).map(e => e.id);
              return ids.filter((id, i) => id && ids.indexOf(id) !== i);
            }""")
            assert duplicates == [], (page_path, duplicates)
    finally:
        page.close()
