"""Conservation laws and Noether charges.

Structure: ``x' = P(x) grad H`` with ``P`` the canonical symplectic matrix of pairs
``(q_i, p_i)`` (``q' = dH/dp``, ``p' = -dH/dq``) or a given Poisson matrix.

* :func:`noether_charge`: for a generator ``v(x) = A x + b``, the function ``C`` with
  ``P grad C = v`` (so ``C`` generates the symmetry), found by solving that polynomial
  identity exactly over monomials of degree <= ``degree``.  For canonical pairs a point
  symmetry acting on the ``q`` only is first lifted to ``p -> -B^T p`` (charge ``p^T B q``).
* :func:`conserved_quantities`: first integrals of a right-hand side ``f`` over a family of
  candidate functions (:mod:`symsindy.invariants`: polynomials, with log, sin/cos or ``1/|q|``
  factors, or custom expressions; ``basis="auto"`` chooses among them): directions ``c``
  with ``RMS(grad C . f) / RMS(|grad C| |f|)`` small at generic points, found level by level
  as a readable, independent basis (products of earlier quantities are not new; a function
  of earlier ones is marked dependent), with rational entries where they are exact.
  :func:`conserved_from_data` does the same from the data: measured derivatives in place of
  ``f`` (strong form), or test functions and no derivative (weak form).
* :func:`span_residual`: whether a quantity lies in the span of others and their products.
* :func:`check_quantity`: the symbolic derivative along ``f`` and the relative drift along
  trajectories, with a verdict.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from collections.abc import Sequence

import numpy as np
import sympy as sp

from .invariants import _expand, _monomials, _term_level, _terms
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
    "InvariantSearch",
    "UndeterminedSearch",
    "resolve_basis",
    "span_residual",
    "checked_search",
    "noise_nullity",
    "held_out_drift",
    "trajectory_separation",
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
                raise ValueError(
                    f"canonical pairs {text!r}: unknown variable {b!r}; variables are {', '.join(variables)}"
                )
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
    """A (near-)conserved function with its relative residual.

    Attributes
    ----------
    expr : sympy.Expr
    residual : float
        ``RMS(grad C . f) / RMS(|grad C| |f|)`` over the points of the search.
    level : int
        The search level it was found at (its polynomial degree; a non-polynomial factor
        counts one).
    independent : bool
        Whether it is functionally independent of the quantities listed before it (the rank
        of their gradients grows).  A dependent one is a new linear direction, not a product
        of earlier ones, yet a function of them (e.g. one component of Kepler's
        Laplace-Runge-Lenz vector, given the energy, the angular momentum and the other).
    family : str
        The candidate family it was found in.
    held_out_drift : float or None
        Straight from the data (:func:`conserved_from_data`): its relative drift along the
        samples held out of the search (:func:`held_out_drift`); None when none were.
    noise_ratio : float or None
        Straight from noisy data in the weak form: its weak residual over the one measurement
        noise alone gives a conserved quantity (about 1 when conserved); None otherwise.
    noise_share : float or None
        Straight from noisy data in the weak form: the measured noise's share of the floor
        ``noise_ratio`` is relative to (the rest is ``RELATIVE_FLOOR``).
    spread : float or None
        Straight from noisy data in the weak form: how well the data determine it, the
        relative jackknife spread of its coefficients over blocks of the data (each function
        scaled to its gradient size there); None otherwise.
    """

    expr: sp.Expr
    residual: float
    level: int = 0
    independent: bool = True
    family: str = "poly"
    held_out_drift: float | None = None
    noise_ratio: float | None = None
    spread: float | None = None
    noise_share: float | None = None

    def __str__(self) -> str:
        return str(self.expr)


@dataclass
class InvariantSearch:
    """The result of a search for conserved quantities.

    Attributes
    ----------
    quantities : list of ConservedQuantity
        In order of level; see :attr:`ConservedQuantity.independent`.
    singular_values : array
        The relative residuals of all directions of the family searched, ascending.
    basis : str
        The family searched (the one chosen, for ``basis="auto"``).
    candidates : dict
        Per family tried: ``{"found", "independent", "smallest_residual"}``, and
        ``"not_searched"`` with the reason for a family left out (too many functions for the
        data, or more than ``MAX_FUNCTIONS``).
    formulation : str
        ``strong`` (derivatives) or ``weak`` (test functions; :func:`conserved_from_data`).
    rejected : list of (ConservedQuantity, str)
        Directions the search found that a final check rejected, with the reason
        (:func:`conserved_from_data`: drift along the held-out samples).
    criterion : str
        ``relative`` (``singular_values`` are relative residuals) or ``noise``
        (:func:`conserved_from_data` in the weak form: they are in units of the noise floor).

    It unpacks as ``quantities, singular_values``.
    """

    quantities: list
    singular_values: np.ndarray
    basis: str = "poly"
    candidates: dict = field(default_factory=dict)
    formulation: str = "strong"
    rejected: list = field(default_factory=list)
    criterion: str = "relative"

    @property
    def independent(self) -> int:
        """How many of the quantities are functionally independent."""
        return sum(bool(q.independent) for q in self.quantities)

    def __iter__(self):
        return iter((self.quantities, self.singular_values))


class UndeterminedSearch(ValueError):
    """Fewer equations than candidate functions: the data cannot decide what is conserved."""


#: Relative gradient rank below which a quantity counts as a function of the earlier ones.
DEPENDENCE_TOL = 0.02
#: A null direction counts as new (not in the span of earlier quantities and their products)
#: when its distance to that span, in the metric ``RMS |grad C| |f|``, exceeds this.
NEW_DIRECTION = 0.5


def _scaled_svd(W: np.ndarray, cols: np.ndarray):
    """``(sc, s, Vt)``: the column norms ``sc`` of ``W[:, cols]`` (1 where zero) and the singular
    values and right singular vectors of ``W[:, cols] / sc``."""
    Wc = W[:, cols]
    sc = np.linalg.norm(Wc, axis=0)
    sc[sc == 0] = 1.0
    _, s, Vt = np.linalg.svd(Wc / sc, full_matrices=False)
    return sc, s, Vt


def _whitened_null(G: np.ndarray, W: np.ndarray, cols: np.ndarray, svd=None):
    """Directions ``c`` (over ``cols``) ordered by ``|G c| / |W c|``, ascending, with ``|W c| = 1``.

    Returns ``(ratios, C)`` with ``C`` of shape ``(len(cols), r)``; combinations whose gradient
    (``W c``) vanishes on the points are left out, so a family whose functions nearly coincide
    on the data's range cannot pass them off as conserved.  ``svd``: :func:`_scaled_svd` of
    ``W`` over ``cols``, when already computed.
    """
    sc, s, Vt = _scaled_svd(W, cols) if svd is None else svd
    keep = s > 1e-9 * max(s[0], 1e-300)
    T = (Vt[keep].T / s[keep]) / sc[:, None]
    Gt = G[:, cols] @ T
    _, sg, Vg = np.linalg.svd(Gt, full_matrices=True)
    r = T.shape[1]
    ratios = np.zeros(r)
    ratios[: len(sg)] = sg
    order = np.argsort(ratios)
    return ratios[order], T @ Vg.T[:, order]


def _orth(M: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    if M.size == 0:
        return np.zeros((M.shape[0], 0))
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    return U[:, s > tol * max(s[0], 1e-300)] if len(s) else np.zeros((M.shape[0], 0))


def _pivot_reduce(rows: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``rows`` with the pivot entries of ``known`` (reduced row echelon form, full pivoting) eliminated."""
    if known.shape[0] == 0:
        return rows
    R, pivots = rref(known, tol=1e-9, relative=True, full=True, pivots=True)
    rows = rows.copy()
    for r, c in zip(R, pivots):
        rows -= np.outer(rows[:, c], r)
    return rows


def _products(selected, basis, level):
    """Coefficient vectors of the products of ``selected`` quantities whose levels add to at most
    ``level`` and that the family can express (``L**2``, ``H*L``, ...)."""
    out = []
    idx = [i for i, q in enumerate(selected) if q.level >= 1]
    for size in range(2, level + 1):
        for combo in itertools.combinations_with_replacement(idx, size):
            if sum(selected[i].level for i in combo) > level:
                continue
            vec = basis.coefficients(_expand(sp.Mul(*[selected[i].expr for i in combo])))
            if vec is not None and np.any(vec):
                out.append(vec)
    return out


