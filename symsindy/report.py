"""The main job: from a catalogue system or a data file to equations, symmetries and conservation laws.

:func:`run_discovery` runs the whole pipeline, one function a step (``_load_data``,
``_plain_fit``, ``_discover``, ``_enforce``, ``_conservation``, ``_errors_against_truth``),
and returns a :class:`DiscoveryReport`:

1. data: a catalogue system is simulated (several trajectories, Gaussian noise on the
   states); a file is read with :func:`symsindy.io.read_data`;
2. a plain SINDy fit (no symmetry);
3. :func:`symsindy.discover.discover_symmetries` on the same data, with bootstrap refits;
4. the symmetries found in at least ``min_frequency`` of the refits are enforced and the
   model refitted;
5. conserved quantities of the enforced model (the candidate family chosen as
   ``symsindy conserved --basis auto`` does: polynomials, or with log, sin/cos or ``1/|q|``
   factors), as a readable, independent basis, each checked symbolically and along the data; Noether charges of its continuous generators when a Hamiltonian
   structure is known (the catalogue's, or canonical pairs given by the user), with the
   flags of :func:`symsindy.conservation.noether_report`;
6. for a catalogue system, errors against the truth: coefficients before and after
   enforcing, the declared symmetries and conserved quantities found or not.

Defaults (all recorded in ``settings`` so that a report can be rerun):

* simulation: ``trajectories`` = 4 (the first from the system's initial state, the rest
  perturbed by 10%), ``noise`` = 0.01 (standard deviation 1% of each variable's RMS),
  ``samples`` = samples *per trajectory* at the system's sampling step ``dt``, so the
  trajectories are ``(samples - 1) dt`` long (default: the system's own ``t_end``);
* library degree: the system's polynomial degree, at least 2; 3 for data files and for
  non-polynomial systems (a polynomial approximation: no coefficient errors then);
* threshold: automatic (``threshold="auto"``, as ``symsindy fit``), the same for catalogue
  systems and files: the true coefficients are used only to report errors;
* formulation: automatic (weak for time series, strong with measured derivatives);
* discovery: gl candidates, signed permutations, 10 bootstrap refits, enforced when found
  in at least half of them;
* conserved quantities: degree 1..2 (``basis="auto"``, recorded as ``conserved_basis``); for a
  polynomial catalogue system up to its degree + 1 (the degree of an energy of its vector
  field), at most 4.
"""

from __future__ import annotations

import difflib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

import numpy as np

from .base import resolve_random_state

__all__ = ["DiscoveryReport", "run_discovery", "resolve_source", "DEFAULTS"]

DEFAULTS = {
    "noise": 0.01,
    "trajectories": 4,
    "bootstrap": 10,
    "min_frequency": 0.5,
    "candidates": "gl",
    "alpha": 0.0,
    "file_degree": 3,
    "threshold": "auto",
    "formulation": "auto",
    "conserved_degree": 2,
    "min_samples": 10,
}

FIGURES = {
    "trajectories": "trajectories.png",
    "phase": "phase.png",
    "singular_values": "singular_values.png",
    "conserved": "conserved.png",
    "coefficients": "coefficients.png",
}


# ----------------------------------------------------------------------------- the source


def resolve_source(source):
    """A catalogue :class:`~symsindy.catalogue.System` or a :class:`~symsindy.io.Dataset` from ``source``.

    ``source`` is a System, a Dataset, a catalogue name, or a path to a .csv/.npz file.  An
    existing .csv/.npz file wins over a catalogue name; a name that is neither ends in one
    line with the closest catalogue names.
    """
    from .catalogue import System, get_system, list_systems
    from .io import Dataset, read_data

    if isinstance(source, (System, Dataset)):
        return source
    text = str(source)
    path = Path(text)
    data_suffix = path.suffix.lower() in (".csv", ".npz")
    if path.is_file() and data_suffix:
        return read_data(path)
    names = list_systems()
    if text in names:
        return get_system(text)
    if path.is_file():
        return read_data(path)  # says which suffixes it reads
    if path.suffix or "/" in text or "\\" in text or path.exists():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ValueError(f"data file '{text}' {what}; expected a .csv or .npz file or a catalogue system name")
    close = difflib.get_close_matches(text, names, n=3)
    quoted = [f"'{c}'" for c in close]
    hint = (
        f"; did you mean {', '.join(quoted[:-1])} or {quoted[-1]}?"
        if len(close) > 1
        else (f"; did you mean {quoted[0]}?" if close else "")
    )
    raise ValueError(
        f"unknown system '{text}'{hint} ('symsindy systems list' shows all {len(names)}; "
        "a data file needs a .csv or .npz suffix)"
    )


# ----------------------------------------------------------------------------- helpers


def _rhs(model, variables):
    import sympy as sp

    exprs = model.sympy()
    return [exprs.get(v, sp.Integer(0)) for v in variables]


def _show(expr) -> str:
    """Readable text: floats to 4 significant digits (the JSON keeps them exact)."""
    import sympy as sp

    return sp.sstr(expr.xreplace({f: sp.Float(f, 4) for f in expr.atoms(sp.Float)}))


