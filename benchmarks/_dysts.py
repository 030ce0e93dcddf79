"""The polynomial flows of the ``dysts`` database (W. Gilpin's chaotic systems) as benchmark systems.

An external suite of test systems that nobody on this project wrote: every continuous
``dysts`` flow whose right-hand side is a polynomial in the state, with its true
coefficients in pysindy's ``PolynomialLibrary`` term order.

Needs ``pip install --no-deps dysts`` and nothing beyond symsindy's own dependencies.
Importing this module without dysts raises ``ImportError`` with that instruction.

How dysts is read
-----------------
``import dysts.flows`` is not used: it imports ``dysts.utils.data_utils``, which imports
``gluonts`` (and with it pandas, pydantic, pyarrow, ...), and it wants numba.  Instead the
installed package's two data files are read directly, located with
``importlib.util.find_spec`` (which does not import dysts):

- ``dysts/data/chaotic_attractors.json``: parameters, initial conditions, ``dt``, period and
  the ``delay`` / ``nonautonomous`` flags of every flow;
- ``dysts/flows.py``: its class definitions are compiled from the syntax tree and executed
  with stand-ins for the three names it imports from ``dysts.base`` (``DynSys``,
  ``DynSysDelay``, ``staticjit``), so inheritance (``Coullet(Arneodo)``, ...) and the few
  flows that override ``rhs`` (``Lorenz96``) behave as in dysts.  A class is called as dysts
  calls it: ``_rhs(*X, t, *[params[k] for k in sorted(params)])``.

Each flow is executed twice: once with NumPy (the numerical reference), once with a NumPy
stand-in whose ``sin``, ``exp``, ``heaviside``, ... are SymPy's, on SymPy symbols for the state
and ``t``, with every parameter and every float literal of the source turned into the exact
rational of its decimal (``2.667 -> 2667/1000``).  A flow is selected iff every component is a
``sympy.Poly`` in the state (so ``abs``, ``sign``, ``heaviside``, ``sin``, division by the state
are all rejected), ``t`` does not appear, dysts does not flag it as a delay or non-autonomous
system, its total degree is ``<= max_degree`` and its dimension ``<= max_dim``.  The exact
expansion gives the TRUE coefficients; each system is verified on random states:
``PolynomialLibrary(degree).fit(X).transform(X) @ coefficients.T`` equals both
:meth:`DystsSystem.rhs` and dysts' own (NumPy) right-hand side to 1e-10 (relative).

What is dropped, and why, is reported by :func:`exclusions` (every dysts flow not selected, with
its reason); :func:`catalogue_duplicates` gives the flows that duplicate a system of the
project's own catalogue (``systems/*.toml``): same name (ignoring case and ``_``), or the same
equations up to a permutation and sign flips of the variables (same terms, same signs).

API
---
``DystsSystem`` (a dataclass)::

    name: str                   # the dysts class name, e.g. "SprottB"
    names: list[str]            # variable names, from dysts' _rhs arguments (e.g. ["x","y","z"])
    degree: int                 # total degree of the right-hand side
    params: dict                # the JSON's parameters
    ic: np.ndarray              # the JSON's initial condition (on the attractor)
    dt: float                   # the JSON's integration / sampling step
    period: float | None        # the JSON's dominant period
    coefficients: np.ndarray    # TRUE (n_vars, n_terms) in PolynomialLibrary(degree=degree,
                                #   include_bias=True) order, fitted on n_vars variables
    term_names: list[str]       # that library's get_feature_names(names)
    .dim, .n_terms, .n_nonzero, .powers, .expressions (SymPy, exact)
    .library()                  # a fresh pysindy PolynomialLibrary(degree=degree, include_bias=True)
    .rhs(t, x)                  # x of shape (n,) or (n, k) (solve_ivp vectorized), the true f(x)
    .derivative(X)              # X of shape (m, n) -> (m, n) exact derivatives
    .simulate(n_samples, dt=None, transient=None, seed=None, ic=None, method="DOP853",
              rtol=1e-10, atol=1e-10) -> (t, x)   # x of shape (n_samples, n)

``polynomial_systems(max_degree=3, max_dim=4, exclude_catalogue=True, check_stability=True)``
    the selected systems, sorted by name.  With ``check_stability`` each one was simulated for
    ``STABILITY_SAMPLES`` (5,000) samples at its ``dt`` and dropped if that failed or blew up.
``exclusions(max_degree=3, max_dim=4, exclude_catalogue=True, check_stability=True)``
    ``{dysts name: reason}`` for every flow that polynomial_systems() does not return.
``catalogue_duplicates()``
    ``{dysts name: "catalogue name (how matched)"}``.

Results are cached per process.  The first polynomial_systems() call takes about 15 s on one
core (2 s SymPy, 3 s loading the catalogue, 9 s the stability runs); later calls are free.

Time scales: the JSON's ``dt`` is about period / 5,000 for almost every flow (period/dt is
5,000 for the median system, at most ~14,000), so 5,000 samples at ``dt`` cover about ONE
period.  For data that sample the attractor, pass a coarser ``dt`` (e.g. ``s.period / 50``) or
many more samples.  Tested with dysts 0.96 (135 flows; 67 selected with the defaults).

Usage::

    import sys; sys.path.insert(0, "benchmarks")
    from _dysts import polynomial_systems
    for s in polynomial_systems():
        t, x = s.simulate(2000, seed=0)   # x: (2000, s.dim), one sample every s.dt
        lib = s.library().fit(x)
        theta = lib.transform(x)          # theta @ s.coefficients.T == s.derivative(x)
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy

_INSTALL = "benchmarks/_dysts.py needs the dysts package: pip install --no-deps dysts"


def _dysts_dir() -> Path:
    try:
        spec = importlib.util.find_spec("dysts")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(_INSTALL)
    root = Path(list(spec.submodule_search_locations)[0])
    if not (root / "flows.py").is_file() or not (root / "data" / "chaotic_attractors.json").is_file():
        raise ImportError(f"{_INSTALL} (found dysts at {root}, but without flows.py and data/chaotic_attractors.json)")
    return root


DYSTS_DIR = _dysts_dir()
FLOWS_FILE = DYSTS_DIR / "flows.py"
JSON_FILE = DYSTS_DIR / "data" / "chaotic_attractors.json"

#: samples (at the JSON's dt) that the stability check simulates
STABILITY_SAMPLES = 5000
#: a trajectory whose largest |x_i| exceeds this (or that is not finite) has blown up
BLOWUP_LIMIT = 1e6
#: largest / smallest nonzero |coefficient| above which a system is excluded as badly scaled
MAX_COEFFICIENT_RANGE = 1e6
_VERIFY_RTOL = 1e-10


# --------------------------------------------------------------------------- reading flows.py


class _DynSys:
    """Stand-in for ``dysts.base.DynSys``: parameters as attributes, dysts' ``rhs`` convention."""

    def __init__(self, params):
        self.params = dict(params)
        self.__dict__.update(self.params)
        self.param_list = [self.params[k] for k in sorted(self.params)]

    def rhs(self, X, t):
        return self._rhs(*X.T, t, *self.param_list)


