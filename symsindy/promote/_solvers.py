"""Solvers of a :class:`~symsindy.promote.PromotionProblem`: ADMM (``"fast"``) and cvxpy, the reference."""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sla

from ._problem import PromotionProblem

# LAPACK directly: for these tiny matrices numpy's wrappers cost more than the work
_syev = sla.lapack.dsyev
_posv = sla.lapack.dposv


def _svt(V: np.ndarray, tau: float) -> np.ndarray:
    q = V.shape[1]
    if q == 1:
        nv = float(np.sqrt(np.sum(V * V)))
        return V * (1.0 - tau / nv) if nv > tau else np.zeros_like(V)
    if q >= 6 and V.shape[0] >= 4 * q:
        # tall and thin: the eigenvectors of the q x q Gram matrix are cheaper than an SVD,
        # and exact enough, since singular values at or below tau are dropped anyway
        w, Q, info = _syev(V.T @ V)
        if info:
            w, Q = np.linalg.eigh(V.T @ V)
        s = np.sqrt(np.maximum(w, 0.0))
        shrink = np.where(s > tau, 1.0 - tau / np.maximum(s, 1e-300), 0.0)
        return V @ ((Q * shrink) @ Q.T)
    U, s, Vt = np.linalg.svd(V, full_matrices=False)
    s = s - tau
    k = int(np.count_nonzero(s > 0))
    return (U[:, :k] * s[:k]) @ Vt[:k]


def solve_fast(
    problem: PromotionProblem,
    lam: float,
    mu: float = 0.0,
    *,
    tol: float = 1e-11,
    max_iter: int = 20000,
    rho: float | None = None,
    warm: dict | None = None,
    memory: int = 20,
    single_thread: bool = True,
) -> tuple[np.ndarray, dict]:
    """Solve a :class:`PromotionProblem` by ADMM with singular-value and soft thresholding.

    Splits ``z1 = L x`` (nuclear norm) and ``z2 = beta x`` (l1; it also keeps the x-step
    positive definite; without l1, beta = 0 when ``H`` is positive definite, else 0.01; with
    l1 it starts at 0.1 and is rebalanced with ``rho``); over-relaxation 1.6; the step ``rho`` is rebalanced every 20
    iterations during the first 60 and every 50 after (Boyd et al. 2011, sec. 3.4), but never
    below ``100 lam``: residual balancing alone settles on steps too small for the low-rank
    solutions of large weights (warm-started paths over nine weights, gl(n), cubic library:
    two coupled oscillators, 4-D, 140 unknowns, 24 samples, 22,000 iterations against 11,600
    with the floor; a 4-D linear oscillator 58,000 with one solve not converged against 28,700;
    2-D and 3-D systems at 12-36 samples 2-3x fewer); from
    iteration 60 the fixed-point iteration is Anderson-accelerated (type II, ``memory`` past steps, 0 to
    switch off) with a safeguard that takes the plain step whenever the extrapolated point
    has a larger fixed-point residual.  Stops when the primal and dual residuals are below
    ``tol`` relative to the iterates (plus ``tol`` times the square root of the dimension).
    ``single_thread`` runs BLAS on one thread: the matrices are small and threads cost more
    than they save.

    Returns ``(x, info)``; ``info`` has ``converged``, ``iterations``, ``primal_residual``,
    ``dual_residual``, ``relative_residual`` (the smallest ``tol`` the last check would have
    stopped at), ``rho``, ``status`` and ``state`` (a warm start for a nearby problem).
    """
    if not (np.isfinite(lam) and lam >= 0 and np.isfinite(mu) and mu >= 0):
        raise ValueError(f"weights lam={lam!r}, mu={mu!r}: expected finite numbers >= 0")
    if not (tol > 0 and int(max_iter) >= 1):
        raise ValueError(f"tol={tol!r}, max_iter={max_iter!r}: expected tol > 0 and max_iter >= 1")
    args = (problem, float(lam), float(mu), float(tol), int(max_iter), rho, warm, int(memory))
    if not single_thread:
        return _admm(*args)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _admm(*args)


# scale of the z2 = beta x block: without l1 it only keeps a singular x-step positive definite,
# and a small beta limits the proximal damping it adds; with l1 it balances the blocks
_BETA = 0.01
_BETA_L1 = 0.1
_RELAX = 1.6
_ADAPT_UNTIL, _ADAPT_EVERY = 60, 50
# the step's floor in units of the nuclear-norm weight
_RHO_LAM = 100.0


