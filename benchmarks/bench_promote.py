"""Symmetry promotion at scarce data, told only gl(n), against plain STLSQ and against enforcing the true symmetry.

Every method gets the very same arrays, in one run.

Systems (vector fields from the catalogue, ``symsindy systems show NAME``; cubic library)
    tuning (looked at while the promotion's candidate rule was designed):
    ``oscillator``  ``damped_oscillator``: x' = -0.1 x + 2 y, y' = -2 x - 0.1 y; symmetric under
                    rotation(x,y) and scaling(x,y).  Pool: one trajectory from (2, 0), t in [0, 20].
    ``hopf``        ``hopf``: x' = x - y - x (x^2 + y^2), y' = x + y - y (x^2 + y^2);
                    rotation(x,y).  Pool: 4 trajectories from (0.1, 0), (2, 0), (0, 0.5),
                    (-1.5, 0.3), t in [0, 8] (transients kept).
    ``langford``    ``aizawa`` with f = 0 (Langford's torus system): x' = (z - b) x - d y,
                    y' = d x + (z - b) y, z' = c + a z - z^3/3 - (x^2 + y^2)(1 + e z);
                    rotation(x,y) about the z-axis.  Pool: t in [50, 250] from (0.1, 0, 0).
    report (not looked at before this benchmark ran):
    ``linear_3d``   ``linear_3d``: a damped rotation in x-y and a decay in z; rotation(x,y),
                    scaling(x,y), scaling(z).  Pool: trajectories from (2, 0, 1), (-1, 1.5, -0.5),
                    (0.5, -1, 2), t in [0, 10].
    ``harmonic``    ``harmonic_oscillator``: q' = p, p' = -q; rotation(q,p), scaling(q,p).  Pool:
                    trajectories from (1, 0), (0, 0.4), (-1.5, 1), t in [0, 10].
    4-D (reported on its own, not in "all"):
    ``stuart_landau`` ``stuart_landau``: two coupled Stuart-Landau oscillators (x1, y1, x2, y2),
                    rotation(x1,y1)+rotation(x2,y2); gl(4) has 16 generators and the cubic
                    library 140 unknowns.  Pool: trajectories from (1, 0, 0, 0.5),
                    (0.1, 0.2, -0.3, 0.1), (-1.2, 0.4, 0.8, -0.6), t in [0, 15] (transients
                    kept).  N in {24, 36} and 4 seeds: a promoted fit takes two to three minutes here,
                    and below 24 samples no method's refit has enough equations.
    Symmetry-breaking systems (the term must be kept):
    ``broken``      ``damped_oscillator`` plus a deliberate 0.5 x^2 in y', a term no
                    rotation-equivariant model has.  Pool as ``oscillator``.
    ``aizawa``      ``aizawa`` as catalogued (f = 0.1): Langford's system with the
                    rotation-breaking term f z x^3 in z'; quartic library.  Pool as ``langford``.
    Each claimed symmetry is checked numerically on the vector field before use, and the broken
    systems are checked to break the rotation.

Data
    Scarce-data table: N in {12, 18, 24, 36} samples as N / 6 short trajectories of 6 samples
    each, 0.1 time units apart, cut from the pool's trajectories at uniformly drawn start times
    (as a scientist has a few short runs), with MEASURED derivatives (the exact right-hand
    side at the samples).  Noise: 1 % (std 0.01 x each variable's RMS over the pool) on the
    states and, separately, on the derivatives.  20 seeds; ``default_rng([BASE_SEED, system,
    N, seed])``.  Breaking-term table: as before this rewrite, N states drawn at random from
    the pool without replacement (N = 64 and 256 for ``broken``, 256 and 1024 for ``aizawa``).

Methods (the same arrays)
    ``stlsq``           pysindy ``ps.STLSQ(threshold=oracle, alpha, max_iter=20)``, run with
                        alpha = 0.05 and 0; per cell the better alpha (more successes) is the
                        method, both are in the JSON.  The oracle threshold (half the smallest
                        true coefficient) is a reference pysindy users do not have.
    ``plain``           ``SymmetricSINDy()`` (no symmetry; automatic threshold, alpha 0).
    ``enforce``         ``SymmetricSINDy(symmetry=the system's true continuous symmetries)``,
                        automatic threshold; ``enforce_oracle`` the same at the oracle threshold.
    ``promote_gl``      ``PromotedSINDy(candidates="gl")`` with its defaults (leave-one-out over
                        the candidate symmetries the promotion path reveals, automatic threshold,
                        alpha 0): told only gl(n).
                        The penalty's candidate directions are orthonormal over (vec A, b)
                        (``generator_norm="basis"``).
    ``promote_gl_op``   the same with ``generator_norm="operator"``: each direction's
                        Lie-derivative operator scaled to unit norm on the data (a whitening of
                        the candidate algebra by its action on the library).
    ``promote_sl``      told only sl(n), the traceless matrices: gl(n) without the uniform
                        dilation, which every model with terms of one degree has (does leaving
                        it out help where no nonlinear model can have it?); basis scaling.
    ``promote_so``      told only so(n), the orthogonal subfamily (rotations); basis scaling.
    ``promote_gl_cv``   (``--previous-rule`` only) the defaults before the leave-one-out rule:
                        ``selection="cv"`` (5-fold cross-validation, one-standard-error rule),
                        alpha 0.05, the oracle threshold.
    The 4-D system runs the references and ``promote_gl_fast``: ``promote_gl`` without the cvxpy
    fallback (``cvxpy_solver`` not an installed solver), because there cvxpy with Clarabel takes
    minutes and about 8 GB per solve; a solve ADMM neither converges nor brings within
    ``FAST_REDUCED_TOL`` then fails the fit, which counts as a failure.
    A fit that raises is a failure.  Success = the nonzero pattern equals the true one exactly
    (true coefficients from an exact least-squares fit on random points).  "Lost terms" = a fit
    whose model holds fewer than half the true terms while plain STLSQ's model on the same data
    holds all of them.

Solver comparison
    ``langford``, N = 1,000 random pool states, 1 % noise (n = 3, cubic library: 60 unknowns);
    candidates so(3) and gl(3); weights 0.01, 0.1, 0.5 (units of lam_ref) without l1, and 0.1
    with l1 = 1e-3; :func:`solve_fast` against :func:`solve_cvxpy` with Clarabel and SCS.

Usage
    python benchmarks/bench_promote.py [--quick] [--workers 2] [--previous-rule] [--out benchmarks/results]

Writes ``promote.md`` and ``promote.json`` to ``--out``.  ``--quick`` (3 seeds, N = 12 and 24,
N = 24 for the 4-D system, fewer repeats) is for smoke tests only.
"""

