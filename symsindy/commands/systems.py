"""``symsindy systems``: list, show, simulate and check catalogue systems.

::

    symsindy systems list [--json] [--kind ode|pde|all]
    symsindy systems show NAME [--json]
    symsindy systems simulate NAME --out FILE.csv [--t-end T] [--dt DT] [--noise NOISE] [--seed SEED]
                              [--trajectories K] [--derivatives] [--param NAME=VALUE ...]
    symsindy systems simulate PDE --out FILE.npz [--nx N] [--nt N] [--t-end T] [--dt DT] [--noise NOISE]
                              [--seed SEED] [--trajectories K] [--param NAME=VALUE ...]
    symsindy systems check [NAME ...]

Every subcommand takes ``--folder DIR`` to use a folder of system files other
than the catalogue (default: ``$SYMSINDY_SYSTEMS`` or the shipped ``systems/``).
The PDE systems (:func:`symsindy.pde.list_pde_systems`, tagged ``pde``) are listed after the
system files (``--kind all``, the default without ``--folder``; ``--kind ode`` lists the files
only, the default with ``--folder``; ``--kind pde`` the PDEs only); in the JSON every row has
``kind``, ``"ode"`` or ``"pde"``.  ``show``, ``simulate`` and ``check`` take the PDEs' names too
(a system file of the same name in the folder comes first).  A PDE simulation writes the NPZ
field file that :func:`symsindy.pde.read_fields` reads: ``t``, ``x`` (and ``y``), ``u``
(``(nt, nx[, ny], ncomp)``, with a leading run axis and ``trajectory`` for several runs) and
``names``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from .. import catalogue
from ..pde import check_pde_claims, get_pde_system, list_pde_systems


def register(sub) -> None:
    p = sub.add_parser(
        "systems",
        help="the catalogue of dynamical systems: list, show, simulate, check",
        description="The catalogue of named dynamical systems (one TOML file each in systems/).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--folder",
        metavar="DIR",
        default=None,
        help=f"folder of system files (default: ${catalogue.ENV_VAR} or the shipped catalogue)",
    )
    params = argparse.ArgumentParser(add_help=False)
    params.add_argument(
        "--param",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="change a parameter value by name (repeatable)",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    a = actions.add_parser("list", parents=[common], help="list the systems", description="List the systems.")
    a.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    a.add_argument(
        "--kind",
        choices=("ode", "pde", "all"),
        default=None,
        help="which systems: ode (the system files), pde (the PDE systems, tagged pde) or all (the default; "
        "with --folder the default is ode)",
    )
    a.set_defaults(func=run_list)

    a = actions.add_parser(
        "show",
        parents=[common, params],
        help="show one system",
        description="Show a system: variables, parameters, equations, symmetries, conserved quantities, structure.",
    )
    a.add_argument("name", metavar="NAME")
    a.add_argument(
        "--json",
        action="store_true",
        help="print JSON: variables, parameters, equations (in parameter names) and rhs (values substituted) as "
        "SymPy-parseable strings, symmetries as spec strings, conserved quantities as strings",
    )
    a.set_defaults(func=run_show)

    a = actions.add_parser(
        "simulate",
        parents=[common, params],
        help="simulate a system and write a CSV file (an NPZ field file for a PDE)",
        description="Simulate a system from its default initial state and write the CSV format that "
        "'symsindy fit' reads: columns t, the variables, 'trajectory' (an id from 0) when there are several "
        "trajectories, and with --derivatives the exact <var>_dot columns. Noise is added to the states only; "
        "derivatives are computed from the clean states. A PDE system is simulated from random smooth "
        "initial fields (seeded by --seed, default 0) and written as the NPZ field file that "
        "'symsindy fit-pde' reads (t, x, y, u, names; runs by --trajectories).",
    )
    a.add_argument("name", metavar="NAME")
    a.add_argument("--out", metavar="FILE.csv", required=True, help="the CSV file to write")
    a.add_argument("--t-end", type=float, default=None, help="final time (default: the system's)")
    a.add_argument("--dt", type=float, default=None, help="sampling step (default: the system's)")
    a.add_argument(
        "--noise",
        type=float,
        default=0.0,
        help="Gaussian noise on the states, with standard deviation NOISE times the root mean square of "
        "each variable over its clean trajectory (default 0)",
    )
    a.add_argument("--seed", type=int, default=None, help="seed for the perturbed initial states and the noise")
    a.add_argument(
        "--trajectories",
        type=int,
        default=1,
        metavar="K",
        help="number of trajectories; after the first, initial states are perturbed by 10%% (default 1)",
    )
    a.add_argument(
        "--derivatives",
        action="store_true",
        help="also write the exact derivatives <var>_dot of the clean states",
    )
    a.add_argument("--nx", type=int, default=None, help="PDE only: grid points per axis (default: the system's)")
    a.add_argument(
        "--nt", type=int, default=None, help="PDE only: samples from 0 to the final time (default: the system's)"
    )
    a.set_defaults(func=run_simulate)

    a = actions.add_parser(
        "check",
        parents=[common],
        help="verify the claims of systems by machine",
        description="Verify each system's symmetries, conserved quantities, structure and tags against its "
        "equations (symbolically; numerically at random points where simplification is inconclusive). "
        "A PDE system's symmetries, library and explicit coordinates are checked symbolically; without "
        "--folder, the PDE systems are checked after the system files.",
    )
    a.add_argument("names", metavar="NAME", nargs="*", help="systems to check (default: all)")
    a.set_defaults(func=run_check)


def _parameters(items) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--param {item!r}: expected NAME=VALUE, e.g. --param rho=28")
        try:
            v = float(value)
        except ValueError:
            raise ValueError(f"--param {item!r}: {value.strip()!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"--param {item!r}: the value must be finite")
        out[name] = v
    return out


def _get(args):
    return catalogue.get_system(args.name, args.folder, **_parameters(getattr(args, "param", [])))


def _is_pde(name: str, folder) -> bool:
    """A PDE system's name that no system file in the folder takes."""
    return name in list_pde_systems() and not (catalogue.default_folder(folder) / f"{name}.toml").is_file()


