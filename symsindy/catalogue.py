"""The catalogue of named dynamical systems.

Each system is one TOML file in the top-level ``systems/`` folder (the format is
described in ``systems/README.md``): its variables, named parameters, right-hand
side, default initial state and time span, and the facts that matter for
symmetry-aware discovery -- symmetries as spec strings, conserved quantities,
Hamiltonian structure -- each of which :func:`check_claims` verifies by machine.

Expressions are read with :func:`symsindy.expressions.parse_expression` (an
``ast`` allow-list), never evaluated; every error is a one-line ``ValueError``
naming the file and the field.

The folder is found, in order of precedence, from an explicit ``folder``
argument, the environment variable ``SYMSINDY_SYSTEMS``, or the catalogue shipped
with the package: the top-level ``systems/`` folder, installed as the package
``symsindy.systems`` and found with :mod:`importlib.resources` (see
:func:`default_folder`).
"""

from __future__ import annotations

import difflib
import keyword
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import sympy

from .expressions import FUNCTIONS, format_expression, parse_expression
from .io import check_variable_names, write_csv
from .symmetry import SpecError, Symmetry

__all__ = [
    "ENV_VAR",
    "CatalogueError",
    "ClaimError",
    "SymmetryClaim",
    "ConservedClaim",
    "Structure",
    "System",
    "Simulation",
    "ClaimCheck",
    "default_folder",
    "load_system_file",
    "load_folder",
    "list_systems",
    "get_system",
    "check_claims",
    "verify_system",
    "derived_tags",
]

#: Environment variable naming a folder of system files that replaces the default one.
ENV_VAR = "SYMSINDY_SYSTEMS"
#: Most samples per trajectory a file may ask for (t_end / dt).
MAX_SAMPLES = 1_000_000

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TAG = re.compile(r"[a-z][a-z0-9_]*\Z")
_TOP_FIELDS = (
    "name", "description", "reference", "tags", "variables", "parameters", "equations",
    "symmetries", "conserved", "structure", "simulation",
)
_REQUIRED = ("name", "description", "variables", "equations", "simulation")
_STRUCTURE_KINDS = ("canonical", "poisson")


class CatalogueError(ValueError):
    """A system file or definition that does not follow the format; one line naming file and field."""


class ClaimError(ValueError):
    """A catalogue claim (symmetry, conserved quantity, structure, tag) that the equations do not bear out."""


# --------------------------------------------------------------------------- claims


def _condition_text(when: Mapping[str, sympy.Expr]) -> str:
    return ", ".join(f"{p} = {format_expression(v)}" for p, v in when.items())


@dataclass(frozen=True, eq=False)
class SymmetryClaim:
    """A symmetry spec, holding for all parameter values satisfying ``when``.

    ``when`` maps parameter names to values (SymPy expressions in the other
    parameters); empty means unconditionally.
    """

    spec: str
    when: Mapping[str, sympy.Expr] = field(default_factory=dict)

    @property
    def label(self) -> str:
        cond = f" when {_condition_text(self.when)}" if self.when else ""
        return f"symmetry '{self.spec}'{cond}"


@dataclass(frozen=True, eq=False)
class ConservedClaim:
    """A conserved quantity: ``expression`` (in variables and parameter symbols) is constant along the flow."""

    name: str
    expression: sympy.Expr
    when: Mapping[str, sympy.Expr] = field(default_factory=dict)

    @property
    def label(self) -> str:
        cond = f" when {_condition_text(self.when)}" if self.when else ""
        return f"conserved '{self.name}'{cond}"


@dataclass(frozen=True, eq=False)
class Structure:
    """Hamiltonian structure: canonical pairs or a Poisson matrix, with the Hamiltonian.

    ``kind == "canonical"``: ``q' = dH/dp``, ``p' = -dH/dq`` for each pair ``(q, p)``.
    ``kind == "poisson"``: ``x' = P(x) grad H(x)`` with ``P`` antisymmetric and
    satisfying the Jacobi identity.
    """

    kind: str
    hamiltonian: sympy.Expr
    pairs: tuple[tuple[str, str], ...] = ()
    matrix: sympy.ImmutableMatrix | None = None
    when: Mapping[str, sympy.Expr] = field(default_factory=dict)

    @property
    def label(self) -> str:
        cond = f" when {_condition_text(self.when)}" if self.when else ""
        return f"structure ({self.kind}){cond}"

    def _substituted(self, values: Mapping[sympy.Symbol, sympy.Expr]) -> "Structure":
        matrix = None if self.matrix is None else self.matrix.xreplace(values)
        return Structure(self.kind, self.hamiltonian.xreplace(values), self.pairs, matrix, {})


# --------------------------------------------------------------------------- numbers


def _exact(value) -> sympy.Expr:
    """A parameter value as an exact SymPy number: short decimals become rationals."""
    if isinstance(value, sympy.Basic):
        if not (isinstance(value, sympy.Expr) and value.is_number and value.is_real):
            raise ValueError(f"expected a real number, got {value}")
        return value
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    # The numbers rule of the expression language: what repr prints, read back.
    return parse_expression(repr(value), (), where="number")


# --------------------------------------------------------------------------- the system


