"""Graders for chapter 6, batch normalization (cs231n conventions).

``check_batchnorm_forward(batchnorm_forward)`` compares the output and the running averages the
student writes back into ``bn_param`` (train and test mode, several N and D, tiny variances where
``eps`` matters, defaults left out). ``check_batchnorm_backward(batchnorm_backward,
batchnorm_forward=None)`` compares ``(dx, dgamma, dbeta)``; the cache comes from the student's own
forward pass if it is given (the cache layout is the student's choice), else from the reference.
"""

from __future__ import annotations

import numpy as np

from .. import batchnorm as _reference
from ._common_checks import Case, Mistake, check_cases, compare_tuple, short
from ._report import GradingFailure, call_student, quiet

__all__ = ["check_batchnorm_forward", "check_batchnorm_backward", "check_batchnorm_backward_alt", "MISTAKES"]

_RTOL, _ATOL = 1e-6, 1e-9


# --------------------------------------------------------------------------------------------
# Forward: the function under test is (x, gamma, beta, bn_param) -> (out, running_mean, running_var)
# --------------------------------------------------------------------------------------------

def _forward_observed(forward):
    """Run a forward pass and return what is graded: the output and the running averages after the call."""

    def observed(x, gamma, beta, bn_param):
        result = forward(x, gamma, beta, bn_param)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TypeError(f"batchnorm_forward must return (out, cache), got {type(result).__name__}")
        out = result[0]
        return out, bn_param.get("running_mean"), bn_param.get("running_var")

    return observed


def _bn_forward_mistake(*, ddof=0, running_ddof=None, eps_mode="inside", swap_momentum=False, update=True,
                        test_uses_batch=False, test_updates=False, axis=0, affine="normal",
                        default_eps=1e-5, default_momentum=0.9, center=True, test_eps_mode=None,
                        initial_var=0.0):
    """A forward pass written with one mistake; returns the observed triple directly."""

    def normalize(x, mean, var, mode):
        if mode == "inside":
            return (x - mean) / np.sqrt(var + eps)
        if mode == "outside":
            return (x - mean) / (np.sqrt(var) + eps)
        if mode == "none":
            return (x - mean) / np.sqrt(var)
        if mode == "nosqrt":
            return (x - mean) / (var + eps)
        raise ValueError(mode)

    def observed(x, gamma, beta, bn_param):
        nonlocal eps
        x = np.asarray(x, dtype=np.float64)
        mode = bn_param["mode"]
        eps = bn_param.get("eps", default_eps)
        momentum = bn_param.get("momentum", default_momentum)
        D = x.shape[1]
        running_mean = bn_param.get("running_mean", np.zeros(D))
        running_var = bn_param.get("running_var", np.full(D, initial_var))
        if mode == "train" or test_uses_batch:
            mean = x.mean(axis=axis, keepdims=True) if center else 0.0
            var = x.var(axis=axis, ddof=ddof, keepdims=True)
            x_hat = normalize(x, mean, var, eps_mode)
        else:
            x_hat = normalize(x, running_mean, running_var, test_eps_mode or eps_mode)
        if affine == "normal":
            out = gamma * x_hat + beta
        elif affine == "swapped":
            out = beta * x_hat + gamma
        elif affine == "no_gamma":
            out = x_hat + beta
        elif affine == "no_beta":
            out = gamma * x_hat
        if (mode == "train" and update) or (mode == "test" and test_updates):
            batch_mean = x.mean(axis=0)
            batch_var = x.var(axis=0, ddof=ddof if running_ddof is None else running_ddof)
            if swap_momentum:
                running_mean = (1 - momentum) * running_mean + momentum * batch_mean
                running_var = (1 - momentum) * running_var + momentum * batch_var
            else:
                running_mean = momentum * running_mean + (1 - momentum) * batch_mean
                running_var = momentum * running_var + (1 - momentum) * batch_var
        return out, running_mean, running_var

    eps = None
    return observed


