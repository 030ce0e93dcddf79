"""The ``symsindy`` command: a thin dispatcher over ``symsindy.commands``.

Each subcommand lives in its own module under ``symsindy/commands/`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from .commands import conservation as _conservation
from .commands import discover as _discover
from .commands import fit as _fit
from .commands import pde as _pde
from .commands import sweep as _sweep
from .commands import symmetries as _symmetries
from .commands import systems as _systems

_COMMANDS = (_discover, _fit, _pde, _symmetries, _conservation, _systems, _sweep)


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


#: Exit status when the reader of standard output goes away (``symsindy systems list | head``):
#: the shell's status for a process ended by SIGPIPE, as ``yes | head`` reports it.
EXIT_BROKEN_PIPE = 128 + 13


def main(argv=None) -> int:
    try:
        try:
            return _run(argv)
        finally:
            # Flush here, not at exit, so that a closed pipe (also after --help) is met below.
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


#: commands whose output carries the fit's ill-conditioning warning line (fit_summary or the report)
_SAYS_CONDITIONING = ("fit", "symmetries", "conserved", "discover")


def _run(argv) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            if args.command in _SAYS_CONDITIONING:
                # these commands print the ill-conditioning warning in their output
                from .model import IllConditionedWarning

                warnings.simplefilter("ignore", IllConditionedWarning)
            return int(args.func(args) or 0)
    except BrokenPipeError:
        raise
    except (ValueError, OSError) as exc:
        # Bad input of any kind ends in one line naming the problem.
        print(f"symsindy {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """Point standard output at the null device, so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        # stdout without a file descriptor (a test's capture): nothing will be flushed to a pipe
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