def _gradient_rank_ratio(grads: np.ndarray, coefs: np.ndarray) -> float:
    """Median over the points of the smallest singular value of the unit-normalised gradients of
    the quantities ``coefs`` (rows), from the family's gradients ``grads`` ``(m, K, n)`` there:
    about 0 when the last is a function of the others."""
    if coefs.shape[0] > coefs.shape[1]:
        return 0.0
    return last_rank_ratio(np.einsum("mkn,qk->mnq", grads, coefs))


def last_rank_ratio(J: np.ndarray) -> float:
    """Median over the points of the smallest singular value of the unit-normalised gradients
    ``J`` ``(m, n, q)`` of ``q`` functions: about 0 when the last is a function of the others
    (independent when above ``DEPENDENCE_TOL``)."""
    if J.shape[2] > J.shape[1]:
        return 0.0
    norms = np.linalg.norm(J, axis=1, keepdims=True)
    ok = np.all(norms[:, 0, :] > 1e-12 * max(float(norms.max()), 1e-300), axis=1) & np.all(np.isfinite(J), axis=(1, 2))
    if not np.any(ok):
        return 0.0
    s = np.linalg.svd(J[ok] / norms[ok], compute_uv=False)
    return float(np.median(s[:, -1]))


def _strong_rows(basis, x, v):
    """``(G, W, x)``: ``grad phi_k . v`` and ``|v| grad phi_k`` at the valid points, scaled to RMS."""
    x, v = np.asarray(x, float), np.asarray(v, float)
    ok = basis.valid(x) & np.all(np.isfinite(v), axis=1)
    x, v = x[ok], v[ok]
    grads = basis.gradients(x)  # (m, K, n)
    good = np.all(np.isfinite(grads), axis=(1, 2))
    x, v, grads = x[good], v[good], grads[good]
    m, K, n = grads.shape
    if m == 0:
        return np.zeros((0, K)), np.zeros((0, K)), x
    G = np.einsum("mkn,mn->mk", grads, v) / np.sqrt(m)
    W = (grads * np.linalg.norm(v, axis=1)[:, None, None]).transpose(0, 2, 1).reshape(m * n, K) / np.sqrt(m)
    return G, W, x


def _weak_rows(basis, xs, ts, xs_s, vs, weak=None):
    """``(G, W, x, N)`` in the weak form: rows ``-int phi_j' phi_k(x(t)) dt`` per test function
    (a local average of ``d phi_k / dt``, no derivative of the data needed); ``W`` as in the
    strong form, from the smoothed states ``xs_s`` and velocities ``vs`` (it only sets the scale);
    ``N`` the noise floor of ``G``: ``|N c|^2`` is the expected ``|G c|^2`` that measurement noise
    alone gives a conserved ``C`` (:func:`_noise_rows`)."""
    from .weak import WeakForm, skipped_text

    weak = WeakForm() if weak is None else weak
    rows, noise, skipped = [], [], []
    for j, (t, x) in enumerate(zip(ts, xs)):
        x = np.asarray(x, float)
        if not np.all(basis.valid(x)):
            skipped.append((j, "states outside the family's domain"))
            continue
        try:
            tf = weak.test_functions(t, x)
        except ValueError as exc:
            skipped.append((j, str(exc)))
            continue
        _, Vd = tf.matrices()
        g = -np.asarray(Vd @ basis.values(x))
        ok = np.all(np.isfinite(g), axis=1) & _moving(Vd, x)
        rows.append(g[ok])
        noise.append(_noise_rows(basis, x, Vd[np.flatnonzero(ok)]))
    if not rows:
        from .weak import WeakFormUnavailable

        raise WeakFormUnavailable(f"weak form: no trajectory can host a test function ({skipped_text(skipped)})")
    G = np.vstack(rows)
    N = np.vstack(noise)
    _, W, x = _strong_rows(basis, np.vstack(xs_s), np.vstack(vs))
    rms = np.sqrt(max(len(G), 1))
    return G / rms, W, x, N / rms


#: a test function's window counts as motion when some variable's local mean velocity exceeds
#: this many times what the noise alone gives it
MOTION_TOL = 3.0


def _moving(Vd, x) -> np.ndarray:
    """Test functions over whose window the state moves beyond its noise.

    Where the state rests, every function of it is constant, so the window says nothing about
    which quantities are conserved; left in, such windows add noise to every direction's
    residual and dilute the evidence of the windows where the state moves (three Kuramoto
    oscillators settle to a locked state, on which a single phase looks conserved).  A window
    moves when some variable's ``|int phi' x|`` exceeds ``MOTION_TOL`` times its noise,
    ``sigma |phi'|``, and 1e-3 of that variable's largest such value on the trajectory.
    """
    from scipy import sparse

    from .weak import estimate_noise

    Vd = sparse.csr_matrix(Vd)
    motion = np.abs(np.asarray(Vd @ x))  # (K, n)
    try:
        sigma = estimate_noise(x)
    except ValueError:
        sigma = np.zeros(x.shape[1])
    norm = np.sqrt(np.asarray(Vd.multiply(Vd).sum(axis=1)).ravel())  # (K,)
    floor = np.maximum(MOTION_TOL * norm[:, None] * sigma[None, :], 1e-3 * motion.max(axis=0, initial=0.0)[None, :])
    return np.any(motion > floor, axis=1)


def _noise_rows(basis, x, Vd):
    """Rows ``N`` with ``|N c|^2 = E |Vd (C(x + e) - C(x))|^2`` to first order, for independent
    noise ``e`` of the standard deviation :func:`symsindy.weak.estimate_noise` gives each
    variable: ``sum_i (sum_j Vd[j, i]^2) sum_l sigma_l^2 (d_l C(x_i))^2``, so that the weak
    residual of a conserved quantity is about ``|N c|``."""
    from scipy import sparse

    from .weak import estimate_noise

    K = len(basis)
    try:
        sigma = estimate_noise(x)
    except ValueError:
        return np.zeros((0, K))
    Vd = sparse.csr_matrix(Vd)
    w = np.asarray(Vd.multiply(Vd).sum(axis=0)).ravel()
    use = w > 0
    grads = basis.gradients(x[use])  # (m, K, n)
    good = np.all(np.isfinite(grads), axis=(1, 2))
    scaled = grads[good] * (np.sqrt(w[use][good])[:, None, None] * sigma[None, None, :])
    return scaled.transpose(0, 2, 1).reshape(-1, K)


def _tidy(row, scale, G, M, level_tol, cut, polynomial, noise=False):
    """``(ratio, coefficients)`` of a readable row: entries below ``level_tol`` of the largest
    (in units of each function's gradient size) set to zero, unless that would lift the ratio
    ``|G c| / |M c|`` above both twice its value and half the line ``cut`` that made it
    conserved (in noise units, ``noise``: above the cut or 1.25 times its value), in which case
    a smaller cut is used.  The sign makes most polynomial coefficients positive
    (``p**2/2 - 1/r``, not ``1/r - p**2/2``)."""

    def resid(c):
        return float(np.linalg.norm(G @ c) / max(np.linalg.norm(M @ c), 1e-300))

    raw = row / scale
    base = resid(raw)
    big = np.max(np.abs(row))
    # in noise units a conserved quantity sits at about 1: zeroing a coefficient the data do not
    # determine moves it little, while dropping a real term lifts it well above
    limit = min(cut, 1.25 * base) if noise else max(2.0 * base, 0.5 * cut)
    for cut_k in (level_tol, level_tol / 10, level_tol / 100, 0.0):
        c = np.where(np.abs(row) < cut_k * big, 0.0, row) / scale
        r = resid(c)
        if r <= limit + 1e-15:
            break
    c = c / np.max(np.abs(c))
    if np.sum(np.sign(c[polynomial])) < 0:
        c = -c
    return r, c


#: A sparser support is kept when its refitted quantity's residual in noise units is at most
#: this many times the dense one's.
SPARSE_SLACK = 1.1
#: Contiguous blocks of weak rows left out in turn to measure how well the data determine a
#: quantity (:func:`_refit_spread`).
JACKKNIFE_BLOCKS = 8