def _num(v):
    """JSON-safe number: NaN and infinities become None."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _polynomial_degree(system) -> int:
    import sympy as sp

    return max(sp.Poly(e, *system.symbols).total_degree() if e != 0 else 0 for e in system.rhs_list)


def _total_degree(expr, xs) -> int:
    import sympy as sp

    return int(sp.Poly(expr, *xs).total_degree())


def _support(coef, true, tol=0.0) -> dict:
    est, tru = np.abs(coef) > tol, np.abs(true) > 0
    return {
        "true_terms": int(tru.sum()),
        "correct": int((est & tru).sum()),
        "missed": int((~est & tru).sum()),
        "spurious": int((est & ~tru).sum()),
    }


def _coefficient_errors(coef, true) -> dict:
    diff = np.asarray(coef, float) - true
    return {
        "relative_error": float(np.linalg.norm(diff) / np.linalg.norm(true)) if np.any(true) else None,
        "max_abs_error": float(np.max(np.abs(diff))),
        **_support(coef, true),
    }


def _vec(g) -> np.ndarray:
    return np.concatenate([np.asarray(g.matrix, float).ravel(), np.asarray(g.translation, float)])


def _declared_found(spec: str, variables, found_sym, passing) -> bool:
    """Whether a declared spec lies in what was found: each generator in the span of the
    found generators, each element in the group generated by the passing signed permutations."""
    from .discover import _group_closure
    from .symmetry import Symmetry

    decl = Symmetry(list(variables), spec)
    n = len(variables)
    if decl.generators:
        if not found_sym.generators:
            return False
        B = np.column_stack([_vec(g) for g in found_sym.generators])
        for g in decl.generators:
            v = _vec(g)
            sol, *_ = np.linalg.lstsq(B, v, rcond=None)
            if np.linalg.norm(B @ sol - v) > 0.05 * np.linalg.norm(v):
                return False
    if decl.elements:
        group = _group_closure([np.asarray(R, float) for R in passing], n, 4096)
        for e in decl.elements:
            key = (np.round(np.asarray(e.matrix, float), 9) + 0.0).tobytes()
            if key not in group:
                return False
    return True


def _proportional(q, charge, xs) -> bool:
    """``q`` is a nonzero multiple of ``charge`` (coefficients compared as vectors)."""
    import sympy as sp

    try:
        pq, pc = sp.Poly(sp.expand(q), *xs), sp.Poly(sp.expand(charge), *xs)
    except sp.PolynomialError:
        return False
    monos = sorted(set(pq.monoms()) | set(pc.monoms()))
    a = np.array([float(pq.coeff_monomial(m)) for m in monos])
    b = np.array([float(pc.coeff_monomial(m)) for m in monos])
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return False
    return abs(abs(a @ b) / (na * nb) - 1.0) <= 1e-6


# ----------------------------------------------------------------------------- the report


@dataclass
class DiscoveryReport:
    """Everything :func:`run_discovery` found, with the data and models behind it.

    Attributes
    ----------
    source : str
        The catalogue name or the file path.
    kind : {"catalogue", "file"}
    variables : list of str
    settings : dict
        Every choice made, with the rule behind the degree and threshold (enough to rerun).
    t, x : lists of arrays
        The data, one entry per trajectory.
    plain : SymmetricSINDy
        The fit without symmetry.
    model : SymmetricSINDy
        The fit with the discovered symmetries enforced (equal to ``plain`` when none).
    symmetries : SymmetryReport or None
        The discovery (None when it could not run; see ``warnings``).
    enforced : list of str
        Spec strings enforced in ``model``.
    conserved, checks : lists
        Conserved quantities of ``model`` and their :class:`~symsindy.conservation.QuantityCheck`:
        only those that passed it.
    rejected : list of (ConservedQuantity, QuantityCheck)
        Candidates (near-null directions) that failed their check, with it.
    noether, noether_flags : lists
        :class:`~symsindy.conservation.NoetherEntry` per continuous generator, and flags.
    structure : dict or None
        The Hamiltonian structure used for the charges.
    system : System or None
        The catalogue system (the truth), if any.
    truth, errors : dict or None
        The true equations, symmetries and conserved quantities, and the errors against them.
    warnings : list of str
    timings : dict
        Seconds per step.
    figures : list of str
        Files written by :meth:`write`.
    """

    source: str
    kind: str
    variables: list
    settings: dict
    t: list
    x: list
    plain: object
    model: object
    symmetries: object = None
    enforced: list = field(default_factory=list)
    conserved: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    noether: list = field(default_factory=list)
    noether_flags: list = field(default_factory=list)
    structure: dict | None = None
    system: object = None
    truth: dict | None = None
    errors: dict | None = None
    warnings: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    x_start: list = field(default_factory=list)
    x_smooth: object = None
    _sims: dict | None = None

    # ------------------------------------------------------------------ data
    @property
    def found(self) -> list[str]:
        """Spec strings of the symmetries found (not rejected by the refit check)."""
        return [] if self.symmetries is None else list(self.symmetries.specs)

    def _evidence(self) -> dict:
        rep = self.symmetries
        if rep is None:
            return {}
        d = rep.to_dict()
        residual = {c.spec: c.residual for c in rep.discrete}
        per_spec = []
        for spec in list(rep.continuous.specs) + [c.spec for c in rep.discrete_generators]:
            per_spec.append(
                {
                    "spec": spec,
                    "kind": "continuous" if spec in rep.continuous.specs else "discrete",
                    "residual": _num(residual.get(spec)),
                    "refit_cost": _num(rep.refit_cost.get(spec)),
                    "bootstrap_frequency": _num(rep.spec_frequency.get(spec)),
                    "rejected": spec in rep.rejected,
                    "enforced": spec in self.enforced,
                }
            )
        return {
            "candidates": d["candidates"],
            "singular_values": d["singular_values"],
            "nullity": d["nullity"],
            "gap": _num(d["gap"]),
            "specs": per_spec,
            "unnamed_generators": [
                {
                    "label": f"generator[{k}]",
                    "A": np.asarray(A).tolist(),
                    "b": np.asarray(b).tolist(),
                    "refit_cost": _num(rep.refit_cost.get(f"generator[{k}]")),
                    "rejected": f"generator[{k}]" in rep.rejected,
                }
                for k, (A, b) in enumerate(rep.continuous.unnamed)
            ],
            "discrete_candidates": d["discrete_candidates"],
            "bootstrap": d["bootstrap"],
            "condition_number": _num(d["condition_number"]),
        }

    def to_dict(self) -> dict:
        """JSON-ready: ``equations`` (plain and enforced), ``symmetries`` (``found`` with their
        evidence, ``enforced``, ``rejected``), ``enforced``, ``conserved`` (those that passed
        their checks, with the checks and Noether matches), ``rejected`` (the conserved-quantity
        candidates that failed, with the figure), ``noether``, ``truth``, ``errors``, ``warnings``, ``settings``,
        ``timings``, ``figures``, ``formulation`` and ``threshold`` (those the fits used).  Expressions are strings that
        :func:`symsindy.expressions.parse_expression` reads back exactly."""
        from .expressions import format_expression

        def eqs(model):
            return {v: format_expression(e) for v, e in zip(self.variables, _rhs(model, self.variables))}

        conserved = []
        for q, c in zip(self.conserved, self.checks):
            conserved.append(
                {
                    "expression": format_expression(q.expr),
                    "residual": _num(q.residual),
                    "symbolic_residual": _num(c.symbolic_residual),
                    "drift_model": _num(c.drift_model),
                    "drift_data": _num(c.drift_data),
                    "conserved": bool(c.conserved),
                    "independent": bool(q.independent),
                    "noether": [
                        e.symmetry
                        for e in self.noether
                        if e.charge is not None and _proportional(q.expr, e.charge, _symbols(self.variables))
                    ],
                }
            )
        return _finite(
            {
                "source": {"kind": self.kind, "name" if self.kind == "catalogue" else "path": self.source},
                "variables": list(self.variables),
                "equations": {"plain": eqs(self.plain), "enforced": eqs(self.model)},
                "symmetries": {
                    "found": self.found,
                    "enforced": list(self.enforced),
                    "rejected": [] if self.symmetries is None else list(self.symmetries.rejected),
                    "evidence": self._evidence(),
                },
                "enforced": list(self.enforced),
                "equivariance_residual": _num(self.model.equivariance_residual_),
                "conserved": conserved,
                "rejected": [
                    {
                        "expression": format_expression(q.expr),
                        "residual": _num(q.residual),
                        "symbolic_residual": _num(c.symbolic_residual),
                        "drift_model": _num(c.drift_model),
                        "drift_data": _num(c.drift_data),
                        "reason": c.reason,
                    }
                    for q, c in self.rejected
                ],
                "noether": {
                    "structure": self.structure,
                    "charges": [e.to_dict() for e in self.noether],
                    "flags": list(self.noether_flags),
                },
                "truth": self.truth,
                "errors": self.errors,
                "warnings": list(self.warnings),
                "settings": dict(self.settings),
                "formulation": self.settings.get("formulation_used"),
                "threshold": self.settings.get("threshold_used"),
                "timings": dict(self.timings),
                "figures": list(self.figures),
            }
        )

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """The readable report."""
        s = self.settings
        L = []
        if self.kind == "catalogue":
            L.append(
                f"{self.source}: catalogue system simulated: {s['trajectories']} trajectories x {s['samples']} samples "
                f"(dt {s['dt']:g}, t in [0, {s['t_end']:g}]), noise {s['noise']:.3g} x RMS, seed {s['seed']}"
            )
        else:
            L.append(
                f"{self.source}: {len(self.x)} trajectories, {sum(len(x) for x in self.x)} samples of "
                f"{', '.join(self.variables)}" + ("; measured derivatives" if s.get("measured_derivatives") else "")
            )
        L.append(
            f"library: polynomials of degree <= {s['degree']} ({s['degree_rule']}); "
            f"threshold {s['threshold_used']:.4g} ({s['threshold_rule']}); "
            f"formulation {s['formulation_used']} ({s['formulation_reason']})"
        )
        L.append("")
        L.append("plain SINDy:")
        L += [f"  {line}" for line in self.plain.equations()]
        L.append("")
        rep = self.symmetries
        if rep is None:
            L.append("symmetries: discovery did not run (see warnings)")
        else:
            L.append(
                f"symmetries found ({rep.continuous.family or 'given'} candidates and signed permutations; "
                f"{rep.n_bootstrap} bootstrap refits):"
            )
            ev = self._evidence()
            for e in ev["specs"]:
                bits = [e["kind"]]
                if e["residual"] is not None:
                    bits.append(f"residual {e['residual']:.1e}")
                if e["refit_cost"] is not None:
                    bits.append(f"refit cost {e['refit_cost']:.2g}")
                if e["bootstrap_frequency"] is not None:
                    bits.append(f"in {e['bootstrap_frequency']:.0%} of refits")
                tag = (
                    "REJECTED by the refit check"
                    if e["rejected"]
                    else ("enforced" if e["enforced"] else "not enforced")
                )
                L.append(f"  {e['spec']:<34} {'; '.join(bits)}   [{tag}]")
            if not ev["specs"]:
                L.append("  none")
            c = rep.continuous
            k = min(len(c.singular_values), c.nullity + 2, 8)
            sv = ", ".join(f"{v:.1e}" for v in c.singular_values[:k]) + (", ..." if k < len(c.singular_values) else "")
            gap = f"; gap ratio {c.gap:.3g}" if c.nullity and c.nullity < len(c.singular_values) else ""
            L.append(f"  continuous algebra: dimension {c.nullity}; smallest singular values {sv}{gap}")
            n_unnamed, n_kept = len(rep.continuous.unnamed), len(rep.unnamed)
            if n_unnamed:
                L.append(
                    f"  {n_unnamed} further generator(s) without a name: {n_kept} kept, "
                    f"{n_unnamed - n_kept} rejected by the refit check (matrices in report.json)"
                )
        L.append("")
        if self.enforced:
            L.append(f"enforced: {'; '.join(self.enforced)}")
            L.append("model with the symmetry enforced:")
        else:
            L.append("nothing enforced; the model is the plain fit:")
        L += [f"  {line}" for line in self.model.equations()]
        L.append(f"  equivariance residual {self.model.equivariance_residual_:.1e}")
        L.append("")
        deg = s["conserved_degree"]
        basis = s.get("conserved_basis", "poly")
        n_ind = sum(bool(q.independent) for q in self.conserved)
        L.append(
            f"conserved quantities of the enforced model (basis {basis}, degree <= {deg}): "
            + (f"{len(self.conserved)}, {n_ind} independent" if self.conserved else "none")
        )
        xs = _symbols(self.variables)
        for q, c in zip(self.conserved, self.checks):
            drift = "n/a" if c.drift_model is None else f"{c.drift_model:.1e}"
            ddata = "n/a" if c.drift_data is None else f"{c.drift_data:.1e}"
            noe = [e.symmetry for e in self.noether if e.charge is not None and _proportional(q.expr, e.charge, xs)]
            tail = f"; Noether charge of {', '.join(noe)}" if noe else ""
            tail += "" if q.independent else "; a function of the ones above"
            # only quantities that passed their checks are listed here (the others are in self.rejected)
            L.append(
                f"  {_show(q.expr)}   d/dt residual {c.symbolic_residual:.1e}, drift model {drift}, data {ddata}: "
                f"conserved{tail}"
            )
        if self.rejected:
            L.append(f"rejected candidates (failed a check, not conserved): {len(self.rejected)}")
            for q, c in self.rejected:
                L.append(f"  {_show(q.expr)}: {c.reason}")
        L.append("")
        if self.structure is None:
            L.append(
                "Noether charges: no Hamiltonian structure known"
                + (" (give --canonical q1:p1,... for data in canonical coordinates)" if self.kind == "file" else "")
            )
        else:
            st = self.structure
            how = (
                ("canonical pairs " + ", ".join(f"{q}:{p}" for q, p in st["pairs"]))
                if st["kind"] == "canonical"
                else "Poisson matrix"
            )
            L.append(f"Noether charges ({how}, from {st['from']}):")
            if not self.noether:
                L.append("  no continuous symmetry enforced, so no charges")
            for e in self.noether:
                if e.charge is None:
                    L.append(f"  {e.symmetry}: {e.note}")
                    continue
                c = e.check
                drift = "n/a" if c.drift_model is None else f"{c.drift_model:.1e}"
                L.append(
                    f"  {e.symmetry}: charge {_show(e.charge)}; d/dt residual {c.symbolic_residual:.1e}, drift {drift}: "
                    f"{'conserved' if c.conserved else 'NOT conserved'}"
                )
            for f in self.noether_flags:
                L.append(f"  flag: {f}")
        if self.truth is not None:
            L.append("")
            L.append("against the truth:")
            for v, e in zip(self.variables, self.system.rhs_list):
                L.append(f"  true {v}' = {_show(e)}")
            err = self.errors or {}
            if "plain" in err and "enforced" in err:
                for label in ("plain", "enforced"):
                    e = err[label]
                    L.append(
                        f"  {label:<8} coefficient error {_pct(e['relative_error'])} (max {e['max_abs_error']:.2g}); "
                        f"terms: {e['correct']}/{e['true_terms']} found, {e['missed']} missed, {e['spurious']} spurious"
                    )
            elif "coefficients_note" in err:
                L.append(f"  {err['coefficients_note']}")
            sym = err.get("symmetries", {})
            if sym.get("declared"):
                L.append(
                    "  declared symmetries: "
                    + "; ".join(f"{spec} {'found' if ok else 'NOT found'}" for spec, ok in sym["declared"].items())
                )
            con = err.get("conserved", {})
            if con.get("declared"):
                notes = con.get("notes", {})
                L.append(
                    "  declared conserved quantities: "
                    + "; ".join(
                        f"{name} {'found' if ok else 'NOT found'}" + (f" ({notes[name]})" if name in notes else "")
                        for name, ok in con["declared"].items()
                    )
                )
        if self.warnings:
            L.append("")
            L += [f"warning: {w}" for w in self.warnings]
        return "\n".join(L)

    # ------------------------------------------------------------------ figures
    def _simulations(self) -> dict:
        """Plain and enforced models simulated from the first trajectory's (smoothed) first state."""
        if self._sims is not None:
            return self._sims
        t = np.asarray(self.t[0], float)
        x0 = np.asarray(self.x_start[0] if self.x_start else self.x[0][0], float)
        sims = {}
        models = [("model, symmetry enforced" if self.enforced else "model", self.model)]
        if self.enforced and not np.allclose(self.plain.coef_, self.model.coef_, rtol=1e-9, atol=1e-12):
            models.append(("plain SINDy", self.plain))
        for label, model in models:
            try:
                sims[label] = model.simulate(x0, t, rtol=1e-8, atol=1e-8)
            except (RuntimeError, ValueError) as exc:
                sims[label] = None
                self.warnings.append(f"{label} could not be simulated from the data's first state: {exc}")
        self._sims = sims
        return sims

    def separation_time(self, x_model, tol: float = 0.2):
        """First time the model's trajectory is off the (smoothed) data by more than ``tol``
        times a variable's standard deviation on the data; None if it never is."""
        if x_model is None:
            return None
        ref = np.asarray(self.x_smooth if self.x_smooth is not None else self.x[0], float)
        k = min(len(ref), len(x_model))
        scale = np.maximum(np.std(ref, axis=0), 1e-300)
        off = np.any(np.abs(np.asarray(x_model[:k]) - ref[:k]) > tol * scale, axis=1)
        if not off.any():
            return None
        return float(np.asarray(self.t[0], float)[int(np.argmax(off))])

    def make_figures(self) -> dict:
        """The figures as matplotlib Figures, by name (see ``FIGURES``); those that do not apply are left out."""
        import matplotlib

        matplotlib.use("Agg")
        from .plots import plot_coefficients, plot_phase, plot_quantities, plot_singular_values, plot_trajectories

        figs = {}
        name = Path(self.source).name if self.kind == "file" else self.source
        sims = self._simulations()
        n_traj = len(self.x)
        which = f"trajectory 1 of {n_traj}" if n_traj > 1 else "the data"
        note = None
        if self.system is not None and "chaotic" in getattr(self.system, "tags", ()):
            note = (
                "The system is chaotic: model and data separate after a few Lyapunov times however good "
                "the model; compare the early part and the shape of the attractor."
            )
        marks = []
        main = next(iter(sims.values()))
        t_sep = self.separation_time(main)
        if t_sep is not None:
            marks.append((t_sep, f"model leaves the data (t = {t_sep:.3g})"))
        figs["trajectories"] = plot_trajectories(
            self.t[0],
            self.x[0],
            self.variables,
            sims,
            marks=marks,
            title=f"{name}: data ({which}) and models simulated from its first (smoothed) state",
            note=note,
        )
        if len(self.variables) >= 2:
            figs["phase"] = plot_phase(self.x[0], self.variables, sims, title=f"{name}: {which} in state space")
        if self.symmetries is not None:
            c = self.symmetries.continuous
            what = (
                f"continuous symmetries: {c.nullity} below the gap" if c.nullity else "no gap: no continuous symmetry"
            )
            figs["singular_values"] = plot_singular_values(
                self.symmetries, title=f"{name}: Lie-derivative spectrum of the plain fit\n({what})"
            )
        quantities, labels = [], []
        xs = _symbols(self.variables)
        for q in self.conserved:
            quantities.append(q.expr)
            labels.append(_short(_show(q.expr)))
        for e in self.noether:
            if e.charge is not None and not any(_proportional(e.charge, q, xs) for q in quantities):
                quantities.append(e.charge)
                labels.append(_short(f"charge of {e.symmetry}"))
        if self.truth is not None:
            for qname, expr in self.system.conserved.items():
                if expr.is_polynomial(*xs) and not any(_proportional(expr, q, xs) for q in quantities):
                    quantities.append(expr)
                    labels.append(f"true {qname}")
        if quantities:
            import matplotlib.pyplot as plt

            rhs = _rhs(self.model, self.variables)
            fig, ax = plt.subplots(figsize=(10.0, 4.8))
            plot_quantities(
                quantities,
                self.variables,
                self.t[0],
                self.x[0],
                rhs,
                labels=labels,
                ax=ax,
                title=f"{name}: conserved quantities and charges along the data ({which}, dots)\n"
                "and along the enforced model from the same start (lines); flat = conserved",
            )
            # the legend goes beside the axes: on them it hides the data
            ax.legend(
                fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, markerscale=3
            )
            fig.tight_layout()
            figs["conserved"] = fig
        if self.errors is not None and "plain" in self.errors:
            true = self.system.true_coefficients(self.model.library_)
            enforced = "symmetry enforced" if self.enforced else "refit"
            figs["coefficients"] = plot_coefficients(
                self.model.term_names_,
                self.variables,
                {"plain SINDy": self.plain.coef_ - true, enforced: self.model.coef_ - true},
                keep=true != 0,
                ylabel="error in {}'",
                title=f"{name}: coefficient errors, estimate - true "
                f"(relative: plain {_pct(self.errors['plain']['relative_error'])}, "
                f"{enforced} {_pct(self.errors['enforced']['relative_error'])})",
            )
        return figs

    def write_figures(self, out) -> list[Path]:
        """Write the PNG figures into the folder ``out`` (created); returns their paths."""
        import matplotlib.pyplot as plt

        out = _folder(out)
        paths = []
        self.figures = []
        for name, fig in self.make_figures().items():
            p = out / FIGURES[name]
            fig.savefig(p, dpi=110)
            plt.close(fig)
            self.figures.append(p.name)
            paths.append(p)
        return paths

    def write_json(self, out) -> Path:
        """Write ``report.json`` (:meth:`to_dict`) into the folder ``out``; returns its path."""
        p = _folder(out) / "report.json"
        with open(p, "w") as fh:
            json.dump(self.to_dict(), fh, indent=2, allow_nan=False)
            fh.write("\n")
        return p

    def write(self, out) -> list[Path]:
        """Write the figures and ``report.json`` into the folder ``out``; returns the paths, JSON first."""
        figures = self.write_figures(out)
        return [self.write_json(out), *figures]