class _DynSysDelay(_DynSys):
    """Stand-in for ``dysts.base.DynSysDelay`` (delay equations are never selected)."""


class _UnknownBase(_DynSys):
    """Stand-in for any other name flows.py imports from inside dysts (never selected)."""


_SYMPY_FUNCS = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "arctan2": sympy.atan2,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "absolute": sympy.Abs,
    "sign": sympy.sign,
    "heaviside": sympy.Heaviside,
    "power": sympy.Pow,
}


def _elementwise(f):
    def g(*args):
        if any(isinstance(a, np.ndarray) for a in args):
            return np.frompyfunc(f, len(args), 1)(*args)
        return f(*args)

    return g


class _SymbolicNumpy:
    """NumPy with its elementwise math functions replaced by SymPy's (everything else is NumPy)."""

    pi = sympy.pi
    e = sympy.E

    def __getattr__(self, name):
        if name in _SYMPY_FUNCS:
            return _elementwise(_SYMPY_FUNCS[name])
        return getattr(np, name)


def _exact(value):
    """A JSON number (or nested list) as an exact SymPy number: the rational of its decimal."""
    if isinstance(value, bool):
        return sympy.Integer(int(value))
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        return sympy.Rational(repr(value)) if math.isfinite(value) else sympy.Float(value)
    if isinstance(value, (list, tuple)):
        out = np.empty(len(value), dtype=object)
        out[:] = [_exact(v) for v in value]
        return np.array(out.tolist(), dtype=object)
    return value


