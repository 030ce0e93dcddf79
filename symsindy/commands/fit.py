"""``symsindy fit``: fit a symmetric SINDy model to a data file."""

from __future__ import annotations

import argparse
import sys

from ._promote import parse_promote_weight, promote_from_args, write_promoted_json
from ._types import add_estimation_options, nonnegative_float, nonnegative_int, positive_int

DEFAULT_DEGREE = 3
DEFAULT_ALPHA = 0.0

_DESCRIPTION = """\
Fit polynomial equations x' = f(x) to trajectory data, keeping the model exactly
equivariant under the given symmetries, and print one equation per line, the
relative equivariance residual and the symmetry enforced.

DATA is a .csv file with a header: column 't' (time), one column per state
variable, optionally 'trajectory' (an id splitting rows into trajectories) and
'<var>_dot' columns with measured derivatives for every variable (used instead
of differentiating).  Or a .npz file with arrays t, x (m, n) or (k, m, n),
optionally x_dot (shape of x), names (n strings), trajectory (one id per row).
"""

_EPILOG = """\
defaults: a polynomial library of degree 3 with a constant term; sequentially
thresholded least squares (no ridge), the threshold chosen automatically along a
path of thresholds, every returned coefficient at or above it; the weak form
(integrals against test functions whose width follows the data's spectrum) for
time series, measured '_dot' columns when present (strong form); --formulation
strong differentiates by smoothed finite differences (cubic Savitzky-Golay, the
window chosen per variable to match the noise level estimated from the data).
The output says which formulation and threshold were used.

example:
  symsindy fit examples/data/damped_oscillator.csv --symmetry "rotation(x,y)"
"""


def register(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="fit equations to a CSV/NPZ data file, enforcing given symmetries",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help="a .csv or .npz data file")
    p.add_argument(
        "--symmetry",
        metavar="SPEC",
        action="append",
        default=[],
        help="a symmetry to enforce, e.g. 'rotation(x,y)', 'flip(x,y)', 'swap(x,y)', 'translation(x)', "
        "'scaling(x=1,y=2)'; repeat or join with ';' for several; 'auto' discovers the symmetries (as "
        "'symsindy symmetries' does, gl candidates and signed permutations, 10 bootstrap refits), enforces "
        "those found in at least half the refits and refits (default: none, a plain SINDy fit)",
    )
    p.add_argument(
        "--degree",
        metavar="D",
        type=positive_int,
        default=DEFAULT_DEGREE,
        help=f"degree of the polynomial library (default {DEFAULT_DEGREE})",
    )
    add_estimation_options(p)
    p.add_argument(
        "--alpha",
        metavar="A",
        type=nonnegative_float,
        default=DEFAULT_ALPHA,
        help=f"ridge weight during thresholding (default {DEFAULT_ALPHA})",
    )
    p.add_argument("--no-bias", action="store_true", help="leave the constant term out of the library")
    p.add_argument(
        "--differentiation",
        choices=("smoothed", "finite"),
        default=None,
        help="how to differentiate when the data have no '_dot' columns: 'smoothed' finite "
        "differences (cubic Savitzky-Golay, window adapted to the noise; default) or plain 'finite' differences",
    )
    p.add_argument(
        "--precision",
        metavar="P",
        type=positive_int,
        default=3,
        help="decimals of the printed coefficients (default 3)",
    )
    p.add_argument(
        "--promote",
        choices=("so", "gl", "affine", "sl"),
        default=None,
        help="let the data choose the symmetry: promote invariance under all rotations (so), all linear "
        "maps (gl), the traceless ones (sl: gl without the uniform dilation) or linear maps and "
        "translations (affine) with a nuclear-norm penalty, enforce what the promoted model has and "
        "refit; prints which symmetry it ended up with",
    )
    p.add_argument(
        "--promote-weight",
        metavar="W|auto",
        type=parse_promote_weight,
        default="auto",
        help="penalty weight in units of the weight that forces full symmetry (0..1), or 'auto' "
        "(default): every symmetry the promotion path reveals, exactly or nearly, is enforced in "
        "turn and the refit with the smallest leave-one-out error that the data do not reject is kept",
    )
    p.add_argument(
        "--seed",
        metavar="S",
        type=nonnegative_int,
        default=0,
        help="seed of what is random in the fit: the bootstrap of '--symmetry auto', the folds of a "
        "cross-validated promotion (default 0; the estimators' random_state)",
    )
    p.add_argument(
        "--json",
        metavar="OUT",
        default=None,
        help="also write the model as JSON (variables, equations, symmetry, library, coefficients)",
    )
    p.set_defaults(func=run)


