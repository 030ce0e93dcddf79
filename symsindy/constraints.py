"""The equivariant subspace of coefficient matrices and its constraints.

Unknowns are pysindy's coefficients in the **feature ordering**: the vector
``w = Xi.ravel()`` with ``Xi = coef_.T`` of shape (n_features, n_targets), so index
``feature * n_targets + target``.  With ``X = coef_``, equivariance reads
``X D - A X = 0`` for each generator and ``X M - R X = 0`` for each element;
transposed and vectorised row-major this is ``(D^T (x) I_n - I_p (x) A) w = 0``.

The stacked constraint matrix is sparse and splits into independent blocks
(e.g. by polynomial degree); the nullspace is found block by block, made readable
by reduced row echelon form (pivot coefficients equal 1, orbit sums for flips and
permutations) and snapped to exact rationals when that satisfies the constraints.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sps
from scipy.sparse.csgraph import connected_components

from .actions import InducedAction
from .linalg import rref

__all__ = [
    "EquivariantSubspace",
    "NoSymmetricModelError",
    "constraint_matrix",
    "equivariant_subspace",
    "equivariance_residual",
    "pysindy_constraints",
]


class NoSymmetricModelError(ValueError):
    """Only the zero model satisfies the symmetry in this library."""


def _blocks(action: InducedAction):
    sym = action.symmetry
    for D, g in zip(action.generators, sym.generators):
        yield D, g.matrix
    for M, e in zip(action.elements, sym.elements):
        yield M, e.matrix


def constraint_matrix(action: InducedAction) -> sps.csr_matrix:
    """Sparse matrix ``C`` (rows: constraints, columns: feature-ordered unknowns) with ``C w = 0``.

    Rows for a generator ``(D, A)`` are ``D^T (x) I - I (x) A``; for an element ``(M, R)``
    they are ``M^T (x) I - I (x) R``.
    """
    n = action.symmetry.n
    p = action.n_terms
    rows = []
    for T, A in _blocks(action):
        block = sps.kron(sps.csr_matrix(T.T), sps.identity(n)) - sps.kron(sps.identity(p), sps.csr_matrix(A))
        rows.append(block.tocsr())
    if not rows:
        return sps.csr_matrix((0, n * p))
    C = sps.vstack(rows).tocsr()
    C.eliminate_zeros()
    return C


def _rationalise(B: np.ndarray, C: np.ndarray, max_den: int, tol: float) -> tuple[np.ndarray, bool]:
    out = np.round(B)
    # most entries of a readable basis are integers; only the rest need a continued fraction
    rest = np.abs(out - B) > 1e-9 * np.maximum(1.0, np.abs(B))
    for idx in zip(*np.nonzero(rest)):
        v = float(B[idx])
        fr = Fraction(v).limit_denominator(max_den)
        if abs(float(fr) - v) > 1e-9 * max(1.0, abs(v)):
            return B, False
        out[idx] = float(fr)
    scale = max(np.abs(C).max(initial=0.0), 1.0) * max(np.abs(out).max(initial=0.0), 1.0)
    if C.size and np.abs(C @ out.T).max(initial=0.0) > tol * scale:
        return B, False
    return out, True


@dataclass
class EquivariantSubspace:
    """A basis of the equivariant coefficient vectors, in pysindy's feature ordering.

    Attributes
    ----------
    basis : (n_features * n_targets, k) array
        Columns span the equivariant models; readable (RREF, rationals where exact).
    constraints : (r, n_features * n_targets) array
        Independent rows spanning the orthogonal complement (``constraints @ basis = 0``).
    n_features, n_targets : int
    null_singular_value : float
        Largest relative singular value counted as zero (0 if none was near zero).
    gap_singular_value : float
        Smallest relative singular value counted as nonzero (inf if none).
    exact : bool
        True when every block's basis was snapped to exact rationals.
    """

    basis: np.ndarray
    constraints: np.ndarray
    n_features: int
    n_targets: int
    null_singular_value: float
    gap_singular_value: float
    exact: bool

    @property
    def dim(self) -> int:
        return self.basis.shape[1]

    @property
    def gap(self) -> float:
        """Ratio of the smallest nonzero to the largest zero relative singular value."""
        if self.null_singular_value == 0:
            return np.inf
        return self.gap_singular_value / self.null_singular_value

    def coef_from(self, z: np.ndarray) -> np.ndarray:
        """The (n_targets, n_features) ``coef_`` for basis coordinates ``z``."""
        return (self.basis @ z).reshape(self.n_features, self.n_targets).T


def _block_nullspace(Cb: np.ndarray, rtol: float):
    """Nullspace and row space of a dense block with relative tolerance; returns (N, Rw, zero_sv, min_nonzero_sv)."""
    m, c = Cb.shape
    if m == 0 or not np.any(Cb):
        return np.eye(c), np.zeros((0, c)), 0.0, np.inf
    if c <= 1500 or m < 2 * c:
        _, s, Vt = sla.svd(Cb, full_matrices=True, lapack_driver="gesdd")
        smax = s[0]
        rank = int(np.sum(s > rtol * smax))
        s_rel = s / smax
    else:
        # tall and wide: the Gram matrix is c x c; its eigenvectors are accurate to eps/gap
        w, V = sla.eigh(Cb.T @ Cb)
        w, V = w[::-1], V[:, ::-1]
        s = np.sqrt(np.clip(w, 0.0, None))
        smax = s[0]
        # Gram eigenvalues carry ~eps*|C|^2 noise: a singular value resolves only to ~sqrt(eps)
        rank = int(np.sum(s > max(rtol, 1e-7) * smax))
        s_rel = s / smax
        Vt = V.T
    zero_sv = float(s_rel[rank]) if rank < len(s_rel) else 0.0
    min_nz = float(s_rel[rank - 1]) if rank > 0 else np.inf
    return Vt[rank:].T, Vt[:rank], zero_sv, min_nz


def equivariant_subspace(
    action: InducedAction, *, rtol: float = 1e-9, readable: bool = True, max_denominator: int = 1000
) -> EquivariantSubspace:
    """Basis of the coefficient vectors that satisfy every equivariance constraint.

    Parameters
    ----------
    action : InducedAction
    rtol : float, default 1e-9
        A singular value ``s`` of a block counts as zero when ``s <= rtol * s_max``
        (raised to ``100 * action.accuracy`` for approximate actions).
    readable : bool, default True
        Bring each block's basis to reduced row echelon form and snap it to rationals
        with denominators up to ``max_denominator`` when the constraints still hold to 1e-12.
    """
    n = action.symmetry.n
    p = action.n_terms
    N = n * p
    rtol = max(rtol, 100 * action.accuracy)
    C = constraint_matrix(action)
    basis_cols: list[tuple[np.ndarray, np.ndarray]] = []
    cons_rows: list[tuple[np.ndarray, np.ndarray]] = []
    zero_sv, min_nz, exact = 0.0, np.inf, True
    if C.shape[0] == 0:
        return EquivariantSubspace(np.eye(N), np.zeros((0, N)), p, n, 0.0, np.inf, True)
    pattern = (abs(C).T @ abs(C)).tocsr()
    n_comp, labels = connected_components(pattern, directed=False)
    Ccsc = C.tocsc()
    order = np.argsort(labels, kind="stable")
    splits = np.flatnonzero(np.diff(labels[order])) + 1
    for cols in np.split(order, splits):
        sub = Ccsc[:, cols]
        rows = np.unique(sub.nonzero()[0])
        Cb = sub[rows].toarray() if rows.size else np.zeros((0, len(cols)))
        Nb, Rb, z, mn = _block_nullspace(Cb, rtol)
        zero_sv, min_nz = max(zero_sv, z), min(min_nz, mn)
        if Nb.shape[1]:
            B = Nb.T
            if readable:
                B = rref(B, 1e-10, clean=True)
                B, ok = _rationalise(B, Cb, max_denominator, 1e-12)
                exact = exact and ok
            basis_cols.append((cols, B))
        if Rb.shape[0]:
            R = Rb
            if readable:
                R = rref(R, 1e-10, clean=True)
                R, _ = _rationalise(R, Nb.T, max_denominator, 1e-12)
            cons_rows.append((cols, R))
    k = sum(B.shape[0] for _, B in basis_cols)
    Q = np.zeros((N, k))
    j = 0
    for cols, B in basis_cols:
        Q[np.ix_(cols, np.arange(j, j + B.shape[0]))] = B.T
        j += B.shape[0]
    r = sum(R.shape[0] for _, R in cons_rows)
    L = np.zeros((r, N))
    j = 0
    for cols, R in cons_rows:
        L[np.ix_(np.arange(j, j + R.shape[0]), cols)] = R
        j += R.shape[0]
    return EquivariantSubspace(Q, L, p, n, zero_sv, min_nz, exact)


def equivariance_residual(coef: np.ndarray, action: InducedAction) -> float:
    """Largest relative residual ``|X T - A X|_F / (|X|_F (|T|_2 + |A|_2))`` over generators and elements."""
    X = np.asarray(coef, float)
    nx = np.linalg.norm(X)
    if nx == 0:
        return 0.0
    worst = 0.0
    for T, A in _blocks(action):
        denom = nx * (np.linalg.norm(T, 2) + np.linalg.norm(A, 2))
        if denom == 0:
            continue
        worst = max(worst, float(np.linalg.norm(X @ T - A @ X) / denom))
    return worst


def pysindy_constraints(library, symmetry, *, x=None, rtol: float = 1e-9, **action_kws):
    """Equality constraints ``(constraint_lhs, constraint_rhs)`` for ``ps.ConstrainedSR3``.

    Rows are independent (pysindy inverts ``C C^T``), in pysindy's **feature** ordering:
    pass ``constraint_order="feature"`` and ``equality_constraints=True``.

    Parameters
    ----------
    library : pysindy feature library (fitted, or fitted here on ``x``)
    symmetry : Symmetry
    x : (m, n) array, optional
        Data to fit the library on when it is not fitted yet.
    """
    from .actions import induced_action

    if x is not None:
        library.fit(np.asarray(x, float))
    action = induced_action(library, symmetry, x_samples=x, **action_kws)
    sub = equivariant_subspace(action, rtol=rtol)
    return sub.constraints.copy(), np.zeros(sub.constraints.shape[0])
