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
# # Ginzburg–Landau from noisy fields
#
# The complex Ginzburg–Landau equation, written for A = u + i v,
#
# $$A_t = A + (1 + i b)\,A_{xx} - (1 + i c)\,|A|^2 A,$$
#
# is invariant under a change of phase, A ↦ e^{iθ} A: a rotation of the components (u, v), the
# spec `rotation(u,v)`. It is also invariant under the reflection x ↦ −x, `flip(x)`. With b = 2,
# c = −1 (1 + bc < 0) its solutions are turbulent. This notebook learns the equation from noisy
# fields with `SymmetricPDESINDy`: without a symmetry and with the SO(2) and the reflection
# enforced, in the strong form (u_t by finite differences) and in the weak form (test-function
# integrals, no derivative of the data in time), and then lets `symmetry="auto"` look for the
# symmetry itself.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

from symsindy.pde import FieldData, SymmetricPDESINDy, get_pde_system, pde_library, pde_terms

# pysindy 2.1's PDELibrary warns about its own deprecated arguments on every call
warnings.filterwarnings("ignore", message="is_uniform and periodic have been deprecated")

# %% [markdown]
# ## The data
#
# The catalogue's `ginzburg_landau` system carries the equation in SymPy, its symmetries and a
# pseudo-spectral solver. `simulate` returns a `FieldData`: 101 times on [0, 50] and 128 points
# of a periodic grid on [0, 50).

# %%
system = get_pde_system("ginzburg_landau")
for c, rhs in system.rhs.items():
    print(f"{c}_t = {rhs}")
print("symmetries:", system.symmetries)

data = system.simulate(random_state=0)
print(data.u[0].shape, "(times, grid points, components)")

# %% [markdown]
# Noise is added as a fraction η of each component's standard deviation, the same draw scaled for
# every η so that only its size changes.

# %%
rng = np.random.default_rng(1)
u0 = data.u[0]
draw = rng.normal(size=u0.shape) * u0.std(axis=(0, 1))


def with_noise(eta):
    return FieldData(data.names, data.axes, data.grid, data.t, [u0 + eta * draw], data.source)


t, x = data.t[0], data.grid["x"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, field, title in (
    (axes[0], np.hypot(u0[..., 0], u0[..., 1]), "|A|, noise-free"),
    (axes[1], with_noise(0.10).u[0][..., 0], "u = Re A, 10% noise"),
):
    im = ax.pcolormesh(x, t, field, shading="auto", cmap="viridis")
    ax.set_xlabel("x")
    ax.set_title(title)
    fig.colorbar(im, ax=ax)
axes[0].set_ylabel("t")
fig.tight_layout()

# %% [markdown]
# ## The truth in the library
#
# The library is cubic in (u, v) with derivatives up to second order: 50 terms per component, 14
# true entries. The symmetry ties them: under `rotation(u,v)` and `flip(x)` the equivariant
# models of this library form a subspace of much lower dimension than the 100 free coefficients.

# %%
lib = pde_library(data, system.degree, system.derivative_order)
terms = pde_terms(lib, data.names, data.axes)
truth = system.coefficients(terms)
print(len(terms), "terms per component;", np.count_nonzero(truth), "true entries")

known = ["rotation(u,v)", "flip(x)"]
m = SymmetricPDESINDy(degree=3, symmetry=known, formulation="weak").fit(data)
print("free coefficients with the symmetry enforced:", m.subspace_.dim, "of", truth.size)


# %% [markdown]
# ## Four fits at 5% noise
#
# Each fit uses the automatic threshold (no knowledge of the truth). The equations are printed
# with their equivariance residual, |Ξ D − C Ξ| relative to |Ξ| under the enforced symmetry (0 for
# a fit without one), and the relative coefficient error |Ξ − Ξ_true| / |Ξ_true|.


# %%
def fit(eta, formulation, symmetry):
    return SymmetricPDESINDy(degree=3, symmetry=symmetry, formulation=formulation).fit(with_noise(eta))


def error(model):
    return np.linalg.norm(model.coef_ - truth) / np.linalg.norm(truth)


def exact(model):
    return bool(np.array_equal(model.coef_ != 0, truth != 0))


for formulation in ("strong", "weak"):
    for symmetry in (None, known):
        model = fit(0.05, formulation, symmetry)
        label = "no symmetry" if symmetry is None else " + ".join(symmetry)
        print(f"--- {formulation} form, {label}")
        for line in model.equations(precision=3):
            print(line)
        print(
            f"equivariance residual {model.equivariance_residual_:.1e}, coefficient error {error(model):.3f}, "
            f"{model.complexity()} terms, exact support: {exact(model)}\n"
        )

# %% [markdown]
# The strong form does not survive the noise: u_t and u_xx by finite differences of noisy samples
# are mostly noise, and the fit keeps wrong terms and misses true ones with or without the
# symmetry. The weak form integrates the noise away. With the symmetry enforced, the returned PDE
# is equivariant to rounding error (a residual of order 1e-17), and the terms the rotation ties
# have one shared coefficient: u_xx in u_t and v_xx in v_t, −b v_xx in u_t and b u_xx in v_t, the
# cubic terms pairwise.

# %% [markdown]
# ## Coefficient errors at two noise levels

# %%
print(f"{'noise':>6s} {'form':>7s} {'symmetry':>24s} {'error':>8s} {'terms':>6s} exact")
for eta in (0.02, 0.20):
    for formulation in ("strong", "weak"):
        for symmetry in (None, known):
            model = fit(eta, formulation, symmetry)
            label = "none" if symmetry is None else " + ".join(symmetry)
            print(
                f"{eta:6.0%} {formulation:>7s} {label:>24s} {error(model):8.3f} {model.complexity():6d} {exact(model)}"
            )

# %% [markdown]
# ## Finding the symmetry: `symmetry="auto"`
#
# With `symmetry="auto"` the model is first fitted without symmetry; the rotations of the
# components (the near-null space of the Lie derivative over gl(2)) and every signed permutation
# of components and axes are then put to a refit check on the data, and what passes is enforced
# in a second fit.

# %%
auto = SymmetricPDESINDy(degree=3, symmetry="auto", formulation="weak").fit(with_noise(0.05))
for line in auto.discovery_.summary():
    print(line)
print("\nenforced:", auto.enforced_specs_)
for line in auto.equations(precision=3):
    print(line)
print(f"coefficient error {error(auto):.3f}, exact support: {exact(auto)}")

# %% [markdown]
# ## What this shows, and what it does not
#
# - On this one field the weak form recovers the exact equation at 2% and 5% noise with or
#   without the symmetry, and enforcing `rotation(u,v)` and `flip(x)` makes the coefficients
#   several times more accurate (0.006 against 0.034 at 5%). At 20% only the enforced weak fit
#   keeps the exact support (error 0.07; without the symmetry 20 terms and error 0.7).
# - The strong form fails at 2% noise whatever is enforced: a symmetry removes the terms it
#   forbids and ties the ones it relates, but it cannot repair a derivative that is mostly noise.
# - One initial field and one noise draw are an anecdote. How often each configuration recovers
#   the exact support over seeds and noise levels, side by side with pysindy's `PDELibrary` and
#   `WeakPDELibrary`, is measured by `benchmarks/bench_pde.py` (`benchmarks/results/pde.md`).
# - `symmetry="auto"` is judged by a refit check, which can only reject a symmetry the data break
#   by more than the noise hides; with heavier noise it can miss the rotation or accept a smaller
#   group, and the benchmark counts how often it finds both.
