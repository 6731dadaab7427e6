"""Argument types of the command line (``argparse`` ``type=`` callables), shared by
:mod:`neuralmi.cli` and the commands' own parsers (:mod:`neuralmi.bench.cli`); imports nothing
of neuralmi, so it sits below both."""

from __future__ import annotations

import argparse

__all__ = ["folds_setting", "hidden_widths", "positive_float", "positive_int", "timeout_seconds"]


def _int_at_least(text: str, minimum: int, expected: str) -> int:
    """``text`` as an integer >= ``minimum``; else an ``ArgumentTypeError`` saying ``expected``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def folds_setting(text: str) -> int | str:
    """``--folds``: ``auto``, ``none`` (one split) or an integer K >= 3 (K-fold cross-fitting)."""
    if text.lower() in ("auto", "none"):
        return text.lower()
    return _int_at_least(text, 3, "auto, none or an integer >= 3")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def hidden_widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths like 128,128, got {text!r}") from None
    if not widths or any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"expected positive widths, got {text!r}")
    return widths


def timeout_seconds(text: str) -> float | None:
    """Positive seconds, or None for 'none' / '0' (no limit)."""
    if text.strip().lower() in ("none", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (or 'none'), got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected positive seconds (or 'none'), got {text!r}")
    return value
