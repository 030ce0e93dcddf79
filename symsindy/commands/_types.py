"""Argument types shared by the subcommands: each rejects bad text with a one-line message."""

from __future__ import annotations

import argparse

__all__ = [
    "nonnegative_int",
    "positive_int",
    "nonnegative_float",
    "auto_or_nonnegative",
    "threshold_value",
    "add_estimation_options",
]


def nonnegative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 0")
    return v


def positive_int(text: str) -> int:
    v = nonnegative_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 1")
    return v


def nonnegative_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a finite number >= 0")
    return v


def auto_or_nonnegative(text: str):
    """``'auto'`` or a finite number >= 0: a sparsity threshold, a promotion weight."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return nonnegative_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 'auto' or a finite number >= 0") from None


#: a sparsity threshold: a finite number >= 0, or 'auto'
threshold_value = auto_or_nonnegative


THRESHOLD_HELP = (
    "coefficients smaller than T are set to zero, or 'auto' (default): a path of thresholds, each "
    "support scored by the growth of the residual over the full least-squares fit plus 0.1 x the "
    "fraction of terms kept; the threshold chosen and the runner-up supports are printed"
)
FORMULATION_HELP = (
    "'strong' regresses derivatives (measured '_dot' columns, or smoothed finite differences), "
    "'weak' regresses integrals against test functions (no derivatives; robust to noise), "
    "'auto' (default): weak for time series without measured derivatives, else strong; the "
    "output says which"
)


def add_estimation_options(p, threshold_help: str = THRESHOLD_HELP) -> None:
    """``--threshold T|auto`` and ``--formulation strong|weak|auto``, shared by the fitting commands."""
    p.add_argument("--threshold", metavar="T|auto", type=threshold_value, default="auto", help=threshold_help)
    p.add_argument("--formulation", choices=("strong", "weak", "auto"), default="auto", help=FORMULATION_HELP)
