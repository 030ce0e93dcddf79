"""Conservation laws and Noether charges.

Structure: ``x' = P(x) grad H`` with ``P`` the canonical symplectic matrix of pairs
``(q_i, p_i)`` (``q' = dH/dp``, ``p' = -dH/dq``) or a given Poisson matrix.

* :func:`noether_charge`: for a generator ``v(x) = A x + b``, the function ``C`` with
  ``P grad C = v`` (so ``C`` generates the symmetry), found by solving that polynomial
  identity exactly over monomials of degree <= ``degree``.  For canonical pairs a point
  symmetry acting on the ``q`` only is first lifted to ``p -> -B^T p`` (charge ``p^T B q``).
* :func:`conserved_quantities`: polynomial first integrals of a right-hand side ``f``:
  the near-nullspace of ``c -> grad(c . Phi) . f`` over monomials ``Phi`` (measured on data
  when given), in reduced row echelon form with rational entries where they are exact.
  :func:`conserved_from_data` does the same with measured derivatives in place of ``f``.
* :func:`check_quantity`: the symbolic derivative along ``f`` and the relative drift along
  trajectories, with a verdict.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np
import scipy.linalg as sla
import sympy as sp

from .linalg import rref
from .symmetry import Generator, Symmetry

__all__ = [
    "parse_canonical",
    "poisson_matrix",
    "noether_charge",
    "ConservedQuantity",
    "conserved_quantities",
    "conserved_from_data",
    "QuantityCheck",
    "check_quantity",
    "split_by_check",
    "NoetherEntry",
    "noether_report",
]


# ----------------------------------------------------------------------------- structure


def parse_canonical(text: str, variables: Sequence[str]) -> list[tuple[str, str]]:
    """Parse ``"q1:p1,q2:p2"`` into canonical pairs, checking the names."""
    variables = list(variables)
    pairs = []
    if not isinstance(text, str) or not text.strip():
        raise ValueError("canonical pairs '': expected e.g. 'q1:p1,q2:p2'")
    for part in text.split(","):
        bits = [b.strip() for b in part.split(":")]
        if len(bits) != 2 or not all(bits):
            raise ValueError(f"canonical pairs {text!r}: {part.strip()!r} is not of the form q:p")
        for b in bits:
            if b not in variables:
                raise ValueError(f"canonical pairs {text!r}: unknown variable {b!r}; variables are {', '.join(variables)}")
        pairs.append((bits[0], bits[1]))
    used = [v for pq in pairs for v in pq]
    if len(set(used)) != len(used):
        dup = next(v for v in used if used.count(v) > 1)
        raise ValueError(f"canonical pairs {text!r}: variable {dup!r} appears twice")
    return pairs


def poisson_matrix(variables: Sequence[str], *, pairs=None, matrix=None) -> sp.Matrix:
    """The Poisson matrix ``P`` (``x' = P grad H``) from canonical pairs or an explicit matrix.

    Variables outside the pairs are Casimir directions (zero rows and columns).
    """
    variables = list(variables)
    n = len(variables)
    if (pairs is None) == (matrix is None):
        raise ValueError("structure: give either canonical pairs or a Poisson matrix")
    if matrix is not None:
        P = sp.Matrix(matrix)
        if P.shape != (n, n):
            raise ValueError(f"Poisson matrix: expected {n}x{n}, got {P.shape[0]}x{P.shape[1]}")
        if sp.simplify(P + P.T) != sp.zeros(n, n):
            raise ValueError("Poisson matrix: it must be antisymmetric")
        return P
    P = sp.zeros(n, n)
    for q, p in pairs:
        i, j = variables.index(q), variables.index(p)
        P[i, j], P[j, i] = 1, -1
    return P


def _monomials(n: int, degree: int, min_degree: int = 1):
    out = []
    for d in range(min_degree, degree + 1):
        for combo in itertools.combinations_with_replacement(range(n), d):
            alpha = [0] * n
            for i in combo:
                alpha[i] += 1
            out.append(tuple(alpha))
    return out


def _rational(x: float, max_den: int = 1000, rtol: float = 1e-9) -> sp.Expr:
    """A simple rational when ``x`` is one to ``rtol``, else the float itself."""
    fr = Fraction(float(x)).limit_denominator(max_den)
    if abs(float(fr) - x) <= rtol * max(1.0, abs(x)):
        return sp.Rational(fr.numerator, fr.denominator)
    return sp.Float(float(x))


def _lift_point_symmetry(A: np.ndarray, b: np.ndarray, variables, pairs):
    """For canonical pairs: a generator acting on the q's only becomes q -> Bq, p -> -B^T p."""
    qi = [variables.index(q) for q, _ in pairs]
    pi = [variables.index(p) for _, p in pairs]
    others = [k for k in range(len(variables)) if k not in qi]
    if np.any(A[:, others]) or np.any(A[others, :]) or np.any(b[pi]):
        return A, b
    B = A[np.ix_(qi, qi)]
    A2 = A.copy()
    A2[np.ix_(pi, pi)] = -B.T
    return A2, b


def noether_charge(generator, variables: Sequence[str], *, pairs=None, matrix=None, degree: int = 2):
    """The charge ``C`` with ``P grad C = A x + b`` (the function that generates the symmetry).

    Parameters
    ----------
    generator : Generator, spec string (one generator), or (A, b)
    variables : list of str
    pairs : list of (q, p), optional
        Canonical pairs (point symmetries of the q's are lifted to the p's).
    matrix : sympy-compatible n x n, optional
        A Poisson matrix instead of canonical pairs.
    degree : int, default 2
        Largest degree of the charge polynomial.

    Returns
    -------
    sympy.Expr or None
        ``None`` when no polynomial of that degree generates the symmetry (it is not a
        Hamiltonian symmetry of this structure).
    """
    variables = list(variables)
    n = len(variables)
    if isinstance(generator, str):
        sym = Symmetry(variables, generator)
        if len(sym.generators) != 1 or sym.elements:
            raise ValueError(f"symmetry {generator!r}: a Noether charge needs exactly one continuous generator")
        generator = sym.generators[0]
    if isinstance(generator, Generator):
        A, b = generator.matrix, generator.translation
    else:
        A, b = (np.asarray(generator[0], float), np.asarray(generator[1], float))
    if pairs is not None:
        A, b = _lift_point_symmetry(A, b, variables, pairs)
    P = poisson_matrix(variables, pairs=pairs, matrix=matrix)
    xs = sp.symbols(variables)
    monos = _monomials(n, degree)
    cs = sp.symbols(f"c0:{len(monos)}")
    C = sum(c * sp.prod([x**a for x, a in zip(xs, m)]) for c, m in zip(cs, monos))
    grad = sp.Matrix([sp.diff(C, x) for x in xs])
    v = sp.Matrix([sum(_rational(A[i, j]) * xs[j] for j in range(n)) + _rational(b[i]) for i in range(n)])
    eqs = []
    for expr in P * grad - v:
        poly = sp.Poly(sp.expand(expr), *xs)
        eqs.extend(poly.coeffs())
    sol = sp.linsolve(eqs, cs)
    if not sol:
        return None
    (values,) = sol
    subs = {c: val for c, val in zip(cs, values)}
    free = set().union(*[sp.sympify(val).free_symbols for val in values]) & set(cs)
    subs = {c: sp.sympify(val).subs({f: 0 for f in free}) for c, val in subs.items()}
    return sp.expand(C.subs(subs))


# ----------------------------------------------------------------------------- first integrals


@dataclass
class ConservedQuantity:
    """A (near-)conserved polynomial with its relative residual (singular value)."""

    expr: sp.Expr
    residual: float

    def __str__(self) -> str:
        return str(self.expr)


def _eval_monomial_grads(x: np.ndarray, monos) -> np.ndarray:
    """(m, K, n) gradients of the monomials at the rows of x."""
    m, n = x.shape
    out = np.zeros((m, len(monos), n))
    for k, alpha in enumerate(monos):
        for i in range(n):
            if alpha[i] == 0:
                continue
            beta = list(alpha)
            beta[i] -= 1
            out[:, k, i] = alpha[i] * np.prod(x ** np.array(beta), axis=1)
    return out


def _first_integrals(x, v, variables, degree, max_null, min_gap, nullity):
    from .discover import select_nullity

    x = np.asarray(x, float)
    v = np.asarray(v, float)
    n = len(variables)
    monos = _monomials(n, degree)
    grads = _eval_monomial_grads(x, monos)  # (m, K, n)
    G = np.einsum("mkn,mn->mk", grads, v)
    # scale of each column without cancellation: |grad Phi_k| |v|
    scale = np.sqrt(np.mean((np.linalg.norm(grads, axis=2) * np.linalg.norm(v, axis=1)[:, None]) ** 2, axis=0))
    scale[scale == 0] = 1.0
    Gs = G / scale / np.sqrt(len(x))
    _, s, Vt = sla.svd(Gs, full_matrices=True)
    K = len(monos)
    s_full = np.zeros(K)
    s_full[: len(s)] = s
    order = np.argsort(s_full)
    s_asc = s_full[order]
    V = Vt.T[:, order] if Vt.shape[0] == K else Vt.T
    d = select_nullity(s_asc, max_null=max_null, min_gap=min_gap) if nullity is None else int(nullity)
    coeffs = (V[:, :d] / scale[:, None]).T  # rows: quantities over monomials
    if d == 0:
        return [], s_asc
    # readable: reduced row echelon form; entries at the level of the residual are noise,
    # and a pivot there would blow the rest up
    level = max(1e-10, 10.0 * float(s_asc[d - 1]))
    coeffs = coeffs / np.max(np.abs(coeffs), axis=1, keepdims=True)
    R = rref(coeffs, tol=level, relative=True)
    xs = sp.symbols(variables)
    out = []
    for row in R:
        big = np.max(np.abs(row))
        row = np.where(np.abs(row) < level * big, 0.0, row)
        expr = sum(_rational(c) * sp.prod([xx**a for xx, a in zip(xs, m)]) for c, m in zip(row, monos) if c != 0)
        val = float(np.linalg.norm(Gs @ (row * scale)) / max(np.linalg.norm(row * scale), 1e-300))
        out.append(ConservedQuantity(sp.expand(expr), val))
    return out, s_asc


def _rhs_function(rhs, variables):
    xs = sp.symbols(list(variables))
    f = sp.lambdify(xs, list(rhs), modules="numpy")

    def call(x):
        x = np.atleast_2d(x)
        cols = f(*x.T)
        return np.column_stack([np.broadcast_to(np.asarray(c, float), (len(x),)) for c in cols])

    return call


def conserved_quantities(
    rhs: Sequence[sp.Expr],
    variables: Sequence[str],
    degree: int = 2,
    *,
    x_samples=None,
    max_null: float = 0.02,
    min_gap: float = 10.0,
    nullity: int | None = None,
    seed: int = 0,
) -> tuple[list[ConservedQuantity], np.ndarray]:
    """Polynomial first integrals (degree 1..``degree``) of ``x' = rhs``.

    Measured at generic points: uniform in the bounding box of ``x_samples`` (10% margin), or
    standard normal without data; columns normalised by ``|grad Phi_k| |f|``; the gap rule of :func:`symsindy.discover.select_nullity` picks
    the conserved directions (``max_null`` 0.02: a damped oscillator whose decay rate is 5%
    of its frequency must not pass).  Returns ``(quantities, singular values ascending)``.
    """
    variables = list(variables)
    if len(rhs) != len(variables):
        raise ValueError(f"rhs: {len(rhs)} expressions for {len(variables)} variables")
    rng = np.random.default_rng(seed)
    n_points = max(400, 4 * len(_monomials(len(variables), degree)))
    if x_samples is None:
        pts = rng.normal(size=(n_points, len(variables)))
    else:
        # generic points of the data's bounding box: states on a few trajectories would make
        # any function constant on those curves look conserved
        x_samples = np.vstack(x_samples) if isinstance(x_samples, (list, tuple)) else np.asarray(x_samples, float)
        lo, hi = x_samples.min(axis=0), x_samples.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-3 * np.maximum(np.abs(hi), 1.0))
        pts = rng.uniform(lo - pad, hi + pad, size=(n_points, len(variables)))
    x_samples = pts
    v = _rhs_function(rhs, variables)(x_samples)
    return _first_integrals(x_samples, v, variables, degree, max_null, min_gap, nullity)