class System:
    """A named dynamical system ``x' = f(x)`` with its catalogue facts.

    Parameters
    ----------
    name : str
    variables : sequence of str
        State variable names, in the order of the state vector.
    equations : mapping str -> sympy.Expr or str
        Right-hand side per variable, in the variable symbols ``sympy.Symbol(v)``
        and parameter symbols ``sympy.Symbol(p)``; text is parsed safely.
    parameters : mapping str -> number, optional
        Parameter values by name.
    description, reference : str
    tags : sequence of str
    symmetries : sequence of str or SymmetryClaim
    conserved : mapping str -> expression, or sequence of ConservedClaim
    structure : Structure, optional
    x0 : mapping str -> float or sequence of float
        Default initial state.
    dt, t_end : float
        Default sampling step and final time (simulations start at t = 0).

    Attributes
    ----------
    symbols : tuple of sympy.Symbol
        The variable symbols.
    equations : dict
        Right-hand side in parameter symbols (as written in the file).
    rhs : dict
        Right-hand side with the parameter values substituted (exactly).
    symmetry : Symmetry
        The symmetries that hold at the current parameter values.
    symmetry_specs : list of str
        Their spec strings.
    conserved : dict
        Conserved quantities that hold at the current parameter values, values substituted.
    structure : Structure or None
        The Hamiltonian structure at the current parameter values, if it holds there.
    symmetry_claims, conserved_claims, structure_claim
        Every claim, with its parameter condition, in parameter symbols.
    """

    def __init__(
        self,
        name: str,
        variables: Sequence[str],
        equations: Mapping[str, object],
        parameters: Mapping[str, object] | None = None,
        *,
        description: str = "",
        reference: str = "",
        tags: Sequence[str] = (),
        symmetries: Sequence[str | SymmetryClaim] = (),
        conserved: Mapping[str, object] | Sequence[ConservedClaim] = (),
        structure: Structure | None = None,
        x0=None,
        dt: float = 0.01,
        t_end: float = 10.0,
        source: str | Path | None = None,
    ):
        self.name = str(name)
        where = f"system '{self.name}'"
        self.variables = tuple(_check_names(variables, f"{where}: variables"))
        self.symbols = tuple(sympy.Symbol(v) for v in self.variables)
        parameters = dict(parameters or {})
        for p in parameters:
            _check_parameter_name(p, self.variables, f"{where}: parameters")
        self._exact_values = {}
        for p, v in parameters.items():
            try:
                self._exact_values[p] = _exact(v)
            except ValueError as exc:
                raise CatalogueError(f"{where}: parameter '{p}': {exc}") from None
        self.parameters = {}
        for p, v in self._exact_values.items():
            try:
                value = float(v)
            except (TypeError, OverflowError):
                value = math.inf
            if not math.isfinite(value):
                raise CatalogueError(f"{where}: parameter '{p}' = {v} is not a finite float64 number")
            self.parameters[p] = value
        self.parameter_symbols = {p: sympy.Symbol(p) for p in parameters}
        self.description = str(description)
        self.reference = str(reference)
        self.tags = tuple(tags)
        self.source = None if source is None else Path(source)

        if not isinstance(equations, Mapping):
            raise CatalogueError(f"{where}: equations must map each variable name to its right-hand side")
        if set(equations) != set(self.variables):
            missing = [v for v in self.variables if v not in equations]
            extra = [v for v in equations if v not in self.variables]
            what = f"no equation for {missing[0]!r}" if missing else f"equation for unknown variable {extra[0]!r}"
            raise CatalogueError(f"{where}: {what}; variables are {', '.join(self.variables)}")
        sym_map = dict(zip(self.variables, self.symbols))
        self.equations = {v: self._expression(equations[v], f"{where}: equations.{v}", sym_map) for v in self.variables}

        self.symmetry_claims = tuple(s if isinstance(s, SymmetryClaim) else SymmetryClaim(str(s)) for s in symmetries)
        for c in self.symmetry_claims:
            try:
                Symmetry(self.variables, c.spec)
            except SpecError as exc:
                raise CatalogueError(f"{where}: {exc}") from None
            self._check_condition(c.when, f"{where}: {c.label}")
        if isinstance(conserved, Mapping):
            conserved = [ConservedClaim(k, self._expression(e, f"{where}: conserved.{k}", sym_map)) for k, e in conserved.items()]
        self.conserved_claims = tuple(conserved)
        for c in self.conserved_claims:
            self._expression(c.expression, f"{where}: {c.label}", sym_map)
            self._check_condition(c.when, f"{where}: {c.label}")
        self.structure_claim = structure
        if structure is not None:
            self._check_structure(structure, where)

        self.x0 = self._initial_state(x0, where)
        self.dt = float(dt)
        self.t_end = float(t_end)
        if not (math.isfinite(self.dt) and self.dt > 0 and math.isfinite(self.t_end) and self.t_end > self.dt):
            raise CatalogueError(f"{where}: need 0 < dt < t_end, got dt = {dt}, t_end = {t_end}")

        values = {self.parameter_symbols[p]: v for p, v in self._exact_values.items()}
        self._values = values
        self.rhs = {v: e.xreplace(values) for v, e in self.equations.items()}
        self.symmetry_specs = [c.spec for c in self.symmetry_claims if self._holds(c.when)]
        self.symmetry = Symmetry(self.variables, self.symmetry_specs)
        self.conserved = {c.name: c.expression.xreplace(values) for c in self.conserved_claims if self._holds(c.when)}
        self.structure = (
            structure._substituted(values) if structure is not None and self._holds(structure.when) else None
        )
        self._function = None

    # ---- construction helpers
    def _expression(self, value, where, sym_map) -> sympy.Expr:
        params = self.parameter_symbols
        if isinstance(value, sympy.Expr):
            unknown = value.free_symbols - set(self.symbols) - set(params.values())
            if unknown:
                raise CatalogueError(f"{where}: unknown symbol {sorted(map(str, unknown))[0]!r}")
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = repr(value)
        return parse_expression(value, sym_map, where=where, parameters=params)

    def _check_condition(self, when, where) -> None:
        for p, v in when.items():
            if p not in self.parameter_symbols:
                raise CatalogueError(f"{where}: condition on unknown parameter '{p}'; parameters are {_listing(self.parameter_symbols)}")
            bad = v.free_symbols - set(self.parameter_symbols.values())
            if bad:
                raise CatalogueError(f"{where}: condition {p} = {v} uses {sorted(map(str, bad))[0]!r}, which is not a parameter")

    def _check_structure(self, s: Structure, where) -> None:
        where = f"{where}: {s.label}"
        if s.kind not in _STRUCTURE_KINDS:
            raise CatalogueError(f"{where}: unknown type {s.kind!r}; expected 'canonical' or 'poisson'")
        n = self.n_variables
        if s.kind == "canonical":
            flat = [v for pq in s.pairs for v in pq]
            if sorted(flat) != sorted(self.variables) or any(len(pq) != 2 for pq in s.pairs):
                raise CatalogueError(f"{where}: pairs must put every variable in exactly one (q, p) pair")
        elif s.matrix is None or s.matrix.shape != (n, n):
            raise CatalogueError(f"{where}: the Poisson matrix must be {n} x {n}")
        exprs = [s.hamiltonian] + ([] if s.matrix is None else list(s.matrix))
        allowed = set(self.symbols) | set(self.parameter_symbols.values())
        for e in exprs:
            unknown = e.free_symbols - allowed
            if unknown:
                raise CatalogueError(f"{where}: unknown symbol {sorted(map(str, unknown))[0]!r}")
        self._check_condition(s.when, where)

    def _initial_state(self, x0, where) -> np.ndarray:
        n = len(self.variables)
        if x0 is None:
            return np.zeros(n)
        if isinstance(x0, Mapping):
            missing = [v for v in self.variables if v not in x0]
            extra = [k for k in x0 if k not in self.variables]
            if missing or extra:
                what = f"no value for {missing[0]!r}" if missing else f"unknown variable {extra[0]!r}"
                raise CatalogueError(f"{where}: initial state: {what}; variables are {', '.join(self.variables)}")
            x0 = [x0[v] for v in self.variables]
        arr = np.asarray(x0, dtype=float)
        if arr.shape != (n,) or not np.all(np.isfinite(arr)):
            raise CatalogueError(f"{where}: initial state must be {n} finite numbers, got shape {arr.shape}")
        return arr

    def _holds(self, when) -> bool:
        for p, v in when.items():
            try:
                target = float(v.xreplace(self._values))
            except (TypeError, OverflowError):
                return False
            if not math.isfinite(target) or abs(self.parameters[p] - target) > 1e-12 * max(1.0, abs(target)):
                return False
        return True

    # ---- description
    def __repr__(self) -> str:
        return f"System({self.name!r}, variables={list(self.variables)!r})"

    @property
    def n_variables(self) -> int:
        return len(self.variables)

    @property
    def rhs_list(self) -> list[sympy.Expr]:
        """The right-hand side in variable order, parameter values substituted."""
        return [self.rhs[v] for v in self.variables]

    @property
    def is_polynomial(self) -> bool:
        """Whether every right-hand side is a polynomial in the state variables."""
        return all(e.is_polynomial(*self.symbols) for e in self.equations.values())

    def with_parameters(self, **values) -> "System":
        """A copy with some parameter values changed (by name); claims re-evaluated."""
        for p in values:
            if p not in self.parameters:
                raise ValueError(f"system '{self.name}': unknown parameter '{p}'; parameters are {_listing(self.parameters)}")
        params = dict(self._exact_values)
        params.update(values)
        return System(
            self.name, self.variables, self.equations, params,
            description=self.description, reference=self.reference, tags=self.tags,
            symmetries=self.symmetry_claims, conserved=self.conserved_claims, structure=self.structure_claim,
            x0=self.x0, dt=self.dt, t_end=self.t_end, source=self.source,
        )

    def to_dict(self) -> dict:
        """A JSON-ready description; expressions are strings that parse back exactly.

        ``equations``, ``conserved`` and ``hamiltonian`` are written in the parameter
        names (values in ``parameters``); ``rhs`` has the values substituted.
        ``symmetries`` and ``conserved`` list what holds at the current parameters;
        ``symmetry_claims`` and ``conserved_claims`` list every claim with its condition.
        """
        fmt = format_expression
        out = {
            "name": self.name,
            "description": self.description,
            "reference": self.reference,
            "tags": list(self.tags),
            "variables": list(self.variables),
            "parameters": dict(self.parameters),
            "equations": {v: fmt(e) for v, e in self.equations.items()},
            "rhs": {v: fmt(e) for v, e in self.rhs.items()},
            "symmetries": list(self.symmetry_specs),
            "symmetry_claims": [
                {"spec": c.spec, "when": {p: fmt(v) for p, v in c.when.items()}, "holds": self._holds(c.when)}
                for c in self.symmetry_claims
            ],
            "conserved": {c.name: fmt(c.expression) for c in self.conserved_claims if self._holds(c.when)},
            "conserved_claims": [
                {"name": c.name, "expression": fmt(c.expression), "when": {p: fmt(v) for p, v in c.when.items()},
                 "holds": self._holds(c.when)}
                for c in self.conserved_claims
            ],
            "structure": None,
            "initial_state": {v: float(x) for v, x in zip(self.variables, self.x0)},
            "dt": self.dt,
            "t_end": self.t_end,
            "polynomial": self.is_polynomial,
        }
        s = self.structure_claim
        if s is not None:
            out["structure"] = {
                "type": s.kind,
                "hamiltonian": fmt(s.hamiltonian),
                "when": {p: fmt(v) for p, v in s.when.items()},
                "holds": self._holds(s.when),
            }
            if s.kind == "canonical":
                out["structure"]["pairs"] = [list(pq) for pq in s.pairs]
            else:
                out["structure"]["matrix"] = [[fmt(e) for e in s.matrix.row(i)] for i in range(s.matrix.rows)]
        return out

    # ---- numerics
    def rhs_function(self):
        """The vector field as a NumPy function: ``f(X)`` maps (m, n) states to (m, n) derivatives."""
        if self._function is None:
            # Numbers become floats first, so that exact constants such as 10**400 or sin(10**100)
            # are not handed to NumPy as Python integers; dummify keeps a variable named like a
            # NumPy function from shadowing it in the generated code.
            exprs = [sympy.N(e, 17) for e in self.rhs_list]
            f = sympy.lambdify(self.symbols, exprs, modules="numpy", dummify=True, cse=True)
            self._function = f
        f = self._function
        n = self.n_variables

        def vector_field(X):
            X = np.asarray(X, dtype=float)
            one = X.ndim == 1
            X2 = np.atleast_2d(X)
            if X2.shape[-1] != n:
                raise ValueError(f"system '{self.name}': states have {X2.shape[-1]} columns, expected {n}")
            cols = f(*X2.T)
            out = np.empty_like(X2)
            for i, c in enumerate(cols):
                out[:, i] = c
            return out[0] if one else out

        return vector_field

    def simulate(
        self,
        t_end: float | None = None,
        dt: float | None = None,
        x0=None,
        *,
        n_trajectories: int = 1,
        noise: float = 0.0,
        seed=None,
        spread: float = 0.1,
        method: str = "DOP853",
        rtol: float = 1e-10,
        atol: float = 1e-10,
    ) -> "Simulation":
        """Integrate from ``t = 0`` to ``t_end``, sampled every ``dt``.

        Parameters
        ----------
        t_end, dt : float, optional
            Final time and sampling step; default to the system's.
        x0 : mapping str -> float, (n,) or (k, n) array, optional
            Initial state(s).  One state (default: the system's) starts the first
            trajectory; further trajectories start from it perturbed by
            ``spread * s_i * N(0, 1)`` per variable, ``s_i = |x0_i|`` (or ``max|x0|``
            where ``x0_i = 0``), reproducibly from ``seed``.  A (k, n) array gives
            all k initial states and fixes ``n_trajectories = k``.
        n_trajectories : int
        noise : float
            Gaussian noise added to the returned states ``x``, with standard deviation
            ``noise`` times the root mean square of each variable over its clean
            trajectory.  ``x_clean`` and the exact derivatives ``x_dot`` are noise free.
        seed : int or None
            Seeds the perturbations and the noise.
        spread : float
            Relative size of the initial-state perturbations (default 0.1).
        method, rtol, atol
            Passed to :func:`scipy.integrate.solve_ivp` (defaults DOP853, 1e-10, 1e-10).
        """
        from scipy.integrate import solve_ivp

        t_end = self.t_end if t_end is None else float(t_end)
        dt = self.dt if dt is None else float(dt)
        where = f"system '{self.name}'"
        if not (math.isfinite(dt) and dt > 0 and math.isfinite(t_end) and t_end > dt):
            raise ValueError(f"{where}: need 0 < dt < t_end, got dt = {dt}, t_end = {t_end}")
        m = int(round(t_end / dt)) + 1
        if m > MAX_SAMPLES:
            raise ValueError(f"{where}: t_end / dt = {m - 1} samples; at most {MAX_SAMPLES} per trajectory")
        if not (math.isfinite(noise) and noise >= 0):
            raise ValueError(f"{where}: noise must be a non-negative number, got {noise}")
        t = dt * np.arange(m)
        seeds = np.random.SeedSequence(seed).spawn(2)
        starts = self._starts(x0, n_trajectories, spread, np.random.default_rng(seeds[0]))
        f = self.rhs_function()
        scalar = self._function

        class _NotFinite(Exception):
            pass

        def fun(_t, y):
            out = np.array(scalar(*y), dtype=float)
            if not np.all(np.isfinite(out)):
                # fail at once: the solver would otherwise shrink its step for a long time
                raise _NotFinite(_t)
            return out

        xs, dxs = [], []
        for k, y0 in enumerate(starts):
            with np.errstate(all="ignore"):
                try:
                    if not np.all(np.isfinite(np.array(scalar(*y0), dtype=float))):
                        raise ValueError(f"{where}: the right-hand side is not finite at the initial state of trajectory {k}")
                    sol = solve_ivp(fun, (0.0, t[-1]), y0, method=method, t_eval=t, rtol=rtol, atol=atol)
                    ok = sol.status == 0 and sol.y.shape[1] == m and np.all(np.isfinite(sol.y))
                    x = sol.y.T.copy()
                    dx = f(x) if ok else None
                except _NotFinite as exc:
                    raise ValueError(
                        f"{where}: integration of trajectory {k} failed near t = {float(exc.args[0]):g}: "
                        "the right-hand side is not finite there (the solution blows up)"
                    ) from None
                except (OverflowError, ZeroDivisionError, FloatingPointError, TypeError) as exc:
                    raise ValueError(f"{where}: the right-hand side cannot be evaluated numerically: {exc}") from None
            if not ok or not np.all(np.isfinite(dx)):
                t_fail = sol.t[-1] if sol.t.size else 0.0
                raise ValueError(f"{where}: integration of trajectory {k} failed at t = {t_fail:g}: {sol.message}")
            xs.append(x)
            dxs.append(dx)
        rng = np.random.default_rng(seeds[1])
        noisy = []
        for x in xs:
            if noise > 0:
                rms = np.sqrt(np.mean(x**2, axis=0))
                noisy.append(x + noise * rms * rng.standard_normal(x.shape))
            else:
                noisy.append(x.copy())
        return Simulation(self.name, self.variables, t, noisy, xs, dxs, np.array(starts), float(noise))

    def _starts(self, x0, n_trajectories, spread, rng) -> np.ndarray:
        where = f"system '{self.name}'"
        n = self.n_variables
        if x0 is None:
            base = self.x0
        elif isinstance(x0, Mapping):
            base = self._initial_state(x0, where)
        else:
            arr = np.asarray(x0, dtype=float)
            if arr.ndim == 2:
                if arr.shape[1] != n or arr.shape[0] < 1 or not np.all(np.isfinite(arr)):
                    raise ValueError(f"{where}: initial states must have shape (k, {n}) and be finite, got {arr.shape}")
                return arr.copy()
            base = self._initial_state(arr, where)
        if isinstance(n_trajectories, bool) or int(n_trajectories) != n_trajectories or n_trajectories < 1:
            raise ValueError(f"{where}: n_trajectories must be a positive integer, got {n_trajectories!r}")
        scale = np.abs(base)
        fill = float(np.max(scale)) if np.any(scale) else 1.0
        scale = np.where(scale > 0, scale, fill)
        starts = [base.copy()]
        for _ in range(int(n_trajectories) - 1):
            starts.append(base + spread * scale * rng.standard_normal(n))
        return np.array(starts)

    def true_coefficients(self, library) -> np.ndarray:
        """The exact coefficient matrix ``(n_variables, n_terms)`` in a fitted polynomial library.

        ``library`` is a fitted pysindy ``PolynomialLibrary`` (anything with a
        ``powers_`` array of shape ``(n_terms, n_variables)``), or a fitted SINDy
        model whose ``feature_library`` is one.  Columns follow the library's terms,
        rows the variables.
        """
        where = f"system '{self.name}'"
        if not hasattr(library, "powers_") and hasattr(library, "feature_library"):
            library = library.feature_library
        if not hasattr(library, "n_features_in_"):
            raise ValueError(f"{where}: the library is not fitted (or has no powers_); fit a pysindy PolynomialLibrary on data with {self.n_variables} columns first")
        powers = np.asarray(library.powers_)
        if powers.ndim != 2 or powers.shape[1] != self.n_variables:
            raise ValueError(f"{where}: the library acts on {powers.shape[-1]} variables, the system has {self.n_variables}")
        index = {}
        for k, row in enumerate(powers):
            index.setdefault(tuple(int(a) for a in row), k)
        out = np.zeros((self.n_variables, len(powers)))
        for i, v in enumerate(self.variables):
            expr = self.rhs[v]
            if not expr.is_polynomial(*self.symbols):
                raise ValueError(f"{where}: the equation for {v} is not a polynomial in the state, so it has no coefficients in a polynomial library")
            poly = sympy.Poly(expr, *self.symbols)
            for monom, coef in poly.terms():
                if coef == 0:
                    continue
                k = index.get(tuple(monom))
                if k is None:
                    term = sympy.Mul(*[s**a for s, a in zip(self.symbols, monom)])
                    raise ValueError(f"{where}: the term {term} of the equation for {v} is not in the library")
                out[i, k] = float(coef)
        return out