from __future__ import annotations

import _common as common  # first: it sets BLAS threads to 1 unless overridden

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pysindy as ps  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from symsindy.catalogue import get_system  # noqa: E402
from symsindy.model import SymmetricSINDy  # noqa: E402
from symsindy.promote import PromotedSINDy, solve_cvxpy, solve_fast  # noqa: E402
from symsindy.symmetry import Symmetry  # noqa: E402

BASE_SEED = 20231106
MAX_ITER = 20
NOISE = 0.01
ZERO_TOL = 1e-9
N_SOLVER = 1000
SOLVER_SYSTEM = "langford"  # n = 3, cubic library
SIZES = (12, 18, 24, 36)
SEGMENT = 6  # samples per short trajectory
#: the 4-D system: sizes where its fits take seconds rather than minutes, and fewer seeds
SIZES_4D = (24, 36)
SEEDS_4D = 4
SEGMENT_DT = 0.1


# --------------------------------------------------------------------------- systems


@dataclass
class System:
    name: str
    catalogue: str  # the catalogue entry the vector field comes from
    parameters: dict  # overrides of the entry's parameters
    degree: int
    starts: tuple  # initial states, one trajectory each
    t_start: float  # samples are drawn from [t_start, t_end] (t_start > 0 drops a transient)
    t_end: float
    symmetry: str | None  # the true continuous symmetry (None: broken on purpose)
    split: str  # "tuning", "report" or "broken"
    breaking: tuple | None = None  # (variable, term, coefficient) added to the catalogue's vector field
    sizes: tuple | None = None  # sample sizes of the scarce-data table (None: SIZES)
    n_seeds: int | None = None  # seeds per cell (None: the run's)

    def __post_init__(self):
        entry = get_system(self.catalogue, **self.parameters)
        self.variables = tuple(entry.variables)
        field = entry.rhs_function()
        if self.breaking is None:
            self.rhs = field
        else:
            var, term, value = self.breaking
            i = self.variables.index(var)
            powers = _term_powers(term, self.variables)

            def rhs(X, field=field, i=i, powers=powers, value=value):
                out = field(X)
                out[:, i] += value * np.prod(X**powers, axis=1)
                return out

            self.rhs = rhs


def _term_powers(term: str, variables) -> np.ndarray:
    """Exponents of a pysindy feature name such as ``"x^2 z"``."""
    powers = np.zeros(len(variables))
    for factor in term.split():
        name, _, k = factor.partition("^")
        powers[list(variables).index(name)] += int(k or 1)
    return powers


_OSC_START = ((2.0, 0.0),)
_HOPF_STARTS = ((0.1, 0.0), (2.0, 0.0), (0.0, 0.5), (-1.5, 0.3))
SYSTEMS = {
    "oscillator": System(
        "oscillator", "damped_oscillator", {}, 3, _OSC_START, 0.0, 20.0, "rotation(x,y); scaling(x,y)", "tuning"
    ),
    "hopf": System("hopf", "hopf", {}, 3, _HOPF_STARTS, 0.0, 8.0, "rotation(x,y)", "tuning"),
    "langford": System("langford", "aizawa", {"f": 0.0}, 3, ((0.1, 0.0, 0.0),), 50.0, 250.0, "rotation(x,y)", "tuning"),
    "linear_3d": System(
        "linear_3d",
        "linear_3d",
        {},
        3,
        ((2.0, 0.0, 1.0), (-1.0, 1.5, -0.5), (0.5, -1.0, 2.0)),
        0.0,
        10.0,
        "rotation(x,y); scaling(x,y); scaling(z)",
        "report",
    ),
    "harmonic": System(
        "harmonic",
        "harmonic_oscillator",
        {},
        3,
        ((1.0, 0.0), (0.0, 0.4), (-1.5, 1.0)),
        0.0,
        10.0,
        "rotation(q,p); scaling(q,p)",
        "report",
    ),
    "stuart_landau": System(
        "stuart_landau",
        "stuart_landau",
        {},
        3,
        ((1.0, 0.0, 0.0, 0.5), (0.1, 0.2, -0.3, 0.1), (-1.2, 0.4, 0.8, -0.6)),
        0.0,
        15.0,
        "rotation(x1,y1)+rotation(x2,y2)",
        "4-D",
        sizes=SIZES_4D,
        n_seeds=SEEDS_4D,
    ),
    "broken": System("broken", "damped_oscillator", {}, 3, _OSC_START, 0.0, 20.0, None, "broken", ("y", "x^2", 0.5)),
    "aizawa": System("aizawa", "aizawa", {}, 4, ((0.1, 0.0, 0.0),), 50.0, 250.0, None, "broken"),
}
#: the symmetry-breaking term of each broken system, (variable, term, coefficient), and the sizes N
BREAKING = {
    "broken": (SYSTEMS["broken"].breaking, (64, 256)),
    "aizawa": (("z", "x^3 z", get_system("aizawa").parameters["f"]), (256, 1024)),
}


