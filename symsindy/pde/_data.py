"""Field data for PDE discovery: NPZ files of components on a 1-D or 2-D grid over time.

An NPZ file holds:

* ``t``: the sample times, shape (nt,), strictly increasing;
* ``x`` (nx,), and ``y`` (ny,) for 2-D: the grid along each spatial axis, strictly increasing;
* ``u``: the components, shape (nt, nx, ncomp) or (nt, nx, ny, ncomp); with a leading run
  axis, (nrun, nt, nx[, ny], ncomp), when the file also holds ``trajectory`` (nrun,), one id
  per run;
* ``names``: the component names (ncomp,), identifiers (default ``u``, ``v``, ... for up to
  four components, else ``u0, u1, ...``);
* ``axes`` (optional): the names of the spatial axes (default ``x`` and ``y``), which the
  file then holds under those names instead of ``x`` and ``y``.

Several files make several runs; they must share the grid and the names.  Every error is a
:class:`ValueError` with one line naming the file and the key.  Files are loaded with
``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..base import check_increasing
from ..io import check_variable_names

__all__ = ["FieldData", "read_fields"]

_DEFAULT_NAMES = ("u", "v", "w", "p")
_DEFAULT_AXES = ("x", "y")


@dataclass
class FieldData:
    """Runs of components on a grid.

    Attributes
    ----------
    names : list of str
        Component names.
    axes : list of str
        Spatial axis names (one or two).
    grid : dict of str to (n_axis,) array
        The grid along each axis.
    t : list of (nt_k,) arrays
        Sample times of each run.
    u : list of arrays
        Each run's components, (nt_k, nx[, ny], ncomp).
    source : str
        Where the data came from.
    """

    names: list
    axes: list
    grid: dict
    t: list
    u: list
    source: str = ""

    @property
    def n_components(self) -> int:
        return len(self.names)

    @property
    def n_runs(self) -> int:
        return len(self.u)

    @property
    def shape(self) -> tuple[int, ...]:
        """The spatial grid's shape, (nx,) or (nx, ny)."""
        return tuple(len(self.grid[a]) for a in self.axes)

    def spacing(self, axis: str, rtol: float = 1e-6) -> float:
        """The step of a uniform grid along ``axis``; a one-line error names a non-uniform one."""
        if axis not in self.grid:
            raise ValueError(f"{self.source}: unknown axis {axis!r}; axes are {', '.join(self.axes)}")
        return _uniform_step(self.grid[axis], f"{self.source}: axis {axis!r}", rtol)

    def time_step(self, rtol: float = 1e-6) -> float:
        """The common time step of every run (a method that needs uniform times calls this)."""
        steps = [_uniform_step(t, f"{self.source}: run {k}: 't'", rtol) for k, t in enumerate(self.t)]
        if not np.allclose(steps, steps[0], rtol=rtol, atol=0):
            raise ValueError(f"{self.source}: 't': the runs have different time steps {sorted(set(steps))}")
        return steps[0]


def _uniform_step(v: np.ndarray, where: str, rtol: float) -> float:
    d = np.diff(v)
    if not np.allclose(d, d[0], rtol=rtol, atol=0):
        i = int(np.argmax(np.abs(d - d[0]) > rtol * abs(d[0])))
        raise ValueError(
            f"{where}: the grid is not uniform (step {d[i]:.6g} at index {i}, {d[0]:.6g} at 0); "
            "this method needs a uniform grid"
        )
    return float(np.mean(d))


def _strictly_increasing(v, where: str) -> np.ndarray:
    v = np.asarray(v)
    if v.dtype.kind not in "iuf" or v.ndim != 1:
        raise ValueError(f"{where}: expected a 1-D array of numbers, got shape {v.shape} of {v.dtype}")
    if len(v) < 2:
        raise ValueError(f"{where}: expected at least 2 points, got {len(v)}")
    return check_increasing(v, where, "points")


