"""Noise robustness on time series: symsindy (strong, weak, known and discovered symmetry) against pysindy.

Every method is given the very same noisy trajectory, sample times and library, and is
scored on whether it recovers the exact sparsity pattern of the true equations.

Data
    TIME SERIES, not random states.  Per (system, seed) one trajectory is simulated from the
    true equations (DOP853, rtol = atol = 1e-10) and sampled two ways over the SAME time span:
    ``dense``, 5,001 samples (5,000 steps), and ``sparse``, every 10th of those samples
    (501 samples, a 10x coarser step).
    - Catalogue systems (``symsindy.catalogue``): span = the catalogue's ``t_end`` from t = 0,
      nothing dropped (the catalogue's own data; for damped systems the transient is the
      data), dense step ``t_end / 5000``.  The start is the catalogue's ``x0`` perturbed by
      ``0.1 |x0_i| N(0,1)`` per variable (the catalogue's ``spread`` rule; ``max|x0|`` where
      ``x0_i = 0``), drawn from ``default_rng([BASE_SEED, crc32(name), seed, attempt])``.
    - dysts systems (``benchmarks/_dysts.py``): the JSON's ``dt`` covers only about ONE period
      in 5,000 samples, so it is NOT used: dense step = period / 500 and sparse step = period
      / 50, i.e. both span 10 periods.  Start: the JSON's initial condition after the adapter's
      transient (10 periods plus a seeded random 0..20 periods: a different piece of the
      attractor for every seed).
    A trajectory that fails to integrate or leaves the finite numbers is redrawn (attempt + 1,
    at most 5 attempts).  Noise: eta x (each variable's std over the clean sampled
    trajectory) x N(0, 1), added to the states only; eta in {0, 1, 5, 10, 20, 40} %;
    independent draws per sampling from ``default_rng([BASE_SEED, crc32(name), seed,
    sampling, round(1000 eta)])`` (so a ``--noise`` subset reproduces the same arrays).  20
    seeds.  At eta = 0 the seeds differ only by the trajectory.

Systems and splits
    ``tuning`` (these were used to choose the package's defaults, so they are not evidence):
    damped_oscillator, lorenz, duffing, hopf, van_der_pol.  ``report``: the other polynomial
    catalogue systems with at most 4 variables (fpu_beta, 8, and lorenz96, 5, are left out
    for run time), of which a seeded random subset is run (below).  ``dysts``: the 67
    polynomial flows of the external dysts suite (``_dysts.polynomial_systems()``: degree <= 3,
    at most 4 variables, not duplicating the catalogue), a seeded random subset.  Both subsets
    are the first k of ``np.random.default_rng(BASE_SEED + 1 / + 2).permutation(sorted names)``,
    fixed before anything is run (the draw does not depend on any result; ``--quick`` takes the
    first 2 of each);
    ``--n-report`` / ``--n-dysts`` set k (``all`` for every system).  The full run uses k = 4
    and 4 (report: selkov, rigid_body, sir, halvorsen; dysts: Laser, IsothermalChemical,
    ShimizuMorioka, HyperXu), set from a timing run of one seed per system so that it fits in
    about an hour on 2 shared cores: the discovery's cost grows steeply with the library (about
    0.5 s per fit for 2- and 3-D quadratic systems, 3-5 s for 4-D ones), and the 5th of each
    order (henon_heiles, NuclearQuadrupole, both 4-D) would add about 40 minutes; run them
    with ``--n-report 5 --n-dysts 5``.  The cut was made on run time alone.
    Library: ``ps.PolynomialLibrary(degree = the system's total degree)`` (bias included,
    interactions included), the same for every method; true coefficients in its term order
    from ``System.true_coefficients`` (catalogue) or the adapter's exact expansion (dysts).

Methods (all on the same arrays)
    ``stlsq``      pysindy: ``ps.SmoothedFiniteDifference()`` (its defaults: Savitzky-Golay
                   window 11, order 3; the library is evaluated on its smoothed states, as
                   ``ps.SINDy.fit`` does) + ``ps.STLSQ(threshold, alpha, max_iter=20)``.
    ``weak``       pysindy: ``ps.WeakPDELibrary(function_library=PolynomialLibrary(d),
                   spatiotemporal_grid=t, K=200)`` + ``ps.STLSQ``.  pysindy draws the 200
                   subdomain centres from the global ``np.random`` when the library is
                   built; it is seeded (``np.random.seed``) per (system, seed, sampling), so
                   the test functions are the same at every noise level of a seed.
    ``esindy``     pysindy E-SINDy: ``ps.EnsembleOptimizer(opt=ps.STLSQ(threshold, alpha),
                   bagging=True, n_models=20)`` with smoothed finite differences: 20
                   bootstrap resamples of the rows (n out of n, with replacement), pysindy's
                   default aggregation (the element-wise median of the 20 models, which
                   keeps a term iff most bagged models keep it); ``np.random`` seeded per fit.
    Each pysindy method is run with ridge alpha = 0.05 (pysindy's default) and alpha = 0;
    per cell (system, sampling, noise, threshold rule) the better alpha (more successes;
    ties: the smaller median error) is reported as that method; both are in the JSON.
    ``sym_strong``     ``SymmetricSINDy(formulation="strong", symmetry=None, alpha=0)``.
    ``sym_weak``       ``SymmetricSINDy(formulation="weak", symmetry=None, alpha=0)``.
    ``sym_weak_known`` the same with the catalogue's declared symmetries (all specs that hold
                       at the catalogue parameters); not run where none is declared (every
                       dysts flow, and catalogue systems without a declared symmetry).
    ``sym_weak_disc``  ``fit_with_discovered_symmetry(..., alpha=0, n_bootstrap=10,
                       formulation="weak")``: discovery, then the weak fit with what it
                       found.  If the installed package does not accept ``formulation``
                       yet (checked with ``inspect.signature``), discovery runs without it
                       (strong form; its final refit is then the package's default,
                       ``formulation="auto"``, i.e. weak on a time series); the JSON records
                       which, and the final fit's ``formulation_``.

Thresholds
    ``oracle`` (reference only: it uses the truth): half the smallest nonzero true
    |coefficient|, for every method.
    ``auto``: symsindy ``threshold="auto"`` (the package's rule).  pysindy has no automatic
    rule; the strongest honest one is cross-validation: 20 thresholds log-spaced from 1e-3 to
    10 x max|least-squares coefficient| (full library, all rows); 5 contiguous blocks of rows
    in time order (strong form: the samples; weak form: the 200 test functions ordered by
    their centres -- their supports overlap neighbouring blocks, which is pysindy's design,
    not a choice here); each block held out in turn, STLSQ fitted on the other four and scored
    on the held-out rows' targets (the smoothed derivatives, resp. the weak targets
    -int phi' x): mean over variables of the squared error divided by that target's variance
    over all rows.  One-standard-error rule: the largest threshold whose mean CV error is at
    most the minimum mean plus its standard error (std over folds / sqrt 5).  Separately per
    alpha.  E-SINDy uses the threshold the CV chose for ``stlsq`` at the same alpha (same
    derivatives and library; cross-validating the 20-model ensemble itself would cost 20x
    more and is not done) -- bagging is a robustification of that STLSQ.

How pysindy is run (speed, and how it is checked)
    pysindy's STLSQ spends ~20 ms per fit in input validation, which for the CV (200 fits per
    dataset) and E-SINDy (20 fits each) would dominate the run.  So the fits are computed
    with a NumPy transcription of pysindy 2.1's ``STLSQ`` (ridge by Cholesky of the Gram
    matrix, scipy ``solve(assume_a="pos")`` with a least-squares fallback, as sklearn's
    ``ridge_regression``; thresholding ``|c| >= threshold``; pysindy's stopping rule; the
    final unbiased least-squares refit on ``|c| > 1e-14``) and of ``EnsembleOptimizer``
    (bootstrap rows from ``np.random.RandomState(seed).choice(range(n), n, replace=True)``, the
    same draws as pysindy after ``np.random.seed(seed)``; median).  Derivatives, smoothed
    states, libraries and weak integrals are pysindy's own objects.  CHECK: on every seed in
    ``VERIFY_SEEDS`` (seed 0) of every (system, sampling, noise) cell, every pysindy fit
    (3 methods x 2 alphas x 2 threshold rules) is repeated with pysindy itself
    (``ps.SINDy(...).fit(x, t=t)``, the weak library rebuilt from the same seed) and the
    coefficients compared: the JSON and the report give the number checked, the number whose
    support differs and the largest coefficient difference (relative to max|c|).  The CV
    fits use the Gram matrix also for the unbiasing step (normal equations).
    Fit times: symsindy: wall time of ``fit`` (per seed, both workers busy).  pysindy: wall
    time of pysindy's own ``SINDy.fit`` (differentiation or weak library construction
    included) on the checked seeds; for ``auto`` the transcription's CV time is added (the
    CV run through pysindy's own STLSQ would take ~100 x 20 ms more).

Metrics per (system, sampling, noise, method, threshold rule)
    Successes out of the seeds: the support of ``coef_`` (|c| > 1e-10) equals the true
    support exactly.  Any exception is a failure (its type is counted).  Median relative
    coefficient error ||Xi_hat - Xi||_F / ||Xi||_F over the fits that returned.  Median fit
    time.  Chosen thresholds (median), symsindy's ``formulation_`` and the discovered
    specs (counts).  Split tables pool the successes of the split's systems.  Ratio
    ``sym_weak_disc`` (auto) / best pysindy (auto) per noise level: the pooled success rate of
    discovered-symmetry symsindy over that of the pysindy method (each at its better alpha
    per cell) with the highest pooled rate at that noise; also against the per-cell best of
    the three pysindy methods (an envelope no single pysindy configuration attains).

Lorenz target (separate)
    Lorenz (sigma = 10, rho = 28, beta = 8/3), dt = 0.002, 5,000 samples, the catalogue's x0
    perturbed per seed as above, noise 20 % and 30 % of each variable's std, 20 seeds;
    ``SymmetricSINDy(symmetry="flip(x,y)", formulation="weak", threshold="auto")`` (target:
    >= 18/20 at 20 %, >= 10/20 at 30 %), beside it symsindy weak without symmetry, with the
    discovered symmetry, and pysindy's weak form (CV and oracle thresholds) on the same data.

Usage
    python benchmarks/bench_noise.py [--quick] [--out DIR] [--workers 2] [--seeds 20]
        [--systems a,b,...] [--noise 0,1,5,10,20,40] [--samplings dense,sparse]
        [--n-report 4] [--n-dysts 4] [--no-lorenz-target] [--no-main] [--resume]

Writes ``noise.md`` (tables) and ``noise.json`` (every number, per seed) to ``--out``.  While it
runs, ``noise.json`` is a checkpoint of the finished tasks (rewritten every minute); after an
interruption, the same command with ``--resume`` continues from it (same settings and package
files required, else it starts afresh).
BLAS threads default to 1 (``_common``); ``--workers`` processes (default 2).
"""