def _support_fit(A, B, cols, pivot):
    """``(ratio, c)``: over the functions ``cols`` (containing ``pivot``), the direction with the
    smallest ``|G c| / |D c|``, from the Gram matrices ``A = G^T G`` and ``B = D^T D`` (``D`` the
    noise floor), scaled to ``c[pivot] = 1``; ``(inf, None)`` when it does not involve the pivot.

    The ratio, not least squares with the pivot fixed: every column of ``G`` carries noise, and
    least squares would shrink the other coefficients (errors in variables)."""
    import scipy.linalg as sla

    cols = np.asarray(cols, int)
    Bs = B[np.ix_(cols, cols)]
    # whiten by B over the directions it resolves (functions that coincide on the data drop out)
    w, U = np.linalg.eigh(Bs)
    keep = w > 1e-12 * max(float(w.max()), 1e-300)
    T = U[:, keep] / np.sqrt(w[keep])
    lam, V = sla.eigh(T.T @ A[np.ix_(cols, cols)] @ T)
    c = np.zeros(A.shape[0])
    c[cols] = T @ V[:, 0]
    if abs(c[pivot]) <= 1e-6 * np.max(np.abs(c)):
        return float("inf"), None
    return float(np.sqrt(max(lam[0], 0.0))), c / c[pivot]


def _unresolved(svd, cols, K, rel) -> np.ndarray:
    """Coefficient vectors (columns, over all ``K`` functions) of the combinations of the functions
    ``cols`` whose gradient the points barely see: singular value of ``W`` with its columns scaled
    to unit norm (``svd``, :func:`_scaled_svd` over ``cols``; the search has at least as many rows
    as functions, so ``Vt`` holds every direction) below ``rel`` times the largest."""
    sc, sv, Vt = svd
    s_all = np.zeros(Vt.shape[0])
    s_all[: len(sv)] = sv
    low = s_all < rel * max(float(s_all.max(initial=0.0)), 1e-300)
    out = np.zeros((K, int(low.sum())))
    out[cols] = (Vt[low] / sc).T
    return out


def _sparsest(row, scale, slack, G, W, cut, level, moving) -> np.ndarray:
    """``row`` (scaled coefficients, as :func:`_tidy` takes them) plus the combination of the
    ``slack`` columns (raw coefficients) with the smallest sum of scaled coefficient sizes (a
    linear program), if its ratio ``|G c| / |W c|`` stays below the line ``cut`` and within twice
    the row's own, ``level`` (the largest ratio of the directions taken as conserved) or a
    hundredth of ``cut`` (rounding, for exact right-hand sides); else ``row``.  ``moving``: the
    functions not constant on the points."""
    from scipy.optimize import linprog

    if slack.shape[1] == 0:
        return row
    c0 = row / scale
    M = slack * scale[:, None]  # in scaled units, as row
    M = M[:, np.linalg.norm(M, axis=0) > 0]
    if M.shape[1] == 0:
        return row
    M = M / np.linalg.norm(M, axis=0)
    K, k = M.shape
    # minimise sum t  subject to  -t <= row + M y <= t
    cost = np.concatenate([np.zeros(k), np.ones(K)])
    eye = np.eye(K)
    A_ub = np.block([[M, -eye], [-M, -eye]])
    b_ub = np.concatenate([-row, row])
    bounds = [(None, None)] * k + [(0, None)] * K
    res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if not res.success:
        return row
    new = row + M @ res.x[:k]
    # entries at the linear program's tolerance are its rounding, not terms
    new = np.where(np.abs(new) > 1e-8 * max(float(np.abs(new).max(initial=0.0)), 1e-300), new, 0.0)
    if not np.any(new):
        return row

    def ratio(c):
        return float(np.linalg.norm(G @ c) / max(np.linalg.norm(W @ c), 1e-300))

    base = ratio(c0)
    # a function constant on the points (the constant itself) adds nothing to a conserved quantity
    new = np.where(moving, new, 0.0)
    if not np.any(new):
        return row
    cand = new / scale
    if ratio(cand) <= min(cut, max(2.0 * base, level, 0.01 * cut)):
        return new
    return row


def _added_ratios(A, B, support, rest, pivot) -> np.ndarray:
    """The ratio :func:`_support_fit` gives on ``support + [j]`` for every ``j`` in ``rest`` (``inf``
    where the direction leaves out the pivot; NaN where ``B`` is singular on ``support + [j]``), from
    one decomposition over ``support``.

    Over ``support`` the directions ``Q`` are ``B``-orthonormal and ``A``-diagonal (eigenvalues
    ``lam``); a function ``j`` adds the ``B``-orthogonal direction ``u``, and the smallest eigenvalue
    of ``A`` on ``[Q, u]`` is that of an arrow matrix, the root below ``min(lam_0, u^T A u)`` of the
    secular equation ``d - mu - sum a_i^2 / (lam_i - mu) = 0``, found by bisection for every ``j`` at
    once: a step of the forward selection costs one decomposition of the support instead of one per
    candidate (on the 494 quartic functions of an 8-variable chain a search had taken over an hour)."""
    S = np.asarray(support, int)
    J = np.asarray(rest, int)
    out = np.full(len(J), np.inf)
    if len(J) == 0:
        return out
    w, U = np.linalg.eigh(B[np.ix_(S, S)])
    wmax = max(float(w.max()), 1e-300)
    keep = w > 1e-12 * wmax
    if not keep.any():
        return np.full(len(J), np.nan)
    T = U[:, keep] / np.sqrt(w[keep])
    lam, V = np.linalg.eigh(T.T @ A[np.ix_(S, S)] @ T)
    Q = T @ V  # (|S|, r)
    bJ = Q.T @ B[np.ix_(S, J)]  # (r, nJ)
    beta = np.diag(B)[J] - np.sum(bJ * bJ, axis=0)
    ok = beta > 1e-12 * np.maximum(wmax, np.diag(B)[J])
    qa = Q.T @ A[np.ix_(S, J)]  # (r, nJ)
    sb = np.sqrt(np.where(ok, beta, 1.0))
    a = (qa - lam[:, None] * bJ) / sb
    d = (np.diag(A)[J] - 2.0 * np.sum(bJ * qa, axis=0) + np.sum(lam[:, None] * bJ * bJ, axis=0)) / sb**2
    hi = np.minimum(lam[0], d)
    lo = hi - np.linalg.norm(a, axis=0) - 1e-300
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        gap = lam[:, None] - mid[None, :]
        f = d - mid - np.sum(a * a / np.where(gap > 0, gap, np.inf), axis=0)
        pos = f > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    mu = 0.5 * (lo + hi)
    # the eigenvector, with unit weight on u: y_i = a_i / (mu - lam_i) over Q
    gap = mu[None, :] - lam[:, None]
    on_u = np.all(np.abs(gap) > 1e-12 * np.maximum(np.abs(lam[:, None]), 1e-300), axis=0)
    y = a / np.where(on_u, gap, 1.0)
    cS = Q @ (y - bJ / sb)  # (|S|, nJ): coefficients over the support
    cj = 1.0 / sb
    big = np.maximum(np.max(np.abs(cS), axis=0), np.abs(cj))
    ip = int(np.flatnonzero(S == pivot)[0])
    has = np.abs(cS[ip]) > 1e-6 * big
    # mu at lam_0 (u does not couple to the lowest direction): the support's own direction
    c0 = Q[:, 0]
    own = abs(c0[ip]) > 1e-6 * np.max(np.abs(c0))
    ratio = np.sqrt(np.maximum(mu, 0.0))
    out = np.where(on_u, np.where(has, ratio, np.inf), np.where(own, ratio, np.inf))
    # where B on the support and j is singular, the search drops a direction the support alone
    # does not have: NaN, for the caller to fit exactly
    return np.where(ok, out, np.nan)


