"""``symsindy fit-pde``: a PDE u_t = N(u, u_x, u_xx, ...) from field data, with a symmetry enforced."""

from __future__ import annotations

import argparse
import json

from ._types import nonnegative_float, positive_int, threshold_value

_EPILOG = """\
DATA is an NPZ file with t (nt,), the grid x (nx,) and y (ny,) for 2-D, the components u
(nt, nx[, ny], ncomp) and their names; several files are several runs on the same grid.
Symmetry specs name components and axes together: flip(x)+flip(u) reflects the domain and
the component (Burgers), rotation(u,v) rotates two components, rotation(x,y) rotates a 2-D
domain (rotation(x,y)+rotation(u,v) a vector field with it), swap(x,y) exchanges the axes,
translation(x) holds for every library without explicit x. --coordinates x,y adds the
coordinates as features (every term times x and y, up to --coordinate-degree), for PDEs that
depend on the place such as transport by a given flow; a symmetry then moves them with the
domain, so rotation(x,y) constrains c_t = y c_x - x c_y + D lap c and a translation fails it.
--symmetry auto fits without
symmetry, discovers the continuous symmetries (gl of the components, the rotation of a 2-D
domain) and the discrete ones (signed permutations of components and axes), keeps those a
refit check accepts, enforces them and fits again. The fit is PDE-FIND inside the
equivariant subspace, in the weak form (space-time test functions, no derivative of the data in
time) when the fields are large enough, else in the strong form (u_t by finite differences).

examples:
  symsindy fit-pde burgers.npz --symmetry "flip(x)+flip(u)" --json burgers.json
  symsindy fit-pde cgl.npz --symmetry auto
  symsindy fit-pde flow.npz --degree 1 --coordinates x,y --symmetry "rotation(x,y)"
"""