def _folder(out) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder '{out}' is a file; expected a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _finite(obj):
    """The same structure with NaN and infinities as None: strict JSON has neither."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _symbols(variables):
    import sympy as sp

    return sp.symbols(list(variables))


def _pct(x) -> str:
    """A fraction as a percentage with two significant digits (0.00012 -> '0.012%')."""
    return "n/a" if x is None else f"{100 * x:.2g}%"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------- the pipeline


class _Progress:
    def __init__(self, callback, total):
        self.callback, self.total, self.k = callback, total, 0
        self.start = self.last = time.perf_counter()
        self.name = None
        self.timings = {}

    def step(self, name, text):
        now = time.perf_counter()
        if self.name is not None:
            self.timings[self.name] = round(now - self.last, 3)
        self.k += 1
        self.name, self.last = name, now
        if self.callback is not None:
            self.callback(f"[{self.k}/{self.total}] {text} ... ({now - self.start:.1f} s)")

    def done(self):
        now = time.perf_counter()
        if self.name is not None:
            self.timings[self.name] = round(now - self.last, 3)
        self.timings["total"] = round(now - self.start, 3)
        return self.timings


def _command(settings: dict) -> list[str]:
    """The ``symsindy discover`` command line that reruns these settings."""
    import shlex

    words = ["symsindy", "discover", shlex.quote(settings["source"])]
    if settings["kind"] == "catalogue":
        words += [
            "--noise",
            f"{settings['noise']:g}",
            "--samples",
            str(settings["samples"]),
            "--trajectories",
            str(settings["trajectories"]),
        ]
    words += [
        "--seed",
        str(settings["seed"]),
        "--degree",
        str(settings["degree"]),
        "--threshold",
        str(settings["threshold"]),
        "--formulation",
        settings.get("formulation", "auto"),
        "--candidates",
        settings["candidates"],
        "--bootstrap",
        str(settings["bootstrap"]),
        "--conserved-degree",
        str(settings["conserved_degree"]),
    ]
    if settings.get("canonical"):
        words += ["--canonical", shlex.quote(settings["canonical"])]
    return words


def _check_positive_int(value, name, minimum=1):
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} {value!r}: expected an integer >= {minimum}")
    return int(value)


def _check_options(*, out, noise, threshold, alpha, formulation, candidates, min_frequency) -> None:
    """Reject bad options before any work (integers are checked by :func:`_check_positive_int`)."""
    if threshold is not None:
        from .optimizers import check_threshold

        check_threshold(threshold)
    if formulation not in ("strong", "weak", "auto"):
        raise ValueError(f"formulation {formulation!r}: expected 'strong', 'weak' or 'auto'")
    for name, v in (
        ("noise", noise),
        ("threshold", None if isinstance(threshold, str) else threshold),
        ("alpha", alpha),
    ):
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} {v!r}: expected a finite number >= 0")
    if candidates not in ("gl", "so", "affine"):
        raise ValueError(f"candidates {candidates!r}: expected one of gl, so, affine")
    if not 0 <= min_frequency <= 1:
        raise ValueError(f"min_frequency {min_frequency!r}: expected a number in [0, 1]")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"output folder '{out}' is a file; expected a folder")


@dataclass
class _Run:
    """What every step of :func:`run_discovery` reads: the data, the settings chosen so far,
    and the warnings the steps add to."""

    label: str
    system: object  # the catalogue System, or None for a data file
    variables: list
    ts: list
    xs: list
    x_dot: object
    seed: int
    settings: dict
    warnings: list
    fit_kw: dict = field(default_factory=dict)
    pairs: list | None = None
    has_true: bool = False  # true coefficients in the fitted library

    @property
    def t_arg(self):
        return None if self.x_dot is not None else self.ts


@dataclass
class _Conservation:
    found: list
    checks: list
    rejected: list
    structure: dict | None
    noether: list
    flags: list
    x_start: list
    x_smooth: object


def _load_data(source, prog, *, seed, noise, samples, trajectories) -> _Run:
    """Step 1: simulate a catalogue system or read a data file."""
    from .catalogue import System

    warnings: list[str] = []
    src = resolve_source(source)
    settings: dict = {"source": src.name if isinstance(src, System) else str(src.source), "seed": int(seed)}
    system = src if isinstance(src, System) else None
    if system is not None:
        noise = DEFAULTS["noise"] if noise is None else float(noise)
        trajectories = DEFAULTS["trajectories"] if trajectories is None else trajectories
        m = int(round(system.t_end / system.dt)) + 1 if samples is None else samples
        t_end = (m - 1) * system.dt
        prog.step("data", f"simulating {system.name}: {trajectories} trajectories x {m} samples, noise {noise:.3g}")
        sim = system.simulate(t_end=t_end, n_trajectories=trajectories, noise=noise, random_state=seed)
        variables = list(system.variables)
        ts, xs, x_dot = [sim.t] * len(sim.x), list(sim.x), None
        settings.update(
            kind="catalogue",
            noise=noise,
            samples=m,
            trajectories=trajectories,
            dt=system.dt,
            t_end=t_end,
            samples_meaning="per trajectory, at the system's step dt",
        )
        label = system.name
    else:
        given = [
            k for k, v in (("noise", noise), ("samples", samples), ("trajectories", trajectories)) if v is not None
        ]
        if given:
            warnings.append(
                f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to simulated catalogue systems only; ignored for a data file"
            )
        prog.step("data", f"reading {src.source}")
        variables = list(src.variables)
        ts, xs, x_dot = list(src.t), list(src.x), src.x_dot
        settings.update(kind="file", measured_derivatives=x_dot is not None)
        label = str(src.source)
    return _Run(
        label=label,
        system=system,
        variables=variables,
        ts=ts,
        xs=xs,
        x_dot=x_dot,
        seed=seed,
        settings=settings,
        warnings=warnings,
    )


def _choose_settings(
    run: _Run,
    *,
    canonical,
    degree,
    threshold,
    alpha,
    formulation,
    candidates,
    n_bootstrap,
    min_frequency,
    conserved_degree,
) -> int:
    """The canonical pairs, the library degree and threshold (with the rules that chose them) and
    the other settings, recorded in ``run.settings``; returns the conserved quantities' degree."""
    import pysindy as ps

    from .conservation import parse_canonical

    system, xs = run.system, run.xs
    if canonical is not None:
        run.pairs = (
            parse_canonical(canonical, run.variables) if isinstance(canonical, str) else [tuple(pq) for pq in canonical]
        )

    polynomial = system is not None and system.is_polynomial
    if degree is None:
        if polynomial:
            degree, degree_rule = max(2, _polynomial_degree(system)), "the system's polynomial degree, at least 2"
        else:
            degree = DEFAULTS["file_degree"]
            degree_rule = "default for data files" if system is None else "default; the system is not polynomial"
    else:
        degree_rule = "given"
    library = ps.PolynomialLibrary(degree=degree)
    if polynomial:
        try:
            run.has_true = (
                system.true_coefficients(ps.PolynomialLibrary(degree=degree).fit(np.vstack(xs[:1]))) is not None
            )
        except ValueError as exc:  # a term above the given degree
            run.warnings.append(f"no coefficient errors: {exc}")
    if threshold is None:
        threshold = DEFAULTS["threshold"]
    threshold_rule = "automatic" if threshold == "auto" else "given"
    if system is not None and not polynomial:
        run.warnings.append(
            f"{system.name} is not polynomial: the model is a degree-{degree} polynomial approximation "
            "and has no true coefficients to compare with"
        )
    if conserved_degree is None:
        conserved_degree = (
            min(4, max(2, _polynomial_degree(system) + 1)) if polynomial else DEFAULTS["conserved_degree"]
        )
    run.settings.update(
        degree=degree,
        degree_rule=degree_rule,
        threshold=threshold if isinstance(threshold, str) else float(threshold),
        threshold_rule=threshold_rule,
        formulation=formulation,
        alpha=float(alpha),
        candidates=candidates,
        bootstrap=n_bootstrap,
        min_frequency=float(min_frequency),
        conserved_degree=conserved_degree,
        canonical=None
        if canonical is None
        else (canonical if isinstance(canonical, str) else ",".join(f"{q}:{p}" for q, p in canonical)),
    )
    run.settings["command"] = " ".join(_command(run.settings))
    run.fit_kw = dict(library=library, threshold=threshold, alpha=alpha, formulation=formulation)
    return conserved_degree