def conserved_from_data(x, x_dot, variables, degree: int = 2, *, max_null: float = 0.02, min_gap: float = 10.0, nullity=None):
    """Polynomial first integrals straight from states and derivatives (no model)."""
    x = np.vstack(x) if isinstance(x, (list, tuple)) else np.asarray(x, float)
    x_dot = np.vstack(x_dot) if isinstance(x_dot, (list, tuple)) else np.asarray(x_dot, float)
    if x.shape != x_dot.shape:
        raise ValueError(f"x_dot: shape {x_dot.shape} does not match x {x.shape}")
    return _first_integrals(x, x_dot, list(variables), degree, max_null, min_gap, nullity)


# ----------------------------------------------------------------------------- checks


@dataclass
class QuantityCheck:
    """Whether a quantity is conserved.

    Attributes
    ----------
    symbolic_residual : float
        ``|grad C . f|`` relative to ``|grad C| |f|`` (coefficient norms for polynomials).
    drift_model : float or None
        Relative drift ``(max C - min C) / scale`` along trajectories of the model.
    drift_data : float or None
        The same along the data.
    conserved : bool
        ``symbolic_residual <= symbolic_tol`` and ``drift_model <= drift_tol`` (when computed).
    symbolic_tol, drift_tol : float
        The tolerances it was judged by.
    """

    expr: sp.Expr
    derivative: sp.Expr
    symbolic_residual: float
    drift_model: float | None
    drift_data: float | None
    conserved: bool
    symbolic_tol: float = 1e-2
    drift_tol: float = 0.05

    @property
    def reason(self) -> str:
        """Why it is not conserved (the figure that rejected it); empty when it is."""
        if self.conserved:
            return ""
        parts = []
        if not self.symbolic_residual <= self.symbolic_tol:
            parts.append(f"d/dt residual {self.symbolic_residual:.2e} > {self.symbolic_tol:g}")
        if self.drift_model is not None and not self.drift_model <= self.drift_tol:
            parts.append(f"drift along the model {self.drift_model:.2e} > {self.drift_tol:g}")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """``symbolic_residual``, ``drift_model``, ``drift_data``, ``conserved`` and, when it is
        not, ``reason``."""
        d = {"symbolic_residual": self.symbolic_residual, "drift_model": self.drift_model,
             "drift_data": self.drift_data, "conserved": bool(self.conserved)}
        if not self.conserved:
            d["reason"] = self.reason
        return d