def integrate(system: System):
    sols = []
    for x0 in system.starts:
        sol = solve_ivp(
            lambda t, s: system.rhs(s[None, :])[0],
            (0.0, system.t_end),
            np.asarray(x0, float),
            method="DOP853",
            rtol=1e-10,
            atol=1e-12,
            dense_output=True,
        )
        if not sol.success:
            raise RuntimeError(f"{system.name}: integration failed: {sol.message}")
        sols.append(sol)
    return sols


def pool(system: System, sols, n_pool: int = 20000) -> np.ndarray:
    return np.vstack([s.sol(np.linspace(system.t_start, system.t_end, n_pool // len(sols))).T for s in sols])


def true_coefficients(system: System, rng) -> tuple[np.ndarray, list[str]]:
    lib = ps.PolynomialLibrary(degree=system.degree)
    P = rng.uniform(-2.0, 2.0, size=(4000, len(system.variables)))
    lib.fit(P)
    theta = lib.transform(P)
    F = system.rhs(P)
    coef, *_ = np.linalg.lstsq(theta, F, rcond=None)
    if np.abs(theta @ coef - F).max() > 1e-10 * np.abs(F).max():
        raise RuntimeError(f"{system.name}: the right-hand side is not in the library")
    coef = coef.T
    coef[np.abs(coef) < ZERO_TOL] = 0.0
    return coef, list(lib.get_feature_names(list(system.variables)))


def symmetry_error(system: System, spec: str, X: np.ndarray) -> float:
    return Symmetry(list(system.variables), spec).equivariance_error(system.rhs, X, rng=0, n_elements=16)


def rotation_spec(system: System) -> str:
    v = system.variables
    return f"rotation({v[0]},{v[1]})"


def segments(info, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples as ``n / SEGMENT`` short trajectories, with noisy states and derivatives."""
    system, sols = info["system"], info["sols"]
    span = (SEGMENT - 1) * SEGMENT_DT
    X = []
    for _ in range(n // SEGMENT):
        sol = sols[int(rng.integers(len(sols)))]
        t0 = rng.uniform(system.t_start, system.t_end - span)
        X.append(sol.sol(t0 + SEGMENT_DT * np.arange(SEGMENT)).T)
    X = np.vstack(X)
    D = system.rhs(X)
    X = X + rng.normal(size=X.shape) * (NOISE * info["rms"])
    D = D + rng.normal(size=D.shape) * (NOISE * info["drms"])
    return X, D


def pool_sample(info, n, rng):
    P, dP = info["pool"], info["dpool"]
    idx = rng.choice(len(P), size=n, replace=False)
    X = P[idx] + rng.normal(size=(n, P.shape[1])) * (NOISE * info["rms"])
    Xd = dP[idx] + rng.normal(size=(n, P.shape[1])) * (NOISE * info["drms"])
    return X, Xd


# --------------------------------------------------------------------------- fitting


def _library(system):
    return ps.PolynomialLibrary(degree=system.degree)


def fit_stlsq(system, X, Xd, threshold, alpha):
    model = ps.SINDy(
        optimizer=ps.STLSQ(threshold=threshold, alpha=alpha, max_iter=MAX_ITER), feature_library=_library(system)
    )
    model.fit(X, t=1.0, x_dot=Xd)
    return np.asarray(model.coefficients(), float), None


def fit_method(method, system, X, Xd, threshold, seed):
    names = list(system.variables)
    if method == "stlsq_a0.05":
        return fit_stlsq(system, X, Xd, threshold, 0.05)
    if method == "stlsq_a0":
        return fit_stlsq(system, X, Xd, threshold, 0.0)
    if method == "plain":
        est = SymmetricSINDy(library=_library(system)).fit(X, x_dot=Xd, feature_names=names)
        return est.coef_, est
    if method in ("enforce", "enforce_oracle"):
        thr = threshold if method == "enforce_oracle" else "auto"
        est = SymmetricSINDy(library=_library(system), symmetry=system.symmetry, threshold=thr)
        est.fit(X, x_dot=Xd, feature_names=names)
        return est.coef_, est
    if method in ("promote_gl", "promote_so", "promote_sl"):
        est = PromotedSINDy(library=_library(system), candidates=method[-2:], generator_norm="basis")
    elif method == "promote_gl_fast":
        # no cvxpy fallback (its name is not an installed solver): a solve ADMM cannot finish fails the fit
        est = PromotedSINDy(library=_library(system), candidates="gl", cvxpy_solver="none (fallback off)")
    elif method == "promote_gl_op":
        est = PromotedSINDy(library=_library(system), candidates="gl", generator_norm="operator")
    elif method == "promote_gl_cv":
        est = PromotedSINDy(
            library=_library(system),
            candidates="gl",
            selection="cv",
            threshold=threshold,
            alpha=0.05,
            random_state=seed,
        )
    else:
        raise ValueError(method)
    est.fit(X, x_dot=Xd, feature_names=names)
    return np.asarray(est.coef_, float), est


def try_fit(method, system, X, Xd, threshold, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        try:
            coef, est = fit_method(method, system, X, Xd, threshold, seed)
        except (ValueError, np.linalg.LinAlgError) as exc:
            return None, None, str(exc).splitlines()[0], time.perf_counter() - t0
    return coef, est, None, time.perf_counter() - t0


def solves(est) -> dict:
    """A promoted fit's solves: how many, and its fallbacks by route (the final solve's, when any)."""
    if not isinstance(est, PromotedSINDy):
        return {}
    info = est.solver_info_
    fb = {}
    if info["n_fallbacks"]:
        fb[str(info["fallback"] or "earlier solves")] = int(info["n_fallbacks"])
    if info.get("n_skipped"):
        fb["weights skipped"] = int(info["n_skipped"])
    return {"n": int(info["n_solves"]), "fallbacks": fb}


def describe(est) -> str:
    if est is None:
        return ""
    if isinstance(est, PromotedSINDy):
        return est.symmetry_summary()
    return "; ".join(est.symmetry_.specs) or "none"


# --------------------------------------------------------------------------- benchmarks

SCARCE_METHODS = (
    "stlsq_a0.05",
    "stlsq_a0",
    "plain",
    "enforce",
    "enforce_oracle",
    "promote_gl",
    "promote_gl_op",
    "promote_sl",
    "promote_so",
)
#: the 4-D system: the references and promotion told gl(n) (the operator scaling gives the same
#: penalty with adaptive weights, see symsindy.promote)
METHODS_4D = ("stlsq_a0.05", "stlsq_a0", "plain", "enforce", "enforce_oracle", "promote_gl_fast")


def scarce_cell(task):
    """One (system, N): every method on the same 20 arrays."""
    name, n, n_seeds, methods = task
    info = build_info(name)
    system, truth = info["system"], info["truth"]
    support = truth != 0
    half = 0.5 * int(support.sum())
    out = {"system": name, "N": int(n), "n_seeds": n_seeds}
    per_seed = []
    for seed in range(n_seeds):
        X, Xd = segments(info, n, np.random.default_rng([BASE_SEED, info["index"], int(n), seed]))
        row = {}
        for m in methods:
            coef, est, err, sec = try_fit(m, system, X, Xd, info["threshold"], seed)
            if coef is None:
                row[m] = {
                    "ok": False,
                    "true_terms": 0,
                    "n_terms": 0,
                    "all_true": False,
                    "error": err[:80],
                    "symmetry": "failed",
                    "seconds": sec,
                }
                continue
            nz = coef != 0
            row[m] = {
                "ok": bool(np.array_equal(nz, support)),
                "true_terms": int(np.sum(nz & support)),
                "n_terms": int(nz.sum()),
                "all_true": bool(np.all(nz[support])),
                "error": None,
                "symmetry": describe(est),
                "seconds": sec,
                "solves": solves(est),
            }
        per_seed.append(row)
    for m in methods:
        rs = [r[m] for r in per_seed]
        out[m] = {
            "successes": int(sum(r["ok"] for r in rs)),
            "symmetry": dict(Counter(r["symmetry"] for r in rs).most_common()),
            "errors": dict(Counter(r["error"] for r in rs if r["error"]).most_common(3)),
            "seconds": float(sum(r["seconds"] for r in rs)),
            # promotion's solves over the seeds: how many, and by which route the fallbacks went
            "solves": sum(r.get("solves", {}).get("n", 0) for r in rs),
            "fallbacks": dict(
                sum((Counter(r.get("solves", {}).get("fallbacks", {})) for r in rs), Counter()).most_common()
            ),
        }
    # the better alpha is pysindy's STLSQ; "lost terms" are counted against it
    a, b = out["stlsq_a0.05"]["successes"], out["stlsq_a0"]["successes"]
    best = "stlsq_a0.05" if a >= b else "stlsq_a0"
    for m in methods:
        out[m]["lost_terms"] = int(sum(r[best]["all_true"] and r[m]["true_terms"] < half for r in per_seed))
    out["stlsq"] = dict(out[best], alpha=0.05 if best == "stlsq_a0.05" else 0.0)
    return out


def broken_cell(task):
    name, n, n_seeds, methods = task
    info = build_info(name)
    system, truth, terms = info["system"], info["truth"], info["terms"]
    support = truth != 0
    var, term, value = BREAKING[name][0]
    i_var, i_term = system.variables.index(var), terms.index(term)
    if not np.isclose(truth[i_var, i_term], value, rtol=1e-9, atol=0.0):
        raise RuntimeError(
            f"{name}: expected {value:g} {term} in {var}', the fit of the vector field has {truth[i_var, i_term]:g}"
        )
    res = {"system": name, "N": int(n), "n_seeds": n_seeds}
    samples = [
        pool_sample(info, int(n), np.random.default_rng([BASE_SEED, info["index"], int(n), seed]))
        for seed in range(n_seeds)
    ]
    for m in methods:
        kept = close = rot = exact = 0
        values, with_rot, without = [], [], []
        for seed, (X, Xd) in enumerate(samples):
            coef, est, _, _ = try_fit(m, system, X, Xd, info["threshold"], seed)
            if coef is None:
                continue
            c = coef[i_var, i_term]
            values.append(float(c))
            kept += c != 0
            close += abs(c - value) <= 0.1 * abs(value)
            exact += bool(np.array_equal(coef != 0, support))
            if isinstance(est, PromotedSINDy):
                rot += any(s.startswith("rotation") for s in est.symmetry_.specs)
                cands = [cd for cd in est.candidates_ if np.isfinite(cd["loo_error"])]
                r = [cd["loo_error"] for cd in cands if any(s.startswith("rotation") for s in cd["symmetry"])]
                o = [cd["loo_error"] for cd in cands if not any(s.startswith("rotation") for s in cd["symmetry"])]
                if r and o:
                    with_rot.append(min(r))
                    without.append(min(o))
        res[m] = {
            "term_kept": int(kept),
            "term_within_10pct": int(close),
            "rotation_enforced": int(rot),
            "exact_support": int(exact),
            "median_coefficient": float(np.median(values)) if values else None,
            "median_loo_with_rotation": float(np.median(with_rot)) if with_rot else None,
            "median_loo_without_rotation": float(np.median(without)) if without else None,
        }
    return res


_INFOS: dict = {}


def build_info(name: str) -> dict:
    """Pool, truth, oracle threshold and symmetry checks of one system (cached per process)."""
    if name in _INFOS:
        return _INFOS[name]
    system = SYSTEMS[name]
    index = list(SYSTEMS).index(name)
    sols = integrate(system)
    P = pool(system, sols)
    dP = system.rhs(P)
    truth, terms = true_coefficients(system, np.random.default_rng([BASE_SEED, index, 7]))
    check = P[:: max(1, len(P) // 500)]
    if system.symmetry is not None:
        err = symmetry_error(system, system.symmetry, check)
        if not err < 1e-10:
            raise RuntimeError(f"{name}: the symmetry check of {system.symmetry!r} failed ({err:.2g})")
    else:
        err = symmetry_error(system, rotation_spec(system), check)
        if not err > 1e-2:
            raise RuntimeError(f"{name}: expected the rotation check to fail, got {err:.2g}")
    _INFOS[name] = {
        "system": system,
        "index": index,
        "sols": sols,
        "pool": P,
        "dpool": dP,
        "rms": np.sqrt(np.mean(P**2, axis=0)),
        "drms": np.sqrt(np.mean(dP**2, axis=0)),
        "truth": truth,
        "terms": terms,
        "threshold": 0.5 * float(np.min(np.abs(truth[truth != 0]))),
        "symmetry_error": float(err),
    }
    return _INFOS[name]


def solver_benchmark(info, repeats, log):
    system = info["system"]
    rng = np.random.default_rng([BASE_SEED, info["index"], 99, N_SOLVER])
    X, Xd = pool_sample(info, N_SOLVER, rng)
    rows = []
    configs = [(fam, w, 0.0) for fam in ("so", "gl") for w in (0.01, 0.1, 0.5)] + [
        (fam, 0.1, 1e-3) for fam in ("so", "gl")
    ]
    problems = {}
    for fam in ("so", "gl"):
        est = PromotedSINDy(library=ps.PolynomialLibrary(degree=system.degree), candidates=fam, weight=0.0)
        est.fit(X, x_dot=Xd, feature_names=list(system.variables))
        problems[fam] = (est.problem_, est.lam_ref_)
    for fam, w, mu in configs:
        prob, lam_ref = problems[fam]
        lam = w * lam_ref
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            x_fast, fi = solve_fast(prob, lam, mu)
            times.append(time.perf_counter() - t0)
        t_fast = float(np.median(times))
        x_cl, ci = solve_cvxpy(prob, lam, mu, solver="CLARABEL")
        scs_times = []
        while True:
            x_scs, si = solve_cvxpy(
                prob, lam, mu, solver="SCS", options={"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 200000}
            )
            scs_times.append(si["solve_time"])
            # repeat the quick ones: their times are as noisy as the fast solver's
            if len(scs_times) >= repeats or sum(scs_times) > 5.0:
                break
        si["solve_time"] = float(np.median(scs_times))

        def rel(a, b):
            return float(np.linalg.norm(a - b) / np.linalg.norm(b))

        s = np.linalg.svd(prob.lie_matrix(x_fast), compute_uv=False)
        row = {
            "candidates": fam,
            "weight": w,
            "l1": mu,
            "unknowns": prob.n_unknowns,
            "lie_matrix": list(prob.shape),
            "rank": int(np.sum(s > 1e-6 * max(s.max(), 1e-300))),
            "fast_seconds": t_fast,
            "fast_iterations": fi["iterations"],
            "fast_converged": fi["converged"],
            "clarabel_seconds": ci["solve_time"],
            "clarabel_solver_seconds": ci["solver_time"],
            "clarabel_status": ci["status"],
            "scs_seconds": si["solve_time"],
            "scs_solver_seconds": si["solver_time"],
            "scs_status": si["status"],
            "rel_diff_fast_clarabel": rel(x_fast, x_cl),
            "rel_diff_fast_scs": rel(x_fast, x_scs),
            "rel_diff_clarabel_scs": rel(x_cl, x_scs),
            "objective_fast_minus_scs": float(prob.objective(x_fast, lam, mu) - prob.objective(x_scs, lam, mu)),
            # relative objective gap to Clarabel's solution: positive when the fast one is worse
            "objective_rel_fast_vs_clarabel": float(
                (prob.objective(x_fast, lam, mu) - prob.objective(x_cl, lam, mu)) / abs(prob.objective(x_cl, lam, mu))
            ),
            "speedup_vs_clarabel": ci["solve_time"] / t_fast,
            "speedup_vs_scs": si["solve_time"] / t_fast,
        }
        rows.append(row)
        log(
            f"    {fam} w={w:g} l1={mu:g}: fast {t_fast * 1e3:.0f} ms ({fi['iterations']} it), "
            f"Clarabel {ci['solve_time']:.2f} s ({ci['status']}), SCS {si['solve_time']:.2f} s ({si['status']}); "
            f"|fast-SCS| {row['rel_diff_fast_scs']:.1e}, |fast-Clarabel| {row['rel_diff_fast_clarabel']:.1e}"
        )
    return {"system": system.name, "N": N_SOLVER, "noise": NOISE, "repeats": repeats, "rows": rows}


# --------------------------------------------------------------------------- report

LABELS = {
    "stlsq": "pysindy STLSQ (oracle threshold)",
    "plain": "symsindy, no symmetry",
    "enforce": "enforce the true symmetry",
    "enforce_oracle": "enforce, oracle threshold",
    "promote_gl": "promote, told gl(n)",
    "promote_gl_op": "promote, told gl(n), operator-normalised",
    "promote_sl": "promote, told sl(n)",
    "promote_so": "promote, told so(n)",
    "promote_gl_fast": "promote, told gl(n), no cvxpy fallback",
    "promote_gl_cv": "promote, k-fold CV (previous rule)",
}
TABLE_METHODS = (
    "stlsq",
    "plain",
    "enforce",
    "enforce_oracle",
    "promote_gl",
    "promote_gl_op",
    "promote_sl",
    "promote_so",
    "promote_gl_cv",
    "promote_gl_fast",
)
PROMOTE_METHODS = tuple(m for m in TABLE_METHODS if m.startswith("promote"))
#: the groups of systems summed in the report; "all" is the 2-D and 3-D systems, as before the 4-D one was added
SPLITS = ("tuning", "report", "all", "4-D")


def system_sizes(name: str) -> tuple:
    return SYSTEMS[name].sizes or SIZES


def split_names(results, split):
    if split == "all":
        return [s for s in results["systems"] if SYSTEMS[s].split in ("tuning", "report")]
    return [s for s in results["systems"] if SYSTEMS[s].split == split]


def summarise(cells, names):
    """Sums over the cells of ``names``; None for a method not run in every one of them."""
    group = [cells[(s, n)] for s in names for n in system_sizes(s) if (s, n) in cells]
    tot = {m: sum(c[m]["successes"] for c in group) if all(m in c for c in group) else None for m in TABLE_METHODS}
    lost = {m: sum(c[m]["lost_terms"] for c in group) if all(m in c for c in group) else None for m in TABLE_METHODS}
    return tot, lost, sum(c["n_seeds"] for c in group)


def _ratio(a, b) -> str:
    return "—" if a is None or b is None else (f"{a / b:.2f}" if b else "inf")


def write_report(out_dir: Path, results: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "promote.json").write_text(json.dumps(results, indent=1) + "\n")
    cells = {(c["system"], c["N"]): c for c in results["scarce"]}
    L = []
    L.append(
        "# Symmetry promotion at scarce data: told only gl(n), against plain STLSQ and enforcing the true symmetry"
    )
    L.append("")
    L.append(
        f"Generated by `benchmarks/bench_promote.py{' --quick' if results['quick'] else ''}` "
        f"({results['seconds']:.0f} s; {results['platform']}). Setup, systems and definitions: the script's docstring."
    )
    L.append(
        f"Short trajectories of {SEGMENT} samples {SEGMENT_DT} apart with measured derivatives, {NOISE:.0%} noise on "
        f"states and derivatives, {results['n_seeds']} seeds per cell, cubic library; every method on the same arrays."
    )
    if results.get("note"):
        L.append("")
        L.append(results["note"])
    L.append("")
    L.append("## Findings")
    L.append("")
    short = {
        "promote_gl": "promote (gl, orthonormal basis)",
        "promote_gl_op": "promote (gl, operator-normalised)",
        "promote_sl": "told only sl(n)",
        "promote_so": "told only so(n)",
        "promote_gl_cv": "the previous rule (k-fold CV)",
        "promote_gl_fast": "promote (gl, no cvxpy fallback)",
    }
    for split in SPLITS:
        names = split_names(results, split)
        if not names:
            continue
        tot, lost, fits = summarise(cells, names)
        proms = [m for m in PROMOTE_METHODS if tot[m] is not None]
        L.append(
            f"- {split} ({', '.join(names)}; {fits} fits): exact structure — "
            + ", ".join(
                f"{short[m]} {tot[m]} (/ STLSQ {_ratio(tot[m], tot['stlsq'])}, enforce / it {_ratio(tot['enforce'], tot[m])})"
                for m in proms
            )
            + f"; pysindy STLSQ {tot['stlsq']}, enforcing the true symmetry {tot['enforce']}, symsindy without "
            f"symmetry {tot['plain']}. Fits with fewer than half the true terms where STLSQ had them all: "
            + ", ".join(f"{short[m]} {lost[m]}" for m in proms)
            + f", enforce {lost['enforce']}."
        )
    tot, _, fits = summarise(cells, split_names(results, "all"))
    if tot["promote_gl"] is not None and tot["promote_gl_op"] is not None:
        default = PromotedSINDy().generator_norm
        L.append(
            f"- penalty scaling per generator (2-D and 3-D, {fits} fits): candidate directions orthonormal over "
            f"(vec A, b) {tot['promote_gl']} exact, each direction's Lie-derivative operator of unit norm on the "
            f'data {tot["promote_gl_op"]}; the package default is `generator_norm="{default}"`.'
        )
    if tot["promote_so"] is not None and tot["promote_sl"] is not None:
        L.append(
            f"- subfamilies (2-D and 3-D, {fits} fits): told only so(n) (rotations) {tot['promote_so']}, only sl(n) "
            f"(traceless) {tot['promote_sl']}, gl(n) {tot['promote_gl']}."
        )
    for c in results["scarce"]:
        if SYSTEMS[c["system"]].split != "4-D":
            continue
        parts = []
        for m in PROMOTE_METHODS:
            if m in c and "solves" in c[m]:
                fb = ", ".join(f"{k} {v}" for k, v in c[m]["fallbacks"].items()) or "none"
                failed = c[m]["symmetry"].get("failed", 0)
                why = "; ".join(f"{k}… ({v})" for k, v in c[m]["errors"].items())
                parts.append(
                    f"{m}: {failed} of {c['n_seeds']} fits failed{f' ({why})' if why else ''}; the others made "
                    f"{c[m]['solves']} solves, fallbacks: {fb}; {c[m]['seconds'] / c['n_seeds']:.0f} s a fit"
                )
        if parts:
            L.append(
                f"- {c['system']}, N = {c['N']}, promotion's solves over {c['n_seeds']} fits: " + "; ".join(parts) + "."
            )
    for name, b in results["broken"].items():
        var, term, value = BREAKING[name][0]
        for res in b:
            parts = [
                f"{m} kept it in {res[m]['term_kept']}/{res['n_seeds']} fits (rotation enforced in "
                f"{res[m]['rotation_enforced']})"
                for m in results["broken_methods"]
                if m.startswith("promote")
            ]
            L.append(f"- {name}, N = {res['N']}: the {value:g} {term} term in {var}' — " + "; ".join(parts) + ".")
    rows = results["solver"]["rows"]
    if rows:
        L.append(
            f"- solver: the fast solver matches SCS to {max(r['rel_diff_fast_scs'] for r in rows):.1e} relative at "
            f"worst and Clarabel to {max(r['rel_diff_fast_clarabel'] for r in rows):.1e}; it is faster than cvxpy "
            f"with Clarabel by {min(r['speedup_vs_clarabel'] for r in rows):.0f}x at least (median "
            f"{np.median([r['speedup_vs_clarabel'] for r in rows]):.0f}x)."
        )
    L.append("")
    L.append("## Exact structure out of the seeds, per system and N")
    L.append("")
    table_methods = [m for m in TABLE_METHODS if any(m in c for c in results["scarce"])]
    L.append("| system | split | N | " + " | ".join(LABELS[m] for m in table_methods) + " |")
    L.append("|---|---|---|" + "---|" * len(table_methods))
    for name in results["systems"]:
        for n in system_sizes(name):
            c = cells.get((name, n))
            if c is None:
                continue
            vals = [
                "—"
                if m not in c
                else f"{c[m]['successes']}"
                + (f"/{c['n_seeds']}" if c["n_seeds"] != results["n_seeds"] else "")
                + (f" (α {c['stlsq']['alpha']:g})" if m == "stlsq" else "")
                for m in table_methods
            ]
            L.append(f"| {name} | {SYSTEMS[name].split} | {n} | " + " | ".join(vals) + " |")
    L.append("")
    L.append(
        "Sums over the cells, and fits that lost more than half the true terms where pysindy's STLSQ kept them all:"
    )
    L.append("")
    L.append("| split | " + " | ".join(LABELS[m] for m in table_methods) + " |")
    L.append("|---|" + "---|" * len(table_methods))
    for split in SPLITS:
        names = split_names(results, split)
        if not names:
            continue
        tot, lost, fits = summarise(cells, names)
        L.append(
            f"| {split} ({fits} fits) | "
            + " | ".join("—" if tot[m] is None else f"{tot[m]} (lost {lost[m]})" for m in table_methods)
            + " |"
        )
    L.append("")
    L.append("### What promotion enforced (counts over the seeds)")
    L.append("")
    proms = [m for m in PROMOTE_METHODS if m in table_methods]
    L.append("| system | N | " + " | ".join(LABELS[m] for m in proms) + " |")
    L.append("|---|---|" + "---|" * len(proms))
    for name in results["systems"]:
        for n in system_sizes(name):
            c = cells.get((name, n))
            if c is None:
                continue
            f = lambda d: ", ".join(f"{k} {v}" for k, v in d.items())  # noqa: E731
            L.append(f"| {name} | {n} | " + " | ".join(f(c[m]["symmetry"]) if m in c else "—" for m in proms) + " |")
    L.append("")
    secs = {m: sum(c[m]["seconds"] for c in results["scarce"] if m in c) for m in table_methods if m != "stlsq"}
    L.append("Time over all cells: " + ", ".join(f"{LABELS[m]} {v:.0f} s" for m, v in secs.items()) + ".")
    L.append("")
    L.append("## A symmetry-breaking term is kept")
    L.append("")
    L.append(
        "`broken`: the damped oscillator with a deliberate +0.5 x^2 in y'; `aizawa`: Langford's system with its "
        "rotation-breaking f z x^3 term (f = 0.1; quartic library). N random pool states. 'LOO error' is the median "
        "over seeds of the smallest leave-one-out error among the candidates with a rotation and among the others "
        "(the evidence the selection weighs)."
    )
    L.append("")
    L.append(
        "| system | N | method | term kept | within 10 % | median coefficient | rotation enforced | exact support | LOO error with rotation | LOO error without |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, b in results["broken"].items():
        for res in b:
            for m in results["broken_methods"]:
                r = res[m]
                f = lambda v: "—" if v is None else f"{v:.3g}"  # noqa: E731
                L.append(
                    f"| {name} | {res['N']} | {m} | {r['term_kept']}/{res['n_seeds']} | {r['term_within_10pct']}/{res['n_seeds']} | "
                    f"{f(r['median_coefficient'])} | {r['rotation_enforced']}/{res['n_seeds']} | {r['exact_support']}/{res['n_seeds']} | "
                    f"{f(r['median_loo_with_rotation'])} | {f(r['median_loo_without_rotation'])} |"
                )
    L.append("")
    sb = results["solver"]
    if not sb["rows"]:
        L.append("The comparison of the fast solver with cvxpy was not run (`--no-solver`).")
        L.append("")
        (out_dir / "promote.md").write_text("\n".join(L) + "\n")
        return
    L.append(
        f"## Fast solver (ADMM) against cvxpy: {sb['system']}, n = 3, cubic library, N = {sb['N']}, {sb['noise']:.0%} noise"
    )
    L.append("")
    L.append(
        "Times: fast = median of {0} calls of `solve_fast`; cvxpy = `solve_cvxpy` (construction, compilation and "
        "solve; the solver's own time in brackets), Clarabel one call, SCS the median of up to {0} calls while under 5 s "
        "in all. Clarabel with the estimator's default tolerances (1e-10), SCS with eps 1e-10.".format(sb["repeats"])
    )
    L.append("")
    L.append(
        "| candidates | weight | l1 | Lie matrix | rank | fast (ms) | iterations | Clarabel (s) | SCS (s) | speed-up vs Clarabel | vs SCS | fast vs SCS | fast vs Clarabel | Clarabel vs SCS | objective, fast vs Clarabel |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sb["rows"]:
        L.append(
            f"| {r['candidates']} | {r['weight']:g} | {r['l1']:g} | {r['lie_matrix'][0]}x{r['lie_matrix'][1]} | {r['rank']} | "
            f"{r['fast_seconds'] * 1e3:.0f} | {r['fast_iterations']} | {r['clarabel_seconds']:.2f} ({r['clarabel_solver_seconds'] or float('nan'):.2f}, {r['clarabel_status']}) | "
            f"{r['scs_seconds']:.2f} ({r['scs_solver_seconds'] or float('nan'):.2f}, {r['scs_status']}) | {r['speedup_vs_clarabel']:.0f}x | "
            f"{r['speedup_vs_scs']:.0f}x | {r['rel_diff_fast_scs']:.1e} | {r['rel_diff_fast_clarabel']:.1e} | {r['rel_diff_clarabel_scs']:.1e} | "
            f"{r['objective_rel_fast_vs_clarabel']:+.1e} |"
        )
    L.append("")
    rows = sb["rows"]
    worst_scs = max(r["rel_diff_fast_scs"] for r in rows)
    worst_cl = max(r["rel_diff_fast_clarabel"] for r in rows)
    L.append(
        f"Agreement: worst relative difference fast vs SCS {worst_scs:.1e}, fast vs Clarabel {worst_cl:.1e} "
        f"(Clarabel vs SCS up to {max(r['rel_diff_clarabel_scs'] for r in rows):.1e}: an interior-point solution of a "
        "low-rank nuclear-norm problem is accurate to about 1e-6, so the SCS column is the sharper check); the fast "
        "solution's objective exceeds Clarabel's by at most "
        f"{max(0.0, max(r['objective_rel_fast_vs_clarabel'] for r in rows)):.1e} (relative), and is lower in "
        f"{sum(r['objective_rel_fast_vs_clarabel'] < 0 for r in rows)} of {len(rows)}. "
        f"Speed-up: median {np.median([r['speedup_vs_clarabel'] for r in rows]):.0f}x vs Clarabel "
        f"(min {min(r['speedup_vs_clarabel'] for r in rows):.0f}x), median {np.median([r['speedup_vs_scs'] for r in rows]):.0f}x vs SCS "
        f"(min {min(r['speedup_vs_scs'] for r in rows):.0f}x)."
    )
    L.append("")
    (out_dir / "promote.md").write_text("\n".join(L) + "\n")


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds, N = 12 and 24, fewer repeats (smoke test only)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (default 20; --quick 3)")
    parser.add_argument("--systems", default=None, help="comma-separated subset of the symmetric systems")
    parser.add_argument("--no-solver", action="store_true", help="skip the solver comparison")
    parser.add_argument("--no-broken", action="store_true", help="skip the symmetry-breaking table")
    parser.add_argument(
        "--previous-rule", action="store_true", help="also run the k-fold rule promotion had before leave-one-out"
    )
    parser.add_argument("--out", default=str(common.RESULTS))
    parser.add_argument(
        "--from-json", default=None, help="only write promote.md again from a promote.json of an earlier run"
    )
    args = parser.parse_args(argv)
    args.out = Path(args.out)
    if args.from_json:
        write_report(args.out, json.loads(Path(args.from_json).read_text()))
        return 0
    t_start = time.perf_counter()

    def log(msg):
        print(msg, flush=True)

    global SIZES
    n_seeds = args.seeds or (3 if args.quick else 20)
    if args.quick:
        SIZES = (12, 24)
        for v in SYSTEMS.values():
            if v.sizes:
                v.sizes = v.sizes[:1]
    repeats = 2 if args.quick else 5
    names = [s for s, v in SYSTEMS.items() if v.split != "broken"]
    if args.systems:
        names = [s.strip() for s in args.systems.split(",")]
        bad = [s for s in names if s not in SYSTEMS or SYSTEMS[s].split == "broken"]
        if bad:
            raise SystemExit(
                f"--systems: unknown or broken systems {bad}; expected some of "
                f"{[s for s, v in SYSTEMS.items() if v.split != 'broken']}"
            )
    for name in names + list(BREAKING):
        info = build_info(name)
        log(
            f"{name}: {int(np.count_nonzero(info['truth']))} true terms of {info['truth'].size}, oracle threshold "
            f"{info['threshold']:g}, symmetry check {info['symmetry_error']:.1e}"
        )
    results = {
        "quick": args.quick,
        "n_seeds": n_seeds,
        "sizes": list(SIZES),
        "systems": names,
        "platform": common.platform_line(),
        "scarce": [],
        "broken": {},
    }
    methods = SCARCE_METHODS + (("promote_gl_cv",) if args.previous_rule else ())
    tasks = [
        (
            name,
            n,
            min(n_seeds, SYSTEMS[name].n_seeds or n_seeds),
            METHODS_4D if SYSTEMS[name].split == "4-D" else methods,
        )
        for name in names
        for n in system_sizes(name)
    ]
    # the slow 4-D cells first, so that they do not finish last on their own
    tasks.sort(key=lambda t: SYSTEMS[t[0]].split != "4-D")
    broken_methods = ["stlsq_a0.05", "promote_so", "promote_gl", "promote_gl_op"]
    results["broken_methods"] = broken_methods
    btasks = (
        []
        if args.no_broken
        else [
            (name, n, n_seeds, broken_methods)
            for name, (_, sizes) in BREAKING.items()
            for n in (sizes[:1] if args.quick else sizes)
        ]
    )
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool_:
        futures = [pool_.submit(scarce_cell, t) for t in tasks]
        bfutures = [pool_.submit(broken_cell, t) for t in btasks]
        for t, fut in zip(tasks, futures):
            c = fut.result()
            results["scarce"].append(c)
            log(
                f"  {t[0]} N={t[1]}: "
                + ", ".join(f"{m} {c[m]['successes']}" for m in TABLE_METHODS if m in c)
                + f" ({sum(c[m]['seconds'] for m in t[3]):.0f} s)"
            )
        for t, fut in zip(btasks, bfutures):
            r = fut.result()
            results["broken"].setdefault(t[0], []).append(r)
            log(f"  {t[0]} N={t[1]}: " + ", ".join(f"{m} kept {r[m]['term_kept']}" for m in broken_methods))
    if args.no_solver:
        results["solver"] = {"rows": []}
    else:
        log("solvers:")
        results["solver"] = solver_benchmark(build_info(SOLVER_SYSTEM), repeats, log)
    results["seconds"] = time.perf_counter() - t_start
    write_report(args.out, results)
    log(f"wrote {args.out / 'promote.md'} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
