"""``symsindy conserved`` and ``symsindy noether``: conservation laws of a learned model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._types import add_estimation_options, positive_int
from .fit import DEFAULT_ALPHA

_CONSERVED_EPILOG = """\
defaults: candidate quantities are combinations of a family of functions (--basis auto:
polynomials of degree 1..2 (--degree), and the same with log x_i, sin/cos x_i or 1/|q|
factors, exp(q_i - q_j), or the kinetic terms of a double pendulum (chain:
p_a p_b / (1 + sin(q_i - q_j)**2)) or of a spherical one (spherical: p_a p_b / sin(q_i)**2),
positions by --positions; the family with most independent quantities that pass the
checks is kept, ties to the simpler unless a richer one fits 3x better); products of quantities already found
(L**2) are not listed again, and a quantity that is a function of the ones before it is
marked dependent; the model is a plain SINDy fit (polynomial library of degree 3,
--model-library, automatic threshold, weak form for time series), or a symmetric one
with --symmetry; a quantity counts as conserved when |grad C . f| is at most 1e-2 of
|grad C| |f| (coefficient norms) and it drifts by at most 5% along the model's
trajectory from each data trajectory's first state. Candidates that fail either check
are listed as rejected, with the figure that rejected them (JSON key 'rejected'),
never as conserved. Straight from the data (--from-data), a quantity that takes the same
value on every trajectory is rejected: it cannot be told from the equation of an
attracting set they all approach; in the weak form a direction counts as conserved when
its residual is within 1.5 times the one measurement noise alone would give, with a gap
of 1.5 to the next, each quantity is refitted on its sparsest support within the noise,
and one the data do not determine (coefficients spread by more than 1% over blocks of
the data) is rejected; and the last samples of each trajectory are held out of that
search: a quantity that drifts along them (smoothed) by more than 5% is rejected.
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


def _basis_value(text: str) -> str:
    from pathlib import Path

    from ..invariants import FAMILIES

    if text == "auto" or text in FAMILIES or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is neither auto, one of {', '.join(FAMILIES)}, nor an existing file")


def _positions(args, variables):
    if args.positions is None:
        return None
    names = [v.strip() for v in args.positions.split(",") if v.strip()]
    unknown = [v for v in names if v not in variables]
    if unknown:
        raise ValueError(f"--positions: unknown variable {unknown[0]!r}; variables are {', '.join(variables)}")
    return names


def _common(p) -> None:
    p.add_argument("data", metavar="DATA", help="a .csv or .npz data file (as for 'symsindy fit')")
    p.add_argument(
        "--degree",
        metavar="D",
        type=positive_int,
        default=2,
        help="largest degree of candidate conserved quantities (default 2)",
    )
    p.add_argument(
        "--model-degree",
        metavar="K",
        type=positive_int,
        default=3,
        help="degree of the model's polynomial library (default 3)",
    )
    p.add_argument(
        "--model-library",
        choices=("poly", "trig", "kepler", "exp", "phase"),
        default="poly",
        help="the model's library: polynomials (default), with sin and cos of each variable "
        "(trig), with q_i/|q|**3 for the position variables q (kepler; see --positions), with "
        "exp(q_i - q_j) for every ordered pair of them (exp: lattices such as Toda's), or with sin and "
        "cos of every difference of two variables (phase: coupled phase oscillators such as Kuramoto's; "
        "--positions names the phases, default all; the phases enter only through these terms, so the "
        "model is 2*pi-periodic in each, and the other variables through polynomials)",
    )
    p.add_argument(
        "--positions",
        metavar="NAMES",
        default=None,
        help="position variables for the kepler, exp, chain and spherical families (angles for chain and "
        "spherical), e.g. x,y (default: the first half of the variables)",
    )
    add_estimation_options(p)
    p.add_argument("--json", metavar="OUT", default=None, help="write the results as JSON")
    p.add_argument("--plot", metavar="PNG", default=None, help="plot the quantities along data and model")