def split_by_check(quantities, checks) -> tuple[list, list]:
    """``(passed, rejected)``: lists of ``(quantity, check)`` pairs, in the order given.  Only the
    first are to be called conserved."""
    passed, rejected = [], []
    for q, c in zip(quantities, checks):
        (passed if c.conserved else rejected).append((q, c))
    return passed, rejected


def _coef_norm(expr, xs) -> float:
    try:
        poly = sp.Poly(sp.expand(expr), *xs)
    except sp.PolynomialError:
        return float("nan")
    return float(np.sqrt(sum(float(c) ** 2 for c in poly.coeffs())))


def _drift(values: np.ndarray, scale: float) -> float:
    return float((np.max(values) - np.min(values)) / scale)


def check_quantity(
    expr,
    rhs: Sequence[sp.Expr],
    variables: Sequence[str],
    *,
    x_data=None,
    t=None,
    simulate: bool = True,
    symbolic_tol: float = 1e-2,
    drift_tol: float = 0.05,
) -> QuantityCheck:
    """Check ``dC/dt = grad C . f`` symbolically and ``C`` along trajectories.

    The drift scale is ``max(|mean C|, RMS |grad C| |x|)`` over the data (or the model
    trajectory), so a quantity near zero is not judged by its own tiny size.
    ``x_data`` is an (m, n) trajectory or a list of them, ``t`` their times; the model is
    simulated from each trajectory's first state over the same times.
    Defaults: symbolic tolerance 1e-2 (fitted models carry small spurious terms), drift 0.05.
    """
    variables = list(variables)
    xs = sp.symbols(variables)
    expr = sp.sympify(expr) if not isinstance(expr, sp.Basic) else expr
    grad = [sp.diff(expr, x) for x in xs]
    deriv = sp.expand(sum(g * f for g, f in zip(grad, rhs)))
    num = _coef_norm(deriv, xs)
    den = np.sqrt(sum(_coef_norm(g, xs) ** 2 for g in grad)) * np.sqrt(sum(_coef_norm(f, xs) ** 2 for f in rhs))
    if np.isnan(num) or np.isnan(den):
        # not polynomial: compare on sample points
        pts = np.random.default_rng(0).normal(size=(200, len(xs))) if x_data is None else np.vstack(x_data if isinstance(x_data, (list, tuple)) else [x_data])
        fd = sp.lambdify(xs, deriv, modules="numpy")
        fg = sp.lambdify(xs, grad, modules="numpy")
        ff = _rhs_function(rhs, variables)
        dv = np.broadcast_to(np.asarray(fd(*pts.T), float), (len(pts),))
        gv = np.column_stack([np.broadcast_to(np.asarray(c, float), (len(pts),)) for c in fg(*pts.T)])
        num = float(np.sqrt(np.mean(dv**2)))
        den = float(np.sqrt(np.mean((np.linalg.norm(gv, axis=1) * np.linalg.norm(ff(pts), axis=1)) ** 2)))
    sym_res = float(num / den) if den > 0 else (0.0 if num == 0 else float("inf"))
    fC = sp.lambdify(xs, expr, modules="numpy")
    fG = sp.lambdify(xs, grad, modules="numpy")

    def values(traj):
        return np.broadcast_to(np.asarray(fC(*traj.T), float), (len(traj),))

    def scale_of(traj):
        g = np.column_stack([np.broadcast_to(np.asarray(c, float), (len(traj),)) for c in fG(*traj.T)])
        s = max(abs(float(np.mean(values(traj)))), float(np.sqrt(np.mean((np.linalg.norm(g, axis=1) * np.linalg.norm(traj, axis=1)) ** 2))))
        return s if s > 0 else 1.0

    drift_data = drift_model = None
    if x_data is not None:
        trajs = list(x_data) if isinstance(x_data, (list, tuple)) else [np.asarray(x_data, float)]
        drift_data = max(_drift(values(tr), scale_of(tr)) for tr in trajs)
        if simulate and t is not None:
            from scipy.integrate import solve_ivp

            f = _rhs_function(rhs, variables)
            ts = list(t) if isinstance(t, (list, tuple)) else [np.asarray(t, float)] * len(trajs)
            drifts = []
            for tr, ti in zip(trajs, ts):
                ti = np.asarray(ti, float)
                sol = solve_ivp(lambda _, s: f(s)[0], (ti[0], ti[-1]), tr[0], t_eval=ti, method="LSODA", rtol=1e-9, atol=1e-9)
                if not sol.success or sol.y.shape[1] < 2:
                    drifts.append(float("inf"))
                    continue
                sim = sol.y.T
                drifts.append(_drift(values(sim), scale_of(sim)))
            drift_model = max(drifts)
    conserved = sym_res <= symbolic_tol and (drift_model is None or drift_model <= drift_tol)
    return QuantityCheck(expr, deriv, sym_res, drift_model, drift_data, conserved, float(symbolic_tol), float(drift_tol))