def register(sub) -> None:
    p = sub.add_parser(
        "fit-pde",
        help="fit a PDE u_t = N(u, u_x, u_xx, ...) to field data, enforcing given symmetries",
        description="Fit a PDE to the fields in DATA (NPZ) with the given symmetries enforced exactly.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", nargs="+", help="one or more .npz field files (runs on one grid)")
    p.add_argument(
        "--symmetry",
        metavar="SPEC",
        action="append",
        default=[],
        help="a symmetry to enforce, over component and axis names (repeat for several; default none), "
        "or 'auto' to discover it from the data",
    )
    p.add_argument(
        "--promote",
        metavar="FAMILY",
        choices=("gl", "so", "sl"),
        default=None,
        help="promote a symmetry told only the candidate family (gl, so or sl of the components, with the "
        "rotation of a 2-D domain): a nuclear-norm penalty on the Lie derivatives along a path of weights, "
        "the largest algebra the held-out refit check accepts enforced (not with --symmetry)",
    )
    p.add_argument(
        "--derivative-order", metavar="D", type=positive_int, default=2, help="highest spatial derivative (default 2)"
    )
    p.add_argument("--degree", metavar="P", type=positive_int, default=2, help="degree in the components (default 2)")
    p.add_argument(
        "--coordinates",
        metavar="AXES",
        default=None,
        help="comma-separated axes whose values are features (every term times their monomials; default none)",
    )
    p.add_argument(
        "--coordinate-degree",
        metavar="Q",
        type=positive_int,
        default=1,
        help="highest degree of the coordinate monomials (default 1)",
    )
    p.add_argument(
        "--formulation",
        choices=("strong", "weak", "auto"),
        default="auto",
        help="'strong' differentiates the fields in time; 'weak' integrates them against space-time test "
        "functions (for noisy fields); 'auto' (default) is the weak form when every axis hosts the test "
        "functions, else the strong form",
    )
    p.add_argument(
        "--seed", metavar="S", type=int, default=0, help="seed of the weak form's test-function centres (default 0)"
    )
    p.add_argument(
        "--threshold", metavar="T|auto", type=threshold_value, default="auto", help="sparsity threshold (default auto)"
    )
    p.add_argument(
        "--sparsity-weight",
        metavar="W",
        type=nonnegative_float,
        default=None,
        help="weight of the fraction of terms kept in the automatic threshold's criterion (default 0.3)",
    )
    p.add_argument("--precision", metavar="P", type=positive_int, default=3, help="decimals printed (default 3)")
    p.add_argument("--json", metavar="OUT", default=None, help="also write equations, symmetry and terms as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..expressions import format_expression
    from ..pde import SymmetricPDESINDy, read_fields

    specs = [s for s in args.symmetry]
    auto = any(s.strip() == "auto" for s in specs)
    if auto and len(specs) > 1:
        raise ValueError("--symmetry auto: discovers the symmetry; give it alone, not with other specs")
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: expected a non-negative integer")
    if args.promote and specs:
        raise ValueError("--promote: promotion finds the symmetry; give it without --symmetry")
    if args.coordinate_degree != 1 and not args.coordinates:
        raise ValueError("--coordinate-degree: needs --coordinates (the axes whose monomials are features)")
    data = read_fields(args.data)
    kws = dict(
        degree=args.degree,
        derivative_order=args.derivative_order,
        coordinates=args.coordinates,
        coordinate_degree=args.coordinate_degree,
        threshold=args.threshold,
        formulation=args.formulation,
        random_state=args.seed,
    )
    if args.sparsity_weight is not None:
        kws["sparsity_weight"] = args.sparsity_weight
    if args.promote:
        from ..pde import promote_pde

        model = promote_pde(data, family=args.promote, **kws)
        promo = model.promotion_
        weight = "none" if promo["weight"] is None else f"{promo['weight']:.3g} x lam_ref ({promo['lam_ref']:.3g})"
        print(f"promotion: told {args.promote}; weight {weight}; {len(promo['path'])} weights on the path")
        for pt in promo["path"]:
            if "failed" in pt:
                print(f"promotion:   weight {pt['weight']:.3g}: {pt['failed']}")
            else:
                found = "; ".join(pt["accepted"]) or "none accepted"
                print(f"promotion:   weight {pt['weight']:.3g}: {found}")
        specs = list(promo["specs"])
    else:
        model = SymmetricPDESINDy(symmetry="auto" if auto else (specs or None), **kws).fit(data)
    if auto:
        for line in model.discovery_.summary():
            print(f"discovery: {line.strip()}")
        specs = list(model.enforced_specs_)
    for line in model.equations(precision=args.precision):
        print(line)
    print(f"equivariance residual: {model.equivariance_residual_:.1e}")
    enforced = "; ".join(specs) if specs else "none"
    how = " (discovered)" if auto else " (promoted)" if args.promote else ""
    print(f"symmetry: {enforced}{how}")
    coords = list(getattr(model.library_, "coordinates", ()))
    if coords:
        print(f"coordinates: {', '.join(coords)} as features, up to degree {args.coordinate_degree}")
    print(f"formulation: {model.formulation_} ({model.formulation_reason_})")
    auto_threshold = args.threshold == "auto"
    rule = f"automatic, sparsity weight {model.sparsity_weight:g}" if auto_threshold else "given"
    print(f"threshold: {model.threshold_:.4g} ({rule})")
    threshold_rule = f"auto (mstls, sparsity weight {model.sparsity_weight:g})" if auto_threshold else "given"
    if args.json:
        out = {
            "components": list(model.feature_names_),
            "axes": list(model.axes_),
            "coordinates": coords,
            "equations": {c: format_expression(e) for c, e in model.sympy().items()},
            "symmetry": specs,
            "equivariance_residual": model.equivariance_residual_,
            "formulation": model.formulation_,
            "formulation_reason": model.formulation_reason_,
            "test_functions": _test_functions(model),
            "threshold": model.threshold_,
            "threshold_rule": threshold_rule,
            "terms": [format_expression(t) for t in model.terms_],
            "coefficients": model.coef_.tolist(),
        }
        if auto:
            out["discovery"] = model.discovery_.to_dict()
        if args.promote:
            out["promotion"] = model.promotion_
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
            fh.write("\n")
    return 0


def _test_functions(model):
    """The weak form's test functions for the JSON (None for the strong form)."""
    ws = model.weak_system_
    if ws is None:
        return None
    return {"n_test": ws.n_test, "radius": dict(ws.widths), "p": dict(ws.p), "seed": model.random_state}