def _differentiation(choice: str | None):
    if choice == "finite":
        import pysindy as ps

        return ps.FiniteDifference()
    return None  # the model's default: smoothed finite differences


def run(args) -> int:
    import pysindy as ps

    from ..io import read_data
    from ..model import SymmetricSINDy

    data = read_data(args.data)
    if data.has_derivatives and args.differentiation is not None:
        print(
            f"symsindy fit: note: {args.data} has measured derivatives; --differentiation is not used", file=sys.stderr
        )
    if args.formulation == "weak" and data.has_derivatives:
        raise ValueError(
            f"--formulation weak: {args.data} has measured derivatives, which the weak form would "
            "not use; use --formulation strong or auto"
        )
    specs = [s for s in args.symmetry]
    for s in specs:
        if not s.strip():
            raise ValueError("--symmetry '': empty spec; expected e.g. 'rotation(x,y)'")
    if args.promote:
        if specs:
            raise ValueError("--promote and --symmetry: give one; --promote chooses the symmetry from the data")
        est, lines = promote_from_args(
            data,
            args.degree,
            args.threshold,
            args.promote,
            args.promote_weight,
            alpha=args.alpha,
            include_bias=not args.no_bias,
            differentiation=_differentiation(args.differentiation),
            formulation=args.formulation,
            precision=args.precision,
            random_state=args.seed,
            json_out=None,
        )
        for line in lines:
            print(line)
        if args.json:
            write_promoted_json(args.json, est)
        return 0
    if any(s.strip() == "auto" for s in specs):
        if len(specs) > 1:
            raise ValueError("--symmetry auto: give it alone; it discovers the symmetries to enforce")
        return _run_auto(args, data)
    model = SymmetricSINDy(
        library=ps.PolynomialLibrary(degree=args.degree, include_bias=not args.no_bias),
        symmetry=specs or None,
        threshold=args.threshold,
        alpha=args.alpha,
        differentiation=_differentiation(args.differentiation),
        formulation=args.formulation,
    )
    model.fit(data.x, t=data.t, x_dot=data.x_dot, feature_names=data.variables)
    for line in model.equations(precision=args.precision):
        print(line)
    print(f"equivariance residual: {model.equivariance_residual_:.1e}")
    enforced = list(model.symmetry_.specs)
    print(f"symmetry: {'; '.join(enforced) if enforced else 'none'}")
    for line in model.fit_summary():
        print(line)
    if args.json:
        model.save(args.json)
    return 0


def _run_auto(args, data) -> int:
    import pysindy as ps

    from ..model import SymmetricSINDy

    model = SymmetricSINDy(
        library=ps.PolynomialLibrary(degree=args.degree, include_bias=not args.no_bias),
        symmetry="auto",
        threshold=args.threshold,
        alpha=args.alpha,
        differentiation=_differentiation(args.differentiation),
        formulation=args.formulation,
        random_state=args.seed,
        discovery={"n_bootstrap": 10},
    )
    model.fit(data.x, t=data.t, x_dot=data.x_dot, feature_names=data.variables)
    report = model.discovery_
    for line in model.equations(precision=args.precision):
        print(line)
    print(f"equivariance residual: {model.equivariance_residual_:.1e}")
    found = list(report.specs)
    print(
        f"symmetry: {'; '.join(model.symmetry_.specs) if model.symmetry_.specs else 'none'} (discovered: "
        f"{'; '.join(found) if found else 'none'})"
    )
    for line in model.fit_summary():
        print(line)
    for w in report.warnings:
        print(f"warning: {w}")
    if args.json:
        model.save(args.json)
    return 0