def _admm(problem, lam, mu, tol, max_iter, rho, warm, memory):
    H, g, L = problem.H, problem.g, problem.L
    M, q = problem.shape
    N = len(g)
    a = M * q
    c = a + N  # length of z = (z1, z2) = K x with K = [L; I]
    if mu > 0:
        beta = _BETA_L1
    else:
        # without l1 the z2 block only keeps the x-step positive definite; when the loss
        # already does, leaving it out converges markedly faster
        beta = 0.0 if problem.loss_is_definite() else _BETA
    if warm and warm.get("beta", beta) != beta:
        warm = None
    LtL = L.T @ L

    def prepare(r, bt):
        K = np.vstack([L, bt * np.eye(N)])
        Kt = np.ascontiguousarray(K.T)
        factor = sla.cho_factor(H + r * (LtL + bt * bt * np.eye(N)), check_finite=False)
        Kinv = sla.cho_solve(factor, np.eye(N), check_finite=False)
        return K, Kt, Kinv @ g, r * (Kinv @ Kt)

    if warm:
        rho0 = warm["rho"]
        v = np.concatenate([warm["z"], warm["y"] / rho0])
    else:
        rho0 = None
        v = np.zeros(2 * c)
    # the step is kept at or above _RHO_LAM * lam (see solve_fast)
    rho_floor = _RHO_LAM * lam
    if rho is None:
        rho = rho0 if rho0 is not None else max(float(np.trace(H)) / N, 1e-8)
        rho = max(rho, rho_floor)
    if rho0 is not None and rho != rho0:
        v[c:] *= rho0 / rho
    K, Kt, b0, B = prepare(rho, beta)
    relax = _RELAX
    sqrt_dim, sqrt_n = np.sqrt(c), np.sqrt(N)
    adapt_until, adapt_every = _ADAPT_UNTIL, _ADAPT_EVERY
    converged = False
    r_norm = s_norm = np.inf
    mem = max(int(memory), 0)
    dG = np.zeros((mem, 2 * c))
    dF = np.zeros((mem, 2 * c))
    FtF_all = np.zeros((mem, mem))
    eye_mem = np.eye(mem)
    n_hist = pos = 0
    g_prev = f_prev = g_ref = None
    f_ref = np.inf
    pending = False
    x = np.zeros(N)
    gv = np.zeros(2 * c)
    n_aa = n_rejected = 0
    rel_res = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        z, u = v[:c], v[c:]
        x = b0 + B @ (z - u)
        Kx = K @ x
        w = relax * Kx + (1.0 - relax) * z + u
        gv = np.empty(2 * c)
        if q:
            gv[:a] = _svt(w[:a].reshape(M, q), lam / rho).ravel()
        else:
            gv[:a] = w[:a]
        w2 = w[a:c]
        if mu > 0:
            gv[a:c] = np.sign(w2) * np.maximum(np.abs(w2) - mu / (beta * rho), 0.0)
        else:
            gv[a:c] = w2
        gv[c:] = w - gv[:c]
        f = gv - v
        fn = float(np.sqrt(f @ f))
        if pending and not fn <= f_ref:
            # the extrapolated point is worse than the plain step it replaced: take that step
            n_rejected += 1
            v, pending, n_hist, g_prev = g_ref, False, 0, None
            continue
        pending = False
        adapt = (it <= adapt_until and it % 20 == 0) or it % adapt_every == 0
        if adapt or it % 4 == 0 or it == max_iter:
            zn = gv[:c]
            d = Kx - zn
            r_norm = float(np.sqrt(d @ d))
            dz = Kt @ (zn - z)
            s_norm = float(rho * np.sqrt(dz @ dz))
            ky = Kt @ gv[c:]
            eps_pri = tol * (sqrt_dim + max(np.sqrt(Kx @ Kx), np.sqrt(zn @ zn)))
            eps_dual = tol * (sqrt_n + rho * np.sqrt(ky @ ky))
            rel_res = tol * max(r_norm / eps_pri, s_norm / eps_dual)
            if r_norm <= eps_pri and s_norm <= eps_dual:
                converged = True
                v = gv
                break
        if adapt:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                ratio = float((r_norm / eps_pri) / max(s_norm / eps_dual, 1e-300))
            if not np.isfinite(ratio):
                ratio = 1e300
            changed = False
            if ratio > 10 or ratio < 0.1:
                scale = float(np.clip(np.sqrt(ratio), 0.1, 10.0))
                scale = max(scale, rho_floor / rho)
                if scale != 1.0:
                    rho *= scale
                    gv[c:] /= scale
                    changed = True
            if mu > 0:
                # balance the two blocks too: rescale beta by their primal/dual residual ratios
                s1 = np.linalg.norm(L.T @ (zn[:a] - z[:a]))
                s2 = beta * np.linalg.norm(zn[a:] - z[a:])
                ratio2 = (np.linalg.norm(d[a:]) * s1) / max(np.linalg.norm(d[:a]) * s2, 1e-300)
                if ratio2 > 10 or ratio2 < 0.1:
                    new_beta = float(np.clip(beta * np.clip(np.sqrt(ratio2), 0.3, 3.0), 1e-3, 1.0))
                    # z2 = beta x and its scaled multiplier change with beta
                    gv[a:c] *= new_beta / beta
                    gv[c + a :] *= beta / new_beta
                    changed = new_beta != beta or changed
                    beta = new_beta
            if changed:
                K, Kt, b0, B = prepare(rho, beta)
                v, n_hist, g_prev, pending = gv, 0, None, False
                continue
        if it <= adapt_until:
            v = gv
            continue
        if mem == 0:
            v = gv
            continue
        if g_prev is not None:
            if n_hist == 0:
                pos = 0
            dG[pos] = gv - g_prev
            dF[pos] = new = f - f_prev
            # Gram matrix of the stored differences, updated one row and column at a time
            n_hist = min(n_hist + 1, mem)
            row = dF[:n_hist] @ new
            FtF_all[pos, :n_hist] = row
            FtF_all[:n_hist, pos] = row
            pos = (pos + 1) % mem
        g_prev, f_prev = gv, f
        if not n_hist:
            v = gv
            continue
        F = dF[:n_hist]
        FtF = FtF_all[:n_hist, :n_hist]
        reg = 1e-10 * float(np.sum(np.diagonal(FtF))) + 1e-300
        _, gamma, info_ls = _posv(FtF + reg * eye_mem[:n_hist, :n_hist], F @ f)
        if info_ls:
            gamma = np.linalg.lstsq(FtF, F @ f, rcond=None)[0]
        v = gv - gamma @ dG[:n_hist]
        g_ref, f_ref, pending = gv, fn, True
        n_aa += 1
    zn = v[:c]
    # x, not z2 / beta: |L x - z1| is within the primal tolerance, so the rank the nuclear norm
    # found shows in x, while z2 / beta would carry the z2 residual divided by a small beta
    sol = x
    info = {
        "solver": "fast",
        "converged": bool(converged),
        "iterations": int(it),
        "primal_residual": r_norm,
        "dual_residual": s_norm,
        "relative_residual": float(rel_res),
        "rho": float(rho),
        "anderson_steps": n_aa,
        "anderson_rejected": n_rejected,
        "state": {"z": zn.copy(), "y": rho * v[c:], "rho": rho, "beta": beta},
    }
    if not np.all(np.isfinite(sol)):
        info["converged"] = False
        info["status"] = "non-finite iterate"
    else:
        info["status"] = "converged" if converged else f"not converged in {it} iterations"
    return sol, info