def _strings(arr, where: str) -> list[str]:
    arr = np.asarray(arr)
    if arr.ndim != 1 or arr.dtype.kind not in "US":
        raise ValueError(f"{where}: expected a 1-D array of strings")
    return [str(s) for s in arr.tolist()]


def _read_one(path: Path) -> FieldData:
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{where}: not a readable NPZ file ({' '.join(str(exc).split())})") from None
    axes = _strings(data["axes"], f"{where}: 'axes'") if "axes" in data else None
    if "u" not in data or "t" not in data:
        missing = [k for k in ("t", "u") if k not in data]
        raise ValueError(f"{where}: missing key '{missing[0]}'; a field file holds t, x (and y), u and names")
    if axes is None:
        axes = [a for a in _DEFAULT_AXES if a in data]
    if not 1 <= len(axes) <= 2:
        raise ValueError(f"{where}: 'axes': expected one or two spatial axes, got {len(axes)}")
    check_variable_names(axes, f"{where}: 'axes'")
    for a in axes:
        if a not in data:
            raise ValueError(f"{where}: missing key {a!r} (the grid of axis {a!r})")
    grid = {a: _strictly_increasing(data[a], f"{where}: {a!r}") for a in axes}
    t = _strictly_increasing(data["t"], f"{where}: 't'")
    u = np.asarray(data["u"])
    if u.dtype.kind not in "iuf":
        raise ValueError(f"{where}: 'u': expected numbers, got {u.dtype}")
    u = u.astype(float)
    runs = "trajectory" in data
    spatial = tuple(len(grid[a]) for a in axes)
    lead = (len(np.atleast_1d(data["trajectory"])),) if runs else ()
    expected = lead + (len(t),) + spatial
    if u.ndim != len(expected) + 1 or u.shape[:-1] != expected:
        names_shape = ", ".join((["nrun"] if runs else []) + ["nt"] + [f"n{a}" for a in axes] + ["ncomp"])
        raise ValueError(f"{where}: 'u': shape {u.shape}, expected ({names_shape}) = {expected + ('ncomp',)}")
    bad = ~np.isfinite(u)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where}: 'u': non-finite value {u[idx]} at index {idx}")
    ncomp = u.shape[-1]
    if "names" in data:
        names = _strings(data["names"], f"{where}: 'names'")
        if len(names) != ncomp:
            raise ValueError(f"{where}: 'names': {len(names)} names for {ncomp} components")
    else:
        names = list(_DEFAULT_NAMES[:ncomp]) if ncomp <= len(_DEFAULT_NAMES) else [f"u{i}" for i in range(ncomp)]
    check_variable_names(names, f"{where}: 'names'")
    clash = sorted(set(names) & set(axes) | ({"t"} & set(names)))
    if clash:
        raise ValueError(f"{where}: {clash[0]!r} is both a component and an axis (or time); names must differ")
    us = list(u) if runs else [u]
    return FieldData(names, list(axes), grid, [t.copy() for _ in us], us, where)


def read_fields(paths) -> FieldData:
    """Read one NPZ field file or several (runs on the same grid); see the module docstring."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("read_fields: no file given")
    for p in paths:
        if not p.is_file():
            raise ValueError(f"{p}: no such file")
    parts = [_read_one(p) for p in paths]
    first = parts[0]
    for other in parts[1:]:
        if other.names != first.names or other.axes != first.axes:
            raise ValueError(
                f"{other.source}: components {other.names} on axes {other.axes} differ from {first.source}'s "
                f"{first.names} on {first.axes}"
            )
        for a in first.axes:
            if len(other.grid[a]) != len(first.grid[a]) or not np.allclose(other.grid[a], first.grid[a]):
                raise ValueError(f"{other.source}: axis {a!r}: the grid differs from {first.source}'s")
    source = first.source if len(parts) == 1 else f"{first.source} and {len(parts) - 1} more"
    return FieldData(
        first.names,
        first.axes,
        first.grid,
        [t for p in parts for t in p.t],
        [u for p in parts for u in p.u],
        source,
    )
