"""``symsindy discover``: the main job, from a catalogue system or a data file to a full report."""

from __future__ import annotations

import argparse
import re
import sys
import time

from ._types import add_estimation_options, nonnegative_float, nonnegative_int, positive_int

_DESCRIPTION = """\
Show what symsindy is for, on a catalogue system or on your own data: fit plain SINDy,
discover the symmetries of the fitted model, enforce them and refit, find the polynomial
conserved quantities and check them against the Noether charges of the symmetries, and
report it all as text, report.json and PNG figures.

NAME|DATA is a catalogue name ('symsindy systems list'), which is simulated, or a .csv/.npz
data file as read by 'symsindy fit'.
"""

_EPILOG = """\
defaults:
  simulation   4 trajectories (the system's initial state, then three perturbed by 10%),
               noise 0.01 (Gaussian, 1% of each variable's RMS), --samples per trajectory
               at the system's sampling step dt (default: the system's own time span)
  library      polynomials of the system's degree (at least 2); degree 3 for data files
               and non-polynomial systems
  threshold    automatic, as for 'symsindy fit' (the same for catalogue systems and
               files: the true coefficients are used only to report errors)
  formulation  weak for time series, strong with measured derivatives
  discovery    gl candidates and signed permutations, 10 bootstrap refits; a symmetry is
               enforced when found in at least half of them
  conserved    polynomials of the enforced model of degree 1..2, or up to the catalogue
               system's degree + 1 (an energy's degree; at most 4); Noether charges need a
               Hamiltonian structure: the catalogue's, or --canonical for data files
  output       report.json and trajectories.png, phase.png, singular_values.png,
               conserved.png (when there is a quantity to show), coefficients.png (when
               the truth is known) in --out (default ./discover_<name>)

examples:
  symsindy discover lorenz
  symsindy discover harmonic_oscillator_2d --noise 0.05 --out ho2d
  symsindy discover examples/data/damped_oscillator.csv --out damped
"""


def register(sub) -> None:
    p = sub.add_parser(
        "discover",
        help="the main job: equations, symmetries and conservation laws of a catalogue system or a data file",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="NAME|DATA", help="a catalogue system name or a .csv/.npz data file")
    p.add_argument(
        "--out", metavar="DIR", default=None, help="folder for report.json and the figures (default: ./discover_<name>)"
    )
    p.add_argument(
        "--noise",
        metavar="F",
        type=nonnegative_float,
        default=None,
        help="catalogue only: state noise as a fraction of each variable's RMS (default 0.01)",
    )
    p.add_argument(
        "--samples",
        metavar="N",
        type=positive_int,
        default=None,
        help="catalogue only: samples per trajectory at the system's step dt (default: the system's time span; at least 10)",
    )
    p.add_argument(
        "--trajectories",
        metavar="K",
        type=positive_int,
        default=None,
        help="catalogue only: number of simulated trajectories (default 4)",
    )
    p.add_argument(
        "--seed",
        metavar="S",
        type=nonnegative_int,
        default=0,
        help="seed of the simulation and the bootstrap (default 0)",
    )
    p.add_argument(
        "--degree", metavar="D", type=positive_int, default=None, help="polynomial library degree (default: see below)"
    )
    add_estimation_options(p)
    p.add_argument(
        "--candidates",
        choices=("gl", "so", "affine"),
        default="gl",
        help="candidate algebra of the continuous search: all linear maps (gl, default), rotations (so), "
        "or gl plus translations (affine)",
    )
    p.add_argument(
        "--bootstrap",
        metavar="N",
        type=nonnegative_int,
        default=10,
        help="bootstrap refits of the discovery (default 10; 0 for none, then all found are enforced)",
    )
    p.add_argument(
        "--conserved-degree",
        metavar="K",
        type=positive_int,
        default=None,
        help="largest degree of candidate conserved quantities (default: see below)",
    )
    p.add_argument(
        "--canonical",
        metavar="PAIRS",
        default=None,
        help="canonical pairs q1:p1,q2:p2,... for Noether charges (default: the catalogue's structure, if any)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _default_out(source: str) -> str:
    from pathlib import Path

    stem = Path(source).stem if Path(source).suffix else source
    return "discover_" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) or "data")


def run(args) -> int:
    from ..report import resolve_source, run_discovery

    # fail on a bad name or a missing file before anything slow
    resolve_source(args.source)
    out = args.out if args.out is not None else _default_out(args.source)

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    start = time.perf_counter()
    report = run_discovery(
        args.source,
        out=out,
        noise=args.noise,
        samples=args.samples,
        trajectories=args.trajectories,
        random_state=args.seed,
        degree=args.degree,
        threshold=args.threshold,
        formulation=args.formulation,
        candidates=args.candidates,
        n_bootstrap=args.bootstrap,
        conserved_degree=args.conserved_degree,
        canonical=args.canonical,
        progress=progress,
    )
    print(report.summary())
    print()
    print(f"wrote {out}/report.json and {', '.join(report.figures)} in {time.perf_counter() - start:.1f} s")
    return 0