def _sparse_refit(pivot, allowed, A, B, cut):
    """``(ratio, coefficients, support)``: the quantity on the pivot's function and the fewest
    others (forward selection: each step adds the function that lowers the residual in noise
    units most) whose residual is within ``SPARSE_SLACK`` of the one on all ``allowed``
    functions and below ``cut``.

    Thresholding the dense direction would keep the terms the noise put there; the energy of a
    pendulum, written with ``cos(theta)``, ``theta**2`` and ``theta*sin(theta)`` (nearly
    dependent on its orbits), comes out as ``omega**2/2 - g cos(theta)`` only when the support
    is searched."""
    allowed = sorted(set(int(j) for j in allowed) | {int(pivot)})
    dense_ratio, dense = _support_fit(A, B, allowed, pivot)
    if dense is None:
        return dense_ratio, None, allowed
    limit = min(cut, SPARSE_SLACK * dense_ratio)
    support = [int(pivot)]
    ratio, c = _support_fit(A, B, support, pivot)
    rest = [j for j in allowed if j != pivot]
    while not (c is not None and ratio <= limit + 1e-15) and rest:
        fast = _added_ratios(A, B, support, rest, pivot)
        finite = np.isfinite(fast)
        best = fast[finite].min() if finite.any() else np.inf
        # the fast ratios agree with the exact ones to rounding: the candidates near the best, and
        # any it could not score, are fitted exactly and the first smallest kept, as over all
        near = np.flatnonzero(np.isnan(fast) | (finite & (fast <= best * (1 + 1e-6))))
        tries = [(_support_fit(A, B, support + [rest[i]], pivot), rest[i]) for i in near]
        (ratio, c), j = min(tries, key=lambda t: t[0][0]) if tries else ((np.inf, None), rest[0])
        if not np.isfinite(ratio):  # no candidate keeps the pivot: the first, as over all
            j = rest[0]
            ratio, c = _support_fit(A, B, support + [j], pivot)
        support.append(j)
        rest.remove(j)
    if c is None:
        return dense_ratio, dense, allowed
    return ratio, c, sorted(support)


def _refit_spread(A, B, blocks, c, support, pivot, scale) -> float | None:
    """How well the data determine the quantity ``c``: the delete-a-block jackknife spread of its
    support refit (``blocks`` the Gram matrices of contiguous blocks of weak rows, so that
    overlapping test functions leave together), ``sqrt((B - 1) mean |s (c_b - c)|^2) / |s c|``
    with ``s`` each function's gradient size on the data: a relative change of the coefficients
    that counts each term on its own, so that terms nearly collinear on the data (``x**2`` and
    ``x**4`` on a small orbit) are not let off by cancelling; None without blocks."""
    if len(blocks) < 2:
        return None
    ref = max(np.linalg.norm(scale * c), 1e-300)
    dev = []
    for Ab in blocks:
        _, cb = _support_fit(A - Ab, B, support, pivot)
        if cb is None:
            return float("inf")
        dev.append(np.linalg.norm(scale * (cb - c)) / ref)
    return float(np.sqrt((len(blocks) - 1) * np.mean(np.square(dev))))


def _block_grams(G, blocks: int = JACKKNIFE_BLOCKS) -> list[np.ndarray]:
    """``G_b^T G_b`` for ``blocks`` contiguous blocks of the rows of ``G`` (none with too few rows)."""
    m = len(G)
    if m < 2 * blocks:
        return []
    edges = np.linspace(0, m, blocks + 1).astype(int)
    return [G[a:b].T @ G[a:b] for a, b in zip(edges[:-1], edges[1:])]


#: Straight from noisy data (weak form), a direction is conserved when its weak residual is at
#: most this many times the one measurement noise alone gives a conserved quantity ...
NOISE_TOL = 1.5
#: ... and the next direction's is at least this many times larger.
NOISE_GAP = 1.5
#: A weak residual below this fraction of the noise floor is implausible for noise of the
#: estimated size (it signals an overestimated noise level, not a conserved quantity).
MIN_NOISE_RATIO = 0.5
#: Relative rate of change ``|grad C . f| / (|grad C| |f|)`` counted as noise on top of the
#: measured noise floor, so that noise-free data do not hold every quantity to quadrature error.
RELATIVE_FLOOR = 1e-3


def noise_nullity(ratios, *, noise_tol: float = NOISE_TOL, noise_gap: float = NOISE_GAP) -> int:
    """Number of conserved directions from their residuals in noise units (ascending).

    The largest ``d`` with ``ratios[d-1] <= noise_tol`` and ``ratios[d] >= noise_gap *
    ratios[d-1]``; 0 when there is none.  At least one direction must be seen to change
    (``d < len(ratios)``): where every candidate is within the noise, the data cannot tell a
    conserved quantity from any other.
    """
    s = np.asarray(ratios, float)
    best = 0
    for d in range(1, len(s)):
        if s[d - 1] > noise_tol:
            break
        if s[d] >= noise_gap * max(s[d - 1], 1e-300):
            best = d
    return best


def _gap_levels(s: np.ndarray, d: int) -> tuple[float, float, float, float]:
    """``(cut, sref, level_tol, unresolved)`` for the ``d`` conserved directions of the ascending
    spectrum ``s``: the line between them and the rest (geometric mean across the gap), the largest
    conserved ratio, the tolerance of reading coefficients, and the level below which combinations
    of the functions are not resolved by the points (adding them changes nothing measurable)."""
    sref = float(s[d - 1])
    cut = float(np.sqrt(max(sref, 1e-300) * s[d])) if d < len(s) else max(10.0 * sref, 1e-12)
    return cut, sref, max(1e-10, 10.0 * sref), float(np.clip(100.0 * sref, 1e-9, 1e-3))