def register(sub) -> None:
    p = sub.add_parser(
        "conserved",
        help="conserved quantities of a model learned from data",
        description="Fit a model to DATA and find its polynomial conserved quantities; check each "
        "symbolically and by its drift along the model and the data.",
        epilog=_CONSERVED_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p)
    p.add_argument(
        "--symmetry", metavar="SPEC", action="append", default=[], help="enforce a symmetry in the model fit"
    )
    p.add_argument(
        "--from-data",
        action="store_true",
        help="also search the data directly, with no model: -int phi' C(x(t)) dt = 0 for test "
        "functions phi (weak form, time series) or grad C . x_dot = 0 (measured derivatives)",
    )
    p.add_argument(
        "--basis",
        metavar="auto|poly|log|trig|kepler|exp|chain|spherical|FILE",
        default="auto",
        type=_basis_value,
        help="candidate family for the quantities: a name, or a text file of SymPy expressions "
        "(one per line) added to the polynomials (default auto)",
    )
    p.set_defaults(func=run_conserved)
    p = sub.add_parser(
        "noether",
        help="Noether charges of a symmetry and whether model and data conserve them",
        description="Fit a model to DATA with SPEC enforced, derive the Noether charge of each generator "
        "for the canonical structure, and check it along model and data.",
        epilog=_NOETHER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p)
    p.add_argument("--symmetry", metavar="SPEC", action="append", required=True, help="the symmetry (repeatable)")
    p.add_argument("--canonical", metavar="PAIRS", required=True, help="canonical pairs, e.g. q1:p1,q2:p2")
    p.set_defaults(func=run_noether)


def _r3(*q):
    return sum(v * v for v in q) ** 1.5


#: q_i / |q|**3 for two or three positions (pysindy reads a library function's arity from its code)
_KEPLER = {
    2: [lambda a, b: a / _r3(a, b), lambda a, b: b / _r3(a, b)],
    3: [lambda a, b, c: a / _r3(a, b, c), lambda a, b, c: b / _r3(a, b, c), lambda a, b, c: c / _r3(a, b, c)],
}


def _elementary(name):
    """``exp``, ``sin`` or ``cos`` of NumPy or SymPy: the library is evaluated on arrays and, for
    its symbolic terms, on SymPy symbols."""
    import numpy as np
    import sympy

    def f(v):
        return getattr(sympy, name)(v) if isinstance(v, sympy.Basic) else getattr(np, name)(v)

    return f


_exp, _sin, _cos = _elementary("exp"), _elementary("sin"), _elementary("cos")


def _kepler_name(m):
    return lambda *q: f"{q[m]}/({' + '.join(f'{v}**2' for v in q)})**1.5"


def _library(args, variables):
    """The model's library: polynomials of ``--model-degree``, with trig, Kepler or exponential terms."""
    import pysindy as ps

    from ..invariants import position_indices

    n = len(variables)
    lib = ps.PolynomialLibrary(degree=args.model_degree)
    if args.model_library == "trig":
        return lib + ps.FourierLibrary(n_frequencies=1)
    if args.model_library not in ("kepler", "exp", "phase"):
        return lib
    where = f"--model-library {args.model_library}"
    if args.model_library == "phase":
        # coupled phase oscillators: the right-hand side is 2*pi-periodic in each phase, so the
        # phases enter only through sin and cos of every difference of two of them; the other
        # variables (if --positions names the phases) through polynomials of --model-degree.
        # Linear phase terms would break the periodicity and, on data with nearly locked
        # phases, stand in for the sines of the small differences.
        pos = _positions(args, variables) or list(variables)
        if len(pos) < 2:
            raise ValueError(f"{where}: needs two or more phase variables")
        idx = [variables.index(v) for v in pos]
        others = [i for i in range(n) if i not in idx]
        custom = ps.CustomLibrary(
            library_functions=[lambda a, b: _sin(a - b), lambda a, b: _cos(a - b)],
            function_names=[lambda a, b: f"sin({a} - {b})", lambda a, b: f"cos({a} - {b})"],
        )
        if not others:  # a constant: the natural frequencies
            return ps.GeneralizedLibrary([ps.PolynomialLibrary(degree=0), custom])
        return ps.GeneralizedLibrary([lib, custom], inputs_per_library=[others, idx])
    idx = list(position_indices(variables, _positions(args, variables), where))
    if args.model_library == "kepler":
        if len(idx) not in _KEPLER:
            raise ValueError(f"{where}: {len(idx)} position variables; expected 2 or 3")
        funcs, names = _KEPLER[len(idx)], [_kepler_name(m) for m in range(len(idx))]
    else:
        # exp(q_i - q_j) for every ordered pair: both signs of each pair of inputs
        funcs = [lambda a, b: _exp(a - b), lambda a, b: _exp(b - a)]
        names = [lambda a, b: f"exp({a} - {b})", lambda a, b: f"exp({b} - {a})"]
    custom = ps.CustomLibrary(library_functions=funcs, function_names=names)
    return ps.GeneralizedLibrary([lib, custom], inputs_per_library=[list(range(n)), idx])