def _numeric(value):
    """A JSON value as dysts casts it (``cast_to_numpy``): lists become arrays."""
    return np.array(value) if isinstance(value, (list, tuple)) else value


class _ExactLiterals(ast.NodeTransformer):
    """Float literals -> ``_Q("...")`` and ``int / ...`` -> ``_Q(int) / ...`` (exact rationals)."""

    def visit_Constant(self, node):
        if isinstance(node.value, float):
            return ast.copy_location(ast.Call(ast.Name("_Q", ast.Load()), [ast.Constant(node.value)], []), node)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Div) and isinstance(node.left, ast.Constant) and type(node.left.value) is int:
            node.left = ast.copy_location(ast.Call(ast.Name("_Q", ast.Load()), [node.left], []), node.left)
        return node


def _load_classes(symbolic: bool) -> dict[str, type]:
    tree = ast.parse(FLOWS_FILE.read_text(encoding="utf-8"), filename=str(FLOWS_FILE))
    namespace = {
        "__name__": "_dysts_flows_symbolic" if symbolic else "_dysts_flows_numeric",
        "np": _SymbolicNumpy() if symbolic else np,
        "staticjit": staticmethod,
        "_Q": _exact,
    }
    stubs = {"DynSys": _DynSys, "DynSysDelay": _DynSysDelay, "staticjit": staticmethod}
    body = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level > 0:  # from .base import DynSys, ...
            for alias in node.names:
                namespace[alias.asname or alias.name] = stubs.get(alias.name, _UnknownBase)
        elif isinstance(node, ast.Import) and any(a.name == "numpy" for a in node.names):
            continue  # np is given
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.Import, ast.ImportFrom, ast.Assign)):
            body.append(node)
    tree.body = body
    if symbolic:
        tree = ast.fix_missing_locations(_ExactLiterals().visit(tree))
    exec(compile(tree, str(FLOWS_FILE), "exec"), namespace)  # noqa: S102 - class definitions only
    return {
        k: v
        for k, v in namespace.items()
        if isinstance(v, type) and issubclass(v, _DynSys) and v not in (_DynSys, _DynSysDelay, _UnknownBase)
    }


# --------------------------------------------------------------------------- the system