from __future__ import annotations

import _common as common  # first: it sets BLAS threads to 1 unless overridden

import argparse  # noqa: E402
import hashlib  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing as mp  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import zlib  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pysindy as ps  # noqa: E402
import scipy.linalg as sla  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

BASE_SEED = 20250611
NOISE_LEVELS = (0.0, 0.01, 0.05, 0.10, 0.20, 0.40)
N_SEEDS = 20
N_STEPS = 5000  # dense: N_STEPS + 1 samples
SPARSE_STRIDE = 10  # sparse: every 10th dense sample
SAMPLINGS = ("dense", "sparse")
DYSTS_STEPS_PER_PERIOD = 500  # dense dysts step = period / 500 (sparse: period / 50)
SPREAD = 0.1
MAX_ATTEMPTS = 5
ALPHAS = (0.05, 0.0)
MAX_ITER = 20
K_WEAK = 200
N_MODELS = 20
CV_FOLDS = 5
CV_GRID = 20
CV_LOW = 1e-3
CV_HIGH_FACTOR = 10.0
NONZERO = 1e-10
N_BOOTSTRAP = 10
VERIFY_SEEDS = (0,)
CHECKPOINT_SECONDS = 60

TUNING = ("damped_oscillator", "lorenz", "duffing", "hopf", "van_der_pol")
MAX_REPORT_DIM = 4
N_REPORT_DEFAULT = 4
N_DYSTS_DEFAULT = 4

LORENZ_DT = 0.002
LORENZ_SAMPLES = 5000
LORENZ_NOISE = (0.20, 0.30)
LORENZ_TARGETS = {0.20: 18, 0.30: 10}

PY_METHODS = ("stlsq", "weak", "esindy")
SYM_METHODS = ("sym_strong", "sym_weak", "sym_weak_known", "sym_weak_disc")
METHODS = PY_METHODS + SYM_METHODS
RULES = ("auto", "oracle")
LABELS = {
    "stlsq": "pysindy STLSQ",
    "weak": "pysindy weak",
    "esindy": "pysindy E-SINDy",
    "sym_strong": "sym strong",
    "sym_weak": "sym weak",
    "sym_weak_known": "sym weak+known",
    "sym_weak_disc": "sym weak+disc",
}


def alpha_key(method: str, alpha: float) -> str:
    return f"{method}@a={alpha:g}"


def crc(name: str) -> int:
    return zlib.crc32(name.encode())


# --------------------------------------------------------------------------- systems


def catalogue_pool():
    from symsindy.catalogue import load_folder

    cat = load_folder()
    report = sorted(
        n for n, s in cat.items() if s.is_polynomial and n not in TUNING and s.n_variables <= MAX_REPORT_DIM
    )
    left_out = sorted(
        n for n, s in cat.items() if s.is_polynomial and n not in TUNING and s.n_variables > MAX_REPORT_DIM
    )
    not_poly = sorted(n for n, s in cat.items() if not s.is_polynomial)
    return report, left_out, not_poly


def seeded_subset(names, k, offset):
    """The first ``k`` of a seeded permutation of the sorted names (so smaller subsets are prefixes)."""
    order = np.random.default_rng(BASE_SEED + offset).permutation(sorted(names)).tolist()
    return order if k is None else order[:k]


def catalogue_degree(system) -> int:
    import sympy

    return max(sympy.Poly(sympy.expand(e), *system.symbols).total_degree() for e in system.rhs_list)


_CAT_CACHE: dict = {}


def get_catalogue(name):
    if name not in _CAT_CACHE:
        from symsindy.catalogue import get_system

        _CAT_CACHE[name] = get_system(name)
    return _CAT_CACHE[name]


def simulate_catalogue(name, seed, t_end=None, dt=None, n_steps=N_STEPS):
    """(t, x_clean) of one seeded trajectory; t_end from the catalogue unless given."""
    s = get_catalogue(name)
    t_end = float(s.t_end if t_end is None else t_end)
    dt = t_end / n_steps if dt is None else float(dt)
    base = np.asarray(s.x0, float)
    scale = np.abs(base)
    scale = np.where(scale > 0, scale, float(scale.max()) if scale.any() else 1.0)
    last = None
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([BASE_SEED, crc(name), seed, attempt])
        x0 = base + SPREAD * scale * rng.standard_normal(base.shape)
        try:
            sim = s.simulate(t_end=dt * n_steps, dt=dt, x0=x0)
        except ValueError as exc:
            last = exc
            continue
        x = sim.x_clean[0]
        if x.shape[0] == n_steps + 1 and np.all(np.isfinite(x)) and np.abs(x).max() < 1e6:
            return sim.t, x, attempt
        last = RuntimeError("trajectory left the finite numbers")
    raise RuntimeError(f"{name}: no trajectory in {MAX_ATTEMPTS} attempts: {last}")


