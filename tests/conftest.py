"""Helpers shared by the test modules: ``from conftest import lorenz, polynomial_library, ...``.

pytest's default (prepend) import mode puts this folder on ``sys.path``, so the import
resolves to this module, the one pytest has already loaded.
"""

from __future__ import annotations

import numpy as np
import pysindy as ps
from hypothesis import settings
from scipy.integrate import solve_ivp

from threadpoolctl import threadpool_limits

from symsindy.catalogue import get_system
from symsindy.io import write_csv

# The suite's matrices are small, and on a 2-core machine shared with other processes BLAS
# threads cost far more than they save (one conservation test: 70 s with them, 11 s without);
# the benchmarks set one thread for the same reason.
_BLAS_ONE_THREAD = threadpool_limits(limits=1, user_api="blas")

# The suite draws the same hypothesis examples on every run, so that a result reproduces (a
# fresh random draw can hit a pathological tree, e.g. a tower of exponentials whose printing
# SymPy evaluates for minutes); `pytest --hypothesis-profile=explore` draws new ones.
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("reproducible")

# The classical Lorenz model, {(equation, pysindy term name): coefficient}.
LORENZ_TERMS = {
    ("x", "x"): -10.0,
    ("x", "y"): 10.0,
    ("y", "x"): 28.0,
    ("y", "y"): -1.0,
    ("y", "x z"): -1.0,
    ("z", "z"): -8 / 3,
    ("z", "x y"): 1.0,
}


def lorenz(t, s, sigma=10.0, rho=28.0, beta=8 / 3):
    """Lorenz's vector field in ``solve_ivp`` form.

    Not the catalogue's ``rhs_function``: that one evaluates the expanded ``σy − σx``,
    which rounds differently from ``σ(y − x)`` and would move the integrated test data
    by about 1e-11.
    """
    x, y, z = s
    return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]


def lorenz_trajectory(t, x0=(-8.0, 8.0, 27.0), *, t_end=None, rtol=1e-10, atol=1e-10):
    """Lorenz states ``(len(t), 3)`` at the times ``t``, by RK45 over ``[t[0], t_end]``.

    ``t_end`` defaults to ``t[-1]``; it sets the integration span and so, through the step
    sizes, the last bits of the samples.
    """
    t = np.asarray(t, dtype=float)
    span = (t[0], t[-1] if t_end is None else t_end)
    return solve_ivp(lorenz, span, x0, t_eval=t, rtol=rtol, atol=atol).y.T


def polynomial_library(n_variables, degree, **options):
    """A pysindy ``PolynomialLibrary`` fitted on ``n_variables`` columns (fitting fixes only the inputs)."""
    return ps.PolynomialLibrary(degree=degree, **options).fit(np.zeros((2, n_variables)))


def coefficient_matrix(term_names, variables, terms):
    """Coefficients ``(len(variables), len(term_names))`` from ``{(variable, term name): value}``, zero elsewhere."""
    c = np.zeros((len(variables), len(term_names)))
    for (v, term), value in terms.items():
        c[list(variables).index(v), list(term_names).index(term)] = value
    return c


def catalogue_csv(folder, name, *, noise=0.01, seed=0, trajectories=2, derivatives=False):
    """Simulate catalogue system ``name`` and write it as ``folder/<name>.csv`` in the fit format; return the path."""
    sim = get_system(name).simulate(noise=noise, random_state=seed, n_trajectories=trajectories)
    path = folder / f"{name}.csv"
    write_csv(path, list(sim.variables), [sim.t] * len(sim.x), sim.x, sim.x_dot if derivatives else None)
    return path