def _plain_fit(run: _Run, prog):
    """Step 2: SINDy without symmetry; the threshold and formulation it used go into the settings."""
    from .model import SymmetricSINDy

    prog.step("plain", "fitting plain SINDy")
    plain = SymmetricSINDy(**run.fit_kw).fit(run.xs, t=run.t_arg, x_dot=run.x_dot, feature_names=run.variables)
    run.settings["threshold_used"] = float(plain.threshold_)
    run.settings["formulation_used"] = plain.formulation_
    run.settings["formulation_reason"] = plain.formulation_reason_
    run.settings["plain_fit"] = plain.fit_info()
    return plain


def _discover(run: _Run, prog, *, candidates, n_bootstrap, min_frequency):
    """Step 3: symmetry discovery with bootstrap refits; returns the report (None when it failed),
    the specs to enforce and the symmetry made of them (with unnamed generators that agree)."""
    from .discover import discover_symmetries, enforced_symmetry
    from .symmetry import Symmetry

    variables = run.variables
    prog.step(
        "discover",
        f"discovering symmetries ({candidates} candidates, signed permutations, {n_bootstrap} bootstrap refits)",
    )
    report = None
    try:
        report = discover_symmetries(
            run.xs,
            t=run.t_arg,
            x_dot=run.x_dot,
            feature_names=variables,
            candidates=candidates,
            n_bootstrap=n_bootstrap,
            random_state=run.seed,
            **run.fit_kw,
        )
        run.warnings.extend(report.warnings)
    except ValueError as exc:
        run.warnings.append(f"symmetry discovery failed: {exc}")
    enforced, sym = [], Symmetry(variables)
    if report is not None:
        sym, enforced = enforced_symmetry(report, min_frequency)
        skipped = [s for s in report.specs if s not in enforced]
        if skipped:
            run.warnings.append(
                f"found but not enforced (in fewer than {min_frequency:.0%} of bootstrap refits): {'; '.join(skipped)}"
            )
    return report, enforced, sym


