"""``symsindy conserved`` and ``symsindy noether``: conservation laws of a learned model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._types import add_estimation_options, positive_int
from .fit import DEFAULT_ALPHA

_CONSERVED_EPILOG = """\
defaults: candidate quantities are polynomials of degree 1..2 (--degree); the model is
a plain SINDy fit (polynomial library of degree 3, automatic threshold, weak form
for time series), or a symmetric one
with --symmetry; a quantity counts as conserved when |grad C . f| is at most 1e-2 of
|grad C| |f| (coefficient norms) and it drifts by at most 5% along the model's
trajectory from each data trajectory's first state. Candidates that fail either check
are listed as rejected, with the figure that rejected them (JSON key 'rejected'),
never as conserved.
"""

_NOETHER_EPILOG = """\
The model is fitted with the symmetry enforced; each generator's charge C solves
P grad C = A x + b for the canonical structure of --canonical (a symmetry of positions
only is lifted to the momenta). A symmetry whose charge is not conserved points to
dissipation or a non-Hamiltonian model; a conserved quantity no charge explains
(energy, a Casimir) is flagged too.

example:
  symsindy noether data.csv --symmetry "rotation(q1,q2)+rotation(p1,p2)" --canonical q1:p1,q2:p2
"""


def _common(p) -> None:
    p.add_argument("data", metavar="DATA", help="a .csv or .npz data file (as for 'symsindy fit')")
    p.add_argument("--degree", metavar="D", type=positive_int, default=2,
                   help="largest degree of candidate conserved quantities (default 2)")
    p.add_argument("--model-degree", metavar="K", type=positive_int, default=3,
                   help="degree of the model's polynomial library (default 3)")
    add_estimation_options(p)
    p.add_argument("--json", metavar="OUT", default=None, help="write the results as JSON")
    p.add_argument("--plot", metavar="PNG", default=None, help="plot the quantities along data and model")


def register(sub) -> None:
    p = sub.add_parser("conserved", help="conserved quantities of a model learned from data",
                       description="Fit a model to DATA and find its polynomial conserved quantities; check each "
                       "symbolically and by its drift along the model and the data.",
                       epilog=_CONSERVED_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--symmetry", metavar="SPEC", action="append", default=[], help="enforce a symmetry in the model fit")
    p.add_argument("--from-data", action="store_true",
                   help="also search the data directly (grad Phi(x_k) . x_dot_k), with no model")
    p.set_defaults(func=run_conserved)
    p = sub.add_parser("noether", help="Noether charges of a symmetry and whether model and data conserve them",
                       description="Fit a model to DATA with SPEC enforced, derive the Noether charge of each generator "
                       "for the canonical structure, and check it along model and data.",
                       epilog=_NOETHER_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--symmetry", metavar="SPEC", action="append", required=True, help="the symmetry (repeatable)")
    p.add_argument("--canonical", metavar="PAIRS", required=True, help="canonical pairs, e.g. q1:p1,q2:p2")
    p.set_defaults(func=run_noether)


def _fit(data, args, symmetry):
    import pysindy as ps

    from ..model import SymmetricSINDy

    model = SymmetricSINDy(
        library=ps.PolynomialLibrary(degree=args.model_degree),
        symmetry=symmetry or None,
        threshold=args.threshold,
        alpha=DEFAULT_ALPHA,
        formulation=args.formulation,
    )
    model.fit(data.x, t=data.t, x_dot=data.x_dot, feature_names=data.variables)
    return model


def _show(expr) -> str:
    """Readable text: floats to 6 significant digits (the JSON keeps them exact)."""
    import sympy as sp

    return sp.sstr(expr.xreplace({f: sp.Float(f, 6) for f in expr.atoms(sp.Float)}))


def _rejected(rejected) -> list[dict]:
    """JSON entries of the candidates that failed their checks, with the figure that failed."""
    from ..expressions import format_expression

    return [{"quantity": format_expression(q.expr), "residual": q.residual, **c.to_dict()} for q, c in rejected]


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.2e}"


def _rhs(model):
    import sympy as sp

    exprs = model.sympy()
    return [exprs.get(v, sp.Integer(0)) for v in model.feature_names_]


def _plot(path, quantities, data, rhs, title, labels=None):
    import matplotlib

    matplotlib.use("Agg")
    from ..plots import plot_quantities

    fig = plot_quantities(quantities, data.variables, data.t, data.x, rhs, title=title, labels=labels)
    fig.savefig(path, dpi=120)


def run_conserved(args) -> int:
    from ..conservation import check_quantity, conserved_from_data, conserved_quantities, split_by_check
    from ..discover import estimate_derivatives
    from ..expressions import format_expression
    from ..io import read_data

    data = read_data(args.data)
    model = _fit(data, args, args.symmetry)
    rhs = _rhs(model)
    print("model:")
    for line in model.equations():
        print(f"  {line}")
    for line in model.fit_summary():
        print(f"  {line}")
    found, sv = conserved_quantities(rhs, data.variables, args.degree, x_samples=data.x)
    checks = [check_quantity(q.expr, rhs, data.variables, x_data=data.x, t=data.t) for q in found]
    # only what passes its checks is called conserved; the rest is listed with the figure that rejected it
    passed, rejected = split_by_check(found, checks)
    print(f"conserved quantities of the model (degree <= {args.degree}): {len(passed)}")
    for q, c in passed:
        print(f"  {_show(q.expr)}   residual {q.residual:.2e}; d/dt residual {c.symbolic_residual:.2e}; "
              f"drift model {_fmt(c.drift_model)}, data {_fmt(c.drift_data)}")
    if rejected:
        print(f"rejected candidates (near-null directions that failed a check): {len(rejected)}")
        for q, c in rejected:
            print(f"  {_show(q.expr)}   residual {q.residual:.2e}; drift data {_fmt(c.drift_data)}: {c.reason}")
    out = {
        "variables": list(data.variables),
        "conserved": [format_expression(q.expr) for q, _ in passed],
        "residuals": [q.residual for q, _ in passed],
        "checks": [c.to_dict() for _, c in passed],
        "rejected": _rejected(rejected),
        "singular_values": [float(s) for s in sv],
        "equations": {v: format_expression(e) for v, e in zip(data.variables, rhs)},
        "formulation": model.formulation_,
        "fit": model.fit_info(),
    }
    if args.from_data:
        sx, sd = estimate_derivatives(data.x, data.t, data.x_dot)
        direct, _ = conserved_from_data(sx, sd, data.variables, args.degree)
        print(f"conserved quantities straight from the data: {len(direct)}")
        for q in direct:
            print(f"  {_show(q.expr)}   residual {q.residual:.2e}")
        out["from_data"] = [format_expression(q.expr) for q in direct]
        out["from_data_residuals"] = [q.residual for q in direct]
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    if args.plot and passed:
        _plot(args.plot, [q.expr for q, _ in passed], data, rhs, f"Conserved quantities: {Path(args.data).name}")
    return 0


def run_noether(args) -> int:
    from ..conservation import check_quantity, conserved_quantities, noether_report, parse_canonical, split_by_check
    from ..expressions import format_expression
    from ..io import read_data

    data = read_data(args.data)
    pairs = parse_canonical(args.canonical, data.variables)
    model = _fit(data, args, args.symmetry)
    rhs = _rhs(model)
    print("model (symmetry enforced):")
    for line in model.equations():
        print(f"  {line}")
    found, _ = conserved_quantities(rhs, data.variables, args.degree, x_samples=data.x)
    passed, rejected = split_by_check(found, [check_quantity(q.expr, rhs, data.variables, x_data=data.x, t=data.t)
                                              for q in found])
    entries, flags = noether_report(model.symmetry_, rhs, pairs=pairs, x_data=data.x, t=data.t,
                                    conserved=[q.expr for q, _ in passed], degree=args.degree)
    print("Noether charges:")
    for e in entries:
        d = e.to_dict()
        if e.charge is None:
            print(f"  {e.symmetry}: {e.note}")
            continue
        verdict = "conserved" if d["conserved"] else "NOT conserved"
        drift = "n/a" if d["drift"] is None else f"{d['drift']:.2e}"
        print(f"  {e.symmetry}: charge {d['charge']}; d/dt residual {d['symbolic_residual']:.2e}, drift {drift}: {verdict}")
    for f in flags:
        print(f"flag: {f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"variables": list(data.variables), "charges": [e.to_dict() for e in entries], "flags": flags,
                       "conserved": [format_expression(q.expr) for q, _ in passed],
                       "rejected": _rejected(rejected),
                       "formulation": model.formulation_, "fit": model.fit_info()}, fh, indent=2)
    if args.plot:
        charges = [e.charge for e in entries if e.charge is not None]
        if charges:
            _plot(args.plot, charges, data, rhs, f"Noether charges: {Path(args.data).name}", labels=[f"charge of {e.symmetry}: {_show(e.charge)}" for e in entries if e.charge is not None])
    return 0