FORWARD_MISTAKES = [
    Mistake("unbiased variance (ddof=1): batch normalization uses the biased batch variance (divide by N)",
            _bn_forward_mistake(ddof=1)),
    Mistake("unbiased variance (ddof=1): batch normalization uses the biased batch variance (divide by N)",
            _bn_forward_mistake(ddof=1, running_ddof=0)),
    Mistake("unbiased variance (ddof=1) in the running variance (PyTorch's convention); cs231n keeps the biased one",
            _bn_forward_mistake(running_ddof=1)),
    Mistake("eps outside the square root: use sqrt(var + eps), not sqrt(var) + eps",
            _bn_forward_mistake(eps_mode="outside")),
    Mistake("eps ignored: divide by sqrt(var + eps)", _bn_forward_mistake(eps_mode="none")),
    Mistake("missing square root: divide by sqrt(var + eps), not var + eps", _bn_forward_mistake(eps_mode="nosqrt")),
    Mistake("momentum weights swapped (PyTorch's convention): running = momentum * running + (1 - momentum) * batch",
            _bn_forward_mistake(swap_momentum=True)),
    Mistake("running averages not updated in train mode (write running_mean and running_var back into bn_param)",
            _bn_forward_mistake(update=False)),
    Mistake("test mode uses the batch statistics; it must use running_mean and running_var",
            _bn_forward_mistake(test_uses_batch=True)),
    Mistake("test mode updates the running averages; only train mode does", _bn_forward_mistake(test_updates=True)),
    Mistake("test mode without eps inside the square root: use sqrt(running_var + eps)",
            _bn_forward_mistake(test_eps_mode="none")),
    Mistake("test mode with eps outside the square root: use sqrt(running_var + eps)",
            _bn_forward_mistake(test_eps_mode="outside")),
    Mistake("statistics over the wrong axis (axis=1 normalizes each example, like layer norm; use axis=0)",
            _bn_forward_mistake(axis=1)),
    Mistake("gamma and beta swapped: out = gamma * x_hat + beta", _bn_forward_mistake(affine="swapped")),
    Mistake("gamma not applied: out = gamma * x_hat + beta", _bn_forward_mistake(affine="no_gamma")),
    Mistake("beta not added: out = gamma * x_hat + beta", _bn_forward_mistake(affine="no_beta")),
    Mistake("mean not subtracted before dividing", _bn_forward_mistake(center=False)),
    Mistake("running_var initialised to ones when bn_param has none (PyTorch); cs231n starts both running averages at zeros",
            _bn_forward_mistake(initial_var=1.0)),
    Mistake("wrong default for momentum (the default is 0.9)", _bn_forward_mistake(default_momentum=0.1)),
    Mistake("wrong default for momentum (the default is 0.9)", _bn_forward_mistake(default_momentum=0.99)),
    Mistake("wrong default for eps (the default is 1e-5)", _bn_forward_mistake(default_eps=1e-8)),
    Mistake("wrong default for eps (the default is 1e-5)", _bn_forward_mistake(default_eps=1e-3)),
]


def _forward_case(seed, N, D, mode, *, scale=1.0, keys=("eps", "momentum", "running")):
    def make():
        rng = np.random.default_rng(seed)
        x = rng.normal(loc=rng.normal(size=D) * 2, scale=scale * rng.uniform(0.5, 2.0, size=D), size=(N, D))
        gamma = rng.uniform(0.5, 2.0, size=D)
        beta = rng.normal(size=D)
        bn_param = {"mode": mode}
        if "eps" in keys:
            bn_param["eps"] = 1e-5 * rng.uniform(0.5, 3.0)
        if "momentum" in keys:
            bn_param["momentum"] = float(rng.choice([0.9, 0.8, 0.6]))
        if "running" in keys:
            bn_param["running_mean"] = rng.normal(size=D)
            bn_param["running_var"] = rng.uniform(0.5, 2.0, size=D) * scale ** 2
        return (x, gamma, beta, bn_param), {}

    missing = {"eps", "momentum", "running"} - set(keys)
    note = f"mode={mode!r}, N={N}, D={D}" + (f", bn_param without {', '.join(sorted(missing))}" if missing else "")
    if scale != 1.0:
        note += f", features of scale {scale:g} (eps matters)"
    return Case(make, note)


def _forward_cases():
    cases = []
    for seed, (N, D) in enumerate([(4, 3), (10, 5), (2, 7), (50, 1)]):
        cases.append(_forward_case(seed, N, D, "train"))
        cases.append(_forward_case(100 + seed, N, D, "test"))
    cases += [
        _forward_case(11, 8, 4, "train", scale=1e-3),
        _forward_case(12, 8, 4, "test", scale=1e-3),
        _forward_case(13, 6, 3, "train", keys=("eps", "momentum")),
        _forward_case(14, 6, 3, "train", keys=("eps", "running")),
        _forward_case(15, 6, 3, "train", keys=("running",), scale=3e-3),
        _forward_case(16, 6, 3, "test", keys=("running",), scale=3e-3),
    ]
    return cases


_FORWARD_COMPARE = compare_tuple(["out", "bn_param['running_mean'] after the call", "bn_param['running_var'] after the call"],
                                 rtol=_RTOL, atol=_ATOL)


