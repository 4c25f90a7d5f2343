"""What a reader would see go wrong on a page: the checks the browser tests apply to every page."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Wait at most this long for MathJax to typeset a page (ms).
MATHJAX_TIMEOUT = 20_000

_UNRENDERED_MATH = r"""
() => {
  const body = document.querySelector('main') || document.body;
  const copy = body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .highlight, textarea').forEach(e => e.remove());
  const text = copy.innerText;
  const found = [];
  for (const token of ['$$', '\\begin{', '\\end{', '\\frac', '\\leftarrow', '\\nabla', '\\mathbb']) {
    if (text.includes(token)) found.push(token);
  }
  if (/\$[^$\n]+\$/.test(text)) found.push('$...$');
  return found;
}
"""


@dataclass
class PageReport:
    """Everything that went wrong while loading one page."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"failed request: {m}" for m in self.failed_requests]
                + [f"math: {m}" for m in self.math_errors]
                + [f"image did not load: {m}" for m in self.broken_images])


def load_and_check(browser, url: str) -> PageReport:
    """Open ``url`` in a fresh page and report console errors, failed requests, math and images."""
    report = PageReport(url)
    page = browser.new_page()
    page.on("console", lambda message: message.type == "error" and report.console_errors.append(message.text))
    page.on("pageerror", lambda error: report.console_errors.append(str(error)))
    page.on("requestfailed", lambda request: report.failed_requests.append(f"{request.url} ({request.failure})"))
    page.on("response", lambda response: response.status >= 400 and report.failed_requests.append(
        f"{response.url} (HTTP {response.status})"))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")  # a redirecting page (index.html) has navigated by now
        # (not [class*=math]: myst marks every page's body "tex2jax_ignore mathjax_ignore", math or not)
        has_math = page.evaluate("() => document.querySelector('.math, .MathJax, mjx-container, .amsmath') !== null")
        if has_math:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=MATHJAX_TIMEOUT)
            page.evaluate("() => MathJax.startup.promise")
            errors = page.evaluate("() => Array.from(document.querySelectorAll('mjx-merror, merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent)")
            report.math_errors.extend(f"MathJax error: {e}" for e in errors)
        report.math_errors.extend(f"unrendered TeX {token!r} in the text" for token in page.evaluate(_UNRENDERED_MATH))
        report.broken_images.extend(page.evaluate(
            "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))"))
    finally:
        page.close()
    return report
