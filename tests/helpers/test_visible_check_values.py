"""The expected values pasted into the visible checks, re-derived here without the course's code.

Each constant of ``dlopt/checks`` that is not worked out in the check's own source comes with an
independent derivation: exact fractions (the Nesterov iterates, the BFGS and L-BFGS cases), the
formulas of the forward pass (batch normalization's output) or central differences of a forward
pass written here (its gradients), each with its tolerance.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from dlopt.checks import _chapter03, _chapter06, _chapter09


# --------------------------------------------------------------------------------------------
# chapter 3: the look-ahead points of Nesterov's textbook form, in exact fractions


def test_the_lookahead_points_are_the_textbook_iterates_in_exact_fractions():
    # f(w) = (w1^2 + 4 w2^2)/2 - w1 + 2 w2, gradient [w1 - 1, 4 w2 + 2]; learning rate 1/5, momentum 4/5
    lr, mu = Fraction(1, 5), Fraction(4, 5)
    w, v = [Fraction(2), Fraction(1)], [Fraction(0), Fraction(0)]
    points = []
    for _ in range(6):
        ahead = [w[0] + mu * v[0], w[1] + mu * v[1]]
        grad = [ahead[0] - 1, 4 * ahead[1] + 2]
        v = [mu * v[i] - lr * grad[i] for i in range(2)]
        w = [w[i] + v[i] for i in range(2)]
        points.append([w[i] + mu * v[i] for i in range(2)])
    # the constants are written as exact decimals: each equals its fraction to the last digit of a float
    exact = np.array([[float(p) for p in point] for point in points])
    assert np.array_equal(np.array(_chapter03.LOOKAHEAD_POINTS), exact)


# --------------------------------------------------------------------------------------------
# chapter 6: batch normalization on the 4 x 3 batch


def _forward(x, gamma, beta, eps=1e-5):
    """Train-mode batch normalization, written from its formulas (biased variance, eps inside the root)."""
    n = x.shape[0]
    mean = x.sum(axis=0) / n
    centered = x - mean
    variance = (centered * centered).sum(axis=0) / n
    return gamma * centered / np.sqrt(variance + eps) + beta


def _loss(x, gamma, beta):
    return float(np.sum(_forward(x, gamma, beta) * _chapter06.DOUT))


def test_the_batchnorm_output_follows_from_the_formulas():
    np.testing.assert_allclose(_chapter06.OUT, _forward(_chapter06.X, _chapter06.GAMMA, _chapter06.BETA),
                               rtol=1e-12, atol=1e-15)


def test_the_batchnorm_gradients_agree_with_central_differences():
    """dL/dx and dL/dgamma by central differences, with a step of 1e-5 times the scale of each input
    (the features of x span 1e-3 to 1e1): they agree with DX and DGAMMA to 1e-7 of each column's largest
    entry (the truncation and rounding errors of the differences are below 1e-9 here)."""
    X, GAMMA, BETA = _chapter06.X, _chapter06.GAMMA, _chapter06.BETA
    dx = np.zeros_like(X)
    for i, j in np.ndindex(*X.shape):
        h = 1e-5 * X[:, j].std()
        step = np.zeros_like(X)
        step[i, j] = h
        dx[i, j] = (_loss(X + step, GAMMA, BETA) - _loss(X - step, GAMMA, BETA)) / (2 * h)
    dgamma = np.zeros_like(GAMMA)
    for j in range(len(GAMMA)):
        h = 1e-5 * GAMMA[j]
        step = np.zeros_like(GAMMA)
        step[j] = h
        dgamma[j] = (_loss(X, GAMMA + step, BETA) - _loss(X, GAMMA - step, BETA)) / (2 * h)
    scale = np.abs(_chapter06.DX).max(axis=0)
    assert np.all(np.abs(dx - _chapter06.DX) <= 1e-7 * scale), np.abs(dx - _chapter06.DX) / scale
    assert np.all(np.abs(dgamma - _chapter06.DGAMMA) <= 1e-7 * np.abs(_chapter06.DGAMMA).max())


def test_dbeta_is_the_column_sums_of_dout_in_exact_decimals():
    sums = [sum(Fraction(str(value)) for value in column) for column in _chapter06.DOUT.T]
    assert list(_chapter06.DBETA) == [float(s) for s in sums] == [1.05, -0.2, 1.0]


# --------------------------------------------------------------------------------------------
# chapter 9: BFGS and L-BFGS by hand, in exact fractions


def _matrix(rows):
    return [[Fraction(value) for value in row] for row in rows]


def _matmul(A, B):
    return [[sum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))] for i in range(len(A))]


def _outer(u, v):
    return [[a * b for b in v] for a in u]


def _bfgs(H, s, y):
    """Nocedal & Wright eq. 6.17: (I - rho s y') H (I - rho y s') + rho s s', rho = 1 / y's."""
    n = len(s)
    rho = 1 / sum(a * b for a, b in zip(y, s))
    identity = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    left = [[identity[i][j] - rho * s[i] * y[j] for j in range(n)] for i in range(n)]
    right = [[identity[i][j] - rho * y[i] * s[j] for j in range(n)] for i in range(n)]
    product = _matmul(_matmul(left, H), right)
    return [[product[i][j] + rho * s[i] * s[j] for j in range(n)] for i in range(n)]


def _lbfgs_by_dense_updates(g, s_history, y_history):
    """-H g with H built by BFGS updates (oldest pair first) from H0 = (s'y / y'y) I of the newest pair."""
    s, y = s_history[-1], y_history[-1]
    gamma = sum(a * b for a, b in zip(s, y)) / sum(b * b for b in y)
    n = len(g)
    H = [[gamma * int(i == j) for j in range(n)] for i in range(n)]
    for s, y in zip(s_history, y_history):
        H = _bfgs(H, s, y)
    return [-sum(H[i][j] * g[j] for j in range(n)) for i in range(n)]


def test_the_bfgs_cases_by_hand_follow_from_the_update_formula():
    identity = _matrix([[1, 0], [0, 1]])
    for (s, y), expected in zip(_chapter09.BFGS_BY_HAND_INPUTS, _chapter09.BFGS_BY_HAND):
        assert _bfgs(identity, [Fraction(v) for v in s], [Fraction(v) for v in y]) == _matrix(expected)


def test_the_lbfgs_cases_by_hand_follow_from_dense_bfgs_updates():
    def fractions(vectors):
        return [[Fraction(v) for v in vector] for vector in vectors]

    one = _lbfgs_by_dense_updates([Fraction(1), Fraction(1)], fractions([[1, 0]]), fractions([[2, 0]]))
    assert one == [Fraction(-1, 2), Fraction(-1, 2)] == [Fraction(v) for v in _chapter09.ONE_PAIR_DIRECTION]
    two = _lbfgs_by_dense_updates([Fraction(1), Fraction(0)], fractions(_chapter09.TWO_PAIRS_S),
                                  fractions(_chapter09.TWO_PAIRS_Y))
    assert two == [Fraction(-7, 5), Fraction(7, 10)]
    assert [float(v) for v in two] == list(_chapter09.TWO_PAIRS_DIRECTION)
