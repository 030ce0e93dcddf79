"""Running a sweep: the seeded data and fit of one cell, and the resumable run of the missing
cells on Dask."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import sys
import time
import warnings
from pathlib import Path
from collections.abc import Callable

import numpy as np

from ._results import (
    COLUMNS,
    RESULTS_FILE,
    STUDY_FILE,
    Summary,
    _format_value,
    _parse_row,
    _ResultsWriter,
    _row_key,
    read_results,
    summarize,
    write_summary,
)
from ._study import _WEAK_METHODS, METHODS, Study, load_study

# --------------------------------------------------------------------------- one cell


def cell_seed_sequence(base_seed: int, system: str, samples: int, noise: float, seed: int) -> np.random.SeedSequence:
    """The seed of a cell's data: ``base_seed`` and a SHA-256 hash of ``(system, samples, noise, seed)``.

    The method is not part of it, so every method of a grid point sees the same data.
    """
    text = json.dumps([str(system), int(samples), repr(float(noise)), int(seed)])
    digest = hashlib.sha256(text.encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.SeedSequence([int(base_seed), *words])


@functools.lru_cache(maxsize=8)
def _trajectory(key: str):
    """States and exact derivatives on the data trajectory of a system; cached per process."""
    from scipy.integrate import solve_ivp

    from ..catalogue import System

    spec = json.loads(key)
    system = System(spec["label"], spec["variables"], spec["equations"])
    f = system.rhs_function()
    d = spec["data"]
    sol = solve_ivp(
        lambda _t, y: f(y),
        (0.0, d["t_end"]),
        np.asarray(d["x0"], float),
        method="DOP853",
        rtol=1e-10,
        atol=1e-12,
        dense_output=True,
    )
    if not sol.success:
        raise RuntimeError(f"system '{spec['label']}': integration failed: {sol.message}")
    if d["kind"] == "samples":
        t = np.linspace(d["t_transient"], d["t_end"], d["pool"])
    else:
        m = int(math.floor((d["t_end"] - d["t_transient"]) / d["dt"] + 1e-9)) + 1
        t = d["t_transient"] + d["dt"] * np.arange(m)
    X = np.ascontiguousarray(sol.sol(t).T)
    if not np.all(np.isfinite(X)):
        raise RuntimeError(f"system '{spec['label']}': the trajectory is not finite")
    D = f(X)
    return X, D, np.sqrt(np.mean(X**2, axis=0)), np.sqrt(np.mean(D**2, axis=0))


def _cell_data(config: dict, samples: int, noise: float, rng: np.random.Generator):
    """States and derivatives a cell fits, identical for every method, and the raw noisy
    trajectory with its time step (``None`` for random states) for the weak formulation."""
    key = json.dumps({k: config[k] for k in ("label", "variables", "equations", "data")}, sort_keys=True)
    X, D, rms, drms = _trajectory(key)
    d = config["data"]
    if d["kind"] == "samples":
        idx = rng.choice(len(X), size=samples, replace=False)
        Xs, Ds = X[idx].copy(), D[idx].copy()
        if noise > 0:
            Xs += rng.normal(size=Xs.shape) * (noise * rms)
            if d["derivative_noise"]:
                Ds += rng.normal(size=Ds.shape) * (noise * drms)
        return Xs, Ds, None
    from ..discover import estimate_derivatives

    start = int(rng.integers(0, len(X) - samples + 1))
    Xs = X[start : start + samples].copy()
    if noise > 0:
        Xs += rng.normal(size=Xs.shape) * (noise * rms)
    diff = None
    if d["differentiation"] == "finite_difference":
        import pysindy as ps

        diff = ps.FiniteDifference()
    if samples < 3:
        raise ValueError(f"{samples} consecutive samples cannot be differentiated; at least 3 are needed")
    sx, sd = estimate_derivatives([Xs], [d["dt"]], differentiation=diff)
    return sx[0], sd[0], (Xs, d["dt"])


def _fit(method: str, config: dict, X, D, method_seed: int, raw=None):
    """Coefficients ``(n, p)`` and extra row fields of one fit.

    ``raw`` is the noisy trajectory and its step: the methods enforce and discover fit it
    directly in the weak (or automatic) formulation; every other fit uses ``X`` and ``D``.
    """
    import pysindy as ps

    names = list(config["variables"])
    formulation = config.get("formulation", "strong")
    data_kw = dict(x_dot=D)
    if method in _WEAK_METHODS and formulation != "strong" and raw is not None:
        X, data_kw = raw[0], dict(t=raw[1])
    lib = ps.PolynomialLibrary(degree=config["degree"])
    if method == "pysindy":
        model = ps.SINDy(
            optimizer=ps.STLSQ(threshold=config["threshold"], alpha=config["alpha"], max_iter=config["max_iter"]),
            feature_library=lib,
        )
        model.fit(X, t=1.0, x_dot=D, feature_names=names)
        return np.asarray(model.coefficients(), float), {"symmetry": ""}
    if method == "enforce":
        from ..model import SymmetricSINDy

        model = SymmetricSINDy(
            library=lib,
            symmetry=config["symmetry"] or None,
            threshold=config["threshold"],
            alpha=config["alpha"],
            max_iter=config["max_iter"],
            formulation=formulation,
        )
        model.fit(X, feature_names=names, **data_kw)
        return model.coef_, {
            "symmetry": "; ".join(model.symmetry_.specs),
            "equivariance_residual": model.equivariance_residual_,
        }
    if method == "discover":
        from ..discover import fit_with_discovered_symmetry

        o = config["discover"]
        model, _report, _enforced = fit_with_discovered_symmetry(
            X,
            feature_names=names,
            library=lib,
            threshold=config["threshold"],
            alpha=config["alpha"],
            formulation=formulation,
            **data_kw,
            n_bootstrap=o["n_bootstrap"],
            candidates=o["candidates"],
            discrete=o["discrete"],
            min_frequency=o["min_frequency"],
            random_state=method_seed,
        )
        return model.coef_, {
            "symmetry": "; ".join(model.symmetry_.specs),
            "equivariance_residual": model.equivariance_residual_,
        }
    if method == "promote":
        from ..promote import PromotedSINDy

        o = config["promote"]
        model = PromotedSINDy(
            library=lib,
            candidates=o["candidates"],
            weight=o["weight"],
            n_folds=o["n_folds"],
            l1=o["l1"],
            threshold=config["threshold"],
            alpha=config["alpha"],
            solver=o["solver"],
            random_state=method_seed,
        )
        model.fit(X, x_dot=D, feature_names=names)
        return model.coef_, {
            "symmetry": "; ".join(model.symmetry_.specs),
            "equivariance_residual": model.equivariance_residual_,
        }
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_cell(config: dict, method: str, samples: int, noise: float, seed: int, config_hash: str = "") -> dict:
    """Fit one cell and return its row (see :mod:`symsindy.sweep`); a failed fit is a row with ``error``.

    ``config`` is :attr:`SystemSettings.config`.  Pure: the same arguments give the same
    row (up to ``fit_time``) in any process.
    """
    truth = np.asarray(config["truth"], float)
    support = truth != 0
    scale = float(np.abs(truth).max())
    row = {c: "" for c in COLUMNS}
    row.update(
        system=config["label"],
        method=method,
        samples=int(samples),
        noise=float(noise),
        seed=int(seed),
        success=0,
        config=config_hash,
    )
    data_ss = cell_seed_sequence(config["base_seed"], config["label"], samples, noise, seed)
    # the data use the cell's sequence itself, a method's own randomness a child of it
    method_seed = int(data_ss.spawn(1)[0].generate_state(1)[0])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            X, D, raw = _cell_data(config, int(samples), float(noise), np.random.default_rng(data_ss))
            t0 = time.perf_counter()
            coef, extra = _fit(method, config, X, D, method_seed, raw)
            row["fit_time"] = time.perf_counter() - t0
        coef = np.asarray(coef, float)
        if coef.shape != truth.shape:
            raise ValueError(f"the fit returned coefficients of shape {coef.shape}; expected {truth.shape}")
        if not np.all(np.isfinite(coef)):
            raise ValueError("the fit returned non-finite coefficients")
    except Exception as exc:  # a failed fit is a result, recorded in its row
        row["error"] = _one_line(exc)
        return row
    present = np.abs(coef) > config["zero_tol"] * scale
    row.update(
        success=int(np.array_equal(present, support)),
        coef_error=float(np.abs(coef - truth).max() / scale),
        n_terms=int(present.sum()),
        n_spurious=int((present & ~support).sum()),
        n_missing=int((~present & support).sum()),
    )
    row.update(extra)
    return row


# --------------------------------------------------------------------------- running


class _Progress:
    """A progress bar on stderr: one line redrawn ten times a second on a terminal, else a line every 10 s."""

    def __init__(self, total: int, done: int = 0, enabled: bool = True, stream=None):
        self.total, self.done, self.enabled = total, done, enabled
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.interval = 0.1 if self.tty else 10.0
        self.t0 = time.perf_counter()
        self.start_done = done
        self.last = 0.0
        self.errors = 0

    def update(self, k: int = 1, errors: int = 0) -> None:
        self.done += k
        self.errors += errors
        now = time.perf_counter()
        if self.enabled and (now - self.last > self.interval or self.done >= self.total):
            self.last = now
            self.draw(now)

    def draw(self, now=None) -> None:
        now = time.perf_counter() if now is None else now
        frac = self.done / self.total if self.total else 1.0
        width = 30
        bar = "#" * int(round(frac * width))
        elapsed = now - self.t0
        rate = (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else math.inf
        eta_s = f"{eta:5.0f} s left" if math.isfinite(eta) else "      "
        fails = f", {self.errors} failed fits" if self.errors else ""
        self.drawn = self.done
        line = f"[{bar:<{width}}] {self.done}/{self.total} cells{fails}  {elapsed:6.1f} s  {eta_s}"
        self.stream.write(f"\r{line}" if self.tty else f"{line.rstrip()}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            if getattr(self, "drawn", None) != self.done:
                self.draw()
            if self.tty:
                self.stream.write("\n")
            self.stream.flush()


@dataclasses.dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out : Path
        The output folder (``results.csv``, ``study.json``, ``summary.md``, ``plots/``).
    rows : list of dict
        One row per cell of the study that has a result, in study order.
    computed, skipped : int
        Cells computed now, and cells found already done.
    incomplete : list of Cell
        Cells without a result (their tasks failed even after resubmission).
    summary : Summary or None
    seconds : float
    """

    out: Path
    rows: list
    computed: int
    skipped: int
    incomplete: list
    summary: "Summary | None"
    seconds: float


