"""Exhaustive best-subset search against the threshold path, inside a small equivariant subspace.

Where the equivariant subspace is small, every support it allows can be scored.  This
benchmark asks whether that beats the threshold path of ``threshold="auto"`` when both use
the same criterion (``mstls``: growth over the full least-squares fit plus
``w * terms kept / terms in the library``).

Data
    Lorenz (sigma 10, rho 28, beta 8/3), one trajectory of 5,000 samples at dt = 0.002
    (DOP853, rtol = atol = 1e-10) cut from a 25-time-unit run at a seeded random start;
    noise eta x each variable's std (eta = 20 %, 30 %); 20 seeds
    (``default_rng(seed)`` draws the start, then the noise).
Fit
    The weak system of :class:`symsindy.SymmetricSINDy` (``formulation="weak"``, its
    test functions chosen from the data) with ``flip(x,y)`` enforced: 14 allowed entries.
    ``path``: ``ConstrainedSTLSQ(threshold="auto")`` on that system.  ``subset``: all
    2^14 - 1 supports of the allowed entries, each refitted in the subspace and scored by the
    same criterion; the best is kept.  Sparsity weights 0.1, 0.2, 0.3.
Success
    The support equals Lorenz's seven terms exactly.

Usage
    python benchmarks/bench_subset.py [--quick] [--out benchmarks/results]

Writes ``subset.md`` and ``subset.json``.  About 2 minutes on one core.
"""

from __future__ import annotations

import _common as common  # first: it sets BLAS threads to 1 unless overridden

import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pysindy as ps  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from symsindy import SymmetricSINDy  # noqa: E402
from symsindy.optimizers import ConstrainedSTLSQ, _Problem  # noqa: E402

WEIGHTS = (0.1, 0.2, 0.3)
NOISE = (0.2, 0.3)
N_SEEDS = 20
N_SAMPLES = 5000
DT = 0.002
TRUE_TERMS = {0: ("x", "y"), 1: ("x", "y", "x z"), 2: ("z", "x y")}


def lorenz(_t, X, s=10.0, r=28.0, b=8.0 / 3.0):
    x, y, z = X
    return [s * (y - x), x * (r - z) - y, x * y - b * z]


def pool() -> np.ndarray:
    t = np.arange(12500) * DT
    return solve_ivp(lorenz, (0, t[-1]), [-8.0, 7.0, 27.0], t_eval=t, method="DOP853", rtol=1e-10, atol=1e-10).y.T


def true_pattern(names) -> np.ndarray:
    pat = np.zeros((3, len(names)), bool)
    for i, terms in TRUE_TERMS.items():
        for term in terms:
            pat[i, names.index(term)] = True
    return pat


def best_subset(G, b, Q, weight):
    """The support of the allowed entries with the smallest criterion, by enumeration."""
    problem = _Problem(G, b, Q)
    p, n = G.shape[1], b.shape[1]
    N = p * n
    allowed = np.flatnonzero(np.abs(Q).sum(axis=1) > 0)
    full = problem.solve(Q, 0.0)
    ref = np.linalg.norm(G @ full.reshape(p, n))
    best, best_active = np.inf, None
    for mask in range(1, 1 << len(allowed)):
        active = np.zeros(N, bool)
        active[allowed[[i for i in range(len(allowed)) if mask >> i & 1]]] = True
        w = problem.solve(problem.basis(active), 0.0)
        score = np.linalg.norm(G @ (w - full).reshape(p, n)) / ref + weight * active.sum() / N
        if score < best:
            best, best_active = score, active
    return best_active.reshape(p, n).T


def main(argv=None) -> int:
    args = common.parse_args(__doc__, argv)
    seeds = 5 if args.quick else N_SEEDS
    warnings.filterwarnings("ignore")
    X = pool()
    result = {
        "settings": {"noise": NOISE, "seeds": seeds, "weights": WEIGHTS, "samples": N_SAMPLES, "dt": DT},
        "platform": common.platform_line(),
        "cells": [],
    }
    start = time.perf_counter()
    for eta in NOISE:
        counts = {f"{kind} w={w:g}": 0 for kind in ("path", "subset") for w in WEIGHTS}
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            k = int(rng.integers(0, len(X) - N_SAMPLES))
            x = X[k : k + N_SAMPLES]
            xn = x + eta * x.std(0) * rng.standard_normal(x.shape)
            m = SymmetricSINDy(library=ps.PolynomialLibrary(degree=2), symmetry="flip(x,y)", formulation="weak")
            m.fit(xn, t=DT * np.arange(N_SAMPLES), feature_names=["x", "y", "z"])
            pat = true_pattern(m.term_names_)
            G, b, Q = m.weak_system_.G, m.weak_system_.b, m.subspace_.basis
            for w in WEIGHTS:
                path = ConstrainedSTLSQ(basis=Q, threshold="auto", sparsity_weight=w).fit(G, b)
                counts[f"path w={w:g}"] += bool(np.array_equal(path.coef_ != 0, pat))
                counts[f"subset w={w:g}"] += bool(np.array_equal(best_subset(G, b, Q, w), pat))
        result["cells"].append({"noise": eta, "successes": counts})
        print(f"noise {eta:.0%}: " + ", ".join(f"{k} {v}/{seeds}" for k, v in counts.items()), flush=True)
    result["seconds"] = time.perf_counter() - start
    (args.out / "subset.json").write_text(json.dumps(result, indent=2) + "\n")
    cols = list(result["cells"][0]["successes"])
    lines = [
        "# Best-subset search against the threshold path (Lorenz, weak form, flip(x,y))",
        "",
        f"Generated by `python benchmarks/bench_subset.py` in {result['seconds'] / 60:.1f} min ({result['platform']}).",
        f"Exact-structure successes out of {seeds} seeds.",
        "",
        "| noise | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for c in result["cells"]:
        lines.append(f"| {c['noise']:.0%} | " + " | ".join(str(c["successes"][k]) for k in cols) + " |")
    (args.out / "subset.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