def _enforce(run: _Run, prog, plain, sym, enforced):
    """Step 4: refit with ``sym`` enforced; returns the model (``plain`` when there is nothing to
    enforce or enforcing fails) and the specs enforced in it."""
    from .model import SymmetricSINDy

    prog.step("enforce", f"enforcing {'; '.join(enforced) if enforced else 'nothing'} and refitting")
    model = plain
    if not sym.is_trivial:
        try:
            model = SymmetricSINDy(symmetry=sym, **run.fit_kw).fit(
                run.xs, t=run.t_arg, x_dot=run.x_dot, feature_names=run.variables
            )
        except ValueError as exc:
            run.warnings.append(f"enforcing the symmetries found failed, the plain fit is kept: {exc}")
            enforced = []
    if not np.any(model.coef_):
        run.warnings.append(
            f"the model is zero (threshold {model.threshold_:.3g}): lower the threshold (--threshold) or check the data"
        )
    return model, enforced


def _structure(run: _Run):
    """The Hamiltonian structure for Noether charges: the given canonical pairs, else the
    catalogue's; returns its description, the canonical pairs and the Poisson matrix."""
    pairs, matrix, structure = run.pairs, None, None
    if pairs is not None:
        structure = {"kind": "canonical", "pairs": [list(pq) for pq in pairs], "from": "the given canonical pairs"}
    elif run.system is not None and run.system.structure is not None:
        st = run.system.structure
        if st.kind == "canonical":
            pairs = [tuple(pq) for pq in st.pairs]
            structure = {"kind": "canonical", "pairs": [list(pq) for pq in pairs], "from": "the catalogue"}
        else:
            matrix = st.matrix
            from .expressions import format_expression

            structure = {
                "kind": "poisson",
                "matrix": [[format_expression(e) for e in matrix.row(i)] for i in range(matrix.rows)],
                "from": "the catalogue",
            }
    return structure, pairs, matrix


