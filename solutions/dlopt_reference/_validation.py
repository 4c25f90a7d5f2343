"""Input checks shared by every reference function.

Each check either returns a clean value or raises a ``TypeError`` / ``ValueError`` whose
message names the argument and says what was expected. Nothing here modifies its input.
"""

from __future__ import annotations

import numbers
from typing import Any, Mapping

import numpy as np


def as_float_array(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a new finite float64 array (a copy: the caller's array is never aliased).

    Raises ``TypeError`` for non-numeric input (strings, objects, ``None``, booleans) and
    ``ValueError`` for NaN or infinite entries.
    """
    if value is None:
        raise TypeError(f"{name} must be a numeric array, got None")
    array = np.asarray(value)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.number)):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must be real, got complex dtype {array.dtype}")
    array = np.array(array, dtype=np.float64, copy=True)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def check_same_shape(w: np.ndarray, dw: np.ndarray, w_name: str = "w", dw_name: str = "dw") -> None:
    """Raise ``ValueError`` unless ``w`` and ``dw`` have the same shape."""
    if w.shape != dw.shape:
        raise ValueError(f"{w_name} and {dw_name} must have the same shape, got {w.shape} and {dw.shape}")


def as_real(value: Any, name: str) -> float:
    """Return ``value`` as a finite Python float; ``TypeError`` for non-numbers, ``ValueError`` for NaN/inf."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def nonnegative(value: Any, name: str) -> float:
    """A finite real number >= 0."""
    value = as_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def positive(value: Any, name: str) -> float:
    """A finite real number > 0."""
    value = as_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def in_unit_interval(value: Any, name: str, *, closed_right: bool = False) -> float:
    """A real number in [0, 1) (or [0, 1] with ``closed_right``): decay rates and momenta."""
    value = as_real(value, name)
    upper_ok = value <= 1 if closed_right else value < 1
    if value < 0 or not upper_ok:
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def nonnegative_int(value: Any, name: str) -> int:
    """An integer >= 0 (Python or numpy integer; booleans and floats are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def positive_int(value: Any, name: str) -> int:
    """An integer >= 1."""
    value = nonnegative_int(value, name)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def config_with_defaults(config: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict:
    """Return a new config dict: ``defaults`` overridden by ``config``; arrays in it are copied.

    The caller's dict and the arrays it holds are never modified.
    """
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict or None, got {type(config).__name__}")
    merged = dict(defaults)
    for key, value in config.items():
        merged[key] = np.array(value, copy=True) if isinstance(value, np.ndarray) else value
    return merged


def state_array(config: Mapping[str, Any], key: str, like: np.ndarray) -> np.ndarray:
    """The optimizer state ``config[key]`` as a float64 array shaped like ``like`` (zeros when absent)."""
    if config.get(key) is None:
        return np.zeros_like(like)
    state = as_float_array(config[key], f"config[{key!r}]")
    if state.shape != like.shape:
        raise ValueError(f"config[{key!r}] has shape {state.shape} but w has shape {like.shape}")
    return state
