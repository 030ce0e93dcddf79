"""Sparse regression inside a subspace of coefficient matrices.

:class:`ConstrainedSTLSQ` is sequentially thresholded least squares restricted to
``w = Q z`` (``Q`` a basis of the equivariant subspace in pysindy's feature ordering).
Each pass zeroes the small coefficients by adding ``w_j = 0`` to the constraints and
refits, so the *returned* ``coef_`` lies exactly in the subspace: unlike thresholding
after a constrained fit, sparsification never breaks the symmetry.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from pysindy.optimizers import BaseOptimizer

__all__ = ["ConstrainedSTLSQ"]


def _nullspace(M: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    if M.shape[0] == 0:
        return np.eye(M.shape[1])
    _, s, Vt = sla.svd(M, full_matrices=True)
    rank = int(np.sum(s > rtol * max(s[0], 1e-300))) if s.size else 0
    return Vt[rank:].T


class ConstrainedSTLSQ(BaseOptimizer):
    """Sequentially thresholded least squares inside a linear subspace.

    Minimises ``|y - Theta Xi|^2 + alpha |Xi|^2`` over ``vec(Xi) = basis @ z``, zeroing
    coefficients below ``threshold`` and refitting until the support settles.

    Parameters
    ----------
    basis : (n_features * n_targets, k) array or None
        Columns span the allowed coefficient vectors, in pysindy's **feature** ordering
        (index ``feature * n_targets + target``).  ``None``: no constraint (plain STLSQ).
    threshold : float, default 0.1
        Coefficients with ``|c| < threshold`` are set to zero (in normalised units when
        ``normalize_columns``).
    alpha : float, default 0.05
        Ridge weight during thresholding (as in pysindy's STLSQ).
    max_iter : int, default 20
    normalize_columns : bool, default False
    unbias : bool, default True
        Refit without ridge on the final support, inside the subspace.
    """

    def __init__(self, basis=None, threshold=0.1, alpha=0.05, max_iter=20, normalize_columns=False, unbias=True, copy_X=True, initial_guess=None):
        super().__init__(max_iter=max_iter, normalize_columns=normalize_columns, copy_X=copy_X, initial_guess=initial_guess, unbias=unbias)
        self.basis = basis
        self.threshold = threshold
        self.alpha = alpha

    # pysindy's unbiasing refits each row on its own support, which breaks the constraints;
    # _reduce already refits inside the subspace.
    def _unbias(self, x, y):
        return None

    def fit(self, x_, y, sample_weight=None, **reduce_kws):
        if self.threshold < 0:
            raise ValueError(f"threshold {self.threshold!r}: expected a number >= 0")
        if self.alpha < 0:
            raise ValueError(f"alpha {self.alpha!r}: expected a number >= 0")
        x_arr = np.asarray(x_, float)
        if self.normalize_columns:
            xw = x_arr if sample_weight is None else x_arr * np.sqrt(np.broadcast_to(np.asarray(sample_weight, float), x_arr.shape[:1]))[:, None]
            norms = np.linalg.norm(xw, axis=0)
            if np.any(norms == 0):
                raise ValueError(f"normalize_columns: library term {int(np.flatnonzero(norms == 0)[0])} is zero on all samples")
            self._feat_norms = norms
        else:
            self._feat_norms = None
        return super().fit(x_, y, sample_weight=sample_weight, **reduce_kws)

    def _reduce(self, x, y):
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        p, n = x.shape[1], y.shape[1]
        N = p * n
        Q = np.eye(N) if self.basis is None else np.asarray(self.basis, float)
        if Q.shape[0] != N:
            raise ValueError(f"basis has {Q.shape[0]} rows; expected n_features * n_targets = {p} * {n} = {N}")
        if self._feat_norms is not None:
            # the fit runs in normalised units w~ = diag(norms (x) 1) w
            Q = np.repeat(self._feat_norms, n)[:, None] * Q
        G = x.T @ x
        B = (x.T @ y).ravel()
        active = np.ones(N, dtype=bool)
        Qa = Q
        w = np.zeros(N)
        history = []
        for it in range(self.max_iter):
            self.iters = it + 1
            w = self._solve(Qa, G, B, p, n, self.alpha)
            w[~active] = 0.0
            history.append(w.reshape(p, n).T.copy())
            small = active & (np.abs(w) < self.threshold)
            if not small.any():
                break
            active &= ~small
            Qa = Q @ _nullspace(Q[~active])
            if Qa.shape[1] == 0:
                w = np.zeros(N)
                break
        if self.unbias and Qa.shape[1]:
            w = self._solve(Qa, G, B, p, n, 0.0)
            w[~active] = 0.0
        self.history_ = history + [w.reshape(p, n).T.copy()]
        self.support_ = active.reshape(p, n).T.copy()
        self.coef_ = w.reshape(p, n).T.copy()

    @staticmethod
    def _solve(Q, G, B, p, n, alpha):
        k = Q.shape[1]
        if k == 0:
            return np.zeros(p * n)
        GQ = np.einsum("ab,bjk->ajk", G, Q.reshape(p, n, k)).reshape(p * n, k)
        H = Q.T @ GQ
        if alpha:
            H = H + alpha * (Q.T @ Q)
        g = Q.T @ B
        try:
            c, low = sla.cho_factor(H, check_finite=False)
            z = sla.cho_solve((c, low), g, check_finite=False)
            if not np.all(np.isfinite(z)):
                raise np.linalg.LinAlgError
        except (np.linalg.LinAlgError, sla.LinAlgError):
            z = np.linalg.lstsq(H, g, rcond=None)[0]
        return Q @ z