def _conservation(run: _Run, prog, model, conserved_degree) -> _Conservation:
    """Step 5: conserved quantities of ``model`` (only those that pass their checks) and Noether
    charges of its continuous generators when a structure is known."""
    from .conservation import check_quantity, checked_search, noether_report, split_by_check
    from .differentiation import estimate_derivatives

    variables, xs, ts = run.variables, run.xs, run.ts
    prog.step("conserved", f"conserved quantities (degree <= {conserved_degree}) and Noether charges")
    rhs = _rhs(model, variables)
    smoothed = estimate_derivatives(xs, ts)[0] if run.x_dot is None else xs
    x_start = [sx[0] for sx in smoothed]
    x_smooth = smoothed[0] if len(smoothed[0]) == len(xs[0]) else None
    found, checks, rejected = [], [], []
    if np.any(model.coef_):
        search, checks = checked_search(
            rhs,
            variables,
            conserved_degree,
            lambda q: check_quantity(q.expr, rhs, variables, x_data=xs, t=ts),
            x_samples=xs,
            random_state=run.seed,
            basis="auto",
        )
        found = search.quantities
        run.settings["conserved_basis"] = search.basis
        run.settings["conserved_basis_candidates"] = search.candidates
        # only what passes its checks is called conserved
        passed, rejected = split_by_check(found, checks)
        found, checks = [q for q, _ in passed], [c for _, c in passed]
    structure, pairs, matrix = _structure(run)
    entries, flags = [], []
    if structure is not None and model.symmetry_.generators:
        try:
            entries, flags = noether_report(
                model.symmetry_,
                rhs,
                pairs=pairs,
                matrix=matrix,
                x_data=xs,
                t=ts,
                conserved=[q.expr for q in found],
                degree=conserved_degree,
            )
        except (ValueError, TypeError) as exc:
            run.warnings.append(f"Noether charges could not be computed: {exc}")
    elif structure is not None and found:
        flags = [
            f"{_show(q.expr)}: conserved, but no continuous symmetry was found whose Noether charge it is "
            "(e.g. energy or a Casimir)"
            for q in found
        ]
    return _Conservation(
        found=found,
        checks=checks,
        rejected=rejected,
        structure=structure,
        noether=entries,
        flags=flags,
        x_start=x_start,
        x_smooth=x_smooth,
    )