def _ode_row(s) -> dict:
    return {
        "name": s.name,
        "description": s.description,
        "variables": list(s.variables),
        "parameters": dict(s.parameters),
        "tags": list(s.tags),
        "symmetries": list(s.symmetry_specs),
        "conserved": list(s.conserved),
        "kind": "ode",
    }


def _pde_row(s) -> dict:
    return {
        "name": s.name,
        "description": s.description,
        "variables": list(s.components),
        "axes": list(s.axes),
        "parameters": dict(s.parameters),
        "tags": list(s.tags),
        "symmetries": list(s.symmetries),
        "conserved": [],
        "kind": "pde",
    }


def run_list(args) -> int:
    kind = args.kind or ("ode" if args.folder else "all")
    if kind != "ode":
        return _list_with_pdes(args, kind)
    systems = catalogue.load_folder(args.folder)
    if args.json:
        rows = [_ode_row(s) for s in systems.values()]
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    if not systems:
        print("(no systems)")
        return 0
    width = max(len(n) for n in systems)
    for s in systems.values():
        syms = "; ".join(s.symmetry_specs) or "-"
        print(f"{s.name:<{width}}  n={s.n_variables:<2d} {syms:<40.40s}  {', '.join(s.tags)}")
    return 0


def _list_with_pdes(args, kind) -> int:
    odes = catalogue.load_folder(args.folder) if kind == "all" else {}
    pdes = [get_pde_system(n) for n in list_pde_systems()]
    if args.json:
        rows = [_ode_row(s) for s in odes.values()]
        json.dump(rows + [_pde_row(s) for s in pdes], sys.stdout, indent=2)
        print()
        return 0
    rows = [(s.name, s.n_variables, s.symmetry_specs, s.tags) for s in odes.values()]
    rows += [(s.name, s.n_components, s.symmetries, s.tags) for s in pdes]
    width = max(len(r[0]) for r in rows)
    for name, n, specs, tags in rows:
        syms = "; ".join(specs) or "-"
        print(f"{name:<{width}}  n={n:<2d} {syms:<40.40s}  {', '.join(tags)}")
    return 0


