"""Reading and writing trajectory data (CSV and NPZ).

CSV
    A header row, then one row per sample.  Column ``t`` is time; every other
    column is a state variable, except an optional ``trajectory`` column (an id
    splitting the rows into several trajectories, in order of first appearance)
    and optional ``<var>_dot`` columns holding measured derivatives (all state
    variables have one, or none does).  Blank lines and lines starting with ``#``
    are skipped.  Within a trajectory ``t`` must be strictly increasing.

NPZ
    Keys ``t``, ``x`` and optionally ``x_dot``, ``names``, ``trajectory``:

    * one trajectory: ``x`` of shape (m, n), ``t`` of shape (m,);
    * k trajectories of equal length: ``x`` of shape (k, m, n), ``t`` of shape
      (m,) (shared) or (k, m);
    * k trajectories of any length: ``x`` stacked to (M, n), ``t`` of shape (M,)
      and ``trajectory`` of shape (M,) with one id per row, as in the CSV;
    * a scalar ``t`` is a time step: ``t = dt * arange(m)``.

    ``x_dot`` has the shape of ``x``; ``names`` is a 1-D string array of length n
    (default ``x0, x1, ...``).  Files are loaded with ``allow_pickle=False``.

Every error is a :class:`ValueError` with one line naming the file and, where
it applies, the column, line and trajectory.
"""

from __future__ import annotations

import csv
import keyword
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

import numpy as np

__all__ = ["Dataset", "read_data", "read_csv", "read_npz", "write_csv", "check_variable_names"]

RESERVED = ("t", "trajectory")
_NPZ_KEYS = ("t", "x", "x_dot", "names", "trajectory")


@dataclass
class Dataset:
    """Trajectories of named state variables.

    Attributes
    ----------
    variables : list of str
        State variable names, in column order.
    t : list of (m_k,) arrays
        Sample times, one array per trajectory.
    x : list of (m_k, n) arrays
        States, one array per trajectory.
    x_dot : list of (m_k, n) arrays or None
        Measured derivatives, if the file had them.
    source : str
        Where the data came from (a file name).
    """

    variables: list[str]
    t: list[np.ndarray]
    x: list[np.ndarray]
    x_dot: list[np.ndarray] | None
    source: str

    @property
    def n_samples(self) -> int:
        """Total number of samples over all trajectories."""
        return int(sum(len(tk) for tk in self.t))

    @property
    def n_trajectories(self) -> int:
        return len(self.t)

    @property
    def n_variables(self) -> int:
        return len(self.variables)

    @property
    def has_derivatives(self) -> bool:
        return self.x_dot is not None


# --------------------------------------------------------------------------- checks


def check_variable_names(names: Sequence[str], where: str) -> list[str]:
    """Check that state variable names are distinct identifiers and not reserved.

    ``where`` prefixes the error message (e.g. the file name).
    """
    names = list(names)
    if not names:
        raise ValueError(f"{where}: no state variables; expected at least one column besides 't'")
    seen = set()
    for v in names:
        if not isinstance(v, str) or not v.isidentifier() or keyword.iskeyword(v):
            raise ValueError(
                f"{where}: variable name {v!r} is not valid; names must be identifiers such as 'x' or 'q1'"
            )
        if v in RESERVED:
            raise ValueError(f"{where}: {v!r} cannot be a state variable name; 't' and 'trajectory' are reserved")
        if v in seen:
            raise ValueError(f"{where}: variable {v!r} appears twice; variables must be distinct")
        seen.add(v)
    return names


def _check_finite(where: str, what: str, arr: np.ndarray, names: Sequence[str] | None = None):
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    idx = np.argwhere(bad)[0]
    value = arr[tuple(idx)]
    if names is not None and arr.ndim >= 2:
        col = f" column {names[idx[-1]]!r},"
    else:
        col = ""
    pos = ", ".join(str(int(i)) for i in idx)
    raise ValueError(f"{where}: {what}{col} contains {value} at index [{pos}]; data must be finite (no NaN or inf)")


def _check_increasing(where: str, t: np.ndarray, label: str, rows: Sequence[int] | None = None):
    d = np.diff(t)
    if np.all(d > 0):
        return
    k = int(np.argmax(~(d > 0))) + 1
    at = f"line {rows[k]}" if rows is not None else f"sample {k}"
    raise ValueError(
        f"{where}: {at}: t = {t[k]!r} is not greater than the previous t = {t[k - 1]!r} in {label}; "
        "times must be strictly increasing within a trajectory"
    )


