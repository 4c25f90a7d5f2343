"""Helpers shared by the visible checks of the update rules (chapters 2, 3 and 4)."""

from __future__ import annotations

import numpy as np

from ._framework import call, fail, short


def take_step(name, rule, w, dw, config=None):
    """One call of an update rule ``rule(w, dw, config) -> (next_w, config)``, with the return checked."""
    result = call(name, rule, w, dw, config) if config is not None else call(name, rule, w, dw)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail(f"{name} must return a pair (next_w, config), got {short(result)}",
             "end the function with: return next_w, config")
    next_w, new_config = result
    if not isinstance(new_config, dict):
        fail(f"{name} must return the config dict as its second value, got {short(new_config)}",
             "return the config you received (with the defaults and the new state filled in)")
    return next_w, new_config


def stored(name, config, key, what="state"):
    """The state ``config[key]``; fail with a hint when it is missing."""
    if config.get(key) is None:
        fail(f"{name}: after a step the returned config has no {key!r} (its keys: {sorted(config)})",
             f"store the new {what} with config[{key!r}] = ... so that the next call continues from it")
    return config[key]


def state_unchanged(name, key, before, after, formula):
    """Fail if the state array given in ``config[key]`` was modified in place."""
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        fail(f"{name} modified the array config[{key!r}] it was given in place",
             f"compute a new array ({formula}) instead of updating the old one with *=, += or -=")


def expect_defaults(name, config, defaults):
    """The returned config may leave a hyperparameter out (the rule then used its default, which the
    checks see in the step), but a hyperparameter it holds must have its default value."""
    wrong = {key: config[key] for key, value in defaults.items() if key in config and config[key] != value}
    if wrong:
        wanted = " and ".join(f"{key} {value:g}" for key, value in defaults.items())
        fail(f"{name}(w, dw) with no config: the returned config should hold {wanted}, got {short(config)}",
             "keep the given lines: config = {} when config is None, then config.setdefault(...) for each key")