def check_batchnorm_forward(batchnorm_forward) -> None:
    """Grade ``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)`` (output and running averages)."""
    if not callable(batchnorm_forward):
        raise GradingFailure("batchnorm_forward should be a function")
    check_cases("batchnorm_forward", _named(_forward_observed(batchnorm_forward), batchnorm_forward),
                _forward_observed(_reference.batchnorm_forward), _forward_cases(), FORWARD_MISTAKES,
                compare=_FORWARD_COMPARE, input_names=("x", "gamma", "beta"))


def _named(wrapper, original):
    wrapper.__name__ = getattr(original, "__name__", "student function")
    return wrapper


# --------------------------------------------------------------------------------------------
# Backward: the function under test is (x, gamma, beta, dout, bn_param) -> (dx, dgamma, dbeta)
# --------------------------------------------------------------------------------------------

def _backward_mistake(kind):
    def observed(x, gamma, beta, dout, bn_param):
        eps = bn_param.get("eps", 1e-5)
        N = x.shape[0]
        mean = x.mean(axis=0)
        var = x.var(axis=0, ddof=1 if kind == "ddof1" else 0)
        inv_std = 1.0 / (np.sqrt(var) + eps if kind == "eps_outside" else np.sqrt(var + eps))
        x_hat = (x - mean) * inv_std
        dbeta = dout.sum(axis=0)
        dgamma = (dout * x_hat).sum(axis=0)
        dx_hat = dout * gamma
        sum_dx_hat = dx_hat.sum(axis=0)
        sum_dx_hat_x_hat = (dx_hat * x_hat).sum(axis=0)
        dx = inv_std / N * (N * dx_hat - sum_dx_hat - x_hat * sum_dx_hat_x_hat)
        if kind == "no_mean_term":
            dx = inv_std / N * (N * dx_hat - x_hat * sum_dx_hat_x_hat)
        elif kind == "no_var_term":
            dx = inv_std / N * (N * dx_hat - sum_dx_hat)
        elif kind == "constant_stats":
            dx = inv_std * dx_hat
        elif kind == "var_sign":
            dx = inv_std / N * (N * dx_hat - sum_dx_hat + x_hat * sum_dx_hat_x_hat)
        elif kind == "no_gamma":
            dx = inv_std / N * (N * dout - dout.sum(axis=0) - x_hat * (dout * x_hat).sum(axis=0))
        elif kind == "n_minus_1":
            dx = inv_std / (N - 1) * ((N - 1) * dx_hat - sum_dx_hat - x_hat * sum_dx_hat_x_hat)
        elif kind == "dgamma_axis1":
            dgamma = (dout * x_hat).sum(axis=1)
        elif kind == "dbeta_axis1":
            dbeta = dout.sum(axis=1)
        elif kind == "dgamma_mean":
            dgamma = (dout * x_hat).mean(axis=0)
        elif kind == "dbeta_mean":
            dbeta = dout.mean(axis=0)
        elif kind == "dgamma_x":
            dgamma = (dout * x).sum(axis=0)
        elif kind == "dgamma_no_sum":
            dgamma = dout * x_hat
        elif kind == "dbeta_no_sum":
            dbeta = dout
        elif kind == "swapped":
            dgamma, dbeta = dbeta, dgamma
        return dx, dgamma, dbeta

    return observed


BACKWARD_MISTAKES = [
    Mistake("the gradient through the batch mean is missing: dx needs the term -sum(dx_hat) / N",
            _backward_mistake("no_mean_term")),
    Mistake("the gradient through the batch variance is missing: dx needs the term -x_hat * sum(dx_hat * x_hat) / N",
            _backward_mistake("no_var_term")),
    Mistake("mean and variance treated as constants: dx = gamma * dout / sqrt(var + eps) ignores that they depend on x",
            _backward_mistake("constant_stats")),
    Mistake("sign error in the variance term of dx", _backward_mistake("var_sign")),
    Mistake("gamma missing from dx (dx_hat = dout * gamma)", _backward_mistake("no_gamma")),
    Mistake("unbiased variance (ddof=1) in the backward pass; the forward pass uses the biased one",
            _backward_mistake("ddof1")),
    Mistake("N - 1 instead of N in dx", _backward_mistake("n_minus_1")),
    Mistake("eps outside the square root in the backward pass", _backward_mistake("eps_outside")),
    Mistake("dgamma summed over the wrong axis: sum over the batch, axis=0", _backward_mistake("dgamma_axis1")),
    Mistake("dbeta summed over the wrong axis: sum over the batch, axis=0", _backward_mistake("dbeta_axis1")),
    Mistake("dgamma averaged instead of summed over the batch", _backward_mistake("dgamma_mean")),
    Mistake("dbeta averaged instead of summed over the batch", _backward_mistake("dbeta_mean")),
    Mistake("dgamma = sum(dout * x); it must be sum(dout * x_hat) with the normalized input", _backward_mistake("dgamma_x")),
    Mistake("dgamma not summed over the batch", _backward_mistake("dgamma_no_sum")),
    Mistake("dbeta not summed over the batch", _backward_mistake("dbeta_no_sum")),
    Mistake("dgamma and dbeta swapped in the returned tuple", _backward_mistake("swapped")),
]


