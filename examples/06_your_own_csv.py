# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Bring your own data: CSV files
#
# Measurements usually arrive as a table. symsindy reads CSV files with
#
# * a header row;
# * a column `t` (time), strictly increasing within each trajectory;
# * one column per state variable (the column names become the variable names in equations and
#   symmetry specs, so they must be identifiers such as `x`, `theta1`, `v_in`);
# * optionally a column `trajectory`: an id that splits the rows into separate runs (different
#   initial conditions, different days);
# * optionally `<var>_dot` columns with *measured* derivatives for every variable (velocities from
#   a Doppler probe, currents from a sensor...): then nothing is differentiated numerically.
#
# Blank lines and lines starting with `#` are skipped. This notebook uses the file shipped in
# `examples/data/` and then writes one of its own.

# %%
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pysindy as ps

from symsindy import SymmetricSINDy, load_model
from symsindy.io import read_data, write_csv

DATA = Path("data") / "damped_oscillator.csv"  # relative to examples/
print("".join(DATA.read_text().splitlines(keepends=True)[:4]), "...")

# %% [markdown]
# ## Reading with `symsindy.io`
#
# `read_data` returns a `Dataset`: the variable names and one array per trajectory for the
# times, the states and (if present) the derivatives. Every problem with a file (a missing `t`,
# a non-number, times that go backwards, a derivative column for only some variables) is a
# one-line `ValueError` naming the file, line and column.

# %%
data = read_data(DATA)
print("variables:", data.variables)
print("trajectories:", data.n_trajectories, " samples:", data.n_samples, " measured derivatives:", data.has_derivatives)
print("shapes:", [x.shape for x in data.x])

fig, axes = plt.subplot_mosaic(
    [["x", "phase"], ["y", "phase"]], figsize=(11, 4.5), gridspec_kw={"width_ratios": [1.6, 1]}
)
for k, (tk, xk) in enumerate(zip(data.t, data.x)):
    for i, v in enumerate(data.variables):
        axes[v].plot(tk, xk[:, i], ".", ms=3, color=f"C{k}", label=f"trajectory {k}")
    axes["phase"].plot(xk[:, 0], xk[:, 1], ".-", ms=3, lw=0.5, color=f"C{k}", label=f"trajectory {k}")
for v in data.variables:
    axes[v].set_ylabel(v)
    axes[v].grid(alpha=0.3)
axes["x"].set_title(f"{DATA.name}: states against time")
axes["x"].tick_params(labelbottom=False)
axes["y"].set_xlabel("time t (dimensionless)")
axes["phase"].set_xlabel("x")
axes["phase"].set_ylabel("y")
axes["phase"].set_aspect("equal")
axes["phase"].set_title("Phase plane")
axes["phase"].legend(fontsize="small", loc="upper right")
fig.tight_layout()

# %% [markdown]
# ## Fitting the data in Python
#
# Lists of trajectories go straight into `fit`. With `x_dot` the measured derivatives are used;
# without, they are estimated from the states by smoothed finite differences (per trajectory,
# never across the boundary between two runs).

# %%
measured = SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), symmetry="rotation(x,y)")
measured.fit(data.x, x_dot=data.x_dot, feature_names=data.variables)
print("with the measured derivatives:")
measured.print()

estimated = SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), symmetry="rotation(x,y)")
estimated.fit(data.x, t=data.t, feature_names=data.variables)
print("differentiating the states instead:")
estimated.print()

# %% [markdown]
# ## The `symsindy fit` command
#
# The same fit from a terminal is
#
# ```
# symsindy fit examples/data/damped_oscillator.csv --symmetry "rotation(x,y)" --json model.json
# ```
#
# Here we call it through `subprocess` with the notebook's own Python (`python -m symsindy.cli`
# is the same program as the `symsindy` command). It prints the equations, the equivariance
# residual and the symmetry, and `--json` writes the model for later use.


# %%
def symsindy_cli(*args):
    """Run the symsindy command line; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "symsindy.cli", *map(str, args)], capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


work = Path(tempfile.mkdtemp())
code, out, err = symsindy_cli("fit", DATA, "--symmetry", "rotation(x,y)", "--json", work / "model.json")
print("exit code", code)
print(out)
saved = json.loads((work / "model.json").read_text())
print("JSON keys:", list(saved))
print("same coefficients as in Python:", np.allclose(load_model(work / "model.json").coef, measured.coef_))

# %% [markdown]
# Don't know the symmetry? `--symmetry auto` discovers it first (see
# `02_discover_symmetries`) and enforces what it found:

# %%
code, out, err = symsindy_cli("fit", DATA, "--symmetry", "auto")
print(out)

# %% [markdown]
# Mistakes end in one line that says what is wrong, and exit code 2:

# %%
code, out, err = symsindy_cli("fit", DATA, "--symmetry", "rotation(x,z)")
print("exit code", code)
print(err)

# %% [markdown]
# ## Writing your own file
#
# From arrays, `symsindy.io.write_csv(path, variables, t, x, x_dot=None)` writes the format
# exactly (lists of arrays give several trajectories and the `trajectory` column). By hand, any
# program that writes a table will do; comment lines can carry what the file cannot, such as
# units. Here: three runs of a damped oscillator sampled at different rates, states only, with a
# comment header, as an instrument might export them.

# %%
A = np.array([[-0.1, 2.0], [-2.0, -0.1]])  # x' = A x
rng = np.random.default_rng(1)
lines = ["# damped oscillator, three runs; time in seconds, x and y in volts", "trajectory,t,x,y"]
for run, (x0, dt) in enumerate([((2.0, 0.0), 0.05), ((0.0, -1.5), 0.08), ((1.0, 1.0), 0.1)]):
    for ti in np.arange(0.0, 8.0, dt):
        w, V = np.linalg.eig(A)
        xi = (V @ np.diag(np.exp(w * ti)) @ np.linalg.solve(V, x0)).real
        xi = xi + 0.01 * rng.standard_normal(2)
        lines.append(f"run{run + 1},{ti:.3f},{xi[0]:.5f},{xi[1]:.5f}")
mine = work / "my_measurements.csv"
mine.write_text("\n".join(lines) + "\n")
print("\n".join(lines[:5]), "\n...")

mydata = read_data(mine)
print("trajectories:", mydata.n_trajectories, [len(tk) for tk in mydata.t], "samples each")

code, out, err = symsindy_cli("fit", mine, "--symmetry", "rotation(x,y)")
print(out)

# %% [markdown]
# And `write_csv` for arrays you already have, here with derivative columns. Floats are written
# at full precision, so reading the file back gives the very same numbers.

# %%
t1 = np.linspace(0.0, 5.0, 51)
x1 = np.column_stack([np.cos(2 * t1), -np.sin(2 * t1)]) * np.exp(-0.1 * t1)[:, None]
write_csv(work / "from_arrays.csv", ["x", "y"], t1, x1, x_dot=x1 @ A.T)
print("".join((work / "from_arrays.csv").read_text().splitlines(keepends=True)[:3]))
back = read_data(work / "from_arrays.csv")
print(
    "exact round trip:",
    np.array_equal(back.t[0], t1) and np.array_equal(back.x[0], x1) and np.array_equal(back.x_dot[0], x1 @ A.T),
)

# %%
import shutil

shutil.rmtree(work)  # the temporary folder of this notebook