_CVXPY_DEFAULTS = {
    "CLARABEL": {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "max_iter": 400},
    "SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 100000},
}


def solve_cvxpy(
    problem: PromotionProblem,
    lam: float,
    mu: float = 0.0,
    *,
    solver: str = "CLARABEL",
    options: dict | None = None,
) -> tuple[np.ndarray, dict]:
    """Solve a :class:`PromotionProblem` with cvxpy (the reference).

    The loss is passed as a quadratic objective.  Default options tighten the
    tolerances to 1e-10 (Clarabel) and 1e-9 (SCS); ``options`` overrides them.  An interior-point
    solution of a low-rank (degenerate) nuclear-norm problem is accurate to about 1e-6 relative
    whatever the tolerance; SCS, a first-order method, gets closer.  Only status ``optimal``
    counts as converged.  Returns ``(x, info)`` with ``converged``, ``status``, ``iterations``
    (when the solver reports them), ``solve_time`` (wall time including cvxpy's compilation)
    and ``solver_time`` (the solver's own).
    """
    import cvxpy as cp

    name = str(solver).upper()
    if name not in cp.installed_solvers():
        raise ValueError(f"cvxpy solver {solver!r}: not installed; installed: {', '.join(cp.installed_solvers())}")
    M, q = problem.shape
    x = cp.Variable(problem.n_unknowns)
    # a quadratic objective (rather than a second-order cone) is markedly more accurate with Clarabel
    H = 0.5 * (problem.H + problem.H.T)
    obj = 0.5 * cp.quad_form(x, cp.psd_wrap(H)) - problem.g @ x
    if q and lam > 0:
        obj = obj + lam * cp.normNuc(cp.reshape(problem.L @ x, (M, q), order="C"))
    if mu > 0:
        obj = obj + mu * cp.norm1(x)
    prob = cp.Problem(cp.Minimize(obj))
    opts = dict(_CVXPY_DEFAULTS.get(name, {}))
    opts.update(options or {})
    t0 = time.perf_counter()
    try:
        prob.solve(solver=name, **opts)
    except cp.error.SolverError as exc:
        return np.full(problem.n_unknowns, np.nan), {
            "solver": f"cvxpy:{name}",
            "converged": False,
            "status": f"solver error: {str(exc).splitlines()[0]}",
            "iterations": None,
            "solve_time": time.perf_counter() - t0,
            "solver_time": None,
        }
    status = str(prob.status)
    ok = status == cp.OPTIMAL and x.value is not None and np.all(np.isfinite(x.value))
    stats = prob.solver_stats
    return (np.asarray(x.value, float) if x.value is not None else np.full(problem.n_unknowns, np.nan)), {
        "solver": f"cvxpy:{name}",
        "converged": bool(ok),
        "status": status,
        "iterations": getattr(stats, "num_iters", None),
        "solve_time": time.perf_counter() - t0,
        "solver_time": getattr(stats, "solve_time", None),
    }