@dataclass
class DystsSystem:
    """One polynomial dysts flow with its exact coefficients (see the module docstring)."""

    name: str
    names: list[str]
    degree: int
    params: dict
    ic: np.ndarray
    dt: float
    period: float | None
    coefficients: np.ndarray
    term_names: list[str]
    powers: np.ndarray = field(repr=False)  # (n_terms, n_vars), the library's powers_
    expressions: list = field(repr=False, default_factory=list)  # exact SymPy right-hand sides
    description: str = field(repr=False, default="")
    std: np.ndarray | None = field(repr=False, default=None)  # the JSON's per-variable std

    def __post_init__(self):
        used = np.flatnonzero(np.any(self.coefficients != 0, axis=0))
        self._used_powers = self.powers[used]
        self._used_coefficients = self.coefficients[:, used]

    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    def n_terms(self) -> int:
        return self.coefficients.shape[1]

    @property
    def n_nonzero(self) -> int:
        return int(np.count_nonzero(self.coefficients))

    def library(self):
        """A fresh (unfitted) ``pysindy.PolynomialLibrary(degree=self.degree, include_bias=True)``."""
        import pysindy as ps

        return ps.PolynomialLibrary(degree=self.degree, include_bias=True)

    def rhs(self, t, x) -> np.ndarray:
        """The true right-hand side; ``x`` of shape ``(n,)`` or ``(n, k)`` (solve_ivp's vectorized)."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            theta = np.prod(x[None, :] ** self._used_powers, axis=1)
            return self._used_coefficients @ theta
        theta = np.prod(x[None, :, :] ** self._used_powers[:, :, None], axis=1)  # (terms, k)
        return self._used_coefficients @ theta

    def derivative(self, X) -> np.ndarray:
        """Exact derivatives of states ``X`` of shape ``(m, n)``: shape ``(m, n)``."""
        X = np.asarray(X, dtype=float)
        return self.rhs(0.0, X.T).T

    def simulate(
        self,
        n_samples: int,
        dt: float | None = None,
        transient: float | None = None,
        seed=None,
        ic=None,
        *,
        method: str = "DOP853",
        rtol: float = 1e-10,
        atol: float = 1e-10,
    ):
        """``(t, x)``: ``n_samples`` states every ``dt`` (default: the JSON's) on the attractor.

        The run starts from ``ic`` (default: the JSON's initial condition, itself on the
        attractor) and first integrates ``transient`` time units (default: 10 periods, or
        1,000 steps where the JSON has no period), which are discarded; ``t`` starts at 0 after
        them.  With ``seed`` (an int or ``np.random.Generator``) the transient is lengthened by a
        random time, uniform in [0, 20 periods] (or [0, 20,000 steps]), so different seeds give
        different pieces of the attractor.  (The start is not perturbed: for some flows, e.g.
        SprottJerk, a 1 % kick leaves the basin of the attractor and the solution escapes.)
        ``solve_ivp`` with ``method``, ``rtol``, ``atol``; raises ``RuntimeError`` if the
        integration fails or leaves the finite numbers.
        """
        from scipy.integrate import solve_ivp

        n_samples = int(n_samples)
        if n_samples < 1:
            raise ValueError("n_samples must be at least 1")
        dt = self.dt if dt is None else float(dt)
        if transient is None:
            transient = 10.0 * self.period if self.period else 1000.0 * dt
        x0 = np.array(self.ic if ic is None else ic, dtype=float).reshape(-1)
        if x0.shape != (self.dim,):
            raise ValueError(f"{self.name}: ic must have {self.dim} entries, got {x0.shape}")
        transient = float(transient)
        if seed is not None:
            rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
            transient += rng.uniform(0.0, 20.0 * self.period if self.period else 20000.0 * dt)
        kw = dict(method=method, rtol=rtol, atol=atol, vectorized=method in ("Radau", "BDF"))
        if transient > 0:
            sol = solve_ivp(self.rhs, (0.0, transient), x0, **kw)
            if not sol.success or not np.all(np.isfinite(sol.y[:, -1])):
                raise RuntimeError(f"{self.name}: the transient integration failed: {sol.message}")
            x0 = sol.y[:, -1]
        t = dt * np.arange(n_samples)
        if n_samples == 1:
            return t, x0[None, :].copy()
        sol = solve_ivp(self.rhs, (0.0, t[-1]), x0, t_eval=t, **kw)
        if not sol.success or sol.y.shape[1] != n_samples or not np.all(np.isfinite(sol.y)):
            raise RuntimeError(f"{self.name}: the integration failed: {sol.message}")
        return t, sol.y.T.copy()


# --------------------------------------------------------------------------- analysis of every flow


@dataclass
class _Analysis:
    name: str
    reason: str | None  # why not polynomial (or not usable); None when it is
    names: list[str] | None = None
    expressions: list | None = None  # exact SymPy expressions
    polys: list | None = None
    degree: int | None = None
    meta: dict | None = None


def _state_names(cls, dim):
    if cls.rhs is _DynSys.rhs:  # uses the static _rhs(x, y, z, t, *params)
        args = list(inspect.signature(cls._rhs).parameters)
        if "t" in args and args.index("t") == dim:
            return args[:dim]
        return None
    return [f"x{i + 1}" for i in range(dim)]


def _why_not_polynomial(exprs, syms) -> str:
    funcs = sorted({type(f).__name__ for e in exprs for f in e.atoms(sympy.Function) if f.free_symbols & set(syms)})
    what = [", ".join(funcs)] if funcs else []
    powers = [p for e in exprs for p in e.atoms(sympy.Pow) if p.base.free_symbols & set(syms)]
    if any(p.exp.is_negative for p in powers):
        what.append("division by the state")
    if any(not p.exp.is_integer for p in powers):
        what.append("non-integer powers of the state")
    return " and ".join(what) or "not a polynomial in the state"


def _analyse(name, cls, meta) -> _Analysis:
    if meta.get("delay") or issubclass(cls, _DynSysDelay):
        return _Analysis(name, "delay equation")
    if issubclass(cls, _UnknownBase):
        return _Analysis(name, "derives from an unknown dysts base class")
    if meta.get("nonautonomous"):
        return _Analysis(name, "non-autonomous (flagged by dysts)")
    dim = int(meta.get("embedding_dimension") or len(meta.get("initial_conditions") or []))
    names = _state_names(cls, dim)
    if names is None:
        return _Analysis(name, f"_rhs arguments do not match dimension {dim}")
    syms = [sympy.Symbol(v, real=True) for v in names]
    t = sympy.Symbol("t", real=True)
    X = np.empty(dim, dtype=object)
    X[:] = syms
    try:
        inst = cls({k: _exact(v) for k, v in meta["parameters"].items()})
        out = inst.rhs(X, t)
        exprs = [sympy.sympify(e) for e in (list(out) if not isinstance(out, np.ndarray) else out.ravel().tolist())]
    except Exception as exc:  # np.min on symbols, sympy refusing an operation, ...
        msg = str(exc).splitlines()[0][:60] if str(exc) else ""
        return _Analysis(name, f"not polynomial (cannot be evaluated on symbols: {type(exc).__name__}: {msg})")
    if len(exprs) != dim:
        return _Analysis(name, f"right-hand side has {len(exprs)} components for dimension {dim}")
    if any(t in e.free_symbols for e in exprs):
        return _Analysis(name, "non-autonomous (the right-hand side depends on t)")
    if not all(e.is_polynomial(*syms) for e in exprs):  # a walk of the tree, no expansion
        return _Analysis(name, f"not polynomial ({_why_not_polynomial(exprs, syms)})")
    polys = []
    for e in exprs:
        try:
            p = sympy.Poly(sympy.expand(e), *syms)
        except (sympy.PolynomialError, sympy.GeneratorsNeeded, ValueError, TypeError):
            return _Analysis(name, f"not polynomial ({_why_not_polynomial(exprs, syms)})")
        if not all(c.is_number and c.is_real for c in p.coeffs()):
            return _Analysis(name, "not polynomial (non-numeric coefficients)")
        polys.append(p)
    degree = max((p.total_degree() for p in polys), default=0)
    return _Analysis(name, None, names, exprs, polys, degree, meta)


@functools.cache
def _all_analyses() -> tuple[_Analysis, ...]:
    data = json.loads(JSON_FILE.read_text(encoding="utf-8"))
    symbolic = _load_classes(symbolic=True)
    out = []
    for name in sorted(set(data) | set(symbolic)):
        if name not in symbolic:
            out.append(_Analysis(name, "in the JSON but no class in flows.py"))
        elif name not in data:
            out.append(_Analysis(name, "a class in flows.py without JSON metadata"))
        else:
            out.append(_analyse(name, symbolic[name], data[name]))
    return tuple(out)


@functools.cache
def _numeric_classes():
    return _load_classes(symbolic=False)


def _build(a: _Analysis) -> DystsSystem:
    import pysindy as ps

    dim = len(a.names)
    rng = np.random.default_rng(12345)
    lib = ps.PolynomialLibrary(degree=a.degree, include_bias=True).fit(rng.standard_normal((5, dim)))
    powers = np.asarray(lib.powers_, dtype=int)
    index = {tuple(int(p) for p in row): k for k, row in enumerate(powers)}
    coef = np.zeros((dim, len(powers)))
    for i, p in enumerate(a.polys):
        for monom, c in p.terms():
            if c != 0:
                coef[i, index[tuple(int(m) for m in monom)]] = float(c)
    meta = a.meta
    std = meta.get("std")
    period = meta.get("period")
    system = DystsSystem(
        name=a.name,
        names=list(a.names),
        degree=int(a.degree),
        params=dict(meta["parameters"]),
        ic=np.array(meta["initial_conditions"], dtype=float).reshape(-1),
        dt=float(meta["dt"]),
        period=float(period) if period else None,
        coefficients=coef,
        term_names=list(lib.get_feature_names(list(a.names))),
        powers=powers,
        expressions=list(a.expressions),
        description=str(meta.get("description", "")),
        std=np.array(std, dtype=float) if std is not None and len(std) == dim else None,
    )
    _verify(system, lib)
    return system


def _verify(s: DystsSystem, lib) -> None:
    """library.transform(X) @ coefficients.T == rhs(X) == dysts' own rhs(X), on random states."""
    rng = np.random.default_rng(0)
    scale = np.abs(s.std) if s.std is not None else np.maximum(np.abs(s.ic), 1.0)
    X = s.ic + scale * rng.standard_normal((40, s.dim))
    theta = np.asarray(lib.transform(X))
    via_library = theta @ s.coefficients.T
    mine = s.derivative(X)
    cls = _numeric_classes()[s.name]
    inst = cls({k: _numeric(v) for k, v in s.params.items()})
    reference = np.array([np.asarray(inst.rhs(x, 0.0), dtype=float).ravel() for x in X])
    # each term's size bounds the rounding error of a sum of terms
    size = np.abs(theta) @ np.abs(s.coefficients.T) + 1e-300
    for what, value in (("rhs()", mine), ("dysts' rhs", reference)):
        err = np.max(np.abs(via_library - value) / size)
        if not err <= _VERIFY_RTOL:
            raise AssertionError(
                f"{s.name}: library.transform(X) @ coefficients.T differs from {what} by {err:.2e} (relative)"
            )


def _catalogue_signature(polys, dim):
    """Per equation: {monomial: sign}."""
    return [{tuple(m): (1 if float(c) > 0 else -1) for m, c in p.terms() if c != 0} for p in polys]


def _same_pattern(sig_a, sig_b) -> bool:
    """Whether ``sig_a`` becomes ``sig_b`` under some permutation and sign flips of the variables."""
    n = len(sig_a)
    if n != len(sig_b) or sorted(len(e) for e in sig_a) != sorted(len(e) for e in sig_b):
        return False
    for perm in itertools.permutations(range(n)):  # new variable j is old variable perm[j]
        if any(len(sig_a[perm[j]]) != len(sig_b[j]) for j in range(n)):
            continue
        for flips in itertools.product((1, -1), repeat=n):  # x_old[perm[j]] = flips[j] * x_new[j]
            ok = True
            for j in range(n):
                target = sig_b[j]
                for monom, sign in sig_a[perm[j]].items():
                    new = tuple(monom[perm[k]] for k in range(n))
                    s = sign * flips[j] * math.prod(flips[k] ** new[k] for k in range(n))
                    if target.get(new) != s:
                        ok = False
                        break
                if not ok:
                    break
            if ok:
                return True
    return False


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@functools.cache
def _catalogue_duplicates() -> tuple[tuple[str, str], ...]:
    from symsindy import catalogue

    cat = catalogue.load_folder()
    cat_sigs = {}
    for cname, system in cat.items():
        if system.is_polynomial:
            polys = [sympy.Poly(sympy.expand(e), *system.symbols) for e in system.rhs_list]
            cat_sigs[cname] = _catalogue_signature(polys, system.n_variables)
    by_norm = {_norm(c): c for c in cat}
    out = []
    for a in _all_analyses():
        if _norm(a.name) in by_norm:
            out.append((a.name, f"{by_norm[_norm(a.name)]} (same name)"))
            continue
        if a.reason is not None:
            continue
        sig = _catalogue_signature(a.polys, len(a.names))
        for cname, csig in cat_sigs.items():
            if _same_pattern(sig, csig):
                out.append((a.name, f"{cname} (same equations up to permutation and sign of the variables)"))
                break
    return tuple(out)


def catalogue_duplicates() -> dict[str, str]:
    """``{dysts name: "catalogue name (how matched)"}`` for the flows the project's catalogue already has."""
    return dict(_catalogue_duplicates())


@functools.cache
def _built(name: str):
    """(DystsSystem, None) or (None, reason) for a polynomial flow."""
    a = next(x for x in _all_analyses() if x.name == name)
    system = _build(a)
    nz = np.abs(system.coefficients[system.coefficients != 0])
    if nz.size and nz.max() / nz.min() > MAX_COEFFICIENT_RANGE:
        return None, f"coefficients span {nz.min():.3g} .. {nz.max():.3g} (range > {MAX_COEFFICIENT_RANGE:.0e})"
    return system, None


@functools.cache
def _stability(name: str) -> str | None:
    """None if 5,000 samples at the JSON's dt simulate without failing or blowing up, else why."""
    system, _ = _built(name)
    try:
        _, x = system.simulate(STABILITY_SAMPLES)
    except RuntimeError as exc:
        return f"unstable: {exc}"
    big = float(np.max(np.abs(x)))
    if big > BLOWUP_LIMIT:
        return f"unstable: |x| reaches {big:.3g} in {STABILITY_SAMPLES} samples"
    return None


def _selection(max_degree, max_dim, exclude_catalogue, check_stability):
    duplicates = catalogue_duplicates() if exclude_catalogue else {}
    selected, excluded = [], {}
    for a in _all_analyses():
        if a.reason is not None:
            excluded[a.name] = a.reason
        elif a.name in duplicates:
            excluded[a.name] = f"in the project's catalogue as {duplicates[a.name]}"
        elif a.degree > max_degree:
            excluded[a.name] = f"polynomial of degree {a.degree} > max_degree = {max_degree}"
        elif max_dim is not None and len(a.names) > max_dim:
            excluded[a.name] = f"dimension {len(a.names)} > max_dim = {max_dim}"
        else:
            system, why = _built(a.name)
            if why is None and check_stability:
                why = _stability(a.name)
            if why is None:
                selected.append(system)
            else:
                excluded[a.name] = why
    return selected, excluded


def polynomial_systems(
    max_degree: int = 3, max_dim: int | None = 4, *, exclude_catalogue: bool = True, check_stability: bool = True
) -> list[DystsSystem]:
    """Every dysts flow with a polynomial right-hand side of degree ``<= max_degree`` and dimension
    ``<= max_dim`` (None: any), sorted by name; see the module docstring for what is dropped."""
    return _selection(max_degree, max_dim, exclude_catalogue, check_stability)[0]


def exclusions(
    max_degree: int = 3, max_dim: int | None = 4, *, exclude_catalogue: bool = True, check_stability: bool = True
) -> dict[str, str]:
    """``{dysts name: reason}`` for every dysts flow that :func:`polynomial_systems` does not return."""
    return _selection(max_degree, max_dim, exclude_catalogue, check_stability)[1]


__all__ = ["DystsSystem", "polynomial_systems", "exclusions", "catalogue_duplicates", "DYSTS_DIR"]
