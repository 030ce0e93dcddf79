"""``symsindy symmetries``: discover the symmetries of a data file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._types import add_estimation_options, positive_int
from .fit import DEFAULT_ALPHA

_DESCRIPTION = """\
Fit an unconstrained sparse polynomial model to DATA (same formats as 'symsindy fit'),
then find the transformations that leave it unchanged: continuous generators (the
near-null space of the Lie-derivative operator over a candidate algebra, chosen by a
gap rule) and signed permutations of the coordinates (ranked by their residual on the
data). Bootstrap refits say how sure the answer is.
"""

_EPILOG = """\
defaults: polynomial library of degree 3; automatic threshold; weak form for time
series; gl candidates; 20 bootstrap
refits; gap rule: the largest ratio between consecutive normalised singular values
among those <= 0.05, counted when >= 10; a signed permutation passes with residual <= 0.05.

example:
  symsindy symmetries examples/data/damped_oscillator.csv --candidates so --json sym.json
"""


def register(sub) -> None:
    p = sub.add_parser(
        "symmetries",
        help="discover continuous and discrete symmetries of a CSV/NPZ data file",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help="a .csv or .npz data file")
    p.add_argument("--degree", metavar="D", type=positive_int, default=3, help="polynomial library degree (default 3)")
    p.add_argument(
        "--candidates",
        choices=("gl", "so", "affine"),
        default="gl",
        help="candidate algebra: all linear maps (gl, default), rotations (so), or gl plus translations (affine)",
    )
    add_estimation_options(p)
    p.add_argument(
        "--bootstrap",
        metavar="N",
        type=int,
        default=20,
        help="bootstrap refits for confidence (default 20; 0 for none)",
    )
    p.add_argument("--seed", metavar="S", type=int, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument("--no-discrete", action="store_true", help="skip the search over signed permutations")
    p.add_argument(
        "--json",
        metavar="OUT",
        default=None,
        help="write variables, continuous, translations, discrete, singular_values, specs (and evidence) as JSON",
    )
    p.add_argument("--plot", metavar="PNG", default=None, help="save the singular-value spectrum with its gap")
    p.set_defaults(func=run)


def run(args) -> int:
    import pysindy as ps

    from ..discover import discover_symmetries
    from ..io import read_data

    if args.bootstrap < 0:
        raise ValueError(f"--bootstrap {args.bootstrap}: expected a number >= 0")
    data = read_data(args.data)
    report = discover_symmetries(
        data.x,
        t=data.t,
        x_dot=data.x_dot,
        feature_names=data.variables,
        library=ps.PolynomialLibrary(degree=args.degree),
        threshold=args.threshold,
        alpha=DEFAULT_ALPHA,
        formulation=args.formulation,
        candidates=args.candidates,
        discrete=not args.no_discrete,
        n_bootstrap=args.bootstrap,
        random_state=args.seed,
    )
    print("fitted model:")
    for line in report.model.equations():
        print(f"  {line}")
    for line in report.model.fit_summary():
        print(f"  {line}")
    print(report.summary())
    if args.json:
        d = report.to_dict()
        d.setdefault("formulation", report.model.formulation_)
        d.setdefault("fit", report.model.fit_info())
        with open(args.json, "w") as fh:
            json.dump(d, fh, indent=2)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from ..plots import plot_singular_values

        fig = plot_singular_values(report, title=f"Lie-derivative spectrum: {Path(args.data).name}")
        fig.savefig(args.plot, dpi=120)
    return 0
