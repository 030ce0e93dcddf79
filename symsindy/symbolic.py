"""Symbolic form of fitted SINDy models: SymPy expressions, LaTeX, fast evaluation, JSON.

The SymPy expression of each library term is built from the library's structure
(:func:`library_terms`), never by parsing printed feature names.  A model is
``f(x) = X Theta(x)`` with ``X`` = pysindy's ``coef_`` (row ``i`` is the equation
of variable ``i``); :class:`SymbolicModel` holds the terms and ``X``.

JSON format (a public contract)::

    {
      "format": "symsindy-model",
      "version": 1,
      "variables": ["x", "y"],
      "equations": {"x": "<right-hand side>", "y": "..."},
      "symmetry": ["rotation(x,y)"],
      "library": ["1", "x", "y", "x**2", ...],
      "coefficients": [[...n_terms numbers...], [...]],
      "library_config": {...} or null,
      "metadata": {...} or null
    }

``coefficients`` has one row per variable, one column per ``library`` term.  All
numbers are written at full precision, so a saved model loads back bit for bit.
Expressions are read with :func:`symsindy.expressions.parse_expression` (an ``ast``
allow-list; never ``eval``).  ``equations`` is derived from ``library`` and
``coefficients``; on loading it must agree with them.
"""

from __future__ import annotations

import json
import keyword
import math
import sys
from itertools import combinations, combinations_with_replacement
from numbers import Integral, Real
from pathlib import Path
from collections.abc import Mapping

import numpy as np
import sympy

from .expressions import format_expression, parse_expression

__all__ = ["library_terms", "SymbolicModel", "load_model", "FORMAT", "VERSION"]

FORMAT = "symsindy-model"
VERSION = 1


# --------------------------------------------------------------------------- library terms


def _plain_symbols(variables) -> list[sympy.Symbol]:
    out = []
    for v in variables:
        if isinstance(v, sympy.Symbol):
            v = v.name
        if not isinstance(v, str):
            raise TypeError(f"variable {v!r}: expected a name")
        out.append(sympy.Symbol(v))
    return out


def _unique(indices) -> list[int]:
    # pysindy passes each sub-library the distinct inputs in first-seen order
    return list(dict.fromkeys(int(i) for i in indices))


def _inputs_per_library(library):
    inputs = getattr(library, "inputs_per_library_", None)
    if inputs is None:
        inputs = getattr(library, "inputs_per_library", None)
    return inputs


def _polynomial_terms(library, symbols):
    return [sympy.Mul(*[s ** int(p) for s, p in zip(symbols, row) if p]) for row in library.powers_]


def _fourier_terms(library, symbols):
    terms = []
    for k in range(1, library.n_frequencies + 1):
        for s in symbols:
            if library.include_sin:
                terms.append(sympy.sin(k * s))
            if library.include_cos:
                terms.append(sympy.cos(k * s))
    return terms


def _as_expr(value):
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, sympy.Expr):
        return value
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, Integral):
        return sympy.Integer(int(value))
    if isinstance(value, Real) and math.isfinite(float(value)):
        return sympy.Float(float(value))
    return None


