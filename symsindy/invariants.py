"""Candidate families for conserved quantities: functions of the state, each with its gradient.

A conserved quantity is searched as ``C = sum_k c_k phi_k(x)`` over a family of functions
``phi_k`` (no constant: constants are trivially conserved).  Each function has a *level*
that grades the search (:func:`symsindy.conservation.conserved_quantities` looks for
invariants level by level, so that products of lower ones are recognised): its polynomial
degree, where a non-polynomial factor counts one.

Families (``degree`` D):

* ``poly``: the monomials of degree 1..D.
* ``log``: ``poly`` and ``log(x_i)`` times the monomials of degree 0..D-1, for each variable
  that is positive on the data (Lotka-Volterra, SIR-type integrals).
* ``trig``: ``poly`` and ``sin(x_i)``, ``cos(x_i)`` times the monomials of degree 0..D-1, for
  every variable (pendulums).
* ``kepler``: ``poly`` and the monomials of degree 0..D-1 divided by ``|q|``, ``q`` the
  position variables (Kepler's energy and Laplace-Runge-Lenz vector).
* ``exp``: ``poly`` and ``exp(q_i - q_j)`` for every ordered pair of position variables, times
  the monomials of degree 0..D-1 (lattices with exponential interactions: the Toda lattice's
  energy and its cubic integral).
* ``chain``: ``poly``, ``cos q_i``, ``sin q_i``, and for every pair of positions (``d = q_i - q_j``)
  ``cos d``, ``sin d`` and ``p_a p_b / (1 + sin(d)**2)``, ``p_a p_b cos(d) / (1 + sin(d)**2)`` for
  every pair of momenta ``p`` (the variables that are not positions): the energy of a planar chain
  of two equal point masses on equal rods in canonical momenta, whose kinetic energy is
  ``p^T M(q)^-1 p / 2`` with ``det M`` proportional to ``1 + sin(d)**2`` (the double pendulum).
* ``spherical``: ``poly``, ``cos q_i``, ``sin q_i`` and ``p_a p_b / sin(q_i)**2`` for every position
  whose sine does not vanish on the data (every position without data): kinetic energies with a
  ``1/sin(theta)**2`` metric (the spherical pendulum's ``p_phi**2 / (2 sin(theta)**2)``).
* a custom list of SymPy expressions, added to ``poly`` (:func:`custom_basis`, or a text file
  of one expression per line for the command line).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence

import numpy as np
import sympy as sp

__all__ = [
    "FAMILIES",
    "InvariantBasis",
    "make_basis",
    "custom_basis",
    "read_basis_file",
    "position_indices",
    "has_default_positions",
]

#: Named families, in the order ``auto`` tries them (ties go to the earlier, simpler one).
FAMILIES = ("poly", "log", "trig", "kepler", "exp", "chain", "spherical")
#: Families built on position variables (``positions``; default the first half of the variables).
POSITION_FAMILIES = ("kepler", "exp", "chain", "spherical")
#: ``spherical`` divides by ``sin(q)**2`` only where ``|sin q|`` stays above this on the data.
MIN_SINE = 0.05


def _monomials(n: int, degree: int, min_degree: int = 1) -> list[tuple[int, ...]]:
    out = []
    for d in range(min_degree, degree + 1):
        for combo in itertools.combinations_with_replacement(range(n), d):
            alpha = [0] * n
            for i in combo:
                alpha[i] += 1
            out.append(tuple(alpha))
    return out


def _monomial(xs, alpha) -> sp.Expr:
    return sp.Mul(*[x**a for x, a in zip(xs, alpha)])


def _expand(expr) -> sp.Expr:
    """``sympy.expand`` that keeps ``exp(a - b)`` whole (its default writes ``exp(a)*exp(-b)``),
    with the numeric content of a sum in a denominator taken out (``p**2/(2 sin(d)**2 + 2)`` is
    ``p**2/(sin(d)**2 + 1) / 2``), so that a term has one form whatever the input's."""
    e = sp.expand(sp.sympify(expr), power_exp=False)
    terms = sp.Add.make_args(e)
    if not any(_sum_denominator(t) for t in terms):
        return e
    return sp.Add(*[sp.factor_terms(t) if _sum_denominator(t) else t for t in terms])


def _sum_denominator(term) -> bool:
    return any(
        f.is_Pow and f.exp.is_negative and f.base.is_Add for f in sp.Mul.make_args(term) if isinstance(f, sp.Pow)
    )


