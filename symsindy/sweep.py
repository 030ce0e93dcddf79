"""Sweeps: many fits over systems x samples x noise x seeds x methods, on Dask.

A *study* (a TOML file, :func:`load_study`) names catalogue systems and a grid.  Each
*cell* ``(system, method, samples, noise, seed)`` is a pure function of the study and
its key (:func:`run_cell`): its random numbers come from a ``SeedSequence`` seeded by
the study's ``base_seed`` and a SHA-256 hash of ``(system, samples, noise, seed)``, so
every method of a cell sees the very same data and results do not depend on
scheduling or on the number of workers.

:func:`run_sweep` runs the missing cells on a dask.distributed cluster (a
``LocalCluster`` by default, or an existing scheduler by address), appends one tidy
row per cell to ``results.csv`` as each finishes (flushed, fsynced once per batch of
arrivals) and, on start, skips the cells already written: an interrupted sweep loses
no finished cell and a rerun computes only the missing ones.  A lost worker costs
nothing but time: the scheduler reruns its tasks, and a task that still fails is
resubmitted.  :func:`summarize` tabulates success rates and N90s;
:func:`write_summary` writes them as Markdown with plots.

Study format
------------
::

    name = "enforce"                   # optional; default: the file name
    description = "..."                # optional
    base_seed = 20231100               # optional, default 0
    seeds = 20                         # a count (0 ... 19) or a list of integers
    samples = [16, 32, 64, 128]        # positive integers
    noise = [0.0, 0.01, 0.05]          # noise levels eta >= 0
    methods = ["pysindy", "enforce"]   # pysindy, enforce, discover, promote
    success_fraction = 0.9             # for N90 in the summary (default 0.9)
    zero_tol = 1e-10                   # |c| <= zero_tol * max|true| counts as absent

    [fit]                              # defaults for every system
    degree = 2                         # polynomial library degree
    threshold = "0.5 * smallest"       # a number, FACTOR * the smallest true |coefficient| (an oracle,
                                       # for reference), or "auto" (symsindy's own rule; not for pysindy)
    alpha = 0.05                       # ridge weight
    max_iter = 20
    formulation = "strong"             # strong, weak or auto (weak and auto need kind = "trajectory";
                                       # they apply to the symsindy methods enforce and discover)

    [data]
    kind = "samples"                   # or "trajectory"
    pool = 100000                      # samples: states on the trajectory to draw from
    t_transient = 0.0                  # start of the part of the trajectory used
    t_end = 110.0                      # default: the system's
    derivative_noise = true            # samples: noise on the derivatives too
    dt = 0.01                          # trajectory: sampling step (default: the system's)

    [discover]                         # options of the "discover" method
    n_bootstrap = 0
    candidates = "gl"                  # gl, so or affine
    discrete = true
    min_frequency = 0.5

    [promote]                          # options of the "promote" method (symsindy.promote)
    weight = "auto"                    # or a number (units of lam_ref)
    candidates = "gl"                  # gl, so, affine or sl
    n_folds = 5
    l1 = 0.0
    solver = "fast"                    # or cvxpy

    [[systems]]                        # or systems = ["lorenz", "hopf"]
    name = "aizawa"                    # a catalogue name
    label = "langford"                 # optional: the name in results (default: name)
    parameters = { f = 0.0 }           # optional parameter changes
    symmetry = "rotation(x,y)"         # optional: specs to enforce (default: the catalogue's)
    x0 = [0.1, 0.0, 0.0]               # optional initial state
    degree = 3                         # any [fit] or [data] key may be set per system

Data.  ``kind = "samples"``: one long trajectory (DOP853, rtol 1e-10, atol 1e-12) from
``x0`` to ``t_end``; ``pool`` states evenly spaced on ``[t_transient, t_end]``; a cell
draws ``samples`` of them without replacement, takes the exact derivatives, and adds
Gaussian noise of std ``eta * RMS`` (per variable, over the pool) to the states and,
separately, to the derivatives.  ``kind = "trajectory"``: the trajectory sampled every
``dt``; a cell takes ``samples`` consecutive states from a random start, adds noise of
std ``eta * RMS`` to them, and differentiates with :func:`symsindy.model.default_differentiation`
(``differentiation = "finite_difference"`` for plain differences); every method then gets
the smoothed states and their derivatives.

Rows.  ``system, method, samples, noise, seed``: the cell; ``success`` (1 when the pattern
of nonzero coefficients equals the true one exactly, a coefficient counting as nonzero
when ``|c| > zero_tol * max|true|``); ``coef_error`` ``= max|c - true| / max|true|``;
``n_terms``, ``n_spurious``, ``n_missing``; ``fit_time`` (seconds); ``symmetry`` (the
specs enforced); ``equivariance_residual``; ``error`` (``Type: message`` when the fit
raised: the row then has ``success = 0`` and no error value); ``config`` (a hash of the
settings that determine the cell: a rerun refuses rows computed with other settings).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import hashlib
import json
import math
import os
import re
import sys
import time
import tomllib
import warnings
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "METHODS",
    "COLUMNS",
    "StudyError",
    "Cell",
    "SystemSettings",
    "Study",
    "load_study",
    "parse_study",
    "cell_seed_sequence",
    "run_cell",
    "read_results",
    "run_sweep",
    "SweepResult",
    "Summary",
    "summarize",
    "plot_system",
    "write_summary",
]

#: Methods a study may name.
METHODS = ("pysindy", "enforce", "discover", "promote")

#: Columns of ``results.csv``, in order.
COLUMNS = (
    "system", "method", "samples", "noise", "seed", "success", "coef_error", "n_terms",
    "n_spurious", "n_missing", "fit_time", "symmetry", "equivariance_residual", "error", "config",
)
_INT_COLUMNS = ("samples", "seed", "success", "n_terms", "n_spurious", "n_missing")
_FLOAT_COLUMNS = ("noise", "coef_error", "fit_time", "equivariance_residual")

RESULTS_FILE = "results.csv"
STUDY_FILE = "study.json"
SUMMARY_FILE = "summary.md"

_TOP_KEYS = (
    "name", "description", "base_seed", "seeds", "samples", "noise", "methods", "success_fraction",
    "zero_tol", "fit", "data", "discover", "promote", "systems",
)
_FIT_KEYS = ("degree", "threshold", "alpha", "max_iter", "formulation")
_DATA_KEYS = ("kind", "pool", "t_transient", "t_end", "derivative_noise", "dt", "differentiation")
_SYSTEM_KEYS = ("name", "label", "parameters", "symmetry", "x0") + _FIT_KEYS + _DATA_KEYS
_DISCOVER_KEYS = ("n_bootstrap", "candidates", "discrete", "min_frequency")
_FIT_DEFAULTS = {"degree": 2, "threshold": 0.05, "alpha": 0.05, "max_iter": 20, "formulation": "strong"}
_WEAK_METHODS = ("enforce", "discover")
_DATA_DEFAULTS = {
    "kind": "samples", "pool": 100_000, "t_transient": 0.0, "t_end": None, "derivative_noise": True,
    "dt": None, "differentiation": "default",
}
_DISCOVER_DEFAULTS = {"n_bootstrap": 0, "candidates": "gl", "discrete": True, "min_frequency": 0.5}
_PROMOTE_KEYS = ("weight", "candidates", "n_folds", "l1", "solver")
_PROMOTE_DEFAULTS = {"weight": "auto", "candidates": "gl", "n_folds": 5, "l1": 0.0, "solver": "fast"}
_METHOD_OPTIONS = ("discover", "promote")
_THRESHOLD_RULE = re.compile(r"\s*(?:([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*\*\s*)?smallest\s*\Z")
_LABEL = re.compile(r"[A-Za-z0-9_.+-]+\Z")


class StudyError(ValueError):
    """A study file that does not follow the format; one line naming the file and the field."""


@dataclasses.dataclass(frozen=True, order=True)
class Cell:
    """One fit of the grid: a system (by label), a method, a sample size, a noise level and a seed."""

    system: str
    method: str
    samples: int
    noise: float
    seed: int

    @property
    def key(self) -> tuple:
        """The identity of the cell in ``results.csv`` (the noise level as its exact ``repr``)."""
        return (self.system, self.method, int(self.samples), repr(float(self.noise)), int(self.seed))


@dataclasses.dataclass(frozen=True)
class SystemSettings:
    """A system of a study with every setting resolved (what a worker needs for its cells).

    ``config`` is a JSON-ready dict: variables, the right-hand side as exact strings,
    the symmetry specs, library degree, numeric threshold, ridge, data settings and the
    true coefficients.  Workers rebuild the vector field from it, so they need no
    catalogue files.
    """

    label: str
    name: str
    config: dict

    @property
    def variables(self) -> list[str]:
        return list(self.config["variables"])

    @property
    def symmetry(self) -> list[str]:
        return list(self.config["symmetry"])

    @property
    def threshold(self) -> float | str:
        """The threshold: a number, or ``"auto"``."""
        thr = self.config["threshold"]
        return thr if isinstance(thr, str) else float(thr)

    @property
    def degree(self) -> int:
        return int(self.config["degree"])

    def method_config(self, method: str) -> dict:
        """The settings a cell of ``method`` depends on (its hash is the row's ``config``)."""
        cfg = {k: v for k, v in self.config.items() if k not in _METHOD_OPTIONS}
        cfg["method"] = method
        if method in _METHOD_OPTIONS:
            cfg[method] = self.config[method]
        return cfg

    def config_hash(self, method: str) -> str:
        text = json.dumps(self.method_config(method), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclasses.dataclass
class Study:
    """A parsed study: the grid and the resolved systems (see the module docstring for the format)."""

    name: str
    description: str
    systems: list[SystemSettings]
    samples: tuple[int, ...]
    noise: tuple[float, ...]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    base_seed: int = 0
    success_fraction: float = 0.9
    zero_tol: float = 1e-10
    source: str | None = None

    def system(self, label: str) -> SystemSettings:
        for s in self.systems:
            if s.label == label:
                return s
        raise KeyError(label)

    def cells(self) -> list[Cell]:
        """Every cell, systems outermost, then noise, samples, seeds and methods."""
        return [
            Cell(s.label, m, n, eta, seed)
            for s in self.systems
            for eta in self.noise
            for n in self.samples
            for seed in self.seeds
            for m in self.methods
        ]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "base_seed": self.base_seed,
            "seeds": list(self.seeds),
            "samples": list(self.samples),
            "noise": list(self.noise),
            "methods": list(self.methods),
            "success_fraction": self.success_fraction,
            "zero_tol": self.zero_tol,
            "systems": {s.label: s.config for s in self.systems},
        }


# --------------------------------------------------------------------------- parsing


def _kind(value) -> str:
    return {bool: "a boolean", str: "a string", list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


class _Reader:
    """Field checks with one-line errors naming the file and the field."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, field: str, msg: str):
        raise StudyError(f"{self.where}: field '{field}': {msg}")

    def keys(self, table: Mapping, allowed: Sequence[str], field: str | None) -> None:
        for k in table:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of {', '.join(allowed)}"
                name = f"{field}.{k}" if field else str(k)
                self.fail(name, f"unknown field{hint}")

    def int(self, value, field: str, *, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"expected an integer, got {_kind(value)} {value!r}")
        if minimum is not None and value < minimum:
            self.fail(field, f"expected an integer >= {minimum}, got {value}")
        return int(value)

    def float(self, value, field: str, *, minimum: float | None = None, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(field, f"expected a number, got {_kind(value)} {value!r}")
        v = float(value)
        if not math.isfinite(v):
            self.fail(field, f"expected a finite number, got {value!r}")
        if positive and v <= 0:
            self.fail(field, f"expected a number > 0, got {value!r}")
        if minimum is not None and v < minimum:
            self.fail(field, f"expected a number >= {minimum:g}, got {value!r}")
        return v

    def str(self, value, field: str) -> str:
        if not isinstance(value, str):
            self.fail(field, f"expected a string, got {_kind(value)} {value!r}")
        return value

    def bool(self, value, field: str) -> bool:
        if not isinstance(value, bool):
            self.fail(field, f"expected true or false, got {_kind(value)} {value!r}")
        return value

    def table(self, value, field: str) -> dict:
        if not isinstance(value, dict):
            self.fail(field, f"expected a table, got {_kind(value)} {value!r}")
        return value

    def list(self, value, field: str, *, nonempty: bool = True) -> list:
        if not isinstance(value, list):
            self.fail(field, f"expected a list, got {_kind(value)} {value!r}")
        if nonempty and not value:
            self.fail(field, "expected a non-empty list")
        return value


def load_study(path) -> Study:
    """Read a study TOML file (format in the module docstring); errors name the file and field."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StudyError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{path}: not valid TOML: {exc}") from None
    return parse_study(data, where=str(path), default_name=path.stem)


def parse_study(data: Mapping, *, where: str = "study", default_name: str = "study", folder=None) -> Study:
    """Build a :class:`Study` from a parsed TOML mapping (``folder``: catalogue folder, default the catalogue)."""
    r = _Reader(where)
    if not isinstance(data, Mapping):
        raise StudyError(f"{where}: expected a table at the top level")
    r.keys(data, _TOP_KEYS, None)
    for req in ("samples", "noise", "seeds", "methods", "systems"):
        if req not in data:
            r.fail(req, "missing (required)")
    name = r.str(data.get("name", default_name), "name")
    if not _LABEL.match(name):
        r.fail("name", f"{name!r}: use letters, digits and _ . + - only")
    description = r.str(data.get("description", ""), "description")
    base_seed = r.int(data.get("base_seed", 0), "base_seed", minimum=0)

    samples = [r.int(v, f"samples[{i}]", minimum=1) for i, v in enumerate(r.list(data["samples"], "samples"))]
    noise = [r.float(v, f"noise[{i}]", minimum=0.0) for i, v in enumerate(r.list(data["noise"], "noise"))]
    seeds_v = data["seeds"]
    if isinstance(seeds_v, list):
        seeds = [r.int(v, f"seeds[{i}]", minimum=0) for i, v in enumerate(r.list(seeds_v, "seeds"))]
    else:
        seeds = list(range(r.int(seeds_v, "seeds", minimum=1)))
    for field, values in (("samples", samples), ("noise", noise), ("seeds", seeds)):
        if len(set(values)) != len(values):
            dup = next(v for v in values if values.count(v) > 1)
            r.fail(field, f"{dup!r} appears twice")
    methods = [r.str(v, f"methods[{i}]") for i, v in enumerate(r.list(data["methods"], "methods"))]
    for i, m in enumerate(methods):
        if m not in METHODS:
            r.fail(f"methods[{i}]", f"unknown method {m!r}; expected one of {', '.join(METHODS)}")
    if len(set(methods)) != len(methods):
        r.fail("methods", f"{next(m for m in methods if methods.count(m) > 1)!r} appears twice")
    success_fraction = r.float(data.get("success_fraction", 0.9), "success_fraction", positive=True)
    if success_fraction > 1:
        r.fail("success_fraction", f"expected a number in (0, 1], got {success_fraction}")
    zero_tol = r.float(data.get("zero_tol", 1e-10), "zero_tol", minimum=0.0)

    fit = dict(_FIT_DEFAULTS)
    fit_t = r.table(data.get("fit", {}), "fit")
    r.keys(fit_t, _FIT_KEYS, "fit")
    fit.update(fit_t)
    dat = dict(_DATA_DEFAULTS)
    data_t = r.table(data.get("data", {}), "data")
    r.keys(data_t, _DATA_KEYS, "data")
    dat.update(data_t)
    disc = dict(_DISCOVER_DEFAULTS)
    disc_t = r.table(data.get("discover", {}), "discover")
    r.keys(disc_t, _DISCOVER_KEYS, "discover")
    disc.update(disc_t)
    disc = {
        "n_bootstrap": r.int(disc["n_bootstrap"], "discover.n_bootstrap", minimum=0),
        "candidates": r.str(disc["candidates"], "discover.candidates"),
        "discrete": r.bool(disc["discrete"], "discover.discrete"),
        "min_frequency": r.float(disc["min_frequency"], "discover.min_frequency", minimum=0.0),
    }
    if disc["candidates"] not in ("gl", "so", "affine"):
        r.fail("discover.candidates", f"{disc['candidates']!r}: expected gl, so or affine")
    prom = dict(_PROMOTE_DEFAULTS)
    prom_t = r.table(data.get("promote", {}), "promote")
    r.keys(prom_t, _PROMOTE_KEYS, "promote")
    prom.update(prom_t)
    weight = prom["weight"]
    if isinstance(weight, str):
        if weight != "auto":
            r.fail("promote.weight", f"{weight!r}: expected 'auto' or a number >= 0")
    else:
        weight = r.float(weight, "promote.weight", minimum=0.0)
    prom = {
        "weight": weight,
        "candidates": r.str(prom["candidates"], "promote.candidates"),
        "n_folds": r.int(prom["n_folds"], "promote.n_folds", minimum=2),
        "l1": r.float(prom["l1"], "promote.l1", minimum=0.0),
        "solver": r.str(prom["solver"], "promote.solver"),
    }
    if prom["candidates"] not in ("gl", "so", "affine", "sl"):
        r.fail("promote.candidates", f"{prom['candidates']!r}: expected gl, so, affine or sl")
    if prom["solver"] not in ("fast", "cvxpy"):
        r.fail("promote.solver", f"{prom['solver']!r}: expected fast or cvxpy")
    options = {"discover": disc, "promote": prom}

    systems_v = r.list(data["systems"], "systems")
    systems: list[SystemSettings] = []
    for i, entry in enumerate(systems_v):
        field = f"systems[{i}]"
        if isinstance(entry, str):
            entry = {"name": entry}
        entry = r.table(entry, field)
        r.keys(entry, _SYSTEM_KEYS, field)
        if "name" not in entry:
            r.fail(f"{field}.name", "missing (required)")
        s = _resolve_system(r, field, entry, fit, dat, options, zero_tol, base_seed, samples, folder, methods)
        if any(o.label == s.label for o in systems):
            r.fail(f"{field}.label", f"system label {s.label!r} appears twice; give one of them another label")
        systems.append(s)
    return Study(
        name=name, description=description, systems=systems, samples=tuple(samples), noise=tuple(noise),
        seeds=tuple(seeds), methods=tuple(methods), base_seed=base_seed, success_fraction=success_fraction,
        zero_tol=zero_tol, source=where,
    )


def _resolve_system(r: _Reader, field, entry, fit, dat, options, zero_tol, base_seed, samples, folder, methods=()) -> SystemSettings:
    import pysindy as ps

    from .catalogue import CatalogueError, get_system
    from .expressions import format_expression
    from .symmetry import Symmetry

    name = r.str(entry["name"], f"{field}.name")
    label = r.str(entry.get("label", name), f"{field}.label")
    if not _LABEL.match(label):
        r.fail(f"{field}.label", f"{label!r}: use letters, digits and _ . + - only")
    params = r.table(entry.get("parameters", {}), f"{field}.parameters")
    for p, v in params.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            r.fail(f"{field}.parameters.{p}", f"expected a number or a constant expression, got {_kind(v)}")
    try:
        system = get_system(name, folder)
        if params:
            system = system.with_parameters(**params)
    except (CatalogueError, ValueError) as exc:
        r.fail(f"{field}.name" if not params else f"{field}.parameters", str(exc))
    variables = list(system.variables)

    f = dict(fit)
    f.update({k: entry[k] for k in _FIT_KEYS if k in entry})
    degree = r.int(f["degree"], f"{field}.degree", minimum=1)
    alpha = r.float(f["alpha"], f"{field}.alpha", minimum=0.0)
    max_iter = r.int(f["max_iter"], f"{field}.max_iter", minimum=1)
    formulation = r.str(f["formulation"], f"{field}.formulation")
    if formulation not in ("strong", "weak", "auto"):
        r.fail(f"{field}.formulation", f"{formulation!r}: expected 'strong', 'weak' or 'auto'")

    if not system.is_polynomial:
        r.fail(f"{field}.name", f"system '{name}' is not polynomial, so it has no true coefficients in a polynomial library")
    lib = ps.PolynomialLibrary(degree=degree)
    lib.fit(np.zeros((2, len(variables))))
    try:
        truth = system.true_coefficients(lib)
    except ValueError as exc:
        r.fail(f"{field}.degree", f"{exc}; raise the degree")
    nonzero = np.abs(truth[truth != 0])
    if nonzero.size == 0:
        r.fail(f"{field}.name", f"system '{name}' has a zero right-hand side")

    thr = f["threshold"]
    thr_field = f"{field}.threshold"
    if isinstance(thr, str) and thr.strip() == "auto":
        if "pysindy" in methods:
            r.fail(thr_field, "'auto': only the methods enforce, discover and promote have an automatic threshold; "
                   "give a number or a rule such as '0.5 * smallest' for pysindy")
        threshold, rule = "auto", "automatic"
    elif isinstance(thr, str):
        m = _THRESHOLD_RULE.match(thr)
        if not m:
            r.fail(thr_field, f"{thr!r}: expected a number or a rule such as '0.5 * smallest'")
        factor = float(m.group(1)) if m.group(1) else 1.0
        if not (math.isfinite(factor) and factor > 0):
            r.fail(thr_field, f"{thr!r}: the factor must be a positive number")
        threshold, rule = factor * float(nonzero.min()), f"{factor:g} * smallest true |coefficient|"
    else:
        threshold, rule = r.float(thr, thr_field, minimum=0.0), "given"

    if "symmetry" in entry:
        sv = entry["symmetry"]
        specs = [sv] if isinstance(sv, str) else sv
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            r.fail(f"{field}.symmetry", f"expected a spec string or a list of them, got {_kind(sv)}")
        specs = [p.strip() for s in specs for p in s.split(";") if p.strip()]
    else:
        specs = list(system.symmetry_specs)
    try:
        sym = Symmetry(variables, specs)
    except ValueError as exc:
        r.fail(f"{field}.symmetry", str(exc))
    err = sym.equivariance_error(system.rhs_function(), np.random.default_rng(0).normal(size=(64, len(variables))), rng=0)
    if specs and err > 1e-8:
        r.fail(f"{field}.symmetry", f"system '{name}' does not have the symmetry {'; '.join(specs)!r} (relative equivariance error {err:.2g})")

    d = dict(dat)
    d.update({k: entry[k] for k in _DATA_KEYS if k in entry})
    kind = r.str(d["kind"], f"{field}.kind")
    if kind not in ("samples", "trajectory"):
        r.fail(f"{field}.kind", f"{kind!r}: expected 'samples' or 'trajectory'")
    t_end = system.t_end if d["t_end"] is None else r.float(d["t_end"], f"{field}.t_end", positive=True)
    t_transient = r.float(d["t_transient"], f"{field}.t_transient", minimum=0.0)
    if t_transient >= t_end:
        r.fail(f"{field}.t_transient", f"{t_transient:g} must be below t_end = {t_end:g}")
    if "x0" in entry:
        x0v = r.list(entry["x0"], f"{field}.x0")
        x0 = [r.float(v, f"{field}.x0[{j}]") for j, v in enumerate(x0v)]
        if len(x0) != len(variables):
            r.fail(f"{field}.x0", f"expected {len(variables)} numbers ({', '.join(variables)}), got {len(x0)}")
    else:
        x0 = [float(v) for v in system.x0]
    data_cfg = {"kind": kind, "t_transient": t_transient, "t_end": t_end, "x0": x0}
    if kind == "samples":
        pool = r.int(d["pool"], f"{field}.pool", minimum=2)
        if max(samples) > pool:
            r.fail("samples", f"{max(samples)} samples exceed the pool of {pool} states of system '{label}' (raise {field}.pool)")
        data_cfg.update(pool=pool, derivative_noise=r.bool(d["derivative_noise"], f"{field}.derivative_noise"))
    else:
        dt = system.dt if d["dt"] is None else r.float(d["dt"], f"{field}.dt", positive=True)
        length = int(math.floor((t_end - t_transient) / dt + 1e-9)) + 1
        if max(samples) > length:
            r.fail("samples", f"{max(samples)} samples exceed the {length} states of system '{label}' between t = {t_transient:g} and {t_end:g} every {dt:g}")
        diff = r.str(d["differentiation"], f"{field}.differentiation")
        if diff not in ("default", "finite_difference"):
            r.fail(f"{field}.differentiation", f"{diff!r}: expected 'default' or 'finite_difference'")
        data_cfg.update(dt=dt, differentiation=diff)
    if formulation == "weak" and kind != "trajectory":
        r.fail(f"{field}.formulation", "'weak' integrates time series against test functions; it needs "
               "kind = 'trajectory' (random states have no times)")

    config = {
        "label": label,
        "name": name,
        "parameters": {p: float(v) for p, v in system.parameters.items()},
        "variables": variables,
        "equations": {v: format_expression(e) for v, e in system.rhs.items()},
        "symmetry": list(sym.specs),
        "degree": degree,
        "threshold": threshold,
        "threshold_rule": rule,
        "alpha": alpha,
        "max_iter": max_iter,
        # only when not the default, so that the hashes of strong-form studies stay as they were
        **({"formulation": formulation} if formulation != "strong" else {}),
        "terms": list(lib.get_feature_names(variables)),
        "truth": truth.tolist(),
        "data": data_cfg,
        "zero_tol": zero_tol,
        "base_seed": base_seed,
        **options,
    }
    return SystemSettings(label, name, config)


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

    from .catalogue import System

    spec = json.loads(key)
    system = System(spec["label"], spec["variables"], spec["equations"])
    f = system.rhs_function()
    d = spec["data"]
    sol = solve_ivp(
        lambda _t, y: f(y), (0.0, d["t_end"]), np.asarray(d["x0"], float), method="DOP853",
        rtol=1e-10, atol=1e-12, dense_output=True,
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
    from .discover import estimate_derivatives

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
        from .model import SymmetricSINDy

        model = SymmetricSINDy(
            library=lib, symmetry=config["symmetry"] or None, threshold=config["threshold"],
            alpha=config["alpha"], max_iter=config["max_iter"], formulation=formulation,
        )
        model.fit(X, feature_names=names, **data_kw)
        return model.coef_, {"symmetry": "; ".join(model.symmetry_.specs), "equivariance_residual": model.equivariance_residual_}
    if method == "discover":
        from .discover import fit_with_discovered_symmetry

        o = config["discover"]
        model, _report, _enforced = fit_with_discovered_symmetry(
            X, feature_names=names, library=lib, threshold=config["threshold"], alpha=config["alpha"],
            formulation=formulation, **data_kw,
            n_bootstrap=o["n_bootstrap"], candidates=o["candidates"], discrete=o["discrete"],
            min_frequency=o["min_frequency"], seed=method_seed,
        )
        return model.coef_, {"symmetry": "; ".join(model.symmetry_.specs), "equivariance_residual": model.equivariance_residual_}
    if method == "promote":
        from .promote import PromotedSINDy

        o = config["promote"]
        model = PromotedSINDy(
            library=lib, candidates=o["candidates"], weight=o["weight"], n_folds=o["n_folds"], l1=o["l1"],
            threshold=config["threshold"], alpha=config["alpha"], solver=o["solver"], random_state=method_seed,
        )
        model.fit(X, x_dot=D, feature_names=names)
        return model.coef_, {"symmetry": "; ".join(model.symmetry_.specs), "equivariance_residual": model.equivariance_residual_}
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_cell(config: dict, method: str, samples: int, noise: float, seed: int, config_hash: str = "") -> dict:
    """Fit one cell and return its row (see the module docstring); a failed fit is a row with ``error``.

    ``config`` is :attr:`SystemSettings.config`.  Pure: the same arguments give the same
    row (up to ``fit_time``) in any process.
    """
    truth = np.asarray(config["truth"], float)
    support = truth != 0
    scale = float(np.abs(truth).max())
    row = {c: "" for c in COLUMNS}
    row.update(system=config["label"], method=method, samples=int(samples), noise=float(noise), seed=int(seed), success=0, config=config_hash)
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


# --------------------------------------------------------------------------- results file


def _format_value(v) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def _parse_row(raw: Mapping[str, str], where: str) -> dict:
    row = dict(raw)
    try:
        for c in _INT_COLUMNS:
            row[c] = int(row[c]) if row[c] != "" else None
        for c in _FLOAT_COLUMNS:
            row[c] = float(row[c]) if row[c] != "" else math.nan
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: unreadable row {dict(raw)!r}: {exc}") from None
    return row


def _row_key(row: Mapping) -> tuple:
    return (row["system"], row["method"], int(row["samples"]), repr(float(row["noise"])), int(row["seed"]))


def read_results(path) -> list[dict]:
    """Rows of a ``results.csv`` (typed: ints, floats with NaN for empty, strings).

    A last line without its newline (a write cut short) is dropped.
    """
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = text.splitlines()
    if not lines:
        return []
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ValueError(f"{path}: the header {reader.fieldnames} is not that of sweep results ({', '.join(COLUMNS)})")
    return [_parse_row(r, str(path)) for r in reader]


class _ResultsWriter:
    """Appends rows to ``results.csv``: whole lines, flushed, fsynced once per batch."""

    def __init__(self, path: Path):
        self.path = path
        exists = path.exists() and path.stat().st_size > 0
        if exists:
            with open(path, "rb+") as fh:
                data = fh.read()
                if not data.endswith(b"\n"):
                    # a row cut short by an interruption: drop it, its cell runs again
                    fh.truncate(data.rfind(b"\n") + 1)
        self.fh = open(path, "a", encoding="utf-8", newline="")
        self.writer = csv.writer(self.fh, lineterminator="\n")
        if not exists or path.stat().st_size == 0:
            self.writer.writerow(COLUMNS)
            self.sync()

    def write(self, rows: Iterable[Mapping]) -> None:
        for row in rows:
            self.writer.writerow([_format_value(row[c]) for c in COLUMNS])
        self.sync()

    def sync(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


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
            incomplete = _run_dask(study, todo, record, client, scheduler, n_workers, threads_per_worker, processes, retries, resubmit)
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
                n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
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
            key = "symsindy-cell-" + hashlib.sha256(repr((study.name, c.key, hashes[(c.system, c.method)], attempt)).encode()).hexdigest()[:24]
            fut = client.submit(
                run_cell, configs[c.system], c.method, c.samples, c.noise, c.seed, hashes[(c.system, c.method)],
                key=key, retries=retries, pure=False,
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


# --------------------------------------------------------------------------- summary


@dataclasses.dataclass
class Summary:
    """Success rates per system x noise x samples x method, and N90 per system x noise x method.

    Attributes
    ----------
    study : Study
    table : list of dict
        Keys ``system, noise, samples, method, n, successes, failures, success_rate,
        median_coef_error`` (failed fits count as an infinite error in the median).
    n90 : list of dict
        Keys ``system, noise, method, n90`` (None when no sample size reaches it) and
        ``complete`` (False when some cells are missing).
    """

    study: Study
    table: list
    n90: list

    def rate(self, system, noise, samples, method) -> float:
        for r in self.table:
            if (r["system"], r["noise"], r["samples"], r["method"]) == (system, noise, samples, method):
                return r["success_rate"]
        raise KeyError((system, noise, samples, method))

    def n90_of(self, system, noise, method):
        for r in self.n90:
            if (r["system"], r["noise"], r["method"]) == (system, noise, method):
                return r["n90"]
        raise KeyError((system, noise, method))

    def n90_markdown(self) -> str:
        st = self.study
        grid_max = max(st.samples)
        methods = list(st.methods)
        ratio = "pysindy" in methods and "enforce" in methods
        head = ["system", "symmetry", "library", "threshold", "noise η"] + [f"N{_pct(st.success_fraction)} {m}" for m in methods]
        if ratio:
            head.append("ratio enforce / pysindy")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for s in st.systems:
            for eta in st.noise:
                vals = {m: self.n90_of(s.label, eta, m) for m in methods}
                cells = [
                    s.label, "`" + "; ".join(s.symmetry) + "`" if s.symmetry else "none", f"poly deg {s.degree}",
                    s.threshold if isinstance(s.threshold, str) else f"{s.threshold:.3g}", f"{eta:.0%}" if eta * 100 == round(eta * 100) else f"{eta:g}",
                ]
                cells += [_fmt_n90(vals[m], grid_max) for m in methods]
                if ratio:
                    a, b = vals["enforce"], vals["pysindy"]
                    cells.append(f"{a / b:.2f}" if a is not None and b is not None else "—")
                lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def success_markdown(self, system: str) -> str:
        methods = list(self.study.methods)
        head = ["noise η", "samples"] + [f"{m}: success (median error)" for m in methods]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        index = {(r["noise"], r["samples"], r["method"]): r for r in self.table if r["system"] == system}
        for eta in self.study.noise:
            for n in self.study.samples:
                cells = [f"{eta:g}", str(n)]
                for m in methods:
                    r = index.get((eta, n, m))
                    if r is None or r["n"] == 0:
                        cells.append("—")
                    else:
                        cells.append(f"{r['successes']}/{r['n']} ({_fmt_err(r['median_coef_error'])})")
                lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def markdown(self) -> str:
        st = self.study
        n_cells = sum(r["n"] for r in self.table)
        n_fail = sum(r["failures"] for r in self.table)
        parts = [
            f"# Sweep: {st.name}",
            "",
            *([st.description, ""] if st.description else []),
            f"{n_cells} cells: {len(st.systems)} systems x {len(st.noise)} noise levels x {len(st.samples)} sample sizes "
            f"x {len(st.seeds)} seeds x {len(st.methods)} methods; {n_fail} fits failed (counted as failures). "
            f"Success = the exact pattern of nonzero coefficients (|c| > {st.zero_tol:g} max|true|). "
            f"N{_pct(st.success_fraction)} = the fewest samples at which at least {_pct(st.success_fraction)} % of the "
            f"seeds succeed. Coefficient error = max|c - true| / max|true|.",
            "",
            f"## N{_pct(st.success_fraction)}",
            "",
            self.n90_markdown(),
            "",
            "## Success rate per sample size",
            "",
        ]
        for s in st.systems:
            parts += [f"### {s.label}", "", self.success_markdown(s.label), ""]
        return "\n".join(parts)


def _pct(frac: float) -> str:
    return f"{100 * frac:g}"


def _fmt_n90(v, grid_max) -> str:
    return f"> {grid_max}" if v is None else str(v)


def _fmt_err(e: float) -> str:
    return "inf" if not math.isfinite(e) else f"{e:.2g}"


def summarize(rows: Sequence[Mapping], study: Study) -> Summary:
    """Success rates and N90s from rows of :func:`run_sweep` (rows of other cells are ignored)."""
    groups: dict = {}
    wanted = {c.key for c in study.cells()}
    for row in rows:
        if _row_key(row) not in wanted:
            continue
        groups.setdefault((row["system"], float(row["noise"]), int(row["samples"]), row["method"]), []).append(row)
    table = []
    for s in study.systems:
        for eta in study.noise:
            for n in study.samples:
                for m in study.methods:
                    g = groups.get((s.label, eta, n, m), [])
                    errs = [math.inf if (r["error"] or not math.isfinite(r["coef_error"])) else r["coef_error"] for r in g]
                    table.append({
                        "system": s.label, "noise": eta, "samples": n, "method": m, "n": len(g),
                        "successes": sum(int(r["success"]) for r in g),
                        "failures": sum(bool(r["error"]) for r in g),
                        "success_rate": (sum(int(r["success"]) for r in g) / len(g)) if g else math.nan,
                        "median_coef_error": float(np.median(errs)) if errs else math.nan,
                    })
    n_seeds = len(study.seeds)
    need = int(math.ceil(study.success_fraction * n_seeds - 1e-12))
    n90 = []
    for s in study.systems:
        for eta in study.noise:
            for m in study.methods:
                entries = sorted((r for r in table if (r["system"], r["noise"], r["method"]) == (s.label, eta, m)), key=lambda r: r["samples"])
                value = next((r["samples"] for r in entries if r["successes"] >= need), None)
                n90.append({"system": s.label, "noise": eta, "method": m, "n90": value, "complete": all(r["n"] == n_seeds for r in entries)})
    return Summary(study, table, n90)


def plot_system(summary: Summary, system: str):
    """Success rate and median coefficient error against samples, one column per noise level, one line per method.

    Returns a matplotlib ``Figure`` (not attached to pyplot).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    st = summary.study
    cols = len(st.noise)
    fig = Figure(figsize=(4.2 * cols, 7.0), layout="constrained")
    axes = fig.subplots(2, cols, sharex=True, squeeze=False)
    markers = "osD^v<>"
    for j, eta in enumerate(st.noise):
        ax_s, ax_e = axes[0, j], axes[1, j]
        plotted_err = False
        for k, m in enumerate(st.methods):
            rows = sorted((r for r in summary.table if (r["system"], r["noise"], r["method"]) == (system, eta, m)), key=lambda r: r["samples"])
            n = np.array([r["samples"] for r in rows], float)
            rate = np.array([r["success_rate"] for r in rows], float)
            err = np.array([r["median_coef_error"] for r in rows], float)
            style = dict(marker=markers[k % len(markers)], markersize=4, label=m, color=f"C{k}")
            ax_s.plot(n, rate, **style)
            ok = np.isfinite(err) & (err > 0)
            ax_e.plot(n[ok], err[ok], **style)
            plotted_err = plotted_err or bool(ok.any())
        ax_s.axhline(st.success_fraction, color="0.5", linestyle="--", linewidth=0.8,
                     label=f"{_pct(st.success_fraction)} % (N{_pct(st.success_fraction)})")
        ax_s.set_xscale("log")
        ax_s.set_xlim(min(st.samples) / 1.25, max(st.samples) * 1.25)
        ax_s.set_ylim(-0.03, 1.03)
        ax_s.set_title(f"{system}, noise η = {eta:g}")
        ax_s.set_ylabel("success rate (exact support)")
        ax_e.set_xscale("log")
        if not plotted_err:
            ax_e.set_ylim(1e-3, 1.0)
            ax_e.text(0.5, 0.5, "no finite errors", transform=ax_e.transAxes, ha="center", va="center", color="0.4")
        ax_e.set_yscale("log")
        ax_e.set_xlabel("samples")
        ax_e.set_ylabel("median max |c − true| / max |true|")
        for ax in (ax_s, ax_e):
            ax.grid(True, which="both", alpha=0.3)
        # sample grids are usually geometric: plain numbers on a base-2 axis read best
        ax_e.set_xscale("log", base=2)
        ax_e.xaxis.set_major_formatter(ScalarFormatter())
        ax_e.xaxis.set_minor_formatter(NullFormatter())
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels), frameon=False)
    return fig


def write_summary(summary: Summary, out, *, plots: bool = True) -> Path:
    """Write ``summary.md`` (and ``plots/<system>.png``) into ``out``; returns the Markdown path."""
    out = Path(out)
    md = summary.markdown()
    if plots:
        (out / "plots").mkdir(exist_ok=True)
        figs = []
        for s in summary.study.systems:
            fig = plot_system(summary, s.label)
            path = out / "plots" / f"{s.label}.png"
            fig.savefig(path, dpi=100)
            figs.append(f"![{s.label}](plots/{s.label}.png)")
        md += "\n## Plots\n\n" + "\n\n".join(figs) + "\n"
    path = out / SUMMARY_FILE
    path.write_text(md, encoding="utf-8")
    return path


def write_parquet(rows: Sequence[Mapping], path) -> None:
    """Write rows as Parquet (needs pyarrow, an optional dependency)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"{path}: writing Parquet needs pyarrow (pip install pyarrow); {RESULTS_FILE} has every row") from None
    table = pa.Table.from_pylist([{c: (None if r[c] == "" else r[c]) for c in COLUMNS} for r in rows])
    pq.write_table(table, str(path))
