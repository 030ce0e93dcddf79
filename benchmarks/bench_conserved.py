"""Conserved quantities found from noisy data, against the catalogue's declared ones.

For every catalogue system that declares conserved quantities, and for four dissipative
ones (Lorenz, van der Pol, the damped oscillator, Rössler), at 1% noise (η × each variable's
std on the states, the catalogue's default trajectories, four per run) and each seed:

1. a model is fitted to the time series, in the strong form (smoothed finite differences)
   and in the weak form, with the automatic threshold and no symmetry; its library is the
   one a scientist would pick for the system's kind of right-hand side: polynomials of the
   system's degree, polynomials with sin and cos of each variable (pendulum), or with the
   Kepler forces q/|q|**3 (the same choice as ``symsindy conserved --model-library``).
   Systems whose right-hand side none of these libraries holds (rational or exponential
   terms) are run with the true right-hand side only, as a reference;
2. its conserved quantities are searched with ``basis="auto"`` at the declared quantities'
   level, each checked (symbolic residual and drift along the model), as ``symsindy
   conserved`` does;
3. the same search with the true right-hand side (the reference column), and straight from
   the data in the weak form (no model; a quantity must tell the trajectories apart);
4. the ``symmetric`` column: the weak-form model of step 1 (same library, automatic threshold)
   fitted with the system's declared symmetries enforced (``System.symmetry_specs``: the
   continuous and discrete claims that hold at its parameters), then the same search. Each
   spec is first checked against the library (its induced action and a nonzero equivariant
   subspace, as ``SymmetricSINDy`` needs); a rejected one is recorded with the reason
   (``rejected``) and left out, and a case with no spec left is n/a, as is a system that
   declares no symmetry (or has no model library). The row records what was ``enforced``.

Reported per system and formulation: in how many seeds every declared quantity lies in the
span of the reported ones and their products (relative residual < 1e-2); how many reported
quantities fail the true flow (|grad C . f| > 1e-2 |grad C| |f| on the data); the median
number of independent quantities reported, beside the declared quantities' own count; for
dissipative systems, how many quantities were reported at all.

    python benchmarks/bench_conserved.py [--seeds 20] [--workers 2] [--out benchmarks/results]
        [--systems a,b] [--skip a,b] [--rerun] [--columns from_data,true_rhs] [--table-only]

``--columns`` runs only those columns of each case and keeps the others from its earlier row
in OUT/conserved.jsonl (the same simulation: a case is its system and seed): with ``--rerun``
every selected case, else only the columns its row lacks (a new column is filled in for the
rows that precede it; the completed row is appended and replaces the earlier one).
"""

from __future__ import annotations

import _common as common  # first: it sets BLAS threads to 1 unless overridden

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pysindy as ps  # noqa: E402
import sympy as sp  # noqa: E402

DISSIPATIVE = ["lorenz", "van_der_pol", "damped_oscillator", "rossler"]
NOISE = 0.01
TRAJECTORIES = 4
#: relative size of the initial-state perturbations (the catalogue's default; ``--spread``)
SPREAD = 0.1


def _declared_systems():
    from symsindy.catalogue import get_system, list_systems

    names = list_systems()
    return [n for n in names if get_system(n).conserved]


def _level(expr, xs) -> int:
    from symsindy.conservation import _term_level

    return max((_term_level(t.as_coeff_Mul()[1], xs) for t in sp.Add.make_args(sp.expand(expr))), default=1)