def _existing_rows(path: Path, study: Study) -> dict:
    """Finished rows of this study's cells, by key; rows computed with other settings are an error."""
    rows = read_results(path)
    hashes = {(s.label, m): s.config_hash(m) for s in study.systems for m in study.methods}
    wanted = {c.key for c in study.cells()}
    done = {}
    for row in rows:
        key = _row_key(row)
        if key not in wanted:
            continue
        expected = hashes[(row["system"], row["method"])]
        if row["config"] != expected:
            raise ValueError(
                f"{path}: the row for cell {key} was computed with other settings (config {row['config']} vs "
                f"{expected} now); use another output folder or remove the file"
            )
        done.setdefault(key, row)
    return done


def run_sweep(
    study,
    out=None,
    *,
    client=None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    retries: int = 2,
    resubmit: int = 2,
    progress: bool = True,
    summary: bool = True,
    plots: bool = True,
    on_row: Callable[[dict], None] | None = None,
) -> SweepResult:
    """Run every missing cell of a study, writing rows to ``out/results.csv`` as they finish.

    Parameters
    ----------
    study : Study or path of a study TOML file
    out : path, optional
        Output folder (default ``<study name>-results`` in the working directory).
    client : dask.distributed.Client, optional
        Use this client; it is left open.
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``); its workers need symsindy installed.
    n_workers : int, optional
        Workers of the LocalCluster started when neither ``client`` nor ``scheduler`` is
        given (default: dask's choice).  ``0`` runs every cell in this process, without dask.
    threads_per_worker : int, default 1
    processes : bool, default True
        LocalCluster workers as processes (else threads of this process).
    retries : int, default 2
        Dask retries of a task that raised (a fit that raises is a row, not a task error).
    resubmit : int, default 2
        Times a task that still failed (e.g. ``KilledWorker``) is submitted again.
    progress : bool, default True
        A progress bar on stderr.
    summary, plots : bool, default True
        Write ``summary.md`` (and ``plots/*.png``) when every cell is done.
    on_row : callable, optional
        Called with each row after it is written; an exception stops the sweep (rows
        written so far stay).

    Notes
    -----
    A script that starts a LocalCluster of processes needs the usual
    ``if __name__ == "__main__":`` guard (workers are started by spawning).
    """
    t_start = time.perf_counter()
    if not isinstance(study, Study):
        study = load_study(study)
    out = Path(out) if out is not None else Path(f"{study.name}-results")
    out.mkdir(parents=True, exist_ok=True)
    results = out / RESULTS_FILE
    done = _existing_rows(results, study)
    cells = study.cells()
    todo = [c for c in cells if c.key not in done]
    (out / STUDY_FILE).write_text(json.dumps(study.to_dict(), indent=1), encoding="utf-8")

    new_rows: dict = {}
    incomplete: list = []
    bar = _Progress(len(cells), len(cells) - len(todo), enabled=progress)
    writer = _ResultsWriter(results)

    def record(batch):
        writer.write(batch)
        # kept as read back from the file, so that fresh and resumed rows are alike
        batch = [_parse_row({c: _format_value(r[c]) for c in COLUMNS}, str(results)) for r in batch]
        for row in batch:
            new_rows[_row_key(row)] = row
        bar.update(len(batch), sum(bool(r["error"]) for r in batch))
        if on_row is not None:
            for row in batch:
                on_row(row)

    try:
        if todo and n_workers == 0 and client is None and scheduler is None:
            for c in todo:
                s = study.system(c.system)
                record([run_cell(s.config, c.method, c.samples, c.noise, c.seed, s.config_hash(c.method))])
        elif todo:
            incomplete = _run_dask(
                study, todo, record, client, scheduler, n_workers, threads_per_worker, processes, retries, resubmit
            )
    finally:
        writer.close()
        bar.close()

    all_rows = {**done, **new_rows}
    rows = [all_rows[c.key] for c in cells if c.key in all_rows]
    summ = None
    if summary and not incomplete:
        summ = summarize(rows, study)
        write_summary(summ, out, plots=plots)
    return SweepResult(out, rows, len(new_rows), len(done), incomplete, summ, time.perf_counter() - t_start)


