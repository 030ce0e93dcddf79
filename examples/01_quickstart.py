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
# # Quickstart: enforce a symmetry you know
#
# A damped oscillator turns and decays in the plane:
#
# $$\dot x = -0.1\,x + 2\,y, \qquad \dot y = -2\,x - 0.1\,y .$$
#
# Rotating the state by any angle and then letting it evolve gives the same as letting it evolve
# and then rotating: the equations are *equivariant* under rotations of the $x$–$y$ plane,
# $f(Rx) = R f(x)$. If you know that about your system, you can tell the regression. Every model
# that breaks the symmetry is then off the table, fewer coefficients are left to estimate, and
# the same few noisy samples go further.
#
# This notebook fits the oscillator from 51 noisy samples with plain pysindy and with
# `SymmetricSINDy`, checks the symmetry of both models, and shows how to get the equations out
# (SymPy, LaTeX, JSON).

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pysindy as ps
from IPython.display import Math, display
from scipy.integrate import solve_ivp

from symsindy import SymmetricSINDy, equivariance_residual, get_system, load_model
from symsindy.model import default_differentiation

# %% [markdown]
# ## Data: a short, noisy trajectory
#
# The oscillator is in symsindy's catalogue of systems (see the catalogue tour notebook). We
# sample it every 0.1 time units up to $t = 5$, about 1.6 turns, and add Gaussian noise of 1% of
# each variable's RMS to the states. Only the noisy states are used below: derivatives are
# estimated from them.

# %%
system = get_system("damped_oscillator")
sim = system.simulate(t_end=5.0, dt=0.1, noise=0.01, random_state=5)
t, x = sim.t, sim.x[0]
print(f"{len(t)} samples of {system.variables}; true equations:")
for v in system.variables:
    print(f"  {v}' = {system.rhs[v]}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
for k, (v, c) in enumerate(zip(system.variables, ["C0", "C1"])):
    ax1.plot(t, sim.x_clean[0][:, k], "-", color=c, lw=1, alpha=0.6, label=f"{v} (exact)")
    ax1.plot(t, x[:, k], "o", color=c, ms=3, label=f"{v} (noisy samples)")
ax1.set_xlabel("time t (dimensionless)")
ax1.set_ylabel("state")
ax1.set_title("Training data")
ax1.set_ylim(-2.2, 3.2)
ax1.legend(fontsize="small", ncol=2, loc="upper right")
ax2.plot(sim.x_clean[0][:, 0], sim.x_clean[0][:, 1], "-", color="gray", lw=1, label="exact")
ax2.plot(x[:, 0], x[:, 1], "o", ms=3, label="noisy samples")
ax2.set_xlabel("x")
ax2.set_ylabel("y")
ax2.set_aspect("equal")
ax2.set_title("Phase plane: a decaying spiral")
ax2.legend(fontsize="small")
fig.tight_layout()

# %% [markdown]
# ## Plain pysindy
#
# A cubic polynomial library in two variables has 10 terms, so each equation has 10 unknown
# coefficients. We use pysindy's sequentially thresholded least squares (`STLSQ`) with the same
# threshold, ridge weight and derivative estimate (symsindy's default smoothed differences) that
# `SymmetricSINDy` uses below, so the only difference between the two fits is the symmetry.

# %%
library = ps.PolynomialLibrary(degree=3)
plain = ps.SINDy(
    optimizer=ps.STLSQ(threshold=0.05, alpha=0.05),
    feature_library=library,
    differentiation_method=default_differentiation(len(t)),
)
plain.fit(x, t=t, feature_names=["x", "y"])
plain.print()

# %% [markdown]
# ## SymmetricSINDy with `rotation(x,y)`
#
# The symmetry is written as a spec string over the variable names; `rotation(x,y)` is SO(2)
# acting on the $x$–$y$ plane. symsindy computes which coefficient matrices give equivariant
# models (a linear subspace), and fits inside it: thresholding never leaves the subspace, so the
# returned model is exactly symmetric.

# %%
model = SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), symmetry="rotation(x,y)", threshold=0.05)
model.fit(x, t=t, feature_names=["x", "y"])
model.print()
print(f"free coefficients: {model.coef_.size} without the symmetry, {model.subspace_.dim} with it")

# %% [markdown]
# Rotation equivariance leaves 4 free coefficients of the 20: the linear part must be
# $a\,\mathbb{1} + b\,J$ (a scaling plus a rotation), and the cubic part the same times
# $r^2 = x^2 + y^2$. Against the true coefficients:

# %%
C_true = system.true_coefficients(model.library_)
for name, C in [("plain pysindy", plain.coefficients()), ("SymmetricSINDy", model.coef_)]:
    pattern = np.array_equal(C != 0, C_true != 0)
    print(
        f"{name:15s} nonzero terms {np.count_nonzero(C):2d} (true 4)   "
        f"right terms: {pattern!s:5}   largest coefficient error {np.max(np.abs(C - C_true)):.3f}"
    )

# %% [markdown]
# ## Is the model symmetric?
#
# Two measures. The *equivariance residual* is the relative size of $X D_A - A X$, where $X$ is
# the coefficient matrix, $A$ the rotation generator and $D_A$ its action on the library terms;
# it is zero exactly when the model commutes with every rotation. The second is direct: rotate
# states by random angles and compare $f(Rx)$ with $R f(x)$.

