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

from . import _results
from ._results import COLUMNS, Summary, plot_system, read_results, summarize, write_summary
from ._runner import SweepResult, cell_seed_sequence, run_cell, run_sweep
from ._study import METHODS, Cell, Study, StudyError, SystemSettings, load_study, parse_study

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

RESULTS_FILE, STUDY_FILE, SUMMARY_FILE = _results.RESULTS_FILE, _results.STUDY_FILE, _results.SUMMARY_FILE
write_parquet = _results.write_parquet
