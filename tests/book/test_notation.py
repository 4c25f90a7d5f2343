"""The book's notation does not drift: the symbols fixed by the notation table of ``book/intro.md``
keep their meaning in every chapter.

Each check is a small function ``check(text) -> list[str]`` over the markdown of a chapter (code cells
included: their LaTeX strings label figures) and over the markdown cells of the assignment notebooks. It is precise rather than clever: it looks for the
forms in which a symbol was, or could again be, used for something else, such as ``\\lambda_{\\min}`` for
the strong-convexity constant or ``\\mu`` as the momentum coefficient. Every check is shown to fail on a
synthetic bad line and to pass on the same line written in the book's notation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.md"))
INTRO = BOOK / "intro.md"

MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+?\$", re.S)


def _where(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return f"line {line}: {text[start:end if end >= 0 else None].strip()[:120]}"


def _find(pattern: str, text: str, flags: int = 0) -> list[str]:
    return [_where(text, match.start()) for match in re.finditer(pattern, text, flags)]


# --------------------------------------------------------------------------------------------
# The checks


def smallest_eigenvalue_is_mu(text: str) -> list[str]:
    """The smallest eigenvalue / strong-convexity constant is mu: never lambda_min, never a bare ell."""
    # ell for the smallest eigenvalue: in an interval of eigenvalues, under a condition number or a root,
    # as a strong-convexity constant (a bare ell for something else, such as a length, is not caught here)
    ell = (r"\[\s*\\ell\s*,|/\s*\\ell(?![_A-Za-z])|\\sqrt\s*\{?\s*\\ell(?![_A-Za-z])|\\ell\$?-strongly"
           r"|\\ell\s*(?:\\le|<)\s*\\lambda|\\ell\s*>\s*0")
    return (_find(r"\\lambda_\{?\s*(?:\\min\b|\\text\{min\}|\\mathrm\{min\}|min\b)", text)
            + _find(ell, text))


def loss_is_never_L(text: str) -> list[str]:
    """L is the smoothness constant: no grad_w L, no dL/dx, no L(w) for a loss."""
    return (_find(r"\\nabla_\{?w\}?\s*L\b", text)
            + _find(r"\\partial\s*L\b", text)
            + _find(r"(?<![\w\\])L\((?:w|W|cW|\\theta)\)", text))


def momentum_coefficient_is_beta(text: str) -> list[str]:
    """The momentum coefficient is beta: the math nearest to "momentum coefficient" is not mu, and mu
    never multiplies a velocity or a buffer. gamma never multiplies the buffer b."""
    found = []
    for match in re.finditer(r"momentum\s+coefficient", text):
        near = [(abs(m.start() - match.start()) if m.start() > match.start() else abs(match.start() - m.end()), m)
                for m in MATH.finditer(text, max(0, match.start() - 80), match.end() + 80)]
        near = [(distance, m) for distance, m in near if distance <= 80]
        if near and re.search(r"\\mu(?![A-Za-z])", min(near, key=lambda pair: pair[0])[1].group()):
            found.append(_where(text, match.start()))
    found += _find(r"\\mu\s*(?:\\[,;:]\s*)?(?:v|b|m)(?:_|\b)", text)
    found += _find(r"\\gamma\s*(?:\\[,;:]\s*)?b(?:_|\b)", text)
    return found


def eta_is_the_learning_rate(text: str) -> list[str]:
    """eta is the learning rate only: never a correlation ratio or an effect size."""
    found = []
    for match in re.finditer(r"correlation ratio|effect size|eta squared", text, re.I):
        window = text[max(0, match.start() - 80): match.end() + 80]
        if re.search(r"\\eta(?![A-Za-z])", window):
            found.append(_where(text, match.start()))
    return found


def rho_and_delta_belong_to_rmsprop_and_adadelta(text: str, chapter: str = "") -> list[str]:
    """rho (decay of the average of squared gradients) and delta (AdaDelta's average of squared updates)
    appear in chapter 4, or within 300 characters of RMSProp/AdaDelta elsewhere, and nowhere else."""
    if chapter.startswith("04_"):
        return []
    found = []
    for match in re.finditer(r"\\(?:rho|delta)(?![A-Za-z])", text):
        window = text[max(0, match.start() - 300): match.end() + 300]
        if not re.search(r"RMSProp|rmsprop|AdaDelta|Adadelta|adadelta", window):
            found.append(_where(text, match.start()))
    return found


def eigenvalues_carry_an_index(text: str) -> list[str]:
    """lambda_i is an eigenvalue (always with an index); a bare lambda is the weight-decay coefficient, so
    it only appears where weight decay (or L2 regularization, AdamW) is discussed: within 400 characters
    before it or 200 after it (a display formula is often set off from the sentence that names it)."""
    found = []
    for match in re.finditer(r"\\lambda(?![_A-Za-z])", text):
        window = text[max(0, match.start() - 400): match.end() + 200]
        if not re.search(r"weight[ -_]decay|L2|regulari[sz]|AdamW|adamw|decoupled", window, re.I):
            found.append(_where(text, match.start()))
    return found


CHECKS = [smallest_eigenvalue_is_mu, loss_is_never_L, momentum_coefficient_is_beta, eta_is_the_learning_rate,
          rho_and_delta_belong_to_rmsprop_and_adadelta, eigenvalues_carry_an_index]


def run(check, text: str, chapter: str) -> list[str]:
    if check is rho_and_delta_belong_to_rmsprop_and_adadelta:
        return check(text, chapter)
    return check(text)


# --------------------------------------------------------------------------------------------
# The chapters


def _cases():
    for path in CHAPTERS:
        for check in CHECKS:
            yield pytest.param(path, check, id=f"{path.stem}-{check.__name__}")


@pytest.mark.parametrize("path, check", list(_cases()))
def test_chapter_follows_the_notation(path, check):
    found = run(check, path.read_text(), path.name)
    assert found == [], f"{path.name}: {check.__doc__.split(chr(10))[0]}\n" + "\n".join(found)


EXERCISES = sorted((BOOK.parent / "exercises").glob("*/*.ipynb"))


def markdown_of(notebook: Path) -> str:
    """The markdown cells of an assignment notebook (its code cells are the students' and the graders')."""
    cells = json.loads(notebook.read_text())["cells"]
    return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


@pytest.mark.parametrize("notebook", EXERCISES, ids=[path.parent.name for path in EXERCISES])
def test_assignment_text_follows_the_notation(notebook):
    text = markdown_of(notebook)
    found = {check.__name__: run(check, text, notebook.parent.name + ".md") for check in CHECKS}
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_the_chapters_are_found():
    assert len(CHAPTERS) >= 9


# --------------------------------------------------------------------------------------------
# The notation table of the intro

REQUIRED_SYMBOLS = {
    r"w": "parameters", r"N": "number of training examples", r"\ell_i": "loss on example",
    r"f(w)": "objective", r"\nabla f": "gradient", r"B": "batch size", r"T": "number of steps",
    r"t": "step", r"g_t": "gradient at step", r"\eta": "learning rate", r"L": "smoothness",
    r"\mu": "strong-convexity", r"\kappa": "condition number", r"\lambda_i": "eigenvalue",
    r"\beta": "momentum coefficient", r"\beta_1": "Adam", r"\beta_2": "Adam", r"\rho": "squared gradients",
    r"\delta": "squared updates", r"\epsilon": "numerical constant", r"\lambda": "weight-decay",
    r"\alpha": "moving average",
}


def notation_table(text: str) -> dict[str, str]:
    """The intro's notation table: ``{symbol cell: meaning cell}`` (symbols split at commas)."""
    section = text.split("## Notation", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= set("-: ") or cells[0] == "symbol":
            continue
        for symbol in re.findall(r"\$([^$]+)\$", cells[0]):
            for part in re.split(r",\s*(?![^{]*\})", symbol):
                rows.setdefault(part.strip(), cells[1])
    return rows


def missing_symbols(table: dict[str, str]) -> list[str]:
    missing = []
    for symbol, meaning in REQUIRED_SYMBOLS.items():
        entries = [row_meaning for row_symbol, row_meaning in table.items()
                   if row_symbol == symbol or row_symbol.startswith(symbol + " ") or row_symbol.startswith(symbol + "(")
                   or row_symbol.startswith(symbol + "=") or row_symbol.startswith(symbol + " =")]
        if not any(meaning.lower() in entry.lower() for entry in entries):
            missing.append(f"{symbol} ({meaning})")
    return missing


def test_the_intro_has_one_notation_table_with_every_symbol():
    text = INTRO.read_text()
    assert text.count("## Notation") == 1
    assert missing_symbols(notation_table(text)) == []


def test_the_intro_follows_its_own_notation():
    text = INTRO.read_text()
    for check in (smallest_eigenvalue_is_mu, loss_is_never_L, momentum_coefficient_is_beta, eta_is_the_learning_rate):
        assert check(text) == [], check.__name__


# --------------------------------------------------------------------------------------------
# Each check fails on a bad line and passes on the same line in the book's notation

SYNTHETIC = [
    (smallest_eigenvalue_is_mu, r"eigenvalues in $[\lambda_{\min}, L]$", r"eigenvalues in $[\mu, L]$"),
    (smallest_eigenvalue_is_mu, r"with $\lambda_{\text{min}} > 0$", r"with $\mu > 0$"),
    (smallest_eigenvalue_is_mu, r"lie in $[\ell, L]$ with $\kappa = L/\ell$", r"lie in $[\mu, L]$ with $\kappa = L/\mu$"),
    (loss_is_never_L, r"the gradient $g = \nabla_w L$", r"the gradient $g = \nabla f(w)$"),
    (loss_is_never_L, r"$\delta = \partial L / \partial y$", r"$\bar y = \partial f / \partial y$"),
    (loss_is_never_L, r"let $L(W)$ be any loss", r"let $f(W)$ be any loss"),
    (momentum_coefficient_is_beta, r"and $\mu$ the momentum coefficient", r"and $\beta$ the momentum coefficient"),
    (momentum_coefficient_is_beta, r"$v \leftarrow \mu\, v - \eta g$", r"$v \leftarrow \beta\, v - \eta g$"),
    (momentum_coefficient_is_beta, r"$b_{t+1} \leftarrow \gamma\, b_t + g_t$", r"$b_{t+1} \leftarrow \beta\, b_t + g_t$"),
    (eta_is_the_learning_rate, r"the correlation ratio $\eta^2$ of the factor", r"the correlation ratio $r^2$ of the factor"),
    (eigenvalues_carry_an_index, r"on $f(w) = \frac{\lambda}{2} w^2$ with $\eta\lambda < 2$",
     r"on $f(w) = \frac{\lambda_i}{2} w^2$ with $\eta\lambda_i < 2$"),
]


@pytest.mark.parametrize("check, bad, good", SYNTHETIC, ids=[f"{c.__name__}-{k}" for k, (c, _, _) in enumerate(SYNTHETIC)])
def test_each_check_fails_on_a_bad_line(check, bad, good):
    assert check(f"Some prose.\n\n{bad}\n\nMore prose.\n") != []
    assert check(f"Some prose.\n\n{good}\n\nMore prose.\n") == []


def test_rho_and_delta_outside_the_adaptive_methods_fail():
    bad = "The EMA with decay $\\delta$ forgets old iterates; with $\\rho = (1 - \\eta\\lambda_i)^2$ it contracts."
    assert len(rho_and_delta_belong_to_rmsprop_and_adadelta(bad, "08_ensembles.md")) == 2
    assert rho_and_delta_belong_to_rmsprop_and_adadelta(bad, "04_adaptive.md") == []
    near = "RMSProp keeps a moving average with decay rate $\\rho$ of the squared gradients."
    assert rho_and_delta_belong_to_rmsprop_and_adadelta(near, "10_practice.md") == []


def test_weight_decay_lambda_passes():
    assert eigenvalues_carry_an_index("Weight decay shrinks $w$ by $\\eta\\lambda w$ per step.") == []
    assert eigenvalues_carry_an_index("AdamW uses $\\lambda = 10^{-2}$.") == []


def test_the_nearest_symbol_decides_for_momentum_coefficient():
    ok = "In this chapter $\\beta$ is the momentum coefficient (cs231n's `mu`), and $\\mu$ is the strong convexity."
    assert momentum_coefficient_is_beta(ok) == []


def test_a_table_without_a_symbol_is_caught():
    text = INTRO.read_text()
    table = notation_table(text)
    assert missing_symbols(table) == []
    for symbol in (r"\rho", r"\mu", r"\beta_1", r"\lambda"):
        assert missing_symbols({k: v for k, v in table.items() if k != symbol}) != [], symbol
    broken = text.replace("| $\\delta$ |", "| $\\theta$ |")
    assert broken != text and missing_symbols(notation_table(broken)) != []