def _library_kind(system) -> str:
    """poly, trig, kepler, exp or phase: the library that holds the right-hand side; none if no such."""
    xs = system.symbols
    rhs = system.rhs_list
    if all(e.is_polynomial(*xs) for e in rhs):
        return "poly"
    funcs = {type(f) for e in rhs for f in e.atoms(sp.Function)}
    if not funcs and any(p.exp == sp.Rational(-3, 2) for e in rhs for p in e.atoms(sp.Pow)):
        return "kepler"
    if (
        funcs
        and funcs <= {sp.sin, sp.cos}
        and all(f.args[0] in xs for e in rhs for f in e.atoms(sp.sin, sp.cos))
        and not any(p.exp.is_negative for e in rhs for p in e.atoms(sp.Pow))
    ):
        return "trig"
    args = [f.args[0] for e in rhs for f in e.atoms(sp.sin, sp.cos)]
    if (
        funcs
        and funcs <= {sp.sin, sp.cos}
        and all(len(a.free_symbols) == 2 and sp.expand(a - sum(a.free_symbols, 0)) != 0 for a in args)
        and all(e.subs({f: 1 for f in e.atoms(sp.sin, sp.cos)}).is_polynomial(*xs) for e in rhs)
    ):
        return "phase"
    half = set(xs[: len(xs) // 2])
    if (
        funcs == {sp.exp}
        and all(
            len(f.args[0].free_symbols) == 2 and f.args[0].free_symbols <= half for e in rhs for f in e.atoms(sp.exp)
        )
        and all(e.subs({f: 1 for f in e.atoms(sp.exp)}).is_polynomial(*xs) for e in rhs)
    ):
        return "exp"
    return "none"


def _model_library(system, kind):
    xs = system.symbols
    if kind == "poly":
        deg = max(1, max(int(sp.Poly(e, *xs).total_degree()) for e in system.rhs_list))
        return ps.PolynomialLibrary(degree=deg)
    args = argparse.Namespace(model_degree=1, model_library=kind, positions=None)
    from symsindy.commands.conservation import _library

    return _library(args, list(system.variables))


def _independent_count(exprs, variables, pts) -> int:
    """Functional rank of ``exprs`` at the points (median of the sequential rank test)."""
    xs = sp.symbols(list(variables))
    if not exprs:
        return 0
    f = sp.lambdify(xs, [[sp.diff(e, x) for x in xs] for e in exprs], "numpy")
    with np.errstate(all="ignore"):
        g = f(*pts.T)
    J = np.array([[np.broadcast_to(np.asarray(v, float), (len(pts),)) for v in row] for row in g])  # (q, n, m)
    J = np.transpose(J, (2, 1, 0))  # (m, n, q)
    from symsindy.conservation import DEPENDENCE_TOL, last_rank_ratio

    kept = []
    for k in range(J.shape[2]):
        if last_rank_ratio(J[:, :, kept + [k]]) > DEPENDENCE_TOL:
            kept.append(k)
    return len(kept)


def _fails_true_flow(expr, system, x_all) -> bool:
    from symsindy.conservation import check_quantity

    c = check_quantity(expr, system.rhs_list, list(system.variables), x_data=x_all, simulate=False)
    return not c.symbolic_residual <= 1e-2


def _evaluate(found, system, x_all):
    from symsindy.conservation import span_residual

    exprs = [q.expr for q in found]
    declared = list(system.conserved.values())
    span_ok = bool(declared) and all(exprs and span_residual(q, exprs, system.variables) < 1e-2 for q in declared)
    return {
        "span_ok": span_ok,
        "reported": len(exprs),
        "independent": int(sum(bool(q.independent) for q in found)),
        "false": int(sum(_fails_true_flow(e, system, x_all) for e in exprs)),
        "expressions": [str(e) for e in exprs],
    }


def _model_row(model, variables, search) -> dict:
    """The search row of a fitted model's right-hand side (an empty row for the zero model), with
    the fit's conditioning (``SymmetricSINDy.conditioning_``: whether the data determine it)."""
    exprs = model.sympy()
    rhs = [exprs.get(v, sp.Integer(0)) for v in variables]
    if any(e != 0 for e in rhs):
        row = search(rhs)
    else:
        row = {"span_ok": False, "reported": 0, "independent": 0, "false": 0, "expressions": [], "basis": None}
    c = model.conditioning_
    number = c["condition_number"]
    row.update(condition_number=float(number) if np.isfinite(number) else None, ill_conditioned=c["ill_conditioned"])
    return row


def _failed_row(exc) -> dict:
    """The row of a case whose fit or search raised: nothing found, the error recorded."""
    return {
        "span_ok": False,
        "reported": 0,
        "independent": 0,
        "false": 0,
        "expressions": [],
        "error": f"{type(exc).__name__}: {exc}",
    }


def from_data_row(system, sim, degree, **kwargs) -> dict:
    """The ``from_data`` column: the search straight from the data in the weak form, no model, a
    quantity must tell the trajectories apart; ``kwargs`` go to ``conserved_from_data``."""
    from symsindy.conservation import SEPARATION_TOL, conserved_from_data, per_quantity, trajectory_separation

    variables = list(system.variables)
    sep = per_quantity(lambda q: trajectory_separation(q.expr, variables, sim.x) or 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            direct = conserved_from_data(
                sim.x,
                None,
                variables,
                degree,
                t=sim.t,
                formulation="weak",
                basis="auto",
                accept=lambda q: sep(q) >= SEPARATION_TOL,
                **kwargs,
            )
    except Exception as exc:
        return _failed_row(exc)
    row = _evaluate([q for q in direct.quantities if sep(q) >= SEPARATION_TOL], system, np.vstack(sim.x))
    row["basis"] = direct.basis
    row["rejected_held_out"] = len(direct.rejected)
    return row


def _rejected_specs(library, specs, variables, x_samples) -> dict:
    """The specs ``SymmetricSINDy`` cannot enforce with ``library``, each with the reason: its action
    leaves the library, or no nonzero model in the library obeys it."""
    from symsindy.actions import induced_action
    from symsindy.constraints import equivariant_subspace
    from symsindy.base import clone_library
    from symsindy.symmetry import Symmetry

    lib = clone_library(library)
    lib.fit(x_samples)
    rejected = {}
    for spec in specs:
        try:
            action = induced_action(lib, Symmetry(list(variables), spec), x_samples=x_samples)
            if equivariant_subspace(action).dim == 0:
                rejected[spec] = "no nonzero model in the library obeys it"
        except ValueError as exc:  # LibraryNotClosedError among them
            rejected[spec] = f"{type(exc).__name__}: {exc}"
    return rejected


def symmetric_row(system, sim, kind, search):
    """The ``symmetric`` column: the weak-form model with the declared symmetries that the library
    admits enforced, then ``search`` of its right-hand side; None when the system declares no
    symmetry or no model library holds its right-hand side."""
    from symsindy.constraints import NoSymmetricModelError
    from symsindy.model import SymmetricSINDy

    specs = list(system.symmetry_specs)
    if kind == "none" or not specs:
        return None
    variables = list(system.variables)
    t0 = time.time()
    library = _model_library(system, kind)
    rejected = _rejected_specs(library, specs, variables, np.vstack(sim.x))
    enforced = [s for s in specs if s not in rejected]
    info = {"declared_specs": specs, "enforced": enforced, "rejected": rejected}
    if not enforced:
        return {**info, "not_run": "every declared symmetry was rejected", "seconds": time.time() - t0}
    try:
        model = SymmetricSINDy(library=library, symmetry=enforced, formulation="weak")
        model.fit(sim.x, t=sim.t, feature_names=variables)
    except NoSymmetricModelError as exc:  # each spec admitted, their intersection only the zero model
        return {**info, "not_run": f"{type(exc).__name__}: {exc}", "seconds": time.time() - t0}
    except Exception as exc:  # a failed fit is a failed case, recorded
        return {**info, **_failed_row(exc), "seconds": time.time() - t0}
    row = _model_row(model, variables, search)
    row.update(info, equivariance_residual=float(model.equivariance_residual_), seconds=time.time() - t0)
    return row


COLUMNS = ("true_rhs", "strong", "weak", "from_data", "symmetric")


def run_case(name: str, seed: int, columns=COLUMNS, previous=None, spread: float = SPREAD) -> dict:
    warnings.filterwarnings("ignore")
    from symsindy.catalogue import get_system
    from symsindy.conservation import (
        check_quantity,
        checked_search,
        split_by_check,
    )
    from symsindy.model import SymmetricSINDy

    system = get_system(name)
    variables = list(system.variables)
    xs = system.symbols
    try:
        sim = system.simulate(noise=NOISE, random_state=seed, n_trajectories=TRAJECTORIES, spread=spread)
    except ValueError as exc:  # a perturbed initial state the integrator cannot follow: no data
        return {
            "system": name,
            "seed": seed,
            "spread": spread,
            "library": _library_kind(system),
            "declared_independent": 0,
            "simulation_failed": str(exc),
            "true_rhs": None,
            "strong": None,
            "weak": None,
            "from_data": None,
            "symmetric": None,
        }
    x_all = np.vstack(sim.x)
    declared = list(system.conserved.values())
    degree = max([_level(q, xs) for q in declared] + [2 if not declared else 1])
    kind = _library_kind(system)
    out = {
        "system": name,
        "seed": seed,
        "spread": spread,
        "degree": degree,
        "library": kind,
        "declared_independent": _independent_count(declared, variables, x_all[::10]) if declared else 0,
    }

    def search(rhs):
        t0 = time.time()
        res, checks = checked_search(
            rhs,
            variables,
            degree,
            lambda q: check_quantity(q.expr, rhs, variables, x_data=sim.x, t=sim.t),
            x_samples=sim.x,
            basis="auto",
        )
        passed, _ = split_by_check(res.quantities, checks)
        row = _evaluate([q for q, _ in passed], system, x_all)
        row.update(basis=res.basis, seconds=time.time() - t0)
        return row

    previous = previous or {}
    kept = [c for c in COLUMNS if c not in columns and c in previous]
    out.update({c: previous[c] for c in kept})
    if kept:
        out["kept_columns"] = kept
    # a column neither asked for nor in an earlier row is left out of the row (n/a in the table)
    if "true_rhs" in columns:
        out["true_rhs"] = search(system.rhs_list)
    for form in ("strong", "weak"):
        if form not in columns:
            continue
        if kind == "none":
            out[form] = None
            continue
        t0 = time.time()
        try:
            model = SymmetricSINDy(library=_model_library(system, kind), formulation=form)
            model.fit(sim.x, t=sim.t, feature_names=variables)
            row = _model_row(model, variables, search)
        except Exception as exc:  # a failed fit is a failed case, recorded
            row = _failed_row(exc)
        row["seconds"] = time.time() - t0
        out[form] = row
    if "from_data" in columns:
        t0 = time.time()
        row = from_data_row(system, sim, degree)
        row["seconds"] = time.time() - t0
        out["from_data"] = row
    if "symmetric" in columns:
        out["symmetric"] = symmetric_row(system, sim, kind, search)
    return out


def _columns_to_run(row, columns, rerun) -> tuple:
    """The columns a case runs: every one asked for if it is new or ``rerun``, else those its row lacks."""
    if rerun or row is None:
        return tuple(columns)
    return tuple(c for c in columns if c not in row)


def _table(rows, names, n_seeds):
    cols = ["true_rhs", "strong", "weak", "symmetric", "from_data"]
    lines = [
        "| system | library | declared (independent) | "
        + " | ".join(f"{c}: span ok / false / independent" for c in cols)
        + " |",
        "|---|---|---|" + "---|" * len(cols),
    ]
    for name in names:
        rs = [r for r in rows if r["system"] == name]
        if not rs:
            continue
        cells = []
        for c in cols:
            got = [r[c] for r in rs if r.get(c) is not None and not r[c].get("not_run")]
            if not got:
                cells.append("n/a")
                continue
            ok = sum(g["span_ok"] for g in got)
            false = sum(g["false"] for g in got)
            ind = float(np.median([g["independent"] for g in got]))
            if name in DISSIPATIVE:
                cells.append(f"reported {sum(g['reported'] for g in got)} / false {false}")
            else:
                cells.append(f"{ok}/{len(got)} / {false} / {ind:g}")
        lines.append(
            f"| {name} | {rs[0]['library']} | {len(get_declared(name))} ({rs[0]['declared_independent']}) | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def _symmetry_lines(rows, names):
    """Per system: the specs the ``symmetric`` column enforced, and any rejected or not run, with why."""
    lines = []
    for name in names:
        got = [r["symmetric"] for r in rows if r["system"] == name and r.get("symmetric")]
        if not got:
            continue
        enforced = sorted({"; ".join(g["enforced"]) for g in got})
        line = f"- {name}: enforced " + " | ".join(f"`{e}`" if e else "nothing" for e in enforced)
        rejected = {spec: why for g in got for spec, why in g["rejected"].items()}
        if rejected:
            line += "; rejected " + "; ".join(f"`{spec}` ({why})" for spec, why in rejected.items())
        not_run = [g["not_run"] for g in got if g.get("not_run")]
        if not_run:
            line += f"; n/a in {len(not_run)} seed(s): " + "; ".join(sorted(set(not_run)))
        lines.append(line)
    return lines


def _conditioning_lines(rows, names):
    """Per system: the fitted models' condition numbers (scaled library on the regression rows) and
    in how many seeds the fit warned that the data do not determine it."""
    lines = []
    for name in names:
        cells = []
        for c in ("strong", "weak", "symmetric"):
            got = [r[c] for r in rows if r["system"] == name and r.get(c) and "ill_conditioned" in r[c]]
            if not got:
                continue
            nums = [g["condition_number"] for g in got]
            top = "inf" if any(v is None for v in nums) else f"{max(nums):.2g}"
            cells.append(f"{c} {sum(g['ill_conditioned'] for g in got)}/{len(got)} (largest {top})")
        if cells:
            lines.append(f"- {name}: " + ", ".join(cells))
    return lines


def get_declared(name):
    from symsindy.catalogue import get_system

    return get_system(name).conserved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--systems", default=None, help="comma-separated subset")
    parser.add_argument("--skip", default="", help="comma-separated systems to leave out")
    parser.add_argument(
        "--table-only", action="store_true", help="rewrite the table from the rows already in OUT/conserved.jsonl"
    )
    parser.add_argument(
        "--rerun", action="store_true", help="run the selected cases again even if OUT/conserved.jsonl has them"
    )
    parser.add_argument(
        "--columns",
        default=",".join(COLUMNS),
        help="comma-separated columns to run ("
        + ", ".join(COLUMNS)
        + "); the others are kept from earlier rows, or left out (n/a) where there are none",
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=SPREAD,
        help=f"relative size of the initial-state perturbations (default {SPREAD}, the catalogue's); another value "
        "needs its own --out, whose rows it records",
    )
    parser.add_argument("--out", default=str(common.RESULTS))
    args = parser.parse_args(argv)
    if not (np.isfinite(args.spread) and args.spread >= 0):
        parser.error(f"--spread: expected a non-negative number, got {args.spread}")
    columns = tuple(c for c in args.columns.split(",") if c)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        parser.error(f"--columns: unknown column {unknown[0]!r}; expected some of {', '.join(COLUMNS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    every = _declared_systems() + DISSIPATIVE
    names = [n for n in every if not args.systems or n in args.systems.split(",")]
    names = [n for n in names if n not in args.skip.split(",")]
    # rows are appended as cases finish, so that a long run can be resumed and tables rebuilt
    log = out / "conserved.jsonl"
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            if r.get("spread", SPREAD) != args.spread:
                parser.error(
                    f"--spread {args.spread:g}: {log} holds rows simulated with spread {r.get('spread', SPREAD):g}; "
                    "use another --out"
                )
            done[(r["system"], r["seed"])] = r
    # a row appended later replaces an earlier one of the same case
    todo = {(n, s): _columns_to_run(done.get((n, s)), columns, args.rerun) for n in names for s in range(args.seeds)}
    cases = [c for c, cols in todo.items() if cols]
    start = time.time()
    if cases and not args.table_only:
        with ProcessPoolExecutor(max_workers=args.workers) as pool, log.open("a") as fh:
            names_, seeds_ = zip(*cases)
            jobs = pool.map(
                run_case,
                names_,
                seeds_,
                [todo[c] for c in cases],
                [done.get(c) for c in cases],
                [args.spread] * len(cases),
            )
            for k, row in enumerate(jobs, 1):
                done[(row["system"], row["seed"])] = row
                fh.write(json.dumps(row, default=str) + "\n")
                fh.flush()
                print(
                    f"[{k}/{len(cases)}] {row['system']} seed {row['seed']} ({time.time() - start:.0f} s)", flush=True
                )
    # the table covers every system with rows, not only those run now
    names = [n for n in every if n not in args.skip.split(",")]
    failed = [r for r in done.values() if r["system"] in names and r.get("simulation_failed")]
    rows = [r for r in done.values() if r["system"] in names and not r.get("simulation_failed")]
    names = [n for n in names if any(r["system"] == n for r in rows)]
    elapsed = time.time() - start
    lines = [
        "# Conserved quantities from noisy time series (`benchmarks/bench_conserved.py`)",
        "",
        f"{common.platform_line()}; noise {NOISE:g} x std, {TRAJECTORIES} trajectories"
        + (
            ""
            if args.spread == SPREAD
            else f" from initial states perturbed by {args.spread:g} x |x0| (the catalogue's default is {SPREAD:g})"
        )
        + "; seeds per system: "
        + ", ".join(f"{n} {sum(r['system'] == n for r in rows)}" for n in names)
        + (
            "."
            if args.table_only
            else f"; this invocation ran {len(cases)} cases (columns {', '.join(c for c in COLUMNS if c in columns)}"
            f"{'' if args.rerun else ' where a row lacked them'}) in {elapsed / 60:.1f} min with {args.workers} worker(s) "
            "(the other rows are kept from earlier invocations, in conserved.jsonl)."
        ),
        "",
        "Each cell: seeds in which every declared quantity lies in the span of the reported ones and their "
        "products (< 1e-2) / reported quantities that fail the true flow (all seeds) / median number of "
        "independent quantities reported. Dissipative systems: quantities reported / false ones. "
        "`true_rhs` searches the true right-hand side (reference); `strong` and `weak` the model fitted in "
        "that formulation; `from_data` the data directly in the weak form, with no model; `symmetric` the "
        "weak-form model (the `weak` column's library, automatic threshold) fitted with the system's declared "
        "symmetries that hold enforced exactly, n/a where it declares none or has no model library (and any column n/a where it was not run). "
        "Enforced symmetries:",
        "",
        *_symmetry_lines(rows, names),
        "",
        *_table(rows, names, args.seeds),
        "",
        "Fits that warn that the data do not determine them (`IllConditionedWarning`: the scaled library's "
        "condition number on the regression rows above 1e4), seeds per column, and the largest number "
        "(rows from invocations before the check have none):",
        "",
        *_conditioning_lines(rows, names),
        "",
        *(
            [
                "Seeds whose simulation failed (left out): "
                + "; ".join(f"{r['system']} seed {r['seed']}" for r in failed),
                "",
            ]
            if failed
            else []
        ),
    ]
    (out / "conserved.md").write_text("\n".join(lines))
    (out / "conserved.json").write_text(json.dumps({"rows": rows, "seconds": elapsed}, indent=1, default=str))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