def _custom_terms(library, symbols, offset):
    terms = [sympy.Integer(1)] if library.include_bias else []
    comb = combinations if library.interaction_only else combinations_with_replacement
    names = getattr(library, "function_names", None)
    for i, f in enumerate(library.functions):
        for c in comb(range(len(symbols)), f.__code__.co_argcount):
            args = [symbols[j] for j in c]
            k = offset + len(terms)
            try:
                label = names[i](*[a.name for a in args]) if names else f"f{i}"
            except Exception:
                label = f"f{i}"
            try:
                value = _as_expr(f(*args))
                problem = None if value is not None else "it did not return a SymPy expression"
            except Exception as exc:  # any failure of user code on symbols means "not symbolic"
                value, problem = None, f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:200]
            if value is not None and not value.free_symbols <= set(args):
                value, problem = None, "it depends on symbols other than its arguments"
            if value is not None and value.has(sympy.I, sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
                value, problem = None, "it is not finite and real"
            if value is None:
                raise TypeError(f"library term {k} ({label}) cannot be written symbolically: {problem}")
            terms.append(value)
    return terms


def _terms(library, symbols, offset=0) -> list[sympy.Expr]:
    from pysindy.feature_library import (
        ConcatLibrary,
        CustomLibrary,
        FourierLibrary,
        GeneralizedLibrary,
        PolynomialLibrary,
        TensoredLibrary,
    )

    kind = type(library)
    n_in = getattr(library, "n_features_in_", None)
    if n_in is None:
        raise ValueError(f"{kind.__name__}: the library is not fitted")
    if n_in != len(symbols):
        raise ValueError(f"{kind.__name__}: fitted on {n_in} inputs, given {len(symbols)} variables")
    if kind is PolynomialLibrary:
        return _polynomial_terms(library, symbols)
    if kind is FourierLibrary:
        return _fourier_terms(library, symbols)
    if kind is CustomLibrary:
        return _custom_terms(library, symbols, offset)
    if kind is ConcatLibrary:
        out = []
        for lib in library.libraries:
            out += _terms(lib, symbols, offset + len(out))
        return out
    if kind is TensoredLibrary:
        inputs = _inputs_per_library(library) or [range(len(symbols))] * len(library.libraries)
        parts = [_terms(lib, [symbols[j] for j in _unique(idx)], offset) for lib, idx in zip(library.libraries, inputs)]
        out = parts[0]
        for part in parts[1:]:  # pysindy's order: earlier libraries vary slowest
            out = [a * b for a in out for b in part]
        return out
    if kind is GeneralizedLibrary:
        inputs = _inputs_per_library(library) or [range(len(symbols))] * len(library.libraries)
        excluded = set(library.exclude_libraries or ())
        out = []
        for i, lib in enumerate(library.libraries_full_):
            if i < len(inputs):
                if i not in excluded:
                    out += _terms(lib, [symbols[j] for j in _unique(inputs[i])], offset + len(out))
            else:  # tensor products see all inputs and select their own
                out += _terms(lib, symbols, offset + len(out))
        return out
    raise TypeError(
        f"library term {offset} ({kind.__name__}) cannot be written symbolically: {kind.__name__} is not"
        " supported (supported: PolynomialLibrary, FourierLibrary, CustomLibrary, ConcatLibrary,"
        " TensoredLibrary, GeneralizedLibrary)"
    )


def library_terms(library, variables) -> list[sympy.Expr]:
    """SymPy expression of each output feature of a fitted pysindy library, in column order.

    Parameters
    ----------
    library : pysindy feature library, fitted
        ``PolynomialLibrary``, ``FourierLibrary`` (``sin(k x)``, ``cos(k x)``),
        ``CustomLibrary`` (its functions are called on SymPy symbols),
        ``ConcatLibrary``, ``TensoredLibrary`` or ``GeneralizedLibrary`` of these.
    variables : sequence of str or sympy.Symbol
        Names of the inputs; the terms use plain ``sympy.Symbol(name)``.

    Returns
    -------
    list of sympy.Expr
        ``len == library.transform(x).shape[1]``.

    Raises
    ------
    TypeError
        ``"library term k ... cannot be written symbolically"`` for an unsupported
        library or a custom function that fails on symbols; callers fall back to
        sampling ``library.transform``.
    """
    return _terms(library, _plain_symbols(variables))


# --------------------------------------------------------------------------- the model


def _check_names(variables, where="variables") -> tuple[str, ...]:
    names = []
    for v in variables:
        name = v.name if isinstance(v, sympy.Symbol) else v
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"{where}: {name!r} is not a valid variable name (expected a Python identifier)")
        if name in names:
            raise ValueError(f"{where}: variable '{name}' appears twice")
        names.append(name)
    if not names:
        raise ValueError(f"{where}: expected at least one variable")
    return tuple(names)


