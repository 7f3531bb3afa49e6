"""Input validation that names the argument, what was expected and what was given.

Every public entry point checks its arguments here first, so bad input stops with one clear
``ValueError`` instead of a NumPy traceback from deep inside a kernel.
"""

from __future__ import annotations

import numpy as np


def as_array(name: str, value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except Exception as exc:  # anything unconvertible is a bad argument
        raise ValueError(f"{name} must be an array, got {type(value).__name__}") from exc


def check_float_array(
    name: str, value, *, ndim: int, dtype: np.dtype, shape: tuple[int | None, ...] | None = None,
    shape_legend: str = "",
) -> np.ndarray:
    """A finite float array of rank ``ndim`` and the given dtype; ``None`` in shape = any."""
    x = as_array(name, value)
    if x.ndim != ndim:
        legend = f" {shape_legend}" if shape_legend else ""
        raise ValueError(f"{name} must have {ndim} dimensions{legend}, got shape {x.shape}")
    if x.dtype != dtype:
        raise ValueError(
            f"{name} has dtype {x.dtype} but the layer's parameters are {np.dtype(dtype)}; "
            f"convert it with .astype(np.{np.dtype(dtype)}) or build the layer with "
            f"dtype=np.{x.dtype}"
        )
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, x.shape)):
            if want is not None and want != got:
                legend = f" {shape_legend}" if shape_legend else ""
                expected = format_shape(shape)
                raise ValueError(
                    f"{name} must have shape {expected}{legend}, got {x.shape} "
                    f"(axis {axis} is {got}, expected {want})"
                )
    check_finite(name, x)
    return x


def check_finite(name: str, x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        kind = "NaN" if np.isnan(x[tuple(bad)]) else "inf"
        count = int((~np.isfinite(x)).sum())
        raise ValueError(f"{name} contains {count} non-finite value(s), first {kind} at index {tuple(int(i) for i in bad)}")


def check_lengths(lengths, batch_size: int, num_steps: int) -> np.ndarray | None:
    """``lengths`` (N,) integers in 1..T, or None."""
    if lengths is None:
        return None
    arr = as_array("lengths", lengths)
    if arr.ndim != 1 or arr.shape[0] != batch_size:
        raise ValueError(f"lengths must have shape ({batch_size},) (one per sequence), got {arr.shape}")
    if (
        arr.size
        and not np.issubdtype(arr.dtype, np.integer)
        and not (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))
    ):
        raise ValueError(f"lengths must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 1 or arr.max() > num_steps):
        bad = int(np.argmax((arr < 1) | (arr > num_steps)))
        raise ValueError(
            f"lengths must lie in 1..{num_steps} (the T axis of x), "
            f"got lengths[{bad}] = {int(arr[bad])}"
        )
    return arr


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_float_dtype(name: str, dtype) -> np.dtype:
    """float32 or float64: the dtypes the layers compute in."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"{name} must be float32 or float64, got {dtype!r}") from exc
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {dt}")
    return dt


def check_integer_array(name: str, value) -> np.ndarray:
    """An array of integer dtype (bool is not accepted: a mask is not a list of ids)."""
    x = as_array(name, value)
    if x.dtype == np.bool_ or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"{name} must be an array of integers, got dtype {x.dtype}")
    return x


def check_index_range(
    name: str, x: np.ndarray, size: int, legend: str, where: np.ndarray | None = None
) -> None:
    """Every entry of integer array ``x`` (only where ``where`` is True) lies in 0..size-1.

    The error names the first offending entry and its value; ``legend`` says what ``size``
    is, e.g. "the vocabulary has V = 10 entries".
    """
    bad = (x < 0) | (x >= size)
    if where is not None:
        bad &= where
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where_text = f"[{', '.join(map(str, index))}]" if index else ""
        raise ValueError(
            f"{name} must lie in 0..{size - 1} ({legend}), "
            f"got {name}{where_text} = {int(x[index])} ({int(bad.sum())} out of range)"
        )


def check_mask(name: str, value, shape: tuple[int, ...], shape_legend: str = "") -> np.ndarray:
    """A boolean mask of exactly ``shape``; 0/1 numbers are accepted and converted."""
    m = as_array(name, value)
    if m.shape != tuple(shape):
        legend = f" {shape_legend}" if shape_legend else ""
        raise ValueError(f"{name} must have shape {tuple(shape)}{legend}, got {m.shape}")
    if m.dtype == np.bool_:
        return m
    if not (np.issubdtype(m.dtype, np.number) and np.all((m == 0) | (m == 1))):
        raise ValueError(f"{name} must be boolean (or 0/1), got dtype {m.dtype} with other values")
    return m.astype(bool)


def check_integer(name: str, value, *, allow_none: bool = False) -> int | None:
    """A Python or NumPy integer (not a bool); ``None`` passes through if ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        expected = "an integer or None" if allow_none else "an integer"
        message = f"{name} must be {expected}, got {value!r}"
        raise ValueError(message)
    return int(value)


def format_shape(shape: tuple[int | None, ...]) -> str:
    """(None, 7) -> "(*, 7)", (4,) -> "(4,)": a shape as NumPy prints it, * for any size."""
    parts = ["*" if size is None else str(size) for size in shape]
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
