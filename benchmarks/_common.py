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


def refine_interval(sizes, value, steps: int = 4):
    """The sizes strictly between the grid size below N90 ``value`` and ``value``, on a grid
    ``steps`` times finer (geometric); ``(lo, value, sizes)``, or None when there is nothing below.

    The coarse grid resolves N90 only to its ratio; every method is then also run at these sizes.
    """
    sizes = list(sizes)
    if value is None or value == sizes[0]:
        return None
    lo = sizes[sizes.index(value) - 1]
    ratio = value / lo
    fine = sorted({int(round(lo * ratio ** (k / steps))) for k in range(1, steps)})
    return lo, value, [n for n in fine if lo < n < value]


def refined_n90(interval, fine_sizes, fine_successes, n_seeds: int, fraction: float = SUCCESS_FRACTION):
    """N90 sharpened inside a method's own ``interval`` from :func:`refine_interval`: the smallest
    of its fine sizes with enough successes, else the grid N90.  Fine sizes outside the interval
    (run for another method) are ignored: below it the coarse grid already saw the method fail."""
    if interval is None:
        return None
    lo, value, _ = interval
    inside = [(n, k) for n, k in zip(fine_sizes, fine_successes) if lo < n < value]
    found = n90([n for n, _ in inside], [k for _, k in inside], n_seeds, fraction)
    return value if found is None else found


def fmt_n90(value, top) -> str:
    """``"> top"`` when N90 was not reached by the largest size ``top``."""
    return f"> {int(top)}" if value is None else str(value)


def fmt_ratio(a, b, top) -> str:
    """N90 ratio ``a / b``; where one side was not reached by ``top``, the bound it implies."""
    if a is None and b is None:
        return "—"
    if b is None:
        return f"< {a / top:.2f}"
    if a is None:
        return f"> {top / b:.2f}"
    r = a / b
    # three decimals where two would hide which side of the 0.5 target it is on
    return f"{r:.3f}" if f"{r:.2f}" == "0.50" and r != 0.5 else f"{r:.2f}"


def platform_line() -> str:
    import numpy as np
    import pysindy as ps

    return (
        f"{platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"pysindy {getattr(ps, '__version__', '?')}"
    )
