"""Studies: the TOML schema of a sweep, its validation and the settings of each system
(see :mod:`symsindy.sweep` for the format)."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from collections.abc import Mapping, Sequence

import numpy as np

#: Methods a study may name.
METHODS = ("pysindy", "enforce", "discover", "promote")

_TOP_KEYS = (
    "name",
    "description",
    "base_seed",
    "seeds",
    "samples",
    "noise",
    "methods",
    "success_fraction",
    "zero_tol",
    "fit",
    "data",
    "discover",
    "promote",
    "systems",
)
_FIT_KEYS = ("degree", "threshold", "alpha", "max_iter", "formulation")
_DATA_KEYS = ("kind", "pool", "t_transient", "t_end", "derivative_noise", "dt", "differentiation")
_SYSTEM_KEYS = ("name", "label", "parameters", "symmetry", "x0") + _FIT_KEYS + _DATA_KEYS
_DISCOVER_KEYS = ("n_bootstrap", "candidates", "discrete", "min_frequency")
_FIT_DEFAULTS = {"degree": 2, "threshold": 0.05, "alpha": 0.05, "max_iter": 20, "formulation": "strong"}
_WEAK_METHODS = ("enforce", "discover")
_DATA_DEFAULTS = {
    "kind": "samples",
    "pool": 100_000,
    "t_transient": 0.0,
    "t_end": None,
    "derivative_noise": True,
    "dt": None,
    "differentiation": "default",
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
    """A parsed study: the grid and the resolved systems (see :mod:`symsindy.sweep` for the format)."""

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
    """Read a study TOML file (format in :mod:`symsindy.sweep`); errors name the file and field."""
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
        name=name,
        description=description,
        systems=systems,
        samples=tuple(samples),
        noise=tuple(noise),
        seeds=tuple(seeds),
        methods=tuple(methods),
        base_seed=base_seed,
        success_fraction=success_fraction,
        zero_tol=zero_tol,
        source=where,
    )


def _resolve_system(
    r: _Reader, field, entry, fit, dat, options, zero_tol, base_seed, samples, folder, methods=()
) -> SystemSettings:
    import pysindy as ps

    from ..catalogue import CatalogueError, get_system
    from ..expressions import format_expression
    from ..symmetry import Symmetry

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
        r.fail(
            f"{field}.name",
            f"system '{name}' is not polynomial, so it has no true coefficients in a polynomial library",
        )
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
            r.fail(
                thr_field,
                "'auto': only the methods enforce, discover and promote have an automatic threshold; "
                "give a number or a rule such as '0.5 * smallest' for pysindy",
            )
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
    err = sym.equivariance_error(
        system.rhs_function(), np.random.default_rng(0).normal(size=(64, len(variables))), rng=0
    )
    if specs and err > 1e-8:
        r.fail(
            f"{field}.symmetry",
            f"system '{name}' does not have the symmetry {'; '.join(specs)!r} (relative equivariance error {err:.2g})",
        )

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
            r.fail(
                "samples",
                f"{max(samples)} samples exceed the pool of {pool} states of system '{label}' (raise {field}.pool)",
            )
        data_cfg.update(pool=pool, derivative_noise=r.bool(d["derivative_noise"], f"{field}.derivative_noise"))
    else:
        dt = system.dt if d["dt"] is None else r.float(d["dt"], f"{field}.dt", positive=True)
        length = int(math.floor((t_end - t_transient) / dt + 1e-9)) + 1
        if max(samples) > length:
            r.fail(
                "samples",
                f"{max(samples)} samples exceed the {length} states of system '{label}' between t = {t_transient:g} and {t_end:g} every {dt:g}",
            )
        diff = r.str(d["differentiation"], f"{field}.differentiation")
        if diff not in ("default", "finite_difference"):
            r.fail(f"{field}.differentiation", f"{diff!r}: expected 'default' or 'finite_difference'")
        data_cfg.update(dt=dt, differentiation=diff)
    if formulation == "weak" and kind != "trajectory":
        r.fail(
            f"{field}.formulation",
            "'weak' integrates time series against test functions; it needs "
            "kind = 'trajectory' (random states have no times)",
        )

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