def _search(basis, G, W, x, max_null, min_gap, nullity, noise=None, noise_tol=NOISE_TOL, noise_gap=NOISE_GAP):
    """Conserved combinations of ``basis``: directions ``c`` with ``|G c| / |W c|`` small, level by
    level; ``x`` are the points of the functional-independence test.

    With ``noise`` (rows whose ``|N c|`` is the weak residual noise alone gives, from
    :func:`_weak_rows`), directions are judged in noise units, ``|G c| / |D c|`` with
    ``|D c|^2 = |N c|^2 + (RELATIVE_FLOOR |W c|)^2``, by :func:`noise_nullity`; otherwise by the
    gap rule on the relative residual (``max_null``, ``min_gap``)."""
    from .discover import select_nullity

    K = len(basis)
    if len(G) < K or len(W) == 0:
        # fewer equations than candidate functions: every direction would look conserved
        raise UndeterminedSearch(
            f"conserved quantities: {len(G)} equations for {K} candidate functions "
            f"({basis.describe()}); lower the degree or give more data"
        )
    levels = np.asarray(basis.levels)
    n_max = len(basis.variables) - 1
    metric = W if noise is None else np.vstack([noise, RELATIVE_FLOOR * W])
    s_all, C_all = _whitened_null(G, metric, np.arange(K))
    if nullity is not None:
        d = int(nullity)
    elif noise is None:
        d = select_nullity(s_all, max_null=max_null, min_gap=min_gap)
    else:
        d = noise_nullity(s_all, noise_tol=noise_tol, noise_gap=noise_gap)
    d = min(d, len(s_all))
    # no gap over the whole family: each level's own spectrum is judged by the gap rule (a large
    # family's highest level can fill the gap a lower level shows: a fitted Toda model's energy
    # sits at 1e-5 below a floor of 3.5e-3 among its 69 functions of level <= 2, and among all
    # 251 of level <= 3 the functions of the invariants they nearly represent start at 3.8e-5)
    per_level = d == 0 and nullity is None and noise is None
    if d == 0 and not per_level:
        return [], s_all
    # set per level below when per_level
    cut, sref, level_tol, unresolved = (np.nan,) * 4 if per_level else _gap_levels(s_all, d)
    scale = np.linalg.norm(W, axis=0)
    moving = scale > 1e-12 * max(float(scale.max(initial=0.0)), 1e-300)  # not constant on the points
    scale[scale == 0] = 1.0
    if noise is not None:
        # coefficients are read to the relative residual of the conserved directions
        rel = np.linalg.norm(G @ C_all[:, :d], axis=0) / np.maximum(np.linalg.norm(W @ C_all[:, :d], axis=0), 1e-300)
        level_tol = float(np.clip(10.0 * np.max(rel), 1e-10, 0.1))
        grams = (G.T @ G, metric.T @ metric, _block_grams(G))
    xs = basis.symbols
    polynomial = np.array([bool(f.is_polynomial(*xs)) for f in basis.functions], dtype=bool)
    selected: list[ConservedQuantity] = []
    coefs: list[np.ndarray] = []
    # the family's gradients at (at most 400 of) the points, for the independence test
    pick = np.linspace(0, len(x) - 1, min(len(x), 400)).astype(int)
    grads_x = basis.gradients(np.asarray(x)[pick])
    for g in sorted(set(levels.tolist())):
        cols = np.flatnonzero(levels <= g)
        # the metric's decomposition over the level's functions, shared with _unresolved below
        svd_g = _scaled_svd(metric, cols)
        s_g, C_g = _whitened_null(G, metric, cols, svd_g)
        if per_level:
            d_g = select_nullity(s_g, max_null=max_null, min_gap=min_gap)
            if d_g == 0:
                continue
            cut, sref, level_tol, unresolved = _gap_levels(s_g, d_g)
        k = int(np.sum(s_g <= cut))
        if k == 0:
            continue
        N = np.zeros((K, k))
        N[cols] = C_g[:, :k]
        S = coefs + _products(selected, basis, g)
        if S:
            Q = _orth(W @ np.column_stack(S))
            WN = W @ N
            M = WN - Q @ (Q.T @ WN)
            _, sm, Vm = np.linalg.svd(M, full_matrices=False)
            r = int(np.sum(sm > NEW_DIRECTION))
            if r == 0:
                continue
            new = (N @ Vm[:r].T).T
            # readable: eliminate what is already known (its pivots), then reduced row echelon form
            new = _pivot_reduce(new * scale, np.array(S) * scale)
            U, sn, Vt = np.linalg.svd(new, full_matrices=False)
            new = Vt[:r]
        else:
            r = k
            new = (N * scale[:, None]).T
        rows, piv = rref(
            new / np.max(np.abs(new), axis=1, keepdims=True), tol=level_tol, relative=True, full=True, pivots=True
        )
        if noise is None:
            # each row's sparsest equivalent: plus known quantities and directions the points do
            # not resolve (combinations of nearly dependent functions), which change neither
            # whether it is conserved nor what it is on the data, only how it reads
            slack = np.column_stack(
                [np.zeros((K, 0))] + [np.array(S).T] * bool(S) + [_unresolved(svd_g, cols, K, unresolved)]
            )
            cand = [
                (
                    *_tidy(
                        _sparsest(row, scale, slack, G, W, cut, sref, moving),
                        scale,
                        G,
                        W,
                        level_tol,
                        cut,
                        polynomial,
                    ),
                    None,
                )
                for row in rows
            ]
        else:
            # a sparse refit per row, on its level's functions, never on another row's pivot or
            # on a known quantity's (which would fold an earlier quantity back in)
            known = rref(np.array(S) * scale, tol=1e-9, relative=True, full=True, pivots=True)[1] if S else []
            cand = []
            for row, p in zip(rows, piv):
                allowed = [j for j in cols if j not in set(piv) - {p} and j not in set(known)]
                ratio, c, support = _sparse_refit(p, allowed, grams[0], grams[1], cut)
                if c is None:
                    ratio, c = _tidy(row, scale, G, metric, level_tol, cut, polynomial, True)
                    spread = float("inf")
                else:
                    spread = _refit_spread(grams[0], grams[1], grams[2], c, support, p, scale)
                c = c / np.max(np.abs(c))
                if np.sum(np.sign(c[polynomial])) < 0:
                    c = -c
                cand.append((ratio, c, spread))
        for ratio, c, spread in sorted(cand, key=lambda t: t[0]):
            expr = _expand(basis.expression(c, number=_rational))
            resid = ratio if noise is None else float(np.linalg.norm(G @ c) / max(np.linalg.norm(W @ c), 1e-300))
            earlier = [q for q, s in zip(coefs, selected) if s.independent]
            # a moving state has at most n - 1 independent first integrals (their gradients are normal to f)
            indep = len(earlier) < n_max and _gradient_rank_ratio(grads_x, np.array([*earlier, c])) > DEPENDENCE_TOL
            q = ConservedQuantity(expr, resid, int(g), bool(indep), basis.name)
            q.noise_ratio = None if noise is None else float(ratio)
            if noise is not None:
                nf, rf = np.linalg.norm(noise @ c), RELATIVE_FLOOR * np.linalg.norm(W @ c)
                q.noise_share = float(nf / max(np.hypot(nf, rf), 1e-300))
            q.spread = spread
            selected.append(q)
            coefs.append(c)
    return selected, s_all


def _points(basis, x_samples, n_points, rng):
    """Generic points: uniform in the data's bounding box (10% margin) inside the family's
    domain, or standard normal without data."""
    if x_samples is None:
        pts = rng.normal(size=(n_points, len(basis.variables)))
        return pts[basis.valid(pts)]
    # generic points of the data's bounding box: states on a few trajectories would make
    # any function constant on those curves look conserved
    x = np.vstack(x_samples) if isinstance(x_samples, (list, tuple)) else np.asarray(x_samples, float)
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-3 * np.maximum(np.abs(hi), 1.0))
    lo, hi = basis.box(lo, hi, pad)
    pts = rng.uniform(lo, hi, size=(n_points, len(basis.variables)))
    if basis.positions:
        # away from the singular set |q| = 0, as the data are
        qn = np.linalg.norm(x[:, list(basis.positions)], axis=1)
        pts = pts[np.linalg.norm(pts[:, list(basis.positions)], axis=1) >= 0.5 * float(qn.min())]
    return pts[basis.valid(pts)]


def _rhs_function(rhs, variables):
    xs = sp.symbols(list(variables))
    f = sp.lambdify(xs, list(rhs), modules="numpy")

    def call(x):
        x = np.atleast_2d(x)
        with np.errstate(all="ignore"):
            cols = f(*x.T)
        return np.column_stack([np.broadcast_to(np.asarray(c, float), (len(x),)) for c in cols])

    return call


def resolve_basis(basis, variables, degree, *, x_samples=None, positions=None):
    """An :class:`~symsindy.invariants.InvariantBasis` from a family name, a file of expressions,
    a list of expressions, or a basis itself."""
    from .invariants import FAMILIES, InvariantBasis, custom_basis, make_basis, read_basis_file

    if isinstance(basis, InvariantBasis):
        return basis
    if isinstance(basis, str):
        if basis in FAMILIES:
            return make_basis(basis, variables, degree, x_samples=x_samples, positions=positions)
        return read_basis_file(basis, variables, degree)
    return custom_basis(list(basis), variables, degree)


#: Largest family searched (its gradients are evaluated at 4 points per function).
MAX_FUNCTIONS = 600


def _families(basis, variables, degree, x_samples, positions):
    """``(bases, skipped)``: one basis, or for ``auto`` every family that applies to these data
    and is at most ``MAX_FUNCTIONS`` long (the longer ones named in ``skipped``)."""
    from .invariants import FAMILIES, POSITION_FAMILIES, has_default_positions, make_basis

    if not (isinstance(basis, str) and basis == "auto"):
        b = resolve_basis(basis, variables, degree, x_samples=x_samples, positions=positions)
        if len(b) > MAX_FUNCTIONS:
            raise ValueError(
                f"basis {b.name!r}: {len(b)} candidate functions at degree {degree}, more than "
                f"{MAX_FUNCTIONS}; lower the degree"
            )
        return [b], {}
    out, skipped = [], {}
    for name in FAMILIES:
        if name in POSITION_FAMILIES and positions is None and not has_default_positions(variables):
            continue
        b = make_basis(name, variables, degree, x_samples=x_samples, positions=positions)
        if name == "log" and not b.positive:
            continue
        if len(b) > MAX_FUNCTIONS:
            skipped[name] = f"{len(b)} candidate functions at degree {degree}: more than {MAX_FUNCTIONS}, not searched"
            continue
        out.append(b)
    if not out:
        raise ValueError(
            f"conserved quantities: every family has more than {MAX_FUNCTIONS} candidate functions at "
            f"degree {degree}; lower the degree"
        )
    return out, skipped


#: On a tie in the count of independent quantities, a richer family wins only when its largest
#: residual is this many times smaller than the simpler family's.
RICHER_FAMILY_GAIN = 3.0


def _run_families(families, search):
    """``([(basis, search(basis))], left out)`` over ``families`` (from :func:`_families`); a
    family the data cannot decide (:class:`UndeterminedSearch`) is left out when others remain,
    and named with the reason."""
    families, undetermined = families
    undetermined = dict(undetermined)
    results = []
    for b in families:
        try:
            results.append((b, search(b)))
        except UndeterminedSearch as exc:
            if len(families) == 1:
                raise
            undetermined[b.name] = str(exc)
    if not results:
        raise UndeterminedSearch("; ".join(undetermined.values()))
    return results, undetermined