def _show_pde(args) -> int:
    s = get_pde_system(args.name, **_parameters(args.param))
    d = s.to_dict()
    if args.json:
        json.dump(d, sys.stdout, indent=2)
        print()
        return 0
    lines = [f"{s.name}: {s.description}", f"reference:  {s.reference}", f"tags:       {', '.join(s.tags)}"]
    lines.append(f"components: {', '.join(s.components)}")
    lines.append(f"axes:       {', '.join(s.axes)}" + (" (explicit in the equations)" if s.coordinates else ""))
    if s.parameters:
        lines.append("parameters: " + ", ".join(f"{p} = {v:g}" for p, v in s.parameters.items()))
    lines.append("equations:")
    for c in s.components:
        lines.append(f"  {c}_t = {d['equations'][c]}")
    lines.append("symmetries:")
    lines += [f"  {spec}" for spec in s.symmetries] or ["  (none)"]
    if s.notes:
        lines.append(f"notes:      {s.notes}")
    extra = f", with the coordinates {', '.join(s.coordinates)} as features" if s.coordinates else ""
    lines.append(f"library:    degree {s.degree}, derivative order {s.derivative_order}{extra}")
    domain = " x ".join(f"{a} in [{lo:g}, {hi:g})" for a, (lo, hi) in d["domain"].items())
    lines.append(f"simulation: {domain} periodic, nx = {s.nx}, nt = {s.nt}, t_end = {s.t_end:g}")
    print("\n".join(lines))
    return 0


def _write_fields(data, path: str) -> None:
    """An NPZ field file (``symsindy/pde/_data.py``'s format) of simulated runs."""
    arrays = {"t": data.t[0], "names": np.array(data.names)}
    arrays.update({a: data.grid[a] for a in data.axes})
    if data.n_runs == 1:
        arrays["u"] = data.u[0]
    else:
        arrays["u"] = np.stack(data.u)
        arrays["trajectory"] = np.arange(data.n_runs)
    np.savez(path, **arrays)


def _simulate_pde(args) -> int:
    s = get_pde_system(args.name, **_parameters(args.param))
    if args.derivatives:
        raise ValueError(f"--derivatives: system '{s.name}' is a PDE; its NPZ file holds the fields only")
    if not args.out.endswith(".npz"):
        raise ValueError(f"--out {args.out!r}: system '{s.name}' is a PDE and writes an NPZ field file; give FILE.npz")
    if args.trajectories < 1:
        raise ValueError(f"--trajectories {args.trajectories}: expected a positive integer")
    t_end = s.t_end if args.t_end is None else args.t_end
    nt = args.nt
    if args.dt is not None:
        if nt is not None:
            raise ValueError("--dt and --nt: give one of them (the samples are evenly spaced from 0 to t_end)")
        if not (0 < args.dt < t_end):
            raise ValueError(f"--dt {args.dt:g}: need 0 < dt < t_end = {t_end:g}")
        nt = int(round(t_end / args.dt)) + 1
    data = s.simulate(
        nx=args.nx,
        nt=nt,
        t_end=t_end,
        noise=args.noise,
        n_runs=args.trajectories,
        random_state=0 if args.seed is None else args.seed,
    )
    _write_fields(data, args.out)
    grid = " x ".join(str(n) for n in data.shape)
    runs = f"{data.n_runs} {'runs' if data.n_runs != 1 else 'run'}"
    print(f"wrote {runs} x {len(data.t[0])} samples on a {grid} grid of {s.name} to {args.out}")
    return 0


