"""``symsindy systems``: list, show and simulate catalogue systems."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("systems", help="the catalogue of dynamical systems")
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotImplementedError("symsindy systems is not implemented yet")
