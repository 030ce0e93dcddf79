"""The convex problem of promotion: the penalised least-squares problem, the orthonormal
candidate basis and the Lie-derivative operators it is built from (see :mod:`symsindy.promote`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..actions import induced_action
from ..discover import FAMILIES, candidate_generators
from ..symmetry import Symmetry


@dataclass
class PromotionProblem:
    """``min_x 1/2 x^T H x - g^T x + lam |mat(L x)|_* + mu |x|_1``.

    Attributes
    ----------
    H : (N, N) array
        Positive semidefinite Hessian of the least-squares loss.
    g : (N,) array
    L : (M * q, N) array
        Lie-derivative operator; ``(L @ x).reshape(M, q)`` (row-major) has one column per
        candidate direction.
    shape : (int, int)
        ``(M, q)``.
    """

    H: np.ndarray
    g: np.ndarray
    L: np.ndarray
    shape: tuple

    @property
    def n_unknowns(self) -> int:
        return len(self.g)

    def lie_matrix(self, x) -> np.ndarray:
        return (self.L @ x).reshape(self.shape)

    def symmetric_solution(self) -> tuple[float, np.ndarray]:
        """``(lam_ref, x0)``: the least-squares solution ``x0`` inside ``null(L)`` and an upper
        bound ``lam_ref`` on the smallest ``lam`` (without l1) at which it is the solution.

        Optimality of ``x0`` at ``lam`` needs ``W`` with ``L^T vec W = -grad(x0) / lam`` and
        spectral norm <= 1; the least-norm ``W`` gives the bound.
        """
        if getattr(self, "_symmetric", None) is None:
            Q0 = _nullspace(self.L)
            if Q0.shape[1]:
                x0 = Q0 @ np.linalg.lstsq(Q0.T @ self.H @ Q0, Q0.T @ self.g, rcond=None)[0]
            else:
                x0 = np.zeros(len(self.g))
            grad = self.H @ x0 - self.g
            W = np.linalg.lstsq(self.L.T, -grad, rcond=None)[0].reshape(self.shape)
            self._symmetric = (float(np.linalg.norm(W, 2)) if W.size else 0.0, x0)
        return self._symmetric

    def loss_is_definite(self) -> bool:
        """Whether ``H`` is positive definite (smallest eigenvalue above 1e-10 of the largest);
        computed once per problem, which is solved at many weights."""
        if getattr(self, "_definite", None) is None:
            ev = np.linalg.eigvalsh(0.5 * (self.H + self.H.T))
            self._definite = bool(ev[0] > 1e-10 * max(ev[-1], 1e-300))
        return self._definite

    def objective(self, x, lam: float, mu: float) -> float:
        x = np.asarray(x, float)
        nuc = np.sum(np.linalg.svd(self.lie_matrix(x), compute_uv=False)) if self.shape[1] else 0.0
        return float(0.5 * x @ self.H @ x - self.g @ x + lam * nuc + mu * np.sum(np.abs(x)))


def _orthonormal_candidates(candidates, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """An orthonormal basis (over ``(vec A, b)``) of the span of the candidates."""
    if isinstance(candidates, str):
        if candidates not in FAMILIES:
            raise ValueError(f"candidates {candidates!r}: expected one of {', '.join(FAMILIES)} or a list of (A, b)")
        return candidate_generators(n, candidates)
    vecs = []
    for k, item in enumerate(candidates):
        try:
            A, b = item
            A = np.asarray(A, float)
            b = np.zeros(n) if b is None else np.asarray(b, float)
        except (TypeError, ValueError):
            raise ValueError(f"candidates[{k}]: expected a pair (A, b) with A of shape ({n}, {n})") from None
        if A.shape != (n, n) or b.shape != (n,):
            raise ValueError(f"candidates[{k}]: A has shape {A.shape} and b {b.shape}; expected ({n}, {n}) and ({n},)")
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
            raise ValueError(f"candidates[{k}]: non-finite entries")
        vecs.append(np.concatenate([A.ravel(), b]))
    if not vecs:
        raise ValueError("candidates: expected at least one candidate generator")
    U, s, _ = np.linalg.svd(np.column_stack(vecs), full_matrices=False)
    U = U[:, s > 1e-10 * max(s[0], 1e-300)]
    if U.shape[1] == 0:
        raise ValueError("candidates: all candidate generators are zero")
    return [(u[: n * n].reshape(n, n), u[n * n :]) for u in U.T]


def _lie_parts(library, names, cands, S, colscale, x_samples=None):
    """Per candidate k the operators ``x~ -> vec(X D_k S)`` and ``x~ -> vec(A_k X S)``, ``X = X~ C^-1``.

    Columns ``vec(L_k S)`` have the Gram matrix of the data-weighted Lie derivatives ``S L_k^T``,
    so they have the same singular values.  Candidates under which the library is not closed
    cannot be measured exactly and are left out.  Returns ``(T1, T2, kept, n_not_closed)`` with
    ``T1, T2`` of shape ``(len(kept), n p, n p)``.
    """
    from ..actions import LibraryNotClosedError

    n = len(names)
    p = len(colscale)
    zero = np.zeros((p, p))
    mats = []
    for A, b in cands:
        if not (np.any(A) or np.any(b)):
            mats.append(zero)
            continue
        try:
            act = induced_action(library, Symmetry(names, generators=[(A, b)]), x_samples=x_samples)
        except LibraryNotClosedError:
            mats.append(None)
            continue
        mats.append(act.generators[0])
    kept = [c for c, D in zip(cands, mats) if D is not None]
    Ds = [D for D in mats if D is not None]
    Cinv = 1.0 / colscale
    SC = S * Cinv[None, :]
    I = np.eye(n)
    T1 = np.zeros((len(kept), n * p, n * p))
    T2 = np.zeros_like(T1)
    for k, ((A, _), D) in enumerate(zip(kept, Ds)):
        T1[k] = np.kron(I, (S @ D.T) * Cinv[None, :])
        T2[k] = np.kron(A, SC)
    return T1, T2, kept, len(cands) - len(kept)


#: how the candidate directions are scaled in the penalty (see :func:`_penalised_directions`)
GENERATOR_NORMS = ("basis", "operator")


def _penalised_directions(T, T1, T2, xt_ls, *, generator_norm="basis", adaptive=True, floor=1e-3):
    """The directions of the candidate algebra the nuclear norm sums over.

    ``T`` holds the data-weighted Lie-derivative operators of the orthonormal candidates
    (``(q, M, N)``), ``xt_ls`` the unpenalised fit.  Combinations with a zero operator are left
    out (every model has them).  ``generator_norm="basis"``: the directions are orthonormal
    over ``(vec A, b)``; ``"operator"``: each direction's operator has unit Frobenius norm on the
    data, and the operators are orthogonal (the candidate algebra measured by its action on the
    library, a whitening: the same penalty for any basis of the algebra), so a generator that
    acts strongly on the library is not penalised more for the same relative breaking.
    ``adaptive``: each direction of the result is then weighted by ``s_min / s_i`` over the
    singular values of the unpenalised fit's Lie-derivative matrix (relative, floored at
    ``floor``), as in the adaptive lasso.

    Returns ``(P, weights, n_trivial)`` with ``P`` of shape ``(q, q')``: the penalised
    directions as combinations of the candidates.
    """
    if generator_norm not in GENERATOR_NORMS:
        raise ValueError(f"generator_norm {generator_norm!r}: expected one of {', '.join(GENERATOR_NORMS)}")
    q = T.shape[0]
    flat = T.reshape(q, -1)
    U, s, _ = np.linalg.svd(flat, full_matrices=False)
    keep = s > 1e-10 * max(s[0] if s.size else 0.0, 1e-300)
    P = U[:, keep]  # (q, q'); the operators sum_k T_k P_kj are orthogonal with norms s_j
    if generator_norm == "operator":
        P = P / s[keep][None, :]
    qp = P.shape[1]
    weights = np.ones(qp)
    if adaptive and qp > 1:
        # directions the unpenalised fit breaks by much more than its most symmetric one are
        # penalised less, so they do not drag the model to zero
        Z = np.einsum("kab,kj,b->aj", T, P, xt_ls)
        _, sv, Vt = np.linalg.svd(Z, full_matrices=True)
        sv = np.concatenate([sv, np.zeros(qp - len(sv))])
        if generator_norm == "basis":
            parts = (np.linalg.norm(T1 @ xt_ls, axis=1), np.linalg.norm(T2 @ xt_ls, axis=1))
        else:
            parts = (
                np.linalg.norm(np.einsum("kab,kj,b->ja", T1, P, xt_ls), axis=1),
                np.linalg.norm(np.einsum("kab,kj,b->ja", T2, P, xt_ls), axis=1),
            )
        scale = float(np.max(parts[0] + parts[1], initial=0.0))
        s_rel = np.maximum(sv / scale if scale > 0 else np.zeros(qp), floor)
        weights = s_rel.min() / s_rel
        P = P @ (Vt.T * weights) @ Vt
    return P, weights, int(q - qp)


def _relative_spectrum(T1, T2, T, x):
    """Singular values (ascending) of the Lie-derivative matrix of ``x``, relative to
    ``max_k |X D_k| + |A_k X|`` as in :func:`symsindy.discover.lie_derivative_operator`."""
    Z = np.einsum("kab,b->ak", T, x)
    s = np.linalg.svd(Z, compute_uv=False) if Z.size else np.zeros(0)
    s = np.sort(np.concatenate([s, np.zeros(T.shape[0] - len(s))]))
    scale = float(np.max(np.linalg.norm(T1 @ x, axis=1) + np.linalg.norm(T2 @ x, axis=1), initial=0.0))
    return (s / scale if scale > 0 else np.zeros_like(s)), scale


def _nullspace(M: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    if M.shape[0] == 0:
        return np.eye(M.shape[1])
    # the right singular vectors are all there without the (large) full left factor when M is tall
    _, s, Vt = np.linalg.svd(M, full_matrices=M.shape[0] < M.shape[1])
    rank = int(np.sum(s > rtol * max(s[0] if s.size else 0.0, 1e-300)))
    return Vt[rank:].T


def _lam_ref(problem: PromotionProblem) -> float:
    ref, _ = problem.symmetric_solution()
    return max(ref, 1e-12 * float(np.linalg.norm(problem.g)))
