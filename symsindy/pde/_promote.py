"""Promoting symmetry in a PDE fit: a nuclear-norm penalty over candidate generators.

Told only a candidate family (``gl``, ``so`` or ``sl`` of the components, and on a 2-D domain
the rotation of the domain), the fit solves

    ``min_X 1/2 |Theta~ X~^T - U_t / s|^2 / m + lam |[L_1 x~, ..., L_q x~]|_*``

on the regression rows of the plain fit (strong or weak), ``Theta~`` the library with columns
of unit RMS, ``X~`` the coefficients in those units and ``L_j`` the Lie derivatives of the
candidate directions, ``X D_j - C_j X`` measured on the data (weighted by the square root of
the library's Gram matrix, as in :func:`~symsindy.pde.discover_pde_symmetries`).  The
directions are whitened (their operators orthogonal, of unit norm, so a rotation of the domain
and a rotation of the components are penalised alike for the same relative breaking) and
weighted as in the adaptive lasso by how much the unpenalised fit breaks each, relative to its
most nearly kept one.  The penalty drives the Lie-derivative matrix towards low rank: its
null space is a symmetry the penalised model has exactly.

Along a path of weights ``lam = w lam_ref`` (``w`` from 0 to 1; ``lam_ref`` the smallest
weight at which the fully symmetric least-squares fit is the solution), each solution's
discovered algebra (:func:`~symsindy.pde.discover_pde_symmetries`, continuous part, the
held-out refit check against the plain model's residual) proposes specs; the data veto is
that refit check.
The answer is the largest algebra the refit check accepts (fewest free coefficients; at equal
size the smallest weight that revealed it), enforced in a thresholded refit.  The ADMM solver
and the problem are those of :mod:`symsindy.promote` (``PromotionProblem``, ``solve_fast``).
The code is in ``symsindy/pde/_promote.py``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._actions import pde_action
from ._data import FieldData
from ..discover import _gram_root
from ._discover import candidate_directions, discover_pde_symmetries

__all__ = ["promote_pde"]

_FAMILIES = ("gl", "so", "sl")
_GRID = (0.0,) + tuple(float(w) for w in np.logspace(-3, 0, 10))


def _operators(ops, W, colscale, yscale, nc):
    """Per candidate the matrix ``x~ -> vec(W (X D - C X)^T)`` with ``X = yscale X~ / colscale``."""
    p = len(colscale)
    unscale = yscale / colscale  # X[i, j] = unscale[j] X~[i, j]
    out = []
    I = np.eye(nc)
    for D, C in ops:
        # vec(X D) in row-major X (n, p): kron(I, D^T); vec(C X): kron(C, I_p)
        T = np.kron(I, D.T) - np.kron(C, np.eye(p))
        T = T * np.tile(unscale, nc)[None, :]
        # weight: rows of X D - C X (each of length p) by W -> W (row)^T
        out.append(np.kron(I, W) @ T)
    return np.array(out)  # (q, nc p, nc p)


def _whitened(T, x_ls, floor=1e-3):
    """Penalised directions: orthogonal operators of unit norm, adaptively weighted."""
    q = T.shape[0]
    flat = T.reshape(q, -1)
    U, s, _ = np.linalg.svd(flat, full_matrices=False)
    keep = s > 1e-10 * max(s[0] if s.size else 0.0, 1e-300)
    P = U[:, keep] / s[keep][None, :]
    qp = P.shape[1]
    L = np.einsum("kab,kj->jab", T, P)  # (q', M, N)
    weights = np.ones(qp)
    if qp > 1:
        Z = np.einsum("jab,b->aj", L, x_ls)
        _, sv, Vt = np.linalg.svd(Z, full_matrices=True)
        sv = np.concatenate([sv, np.zeros(qp - len(sv))])
        ref = max(float(sv.max(initial=0.0)), 1e-300)
        rel = np.maximum(sv / ref, floor)
        weights = rel.min() / rel
        R = (Vt.T * weights) @ Vt
        L = np.einsum("jab,jk->kab", L, R)
    return L, weights


def promote_pde(
    data: FieldData,
    *,
    family: str = "gl",
    spatial: bool = True,
    weights=None,
    refit_tol: float = 0.1,
    **fit_kws,
):
    """A :class:`~symsindy.pde.SymmetricPDESINDy` fit with the symmetry promoted (see the module
    docstring), told only the candidate family.

    Parameters
    ----------
    data : FieldData
    family : "gl", "so" or "sl"
        Candidate generators on the components (plus the rotation of a 2-D domain when
        ``spatial``).
    spatial : bool, default True
    weights : sequence of float in [0, 1], optional
        The path, as fractions of ``lam_ref`` (default 0 and ten log-spaced from 1e-3 to 1).
    refit_tol : float, default 0.1
        The refit check's tolerance (the data veto).
    **fit_kws
        Passed to :class:`~symsindy.pde.SymmetricPDESINDy` (``degree``, ``derivative_order``,
        ``threshold``, ``formulation``, ``random_state``, ...); not ``symmetry``.

    Returns
    -------
    SymmetricPDESINDy
        Fitted with the promoted specs enforced; ``promotion_`` holds the path (per weight:
        the specs revealed, accepted and rejected), ``lam_ref``, the chosen weight and specs,
        the penalised directions' adaptive weights and the solver's record.
    """
    from threadpoolctl import threadpool_limits

    # small dense problems: BLAS threads cost far more than they save
    with threadpool_limits(limits=1, user_api="blas"):
        return _promote(data, family, spatial, weights, refit_tol, fit_kws)


def _promote(data, family, spatial, weights, refit_tol, fit_kws):
    from ..promote import PromotionProblem, solve_fast
    from ..promote._problem import _lam_ref
    from ._model import SymmetricPDESINDy

    if family not in _FAMILIES:
        raise ValueError(f"family {family!r}: expected one of {', '.join(_FAMILIES)}")
    if "symmetry" in fit_kws:
        raise ValueError("promote_pde: the symmetry is what promotion finds; do not give one")
    grid = np.asarray(_GRID if weights is None else weights, float).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0) or np.any(grid > 1):
        raise ValueError(f"weights {weights!r}: expected fractions of lam_ref in [0, 1]")
    grid = np.unique(grid)

    plain = SymmetricPDESINDy(**fit_kws)
    theta, target = plain._fit_specs(data, None)
    lib, names, axes = plain.library_, list(plain.feature_names_), list(plain.axes_)
    nc, p = len(names), theta.shape[1]
    rss_plain = float(np.sum((target - theta @ plain.coef_.T) ** 2))

    colscale = np.sqrt(np.mean(theta**2, axis=0))
    colscale[colscale == 0] = 1.0
    yscale = max(float(np.sqrt(np.mean(target**2))), 1e-300)
    th = theta / colscale
    m = len(th)
    G = th.T @ th / m
    H = np.kron(np.eye(nc), G)
    g = np.concatenate([th.T @ (target[:, i] / yscale) / m for i in range(nc)])
    x_ls = np.linalg.lstsq(H, g, rcond=None)[0]

    _, labels, ops = candidate_directions(lib, names, axes, family, spatial)
    W = _gram_root(theta)
    T = _operators(ops, W, colscale, yscale, nc)
    L, adaptive = _whitened(T, x_ls)
    q = L.shape[0]
    M = L.shape[1]
    problem = PromotionProblem(H, g, np.ascontiguousarray(np.transpose(L, (1, 0, 2)).reshape(M * q, -1)), (M, q))
    lam_ref = _lam_ref(problem)

    path, proposals, warm = [], {}, None
    n_failed = 0
    for w in grid:
        if w == 0:
            x, info = x_ls, {"converged": True, "iterations": 0, "status": "least squares"}
        elif w >= 1:
            x, info = problem.symmetric_solution()[1], {"converged": True, "iterations": 0, "status": "fully symmetric"}
        else:
            x, info = solve_fast(problem, w * lam_ref, warm=warm, single_thread=False)
            warm = info.get("state")
            if not info["converged"] and not info.get("relative_residual", np.inf) <= 1e-7:
                n_failed += 1
                path.append({"weight": float(w), "failed": f"not converged: {info.get('status')}"})
                continue
        X = (x.reshape(nc, p) / colscale[None, :]) * yscale
        rep = discover_pde_symmetries(
            (theta, target),
            lib,
            names,
            axes,
            X,
            family=family,
            spatial=spatial,
            discrete=False,
            refit_tol=refit_tol,
            reference_rss=rss_plain,
            groups=plain._row_blocks,
        )
        key = tuple(sorted(rep.accepted))
        if key and key not in proposals:
            proposals[key] = float(w)
        path.append(
            {
                "weight": float(w),
                "nullity": int(rep.nullity),
                "specs": list(rep.continuous),
                "unnamed": len(rep.unnamed),
                "accepted": list(rep.accepted),
                "rejected": list(rep.rejected),
                "iterations": int(info.get("iterations") or 0),
            }
        )

    best, best_dim, best_w = (), None, None
    for key, w in proposals.items():
        try:
            sub = _subspace_dim(lib, names, axes, list(key))
        except ValueError:
            continue
        if best_dim is None or sub < best_dim or (sub == best_dim and w < best_w):
            best, best_dim, best_w = key, sub, w
    model = SymmetricPDESINDy(symmetry=list(best) or None, **fit_kws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data)
    model.promotion_ = {
        "family": family,
        "candidates": labels,
        "lam_ref": float(lam_ref),
        "path": path,
        "weight": best_w,
        "specs": list(best),
        "direction_weights": [float(a) for a in adaptive],
        "n_failed_solves": int(n_failed),
    }
    return model


def _subspace_dim(library, components, axes, specs) -> int:
    from ..constraints import equivariant_subspace

    return int(equivariant_subspace(pde_action(library, components, axes, specs)).dim)
