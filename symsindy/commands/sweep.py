"""``symsindy sweep``: run a study (systems x samples x noise x seeds x methods) on Dask.

::

    symsindy sweep STUDY.toml [--out DIR] [--scheduler ADDRESS] [--workers N]
                              [--threads-per-worker T] [--retries R] [--parquet]
                              [--no-progress] [--no-plots] [--summary-only]
"""

from __future__ import annotations

import argparse
import sys

from ._types import nonnegative_int, positive_int

_DESCRIPTION = """\
Run every cell of a study -- a grid over catalogue systems, sample sizes, noise
levels, seeds and methods (pysindy, enforce, discover, promote) -- on a Dask
cluster: a LocalCluster on this machine by default, or an existing scheduler
given by address.  Each finished cell is appended at once to DIR/results.csv
(one tidy row: system, method, samples, noise, seed, success, coef_error,
n_terms, ..., error); a rerun skips the cells already there, so an interrupted
sweep resumes where it stopped.  When every cell is done, a table of success
rates and N90s is printed and written to DIR/summary.md with plots in
DIR/plots/.

The study format is described in the docstring of symsindy.sweep; examples are
in benchmarks/studies/.
"""

_EPILOG = """\
examples:
  symsindy sweep benchmarks/studies/quick.toml --workers 2
  symsindy sweep study.toml --scheduler tcp://10.0.0.5:8786 --out results/
  symsindy sweep study.toml --workers 0        # in this process, without dask
"""


def register(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a study of many fits (systems x samples x noise x seeds x methods) on Dask",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("study", metavar="STUDY.toml", help="the study file")
    p.add_argument("--out", metavar="DIR", default=None, help="output folder (default: <study name>-results)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="address of a running dask scheduler, e.g. tcp://10.0.0.5:8786 (its workers need symsindy installed)",
    )
    p.add_argument(
        "--workers",
        metavar="N",
        type=nonnegative_int,
        default=None,
        help="workers of the local cluster (default: dask's choice; 0 = run in this process without dask)",
    )
    p.add_argument(
        "--threads-per-worker", metavar="T", type=positive_int, default=1, help="threads per local worker (default 1)"
    )
    p.add_argument("--retries", metavar="R", type=nonnegative_int, default=2, help="dask retries per task (default 2)")
    p.add_argument("--parquet", action="store_true", help="also write DIR/results.parquet at the end (needs pyarrow)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="no plots in DIR/plots/")
    p.add_argument("--summary-only", action="store_true", help="compute nothing: summarise the rows already in DIR")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from .. import sweep

    if args.scheduler is not None and args.workers is not None:
        raise ValueError("--scheduler and --workers: give one (workers belong to the scheduler's cluster)")
    study = sweep.load_study(args.study)
    out = Path(args.out) if args.out else Path(f"{study.name}-results")
    n_cells = len(study.cells())
    if args.summary_only:
        summary = sweep.summarize(sweep.read_results(out / sweep.RESULTS_FILE), study)
        sweep.write_summary(summary, out, plots=not args.no_plots)
        print(f"{sum(r['n'] for r in summary.table)} of {n_cells} cells done in {out}")
        _print_summary(summary)
        return 0
    print(f"study {study.name!r}: {n_cells} cells; results in {out / sweep.RESULTS_FILE}", file=sys.stderr)
    try:
        result = sweep.run_sweep(
            study,
            out,
            scheduler=args.scheduler,
            n_workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            retries=args.retries,
            progress=not args.no_progress,
            plots=not args.no_plots,
        )
    except KeyboardInterrupt:
        done = len(sweep.read_results(out / sweep.RESULTS_FILE))
        print(
            f"interrupted: {done} rows are in {out / sweep.RESULTS_FILE}; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    print(
        f"{result.computed} cells computed, {result.skipped} already done, in {result.seconds:.1f} s", file=sys.stderr
    )
    if args.parquet:
        sweep.write_parquet(result.rows, out / "results.parquet")
    if result.incomplete:
        first = result.incomplete[0]
        print(
            f"symsindy sweep: {len(result.incomplete)} cells did not complete (first: {first.key}); "
            "run the same command again to retry them",
            file=sys.stderr,
        )
        return 1
    _print_summary(result.summary)
    print(f"summary: {out / sweep.SUMMARY_FILE}" + ("" if args.no_plots else f", plots: {out / 'plots'}"))
    return 0


def _print_summary(summary) -> None:
    print(summary.n90_markdown())
    for s in summary.study.systems:
        table = summary.success_markdown(s.label)
        if table.count("\n") > 40:
            print(f"\n{s.label}: success rates per sample size in summary.md ({table.count(chr(10)) - 1} rows)")
            continue
        print(f"\n{s.label}:\n{table}")
