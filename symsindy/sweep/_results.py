"""The results of a sweep: ``results.csv`` (tidy rows, read and appended), summaries (success
rates, N90s), Markdown and plots."""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ._study import Study

#: Columns of ``results.csv``, in order.
COLUMNS = (
    "system",
    "method",
    "samples",
    "noise",
    "seed",
    "success",
    "coef_error",
    "n_terms",
    "n_spurious",
    "n_missing",
    "fit_time",
    "symmetry",
    "equivariance_residual",
    "error",
    "config",
)
_INT_COLUMNS = ("samples", "seed", "success", "n_terms", "n_spurious", "n_missing")
_FLOAT_COLUMNS = ("noise", "coef_error", "fit_time", "equivariance_residual")

RESULTS_FILE = "results.csv"
STUDY_FILE = "study.json"
SUMMARY_FILE = "summary.md"


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
        head = ["system", "symmetry", "library", "threshold", "noise η"] + [
            f"N{_pct(st.success_fraction)} {m}" for m in methods
        ]
        if ratio:
            head.append("ratio enforce / pysindy")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for s in st.systems:
            for eta in st.noise:
                vals = {m: self.n90_of(s.label, eta, m) for m in methods}
                cells = [
                    s.label,
                    "`" + "; ".join(s.symmetry) + "`" if s.symmetry else "none",
                    f"poly deg {s.degree}",
                    s.threshold if isinstance(s.threshold, str) else f"{s.threshold:.3g}",
                    f"{eta:.0%}" if eta * 100 == round(eta * 100) else f"{eta:g}",
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
                    errs = [
                        math.inf if (r["error"] or not math.isfinite(r["coef_error"])) else r["coef_error"] for r in g
                    ]
                    table.append(
                        {
                            "system": s.label,
                            "noise": eta,
                            "samples": n,
                            "method": m,
                            "n": len(g),
                            "successes": sum(int(r["success"]) for r in g),
                            "failures": sum(bool(r["error"]) for r in g),
                            "success_rate": (sum(int(r["success"]) for r in g) / len(g)) if g else math.nan,
                            "median_coef_error": float(np.median(errs)) if errs else math.nan,
                        }
                    )
    n_seeds = len(study.seeds)
    need = int(math.ceil(study.success_fraction * n_seeds - 1e-12))
    n90 = []
    for s in study.systems:
        for eta in study.noise:
            for m in study.methods:
                entries = sorted(
                    (r for r in table if (r["system"], r["noise"], r["method"]) == (s.label, eta, m)),
                    key=lambda r: r["samples"],
                )
                value = next((r["samples"] for r in entries if r["successes"] >= need), None)
                n90.append(
                    {
                        "system": s.label,
                        "noise": eta,
                        "method": m,
                        "n90": value,
                        "complete": all(r["n"] == n_seeds for r in entries),
                    }
                )
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
            rows = sorted(
                (r for r in summary.table if (r["system"], r["noise"], r["method"]) == (system, eta, m)),
                key=lambda r: r["samples"],
            )
            n = np.array([r["samples"] for r in rows], float)
            rate = np.array([r["success_rate"] for r in rows], float)
            err = np.array([r["median_coef_error"] for r in rows], float)
            style = dict(marker=markers[k % len(markers)], markersize=4, label=m, color=f"C{k}")
            ax_s.plot(n, rate, **style)
            ok = np.isfinite(err) & (err > 0)
            ax_e.plot(n[ok], err[ok], **style)
            plotted_err = plotted_err or bool(ok.any())
        ax_s.axhline(
            st.success_fraction,
            color="0.5",
            linestyle="--",
            linewidth=0.8,
            label=f"{_pct(st.success_fraction)} % (N{_pct(st.success_fraction)})",
        )
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
        raise ValueError(
            f"{path}: writing Parquet needs pyarrow (pip install pyarrow); {RESULTS_FILE} has every row"
        ) from None
    table = pa.Table.from_pylist([{c: (None if r[c] == "" else r[c]) for c in COLUMNS} for r in rows])
    pq.write_table(table, str(path))