def simulate_dysts(system, seed):
    last = None
    dt = system.period / DYSTS_STEPS_PER_PERIOD
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([BASE_SEED, crc(system.name), seed, attempt])
        try:
            t, x = system.simulate(N_STEPS + 1, dt=dt, seed=rng)
        except RuntimeError as exc:
            last = exc
            continue
        if np.all(np.isfinite(x)) and np.abs(x).max() < 1e6:
            return t, x, attempt
        last = RuntimeError("trajectory left the finite numbers")
    raise RuntimeError(f"{system.name}: no trajectory in {MAX_ATTEMPTS} attempts: {last}")


# --------------------------------------------------------------------------- pysindy transcription


#: sklearn's LinearRegression (pysindy's unbiasing refit) calls scipy.linalg.lstsq with cond=tol=1e-6
LSTSQ_COND = 1e-6


def _ridge_exact(Xs, y, alpha):
    """sklearn ``ridge_regression(Xs, y, alpha)`` as pysindy calls it (solver "auto" = cholesky on
    dense data; the kernel form when there are more features than rows; SVD if singular)."""
    n, k = Xs.shape
    yc = y.reshape(-1, 1)
    try:
        if k > n:
            K = Xs @ Xs.T
            K.flat[:: n + 1] += alpha
            return (Xs.T @ sla.solve(K, yc, assume_a="pos", overwrite_a=False)).ravel()
        A = Xs.T @ Xs
        A.flat[:: k + 1] += alpha
        return sla.solve(A, Xs.T @ yc, assume_a="pos", overwrite_a=True).ravel()
    except (sla.LinAlgError, np.linalg.LinAlgError):
        U, sv, Vt = np.linalg.svd(Xs, full_matrices=False)
        keep = sv > 1e-15
        d = np.zeros(sv.shape)
        d[keep] = sv[keep] / (sv[keep] ** 2 + alpha)
        return Vt.T @ (d * (U.T @ y))


def _ridge_gram(A, r, alpha):
    """The same from a Gram submatrix (the CV and the bagged fits: no recomputation of X^T X)."""
    A = A + alpha * np.eye(A.shape[0])
    try:
        return sla.solve(A, r, assume_a="pos")
    except (sla.LinAlgError, np.linalg.LinAlgError):
        w, V = np.linalg.eigh(A)
        good = w > 1e-30 * max(float(w.max()), 1e-300)
        return V[:, good] @ ((V[:, good].T @ r) / w[good])


def stlsq(threshold, alpha, X=None, Y=None, G=None, R=None, w=None, max_iter=MAX_ITER):
    """pysindy 2.1 ``STLSQ(threshold, alpha, max_iter).fit(X, Y).coef_`` (no normalisation,
    unbias on), shape (n_targets, n_features).

    With ``X``/``Y`` only: every ridge step as sklearn computes it (``_ridge_exact``).  With the
    Gram matrix ``G = X^T X`` and ``R = X^T Y``: ridge steps from its submatrices.  The unbiasing
    refit is scipy ``lstsq(X[:, support], y, cond=1e-6)`` (sklearn's LinearRegression) when ``X``
    is given (rows weighted by sqrt(w) for bootstrap counts w), else the same truncated
    pseudo-inverse from ``G`` (eigenvalues below (1e-6)^2 x the largest dropped)."""
    nt = Y.shape[1] if Y is not None else R.shape[1]
    p = (X if X is not None else G).shape[1]
    coef = np.zeros((nt, p))
    for i in range(nt):
        supp = np.ones(p, dtype=bool)
        c = np.zeros(p)
        for _ in range(max_iter):
            idx = np.flatnonzero(supp)
            if idx.size == 0:
                c = np.zeros(p)
                break
            if G is None:
                ci = _ridge_exact(X[:, idx], Y[:, i], alpha)
            else:
                ci = _ridge_gram(G[np.ix_(idx, idx)], R[idx, i], alpha)
            keep = np.abs(ci) >= threshold
            c = np.zeros(p)
            c[idx[keep]] = ci[keep]
            if keep.all():
                break
            supp = np.zeros(p, dtype=bool)
            supp[idx[keep]] = True
        ind = np.abs(c) > 1e-14
        if not ind.any():
            continue
        if X is not None:
            Xs, ys = X[:, ind], Y[:, i]
            if w is not None:
                sw = np.sqrt(w)
                Xs, ys = Xs * sw[:, None], ys * sw
            coef[i, ind] = sla.lstsq(Xs, ys, cond=LSTSQ_COND)[0]
        else:
            ev, V = np.linalg.eigh(G[np.ix_(ind, ind)])
            good = ev > LSTSQ_COND**2 * max(float(ev.max()), 1e-300)
            coef[i, ind] = V[:, good] @ ((V[:, good].T @ R[ind, i]) / ev[good])
    return coef


#: a bag's ridge step is computed from its rows, as sklearn does, instead of from its Gram matrix
#: when (smallest + alpha) / (largest + alpha) eigenvalue of the Gram matrix is below this: there
#: the result depends on the rounding of X^T X
GRAM_ILL = 1e-10


class Bags:
    """The bootstrap rows pysindy's EnsembleOptimizer draws after ``np.random.seed(seed)``, with
    their Gram matrices (shared by every threshold and alpha fitted with this seed)."""

    def __init__(self, X, Y, seed, n_models=N_MODELS):
        rs = np.random.RandomState(seed)
        n = X.shape[0]
        self.X, self.Y = X, Y
        self.items = []
        for _ in range(n_models):
            idx = rs.choice(range(n), n, replace=True)
            cnt = np.bincount(idx, minlength=n).astype(float)
            u = np.flatnonzero(cnt)
            Xu, Yu, w = X[u], Y[u], cnt[u]
            Xw = Xu * w[:, None]
            G = Xw.T @ Xu
            ev = np.linalg.eigvalsh(G)
            self.items.append((idx, G, Xw.T @ Yu, Xu, Yu, w, float(ev[0]), float(ev[-1])))

    def fit(self, threshold, alpha):
        coefs = []
        for idx, G, R, Xu, Yu, w, lo, hi in self.items:
            if (lo + alpha) <= GRAM_ILL * (hi + alpha):
                coefs.append(stlsq(threshold, alpha, X=self.X[idx], Y=self.Y[idx]))
            else:
                coefs.append(stlsq(threshold, alpha, X=Xu, Y=Yu, G=G, R=R, w=w))
        return np.median(coefs, axis=0)


def cv_threshold(X, Y, alpha, order=None):
    """The one-standard-error CV threshold (module docstring); returns (threshold, details)."""
    n = X.shape[0]
    rows = np.arange(n) if order is None else np.asarray(order)
    folds = np.array_split(rows, CV_FOLDS)
    c_ls = np.linalg.lstsq(X, Y, rcond=None)[0]
    high = CV_HIGH_FACTOR * float(np.abs(c_ls).max())
    high = max(high, 10 * CV_LOW)
    grid = np.geomspace(CV_LOW, high, CV_GRID)
    var = Y.var(axis=0)
    var = np.where(var > 0, var, 1.0)
    err = np.zeros((CV_GRID, CV_FOLDS))
    for f, held in enumerate(folds):
        mask = np.ones(n, dtype=bool)
        mask[held] = False
        Xt, Yt = X[mask], Y[mask]
        G, R = Xt.T @ Xt, Xt.T @ Yt
        Xh, Yh = X[held], Y[held]
        for g, thr in enumerate(grid):
            C = stlsq(thr, alpha, G=G, R=R)
            err[g, f] = float(np.mean(np.mean((Yh - Xh @ C.T) ** 2, axis=0) / var))
    mean = err.mean(axis=1)
    se = err.std(axis=1, ddof=1) / math.sqrt(CV_FOLDS)
    best = int(np.nanargmin(mean))
    ok = mean <= mean[best] + se[best]
    chosen = float(grid[np.flatnonzero(ok).max()])
    return chosen, {"grid_high": high, "best_mean_threshold": float(grid[best])}


