"""A catalogue system: :class:`System` (variables, parameters, equations, the declared symmetries,
conserved quantities and structure) and its :class:`Simulation`."""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from collections.abc import Mapping, Sequence

import numpy as np
import sympy

from ..expressions import FUNCTIONS, format_expression, parse_expression
from ..io import check_variable_names, write_csv
from ..symmetry import SpecError, Symmetry

#: Most samples per trajectory a file may ask for (t_end / dt).
MAX_SAMPLES = 1_000_000

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_STRUCTURE_KINDS = ("canonical", "poisson")


class CatalogueError(ValueError):
    """A system file or definition that does not follow the format; one line naming file and field."""


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
            conserved = [
                ConservedClaim(k, self._expression(e, f"{where}: conserved.{k}", sym_map)) for k, e in conserved.items()
            ]
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
                raise CatalogueError(
                    f"{where}: condition on unknown parameter '{p}'; parameters are {_listing(self.parameter_symbols)}"
                )
            bad = v.free_symbols - set(self.parameter_symbols.values())
            if bad:
                raise CatalogueError(
                    f"{where}: condition {p} = {v} uses {sorted(map(str, bad))[0]!r}, which is not a parameter"
                )

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
                raise ValueError(
                    f"system '{self.name}': unknown parameter '{p}'; parameters are {_listing(self.parameters)}"
                )
        params = dict(self._exact_values)
        params.update(values)
        return System(
            self.name,
            self.variables,
            self.equations,
            params,
            description=self.description,
            reference=self.reference,
            tags=self.tags,
            symmetries=self.symmetry_claims,
            conserved=self.conserved_claims,
            structure=self.structure_claim,
            x0=self.x0,
            dt=self.dt,
            t_end=self.t_end,
            source=self.source,
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
                {
                    "name": c.name,
                    "expression": fmt(c.expression),
                    "when": {p: fmt(v) for p, v in c.when.items()},
                    "holds": self._holds(c.when),
                }
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
        random_state=None,
        spread: float = 0.1,
        method: str = "DOP853",
        rtol: float = 1e-10,
        atol: float = 1e-10,
        seed=None,
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
            where ``x0_i = 0``), reproducibly from ``random_state``.  A (k, n) array gives
            all k initial states and fixes ``n_trajectories = k``.
        n_trajectories : int
        noise : float
            Gaussian noise added to the returned states ``x``, with standard deviation
            ``noise`` times the root mean square of each variable over its clean
            trajectory.  ``x_clean`` and the exact derivatives ``x_dot`` are noise free.
        random_state : int, SeedSequence or None
            Seeds the perturbations and the noise (``seed``: its older, deprecated name).
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
        from ..base import resolve_random_state

        random_state = resolve_random_state(random_state, seed, f"{where}: simulate")
        if isinstance(random_state, np.random.Generator):
            raise ValueError(f"{where}: simulate: random_state must be an integer, a SeedSequence or None")
        base = (
            random_state if isinstance(random_state, np.random.SeedSequence) else np.random.SeedSequence(random_state)
        )
        seeds = base.spawn(2)
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
                        raise ValueError(
                            f"{where}: the right-hand side is not finite at the initial state of trajectory {k}"
                        )
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
            raise ValueError(
                f"{where}: the library is not fitted (or has no powers_); fit a pysindy PolynomialLibrary on data with {self.n_variables} columns first"
            )
        powers = np.asarray(library.powers_)
        if powers.ndim != 2 or powers.shape[1] != self.n_variables:
            raise ValueError(
                f"{where}: the library acts on {powers.shape[-1]} variables, the system has {self.n_variables}"
            )
        index = {}
        for k, row in enumerate(powers):
            index.setdefault(tuple(int(a) for a in row), k)
        out = np.zeros((self.n_variables, len(powers)))
        for i, v in enumerate(self.variables):
            expr = self.rhs[v]
            if not expr.is_polynomial(*self.symbols):
                raise ValueError(
                    f"{where}: the equation for {v} is not a polynomial in the state, so it has no coefficients in a polynomial library"
                )
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


def _listing(names) -> str:
    names = list(names)
    return ", ".join(names) if names else "(none)"


def _check_names(names, where) -> list[str]:
    if not isinstance(names, (list, tuple)):
        raise CatalogueError(f'{where}: expected a list of names such as ["x", "y"], got {_kind(names)}')
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
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