def _number_text(c: float, precision: int) -> str:
    if c != 0 and abs(c) < 0.5 * 10.0**-precision:
        return f"{c:.{max(precision - 1, 0)}e}"
    return f"{c:.{precision}f}"


def _jsonable(value, field):
    """Plain JSON types for metadata (numpy scalars and arrays converted)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        value = float(value)
        if not math.isfinite(value):
            return repr(value)  # JSON has no inf/nan; keep the information as text
        return value
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), field)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, field) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, field) for v in value]
    raise ValueError(f"field '{field}': value of type {type(value).__name__} cannot be written as JSON")


class _NonFinite(Exception):
    pass


class SymbolicModel:
    """A fitted model ``x' = X Theta(x)`` in symbolic form.

    Parameters
    ----------
    variables : sequence of str or sympy.Symbol
        State variable names (Python identifiers), in the order of ``coef`` rows.
    terms : sequence of sympy.Expr
        The library ``Theta``; use :func:`library_terms` for a pysindy library.
    coef : array_like, shape (n_vars, n_terms)
        pysindy's ``coef_`` layout; stored as a read-only float64 copy.
    symmetry : sequence of str
        Symmetry spec strings the model was fitted with (see :mod:`symsindy.symmetry`).
    library_config, metadata : dict, optional
        Free-form JSON-serialisable descriptions kept with the model.
    """

    def __init__(self, variables, terms, coef, *, symmetry=(), library_config=None, metadata=None):
        self.variables = _check_names(variables)
        self.symbols = tuple(sympy.Symbol(v) for v in self.variables)
        by_name = dict(zip(self.variables, self.symbols))
        clean = []
        for k, t in enumerate(terms):
            if isinstance(t, (int, float)) and not isinstance(t, bool):
                t = sympy.Integer(t) if isinstance(t, int) else sympy.Float(t)
            if not isinstance(t, sympy.Expr):
                raise TypeError(f"terms[{k}]: expected a SymPy expression, got {type(t).__name__}")
            unknown = sorted(s.name for s in t.free_symbols if s.name not in by_name)
            if unknown:
                raise ValueError(
                    f"terms[{k}] '{t}': unknown symbol '{unknown[0]}'; variables are {', '.join(self.variables)}"
                )
            # same names, plain symbols: callers may use symbols with assumptions
            clean.append(t.xreplace({s: by_name[s.name] for s in t.free_symbols}))
        self.terms = tuple(clean)
        coef = np.array(coef, dtype=float)
        expected = (len(self.variables), len(self.terms))
        if coef.shape != expected:
            raise ValueError(f"coef: shape {coef.shape}, expected {expected} (variables x terms)")
        if not np.all(np.isfinite(coef)):
            raise ValueError("coef: contains non-finite values")
        coef.setflags(write=False)
        self.coef = coef
        if isinstance(symmetry, str):
            symmetry = [symmetry]
        elif hasattr(symmetry, "specs"):
            symmetry = symmetry.specs
        symmetry = list(symmetry)
        for s in symmetry:
            if not isinstance(s, str):
                raise TypeError(f"symmetry: expected spec strings, got {type(s).__name__}")
        self.symmetry = symmetry
        self.library_config = None if library_config is None else dict(library_config)
        self.metadata = None if metadata is None else dict(metadata)
        self._evaluator = None

    # ------------------------------------------------------------------ description
    @property
    def n_variables(self) -> int:
        return len(self.variables)

    @property
    def n_terms(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        return (
            f"SymbolicModel(variables={list(self.variables)!r}, n_terms={self.n_terms}, "
            f"nonzero={int(np.count_nonzero(self.coef))}, symmetry={self.symmetry!r})"
        )

    def expressions(self) -> dict[str, sympy.Expr]:
        """Right-hand sides ``{name: sum_k X[i, k] Theta_k}``, zero coefficients omitted.

        Coefficients are 53-bit ``sympy.Float`` holding the exact float64 values.
        """
        out = {}
        for i, name in enumerate(self.variables):
            parts = [sympy.Float(float(c)) * t for c, t in zip(self.coef[i], self.terms) if c != 0]
            out[name] = sympy.Add(*parts)
        return out

    def _readable(self, i, precision, term_text, joiner) -> str:
        pieces = []
        for c, t in zip(self.coef[i], self.terms):
            if c == 0:
                continue
            k, rest = t.as_coeff_Mul()
            value = float(c) * float(k)
            text = _number_text(abs(value), precision)
            if rest != 1:
                text += joiner + term_text(rest)
            sign = "-" if value < 0 else "+"
            pieces.append((sign, text))
        if not pieces:
            return "0"
        first_sign, first = pieces[0]
        out = ("-" if first_sign == "-" else "") + first
        for sign, text in pieces[1:]:
            out += f" {sign} {text}"
        return out

    def equations(self, precision: int = 3) -> list[str]:
        """One readable line per variable, in library order, e.g. ``"x' = -0.100 x + 2.000 y"``.

        Coefficients are rounded to ``precision`` decimals (scientific notation for
        nonzero ones that would round to zero).
        """
        return [f"{name}' = {self._readable(i, precision, sympy.sstr, ' ')}" for i, name in enumerate(self.variables)]

    def print(self, precision: int = 3, file=None) -> None:
        """Print :meth:`equations`, one per line."""
        for line in self.equations(precision):
            print(line, file=sys.stdout if file is None else file)

    def latex(self, precision: int = 3) -> str:
        r"""The equations as a LaTeX ``aligned`` environment, one ``\dot{x} &= ...`` line each."""
        lines = []
        for i, s in enumerate(self.symbols):
            rhs = self._readable(i, precision, sympy.latex, " ")
            lines.append(rf"\dot{{{sympy.latex(s)}}} &= {rhs}")
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    # ------------------------------------------------------------------ evaluation
    def _terms_function(self):
        if self._evaluator is None:
            active = np.flatnonzero(np.any(self.coef != 0, axis=0))
            exprs = [self.terms[k] for k in active]
            f = sympy.lambdify(self.symbols, exprs, modules="numpy", dummify=True) if exprs else None
            self._evaluator = (active, f, np.ascontiguousarray(self.coef[:, active].T))
        return self._evaluator

    def theta(self, x) -> np.ndarray:
        """The library evaluated at states ``x`` ((n,) or (m, n)): shape (m, n_terms)."""
        x = self._states(x)
        X = np.atleast_2d(x)
        f = sympy.lambdify(self.symbols, list(self.terms), modules="numpy", dummify=True)
        return self._columns(f, X, self.n_terms)

    @staticmethod
    def _columns(f, X, p) -> np.ndarray:
        out = np.empty((X.shape[0], p))
        for j, col in enumerate(f(*X.T)):
            out[:, j] = col  # constant terms come back as scalars and broadcast here
        return out

    def _states(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        n = self.n_variables
        if x.ndim not in (1, 2) or x.shape[-1] != n:
            raise ValueError(f"x: shape {x.shape}, expected ({n},) or (m, {n})")
        return x

    def rhs(self, x) -> np.ndarray:
        """``f(x) = X Theta(x)`` for ``x`` of shape (n,) or (m, n); same shape out."""
        x = self._states(x)
        X = np.atleast_2d(x)
        active, f, coef_t = self._terms_function()
        if f is None:
            out = np.zeros_like(X)
        else:
            out = self._columns(f, X, len(active)) @ coef_t
        return out[0] if x.ndim == 1 else out

    def simulate(self, x0, t, *, blowup: float | None = 1e10, **solve_ivp_kwargs) -> np.ndarray:
        """Integrate ``x' = f(x)`` from ``x0``, returning the states at times ``t``: (len(t), n).

        Uses ``scipy.integrate.solve_ivp`` (defaults: ``method="LSODA"``,
        ``rtol=1e-10``, ``atol=1e-10``; keyword arguments override).  The run stops
        with a ``RuntimeError`` naming the time reached if the solver fails, the
        right-hand side is not finite, or ``max |x_i|`` exceeds ``blowup``
        (default 1e10; ``None`` disables the check).
        """
        from scipy.integrate import solve_ivp

        x0 = np.asarray(x0, dtype=float)
        if x0.shape != (self.n_variables,) or not np.all(np.isfinite(x0)):
            raise ValueError(f"x0: expected {self.n_variables} finite numbers, got shape {x0.shape}")
        t = np.asarray(t, dtype=float)
        if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
            raise ValueError("t: expected a non-empty 1-d array of finite times")
        steps = np.diff(t)
        if t.size > 1 and not (np.all(steps > 0) or np.all(steps < 0)):
            raise ValueError("t: times must be strictly monotonic")
        if t.size == 1:
            return x0[None, :].copy()
        options = {"method": "LSODA", "rtol": 1e-10, "atol": 1e-10}
        options.update(solve_ivp_kwargs)
        events = options.pop("events", None)
        events = [] if events is None else (list(events) if isinstance(events, (list, tuple)) else [events])
        n_user_events = len(events)
        if blowup is not None:

            def blown(_t, x):
                return blowup - np.max(np.abs(x))

            blown.terminal = True
            events.append(blown)

        def fun(_t, x):
            dx = self.rhs(x)
            if not np.all(np.isfinite(dx)):
                raise _NonFinite(_t)
            return dx

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                sol = solve_ivp(fun, (t[0], t[-1]), x0, t_eval=t, events=events or None, **options)
            except _NonFinite as exc:
                raise RuntimeError(
                    f"simulation failed at t = {exc.args[0]:.6g} (target {t[-1]:.6g}): the right-hand side is not finite"
                ) from None
        if blowup is not None and sol.status == 1 and sol.t_events[n_user_events].size:
            reached = sol.t_events[n_user_events][0]
            raise RuntimeError(f"simulation blew up at t = {reached:.6g} (target {t[-1]:.6g}): |x| exceeded {blowup:g}")
        if sol.status == -1 or sol.y.shape[1] != t.size or not np.all(np.isfinite(sol.y)):
            reached = sol.t[-1] if sol.t.size else t[0]
            message = " ".join(str(sol.message).split())
            raise RuntimeError(f"simulation failed at t = {reached:.6g} (target {t[-1]:.6g}): {message}")
        return sol.y.T.copy()

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """The model as plain JSON types (see the module docstring for the format)."""
        library = []
        for k, term in enumerate(self.terms):
            try:
                library.append(format_expression(term))
            except ValueError as exc:
                raise ValueError(f"field 'library': term {k} cannot be written: {exc}") from None
        equations = {}
        for name, expr in self.expressions().items():
            equations[name] = format_expression(expr)
        return {
            "format": FORMAT,
            "version": VERSION,
            "variables": list(self.variables),
            "equations": equations,
            "symmetry": list(self.symmetry),
            "library": library,
            "coefficients": [[float(c) for c in row] for row in self.coef],
            "library_config": _jsonable(self.library_config, "library_config"),
            "metadata": _jsonable(self.metadata, "metadata"),
        }

    @classmethod
    def from_dict(cls, d, *, where: str = "model") -> "SymbolicModel":
        """Build a model from :meth:`to_dict` output; errors are one line naming ``where`` and the field."""

        def bad(field, expected):
            return ValueError(f"{where}: field '{field}': {expected}")

        if not isinstance(d, Mapping):
            raise ValueError(f"{where}: expected a JSON object, got {type(d).__name__}")
        fmt = d.get("format", FORMAT)
        if fmt != FORMAT:
            raise bad("format", f"expected '{FORMAT}', got {fmt!r}")
        version = d.get("version", VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION:
            raise bad("version", f"expected an integer from 1 to {VERSION}, got {version!r}")
        for key in ("variables", "library", "coefficients"):
            if key not in d:
                raise ValueError(f"{where}: missing field '{key}'")
        variables = d["variables"]
        if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
            raise bad("variables", "expected a list of names")
        try:
            variables = _check_names(variables, f"{where}: field 'variables'")
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        library = d["library"]
        if not isinstance(library, list) or not all(isinstance(s, str) for s in library):
            raise bad("library", "expected a list of expression strings")
        terms = [parse_expression(s, variables, where=f"{where}: field 'library[{k}]'") for k, s in enumerate(library)]
        n, p = len(variables), len(terms)
        rows = d["coefficients"]
        shape_msg = f"expected {n} rows of {p} numbers"
        if not isinstance(rows, list) or len(rows) != n or not all(isinstance(r, list) and len(r) == p for r in rows):
            raise bad("coefficients", shape_msg)
        for r in rows:
            for c in r:
                if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c):
                    raise bad("coefficients", f"{shape_msg}; found {c!r}")
        coef = np.array(rows, dtype=float).reshape(n, p)
        symmetry = d.get("symmetry", [])
        if not isinstance(symmetry, list) or not all(isinstance(s, str) for s in symmetry):
            raise bad("symmetry", "expected a list of spec strings")
        if symmetry:
            from .symmetry import Symmetry

            try:
                Symmetry(list(variables), symmetry)
            except ValueError as exc:
                raise bad("symmetry", " ".join(str(exc).split())) from None
        extras = {}
        for key in ("library_config", "metadata"):
            value = d.get(key)
            if value is not None and not isinstance(value, Mapping):
                raise bad(key, "expected an object or null")
            extras[key] = value
        model = cls(variables, terms, coef, symmetry=symmetry, **extras)
        if "equations" in d:
            model._check_equations(d["equations"], where)
        return model

    def _check_equations(self, equations, where, n_points: int = 8, rtol: float = 1e-8) -> None:
        if not isinstance(equations, Mapping) or set(equations) != set(self.variables):
            raise ValueError(f"{where}: field 'equations': expected one entry for each of {', '.join(self.variables)}")
        points = np.random.default_rng(0).normal(size=(n_points, self.n_variables))
        with np.errstate(all="ignore"):
            theta = self.theta(points)
            scale = np.abs(theta) @ np.abs(self.coef).T
            expected = theta @ self.coef.T
            for i, name in enumerate(self.variables):
                text = equations[name]
                if not isinstance(text, str):
                    raise ValueError(f"{where}: field 'equations.{name}': expected an expression string")
                expr = parse_expression(text, self.variables, where=f"{where}: field 'equations.{name}'")
                f = sympy.lambdify(self.symbols, expr, modules="numpy", dummify=True)
                got = np.broadcast_to(np.asarray(f(*points.T), dtype=float), (n_points,))
                ok = np.isclose(got, expected[:, i], rtol=0, atol=0, equal_nan=True) | (
                    np.abs(got - expected[:, i]) <= rtol * scale[:, i]
                )
                if not np.all(ok):
                    raise ValueError(f"{where}: field 'equations.{name}' does not match 'library' and 'coefficients'")

    def save_json(self, path) -> None:
        """Write :meth:`to_dict` to ``path`` as JSON (floats at full precision)."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        Path(path).write_text(text + "\n", encoding="utf-8")


def load_model(path) -> SymbolicModel:
    """Read a model written by :meth:`SymbolicModel.save_json`."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not UTF-8 text ({exc.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ValueError(f"{where}: not valid JSON: nested too deeply") from None
    return SymbolicModel.from_dict(data, where=where)