# --------------------------------------------------------------------------- one dataset


def strong_problem(x, t, degree):
    diff = ps.SmoothedFiniteDifference()
    xd = np.asarray(diff(x, t=t), float)
    xs = np.asarray(diff.smoothed_x_, float)
    lib = ps.PolynomialLibrary(degree=degree)
    X = np.asarray(lib.fit_transform(xs), float)
    return X, xd


def weak_library(t, degree, seed):
    np.random.seed(seed)
    return ps.WeakPDELibrary(function_library=ps.PolynomialLibrary(degree=degree), spatiotemporal_grid=t, K=K_WEAK)


def weak_problem(lib, x):
    from pysindy.utils import AxesArray

    xa = AxesArray(np.asarray(x, float), {"ax_time": 0, "ax_coord": 1})
    X = np.asarray(lib.fit_transform(xa), float)
    Y = np.asarray(lib.convert_u_dot_integral(xa), float)
    centres = np.array([float(np.mean(ix[0])) for ix in lib.inds_k])
    return X, Y, np.argsort(centres, kind="stable")


def score(coef, truth):
    coef = np.asarray(coef, float)
    if coef.shape != truth.shape or not np.all(np.isfinite(coef)):
        return False, float("nan")
    ok = bool(np.array_equal(np.abs(coef) > NONZERO, truth != 0))
    return ok, float(np.linalg.norm(coef - truth) / np.linalg.norm(truth))


def record(coef, truth, seconds, **extra):
    ok, err = score(coef, truth)
    return {"ok": ok, "err": err, "time": seconds, "exc": None, **extra}


def failure(exc, seconds):
    msg = str(exc).splitlines()[0][:160] if str(exc) else ""
    return {"ok": False, "err": None, "time": seconds, "exc": type(exc).__name__, "msg": msg}


def pysindy_reference(kind, x, t, degree, threshold, alpha, weak_seed=None, bag_seed=None, cache=None):
    """The same fit with pysindy itself: (coef, seconds).  The weak library (whose construction
    draws the subdomains and takes most of the time) is built once per dataset, in ``cache``,
    and its construction time is added to every weak fit's time."""
    opt = ps.STLSQ(threshold=threshold, alpha=alpha, max_iter=MAX_ITER)
    extra = 0.0
    if kind == "weak":
        cache = {} if cache is None else cache
        if "weak" not in cache:
            t0 = time.perf_counter()
            cache["weak"] = (weak_library(t, degree, weak_seed), None)
            cache["weak"] = (cache["weak"][0], time.perf_counter() - t0)
        lib, extra = cache["weak"]
    t0 = time.perf_counter()
    if kind == "stlsq":
        model = ps.SINDy(
            optimizer=opt,
            feature_library=ps.PolynomialLibrary(degree=degree),
            differentiation_method=ps.SmoothedFiniteDifference(),
        )
    elif kind == "weak":
        model = ps.SINDy(optimizer=opt, feature_library=lib)
    else:
        np.random.seed(bag_seed)
        model = ps.SINDy(
            optimizer=ps.EnsembleOptimizer(opt=opt, bagging=True, n_models=N_MODELS),
            feature_library=ps.PolynomialLibrary(degree=degree),
            differentiation_method=ps.SmoothedFiniteDifference(),
        )
    model.fit(x, t=t)
    return np.asarray(model.coefficients(), float), time.perf_counter() - t0 + extra