# ----------------------------------------------------------------------------- Noether report


@dataclass
class NoetherEntry:
    symmetry: str
    charge: sp.Expr | None
    check: QuantityCheck | None
    note: str = ""

    def to_dict(self) -> dict:
        from .expressions import format_expression

        c = self.check
        return {
            "symmetry": self.symmetry,
            "charge": None if self.charge is None else format_expression(self.charge),
            "conserved": None if c is None else bool(c.conserved),
            "symbolic_residual": None if c is None else c.symbolic_residual,
            "drift": None if c is None else c.drift_model,
            "drift_data": None if c is None else c.drift_data,
            "note": self.note,
        }


def noether_report(
    symmetry: Symmetry,
    rhs: Sequence[sp.Expr],
    *,
    pairs=None,
    matrix=None,
    x_data=None,
    t=None,
    conserved: Sequence[sp.Expr] = (),
    degree: int = 2,
    **check_kws,
) -> tuple[list[NoetherEntry], list[str]]:
    """Charges of the symmetry's generators, whether model and data conserve them, and flags.

    Returns ``(entries, flags)``.  Flags name a symmetry whose charge is not conserved
    (dissipation, or a non-Hamiltonian model) and a conserved quantity (from ``conserved``)
    that no charge explains (e.g. a Casimir or energy).
    """
    variables = list(symmetry.variables)
    entries, flags = [], []
    for g in symmetry.generators:
        charge = noether_charge(g, variables, pairs=pairs, matrix=matrix, degree=degree)
        if charge is None or charge == 0:
            entries.append(NoetherEntry(g.label, None, None, "not a Hamiltonian symmetry of this structure: no charge generates it"))
            flags.append(f"{g.label}: no charge generates it in this structure")
            continue
        chk = check_quantity(charge, rhs, variables, x_data=x_data, t=t, **check_kws)
        note = "" if chk.conserved else "charge not conserved: dissipation, forcing, or a non-Hamiltonian model"
        if not chk.conserved:
            flags.append(f"{g.label}: symmetry without a conserved charge ({note})")
        entries.append(NoetherEntry(g.label, charge, chk, note))
    charges = [e.charge for e in entries if e.charge is not None]
    xs = sp.symbols(variables)
    for q in conserved:
        q = sp.expand(q)
        if not _in_span(q, charges, xs):
            shown = sp.sstr(q.xreplace({f: sp.Float(f, 6) for f in q.atoms(sp.Float)}))
            flags.append(f"{shown}: conserved but no symmetry among the candidates explains it (e.g. energy or a Casimir)")
    return entries, flags


def _in_span(q, charges, xs) -> bool:
    if not charges:
        return False
    terms = sorted({m for e in [q, *charges] for m in sp.Poly(e, *xs).monoms()})

    def vec(e):
        d = dict(zip(sp.Poly(e, *xs).monoms(), sp.Poly(e, *xs).coeffs()))
        return np.array([float(d.get(m, 0)) for m in terms])

    B = np.column_stack([vec(c) for c in charges])
    y = vec(q)
    sol, *_ = np.linalg.lstsq(B, y, rcond=None)
    return float(np.linalg.norm(B @ sol - y)) <= 1e-6 * max(np.linalg.norm(y), 1e-300)