def _check_length(where: str, t: np.ndarray, label: str):
    if len(t) < 2:
        raise ValueError(
            f"{where}: {label} has {len(t)} sample{'s' if len(t) != 1 else ''}; each trajectory needs at least 2"
        )


# --------------------------------------------------------------------------- reading


def read_data(path) -> Dataset:
    """Read a CSV or NPZ data file (see the module docstring for the formats)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return read_csv(p)
    if suffix == ".npz":
        return read_npz(p)
    raise ValueError(f"{p}: unknown data format {p.suffix or '(no suffix)'!r}; expected a .csv or .npz file")


def _parse_float(text: str, where: str, line: int, column: str) -> float:
    s = text.strip()
    if not s:
        raise ValueError(f"{where}: line {line}, column {column!r}: empty cell; expected a number")
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"{where}: line {line}, column {column!r}: {s!r} is not a number") from None


def read_csv(path) -> Dataset:
    """Read a CSV data file; see the module docstring for the format."""
    p = Path(path)
    where = str(p)
    with open(p, newline="", encoding="utf-8-sig") as fh:
        rows = [(i, r) for i, r in enumerate(csv.reader(fh), start=1)]
    # (line number, cells) without blank and comment lines; a multi-line quoted cell
    # would shift numbers, which numeric data never has.
    rows = [(i, r) for i, r in rows if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not rows:
        raise ValueError(f"{where}: the file is empty; expected a header such as 't,x,y' and data rows")
    head_line, header = rows[0]
    header = [h.strip() for h in header]
    if all(_is_number(h) for h in header):
        raise ValueError(f"{where}: line {head_line} looks like data, not a header; expected a header such as 't,x,y'")
    for h in header:
        if not h:
            raise ValueError(f"{where}: line {head_line}: empty column name in the header")
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise ValueError(f"{where}: column {dup!r} appears twice in the header")
    if "t" not in header:
        raise ValueError(
            f"{where}: no 't' column; the header must name a time column 't' (columns are {', '.join(header)})"
        )
    dot_cols = [h for h in header if h.endswith("_dot")]
    variables = [h for h in header if h not in RESERVED and h not in dot_cols]
    # A '<name>_dot' column whose <name> is not a column is an error, not a variable.
    for d in dot_cols:
        base = d[: -len("_dot")]
        if base in RESERVED:
            raise ValueError(
                f"{where}: column {d!r}: {base!r} is reserved, not a state variable, so it has no derivative column"
            )
        if base not in variables:
            raise ValueError(f"{where}: column {d!r} holds the derivative of {base!r}, but there is no column {base!r}")
    check_variable_names(variables, where)
    if dot_cols:
        missing = [v for v in variables if f"{v}_dot" not in header]
        if missing:
            raise ValueError(
                f"{where}: derivative columns are given for some variables but not for "
                f"{', '.join(missing)}; add {', '.join(v + '_dot' for v in missing)} or remove all '_dot' columns"
            )

    ncol = len(header)
    col = {h: k for k, h in enumerate(header)}
    data_rows = rows[1:]
    if not data_rows:
        raise ValueError(f"{where}: no data rows after the header")
    numeric = [h for h in header if h != "trajectory"]
    values = np.empty((len(data_rows), len(numeric)))
    ids: list[str] = []
    lines = []
    for r, (line, cells) in enumerate(data_rows):
        if len(cells) != ncol:
            raise ValueError(f"{where}: line {line} has {len(cells)} cells; the header has {ncol} columns")
        for j, h in enumerate(numeric):
            values[r, j] = _parse_float(cells[col[h]], where, line, h)
        if "trajectory" in col:
            tid = cells[col["trajectory"]].strip()
            if not tid:
                raise ValueError(f"{where}: line {line}, column 'trajectory': empty cell; expected a trajectory id")
            ids.append(tid)
        lines.append(line)
    bad = ~np.isfinite(values)
    if bad.any():
        # Report the first bad cell column by column, so the column is named.
        j = int(np.argmax(bad.any(axis=0)))
        r = int(np.argmax(bad[:, j]))
        raise ValueError(
            f"{where}: column {numeric[j]!r} contains {values[r, j]} (first at line {lines[r]}); data must be finite"
        )

    ni = {h: j for j, h in enumerate(numeric)}
    it = ni["t"]
    ix = [ni[v] for v in variables]
    idot = [ni[f"{v}_dot"] for v in variables] if dot_cols else None
    lines_arr = np.asarray(lines)
    if "trajectory" in col:
        order: dict[str, list[int]] = {}
        for r, tid in enumerate(ids):
            order.setdefault(tid, []).append(r)
        groups = [(f"trajectory {tid!r}", np.asarray(rs)) for tid, rs in order.items()]
    else:
        groups = [("the trajectory", np.arange(len(data_rows)))]
    ts, xs, dxs = [], [], []
    for label, rs in groups:
        tk = values[rs, it]
        _check_length(where, tk, label)
        _check_increasing(where, tk, label, rows=lines_arr[rs])
        ts.append(tk.copy())
        xs.append(values[np.ix_(rs, ix)])
        if idot is not None:
            dxs.append(values[np.ix_(rs, idot)])
    return Dataset(variables, ts, xs, dxs if idot is not None else None, where)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def read_npz(path) -> Dataset:
    """Read an NPZ data file; see the module docstring for the layouts."""
    p = Path(path)
    where = str(p)
    if p.exists() and not zipfile.is_zipfile(p):
        raise ValueError(f"{where}: not a readable .npz file (not a zip archive written by numpy.savez)")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ValueError(
                f"{where}: holds object arrays, which are not read; store several trajectories as x of shape "
                "(k, m, n), or stacked (M, n) with a 'trajectory' key"
            ) from None
        raise ValueError(f"{where}: not a readable .npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{where}: not a readable .npz file") from None
    unknown = sorted(set(arrays) - set(_NPZ_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; expected keys {', '.join(_NPZ_KEYS)}")
    for k in ("t", "x"):
        if k not in arrays:
            raise ValueError(f"{where}: no {k!r} array; expected keys t, x and optionally x_dot, names, trajectory")
    x = _as_float(arrays["x"], where, "x")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim not in (2, 3):
        raise ValueError(f"{where}: 'x' has shape {x.shape}; expected (m, n) or (k, m, n)")
    n = x.shape[-1]
    if "names" in arrays:
        raw = arrays["names"]
        if raw.dtype.kind not in "US" or raw.ndim != 1:
            raise ValueError(
                f"{where}: 'names' must be a 1-D array of strings, got dtype {raw.dtype} shape {raw.shape}"
            )
        names = [s.decode() if isinstance(s, bytes) else str(s) for s in raw.tolist()]
        if len(names) != n:
            raise ValueError(f"{where}: 'names' has {len(names)} entries but 'x' has {n} columns")
    else:
        names = [f"x{i}" for i in range(n)]
    check_variable_names(names, where)
    x_dot = None
    if "x_dot" in arrays:
        x_dot = _as_float(arrays["x_dot"], where, "x_dot")
        if x_dot.ndim == 1:
            x_dot = x_dot[:, None]
        if x_dot.shape != x.shape:
            raise ValueError(f"{where}: 'x_dot' has shape {x_dot.shape} but 'x' has shape {x.shape}; they must match")
    t = _as_float(arrays["t"], where, "t")
    _check_finite(where, "'t'", t)
    _check_finite(where, "'x'", x, names)
    if x_dot is not None:
        _check_finite(where, "'x_dot'", x_dot, names)

    if "trajectory" in arrays:
        tid = arrays["trajectory"]
        if x.ndim != 2:
            raise ValueError(f"{where}: a 'trajectory' key needs stacked 'x' of shape (M, n), got {x.shape}")
        if tid.shape != (x.shape[0],):
            raise ValueError(
                f"{where}: 'trajectory' has shape {tid.shape}; expected ({x.shape[0]},), one id per row of 'x'"
            )
        if t.shape != (x.shape[0],):
            raise ValueError(f"{where}: 't' has shape {t.shape}; with a 'trajectory' key expected ({x.shape[0]},)")
        order: dict = {}
        for r, k in enumerate(tid.tolist()):
            order.setdefault(k, []).append(r)
        groups = [(f"trajectory {k!r}", np.asarray(rs)) for k, rs in order.items()]
        ts = [t[rs] for _, rs in groups]
        xs = [x[rs] for _, rs in groups]
        dxs = [x_dot[rs] for _, rs in groups] if x_dot is not None else None
        labels = [lab for lab, _ in groups]
    else:
        xs3 = x[None] if x.ndim == 2 else x
        k, m = xs3.shape[:2]
        if t.ndim == 0:
            if not t > 0:
                raise ValueError(f"{where}: scalar 't' is a time step and must be positive, got {float(t)!r}")
            tt = [float(t) * np.arange(m)] * k
        elif t.shape == (m,):
            tt = [t] * k
        elif x.ndim == 3 and t.shape == (k, m):
            tt = list(t)
        else:
            want = f"({m},)" if x.ndim == 2 else f"({m},) or ({k}, {m})"
            raise ValueError(
                f"{where}: 't' has shape {t.shape} but 'x' has shape {x.shape}; expected 't' of shape {want}"
            )
        ts = [np.array(a, dtype=float) for a in tt]
        xs = [np.array(a) for a in xs3]
        dxs = None
        if x_dot is not None:
            dxs = [np.array(a) for a in (x_dot[None] if x_dot.ndim == 2 else x_dot)]
        labels = ["the trajectory"] if x.ndim == 2 else [f"trajectory {i}" for i in range(k)]
    for tk, lab in zip(ts, labels):
        _check_length(where, tk, lab)
        _check_increasing(where, tk, lab)
    return Dataset(names, ts, xs, dxs, where)


def _as_float(a: np.ndarray, where: str, key: str) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{where}: {key!r} has dtype {a.dtype}; expected numbers")
    return np.asarray(a, dtype=np.float64)


# --------------------------------------------------------------------------- writing


def _as_list(a) -> list[np.ndarray]:
    if isinstance(a, (list, tuple)):
        return [np.asarray(v, dtype=float) for v in a]
    return [np.asarray(a, dtype=float)]


def write_csv(path, variables: Sequence[str], t, x, x_dot=None) -> None:
    """Write trajectories in the CSV format read by :func:`read_csv`.

    ``t``, ``x`` and ``x_dot`` are arrays for one trajectory or lists of arrays
    for several (then a ``trajectory`` column numbers them from 0).  Floats are
    written with ``repr`` so that reading the file back is exact.
    """
    where = str(path)
    variables = check_variable_names(variables, where)
    n = len(variables)
    ts = _as_list(t)
    xs = _as_list(x)
    dxs = _as_list(x_dot) if x_dot is not None else None
    if len(xs) != len(ts) or (dxs is not None and len(dxs) != len(ts)):
        raise ValueError(
            f"{where}: got {len(ts)} time arrays, {len(xs)} state arrays"
            + (f" and {len(dxs)} derivative arrays" if dxs is not None else "")
            + "; they must match"
        )
    for k, (tk, xk) in enumerate(zip(ts, xs)):
        if xk.ndim == 1 and n == 1:
            xs[k] = xk = xk[:, None]
        if tk.ndim != 1 or xk.shape != (len(tk), n):
            raise ValueError(
                f"{where}: trajectory {k}: 't' has shape {tk.shape} and 'x' {xk.shape}; expected (m,) and (m, {n})"
            )
        if dxs is not None:
            if dxs[k].ndim == 1 and n == 1:
                dxs[k] = dxs[k][:, None]
            if dxs[k].shape != xk.shape:
                raise ValueError(f"{where}: trajectory {k}: 'x_dot' has shape {dxs[k].shape}; expected {xk.shape}")
    several = len(ts) > 1
    header = (["trajectory"] if several else []) + ["t"] + list(variables)
    if dxs is not None:
        header += [f"{v}_dot" for v in variables]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for k, (tk, xk) in enumerate(zip(ts, xs)):
            for r in range(len(tk)):
                row = ([str(k)] if several else []) + [_fmt(tk[r])] + [_fmt(v) for v in xk[r]]
                if dxs is not None:
                    row += [_fmt(v) for v in dxs[k][r]]
                w.writerow(row)


def _fmt(v: float) -> str:
    v = float(v)
    return repr(v) if math.isfinite(v) else str(v)