def _run_dask(study, todo, record, client, scheduler, n_workers, threads_per_worker, processes, retries, resubmit):
    from dask.distributed import Client, LocalCluster, as_completed

    own_cluster = own_client = None
    if client is None:
        if scheduler is not None:
            client = own_client = Client(scheduler)
        else:
            own_cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=processes,
                dashboard_address=None,
            )
            client = own_client = Client(own_cluster)
    incomplete = []
    futures = []
    try:
        # settings travel with each task (a few kB): scattered data would die with its worker
        configs = {s.label: s.config for s in study.systems}
        hashes = {(s.label, m): s.config_hash(m) for s in study.systems for m in study.methods}
        cell_of = {}
        attempts = {}

        def submit(c, attempt):
            key = (
                "symsindy-cell-"
                + hashlib.sha256(repr((study.name, c.key, hashes[(c.system, c.method)], attempt)).encode()).hexdigest()[
                    :24
                ]
            )
            fut = client.submit(
                run_cell,
                configs[c.system],
                c.method,
                c.samples,
                c.noise,
                c.seed,
                hashes[(c.system, c.method)],
                key=key,
                retries=retries,
                pure=False,
            )
            cell_of[fut.key] = c
            attempts[c] = attempt
            futures.append(fut)
            return fut

        ac = as_completed([submit(c, 0) for c in todo], with_results=True, raise_errors=False)
        for batch in ac.batches():
            rows = []
            for fut, result in batch:
                c = cell_of[fut.key]
                if fut.status == "finished":
                    rows.append(result)
                elif attempts[c] < resubmit:
                    ac.add(submit(c, attempts[c] + 1))
                else:
                    incomplete.append(c)
                fut.release()
            if rows:
                record(rows)
    finally:
        if futures:
            try:
                client.cancel([f for f in futures if not f.done()])
            except Exception:  # the cluster may already be gone
                pass
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
    return incomplete