def _choose(results, accept, undetermined=None):
    """The family with the most independent quantities that ``accept`` passes; on a tie the
    earlier (simpler) family, unless a later one fits clearly better (largest residual
    ``RICHER_FAMILY_GAIN`` times smaller)."""
    table, best = {}, None
    for name, why in (undetermined or {}).items():
        table[name] = {"found": 0, "independent": 0, "smallest_residual": None, "not_searched": why}
    for b, (found, sv) in results:
        passing = [q for q in found if accept is None or accept(q)]
        n_ind = sum(q.independent for q in passing)
        worst = max((q.residual if q.noise_ratio is None else q.noise_ratio for q in passing), default=float("inf"))
        table[b.name] = {
            "found": len(found),
            "independent": int(n_ind),
            "smallest_residual": float(sv[0]) if len(sv) else None,
        }
        if best is None or n_ind > best[0] or (n_ind == best[0] and n_ind > 0 and worst * RICHER_FAMILY_GAIN < best[1]):
            best = (n_ind, worst, b, found, sv)
    _, _, b, found, sv = best
    from .invariants import FAMILIES

    order = {name: k for k, name in enumerate(FAMILIES)}
    table = dict(sorted(table.items(), key=lambda kv: order.get(kv[0], len(order))))
    return InvariantSearch(list(found), np.asarray(sv, float), b.name, table)


def conserved_quantities(
    rhs: Sequence[sp.Expr],
    variables: Sequence[str],
    degree: int = 2,
    *,
    x_samples=None,
    max_null: float = 0.02,
    min_gap: float = 10.0,
    nullity: int | None = None,
    random_state=0,
    basis="poly",
    positions=None,
    accept=None,
    seed=None,
) -> InvariantSearch:
    """First integrals of ``x' = rhs`` over a candidate family, as an independent, readable set.

    Measured at generic points: uniform in the bounding box of ``x_samples`` (10% margin), or
    standard normal without data.  A direction ``c`` is scored by
    ``RMS(grad C . f) / RMS(|grad C| |f|)``, the relative residual the checks use; the gap rule
    of :func:`symsindy.discover.select_nullity` picks the conserved directions (``max_null``
    0.02: a damped oscillator whose decay rate is 5% of its frequency must not pass).

    Readable and independent: the search runs level by level (polynomial degree).  At each
    level, what lies in the span of the quantities already found and of their products
    (``L**2``, ``H*L``) is not new; the new directions are written in reduced row echelon
    form after eliminating the known ones, with simple rationals where they are exact.  A
    quantity whose gradient is (nearly) a combination of the earlier ones' gradients is
    marked ``independent=False``.

    Parameters
    ----------
    basis : str, list of expressions, or InvariantBasis
        ``"poly"`` (default), ``"log"``, ``"trig"``, ``"kepler"``, ``"exp"``, ``"chain"``,
        ``"spherical"``, ``"auto"`` (every family
        that applies; the one with most independent quantities that ``accept`` passes wins,
        ties to the simpler), a file of expressions, or expressions added to the polynomials.
        See :mod:`symsindy.invariants`.
    positions : list of str, optional
        Position variables for ``kepler``, ``exp``, ``chain`` and ``spherical`` (default: the
        first half of the variables).
    accept : callable, optional
        ``accept(quantity) -> bool``, the check ``auto`` counts by (default: all count).

    Returns
    -------
    InvariantSearch
        A list of :class:`ConservedQuantity` that unpacks as ``(quantities, singular values
        ascending)``, with the family used and the families tried.
    """
    from .base import resolve_random_state

    random_state = resolve_random_state(random_state, seed, "conserved_quantities")
    variables = list(variables)
    if len(rhs) != len(variables):
        raise ValueError(f"rhs: {len(rhs)} expressions for {len(variables)} variables")
    f = _rhs_function(rhs, variables)

    def search(b):
        rng = np.random.default_rng(random_state)
        pts = _points(b, x_samples, max(400, 4 * len(b)), rng)
        G, W, pts = _strong_rows(b, pts, f(pts))
        return _search(b, G, W, pts, max_null, min_gap, nullity)

    results, undetermined = _run_families(_families(basis, variables, degree, x_samples, positions), search)
    return _choose(results, accept, undetermined)


def per_quantity(fn):
    """``fn(quantity)`` computed once per quantity object (the quantity is kept with its value, so
    that the id of a discarded one is not reused)."""
    memo = {}

    def run(q):
        if id(q) not in memo or memo[id(q)][0] is not q:
            memo[id(q)] = (q, fn(q))
        return memo[id(q)][1]

    return run


def checked_search(rhs, variables, degree, check, **kwargs) -> tuple[InvariantSearch, list]:
    """:func:`conserved_quantities` whose ``auto`` family is chosen by ``check`` (a callable
    ``quantity -> QuantityCheck``), with every quantity's check: ``(search, checks)``."""
    run = per_quantity(check)
    search = conserved_quantities(rhs, variables, degree, accept=lambda q: run(q).conserved, **kwargs)
    return search, [run(q) for q in search.quantities]


