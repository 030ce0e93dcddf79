"""``symsindy fit``: fit a symmetric SINDy model to a data file."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("fit", help="fit equations to a CSV/NPZ data file, enforcing given symmetries")
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotImplementedError("symsindy fit is not implemented yet")