@dataclass
class Simulation:
    """Trajectories of a catalogue system, sampled at common times.

    Attributes
    ----------
    system : str
    variables : tuple of str
    t : (m,) array
        Sample times, shared by all trajectories.
    x : list of (m, n) arrays
        States with noise added (equal to ``x_clean`` without noise).
    x_clean : list of (m, n) arrays
    x_dot : list of (m, n) arrays
        Exact derivatives ``f(x_clean)``.
    x0 : (k, n) array
        Initial states.
    noise : float
    """

    system: str
    variables: tuple
    t: np.ndarray
    x: list
    x_clean: list
    x_dot: list
    x0: np.ndarray
    noise: float

    @property
    def n_trajectories(self) -> int:
        return len(self.x)

    def to_csv(self, path, derivatives: bool = False) -> None:
        """Write the (noisy) states in the CSV format ``symsindy fit`` reads.

        Columns ``t``, the variables, a ``trajectory`` id (from 0) when there are
        several, and with ``derivatives=True`` the exact ``<var>_dot`` columns.
        """
        ts = [self.t] * len(self.x)
        write_csv(path, self.variables, ts, self.x, self.x_dot if derivatives else None)


# --------------------------------------------------------------------------- loading


def default_folder(folder=None) -> Path:
    """The catalogue folder: ``folder``, else ``$SYMSINDY_SYSTEMS``, else the shipped catalogue.

    The shipped catalogue is the resource folder of the package ``symsindy.systems``
    (the source tree's ``systems/``, mapped into the package at install time; an
    editable install maps it to the source folder itself). Where that package is not
    installed (a source checkout on ``sys.path``, or an editable install made before
    the mapping existed) the ``systems/`` folder beside the ``symsindy`` package is used.
    """
    import importlib.resources

    if folder is not None:
        path, how = Path(folder), "given"
    elif os.environ.get(ENV_VAR):
        path, how = Path(os.environ[ENV_VAR]), f"from ${ENV_VAR}"
    else:
        try:
            resource, how = importlib.resources.files("symsindy.systems"), "shipped with the package"
        except ModuleNotFoundError:
            resource, how = importlib.resources.files("symsindy").parent / "systems", "beside the package"
        if not isinstance(resource, Path):
            # e.g. a zipped install: the loaders glob a real folder, so say how to give one
            raise CatalogueError(
                f"the shipped catalogue {str(resource)!r} is not a folder on disk; set ${ENV_VAR} to a folder of system files"
            )
        path = resource
    if not path.is_dir():
        raise CatalogueError(f"systems folder {str(path)!r} ({how}) does not exist or is not a folder")
    return path


