"""What the benchmark scripts share: BLAS threads, the command line, N90 and the platform line.

Import this module before NumPy: it sets the BLAS thread count to 1 (unless the environment
already sets it), because the benchmark machines are shared and the matrices are small.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
from pathlib import Path  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: N90 is the fewest samples at which at least this fraction of the seeds succeed
SUCCESS_FRACTION = 0.9


def parse_args(doc: str, argv=None, quick: str | None = "few seeds and a coarse grid (smoke test only)"):
    """``--out DIR`` (default ``benchmarks/results``, created) and, unless ``quick`` is None, ``--quick``."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    if quick is not None:
        parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--out", default=str(RESULTS), help="output directory (default: benchmarks/results)")
    args = parser.parse_args(argv)
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def needed(n_seeds: int, fraction: float = SUCCESS_FRACTION) -> int:
    """Successes out of ``n_seeds`` that count as reaching N90 (18 of 20)."""
    return int(math.ceil(fraction * n_seeds - 1e-12))


def n90(sizes, successes, n_seeds: int, fraction: float = SUCCESS_FRACTION):
    """The first size (in the order given) with at least ``needed`` successes; None if there is none.

    ``successes`` may hold None for sizes a method was not run at.
    """
    need = needed(n_seeds, fraction)
    for n, s in zip(sizes, successes):
        if s is not None and s >= need:
            return int(n)
    return None


def fmt_n90(value, top) -> str:
    """``"> top"`` when N90 was not reached by the largest size ``top``."""
    return f"> {int(top)}" if value is None else str(value)


def platform_line() -> str:
    import numpy as np
    import pysindy as ps

    return (f"{platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"pysindy {getattr(ps, '__version__', '?')}")