def run_pysindy(x, t, degree, truth, oracle, wlib, weak_seed, bag_seed, methods, verify):
    out, checks = {}, []
    want = [m for m in PY_METHODS if m in methods]
    if not want:
        return out, checks
    problems = {}
    t0 = time.perf_counter()
    if "stlsq" in want or "esindy" in want:
        X, Y = strong_problem(x, t, degree)
        problems["strong"] = (X, Y, None, time.perf_counter() - t0)
    if "weak" in want:
        t0 = time.perf_counter()
        Xw, Yw, order = weak_problem(wlib, x)
        problems["weak"] = (Xw, Yw, order, time.perf_counter() - t0)
    bags = None
    ref_cache = {}
    for alpha in ALPHAS:
        cv = {}
        for prob in problems:
            X, Y, order, prep = problems[prob]
            t0 = time.perf_counter()
            try:
                cv[prob] = (*cv_threshold(X, Y, alpha, order), time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001
                cv[prob] = (None, {"error": f"{type(exc).__name__}: {exc}"}, time.perf_counter() - t0)
        for m in want:
            prob = "weak" if m == "weak" else "strong"
            X, Y, order, prep = problems[prob]
            thr_auto, cv_info, cv_time = cv[prob]
            for rule, thr in (("auto", thr_auto), ("oracle", oracle)):
                key = alpha_key(m, alpha)
                t0 = time.perf_counter()
                try:
                    if thr is None:
                        raise RuntimeError(f"CV failed: {cv_info.get('error')}")
                    if m == "esindy":
                        if bags is None:
                            bags = Bags(X, Y, bag_seed)
                        coef = bags.fit(thr, alpha)
                    else:
                        coef = stlsq(thr, alpha, X=X, Y=Y)
                    dt = time.perf_counter() - t0 + prep + (cv_time if rule == "auto" else 0.0)
                    rec = record(coef, truth, dt, thr=thr)
                    if rule == "auto":
                        rec["cv"] = cv_info
                except Exception as exc:  # noqa: BLE001
                    coef = None
                    rec = failure(exc, time.perf_counter() - t0)
                if verify and thr is not None:
                    try:
                        ref, secs = pysindy_reference(m, x, t, degree, thr, alpha, weak_seed, bag_seed, ref_cache)
                        rec["pysindy_time"] = secs + (cv_time if rule == "auto" else 0.0)
                        if coef is None:
                            checks.append(
                                {
                                    "key": key,
                                    "rule": rule,
                                    "support_equal": False,
                                    "max_rel_diff": None,
                                    "note": "transcription raised",
                                }
                            )
                        else:
                            scale = max(float(np.abs(ref).max()), 1e-300)
                            checks.append(
                                {
                                    "key": key,
                                    "rule": rule,
                                    "support_equal": bool(
                                        np.array_equal(np.abs(ref) > NONZERO, np.abs(coef) > NONZERO)
                                    ),
                                    "max_rel_diff": float(np.abs(ref - coef).max() / scale),
                                    "pysindy_ok": score(ref, truth)[0],
                                }
                            )
                    except Exception as exc:  # noqa: BLE001
                        checks.append(
                            {
                                "key": key,
                                "rule": rule,
                                "support_equal": coef is None,
                                "max_rel_diff": None,
                                "note": f"pysindy raised {type(exc).__name__}: {str(exc)[:100]}",
                            }
                        )
                out.setdefault(key, {})[rule] = rec
    return out, checks


_DISC_FORMULATION = None


def disc_accepts_formulation() -> bool:
    global _DISC_FORMULATION
    if _DISC_FORMULATION is None:
        from symsindy import discover

        params = set(inspect.signature(discover.fit_with_discovered_symmetry).parameters)
        params |= set(inspect.signature(discover.discover_symmetries).parameters)
        _DISC_FORMULATION = "formulation" in params
    return _DISC_FORMULATION


def run_symsindy(x, t, names, degree, truth, oracle, known, methods, terms):
    from symsindy import SymmetricSINDy
    from symsindy.discover import fit_with_discovered_symmetry

    out = {}
    for m in SYM_METHODS:
        if m not in methods or (m == "sym_weak_known" and not known):
            continue
        for rule, thr in (("auto", "auto"), ("oracle", oracle)):
            t0 = time.perf_counter()
            try:
                if m == "sym_weak_disc":
                    kw = dict(
                        feature_names=names,
                        library=ps.PolynomialLibrary(degree=degree),
                        threshold=thr,
                        alpha=0.0,
                        n_bootstrap=N_BOOTSTRAP,
                    )
                    if disc_accepts_formulation():
                        kw["formulation"] = "weak"
                    model, _report, enforced = fit_with_discovered_symmetry(x, t=t, **kw)
                    extra = {"enforced": "; ".join(enforced) if enforced else "(none)"}
                else:
                    model = SymmetricSINDy(
                        library=ps.PolynomialLibrary(degree=degree),
                        symmetry=known if m == "sym_weak_known" else None,
                        threshold=thr,
                        formulation="strong" if m == "sym_strong" else "weak",
                        alpha=0.0,
                    )
                    model.fit(x, t=t, feature_names=names)
                    extra = {}
                dt = time.perf_counter() - t0
                if list(model.term_names_) != list(terms):
                    raise RuntimeError(f"term order {list(model.term_names_)} differs from the truth's {list(terms)}")
                out.setdefault(m, {})[rule] = record(
                    model.coef_, truth, dt, thr=float(model.threshold_), formulation=str(model.formulation_), **extra
                )
            except Exception as exc:  # noqa: BLE001
                out.setdefault(m, {})[rule] = failure(exc, time.perf_counter() - t0)
    return out


# --------------------------------------------------------------------------- one task = (system, seed)


_DYSTS: dict = {}


def worker_init(dysts_systems):
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    for s in dysts_systems:
        _DYSTS[s.name] = s


def system_spec(split, name):
    """names, degree, known symmetry specs, simulate(seed) -> (t_dense, x_dense, attempt), truth fn."""
    if split == "dysts":
        s = _DYSTS[name]
        return (
            list(s.names),
            int(s.degree),
            [],
            (lambda seed: simulate_dysts(s, seed)),
            s.coefficients,
            list(s.term_names),
        )
    s = get_catalogue(name)
    degree = catalogue_degree(s)
    lib = ps.PolynomialLibrary(degree=degree).fit(np.zeros((2, s.n_variables)) + np.arange(2)[:, None])
    truth = s.true_coefficients(lib)
    terms = list(lib.get_feature_names(list(s.variables)))
    if split == "lorenz_target":
        sim = lambda seed: simulate_catalogue(
            name,
            seed,
            t_end=LORENZ_DT * (LORENZ_SAMPLES - 1),
            dt=LORENZ_DT,  # noqa: E731
            n_steps=LORENZ_SAMPLES - 1,
        )
        known = ["flip(x,y)"]
    else:
        sim = lambda seed: simulate_catalogue(name, seed)  # noqa: E731
        known = list(s.symmetry_specs)
    return list(s.variables), degree, known, sim, truth, terms


def run_task(task):
    warnings.simplefilter("ignore")
    split, name, seed = task["split"], task["name"], task["seed"]
    t_task = time.perf_counter()
    rows = []
    try:
        names, degree, known, sim, truth, terms = system_spec(split, name)
        t_d, x_d, attempt = sim(seed)
    except Exception as exc:  # noqa: BLE001
        return {
            "task": task,
            "rows": [],
            "error": f"{type(exc).__name__}: {exc}",
            "seconds": time.perf_counter() - t_task,
        }
    oracle = 0.5 * float(np.abs(truth[truth != 0]).min())
    for sampling in task["samplings"]:
        if sampling == "dense":
            t, xc = t_d, x_d
        else:
            t, xc = t_d[::SPARSE_STRIDE], x_d[::SPARSE_STRIDE]
        samp_id = SAMPLINGS.index(sampling) if sampling in SAMPLINGS else 0
        std = xc.std(axis=0)
        weak_seed = int(np.random.SeedSequence([BASE_SEED, crc(name), seed, samp_id, 7]).generate_state(1)[0] % (2**31))
        wlib = weak_library(t, degree, weak_seed) if "weak" in task["methods"] else None
        for eta in task["noise"]:
            rng = np.random.default_rng([BASE_SEED, crc(name), seed, samp_id, int(round(1000 * eta))])
            x = xc + eta * std * rng.standard_normal(xc.shape)
            bag_seed = int(
                np.random.SeedSequence(
                    [BASE_SEED, crc(name), seed, samp_id, int(round(1000 * eta)), 11]
                ).generate_state(1)[0]
                % (2**31)
            )
            verify = seed in task["verify_seeds"]
            py, checks = run_pysindy(x, t, degree, truth, oracle, wlib, weak_seed, bag_seed, task["methods"], verify)
            sy = run_symsindy(x, t, names, degree, truth, oracle, known, task["methods"], terms)
            rows.append(
                {
                    "split": split,
                    "system": name,
                    "sampling": sampling,
                    "noise": eta,
                    "seed": seed,
                    "attempt": attempt,
                    "fits": {**py, **sy},
                    "checks": checks,
                }
            )
    return {
        "task": task,
        "rows": rows,
        "error": None,
        "seconds": time.perf_counter() - t_task,
        "oracle": oracle,
        "degree": degree,
        "names": names,
        "known": known,
        "terms": terms,
        "truth": truth.tolist(),
        "n_samples": {s: int(len(t_d[:: (1 if s == "dense" else SPARSE_STRIDE)])) for s in task["samplings"]},
        "span": float(t_d[-1] - t_d[0]),
    }


# --------------------------------------------------------------------------- aggregation


def cell_summary(recs):
    """Summary of one (system, sampling, noise, method-key, rule) over seeds."""
    n = len(recs)
    ok = [bool(r["ok"]) for r in recs]
    errs = [r["err"] for r in recs if r.get("exc") is None and r.get("err") is not None and np.isfinite(r["err"])]
    times = [r["time"] for r in recs]
    ptimes = [r["pysindy_time"] for r in recs if "pysindy_time" in r]
    thr = [r["thr"] for r in recs if r.get("thr") is not None]
    out = {
        "n": n,
        "successes": int(sum(ok)),
        "failures": int(sum(r.get("exc") is not None for r in recs)),
        "exceptions": dict(Counter(r["exc"] for r in recs if r.get("exc"))),
        "exception_examples": sorted({f"{r['exc']}: {r.get('msg', '')}" for r in recs if r.get("exc")})[:3],
        "median_rel_error": float(np.median(errs)) if errs else None,
        "median_time": float(np.median(times)) if times else None,
        "median_pysindy_time": float(np.median(ptimes)) if ptimes else None,
        "median_threshold": float(np.median(thr)) if thr else None,
        "per_seed_ok": ok,
        "per_seed_error": [r.get("err") for r in recs],
        "per_seed_threshold": [r.get("thr") for r in recs],
    }
    forms = Counter(r["formulation"] for r in recs if r.get("formulation"))
    if forms:
        out["formulation"] = dict(forms)
    enf = Counter(r["enforced"] for r in recs if r.get("enforced"))
    if enf:
        out["enforced"] = dict(enf.most_common())
    return out


def better(a, b):
    """The better of two cell summaries: more successes, then smaller median error."""
    if a is None:
        return b
    if b is None:
        return a
    if a["successes"] != b["successes"]:
        return a if a["successes"] > b["successes"] else b
    ea = a["median_rel_error"] if a["median_rel_error"] is not None else np.inf
    eb = b["median_rel_error"] if b["median_rel_error"] is not None else np.inf
    return a if ea <= eb else b


def aggregate(rows):
    """results[split][system][sampling][noise][key][rule] = summary; keys include per-alpha
    pysindy variants and the best-alpha method."""
    groups: dict = {}
    for r in rows:
        cell = groups.setdefault((r["split"], r["system"], r["sampling"], f"{r['noise']:g}"), {})
        for key, rules in r["fits"].items():
            for rule, rec in rules.items():
                cell.setdefault(key, {}).setdefault(rule, []).append((r["seed"], rec))
    results: dict = {}
    for (split, system, sampling, noise), cell in groups.items():
        dest = results.setdefault(split, {}).setdefault(system, {}).setdefault(sampling, {}).setdefault(noise, {})
        for key, rules in cell.items():
            for rule, lst in rules.items():
                lst.sort(key=lambda p: p[0])
                dest.setdefault(key, {})[rule] = cell_summary([rec for _, rec in lst])
        for m in PY_METHODS:
            for rule in RULES:
                best, which = None, None
                for alpha in ALPHAS:
                    s = dest.get(alpha_key(m, alpha), {}).get(rule)
                    nb = better(best, s)
                    if nb is not best:
                        best, which = nb, alpha
                if best is not None:
                    dest.setdefault(m, {})[rule] = {**best, "alpha": which}
    return results


def pooled(results, split, sampling, noise, method, rule, systems=None):
    k = n = 0
    for system, per in results.get(split, {}).items():
        if systems is not None and system not in systems:
            continue
        s = per.get(sampling, {}).get(noise, {}).get(method, {}).get(rule)
        if s is not None:
            k += s["successes"]
            n += s["n"]
    return k, n


def envelope(results, split, sampling, noise, rule):
    k = n = 0
    for per in results.get(split, {}).values():
        cell = per.get(sampling, {}).get(noise, {})
        best = None
        for m in PY_METHODS:
            best = better(best, cell.get(m, {}).get(rule))
        if best is not None:
            k += best["successes"]
            n += best["n"]
    return k, n


# --------------------------------------------------------------------------- report


def pct(k, n):
    return "—" if n == 0 else f"{100.0 * k / n:.0f}% ({k}/{n})"


def rate(k, n):
    return None if n == 0 else k / n


def fmt_ratio(a, b):
    if a is None or b is None:
        return "—"
    if b == 0:
        return "—" if a == 0 else "∞"
    return f"{a / b:.2f}"


def noise_keys(results, split, sampling):
    keys = set()
    for per in results.get(split, {}).values():
        keys |= set(per.get(sampling, {}))
    return sorted(keys, key=float)


def split_tables(results, split, sampling, lines, ratios):
    noises = noise_keys(results, split, sampling)
    systems = sorted(results.get(split, {}))
    if not noises:
        return
    lines.append(f"### {split} — {sampling} ({len(systems)} systems: {', '.join(systems)})")
    lines.append("")
    for rule in RULES:
        lines.append(
            f"Success rate, {rule} thresholds (pooled over systems; pysindy methods at their better alpha per cell):"
        )
        lines.append("")
        lines.append("| noise | " + " | ".join(LABELS[m] for m in METHODS) + " |")
        lines.append("|---" * (len(METHODS) + 1) + "|")
        for nz in noises:
            cells = [pct(*pooled(results, split, sampling, nz, m, rule)) for m in METHODS]
            lines.append(f"| {float(nz):.0%} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Ratio symsindy (weak, auto, discovered symmetry) / best pysindy (auto):")
    lines.append("")
    lines.append("| noise | sym weak+disc | best pysindy method | its rate | ratio | per-cell best pysindy | ratio |")
    lines.append("|---|---|---|---|---|---|---|")
    for nz in noises:
        kd, nd = pooled(results, split, sampling, nz, "sym_weak_disc", "auto")
        best_m, best_r, best_kn = None, None, (0, 0)
        for m in PY_METHODS:
            k, n = pooled(results, split, sampling, nz, m, "auto")
            r = rate(k, n)
            if r is not None and (best_r is None or r > best_r):
                best_m, best_r, best_kn = m, r, (k, n)
        ke, ne = envelope(results, split, sampling, nz, "auto")
        rd = rate(kd, nd)
        ratio = fmt_ratio(rd, best_r)
        ratio_e = fmt_ratio(rd, rate(ke, ne))
        ratios.append(
            {
                "split": split,
                "sampling": sampling,
                "noise": float(nz),
                "sym_weak_disc": [kd, nd],
                "best_pysindy_method": best_m,
                "best_pysindy": list(best_kn),
                "ratio": ratio,
                "pysindy_envelope": [ke, ne],
                "ratio_envelope": ratio_e,
            }
        )
        lines.append(
            f"| {float(nz):.0%} | {pct(kd, nd)} | {LABELS.get(best_m, '—')} | {pct(*best_kn)} | {ratio} | "
            f"{pct(ke, ne)} | {ratio_e} |"
        )
    lines.append("")
    lines.append("Per system, auto thresholds: successes of sym weak+disc / per-cell best pysindy (of the seeds):")
    lines.append("")
    lines.append("| system | " + " | ".join(f"{float(nz):.0%}" for nz in noises) + " |")
    lines.append("|---" * (len(noises) + 1) + "|")
    for system in systems:
        row = []
        for nz in noises:
            cell = results[split][system].get(sampling, {}).get(nz, {})
            d = cell.get("sym_weak_disc", {}).get("auto")
            best = None
            for m in PY_METHODS:
                best = better(best, cell.get(m, {}).get("auto"))
            row.append(f"{d['successes'] if d else '—'} / {best['successes'] if best else '—'}")
        lines.append(f"| {system} | " + " | ".join(row) + " |")
    lines.append("")


def median_over(results, split, sampling, method, rule, field):
    vals = []
    for per in results.get(split, {}).values():
        for cell in per.get(sampling, {}).values():
            s = cell.get(method, {}).get(rule)
            if s is not None and s.get(field) is not None:
                vals.append(s[field])
    return float(np.median(vals)) if vals else None


def write_report(out, payload):
    results = payload["results"]
    lines = ["# Noise robustness on time series", ""]
    st = payload["settings"]
    lines += [
        f"{payload['platform']}; {st['workers']} workers; run time {payload['seconds'] / 60:.1f} min; "
        f"discovery formulation: {payload['discovery_formulation']}.",
        "",
        f"Noise {', '.join(f'{v:.0%}' for v in st['noise'])} of each variable's std on the states; {st['seeds']} seeds; "
        f"dense = {N_STEPS + 1} samples, sparse = every {SPARSE_STRIDE}th (same span). Catalogue: span = t_end; dysts: "
        f"step period/{DYSTS_STEPS_PER_PERIOD} (dense), period/{DYSTS_STEPS_PER_PERIOD // SPARSE_STRIDE} (sparse), 10 periods. "
        "Success = exact support (|c| > 1e-10). The script's docstring gives every choice.",
        "",
        "Method key: pysindy STLSQ = smoothed finite differences + STLSQ; pysindy weak = WeakPDELibrary(K=200) + STLSQ; "
        "E-SINDy = EnsembleOptimizer(bagging, 20 models, median); each pysindy method at the better of alpha 0.05 / 0 per cell. "
        "pysindy auto = 5-fold blocked CV with the one-standard-error rule (E-SINDy: the STLSQ CV threshold). "
        "sym = SymmetricSINDy (alpha 0): strong / weak without symmetry, weak with the catalogue's declared symmetry "
        "(known; — where none is declared), weak with the discovered symmetry (disc, n_bootstrap 10).",
        "",
        "Splits: **tuning** systems were used to choose the package's defaults; **report** (other catalogue systems) and "
        "**dysts** (external suite) are the evidence. Subsets drawn by a fixed seed before running: "
        f"report {payload['systems']['report']}, dysts {payload['systems']['dysts']}.",
        "",
    ]
    ratios = []
    for split in ("tuning", "report", "dysts"):
        if split not in results:
            continue
        lines.append(f"## {split}")
        lines.append("")
        for sampling in SAMPLINGS:
            split_tables(results, split, sampling, lines, ratios)
    payload["ratios"] = ratios

    if "lorenz_target" in results:
        lt = results["lorenz_target"].get("lorenz", {}).get("dense", {})
        lines += [
            "## Lorenz target",
            "",
            f"Lorenz, dt = {LORENZ_DT}, {LORENZ_SAMPLES} samples, weak form, the same arrays for every column "
            "(successes out of the seeds).",
            "",
            "| noise | target | sym weak flip(x,y) auto | met | sym weak auto | sym weak+disc auto | pysindy weak CV | "
            "pysindy weak oracle | sym weak flip(x,y) oracle |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        target_rows = []
        for nz in sorted(lt, key=float):
            cell = lt[nz]

            def get(m, rule, cell=cell):
                s = cell.get(m, {}).get(rule)
                return (s["successes"], s["n"], s.get("alpha")) if s else None

            def show(v):
                if v is None:
                    return "—"
                a = f" (a={v[2]:g})" if v[2] is not None else ""
                return f"{v[0]}/{v[1]}{a}"

            known = get("sym_weak_known", "auto")
            target = LORENZ_TARGETS.get(round(float(nz), 2))
            met = "—" if known is None or target is None else ("yes" if known[0] >= target else "no")
            target_rows.append({"noise": float(nz), "target": target, "sym_weak_flip_auto": known, "met": met})
            lines.append(
                f"| {float(nz):.0%} | ≥ {target}/20 | {show(known)} | {met} | {show(get('sym_weak', 'auto'))} | "
                f"{show(get('sym_weak_disc', 'auto'))} | {show(get('weak', 'auto'))} | {show(get('weak', 'oracle'))} | "
                f"{show(get('sym_weak_known', 'oracle'))} |"
            )
        lines.append("")
        payload["lorenz_target_summary"] = target_rows

    lines += [
        "## Fit times and errors",
        "",
        "Median over cells of the per-cell median fit time (s; pysindy: its own SINDy.fit on the checked seeds, "
        "plus CV for auto) and of the median relative coefficient error, auto thresholds:",
        "",
    ]
    lines.append("| split | sampling | " + " | ".join(LABELS[m] for m in METHODS) + " |")
    lines.append("|---|---" + "|---" * len(METHODS) + "|")
    for split in ("tuning", "report", "dysts"):
        for sampling in SAMPLINGS:
            if not noise_keys(results, split, sampling):
                continue
            cells = []
            for m in METHODS:
                field = "median_pysindy_time" if m in PY_METHODS else "median_time"
                tm = median_over(results, split, sampling, m, "auto", field)
                er = median_over(results, split, sampling, m, "auto", "median_rel_error")
                cells.append("—" if tm is None else f"{tm:.3g} s / {er:.2g}" if er is not None else f"{tm:.3g} s / —")
            lines.append(f"| {split} | {sampling} | " + " | ".join(cells) + " |")
    lines.append("")

    fails = Counter()
    for split, per_sys in results.items():
        for per in per_sys.values():
            for cell in per.values():
                for ncell in cell.values():
                    for key, rules in ncell.items():
                        if "@" in key:
                            continue
                        for rule, s in rules.items():
                            for exc, c in s["exceptions"].items():
                                fails[(split, key, rule, exc)] += c
    lines += ["Exceptions (fits that raised; each counts as a failure):", ""]
    if fails:
        lines += ["| split | method | rule | exception | count |", "|---|---|---|---|---|"]
        for (split, key, rule, exc), c in sorted(fails.items()):
            lines.append(f"| {split} | {LABELS.get(key, key)} | {rule} | {exc} | {c} |")
    else:
        lines.append("none.")
    lines.append("")
    v = payload["verification"]
    lines += [
        "## Check of the pysindy transcription",
        "",
        f"{v['checked']} pysindy fits repeated with pysindy itself (seed(s) {list(VERIFY_SEEDS)} of every cell): "
        f"{v['support_mismatch']} with a different support, largest coefficient difference "
        f"{v['max_rel_diff']:.2g} of max|c|; pysindy-proper successes {v['pysindy_ok']} vs transcription "
        f"{v['transcription_ok']} on those fits.",
        "",
    ]
    if v["examples"]:
        lines.append("Mismatches: " + "; ".join(v["examples"][:8]))
        lines.append("")
    if payload.get("task_errors"):
        lines += ["Tasks that could not simulate their trajectory: " + "; ".join(payload["task_errors"][:10]), ""]
    (out / "noise.md").write_text("\n".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------- main


def provenance():
    root = HERE.parent
    info = {}
    try:
        info["git_head"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        info["git_status_package"] = (
            subprocess.run(["git", "status", "--short", "symsindy"], cwd=root, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()
        )
    except OSError:
        pass
    h = hashlib.sha256()
    for f in sorted((root / "symsindy").rglob("*.py")):
        h.update(f.read_bytes())
    info["package_sha256"] = h.hexdigest()[:16]
    return info


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 3 seeds, 0/5/20%% noise, 2 tuning + 2 report + 2 dysts systems",
    )
    p.add_argument("--out", default=str(common.RESULTS), help="output directory (default: benchmarks/results)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seeds", type=int, default=None, help=f"seeds per cell (default {N_SEEDS})")
    p.add_argument(
        "--systems", default=None, help="comma-separated system names (catalogue or dysts); default: the splits"
    )
    p.add_argument("--noise", default=None, help="comma-separated noise levels in %% (default 0,1,5,10,20,40)")
    p.add_argument("--samplings", default="dense,sparse")
    p.add_argument("--n-report", default=str(N_REPORT_DEFAULT), help="report-catalogue systems drawn (or 'all')")
    p.add_argument("--n-dysts", default=str(N_DYSTS_DEFAULT), help="dysts systems drawn (or 'all')")
    p.add_argument("--no-lorenz-target", action="store_true")
    p.add_argument("--no-main", action="store_true", help="only the Lorenz target")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run: reuse the finished tasks checkpointed in OUT/noise.json",
    )
    args = p.parse_args(argv)
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def main(argv=None) -> int:
    args = parse(argv)
    warnings.simplefilter("ignore")
    t_start = time.perf_counter()

    def log(msg):
        print(msg, flush=True)

    report_pool, left_out, not_poly = catalogue_pool()
    n_rep = None if args.n_report == "all" else int(args.n_report)
    n_dy = None if args.n_dysts == "all" else int(args.n_dysts)
    from _dysts import polynomial_systems

    dysts_all = polynomial_systems()
    dysts_names = [s.name for s in dysts_all]
    report_sel = seeded_subset(report_pool, n_rep, 1)
    dysts_sel = seeded_subset(dysts_names, n_dy, 2)
    seeds = args.seeds if args.seeds is not None else (3 if args.quick else N_SEEDS)
    noise = (
        tuple(float(v) / 100 for v in args.noise.split(","))
        if args.noise
        else ((0.0, 0.05, 0.20) if args.quick else NOISE_LEVELS)
    )
    samplings = tuple(s.strip() for s in args.samplings.split(",") if s.strip())
    for s in samplings:
        if s not in SAMPLINGS:
            raise SystemExit(f"--samplings: unknown {s!r} (dense, sparse)")
    tuning = list(TUNING)
    if args.quick and not args.systems:
        tuning, report_sel, dysts_sel = ["lorenz", "duffing"], report_sel[:2], dysts_sel[:2]
    if args.systems:
        wanted = [w.strip() for w in args.systems.split(",") if w.strip()]
        all_cat = set(TUNING) | set(report_pool) | set(left_out)
        bad = [w for w in wanted if w not in all_cat and w not in dysts_names]
        if bad:
            raise SystemExit(f"--systems: unknown (or not polynomial) {bad}")
        tuning = [w for w in wanted if w in TUNING]
        report_sel = [w for w in wanted if w in all_cat and w not in TUNING]
        dysts_sel = [w for w in wanted if w in dysts_names and w not in all_cat]
    splits = (
        []
        if args.no_main
        else [("tuning", n) for n in tuning] + [("report", n) for n in report_sel] + [("dysts", n) for n in dysts_sel]
    )

    tasks = []
    for split, name in splits:
        for seed in range(seeds):
            tasks.append(
                {
                    "split": split,
                    "name": name,
                    "seed": seed,
                    "samplings": samplings,
                    "noise": noise,
                    "methods": METHODS,
                    "verify_seeds": VERIFY_SEEDS,
                }
            )
    if not args.no_lorenz_target:
        for seed in range(seeds):
            tasks.append(
                {
                    "split": "lorenz_target",
                    "name": "lorenz",
                    "seed": seed,
                    "samplings": ("dense",),
                    "noise": LORENZ_NOISE,
                    "methods": ("weak", "sym_weak", "sym_weak_known", "sym_weak_disc"),
                    "verify_seeds": VERIFY_SEEDS,
                }
            )

    # big tasks first (4-D and high-degree systems), so that the pool does not end on one long task
    def cost(task):
        if task["split"] == "lorenz_target":
            return 0.0
        if task["split"] == "dysts":
            s = next(d for d in dysts_all if d.name == task["name"])
            n, p = s.dim, s.n_terms
        else:
            s = get_catalogue(task["name"])
            n, p = s.n_variables, math.comb(s.n_variables + catalogue_degree(s), s.n_variables)
        return float(n * n * p)

    tasks.sort(key=cost, reverse=True)
    log(f"systems: tuning {tuning}; report {report_sel}; dysts {dysts_sel}; lorenz target {not args.no_lorenz_target}")
    log(
        f"{len(tasks)} tasks (system x seed), noise {[f'{v:.0%}' for v in noise]}, samplings {list(samplings)}, "
        f"{args.workers} workers; discovery formulation keyword accepted: {disc_accepts_formulation()}"
    )
    dysts_needed = [s for s in dysts_all if s.name in set(dysts_sel)]
    rows, task_errors, task_meta = [], [], {}
    # checkpoint: while the run is going, noise.json holds the finished tasks' raw rows, so that an
    # interrupted run can be continued with --resume (the signature must match: same settings)
    ckpt = args.out / "noise.json"
    signature = json.dumps(
        [
            BASE_SEED,
            list(noise),
            list(samplings),
            seeds,
            splits,
            not args.no_lorenz_target,
            provenance().get("package_sha256"),
        ],
        default=str,
    )
    done_ids = set()
    if args.resume and ckpt.is_file():
        try:
            old = json.loads(ckpt.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        if old.get("checkpoint") and old.get("signature") == signature:
            rows, task_errors, task_meta = old["rows"], old["task_errors"], old["task_meta"]
            done_ids = set(old["done"])
            log(f"resuming: {len(done_ids)} tasks already done")
        elif old.get("checkpoint"):
            log("--resume: the checkpoint was written with other settings or another package version; starting afresh")
    task_id = lambda tk: f"{tk['split']}/{tk['name']}/{tk['seed']}"  # noqa: E731
    tasks = [tk for tk in tasks if task_id(tk) not in done_ids]
    done_list = sorted(done_ids)
    last_ckpt = time.perf_counter()

    def checkpoint():
        ckpt.write_text(
            json.dumps(
                {
                    "checkpoint": True,
                    "signature": signature,
                    "done": done_list,
                    "rows": rows,
                    "task_errors": task_errors,
                    "task_meta": task_meta,
                },
                default=float,
            ),
            encoding="utf-8",
        )

    done = 0
    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers, initializer=worker_init, initargs=(dysts_needed,)) as pool:
        for res in pool.imap_unordered(run_task, tasks):
            done += 1
            task = res["task"]
            done_list.append(task_id(task))
            if res["error"]:
                task_errors.append(f"{task['split']}/{task['name']} seed {task['seed']}: {res['error']}")
            rows.extend(res["rows"])
            key = f"{task['split']}/{task['name']}"
            if key not in task_meta and not res["error"]:
                task_meta[key] = {
                    k: res[k] for k in ("oracle", "degree", "names", "known", "terms", "truth", "n_samples", "span")
                }
            elapsed = time.perf_counter() - t_start
            ok = sum(
                all(r["fits"].get(m, {}).get("auto", {}).get("ok", False) for m in ("sym_weak_disc",))
                for r in res["rows"]
            )
            log(
                f"  [{done}/{len(tasks)}] {key} seed {task['seed']}: {res['seconds']:.1f} s "
                f"(disc auto ok {ok}/{len(res['rows'])}); elapsed {elapsed / 60:.1f} min, "
                f"ETA {elapsed / done * (len(tasks) - done) / 60:.1f} min"
            )
            if time.perf_counter() - last_ckpt > CHECKPOINT_SECONDS or done == len(tasks):
                checkpoint()
                last_ckpt = time.perf_counter()

    results = aggregate(rows)
    checks = [c for r in rows for c in r["checks"]]
    diffs = [c["max_rel_diff"] for c in checks if c.get("max_rel_diff") is not None]
    verification = {
        "checked": len(checks),
        "support_mismatch": int(sum(not c["support_equal"] for c in checks)),
        "max_rel_diff": float(max(diffs)) if diffs else 0.0,
        "pysindy_ok": int(sum(bool(c.get("pysindy_ok")) for c in checks)),
        "transcription_ok": None,
        "examples": [],
    }
    # transcription successes on exactly the checked fits
    t_ok = 0
    for r in rows:
        for c in r["checks"]:
            rec = r["fits"].get(c["key"], {}).get(c["rule"], {})
            t_ok += bool(rec.get("ok"))
            if not c["support_equal"]:
                verification["examples"].append(
                    f"{r['split']}/{r['system']} {r['sampling']} {r['noise']:.0%} seed {r['seed']} {c['key']} {c['rule']}"
                    + (f" ({c['note']})" if c.get("note") else "")
                )
    verification["transcription_ok"] = t_ok
    payload = {
        "platform": common.platform_line(),
        "provenance": provenance(),
        "discovery_formulation": "weak (formulation='weak' passed)"
        if disc_accepts_formulation()
        else "strong (fit_with_discovered_symmetry does not accept formulation yet); final refit formulation='auto'",
        "seconds": time.perf_counter() - t_start,
        "settings": {
            "base_seed": BASE_SEED,
            "noise": list(noise),
            "seeds": seeds,
            "samplings": list(samplings),
            "dense_samples": N_STEPS + 1,
            "sparse_stride": SPARSE_STRIDE,
            "dysts_steps_per_period": DYSTS_STEPS_PER_PERIOD,
            "spread": SPREAD,
            "alphas": list(ALPHAS),
            "max_iter": MAX_ITER,
            "weak_K": K_WEAK,
            "esindy_models": N_MODELS,
            "cv": {
                "folds": CV_FOLDS,
                "grid": CV_GRID,
                "low": CV_LOW,
                "high_factor": CV_HIGH_FACTOR,
                "rule": "one-standard-error",
            },
            "nonzero": NONZERO,
            "n_bootstrap": N_BOOTSTRAP,
            "verify_seeds": list(VERIFY_SEEDS),
            "workers": args.workers,
            "quick": bool(args.quick),
            "lorenz_target": {
                "dt": LORENZ_DT,
                "samples": LORENZ_SAMPLES,
                "noise": list(LORENZ_NOISE),
                "targets": {str(k): v for k, v in LORENZ_TARGETS.items()},
            },
        },
        "systems": {
            "tuning": tuning,
            "report": report_sel,
            "dysts": dysts_sel,
            "report_pool": report_pool,
            "report_left_out_dimension": left_out,
            "catalogue_not_polynomial": not_poly,
            "dysts_pool": dysts_names,
            "meta": task_meta,
        },
        "verification": verification,
        "task_errors": task_errors,
        "results": results,
    }
    write_report(args.out, payload)
    (args.out / "noise.json").write_text(json.dumps(payload, indent=1, default=float), encoding="utf-8")
    log(f"wrote {args.out / 'noise.md'} and {args.out / 'noise.json'} ({payload['seconds'] / 60:.1f} min)")
    log((args.out / "noise.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