def conserved_from_data(
    x,
    x_dot=None,
    variables=None,
    degree: int = 2,
    *,
    t=None,
    formulation: str = "strong",
    max_null: float = 0.02,
    min_gap: float = 10.0,
    nullity=None,
    basis="poly",
    positions=None,
    accept=None,
    weak=None,
    holdout: float = 0.1,
    held_out_tol: float = 0.05,
    criterion: str = "auto",
    noise_tol: float = NOISE_TOL,
    noise_gap: float = NOISE_GAP,
    spread_tol: float = 0.01,
) -> InvariantSearch:
    """First integrals straight from the data (no model), as :func:`conserved_quantities`.

    ``formulation="strong"`` uses the derivatives ``x_dot`` at the states ``x``.  ``"weak"``
    needs the times ``t`` (one array per trajectory) and no derivative: for test functions
    ``phi_j(t)`` inside each trajectory, a conserved ``C`` has ``int phi_j' C(x(t)) dt = 0``,
    linear in its coefficients, with noise entering only through integrals; ``x_dot`` (or a
    smoothed estimate) then only sets the scale.  ``"auto"`` is weak when times are given
    and derivatives are not.  ``weak`` is a :class:`~symsindy.weak.WeakForm` (default rules).

    Held-out drift is the final check: the last ``holdout`` of each trajectory's samples (0.1;
    at least 5 samples, else that trajectory is searched whole) is left out of the search, and a
    quantity whose drift along them (:func:`held_out_drift`) exceeds ``held_out_tol`` (0.05, the
    drift tolerance of :func:`check_quantity`) goes to ``rejected`` with that figure.  The family
    of ``basis="auto"`` is chosen among quantities that pass.  ``holdout=0`` searches everything
    and checks nothing held out.

    ``criterion`` says which directions count as conserved.  ``"noise"`` (the default of the weak
    form, ``"auto"``): a direction's weak residual is measured in units of the residual that
    measurement noise alone gives a conserved quantity, ``E|sum_i phi_j'(t_i) w_i grad C . e_i|^2``
    summed over the test functions, with each variable's noise level from
    :func:`symsindy.weak.estimate_noise` (a conserved quantity sits at about 1 whatever the noise
    level, the sampling or the test functions' width); the directions at most ``noise_tol``
    (1.5) with a gap of ``noise_gap`` (1.5) to the next are conserved (:func:`noise_nullity`).
    A relative rate of change of ``RELATIVE_FLOOR`` (1e-3) is added to the noise floor, for
    noise-free data.  Each direction is then made sparse (the sparsest support whose refit
    stays within the noise) and must be determined by the data: the jackknife spread of that
    refit over 8 contiguous blocks of test functions, as a relative change of its coefficients
    (each function scaled to its gradient size on the data), at most ``spread_tol`` (0.01; a
    larger one goes to ``rejected`` with the figure); one whose residual is below
    ``MIN_NOISE_RATIO`` (0.5) of a floor set by the measured noise is rejected too (there the
    noise estimate, an upper bound on coarse samples, does not hold).  A change confined to part of the data (a
    transient) is diluted in that average, so a quantity must also drift by at most
    ``held_out_tol`` along the searched samples, smoothed as the held-out ones.  ``"relative"`` (the strong form's): the
    gap rule on the relative residual ``RMS(dC/dt) / RMS(|grad C| |x'|)``, ``max_null`` and
    ``min_gap``, as
    :func:`conserved_quantities`.  A relative criterion misses invariants where noise sets the
    residual (slow phases, narrow test functions: the rigid body's quantities sit at 5% at 1%
    noise) and passes approximate ones where it does not.
    """
    from .base import validate_trajectories

    if variables is None:
        raise ValueError("variables: give the names of the state variables")
    if formulation not in ("strong", "weak", "auto"):
        raise ValueError(f"formulation {formulation!r}: expected strong, weak or auto")
    if formulation == "auto":
        formulation = "weak" if (t is not None and x_dot is None) else "strong"
    if formulation == "weak" and t is None:
        raise ValueError("formulation 'weak': give the sample times t")
    if formulation == "strong" and x_dot is None:
        raise ValueError("formulation 'strong': give the derivatives x_dot (or use the weak form with times t)")
    if not (isinstance(holdout, (int, float)) and 0 <= holdout < 1) or isinstance(holdout, bool):
        raise ValueError(f"holdout {holdout!r}: expected a fraction in [0, 1)")
    if criterion not in ("auto", "noise", "relative"):
        raise ValueError(f"criterion {criterion!r}: expected auto, noise or relative")
    if criterion == "noise" and formulation == "strong":
        raise ValueError("criterion 'noise': only in the weak form (give times t and no derivatives)")
    for label, v in (("noise_tol", noise_tol), ("noise_gap", noise_gap), ("spread_tol", spread_tol)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ValueError(f"{label} {v!r}: expected a positive number")
    use_noise = formulation == "weak" and criterion != "relative"
    xs, ts, dxs, variables = validate_trajectories(x, t, x_dot, variables)
    xs, ts, dxs, held = _split_holdout(xs, ts, dxs, holdout)
    x_all = np.vstack(xs)
    if formulation == "weak":
        if dxs is None:
            from .differentiation import estimate_derivatives

            xs_s, vs = estimate_derivatives(xs, ts)
        else:
            xs_s, vs = xs, dxs

        def search(b):
            G, W, pts, N = _weak_rows(b, xs, ts, xs_s, vs, weak)
            return _search(b, G, W, pts, max_null, min_gap, nullity, N if use_noise else None, noise_tol, noise_gap)
    else:
        v_all = np.vstack(dxs)

        def search(b):
            return _search(b, *_strong_rows(b, x_all, v_all), max_null, min_gap, nullity)

    results, undetermined = _run_families(_families(basis, variables, degree, x_all, positions), search)
    # the held-out samples are smoothed once; each quantity is then only evaluated along them
    smoothed = _smoothed(*held) if held[0] else None
    drift = per_quantity(lambda q: None if smoothed is None else _largest_drift(q.expr, variables, smoothed))
    # in noise units a change confined to part of the data (a transient before locking) is
    # averaged with the rest; along the smoothed searched samples it shows whole
    searched = _smoothed(xs, ts) if use_noise else None
    drift_searched = per_quantity(lambda q: None if searched is None else _largest_drift(q.expr, variables, searched))

    def plausible(q):
        # a residual far below what the noise must leave means the noise estimate is too large
        # for this quantity (coarse sampling makes it an upper bound), not that it is conserved
        return q.noise_share is None or q.noise_share < 0.5 or q.noise_ratio >= MIN_NOISE_RATIO

    def determined(q):
        return plausible(q) and (q.spread is None or q.spread <= spread_tol)

    def passes(q):
        # cheapest first: the drift needs the quantity compiled
        if not determined(q) or not (accept is None or accept(q)):
            return False
        d = drift(q)
        if not (d is None or d <= held_out_tol):
            return False
        d = drift_searched(q)
        return d is None or d <= held_out_tol

    out = _choose(results, passes, undetermined)
    out.formulation = formulation
    out.criterion = "noise" if use_noise else "relative"
    for q in out.quantities:
        q.held_out_drift = drift(q)
    out.rejected = [
        (q, f"drift along the held-out samples {q.held_out_drift:.2e} > {held_out_tol:g}")
        for q in out.quantities
        if q.held_out_drift is not None and not q.held_out_drift <= held_out_tol
    ]
    out.rejected += [
        (q, f"residual {q.noise_ratio:.2e} of the noise floor < {MIN_NOISE_RATIO:g}: the noise estimate does not hold")
        for q in out.quantities
        if not plausible(q) and all(q is not r for r, _ in out.rejected)
    ]
    out.rejected += [
        (q, f"not determined by the data: coefficient spread over blocks {q.spread:.2e} > {spread_tol:g}")
        for q in out.quantities
        if not determined(q) and all(q is not r for r, _ in out.rejected)
    ]
    for q in out.quantities:
        if all(q is not r for r, _ in out.rejected):
            d = drift_searched(q)
            if d is not None and not d <= held_out_tol:
                out.rejected.append((q, f"drift along the searched samples {d:.2e} > {held_out_tol:g}"))
    out.quantities = [q for q in out.quantities if all(q is not r for r, _ in out.rejected)]
    return out


#: Fewest held-out samples per trajectory that :func:`conserved_from_data` checks a quantity on.
MIN_HELD_OUT = 5


def _split_holdout(xs, ts, dxs, fraction):
    """The first ``1 - fraction`` of each trajectory (to search) and the rest (held out):
    ``(xs, ts, dxs, (held_xs, held_ts))``; a trajectory too short to spare ``MIN_HELD_OUT``
    samples is searched whole."""
    fit_x, fit_t, fit_d, held_x, held_t = [], [], [], [], []
    for k, (xi, ti) in enumerate(zip(xs, ts)):
        m = len(xi)
        n_held = int(np.floor(fraction * m))
        cut = m - n_held if n_held >= MIN_HELD_OUT and m - n_held >= MIN_HELD_OUT else m
        fit_x.append(xi[:cut])
        fit_t.append(ti if np.ndim(ti) == 0 else ti[:cut])
        if dxs is not None:
            fit_d.append(dxs[k][:cut])
        if cut < m:
            held_x.append(xi[cut:])
            held_t.append(ti if np.ndim(ti) == 0 else ti[cut:])
    return fit_x, fit_t, (fit_d if dxs is not None else None), (held_x, held_t)


def held_out_drift(expr, variables, xs, ts=None) -> float:
    """The largest relative drift ``(max C - min C) / scale`` of ``expr`` along trajectories
    ``xs``, evaluated on their states smoothed as the strong form smooths them
    (:func:`symsindy.differentiation.estimate_derivatives`, a noise-adaptive window), so that
    measurement noise is not counted as drift, and without the half window at each end where
    the smoother extrapolates; ``scale`` as in :func:`check_quantity`.
    ``ts``: the trajectories' times or steps (default unit steps)."""
    return _largest_drift(expr, variables, _smoothed(xs, ts))


def _smoothed(xs, ts=None) -> list[np.ndarray]:
    """States smoothed as the strong form smooths them (samples without a finite derivative
    dropped), without the half window at each end where the smoother's window does not fit
    (there it extrapolates a polynomial, and its error would count as drift); a segment too
    short to spare them is kept whole."""
    from .differentiation import AdaptiveSavitzkyGolay, estimate_derivatives

    xs = [np.asarray(xi, float) for xi in xs]
    ts = [1.0] * len(xs) if ts is None else list(ts)
    out = []
    for xi, si in zip(xs, estimate_derivatives(xs, ts)[0]):
        half = max(AdaptiveSavitzkyGolay().windows(xi), default=0) // 2 if len(xi) >= 7 else 0
        out.append(si[half : len(si) - half] if len(si) - 2 * half >= MIN_HELD_OUT else si)
    return out


def _largest_drift(expr, variables, trajectories) -> float:
    values, scale_of = _quantity_functions(expr, variables)
    return max(_drift(values(xi), scale_of(xi)) for xi in trajectories if len(xi))


#: A quantity found from the data alone must spread across trajectories by at least this
#: fraction of its range along one (:func:`trajectory_separation`).
SEPARATION_TOL = 0.1


def trajectory_separation(expr, variables, xs) -> float | None:
    """How well ``expr`` tells the trajectories apart: the spread of its median over the
    trajectories divided by its median range along one, or None with fewer than two.

    A first integral found from the data alone is only told apart from the equation of an
    attracting set (a limit cycle every trajectory approaches) by taking different values on
    different trajectories: well above 1 for an energy with different initial values, about 0
    or below 1 for a function that is constant on a shared attractor.
    """
    trajs = list(xs) if isinstance(xs, (list, tuple)) else [np.asarray(xs, float)]
    if len(trajs) < 2:
        return None
    xsym = sp.symbols(list(variables))
    f = sp.lambdify(xsym, expr, modules="numpy")
    meds, ranges = [], []
    for tr in trajs:
        tr = np.asarray(tr, float)
        with np.errstate(all="ignore"):
            v = np.broadcast_to(np.asarray(f(*tr.T), float), (len(tr),))
        v = v[np.isfinite(v)]
        if len(v) == 0:
            continue
        meds.append(float(np.median(v)))
        ranges.append(float(np.percentile(v, 95) - np.percentile(v, 5)))
    if len(meds) < 2:
        return None
    within = float(np.median(ranges))
    between = float(np.std(meds))
    return float("inf") if within == 0 and between > 0 else (between / within if within > 0 else 0.0)


def span_residual(q, quantities, variables) -> float:
    """Relative residual of ``q`` in the span of ``quantities`` and of their products up to
    ``q``'s level (its degree for polynomials): 0 when ``q`` is a polynomial in them of that
    size, 1 when nothing of it is.

    Terms are compared by their coefficients (a constant term is dropped: constants are
    conserved trivially).  With the readable basis of :func:`conserved_quantities`, a declared
    ``L**2`` or ``(g_x**2 + g_y**2)/2 - E`` lies in the span of the reported ``L``, ``g_x``,
    ``g_y`` and ``E``.
    """
    xs = [sp.Symbol(v) if isinstance(v, str) else v for v in variables]

    def terms(e):
        out = {}
        for c, k in _terms(e):
            if c.is_number:
                out[k] = out.get(k, 0.0) + float(c)
        return out

    tq = terms(q)
    if not tq:
        return 0.0
    top = max(_term_level(k, xs) for k in tq)
    quantities = [_expand(e) for e in quantities]
    levels = [max((_term_level(k, xs) for k in terms(e)), default=0) for e in quantities]
    span = [terms(e) for e in quantities if terms(e)]
    idx = [i for i, lv in enumerate(levels) if lv >= 1]
    for size in range(2, top + 1):
        for combo in itertools.combinations_with_replacement(idx, size):
            if sum(levels[i] for i in combo) <= top:
                span.append(terms(sp.Mul(*[quantities[i] for i in combo])))
    if not span:
        return 1.0
    keys = sorted({k for d in [tq, *span] for k in d}, key=sp.default_sort_key)
    B = np.array([[d.get(k, 0.0) for k in keys] for d in span]).T
    y = np.array([tq.get(k, 0.0) for k in keys])
    c, *_ = np.linalg.lstsq(B, y, rcond=None)
    return float(np.linalg.norm(B @ c - y) / np.linalg.norm(y))


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
        d = {
            "symbolic_residual": self.symbolic_residual,
            "drift_model": self.drift_model,
            "drift_data": self.drift_data,
            "conserved": bool(self.conserved),
        }
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


def _quantity_functions(expr, variables):
    """``values(traj)``: ``C`` along an (m, n) trajectory; ``scale_of(traj)``: the drift scale
    ``max(|mean C|, RMS |grad C| |x|)``, so that a quantity near zero is not judged by its own size."""
    xs = sp.symbols(list(variables))
    expr = sp.sympify(expr) if not isinstance(expr, sp.Basic) else expr
    expr = expr.xreplace({s: sp.Symbol(s.name) for s in expr.free_symbols if s.name in variables})
    fC = sp.lambdify(xs, expr, modules="numpy")
    fG = sp.lambdify(xs, [sp.diff(expr, x) for x in xs], modules="numpy")

    def values(traj):
        return np.broadcast_to(np.asarray(fC(*traj.T), float), (len(traj),))

    def scale_of(traj):
        g = np.column_stack([np.broadcast_to(np.asarray(c, float), (len(traj),)) for c in fG(*traj.T)])
        s = max(
            abs(float(np.mean(values(traj)))),
            float(np.sqrt(np.mean((np.linalg.norm(g, axis=1) * np.linalg.norm(traj, axis=1)) ** 2))),
        )
        return s if s > 0 else 1.0

    return values, scale_of


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
    """Check ``dC/dt = grad C · f`` symbolically and ``C`` along trajectories.

    The drift scale is ``max(|mean C|, RMS |grad C| |x|)`` over the data (or the model
    trajectory), so a quantity near zero is not judged by its own tiny size.
    ``x_data`` is an (m, n) trajectory or a list of them, ``t`` their times; the model is
    simulated from each trajectory's first state over the same times.
    Defaults: symbolic tolerance 1e-2 (fitted models carry small spurious terms), drift 0.05.
    """
    variables = list(variables)
    xs = sp.symbols(variables)
    expr = sp.sympify(expr) if not isinstance(expr, sp.Basic) else expr
    # symbols are matched by name (a quantity written with positive=True symbols is the same quantity)
    plain = {s: sp.Symbol(s.name) for s in expr.free_symbols if s.name in variables}
    expr = expr.xreplace(plain)
    rhs = [
        sp.sympify(f).xreplace({s: sp.Symbol(s.name) for s in sp.sympify(f).free_symbols if s.name in variables})
        for f in rhs
    ]
    grad = [sp.diff(expr, x) for x in xs]
    deriv = sp.expand(sum(g * f for g, f in zip(grad, rhs)))
    num = _coef_norm(deriv, xs)
    den = np.sqrt(sum(_coef_norm(g, xs) ** 2 for g in grad)) * np.sqrt(sum(_coef_norm(f, xs) ** 2 for f in rhs))
    if np.isnan(num) or np.isnan(den):
        # not polynomial: compare on sample points
        pts = (
            np.random.default_rng(0).normal(size=(200, len(xs)))
            if x_data is None
            else np.vstack(x_data if isinstance(x_data, (list, tuple)) else [x_data])
        )
        fd = sp.lambdify(xs, deriv, modules="numpy")
        fg = sp.lambdify(xs, grad, modules="numpy")
        ff = _rhs_function(rhs, variables)
        dv = np.broadcast_to(np.asarray(fd(*pts.T), float), (len(pts),))
        gv = np.column_stack([np.broadcast_to(np.asarray(c, float), (len(pts),)) for c in fg(*pts.T)])
        num = float(np.sqrt(np.mean(dv**2)))
        den = float(np.sqrt(np.mean((np.linalg.norm(gv, axis=1) * np.linalg.norm(ff(pts), axis=1)) ** 2)))
    sym_res = float(num / den) if den > 0 else (0.0 if num == 0 else float("inf"))
    values, scale_of = _quantity_functions(expr, variables)
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
                sol = solve_ivp(
                    lambda _, s: f(s)[0], (ti[0], ti[-1]), tr[0], t_eval=ti, method="LSODA", rtol=1e-9, atol=1e-9
                )
                if not sol.success or sol.y.shape[1] < 2:
                    drifts.append(float("inf"))
                    continue
                sim = sol.y.T
                drifts.append(_drift(values(sim), scale_of(sim)))
            drift_model = max(drifts)
    conserved = sym_res <= symbolic_tol and (drift_model is None or drift_model <= drift_tol)
    return QuantityCheck(
        expr, deriv, sym_res, drift_model, drift_data, conserved, float(symbolic_tol), float(drift_tol)
    )


# ----------------------------------------------------------------------------- Noether report


@dataclass
class NoetherEntry:
    """One generator's line of :func:`noether_report`.

    Attributes
    ----------
    symmetry : str
        The generator's label.
    charge : sympy.Expr or None
        Its Noether charge; None when no charge generates it in the structure.
    check : QuantityCheck or None
        The charge's symbolic and drift check; None without a charge.
    note : str
        Why there is no charge, or empty.
    """

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
            entries.append(
                NoetherEntry(
                    g.label, None, None, "not a Hamiltonian symmetry of this structure: no charge generates it"
                )
            )
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
        q = _expand(q)
        if not charges or span_residual(q, charges, xs) > 1e-6:
            shown = sp.sstr(q.xreplace({f: sp.Float(f, 6) for f in q.atoms(sp.Float)}))
            flags.append(
                f"{shown}: conserved but no symmetry among the candidates explains it (e.g. energy or a Casimir)"
            )
    return entries, flags