# %%
print(
    f"equivariance residual  SymmetricSINDy: {model.equivariance_residual_:.1e}   "
    f"plain pysindy: {equivariance_residual(plain.coefficients(), model.action_):.1e}"
)
rotations = model.symmetry_
print(
    f"max |f(Rx) - R f(x)| / max|f|  SymmetricSINDy: {rotations.equivariance_error(model.predict, x, rng=0):.1e}   "
    f"plain pysindy: {rotations.equivariance_error(plain.predict, x, rng=0):.1e}"
)

# %% [markdown]
# ## Forecasting beyond the data
#
# Both models are integrated from the first sample to $t = 20$, four times the training window.
# A model with spurious terms can drift off the true spiral or even blow up; `forecast` stops
# the integration if the state grows past $10^3$ and we plot what it reached. (For a model that
# stays bounded, `model.simulate(x0, t)` does the same job.)


# %%
def forecast(f, x0, times, limit=1e3):
    """Integrate x' = f(x) from x0; stop early when |x| exceeds limit (a model that blows up)."""

    def too_large(_t, s):
        return limit - np.max(np.abs(s))

    too_large.terminal = True
    sol = solve_ivp(
        lambda _t, s: f(s[None, :])[0], (times[0], times[-1]), x0, t_eval=times, rtol=1e-9, atol=1e-9, events=too_large
    )
    return sol.t, sol.y.T


t_long = np.linspace(0.0, 20.0, 801)
exact = system.simulate(t_end=20.0, dt=0.025, x0=x[0])
tp, xp = forecast(plain.predict, x[0], t_long)
ts, xsym = forecast(model.predict, x[0], t_long)
fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
for k, (v, ax) in enumerate(zip(["x", "y"], axes)):
    ax.plot(exact.t, exact.x[0][:, k], "-", color="black", lw=2.5, alpha=0.35, label="true system")
    ax.plot(tp, xp[:, k], "--", color="C3", lw=1.3, label="plain pysindy")
    ax.plot(ts, xsym[:, k], "-", color="C0", lw=1.3, label="SymmetricSINDy")
    ax.plot(t, x[:, k], "o", ms=2.5, color="gray", label="training samples")
    ax.axvspan(t[0], t[-1], color="gray", alpha=0.08)
    ax.set_ylabel(v)
    ax.set_ylim(-2.6, 2.6)
    ax.grid(alpha=0.3)
axes[0].set_title("Forecast from the first sample (shaded: training window)")
axes[0].legend(fontsize="small", ncol=4, loc="upper right")
axes[1].set_xlabel("time t (dimensionless)")
fig.tight_layout()

# %% [markdown]
# ## How often? Twenty noise draws
#
# One noise draw is an anecdote. Repeat the comparison on 20 draws of the noise and count how
# often each method finds exactly the four true terms.

# %%
found = {"plain pysindy": 0, "SymmetricSINDy": 0}
for seed in range(20):
    xs = system.simulate(t_end=5.0, dt=0.1, noise=0.01, random_state=seed).x[0]
    p = ps.SINDy(
        optimizer=ps.STLSQ(threshold=0.05, alpha=0.05),
        feature_library=ps.PolynomialLibrary(degree=3),
        differentiation_method=default_differentiation(len(t)),
    )
    p.fit(xs, t=t, feature_names=["x", "y"])
    s = SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), symmetry="rotation(x,y)", threshold=0.05)
    s.fit(xs, t=t, feature_names=["x", "y"])
    found["plain pysindy"] += np.array_equal(p.coefficients() != 0, C_true != 0)
    found["SymmetricSINDy"] += np.array_equal(s.coef_ != 0, C_true != 0)
print(found)

fig, ax = plt.subplots(figsize=(5, 3))
bars = ax.bar(list(found), list(found.values()), color=["C3", "C0"])
ax.bar_label(bars)
ax.set_ylim(0, 23)
ax.set_ylabel("draws with exactly the true terms")
ax.set_title("Recovery from 51 samples, 1% noise (of 20 draws)")
fig.tight_layout()

# %% [markdown]
# ## Getting the equations out
#
# `model.sympy()` gives one SymPy expression per variable (built from the library's term
# structure, not by parsing text), `model.latex()` a LaTeX block for a paper, and
# `model.equations()` plain text.

# %%
exprs = model.sympy()
exprs

# %%
display(Math(model.latex()))
print(model.latex())

# %% [markdown]
# ## Saving and loading
#
# `model.save(path)` writes JSON: variables, equations as text, the symmetry, the library terms
# and the coefficients at full precision. `symsindy.load_model` reads it back (parsing the
# expressions safely) as a `SymbolicModel` that evaluates, simulates and prints like the fitted
# model. We write to a temporary folder here.

# %%
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "damped_oscillator_model.json"
    model.save(path)
    print(path.read_text()[:400], "...")
    loaded = load_model(path)

print(loaded)
loaded.print()
print("same right-hand side after the round trip:", np.array_equal(loaded.rhs(x), model.predict(x)))

# %% [markdown]
# ## What next
#
# * Don't know the symmetry? `02_discover_symmetries` finds it from data.
# * Conservation laws and Noether charges: `04_noether_conservation`.
# * Your own measurements in a CSV file: `06_your_own_csv`.