def _errors_against_truth(run: _Run, plain, model, report, found, conserved_degree):
    """Step 6, catalogue systems only: the truth, and the coefficient errors before and after
    enforcing, the declared symmetries and conserved quantities found or not; (None, None) for a file."""
    from .conservation import span_residual
    from .expressions import format_expression

    system, variables = run.system, run.variables
    if system is None:
        return None, None
    truth = {
        "equations": {v: format_expression(e) for v, e in zip(variables, system.rhs_list)},
        "symmetries": list(system.symmetry_specs),
        "conserved": {k: format_expression(e) for k, e in system.conserved.items()},
    }
    errors = {}
    if run.has_true:
        for name, mdl in (("plain", plain), ("enforced", model)):
            errors[name] = _coefficient_errors(mdl.coef_, system.true_coefficients(mdl.library_))
    else:
        errors["coefficients_note"] = "no true coefficients in a polynomial library: no coefficient errors"
    if report is not None:
        found_sym = report.symmetry()
        passing = [c.matrix for c in report.discrete if c.spec not in report.rejected]
        errors["symmetries"] = {
            "declared": {spec: _declared_found(spec, variables, found_sym, passing) for spec in system.symmetry_specs}
        }
    xsym = _symbols(variables)
    exprs = [q.expr for q in found]
    declared, notes = {}, {}
    for name, e in system.conserved.items():
        # found quantities carry the fitted model's few-percent errors
        # in the span of the found ones and their products (L**2 is not listed again)
        declared[name] = bool(exprs and span_residual(e, exprs, xsym) <= 0.05)
        if not e.is_polynomial(*xsym):
            if not declared[name]:
                notes[name] = "not a polynomial: outside the families searched, or not found"
        elif _total_degree(e, xsym) > conserved_degree:
            notes[name] = f"degree {_total_degree(e, xsym)} > {conserved_degree}: outside the search"
    errors["conserved"] = {"declared": declared, "notes": notes}
    return truth, errors