def _backward_case(seed, N, D, *, scale=1.0):
    def make():
        rng = np.random.default_rng(seed)
        x = rng.normal(loc=rng.normal(size=D), scale=scale * rng.uniform(0.5, 2.0, size=D), size=(N, D))
        gamma = rng.uniform(0.5, 2.0, size=D)
        beta = rng.normal(size=D)
        dout = rng.normal(size=(N, D))
        bn_param = {"mode": "train", "eps": 1e-5, "momentum": 0.9,
                    "running_mean": np.zeros(D), "running_var": np.ones(D)}
        return (x, gamma, beta, dout, bn_param), {}

    note = f"train mode, N={N}, D={D}" + (f", features of scale {scale:g}" if scale != 1.0 else "")
    return Case(make, note)


def _backward_cases():
    cases = [_backward_case(seed, N, D) for seed, (N, D) in enumerate([(4, 3), (10, 5), (3, 7), (30, 2), (5, 1)])]
    cases.append(_backward_case(20, 6, 4, scale=1e-3))
    return cases


def _backward_observed(name, backward, forward, student):
    def observed(x, gamma, beta, dout, bn_param):
        if student:
            _, cache = call_student(f"{getattr(forward, '__name__', 'batchnorm_forward')} (to build the cache for {name})",
                                    forward, x, gamma, beta, bn_param)
        else:
            with quiet():
                _, cache = forward(x, gamma, beta, bn_param)
        return backward(dout, cache)

    observed.__name__ = name
    return observed


def _check_backward(name, student_backward, reference_backward, student_forward):
    if not callable(student_backward):
        raise GradingFailure(f"{name} should be a function")
    if student_forward is not None:
        # The cache comes from the student's forward pass: it must be right first.
        try:
            check_batchnorm_forward(student_forward)
        except GradingFailure as failure:
            raise GradingFailure(
                f"{name} is graded with the cache of your batchnorm_forward, which must be correct first:\n{failure}"
            ) from None
        forward, from_student = student_forward, True
    else:
        forward, from_student = _reference.batchnorm_forward, False
    forward_name = getattr(student_forward, "__name__", "batchnorm_forward") if from_student else "the reference batchnorm_forward"

    def describe(args, kwargs):
        x, gamma, beta, dout, bn_param = args
        return (f"{name}(dout, cache) with dout of shape {dout.shape} and the cache of {forward_name}"
                f"({short(x)}, {short(gamma)}, {short(beta)}, {short(bn_param)})")

    try:
        check_cases(name, _backward_observed(name, student_backward, forward, from_student),
                    _backward_observed(name, reference_backward, _reference.batchnorm_forward, False),
                    _backward_cases(), BACKWARD_MISTAKES,
                    compare=compare_tuple(["dx", "dgamma", "dbeta"], rtol=_RTOL, atol=_ATOL),
                    input_names=("x", "gamma", "beta", "dout"), describe=describe)
    except GradingFailure as failure:
        if from_student or "raised" not in str(failure) or "not implemented" in str(failure):
            raise
        raise GradingFailure(
            f"{failure}\n(The cache came from the reference batchnorm_forward, a dict with keys such as 'x_hat'. If your "
            f"backward expects the cache of your own forward pass, grade both: check_{name}({name}, batchnorm_forward).)"
        ) from None


def check_batchnorm_backward(batchnorm_backward, batchnorm_forward=None) -> None:
    """Grade ``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)``.

    Pass the student's ``batchnorm_forward`` too when the cache layout is theirs (the usual case in
    the notebook); without it the cache comes from the reference forward pass.
    """
    _check_backward("batchnorm_backward", batchnorm_backward, _reference.batchnorm_backward, batchnorm_forward)


def check_batchnorm_backward_alt(batchnorm_backward_alt, batchnorm_forward=None) -> None:
    """Grade ``batchnorm_backward_alt(dout, cache) -> (dx, dgamma, dbeta)`` (same result as the staged backward)."""
    _check_backward("batchnorm_backward_alt", batchnorm_backward_alt, _reference.batchnorm_backward_alt,
                    batchnorm_forward)


MISTAKES = {
    "batchnorm_forward": FORWARD_MISTAKES,
    "batchnorm_backward": BACKWARD_MISTAKES,
    "batchnorm_backward_alt": BACKWARD_MISTAKES,
}