def _key(expr: sp.Expr) -> sp.Expr:
    """The function part of a term, without its numeric coefficient."""
    return _expand(expr).as_coeff_Mul()[1]


def _terms(expr) -> list[tuple[sp.Expr, sp.Expr]]:
    """``(coefficient, function)`` for each non-constant term of the expanded ``expr``."""
    out = []
    for term in sp.Add.make_args(_expand(expr)):
        coeff, rest = term.as_coeff_Mul()
        if rest != 1:
            out.append((coeff, rest))
    return out


def _term_level(key: sp.Expr, xs) -> int:
    """Polynomial degree of a term, a non-polynomial factor counting one (the search's level)."""
    level = 0
    for factor in sp.Mul.make_args(key):
        base, exp = factor.as_base_exp()
        if base in xs and exp.is_Integer and exp > 0:
            level += int(exp)
        elif not factor.is_number:
            level += 1
    return level


@dataclass
class InvariantBasis:
    """A family of candidate functions for a conserved quantity.

    Attributes
    ----------
    name : str
        One of ``FAMILIES`` or ``custom``.
    variables : list of str
    functions : list of sympy.Expr
        No constant among them.
    levels : list of int
        Grading of the search (polynomial degree; a non-polynomial factor counts one).
    positive : tuple of int
        Variables that must stay positive (arguments of logarithms).
    positions : tuple of int
        Variables whose norm divides (``kepler``); it must not vanish.
    denominators : tuple of sympy.Expr
        Expressions that divide and must not vanish (``sin(theta)`` for ``spherical``).
    """

    name: str
    variables: list[str]
    functions: list[sp.Expr]
    levels: list[int]
    positive: tuple[int, ...] = ()
    positions: tuple[int, ...] = ()
    denominators: tuple = ()
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self.variables = list(self.variables)
        self.functions = [_expand(f) for f in self.functions]
        self.levels = [int(v) for v in self.levels]
        if len(self.levels) != len(self.functions):
            raise ValueError(f"basis {self.name!r}: {len(self.levels)} levels for {len(self.functions)} functions")
        keys = [_key(f) for f in self.functions]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ValueError(f"basis {self.name!r}: the function {dup} appears twice")
        if any(k == 1 for k in keys):
            raise ValueError(f"basis {self.name!r}: a constant is not a candidate (it is trivially conserved)")
        self._index = {k: i for i, k in enumerate(keys)}

    def __len__(self) -> int:
        return len(self.functions)

    @property
    def symbols(self):
        return sp.symbols(self.variables)

    def _compiled(self):
        if "f" not in self._cache:
            xs = self.symbols
            self._cache["f"] = sp.lambdify(xs, self.functions, modules="numpy")
            self._cache["g"] = sp.lambdify(xs, [[sp.diff(f, x) for x in xs] for f in self.functions], modules="numpy")
        return self._cache["f"], self._cache["g"]

    def values(self, x: np.ndarray) -> np.ndarray:
        """``(m, K)``: every function at the rows of ``x``."""
        x = np.atleast_2d(np.asarray(x, float))
        f, _ = self._compiled()
        with np.errstate(all="ignore"):
            cols = f(*x.T)
        return np.column_stack([np.broadcast_to(np.asarray(c, float), (len(x),)) for c in cols])

    def gradients(self, x: np.ndarray) -> np.ndarray:
        """``(m, K, n)``: the gradient of every function at the rows of ``x``."""
        x = np.atleast_2d(np.asarray(x, float))
        _, g = self._compiled()
        m = len(x)
        with np.errstate(all="ignore"):
            rows = g(*x.T)
        out = np.empty((m, len(self.functions), len(self.variables)))
        for k, row in enumerate(rows):
            for i, c in enumerate(row):
                out[:, k, i] = np.broadcast_to(np.asarray(c, float), (m,))
        return out

    def valid(self, x: np.ndarray) -> np.ndarray:
        """Rows of ``x`` inside the family's domain (positive log arguments, nonzero ``|q|``)."""
        x = np.atleast_2d(np.asarray(x, float))
        ok = np.all(np.isfinite(x), axis=1)
        for i in self.positive:
            ok &= x[:, i] > 0
        if self.positions:
            ok &= np.linalg.norm(x[:, list(self.positions)], axis=1) > 0
        for d in self.denominators:
            f = sp.lambdify(self.symbols, d, modules="numpy")
            with np.errstate(all="ignore"):
                v = np.broadcast_to(np.asarray(f(*x.T), float), (len(x),))
            ok &= np.abs(v) > 1e-9
        return ok

    def box(self, lo: np.ndarray, hi: np.ndarray, pad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bounding box ``[lo - pad, hi + pad]``, whose lower side stays at half ``lo`` or above
        for the arguments of logarithms."""
        lo2, hi2 = np.array(lo, float) - pad, np.array(hi, float) + pad
        for i in self.positive:
            lo2[i] = max(lo2[i], 0.5 * lo[i])
        return lo2, hi2

    def expression(self, coef: np.ndarray, number=None) -> sp.Expr:
        """``sum_k c_k phi_k``; ``number`` maps a float to its SymPy number (default Float)."""
        number = number or sp.Float
        return sp.Add(*[number(float(c)) * f for c, f in zip(coef, self.functions) if c != 0])

    def coefficients(self, expr) -> np.ndarray | None:
        """The coefficients of ``expr`` over the family (a constant term is dropped), or None when
        ``expr`` is not a combination of its functions."""
        out = np.zeros(len(self.functions))
        for coeff, rest in _terms(expr):
            k = self._index.get(rest)
            if k is None or not coeff.is_number:
                return None
            out[k] += float(coeff)
        return out

    def describe(self) -> str:
        extra = [f for f in self.functions if not f.is_polynomial(*self.symbols)]
        if not extra:
            return f"{self.name}: {len(self)} monomials"
        return f"{self.name}: {len(self) - len(extra)} monomials and {len(extra)} other functions"


def _polynomial_part(xs, degree):
    monos = _monomials(len(xs), degree)
    return [_monomial(xs, a) for a in monos], [sum(a) for a in monos]


def _times_monomials(xs, factor, degree):
    """``factor`` times the monomials of degree 0..degree-1, with levels 1..degree."""
    funcs, levels = [], []
    for a in _monomials(len(xs), degree - 1, min_degree=0):
        funcs.append(factor * _monomial(xs, a))
        levels.append(sum(a) + 1)
    return funcs, levels


def make_basis(name: str, variables: Sequence[str], degree: int, *, x_samples=None, positions=None) -> InvariantBasis:
    """The family ``name`` (one of ``FAMILIES``) of degree ``degree``.

    ``log`` takes the logarithm of every variable positive on ``x_samples`` (none without data).
    ``kepler`` divides by the norm of ``positions`` (names; default the first half of an even
    number of at least four variables); ``exp`` takes the exponentials of their differences;
    ``chain`` and ``spherical`` take them as angles and the other variables as their momenta
    (``spherical`` divides only by the sines that stay above ``MIN_SINE`` on ``x_samples``).
    """
    variables = list(variables)
    if not isinstance(degree, (int, np.integer)) or isinstance(degree, bool) or degree < 1:
        raise ValueError(f"basis degree {degree!r}: expected a positive integer")
    xs = sp.symbols(variables)
    funcs, levels = _polynomial_part(xs, degree)
    if name == "poly":
        return InvariantBasis("poly", variables, funcs, levels)
    if name == "log":
        positive = ()
        if x_samples is not None:
            x = np.vstack(x_samples) if isinstance(x_samples, (list, tuple)) else np.asarray(x_samples, float)
            positive = tuple(int(i) for i in np.flatnonzero(np.all(x > 0, axis=0)))
        for i in positive:
            f, lv = _times_monomials(xs, sp.log(xs[i]), degree)
            funcs, levels = funcs + f, levels + lv
        return InvariantBasis("log", variables, funcs, levels, positive=positive)
    if name == "trig":
        for x in xs:
            for fn in (sp.sin, sp.cos):
                f, lv = _times_monomials(xs, fn(x), degree)
                funcs, levels = funcs + f, levels + lv
        return InvariantBasis("trig", variables, funcs, levels)
    if name == "kepler":
        idx = position_indices(variables, positions, "basis 'kepler'")
        r = sp.sqrt(sp.Add(*[xs[i] ** 2 for i in idx]))
        f, lv = _times_monomials(xs, 1 / r, degree)
        return InvariantBasis("kepler", variables, funcs + f, levels + lv, positions=idx)
    if name == "exp":
        idx = position_indices(variables, positions, "basis 'exp'")
        for i, j in itertools.permutations(idx, 2):
            f, lv = _times_monomials(xs, sp.exp(xs[i] - xs[j]), degree)
            funcs, levels = funcs + f, levels + lv
        return InvariantBasis("exp", variables, funcs, levels)
    if name in ("chain", "spherical"):
        idx = position_indices(variables, positions, f"basis {name!r}")
        momenta = [xs[k] for k in range(len(xs)) if k not in idx]
        kinetic = [a * b for a, b in itertools.combinations_with_replacement(momenta, 2)]
        extra = [fn(xs[i]) for i in idx for fn in (sp.cos, sp.sin)]
        denominators = ()
        if name == "chain":
            for i, j in itertools.combinations(idx, 2):
                d = xs[i] - xs[j]
                extra += [sp.cos(d), sp.sin(d)]
                extra += [k / (1 + sp.sin(d) ** 2) for k in kinetic] + [
                    k * sp.cos(d) / (1 + sp.sin(d) ** 2) for k in kinetic
                ]
        else:
            keep = list(idx)
            if x_samples is not None:
                x = np.vstack(x_samples) if isinstance(x_samples, (list, tuple)) else np.asarray(x_samples, float)
                keep = [i for i in idx if np.all(np.abs(np.sin(x[:, i])) >= MIN_SINE)]
            extra += [k / sp.sin(xs[i]) ** 2 for i in keep for k in kinetic]
            denominators = tuple(sp.sin(xs[i]) for i in keep)
        have = {_key(f) for f in funcs}
        for e in extra:
            if _key(e) not in have:
                have.add(_key(e))
                funcs.append(e)
                levels.append(_term_level(_key(e), xs))
        return InvariantBasis(name, variables, funcs, levels, denominators=denominators)
    raise ValueError(f"basis {name!r}: expected one of {', '.join(FAMILIES)}, or a file of expressions")


def has_default_positions(variables) -> bool:
    """Whether :func:`position_indices` has a default for these variables (an even number of at
    least four: positions first, then momenta)."""
    return len(variables) >= 4 and len(variables) % 2 == 0


def position_indices(variables: Sequence[str], positions=None, where: str = "positions") -> tuple[int, ...]:
    """Indices of the position variables ``positions`` (names; default the first half of an even
    number of at least four variables), checked to be two or more distinct variables."""
    variables = list(variables)
    if positions is None:
        if not has_default_positions(variables):
            raise ValueError(f"{where}: give the position variables (no default for {len(variables)} variables)")
        positions = variables[: len(variables) // 2]
    positions = list(positions)
    unknown = [p for p in positions if p not in variables]
    if unknown or len(positions) < 2 or len(set(positions)) != len(positions):
        raise ValueError(
            f"{where}: positions {','.join(positions)!r} must be two or more distinct variables of {', '.join(variables)}"
        )
    return tuple(variables.index(p) for p in positions)


def custom_basis(expressions: Sequence, variables: Sequence[str], degree: int) -> InvariantBasis:
    """The polynomials of degree 1..``degree`` and the given expressions (SymPy or text).

    A polynomial expression gets its degree as level, any other level 1.  Expressions already
    among the monomials are not added twice.
    """
    from .expressions import parse_expression

    variables = list(variables)
    base = make_basis("poly", variables, degree)
    xs = base.symbols
    funcs, levels = list(base.functions), list(base.levels)
    have = {_key(f) for f in funcs}
    for e in expressions:
        expr = parse_expression(e, variables, where=f"basis expression {e!r}") if isinstance(e, str) else sp.sympify(e)
        unknown = sorted(str(s) for s in expr.free_symbols - set(xs))
        if unknown:
            raise ValueError(
                f"basis expression {str(expr)!r}: unknown name {unknown[0]!r}; variables are {', '.join(variables)}"
            )
        for _, k in _terms(expr):
            if k in have:
                continue
            have.add(k)
            funcs.append(k)
            levels.append(_term_level(k, xs))
    return InvariantBasis("custom", variables, funcs, levels)


def read_basis_file(path, variables: Sequence[str], degree: int) -> InvariantBasis:
    """:func:`custom_basis` from a text file of one expression per line (``#`` starts a comment)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"basis file {str(p)!r} does not exist")
    lines = [ln.split("#", 1)[0].strip() for ln in p.read_text().splitlines()]
    exprs = [ln for ln in lines if ln]
    if not exprs:
        raise ValueError(f"basis file {str(p)!r} holds no expression")
    return custom_basis(exprs, variables, degree)