def _listing(names) -> str:
    names = list(names)
    return ", ".join(names) if names else "(none)"


def _check_names(names, where) -> list[str]:
    if not isinstance(names, (list, tuple)):
        raise CatalogueError(f"{where}: expected a list of names such as [\"x\", \"y\"], got {_kind(names)}")
    try:
        names = check_variable_names(names, where)
    except ValueError as exc:
        raise CatalogueError(str(exc)) from None
    for v in names:
        if v.endswith("_dot"):
            raise CatalogueError(f"{where}: variable {v!r}: names ending in '_dot' are kept for derivative columns")
        if v in FUNCTIONS:
            raise CatalogueError(f"{where}: variable {v!r} has the name of a function; choose another name")
    return names


def _check_parameter_name(p, variables, where) -> None:
    if not isinstance(p, str) or not _NAME.match(p) or keyword.iskeyword(p):
        raise CatalogueError(f"{where}: parameter name {p!r} is not an identifier such as 'sigma'")
    if p in variables:
        raise CatalogueError(f"{where}: '{p}' is both a variable and a parameter")
    if p in FUNCTIONS:
        raise CatalogueError(f"{where}: parameter {p!r} has the name of a function; choose another name")


def _kind(value) -> str:
    return {
        str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "a list", dict: "a table",
    }.get(type(value), type(value).__name__)


