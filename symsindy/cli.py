"""The ``symsindy`` command: a thin dispatcher over ``symsindy.commands``.

Each subcommand lives in its own module under ``symsindy/commands/`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import sys

from .commands import conservation as _conservation
from .commands import discover as _discover
from .commands import fit as _fit
from .commands import sweep as _sweep
from .commands import symmetries as _symmetries
from .commands import systems as _systems

_COMMANDS = (_discover, _fit, _symmetries, _conservation, _systems, _sweep)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symsindy",
        description="Symmetry-aware sparse identification of nonlinear dynamics (SINDy).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _COMMANDS:
        module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError) as exc:
        # Bad input of any kind ends in one line naming the problem.
        print(f"symsindy {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