def _assemble(run: _Run, plain, model, report, enforced, cons: _Conservation, truth, errors) -> DiscoveryReport:
    return DiscoveryReport(
        source=run.label,
        kind="catalogue" if run.system is not None else "file",
        variables=run.variables,
        settings=run.settings,
        t=run.ts,
        x=run.xs,
        plain=plain,
        model=model,
        symmetries=report,
        enforced=list(enforced),
        conserved=cons.found,
        checks=cons.checks,
        rejected=cons.rejected,
        noether=cons.noether,
        noether_flags=cons.flags,
        structure=cons.structure,
        system=run.system,
        truth=truth,
        errors=errors,
        warnings=run.warnings,
        x_start=cons.x_start,
        x_smooth=cons.x_smooth,
    )


def _write(rep: DiscoveryReport, out, prog) -> DiscoveryReport:
    """The last step, with ``out``: ``report.json`` and the figures; the timings either way."""
    if out is not None:
        prog.step("write", f"writing report.json and figures to {out}")
        rep.write_figures(out)
        rep.timings = prog.done()
        rep.write_json(out)
    else:
        rep.timings = prog.done()
    return rep


def run_discovery(
    source,
    *,
    out=None,
    noise: float | None = None,
    samples: int | None = None,
    trajectories: int | None = None,
    random_state: int = 0,
    degree: int | None = None,
    threshold: float | str | None = None,
    alpha: float = DEFAULTS["alpha"],
    formulation: str = DEFAULTS["formulation"],
    candidates: str = DEFAULTS["candidates"],
    n_bootstrap: int = DEFAULTS["bootstrap"],
    min_frequency: float = DEFAULTS["min_frequency"],
    conserved_degree: int | None = None,
    canonical=None,
    progress: Callable[[str], None] | None = None,
    seed: int | None = None,
) -> DiscoveryReport:
    """Fit, discover symmetries, enforce them, find conservation laws; report it all.

    Parameters
    ----------
    source : str, Path, System or Dataset
        A catalogue name (simulated) or a .csv/.npz file (read); see :func:`resolve_source`.
    out : path, optional
        Folder for ``report.json`` and the figures (nothing is written without it).
    noise : float, optional
        Catalogue only: state noise, as a fraction of each variable's RMS (default 0.01).
    samples : int, optional
        Catalogue only: samples per trajectory at the system's step ``dt`` (default: the
        system's ``t_end / dt + 1``; at least 10).
    trajectories : int, optional
        Catalogue only: number of trajectories (default 4).
    random_state : int
        Seeds the simulation (initial-state perturbations and noise) and the bootstrap
        (``seed``: its older, deprecated name; ``report.json`` records it as ``seed``).
    degree, threshold : optional
        Library degree and sparsity threshold; defaults as in the module docstring.
    alpha : float
        Ridge weight of the sparse regression (default 0.05).
    candidates : {"gl", "so", "affine"}
        Candidate algebra of the continuous search (default "gl").
    n_bootstrap : int
        Bootstrap refits of the discovery (default 10).
    min_frequency : float
        A symmetry is enforced when found in at least this fraction of refits (default 0.5).
    conserved_degree : int, optional
        Largest degree of candidate conserved quantities: default 2, and for a polynomial
        catalogue system its degree + 1 (the degree of an energy), between 2 and 4.
    canonical : str or list of (q, p), optional
        Canonical pairs (``"q1:p1,q2:p2"``) for Noether charges; overrides a catalogue
        system's structure.
    progress : callable, optional
        Called with one line per step, e.g. ``"[3/6] discovering symmetries ... (1.2 s)"``.
    """
    random_state = resolve_random_state(random_state, seed, "run_discovery")
    if not isinstance(random_state, (int, np.integer)):
        raise ValueError(f"run_discovery: random_state {random_state!r}: expected an integer (it is recorded)")
    samples = _check_positive_int(samples, "samples", DEFAULTS["min_samples"])
    trajectories = _check_positive_int(trajectories, "trajectories")
    degree = _check_positive_int(degree, "degree")
    conserved_degree = _check_positive_int(conserved_degree, "conserved degree")
    n_bootstrap = _check_positive_int(n_bootstrap, "bootstrap", 0)
    _check_options(
        out=out,
        noise=noise,
        threshold=threshold,
        alpha=alpha,
        formulation=formulation,
        candidates=candidates,
        min_frequency=min_frequency,
    )

    prog = _Progress(progress, 6 if out is not None else 5)
    run = _load_data(source, prog, seed=random_state, noise=noise, samples=samples, trajectories=trajectories)
    conserved_degree = _choose_settings(
        run,
        canonical=canonical,
        degree=degree,
        threshold=threshold,
        alpha=alpha,
        formulation=formulation,
        candidates=candidates,
        n_bootstrap=n_bootstrap,
        min_frequency=min_frequency,
        conserved_degree=conserved_degree,
    )
    plain = _plain_fit(run, prog)
    report, enforced, sym = _discover(
        run, prog, candidates=candidates, n_bootstrap=n_bootstrap, min_frequency=min_frequency
    )
    model, enforced = _enforce(run, prog, plain, sym, enforced)
    cons = _conservation(run, prog, model, conserved_degree)
    truth, errors = _errors_against_truth(run, plain, model, report, cons.found, conserved_degree)
    return _write(_assemble(run, plain, model, report, enforced, cons, truth, errors), out, prog)