def run_show(args) -> int:
    if _is_pde(args.name, args.folder):
        return _show_pde(args)
    s = _get(args)
    d = s.to_dict()
    if args.json:
        json.dump(d, sys.stdout, indent=2)
        print()
        return 0
    lines = [f"{s.name}: {s.description}"]
    if s.reference:
        lines.append(f"reference:  {s.reference}")
    if s.tags:
        lines.append(f"tags:       {', '.join(s.tags)}")
    lines.append(f"variables:  {', '.join(s.variables)}")
    if s.parameters:
        lines.append("parameters: " + ", ".join(f"{p} = {v:g}" for p, v in s.parameters.items()))
    lines.append("equations:")
    width = max(len(v) for v in s.variables)
    for v in s.variables:
        lines.append(f"  {v + chr(39):<{width + 1}} = {d['equations'][v]}")
    lines.append("symmetries:")
    for c in d["symmetry_claims"]:
        cond = ", ".join(f"{p} = {e}" for p, e in c["when"].items())
        note = "" if not cond else f"   (when {cond}; {'holds' if c['holds'] else 'does not hold'} here)"
        lines.append(f"  {c['spec']}{note}")
    if not d["symmetry_claims"]:
        lines.append("  (none)")
    lines.append("conserved:")
    for c in d["conserved_claims"]:
        cond = ", ".join(f"{p} = {e}" for p, e in c["when"].items())
        note = "" if not cond else f"   (when {cond}; {'holds' if c['holds'] else 'does not hold'} here)"
        lines.append(f"  {c['name']} = {c['expression']}{note}")
    if not d["conserved_claims"]:
        lines.append("  (none)")
    st = d["structure"]
    if st is not None:
        cond = ", ".join(f"{p} = {e}" for p, e in st["when"].items())
        note = "" if not cond else f"   (when {cond}; {'holds' if st['holds'] else 'does not hold'} here)"
        lines.append(f"structure:  {st['type']}{note}")
        if st["type"] == "canonical":
            lines.append("  pairs: " + ", ".join(f"({q}, {p})" for q, p in st["pairs"]))
        else:
            for row in st["matrix"]:
                lines.append("  [" + ", ".join(row) + "]")
        lines.append(f"  H = {st['hamiltonian']}")
    x0 = ", ".join(f"{v} = {x:g}" for v, x in d["initial_state"].items())
    lines.append(f"simulation: x0 = ({x0}), dt = {s.dt:g}, t_end = {s.t_end:g}")
    print("\n".join(lines))
    return 0


def run_simulate(args) -> int:
    if _is_pde(args.name, args.folder):
        return _simulate_pde(args)
    for flag, value in (("--nx", args.nx), ("--nt", args.nt)):
        if value is not None:
            raise ValueError(f"{flag}: only for PDE systems; '{args.name}' is a system of ODEs")
    s = _get(args)
    if args.trajectories < 1:
        raise ValueError(f"--trajectories {args.trajectories}: expected a positive integer")
    sim = s.simulate(
        t_end=args.t_end, dt=args.dt, n_trajectories=args.trajectories, noise=args.noise, random_state=args.seed
    )
    sim.to_csv(args.out, derivatives=args.derivatives)
    rows = sim.n_trajectories * len(sim.t)
    print(
        f"wrote {rows} rows ({sim.n_trajectories} {'trajectories' if sim.n_trajectories != 1 else 'trajectory'}"
        f" x {len(sim.t)} samples) of {s.name} to {args.out}"
    )
    return 0


def run_check(args) -> int:
    names = args.names or catalogue.list_systems(args.folder) + (list_pde_systems() if args.folder is None else [])
    failed = 0
    for name in names:
        if _is_pde(name, args.folder):
            checks = check_pde_claims(get_pde_system(name))
        else:
            checks = catalogue.check_claims(catalogue.get_system(name, args.folder))
        for c in checks:
            status = "ok  " if c.ok else "FAIL"
            print(f"{status} {c.message}")
            failed += not c.ok
    print(f"{failed} claim{'s' if failed != 1 else ''} failed" if failed else "all claims hold")
    return 1 if failed else 0