def _number(value, where, *, positive=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CatalogueError(f"{where}: expected a number, got {_kind(value)}")
    if isinstance(value, int) and abs(value) > 10**300:
        raise CatalogueError(f"{where}: an integer of {value.bit_length()} bits is too large for a float64 number")
    value = float(value)
    if not math.isfinite(value):
        raise CatalogueError(f"{where}: expected a finite number, got {value}")
    if positive and not value > 0:
        raise CatalogueError(f"{where}: expected a positive number, got {value}")
    return value


def _string(value, where) -> str:
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: expected a string, got {_kind(value)}")
    return value


def _table(value, where, allowed=None) -> dict:
    if not isinstance(value, dict):
        raise CatalogueError(f"{where}: expected a table, got {_kind(value)}")
    if allowed is not None:
        for k in value:
            if k not in allowed:
                raise CatalogueError(f"{where}: unknown field {k!r}; expected {', '.join(allowed)}")
    return value


def _expr_text(value, where) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _number(value, where)
        return repr(value)
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: expected an expression as a string, got {_kind(value)}")
    return value


def load_system_file(path) -> System:
    """Load one system file; errors are one-line ``ValueError`` naming file and field."""
    path = Path(path)
    name = path.name
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        # TOMLDecodeError is a ValueError; deep nesting or huge integers raise others
        detail = re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__
        raise CatalogueError(f"{name}: invalid TOML: {detail[:200]}") from None
    return _from_data(data, name, expected_name=path.stem, source=path)


def _from_data(data: dict, where: str, *, expected_name=None, source=None) -> System:
    for k in data:
        if k not in _TOP_FIELDS:
            close = difflib.get_close_matches(str(k), _TOP_FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CatalogueError(f"{where}: unknown field {k!r}{hint}; fields are {', '.join(_TOP_FIELDS)}")
    for k in _REQUIRED:
        if k not in data:
            raise CatalogueError(f"{where}: missing field {k!r}")
    name = _string(data["name"], f"{where}: name")
    if not _NAME.match(name):
        raise CatalogueError(f"{where}: name {name!r} is not an identifier such as 'lorenz'")
    if expected_name is not None and name != expected_name:
        raise CatalogueError(f"{where}: name {name!r} differs from the file name; expected {expected_name!r}")
    description = _string(data["description"], f"{where}: description").strip()
    if not description:
        raise CatalogueError(f"{where}: description is empty")
    reference = _string(data.get("reference", ""), f"{where}: reference")
    tags = data.get("tags", [])
    if not isinstance(tags, list):
        raise CatalogueError(f"{where}: tags: expected a list of strings, got {_kind(tags)}")
    for k, tag in enumerate(tags):
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise CatalogueError(f"{where}: tags[{k}]: {tag!r} is not a tag such as 'chaotic' (lower case, digits, '_')")
    variables = _check_names(data["variables"], f"{where}: variables")

    # parameters: numbers, or constant expressions such as "8/3"
    raw_params = _table(data.get("parameters", {}), f"{where}: parameters")
    params: dict[str, sympy.Expr] = {}
    for p, value in raw_params.items():
        fw = f"{where}: parameters.{p}"
        _check_parameter_name(p, variables, f"{where}: parameters")
        if isinstance(value, str):
            expr = parse_expression(value, (), where=fw)
            if not expr.is_number:
                raise CatalogueError(f"{fw}: expected a number, got {value!r}")
            try:
                finite = math.isfinite(float(expr))
            except (TypeError, OverflowError):
                finite = False
            if not finite:
                raise CatalogueError(f"{fw}: {value!r} is not a finite float64 number")
            params[p] = expr
        else:
            _number(value, fw)
            params[p] = _exact(value) if isinstance(value, float) else sympy.Integer(value)
    psyms = {p: sympy.Symbol(p) for p in params}
    vsyms = {v: sympy.Symbol(v) for v in variables}

    def parse(value, fw):
        return parse_expression(_expr_text(value, fw), vsyms, where=fw, parameters=psyms)

    def parse_condition(value, fw) -> dict:
        cond = _table(value, fw)
        out = {}
        for p, v in cond.items():
            if p not in params:
                raise CatalogueError(f"{fw}: condition on unknown parameter {p!r}; parameters are {_listing(params)}")
            out[p] = parse_expression(_expr_text(v, f"{fw}.{p}"), (), where=f"{fw}.{p}", parameters=psyms)
        if not out:
            raise CatalogueError(f"{fw}: empty condition; leave 'when' out for a claim that always holds")
        return out

    equations_raw = _table(data["equations"], f"{where}: equations")
    for v in variables:
        if v not in equations_raw:
            raise CatalogueError(f"{where}: equations: no equation for {v!r}")
    for v in equations_raw:
        if v not in variables:
            raise CatalogueError(f"{where}: equations.{v}: {v!r} is not a variable; variables are {', '.join(variables)}")
    equations = {v: parse(equations_raw[v], f"{where}: equations.{v}") for v in variables}

    symmetries_raw = data.get("symmetries", [])
    if not isinstance(symmetries_raw, list):
        raise CatalogueError(f"{where}: symmetries: expected a list of specs, got {_kind(symmetries_raw)}")
    symmetries = []
    for k, item in enumerate(symmetries_raw):
        fw = f"{where}: symmetries[{k}]"
        when = {}
        if isinstance(item, dict):
            _table(item, fw, ("spec", "when"))
            if "spec" not in item:
                raise CatalogueError(f"{fw}: missing field 'spec'")
            if "when" in item:
                when = parse_condition(item["when"], f"{fw}.when")
            item = item["spec"]
        spec = _string(item, fw).strip()
        if ";" in spec:
            raise CatalogueError(f"{fw}: one spec per entry; split {spec!r} at ';' into separate entries")
        try:
            Symmetry(variables, spec)
        except SpecError as exc:
            raise CatalogueError(f"{fw}: {exc}") from None
        symmetries.append(SymmetryClaim(spec, when))

    conserved_raw = _table(data.get("conserved", {}), f"{where}: conserved")
    conserved = []
    for cname, item in conserved_raw.items():
        fw = f"{where}: conserved.{cname}"
        if not _NAME.match(cname):
            raise CatalogueError(f"{fw}: the name is not an identifier such as 'energy'")
        when = {}
        if isinstance(item, dict):
            _table(item, fw, ("expression", "when"))
            if "expression" not in item:
                raise CatalogueError(f"{fw}: missing field 'expression'")
            if "when" in item:
                when = parse_condition(item["when"], f"{fw}.when")
            expr = parse(item["expression"], f"{fw}.expression")
        else:
            expr = parse(item, fw)
        conserved.append(ConservedClaim(cname, expr, when))

    structure = None
    if "structure" in data:
        fw = f"{where}: structure"
        st = _table(data["structure"], fw, ("type", "pairs", "matrix", "hamiltonian", "when"))
        for k in ("type", "hamiltonian"):
            if k not in st:
                raise CatalogueError(f"{fw}: missing field {k!r}")
        kind = _string(st["type"], f"{fw}.type")
        if kind not in _STRUCTURE_KINDS:
            raise CatalogueError(f"{fw}.type: {kind!r} is not a structure type; expected 'canonical' or 'poisson'")
        hamiltonian = parse(st["hamiltonian"], f"{fw}.hamiltonian")
        when = parse_condition(st["when"], f"{fw}.when") if "when" in st else {}
        pairs: tuple = ()
        matrix = None
        n = len(variables)
        if kind == "canonical":
            if "matrix" in st:
                raise CatalogueError(f"{fw}.matrix: a canonical structure takes 'pairs', not 'matrix'")
            if "pairs" not in st:
                raise CatalogueError(f"{fw}: missing field 'pairs' (a list of [q, p] pairs)")
            raw = st["pairs"]
            if not isinstance(raw, list) or not all(isinstance(pq, list) and len(pq) == 2 for pq in raw):
                raise CatalogueError(f"{fw}.pairs: expected a list of [q, p] pairs of variable names")
            seen = []
            for k, (q, p) in enumerate(raw):
                for v in (q, p):
                    if v not in variables:
                        raise CatalogueError(f"{fw}.pairs[{k}]: {v!r} is not a variable; variables are {', '.join(variables)}")
                    if v in seen:
                        raise CatalogueError(f"{fw}.pairs[{k}]: variable {v!r} appears in two pairs")
                    seen.append(v)
            if len(seen) != n:
                rest = [v for v in variables if v not in seen]
                raise CatalogueError(f"{fw}.pairs: every variable must be in a pair; {', '.join(rest)} are not")
            pairs = tuple((q, p) for q, p in raw)
        else:
            if "pairs" in st:
                raise CatalogueError(f"{fw}.pairs: a poisson structure takes 'matrix', not 'pairs'")
            if "matrix" not in st:
                raise CatalogueError(f"{fw}: missing field 'matrix' (an n x n list of expressions)")
            raw = st["matrix"]
            if not isinstance(raw, list) or len(raw) != n or not all(isinstance(r, list) and len(r) == n for r in raw):
                raise CatalogueError(f"{fw}.matrix: expected {n} rows of {n} entries, one per variable")
            matrix = sympy.ImmutableMatrix(
                [[parse(raw[i][j], f"{fw}.matrix[{i}][{j}]") for j in range(n)] for i in range(n)]
            )
        structure = Structure(kind, hamiltonian, pairs, matrix, when)

    sim = _table(data["simulation"], f"{where}: simulation", ("initial_state", "dt", "t_end"))
    for k in ("initial_state", "dt", "t_end"):
        if k not in sim:
            raise CatalogueError(f"{where}: simulation: missing field {k!r}")
    x0_raw = _table(sim["initial_state"], f"{where}: simulation.initial_state")
    for v in x0_raw:
        if v not in variables:
            raise CatalogueError(f"{where}: simulation.initial_state.{v}: {v!r} is not a variable; variables are {', '.join(variables)}")
    x0 = {}
    for v in variables:
        if v not in x0_raw:
            raise CatalogueError(f"{where}: simulation.initial_state: no value for {v!r}")
        x0[v] = _number(x0_raw[v], f"{where}: simulation.initial_state.{v}")
    dt = _number(sim["dt"], f"{where}: simulation.dt", positive=True)
    t_end = _number(sim["t_end"], f"{where}: simulation.t_end", positive=True)
    if t_end <= dt:
        raise CatalogueError(f"{where}: simulation.t_end: {t_end} is not greater than dt = {dt}")
    if t_end / dt > MAX_SAMPLES:
        raise CatalogueError(f"{where}: simulation: t_end / dt = {t_end / dt:.3g} samples; at most {MAX_SAMPLES}")

    return System(
        name, variables, equations, params,
        description=description, reference=reference, tags=tags, symmetries=symmetries,
        conserved=conserved, structure=structure, x0=x0, dt=dt, t_end=t_end, source=source,
    )


def load_folder(folder=None) -> dict[str, System]:
    """Load every ``*.toml`` file of a folder (default: the catalogue), by name in sorted order."""
    path = default_folder(folder)
    out: dict[str, System] = {}
    for f in sorted(path.glob("*.toml")):
        system = load_system_file(f)
        out[system.name] = system
    return out


def list_systems(folder=None) -> list[str]:
    """Names of the systems in a folder (default: the catalogue), sorted."""
    path = default_folder(folder)
    return sorted(f.stem for f in path.glob("*.toml"))


def get_system(name: str, folder=None, **parameters) -> System:
    """Load one system by name, optionally with some parameter values changed."""
    path = default_folder(folder)
    if not isinstance(name, str) or not _NAME.match(name):
        raise CatalogueError(f"system name {name!r} is not an identifier such as 'lorenz'")
    file = path / f"{name}.toml"
    if not file.is_file():
        names = sorted(f.stem for f in path.glob("*.toml"))
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known systems are {_listing(names)}"
        raise CatalogueError(f"unknown system {name!r} in {str(path)!r}{hint}")
    system = load_system_file(file)
    return system.with_parameters(**parameters) if parameters else system


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class ClaimCheck:
    """The outcome of checking one catalogue claim.

    ``method`` is ``"symbolic"`` when simplification reached zero (or a definite
    non-zero), ``"numeric"`` when it was inconclusive and the residual was
    evaluated at random points in high precision instead.
    """

    system: str
    claim: str
    ok: bool
    method: str
    message: str


def _rational(x: float) -> sympy.Rational:
    fr = Fraction(float(x)).limit_denominator(10**6)
    return sympy.Rational(fr.numerator, fr.denominator)


def _short(expr, limit: int = 120) -> str:
    s = re.sub(r"\s+", " ", str(expr))
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _trig_rational_zero(e) -> bool | None:
    """Decide ``e == 0`` for a rational function of variables and of sin, cos, tan of variables.

    After expanding multiple angles and sums, ``sin x, cos x`` become new symbols
    ``s, c``; the numerator vanishes on every circle ``s**2 + c**2 = 1`` exactly when
    its remainder modulo those relations is zero (they form a Groebner basis, with
    leading terms ``s**2``).  None when ``e`` has any other kind of function.
    """
    e = sympy.expand_trig(e)
    funcs = e.atoms(sympy.Function)
    if any(not isinstance(f, (sympy.sin, sympy.cos, sympy.tan)) or not f.args[0].is_Symbol for f in funcs):
        return None
    rep, sines, cosines, relations = {}, [], [], []
    for x in sorted({f.args[0] for f in funcs}, key=str):
        S, C = sympy.Dummy(f"sin_{x}"), sympy.Dummy(f"cos_{x}")
        rep.update({sympy.sin(x): S, sympy.cos(x): C, sympy.tan(x): S / C})
        sines.append(S)
        cosines.append(C)
        relations.append(S**2 + C**2 - 1)
    e = e.xreplace(rep)
    if not e.is_rational_function():
        return None
    num = sympy.expand(sympy.fraction(sympy.together(e))[0])
    if num == 0:
        return True
    others = sorted(num.free_symbols - set(sines) - set(cosines), key=str)
    _, remainder = sympy.reduced(num, relations, *sines, *cosines, *others, order="lex")
    return remainder == 0


class _Checker:
    """Decides whether expressions vanish identically, symbolically first."""

    def __init__(self, symbols, seed, n_points, digits):
        self.symbols = list(symbols)
        self.real = {s: sympy.Symbol(s.name, real=True) for s in self.symbols}
        self.rng = np.random.default_rng(seed)
        self.n_points = n_points
        self.digits = digits

    def vanishes(self, expr) -> tuple[bool | None, str, sympy.Expr]:
        """(True, 'symbolic', 0) | (False, 'symbolic', residual) | (ok, 'numeric', residual)."""
        e = sympy.sympify(expr).xreplace(self.real)
        if e == 0:
            return True, "symbolic", e
        free = sorted(e.free_symbols, key=str)
        e = sympy.expand(e)
        if e == 0:
            return True, "symbolic", e
        if e.is_rational_function(*free):
            c = sympy.cancel(sympy.together(e))
            return c == 0, "symbolic", c
        if e.has(sympy.sin, sympy.cos, sympy.tan):
            decided = _trig_rational_zero(e)
            if decided is not None:
                return decided, "symbolic", sympy.Integer(0) if decided else expr
        r = e
        for step in (lambda z: sympy.cancel(sympy.together(z)), sympy.trigsimp, sympy.simplify):
            r = step(r)
            if r == 0:
                return True, "symbolic", r
        return self.numeric(e), "numeric", r

    def numeric(self, e) -> bool:
        free = sorted(e.free_symbols, key=str)
        tol = sympy.Float(10) ** (-(self.digits * 2 // 3))
        for _ in range(self.n_points):
            point = {s: sympy.Float(v, self.digits) for s, v in zip(free, self.rng.uniform(0.3, 1.7, len(free)))}
            val = e.xreplace(point).evalf(self.digits)
            terms = sympy.Add.make_args(e)
            scale = max(1, *[abs(t.xreplace(point).evalf(self.digits)) for t in terms])
            if not val.is_number or abs(val) > tol * scale:
                return False
        return True


def check_claims(system: System, *, seed: int = 0, n_points: int = 5, digits: int = 40) -> list[ClaimCheck]:
    """Check every claim of a system against its equations.

    Symmetries, conserved quantities and structure are checked for all
    parameter values (parameters stay symbols), after substituting the claim's
    condition:

    * generator ``(A, b)``: ``J_f(x)(A x + b) - A f(x) = 0``;
    * element ``R``: ``f(R x) - R f(x) = 0``;
    * conserved ``C``: ``grad C . f = 0``, and ``C`` depends on the state;
    * canonical structure: ``q' = dH/dp``, ``p' = -dH/dq`` per pair;
      Poisson: ``P`` antisymmetric, Jacobi identity, ``f = P grad H``;
    * the tags ``polynomial``, ``linear``, ``hamiltonian``, ``volume_preserving`` and
      ``negative_control``, where given, against the equations (see :func:`derived_tags`
      for the converse).

    Rational functions are decided by cancellation; rational functions of
    sin, cos, tan of the variables by reduction modulo ``sin**2 + cos**2 = 1``.
    Otherwise SymPy's simplification is tried, and where it is inconclusive the
    residual is evaluated at ``n_points`` random points (coordinates and
    parameters uniform in [0.3, 1.7]) with ``digits`` digits, and the check says so.
    """
    chk = _Checker(list(system.symbols) + list(system.parameter_symbols.values()), seed, n_points, digits)
    X = sympy.Matrix(system.symbols)
    F = sympy.Matrix([system.equations[v] for v in system.variables])
    n = system.n_variables
    out: list[ClaimCheck] = []
    name = system.name

    def record(label, residuals, what):
        """residuals: list of (where, expr); all must vanish."""
        worst_method = "symbolic"
        for wh, r in residuals:
            ok, method, res = chk.vanishes(r)
            if method == "numeric":
                worst_method = "numeric"
            if not ok:
                note = " (simplification inconclusive; non-zero at random points in high precision)" if method == "numeric" else ""
                out.append(ClaimCheck(name, label, False, method,
                                      f"system '{name}': {label} does not hold: {wh}: {what} = {_short(res)}, not 0{note}"))
                return
        note = (f" (symbolic simplification inconclusive; zero to {digits * 2 // 3} digits at {n_points} random points)"
                if worst_method == "numeric" else "")
        out.append(ClaimCheck(name, label, True, worst_method, f"system '{name}': {label} holds{note}"))

    def under(when):
        return {system.parameter_symbols[p]: v for p, v in when.items()}

    # symmetries
    for c in system.symmetry_claims:
        sub = under(c.when)
        Fc = F.xreplace(sub)
        J = Fc.jacobian(X)
        sym = Symmetry(system.variables, c.spec)
        residuals = []
        for g in sym.generators:
            A = sympy.Matrix(n, n, lambda i, j: _rational(g.matrix[i, j]))
            b = sympy.Matrix([_rational(v) for v in g.translation])
            R = J * (A * X + b) - A * Fc
            residuals += [(f"generator {g.label}, equation for {system.variables[i]}", R[i]) for i in range(n)]
        for e in sym.elements:
            M = sympy.Matrix(n, n, lambda i, j: _rational(e.matrix[i, j]))
            moved = dict(zip(system.symbols, M * X))
            R = Fc.xreplace(moved) - M * Fc
            residuals += [(f"element {e.label}, equation for {system.variables[i]}", R[i]) for i in range(n)]
        record(c.label, residuals, "residual")

    # conserved quantities
    for c in system.conserved_claims:
        sub = under(c.when)
        C = c.expression.xreplace(sub)
        grad = [sympy.diff(C, s) for s in system.symbols]
        if all(chk.vanishes(gi)[0] for gi in grad):
            out.append(ClaimCheck(name, c.label, False, "symbolic",
                                  f"system '{name}': {c.label} is vacuous: it does not depend on the state"))
            continue
        dC = sum((gi * fi for gi, fi in zip(grad, F.xreplace(sub))), sympy.Integer(0))
        record(c.label, [("along the flow", dC)], "dC/dt")

    # structure
    s = system.structure_claim
    if s is not None:
        sub = under(s.when)
        H = s.hamiltonian.xreplace(sub)
        Fs = F.xreplace(sub)
        idx = {v: i for i, v in enumerate(system.variables)}
        residuals = []
        if s.kind == "canonical":
            for q, p in s.pairs:
                qs, ps = system.symbols[idx[q]], system.symbols[idx[p]]
                residuals.append((f"{q}' - dH/d{p}", Fs[idx[q]] - sympy.diff(H, ps)))
                residuals.append((f"{p}' + dH/d{q}", Fs[idx[p]] + sympy.diff(H, qs)))
        else:
            P = sympy.Matrix(s.matrix).xreplace(sub)
            for i in range(n):
                for j in range(i, n):
                    residuals.append((f"P[{i}][{j}] + P[{j}][{i}] (antisymmetry)", P[i, j] + P[j, i]))
            dP = [[[sympy.diff(P[i, j], system.symbols[l]) for l in range(n)] for j in range(n)] for i in range(n)]
            for i in range(n):
                for j in range(i + 1, n):
                    for k in range(j + 1, n):
                        jac = sum(
                            (P[l, i] * dP[j][k][l] + P[l, j] * dP[k][i][l] + P[l, k] * dP[i][j][l] for l in range(n)),
                            sympy.Integer(0),
                        )
                        residuals.append((f"Jacobi identity ({i},{j},{k})", jac))
            grad = sympy.Matrix([sympy.diff(H, x) for x in system.symbols])
            PG = P * grad
            residuals += [(f"equation for {system.variables[i]} - (P grad H)", Fs[i] - PG[i]) for i in range(n)]
        record(s.label, residuals, "residual")

    # tags that can be decided from the equations
    derived = _derived_tags(system, chk)
    for tag, meaning in _TAG_MEANINGS.items():
        if tag in system.tags:
            ok, method = derived[tag]
            label = f"tag '{tag}'"
            msg = f"holds ({meaning})" if ok else f"is claimed, but it is false that {meaning}"
            out.append(ClaimCheck(name, label, ok, method, f"system '{name}': {label} {msg}"))
    return out


_TAG_MEANINGS = {
    "polynomial": "every equation is a polynomial in the state",
    "linear": "every equation is linear and homogeneous in the state",
    "hamiltonian": "a Hamiltonian structure holds at the current parameters",
    "volume_preserving": "the divergence of f is zero",
    "negative_control": "no symmetry is claimed",
}


def _derived_tags(system: System, chk: "_Checker") -> dict[str, tuple[bool, str]]:
    poly = system.is_polynomial
    linear = poly and all(
        sympy.Poly(e, *system.symbols).is_homogeneous and sympy.Poly(e, *system.symbols).total_degree() <= 1
        for e in system.equations.values() if e != 0
    )
    div = sum((sympy.diff(system.equations[v], s) for v, s in zip(system.variables, system.symbols)), sympy.Integer(0))
    zero, method, _ = chk.vanishes(div)
    return {
        "polynomial": (poly, "symbolic"),
        "linear": (linear, "symbolic"),
        "hamiltonian": (system.structure is not None, "symbolic"),
        "volume_preserving": (bool(zero), method),
        "negative_control": (not system.symmetry_claims, "symbolic"),
    }


def derived_tags(system: System, *, seed: int = 0) -> set[str]:
    """The tags among polynomial, linear, hamiltonian, volume_preserving that the equations bear out."""
    chk = _Checker(list(system.symbols) + list(system.parameter_symbols.values()), seed, 5, 40)
    return {t for t, (ok, _) in _derived_tags(system, chk).items() if ok and t != "negative_control"}


def verify_system(system: System, **kwargs) -> list[ClaimCheck]:
    """Check all claims (see :func:`check_claims`); raise :class:`ClaimError` naming every failure."""
    checks = check_claims(system, **kwargs)
    bad = [c.message for c in checks if not c.ok]
    if bad:
        raise ClaimError("; ".join(bad))
    return checks
