"""Discover-then-enforce (``--symmetry auto``) against plain STLSQ: sample efficiency.

Three methods get the very same arrays, library, threshold, ridge weight and
derivatives:

``pysindy``  ``ps.SINDy(optimizer=ps.STLSQ(threshold, alpha))``.
``enforce``  :class:`symsindy.model.SymmetricSINDy` with the known symmetry (as in
             ``bench_enforce.py``); not run on the negative controls, which have none.
``auto``     :func:`symsindy.discover.fit_with_discovered_symmetry` with
             ``n_bootstrap=0``: fit a plain model, discover its symmetries (gl(n)
             generators and signed permutations, each checked by the full-library refit
             cost), enforce those not rejected and refit.  The bootstrap vote is off
             (every found and unrejected spec is enforced) to keep the run affordable;
             that is what decides here, not the bootstrap.
``auto_nocheck``  diagnostic, not part of the comparison: auto with ``refit_tol=inf``,
             i.e. every symmetry found in the plain fit is enforced, to show what the
             discovery's refit check costs and what it protects against.

Systems
    Symmetric: ``oscillator``, ``lorenz``, ``langford`` exactly as in
    ``bench_enforce.py`` (imported from it: right-hand sides, trajectories, libraries,
    true coefficients, thresholds, sampling and noise).  Negative controls, without
    symmetry (right-hand sides defined here, parameters from ``systems/*.toml``):
    ``rossler`` (a = b = 0.2, c = 5.7; quadratic library) and ``selkov`` (Sel'kov
    glycolysis, a = 0.08, b = 0.6, from (0.5, 0.5) with no transient dropped; cubic
    library).  That the controls lack symmetry is checked on the exact model: the
    discovery finds no continuous generator and no signed permutation in it, and each
    signed permutation fails numerically on the right-hand side.

Data, success and N90
    As in ``bench_enforce.py``: N states drawn without replacement from a pool of
    100,000 on one long trajectory, exact derivatives, Gaussian noise of std eta x
    per-variable RMS on states and on derivatives; seeds
    ``default_rng([BASE_SEED, system, noise, N, seed])`` with the same system indices, so
    for the symmetric systems the arrays at every N of this grid are those of the
    enforce benchmark (its pysindy and enforce counts are reproduced, a check).  Success
    = exact sparsity pattern (nonzero when |c| > 1e-10 max|xi|).  N90 = smallest grid N
    with >= 18/20 successes.  Grid: round(2 * 2^(k/4)), 4 ... 2048 (37 sizes: the
    enforce grid from 4 up; ratios resolved to about 19 %).  Refined N90: between a
    method's grid N90 and the grid size below it, every method is also run at the three
    integer sizes of a grid four times finer; the refined N90 is the smallest of those in
    the method's own interval with >= 18/20 successes, else the grid N90; the criterion
    uses the refined values.  *Paired*: over every size and seed run, the fits where auto
    recovers the exact pattern and pysindy does not, and the reverse.  A cell
    (system, noise) stops after the first N at which every method has reached its N90:
    larger N cannot change an N90.

Auto: what it enforced, and falling back
    Per seed the enforced specs (and unnamed generators, labelled ``generator[k]``),
    the specs the refit check rejected, and a class: ``known`` (everything enforced is
    an exact symmetry of the true system and together they imply the benchmark's
    symmetry: the enforced equivariant subspace lies inside the known one), ``partial``
    (exact symmetries only, not implying the known one), ``spurious`` (at least one
    enforced symmetry is not a symmetry of the true right-hand side: equivariance error
    above 1e-8 on trajectory states), ``none`` (nothing enforced).  When the discovery
    raises (the plain fit refuses the data: fewer equations than coefficients, or
    thresholds to the zero model), auto falls back to the plain fit
    ``SymmetricSINDy()`` with no symmetry; when that raises too the seed is a failure,
    as a raising fit is in ``bench_enforce.py``.

Usage
    python benchmarks/bench_discover.py [--quick] [--out benchmarks/results]

Writes ``discover.md`` (tables) and ``discover.json`` (every number, per-seed
enforced specs) to ``--out``.  ``--quick`` (5 seeds, 4 sizes) is for smoke tests only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402  (first: it sets BLAS threads to 1 unless overridden)
import bench_enforce as be  # noqa: E402

import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import pysindy as ps  # noqa: E402

from symsindy.actions import induced_action  # noqa: E402
from symsindy.constraints import equivariant_subspace  # noqa: E402
from symsindy.discover import discover_continuous, discover_discrete, fit_with_discovered_symmetry  # noqa: E402
from symsindy.model import SymmetricSINDy  # noqa: E402
from symsindy.symmetry import Symmetry  # noqa: E402

METHODS = ("pysindy", "enforce", "auto", "auto_nocheck")
# auto-type methods -> refit_tol passed to the discovery (None: its default); auto_nocheck is a diagnostic
AUTO_METHODS = {"auto": None, "auto_nocheck": float("inf")}
AUTO_KEYS = (
    "classes",
    "successes_by_class",
    "fallbacks",
    "enforced_sets",
    "rejected",
    "plain_support_as_pysindy",
    "per_seed",
)
PER_SEED_FIELDS = ["class", "status", "success", "enforced", "rejected", "plain_support_as_pysindy"]
CONTROL_SEED_OFFSET = 100  # system index in the seed sequence of the controls: no overlap with be.SYSTEMS
EXACT_SYMMETRY_TOL = 1e-8
CONTAIN_TOL = 1e-8
CLASSES = ("known", "partial", "spurious", "none")
N_TIMING = 256
TIMING_REPEATS = 5


# --------------------------------------------------------------------------- negative controls


def rossler_rhs(X, a=0.2, b=0.2, c=5.7):
    x, y, z = X.T
    return np.stack([-y - z, x + a * y, b + z * (x - c)], axis=1)


def selkov_rhs(X, a=0.08, b=0.6):
    x, y = X.T
    return np.stack([-x + a * y + x * x * y, b - a * y - x * x * y], axis=1)


CONTROLS = [
    be.System("rossler", ("x", "y", "z"), "", 2, rossler_rhs, (1.0, 1.0, 0.0), 50.0, 250.0, "flip(x,y)"),
    be.System("selkov", ("x", "y"), "", 3, selkov_rhs, (0.5, 0.5), 0.0, 60.0, "flip(x)"),
]


def signed_permutations(n):
    import itertools

    eye = np.eye(n)
    for perm in itertools.permutations(range(n)):
        for signs in itertools.product((1.0, -1.0), repeat=n):
            R = eye[:, list(perm)] * np.array(signs)[None, :]
            if not np.array_equal(R, eye):
                yield R


# --------------------------------------------------------------------------- setup


def prepare(system, control, check_rng):
    """Pool, truth, threshold and symmetry checks of one system (bench_enforce's recipe)."""
    lib, info = be.system_data(system, check_rng)
    info["known_constraints"] = None
    pool, truth, threshold, terms = info["pool"], info["truth"], info["threshold"], info["terms"]
    names = list(system.variables)
    states = pool[::1000]
    # what an ideal discovery sees: the exact model
    cont = discover_continuous(truth, lib, names, "gl", x_samples=states)
    disc = discover_discrete(truth, lib, names, x_samples=states)
    summary = {
        "variables": names,
        "symmetry": system.symmetry or None,
        "degree": system.degree,
        "threshold": threshold,
        "smallest_true_coefficient": float(np.abs(truth[truth != 0]).min()),
        "terms": terms,
        "true_coefficients": truth.tolist(),
        "n_true_terms": int(np.count_nonzero(truth)),
        "n_unknowns": int(truth.size),
        "exact_model_continuous_specs": list(cont.specs),
        "exact_model_continuous_dimension": int(cont.nullity),
        "exact_model_discrete": [c.spec for c in disc],
        "state_rms": info["rms"].tolist(),
        "derivative_rms": info["drms"].tolist(),
        "trajectory": {
            "x0": list(system.x0),
            "t_transient": system.t_transient,
            "t_end": system.t_end,
            "pool": len(pool),
        },
    }
    if control:
        worst = min(
            Symmetry(names, elements=[R]).equivariance_error(system.rhs, states, rng=1, n_elements=4)
            for R in signed_permutations(len(names))
        )
        if cont.nullity or disc or worst < 1e-3:
            raise RuntimeError(
                f"{system.name}: the negative control has a symmetry (continuous {cont.specs}, discrete "
                f"{[c.spec for c in disc]}, smallest signed-permutation error {worst:.2g})"
            )
        summary["smallest_signed_permutation_error"] = worst
    else:
        err = be.symmetry_error(system, system.symmetry, states, seed=1)
        err_control = be.symmetry_error(system, system.not_symmetry, states, seed=1)
        if err > 1e-12 or err_control < 1e-3:
            raise RuntimeError(
                f"{system.name}: symmetry check failed ({err:.2g}, {system.not_symmetry}: {err_control:.2g})"
            )
        sub = equivariant_subspace(induced_action(lib, Symmetry(names, system.symmetry)))
        C = sub.constraints
        info["known_constraints"] = C / np.linalg.norm(C, axis=1, keepdims=True)
        summary.update(
            symmetry_error=err,
            control_symmetry=system.not_symmetry,
            control_symmetry_error=err_control,
            subspace_dim=int(sub.dim),
        )
    return info, summary


# --------------------------------------------------------------------------- auto


class ExactnessCache:
    """Whether a discovered spec is an exact symmetry of the true right-hand side (cached by spec)."""

    def __init__(self, system, states):
        self.system, self.states, self.cache = system, states, {}

    def spec(self, spec):
        if spec not in self.cache:
            sym = Symmetry(list(self.system.variables), spec)
            self.cache[spec] = self._exact(sym)
        return self.cache[spec]

    def _exact(self, sym):
        return bool(sym.equivariance_error(self.system.rhs, self.states, rng=1, n_elements=8) <= EXACT_SYMMETRY_TOL)

    def generator(self, gen):
        return self._exact(Symmetry(list(self.system.variables), generators=[gen]))


def classify(enforced, unnamed, model, info, exact):
    if not enforced and not unnamed:
        return "none"
    if not all(exact.spec(s) for s in enforced) or not all(exact.generator(g) for g in unnamed):
        return "spurious"
    C = info["known_constraints"]
    if C is None:  # a control: every enforced symmetry is an exact one it was not expected to have
        return "partial"
    B = model.subspace_.basis
    if B.shape[1] == 0:
        return "known"
    B = B / np.linalg.norm(B, axis=0, keepdims=True)
    return "known" if float(np.abs(C @ B).max()) <= CONTAIN_TOL else "partial"


def fit_auto(system, X, Xd, info, exact, refit_tol=None):
    """(coef or None, record): auto's coefficients and what it did."""
    names = list(system.variables)
    lib = ps.PolynomialLibrary(degree=system.degree)
    rec = {"status": "ok", "enforced": [], "rejected": [], "class": "none", "plain_support_as_pysindy": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model, report, enforced = fit_with_discovered_symmetry(
                X,
                x_dot=Xd,
                feature_names=names,
                library=lib,
                threshold=info["threshold"],
                alpha=be.ALPHA,
                n_bootstrap=0,
                **({} if refit_tol is None else {"refit_tol": refit_tol}),
            )
        except (ValueError, np.linalg.LinAlgError) as exc:
            rec["status"] = "fallback"
            rec["reason"] = fallback_reason(str(exc))
            try:
                plain = SymmetricSINDy(library=lib, threshold=info["threshold"], alpha=be.ALPHA, max_iter=be.MAX_ITER)
                plain.fit(X, x_dot=Xd, feature_names=names)
            except (ValueError, np.linalg.LinAlgError):
                rec["status"] = "failed"
                return None, rec
            return np.asarray(plain.coef_, float), rec
    unnamed = list(report.unnamed)
    rec["enforced"] = list(enforced) + [f"generator[{k}]" for k in range(len(unnamed))]
    rec["rejected"] = list(report.rejected)
    rec["class"] = classify(enforced, unnamed, model, info, exact)
    rec["_plain_coef"] = np.asarray(report.model.coef_, float)
    return np.asarray(model.coef_, float), rec


def fallback_reason(msg):
    if "too few samples" in msg:
        return "too few samples"
    if "zero model" in msg:
        return "zero plain model"
    return msg.split(":")[0][:60]


def present(coef, truth):
    return np.abs(coef) > be.ROUNDING_ZERO * np.abs(truth).max()


# --------------------------------------------------------------------------- benchmark


def run_cell(system, si, ni, eta, info, grid, n_seeds, has_known, exact):
    methods = [m for m in METHODS if has_known or m != "enforce"]
    truth, terms = info["truth"], info["terms"]
    need = common.needed(n_seeds)
    entry = {"N": [], "n_seeds": n_seeds, "methods": methods}
    for m in methods:
        for key in ("successes", "successes_strict", "failures", "median_max_rel_error", "top_wrong_terms"):
            entry[f"{key}_{m}"] = []
    autos = [m for m in methods if m in AUTO_METHODS]
    for m in autos:
        for key in AUTO_KEYS:
            entry[f"{m}_{key}"] = []
    reached = {m: False for m in methods}
    t0 = time.perf_counter()
    paired = {"auto_only": [], "pysindy_only": []}

    def run_size(N):
        acc = {m: be.new_tally() for m in methods}
        tally = {
            m: {
                "classes": Counter(),
                "by_class": Counter(),
                "fallbacks": Counter(),
                "sets": Counter(),
                "rejected": Counter(),
                "seeds": [],
                "plain_same": 0,
            }
            for m in autos
        }
        for seed in range(n_seeds):
            rng = np.random.default_rng([be.BASE_SEED, si, ni, int(N), seed])
            X, Xd = be.noisy_sample(info["pool"], info["dpool"], info["rms"], info["drms"], int(N), eta, rng)
            coefs, recs = {}, {}
            for m in methods:
                if m in AUTO_METHODS:
                    coefs[m], recs[m] = fit_auto(system, X, Xd, info, exact, AUTO_METHODS[m])
                else:
                    coefs[m] = be.try_fit(
                        "pysindy" if m == "pysindy" else "symsindy", system, X, Xd, info["threshold"], be.ALPHA
                    )
            for m in methods:
                be.score(acc[m], coefs[m], truth, system, terms)
            for m in autos:
                rec, t = recs[m], tally[m]
                ok = acc[m]["per_seed"][-1]
                plain = rec.pop("_plain_coef", None)
                if plain is not None and coefs["pysindy"] is not None:
                    same = bool(np.array_equal(present(plain, truth), present(coefs["pysindy"], truth)))
                    rec["plain_support_as_pysindy"] = same
                    t["plain_same"] += same
                cls = rec["class"]
                t["classes"][cls] += 1
                t["by_class"][cls] += ok
                if rec["status"] != "ok":
                    t["fallbacks"][f"{rec['status']}: {rec['reason']}"] += 1
                if rec["enforced"]:
                    t["sets"]["; ".join(rec["enforced"])] += 1
                t["rejected"].update(rec["rejected"])
                t["seeds"].append(
                    [cls, rec["status"], int(ok), rec["enforced"], rec["rejected"], rec["plain_support_as_pysindy"]]
                )
        return acc, tally

    for N in grid:
        acc, tally = run_size(N)
        if "auto" in acc:
            both = list(zip(acc["auto"]["per_seed"], acc["pysindy"]["per_seed"]))
            paired["auto_only"].append(sum(a and not p for a, p in both))
            paired["pysindy_only"].append(sum(p and not a for a, p in both))
        entry["N"].append(int(N))
        be.record_size(entry, acc, methods)
        for m in methods:
            reached[m] = reached[m] or acc[m]["ok"] >= need
        for m in autos:
            t = tally[m]
            entry[f"{m}_classes"].append({c: t["classes"][c] for c in CLASSES})
            entry[f"{m}_successes_by_class"].append({c: t["by_class"][c] for c in CLASSES})
            entry[f"{m}_fallbacks"].append(dict(t["fallbacks"]))
            entry[f"{m}_enforced_sets"].append([[s, c] for s, c in t["sets"].most_common()])
            entry[f"{m}_rejected"].append([[s, c] for s, c in t["rejected"].most_common()])
            entry[f"{m}_plain_support_as_pysindy"].append(t["plain_same"])
            if m == "auto":  # per seed only for auto itself: the diagnostic's tallies suffice
                entry[f"{m}_per_seed"].append(t["seeds"])
        if all(reached.values()):
            break
    for m in methods:
        entry[f"n90_{m}"] = be.n90(entry["N"], entry[f"successes_{m}"], n_seeds)
        entry[f"n90_strict_{m}"] = be.n90(entry["N"], entry[f"successes_strict_{m}"], n_seeds)
    entry["paired"] = paired
    # the grid resolves N90 to a factor 2^(1/4); between a method's N90 and the grid size below
    # it, every method is also run at the integer sizes of the factor-2^(1/16) grid
    intervals = {m: common.refine_interval(entry["N"], entry[f"n90_{m}"], steps=4) for m in methods}
    fine = sorted({n for iv in intervals.values() if iv for n in iv[2]})
    entry["fine"] = {"N": fine, **{f"successes_{m}": [] for m in methods}}
    for N in fine:
        acc, _ = run_size(N)
        for m in methods:
            entry["fine"][f"successes_{m}"].append(acc[m]["ok"])
    for m in methods:
        v = common.refined_n90(intervals[m], fine, entry["fine"][f"successes_{m}"], n_seeds)
        entry[f"n90_fine_{m}"] = entry[f"n90_{m}"] if v is None else v
    entry["stopped_early"] = len(entry["N"]) < len(grid)
    entry["seconds"] = time.perf_counter() - t0
    return entry


def timing(system, si, info, exact):
    rng = np.random.default_rng([be.BASE_SEED, si, 99, N_TIMING])
    X, Xd = be.noisy_sample(info["pool"], info["dpool"], info["rms"], info["drms"], N_TIMING, 0.01, rng)
    times = {"pysindy": [], "auto": []}
    for _ in range(TIMING_REPEATS):
        t0 = time.perf_counter()
        be.try_fit("pysindy", system, X, Xd, info["threshold"], be.ALPHA)
        times["pysindy"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fit_auto(system, X, Xd, info, exact)
        times["auto"].append(time.perf_counter() - t0)
    return {
        "N": N_TIMING,
        "noise": 0.01,
        "repeats": TIMING_REPEATS,
        "seconds_pysindy": float(np.median(times["pysindy"])),
        "seconds_auto": float(np.median(times["auto"])),
        "all_seconds": times,
    }


# --------------------------------------------------------------------------- reporting


fmt_n90 = common.fmt_n90


ratio = common.fmt_ratio


def index_at(entry, n):
    return len(entry["N"]) - 1 if n is None else entry["N"].index(n)


def class_summary(entry, k, control=False, m="auto"):
    c = entry[f"{m}_classes"][k]
    n = entry["n_seeds"]
    if control:
        return f"none {c['none']}/{n}, spurious {c['spurious']}/{n}" + (
            f", exact {c['partial']}/{n}" if c["partial"] else ""
        )
    out = f"known {c['known']}/{n}, none {c['none']}/{n}, spurious {c['spurious']}/{n}"
    return out + (f", partial {c['partial']}/{n}" if c["partial"] else "")


def sets_summary(entry, k, limit=2, m="auto"):
    sets = entry[f"{m}_enforced_sets"][k]
    if not sets:
        return "nothing"
    return "; ".join(f"`{s}` ×{c}" for s, c in sets[:limit]) + (" …" if len(sets) > limit else "")


def verdict(entry, control, top):
    # the refined N90s: the coarse grid's, sharpened between its sizes (the same where equal)
    a, b = entry.get("n90_fine_auto", entry["n90_auto"]), entry.get("n90_fine_pysindy", entry["n90_pysindy"])
    if a is None and b is None:
        return "undecided (neither reaches N90)"
    if control:
        ok = b is None or (a is not None and a <= b)
    else:
        ok = a is not None and (b is None or a < b)
    return "holds" if ok else "fails"


def fine_cell(entry, methods, top):
    return " / ".join(fmt_n90(entry[f"n90_fine_{m}"], top) for m in methods)


def paired_cell(entry):
    p = entry["paired"]
    return f"{sum(p['auto_only'])} / {sum(p['pysindy_only'])}"


def wrong_summary(entry, m, k):
    items = entry[f"top_wrong_terms_{m}"][k]
    out = ", ".join(f"{t} ({c})" for t, c in items) if items else "none"
    fails = entry[f"failures_{m}"][k]
    return out + (f" (no model in {fails} seeds: the fit refused the data)" if fails else "")


def notes(result):
    """One line per cell where the criterion does not hold, at the size that decides it."""
    lines = []
    top = result["settings"]["grid"][-1]
    for group, control in (("symmetric", False), ("controls", True)):
        for name, cells in result[group].items():
            for eta, e in cells.items():
                v = verdict(e, control, top)
                if v == "holds":
                    continue
                b = e["n90_pysindy"]
                # the size that decides: on a symmetric system the size below pysindy's N90 (auto had to
                # succeed there to win); on a control pysindy's N90 (auto had to succeed there to tie)
                k = index_at(e, b)
                if not control and b is not None and k > 0:
                    k -= 1
                N = e["N"][k]
                fb = e["auto_fallbacks"][k]
                rej = e["auto_rejected"][k]
                lines.append(
                    f"- **{name}, η = {float(eta):.0%}** ({v}): N90 pysindy {fmt_n90(b, top)}, auto {fmt_n90(e['n90_auto'], top)}. "
                    f"At N = {N}: successes pysindy {e['successes_pysindy'][k]}/{e['n_seeds']}, auto {e['successes_auto'][k]}/{e['n_seeds']}"
                    + (f", enforce {e['successes_enforce'][k]}/{e['n_seeds']}" if "enforce" in e["methods"] else "")
                    + f"; auto enforced: {class_summary(e, k, control)} ({sets_summary(e, k, 3)}); "
                    f"successes by class {e['auto_successes_by_class'][k]}; "
                    f"found but rejected by the refit check: {', '.join(f'`{s}` ×{c}' for s, c in rej) if rej else 'none'}"
                    + (f"; fallbacks {fb}" if fb else "")
                    + f"; auto's wrong entries {wrong_summary(e, 'auto', k)}; pysindy's {wrong_summary(e, 'pysindy', k)}."
                )
    return lines


def refit_check_size(n_vars, k_free, k_sym, tol=0.1):
    """Smallest N at which pure noise lets the refit check accept an exact symmetry.

    Under noise the full-library least-squares residual grows, on enforcing ``k_free - k_sym``
    constraints, by about ``(k_free - k_sym) / (n N - k_free)`` relative (ratio of degrees of
    freedom); the check accepts growth up to ``tol``.
    """
    return int(np.ceil((k_free + (k_free - k_sym) / tol) / n_vars))


def summary_lines(result):
    top = result["settings"]["grid"][-1]
    out = []
    for group, control, label in (
        ("symmetric", False, "symmetric cells (N90 auto < N90 pysindy)"),
        ("controls", True, "negative-control cells (N90 auto ≤ N90 pysindy)"),
    ):
        tally = Counter(
            verdict(e, control, top).split(" ")[0] for cells in result[group].values() for e in cells.values()
        )
        out.append(
            f"- Criterion on {label}: holds in {tally['holds']}, fails in {tally['fails']}, "
            f"undecided (neither pysindy nor auto reaches N90 by N = {top}) in {tally['undecided']}."
        )
    enforced = sum(
        c["spurious"] + c["partial"]
        for cells in result["controls"].values()
        for e in cells.values()
        for c in e["auto_classes"]
    )
    fits = sum(len(e["N"]) * e["n_seeds"] for cells in result["controls"].values() for e in cells.values())
    out.append(f"- On the controls auto enforced a symmetry in {enforced} of {fits} fits.")
    fb = Counter()
    largest = {}
    for group in ("symmetric", "controls"):
        for name, cells in result[group].items():
            for e in cells.values():
                for k, N in enumerate(e["N"]):
                    for key, v in e["auto_fallbacks"][k].items():
                        fb[key] += v
                        largest[name] = max(largest.get(name, 0), N)
    out.append(
        "- Auto's fallbacks: "
        + (", ".join(f"{k} ×{v}" for k, v in fb.items()) if fb else "none")
        + (
            " (the plain fit refuses fewer equations than coefficients, N < library size; largest such N: "
            + ", ".join(f"{n} {v}" for n, v in largest.items())
            + "; pysindy fits those samples)"
            if fb
            else ""
        )
        + "."
    )
    out.append(
        "- The refit check compares full-library least-squares fits: a candidate is rejected when enforcing it "
        "raises the residual sum of squares by more than 10 % plus what chance alone gives when q coefficients "
        "are tied (q F_0.99(q, dof) / dof, the nested least-squares F statistic, which fades as N grows). Without "
        "the chance term an exact symmetry is rejected at small N with noise, since tying k_free − k_sym "
        "coefficients raises the residual by about (k_free − k_sym)/(nN − k_free) whatever the noise level. "
        "Without noise the residuals sit below the check's floor (10⁻⁶ of the derivatives' sum of squares)."
    )
    return ["## Summary", "", *out, ""]


def per_size_lines(result):
    lines = []
    for group, control in (("symmetric", False), ("controls", True)):
        for name, cells in result[group].items():
            for eta, e in cells.items():
                parts = []
                for k, N in enumerate(e["N"]):
                    c = e["auto_classes"][k]
                    s = f"{e['successes_pysindy'][k]}"
                    if "enforce" in e["methods"]:
                        s += f"/{e['successes_enforce'][k]}"
                    s += f"/{e['successes_auto'][k]}/{e['successes_auto_nocheck'][k]}"
                    cls = (
                        f"k{c['known']} n{c['none']} s{c['spurious']}"
                        if not control
                        else f"n{c['none']} s{c['spurious']}"
                    )
                    if c["partial"]:
                        cls += f" p{c['partial']}"
                    parts.append(f"{N}: {s} [{cls}]")
                lines.append(f"- {name} {float(eta):.0%}: " + " · ".join(parts))
    return lines


def markdown(result) -> str:
    s = result["settings"]
    grid, n_seeds, top = s["grid"], s["n_seeds"], s["grid"][-1]
    need = common.needed(n_seeds)
    lines = [
        "# Discover-then-enforce (`--symmetry auto`) vs plain STLSQ",
        "",
        f"Generated by `python benchmarks/bench_discover.py{' --quick' if s['quick'] else ''}` in "
        f"{result['elapsed_seconds'] / 60:.1f} min ({s['platform']}, BLAS threads {s['blas_threads']}).",
        "",
        f"Setup of `bench_enforce.py` (imported from it): random states from one long trajectory, exact derivatives, "
        f"noise std η × per-variable RMS on states and derivatives, threshold ½ × smallest true |coefficient|, "
        f"α = {be.ALPHA}; N90 = fewest samples (geometric grid of {len(grid)} sizes, {grid[0]}…{grid[-1]}, "
        f"factor 2^(1/4): the enforce benchmark's) at which ≥ {need}/{n_seeds} seeds "
        "recover the exact sparsity pattern. All three methods get the same arrays. *auto* = "
        "`fit_with_discovered_symmetry(..., n_bootstrap=0)`: the bootstrap vote is off, so every symmetry the "
        "discovery finds and its refit check does not reject is enforced. A cell stops after the first size at "
        "which every method has reached its N90.",
        "",
        "Auto's enforced symmetries per seed: *known* = exact symmetries of the true system that imply the "
        "benchmark's symmetry; *spurious* = at least one enforced symmetry the true system does not have; "
        "*none* = nothing enforced (including fallbacks to the plain fit); *partial* = exact symmetries only, "
        "not implying the known one. Shown at auto's N90 (at the largest size run when it has none).",
        "",
        "## Symmetric systems (criterion: N90 auto < N90 pysindy)",
        "",
        "N90 on the grid, and refined: between a method's grid N90 and the grid size below it, all methods are also run "
        "at the three integer sizes of the factor-2^(1/16) grid, and the refined N90 is the smallest of those (or the "
        "grid N90) with ≥ 90 % successes; the criterion uses the refined values. *Paired* counts, over every size and "
        "seed run, the fits where auto recovers the exact pattern and pysindy does not, and the reverse.",
        "",
        "| system | symmetry | noise η | N90 pysindy | N90 enforce | N90 auto | refined: pysindy / enforce / auto | ratio auto/pysindy (refined) | paired: auto only / pysindy only | auto enforced (at N90 auto) | criterion |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, cells in result["symmetric"].items():
        info = result["systems"][name]
        for eta, e in cells.items():
            k = index_at(e, e["n90_auto"])
            lines.append(
                f"| {name} | `{info['symmetry']}` | {float(eta):.0%} | {fmt_n90(e['n90_pysindy'], top)} | "
                f"{fmt_n90(e['n90_enforce'], top)} | {fmt_n90(e['n90_auto'], top)} | "
                f"{fine_cell(e, ('pysindy', 'enforce', 'auto'), top)} | "
                f"{ratio(e['n90_fine_auto'], e['n90_fine_pysindy'], top)} | {paired_cell(e)} | "
                f"N = {e['N'][k]}: {class_summary(e, k)}; {sets_summary(e, k)} | "
                f"{verdict(e, False, top)} |"
            )
    lines += [
        "",
        "## Negative controls, no symmetry (criterion: N90 auto ≤ N90 pysindy)",
        "",
        "| system | library | noise η | N90 pysindy | N90 auto | refined: pysindy / auto | ratio auto/pysindy (refined) | paired: auto only / pysindy only | seeds enforcing anything (all sizes run) | auto enforced (at N90 auto) | criterion |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, cells in result["controls"].items():
        info = result["systems"][name]
        for eta, e in cells.items():
            k = index_at(e, e["n90_auto"])
            total = len(e["N"]) * n_seeds
            anything = sum(total_c["spurious"] + total_c["partial"] for total_c in e["auto_classes"])
            lines.append(
                f"| {name} | poly deg {info['degree']} | {float(eta):.0%} | {fmt_n90(e['n90_pysindy'], top)} | "
                f"{fmt_n90(e['n90_auto'], top)} | {fine_cell(e, ('pysindy', 'auto'), top)} | "
                f"{ratio(e['n90_fine_auto'], e['n90_fine_pysindy'], top)} | {paired_cell(e)} | {anything}/{total} | "
                f"N = {e['N'][k]}: {class_summary(e, k, True)}; {sets_summary(e, k)} | {verdict(e, True, top)} |"
            )
    lines += [
        "",
        "What the discovery finds in the exact models (the best it could do): "
        + "; ".join(
            f"{n}: continuous {', '.join(i['exact_model_continuous_specs']) or 'none'}"
            f" (dimension {i['exact_model_continuous_dimension']}), discrete {', '.join(i['exact_model_discrete']) or 'none'}"
            for n, i in result["systems"].items()
        )
        + ".",
        "",
        f"Consistency: at every size of this grid the pysindy and enforce success counts of the symmetric systems "
        f"equal those in `enforce.json` (same arrays): {result['consistency_with_enforce']}.",
        "",
        "Auto's plain fit (inside the discovery) has the same sparsity pattern as pysindy's in "
        f"{result['plain_agreement']['same']}/{result['plain_agreement']['total']} seeds where both ran.",
        "",
    ]
    lines += summary_lines(result)
    lines += [
        "## Diagnostic: auto without the refit check",
        "",
        "The discovery rejects a candidate when enforcing it raises the residual sum of squares of the full-library "
        "least-squares fit by more than 10 % (`refit_tol=0.1`). *auto, no check* repeats auto with "
        "`refit_tol=inf` (every symmetry found in the plain fit is enforced) on the same arrays, to show what "
        "that check costs and what it protects against. Not part of the criterion.",
        "",
        "| system | noise η | N90 pysindy | N90 enforce | N90 auto | N90 auto, no check | no check: seeds enforcing something spurious (all sizes run) | no check: enforced at its N90 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for group, control in (("symmetric", False), ("controls", True)):
        for name, cells in result[group].items():
            for eta, e in cells.items():
                k = index_at(e, e["n90_auto_nocheck"])
                spur = sum(c["spurious"] for c in e["auto_nocheck_classes"])
                lines.append(
                    f"| {name} | {float(eta):.0%} | {fmt_n90(e['n90_pysindy'], top)} | "
                    f"{fmt_n90(e['n90_enforce'], top) if 'enforce' in e['methods'] else 'n/a'} | {fmt_n90(e['n90_auto'], top)} | "
                    f"{fmt_n90(e['n90_auto_nocheck'], top)} | {spur}/{len(e['N']) * n_seeds} | "
                    f"N = {e['N'][k]}: {class_summary(e, k, control, 'auto_nocheck')}; {sets_summary(e, k, 2, 'auto_nocheck')} |"
                )
    lines.append("")
    nl = notes(result)
    if nl:
        lines += ["## Where the criterion does not hold", "", *nl, ""]
    lines += [
        f"## Fit time, N = {N_TIMING}, 1 % noise (median of {TIMING_REPEATS})",
        "",
        "| system | pysindy (s) | auto (s) |",
        "|---|---|---|",
        *[f"| {n} | {t['seconds_pysindy']:.4f} | {t['seconds_auto']:.3f} |" for n, t in result["fit_time"].items()],
        "",
        "## Per size",
        "",
        "Successes pysindy/enforce/auto/auto without refit check (controls: pysindy/auto/auto without refit check) and auto's classes "
        "[k known, n none, s spurious, p partial], out of "
        f"{n_seeds} seeds.",
        "",
        *per_size_lines(result),
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def dumps(obj) -> str:
    """Strict JSON (non-finite numbers as null), indented, with short lists kept on one line."""
    inline = []

    def mark(o):
        if isinstance(o, dict):
            return {k: mark(v) for k, v in o.items()}
        if isinstance(o, list):
            o = [None if isinstance(v, float) and not np.isfinite(v) else v for v in o]
            text = (
                json.dumps(o, allow_nan=False) if all(not isinstance(v, float) or np.isfinite(v) for v in o) else None
            )
            if text is not None and len(text) <= 160:
                inline.append(text)
                return f"\x00{len(inline) - 1}\x00"
            return [mark(v) for v in o]
        if isinstance(o, float) and not np.isfinite(o):
            return None  # strict JSON: a median error over seeds without a model
        return o

    text = json.dumps(mark(obj), indent=1)
    return re.sub(r'"\\u0000(\d+)\\u0000"', lambda m: inline[int(m.group(1))], text)


def check_against_enforce(result, path):
    """Whether pysindy/enforce counts equal those of enforce.json at the shared sizes."""
    if not path.exists():
        return "enforce.json not found"
    ref = json.loads(path.read_text(encoding="utf-8"))
    if ref["settings"]["n_seeds"] != result["settings"]["n_seeds"]:
        return "not comparable (different seed counts)"
    bad, compared = [], 0
    for name, cells in result["symmetric"].items():
        for eta, e in cells.items():
            r = ref["recovery"][name][eta]
            for k, N in enumerate(e["N"]):
                if N not in r["N"]:
                    continue
                j = r["N"].index(N)
                compared += 1
                if (e["successes_pysindy"][k], e["successes_enforce"][k]) != (
                    r["successes_pysindy"][j],
                    r["successes_symsindy"][j],
                ):
                    bad.append(f"{name} {eta} N={N}")
    return (
        f"{compared} sizes compared, all equal" if not bad else f"{len(bad)} of {compared} differ: {', '.join(bad[:5])}"
    )


def main(argv=None) -> int:
    args = common.parse_args(__doc__, argv, quick="5 seeds and 4 sizes (smoke test only)")
    out = args.out
    if args.quick:
        n_seeds, grid = 5, [8, 32, 128, 512]
    else:
        n_seeds, grid = 20, [int(round(2 * 2 ** (k / 4))) for k in range(4, 41)]
    t_start = time.perf_counter()

    def log(msg):
        print(msg, flush=True)

    check_rng = np.random.default_rng(be.BASE_SEED)
    prepared = []
    systems_json = {}
    for si, system in enumerate(be.SYSTEMS):
        info, summ = prepare(system, False, check_rng)
        prepared.append((system, si, info, False))
        systems_json[system.name] = summ
    for ci, system in enumerate(CONTROLS):
        info, summ = prepare(system, True, check_rng)
        prepared.append((system, CONTROL_SEED_OFFSET + ci, info, True))
        systems_json[system.name] = summ
    for name, summ in systems_json.items():
        log(
            f"  {name:10s} threshold {summ['threshold']:.3g}; exact model: continuous "
            f"{summ['exact_model_continuous_specs']}, discrete {summ['exact_model_discrete']}"
        )

    result = {"symmetric": {}, "controls": {}, "fit_time": {}}
    agree = {"same": 0, "total": 0}
    for system, si, info, control in prepared:
        exact = ExactnessCache(system, info["pool"][::1000])
        group = result["controls" if control else "symmetric"]
        group[system.name] = {}
        for ni, eta in enumerate(be.NOISE_LEVELS):
            e = run_cell(system, si, ni, eta, info, grid, n_seeds, not control, exact)
            group[system.name][f"{eta:g}"] = e
            compared = [r[5] for seeds in e["auto_per_seed"] for r in seeds if r[5] is not None]
            agree["same"] += sum(compared)
            agree["total"] += len(compared)
            top = grid[-1]
            log(
                f"  {system.name:10s} noise {eta:4.0%}: N90 pysindy {fmt_n90(e['n90_pysindy'], top)}, "
                + (f"enforce {fmt_n90(e['n90_enforce'], top)}, " if not control else "")
                + f"auto {fmt_n90(e['n90_auto'], top)}  ({e['seconds']:.0f} s, {len(e['N'])} sizes)"
            )
        result["fit_time"][system.name] = timing(system, si, info, exact)

    result["settings"] = {
        "quick": args.quick,
        "grid": grid,
        "n_seeds": n_seeds,
        "success_fraction": be.SUCCESS_FRACTION,
        "noise_levels": list(be.NOISE_LEVELS),
        "alpha": be.ALPHA,
        "max_iter": be.MAX_ITER,
        "threshold_rule": "0.5 * smallest nonzero |true coefficient|",
        "auto": "fit_with_discovered_symmetry(x, x_dot=xd, feature_names, library, threshold, alpha, n_bootstrap=0)",
        "auto_fallback": "plain SymmetricSINDy() when the discovery raises; a failure when that raises too",
        "auto_per_seed_fields": PER_SEED_FIELDS,
        "exact_symmetry_tol": EXACT_SYMMETRY_TOL,
        "base_seed": be.BASE_SEED,
        "control_seed_offset": CONTROL_SEED_OFFSET,
        "early_stop": "a cell stops after the first N at which every method has reached its N90",
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "platform": common.platform_line(),
        "cpu_count": os.cpu_count(),
    }
    result["systems"] = systems_json
    result["plain_agreement"] = agree
    result["consistency_with_enforce"] = check_against_enforce(result, common.RESULTS / "enforce.json")
    result["elapsed_seconds"] = time.perf_counter() - t_start
    md = markdown(result)
    (out / "discover.md").write_text(md, encoding="utf-8")
    (out / "discover.json").write_text(dumps(result), encoding="utf-8")
    print()
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