def _fit(data, args, symmetry):
    from ..model import SymmetricSINDy

    model = SymmetricSINDy(
        library=_library(args, list(data.variables)),
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
    from ..conservation import check_quantity, checked_search, split_by_check
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
    positions = _positions(args, list(data.variables))

    search, checks = checked_search(
        rhs,
        data.variables,
        args.degree,
        lambda q: check_quantity(q.expr, rhs, data.variables, x_data=data.x, t=data.t),
        x_samples=data.x,
        basis=args.basis,
        positions=positions,
    )
    found, sv = search
    # only what passes its checks is called conserved; the rest is listed with the figure that rejected it
    passed, rejected = split_by_check(found, checks)
    n_ind = sum(q.independent for q, _ in passed)
    print(
        f"basis: {search.basis} ("
        + "; ".join(f"{name}: {c['independent']} independent of {c['found']}" for name, c in search.candidates.items())
        + ")"
    )
    print(f"conserved quantities of the model (degree <= {args.degree}): {len(passed)}, {n_ind} independent")
    for q, c in passed:
        tail = "" if q.independent else "   (a function of the ones above)"
        print(
            f"  {_show(q.expr)}   residual {q.residual:.2e}; d/dt residual {c.symbolic_residual:.2e}; "
            f"drift model {_fmt(c.drift_model)}, data {_fmt(c.drift_data)}{tail}"
        )
    if rejected:
        print(f"rejected candidates (near-null directions that failed a check): {len(rejected)}")
        for q, c in rejected:
            print(f"  {_show(q.expr)}   residual {q.residual:.2e}; drift data {_fmt(c.drift_data)}: {c.reason}")
    out = {
        "variables": list(data.variables),
        "conserved": [format_expression(q.expr) for q, _ in passed],
        "residuals": [q.residual for q, _ in passed],
        "checks": [c.to_dict() for _, c in passed],
        "independent": int(n_ind),
        "dependent": [format_expression(q.expr) for q, _ in passed if not q.independent],
        "basis": search.basis,
        "basis_candidates": search.candidates,
        "rejected": _rejected(rejected),
        "singular_values": [float(s) for s in sv],
        "equations": {v: format_expression(e) for v, e in zip(data.variables, rhs)},
        "formulation": model.formulation_,
        "fit": model.fit_info(),
    }
    if args.from_data:
        _from_data(args, data, positions, out)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    if args.plot and passed:
        _plot(args.plot, [q.expr for q, _ in passed], data, rhs, f"Conserved quantities: {Path(args.data).name}")
    return 0


def _from_data(args, data, positions, out) -> None:
    """The search straight from the data (no model): weak form for time series, strong with
    measured derivatives (as --formulation); a quantity must tell the trajectories apart."""
    from ..conservation import (
        SEPARATION_TOL,
        UndeterminedSearch,
        conserved_from_data,
        per_quantity,
        trajectory_separation,
    )
    from ..expressions import format_expression

    sep = per_quantity(lambda q: trajectory_separation(q.expr, data.variables, data.x))

    def accept(q):
        return sep(q) is None or sep(q) >= SEPARATION_TOL

    try:
        direct = conserved_from_data(
            data.x,
            data.x_dot,
            data.variables,
            args.degree,
            t=data.t,
            formulation=args.formulation,
            basis=args.basis,
            positions=positions,
            accept=accept,
        )
    except UndeterminedSearch as exc:
        print(f"conserved quantities straight from the data: undetermined ({exc})")
        out["from_data"], out["from_data_error"] = [], str(exc)
        return
    kept = [q for q in direct.quantities if accept(q)]
    dropped = [q for q in direct.quantities if not accept(q)]
    n_ind = sum(q.independent for q in kept)
    print(
        f"conserved quantities straight from the data ({direct.formulation} form, basis {direct.basis}): "
        f"{len(kept)}, {n_ind} independent"
    )
    for q in kept:
        tail = "" if q.independent else "   (a function of the ones above)"
        note = "" if sep(q) is not None else "; one trajectory: not told apart from an attracting set"
        held = "" if q.held_out_drift is None else f"; drift held out {q.held_out_drift:.2e}"
        print(f"  {_show(q.expr)}   residual {q.residual:.2e}{held}{note}{tail}")
    if dropped:
        print(f"rejected (the same on every trajectory, as on an attracting set): {len(dropped)}")
        for q in dropped:
            print(f"  {_show(q.expr)}   residual {q.residual:.2e}; separation {sep(q):.2e} < {SEPARATION_TOL:g}")
    if direct.rejected:
        print(
            f"rejected (drift along the last samples of each trajectory, held out of the search): {len(direct.rejected)}"
        )
        for q, why in direct.rejected:
            print(f"  {_show(q.expr)}   residual {q.residual:.2e}; {why}")
    out["from_data"] = [format_expression(q.expr) for q in kept]
    out["from_data_residuals"] = [q.residual for q in kept]
    out["from_data_held_out_drift"] = [q.held_out_drift for q in kept]
    out["from_data_independent"] = int(n_ind)
    out["from_data_basis"] = direct.basis
    out["from_data_formulation"] = direct.formulation
    out["from_data_rejected"] = [
        {
            "quantity": format_expression(q.expr),
            "residual": q.residual,
            "separation": sep(q),
            "reason": f"separation {sep(q):.2e} < {SEPARATION_TOL:g}: the same on every "
            "trajectory, as on an attracting set",
        }
        for q in dropped
    ] + [
        {
            "quantity": format_expression(q.expr),
            "residual": q.residual,
            "held_out_drift": q.held_out_drift,
            "reason": why,
        }
        for q, why in direct.rejected
    ]


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
    passed, rejected = split_by_check(
        found, [check_quantity(q.expr, rhs, data.variables, x_data=data.x, t=data.t) for q in found]
    )
    entries, flags = noether_report(
        model.symmetry_,
        rhs,
        pairs=pairs,
        x_data=data.x,
        t=data.t,
        conserved=[q.expr for q, _ in passed],
        degree=args.degree,
    )
    print("Noether charges:")
    for e in entries:
        d = e.to_dict()
        if e.charge is None:
            print(f"  {e.symmetry}: {e.note}")
            continue
        verdict = "conserved" if d["conserved"] else "NOT conserved"
        drift = "n/a" if d["drift"] is None else f"{d['drift']:.2e}"
        print(
            f"  {e.symmetry}: charge {d['charge']}; d/dt residual {d['symbolic_residual']:.2e}, drift {drift}: {verdict}"
        )
    for f in flags:
        print(f"flag: {f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "variables": list(data.variables),
                    "charges": [e.to_dict() for e in entries],
                    "flags": flags,
                    "conserved": [format_expression(q.expr) for q, _ in passed],
                    "rejected": _rejected(rejected),
                    "formulation": model.formulation_,
                    "fit": model.fit_info(),
                },
                fh,
                indent=2,
            )
    if args.plot:
        charges = [e.charge for e in entries if e.charge is not None]
        if charges:
            _plot(
                args.plot,
                charges,
                data,
                rhs,
                f"Noether charges: {Path(args.data).name}",
                labels=[f"charge of {e.symmetry}: {_show(e.charge)}" for e in entries if e.charge is not None],
            )
    return 0
