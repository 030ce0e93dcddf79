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
# # symsindy's constraints inside pysindy
#
# `SymmetricSINDy` is a convenience. If you already have a pysindy workflow, keep it: symsindy
# can hand the symmetry to pysindy in two forms.
#
# 1. **Equality constraints** $C\,\mathrm{vec}(\Xi) = 0$ for pysindy's `ConstrainedSR3`, from
#    `symsindy.pysindy_constraints`.
# 2. **An optimizer**, `symsindy.ConstrainedSTLSQ`: sequentially thresholded least squares that
#    searches only the equivariant models (a basis $Q$ of them: $\mathrm{vec}(\Xi) = Qz$). It is a
#    pysindy `BaseOptimizer`, so it drops into `ps.SINDy` like `ps.STLSQ`.
#
# Both use pysindy's **feature ordering** of the coefficients: the entry for library term $j$
# in the equation of variable $i$ sits at index $j \cdot n_{\text{variables}} + i$. That is why
# `ConstrainedSR3` below gets `constraint_order="feature"`.
#
# The example: the Hopf normal form, rotation symmetric, with a cubic library, from three noisy
# trajectories.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pysindy as ps

from symsindy import (
    ConstrainedSTLSQ,
    Symmetry,
    equivariance_residual,
    equivariant_subspace,
    get_system,
    induced_action,
    pysindy_constraints,
)

hopf = get_system("hopf")
starts = np.array([[0.1, 0.0], [2.0, 0.0], [0.0, -1.5]])
sim = hopf.simulate(t_end=10.0, dt=0.02, x0=starts, noise=0.01, random_state=0)
X = np.vstack(sim.x)
names = ["x", "y"]
for v in names:
    print(f"{v}' = {hopf.rhs[v]}")

# %% [markdown]
# ## 1. Constraints for `ConstrainedSR3`
#
# `pysindy_constraints(library, symmetry, x=data)` fits the library on the data (to know its
# terms) and returns `(constraint_lhs, constraint_rhs)`. The rows are independent, as pysindy
# needs, and the right-hand side is zero: equivariance is a homogeneous linear condition.

# %%
library = ps.PolynomialLibrary(degree=3)
rotation = Symmetry(names, "rotation(x,y)")
lhs, rhs = pysindy_constraints(library, rotation, x=X)
n_coef = lhs.shape[1]
print(
    f"{n_coef} coefficients (10 terms x 2 equations), {lhs.shape[0]} constraints, "
    f"{n_coef - lhs.shape[0]} free coefficients left"
)

# %% [markdown]
# What does a constraint say? Label each column by (equation, term) in feature order. Many rows
# just forbid a term (a constant, or any even-degree term: these change sign differently from
# the state under the half turn). The others tie coefficients together:

# %%
terms = library.get_feature_names(names)
labels = [f"{names[k % 2]}':{terms[k // 2]}" for k in range(n_coef)]
nonzero = np.abs(lhs) > 1e-12
print("rows forbidding one term:", int(np.sum(nonzero.sum(axis=1) == 1)))
for row in lhs[nonzero.sum(axis=1) > 1][:4]:
    parts = [f"{c:+.3g}*[{labels[k]}]" for k, c in enumerate(row) if abs(c) > 1e-12]
    print(" ".join(parts), "= 0")

# %% [markdown]
# Now pysindy's own optimizer with these constraints. `reg_weight_lam` sets the sparsity
# (for the default $\ell_0$ penalty, coefficients below $\sqrt{2\lambda\nu} = 0.1$ are dropped).
# For comparison, the same without constraints (`ps.SR3`).

# %%
differentiation = ps.SmoothedFiniteDifference()

sr3 = ps.SINDy(
    optimizer=ps.SR3(reg_weight_lam=0.005),
    feature_library=ps.PolynomialLibrary(degree=3),
    differentiation_method=differentiation,
)
sr3.fit(sim.x, t=sim.t, feature_names=names)
print("SR3 (no constraints):")
sr3.print()

csr3 = ps.SINDy(
    optimizer=ps.ConstrainedSR3(
        reg_weight_lam=0.005,
        constraint_lhs=lhs,
        constraint_rhs=rhs,
        constraint_order="feature",
        equality_constraints=True,
    ),
    feature_library=ps.PolynomialLibrary(degree=3),
    differentiation_method=differentiation,
)
csr3.fit(sim.x, t=sim.t, feature_names=names)
print("ConstrainedSR3 with the rotation constraints:")
csr3.print()

# pysindy's coefficients() is (variables x terms); its transpose flattened is the feature ordering
print(f"largest constraint violation: {np.max(np.abs(lhs @ csr3.coefficients().T.ravel())):.1e}")

# %% [markdown]
# ## 2. `ConstrainedSTLSQ` inside `ps.SINDy`
#
# The optimizer takes a basis of the equivariant models instead of constraints. Get it from the
# library's induced action: `induced_action(fitted_library, symmetry)` gives the matrices by
# which the symmetry acts on the library terms, and `equivariant_subspace` their common solution
# space, with a readable basis (exact rationals where possible).

# %%
fitted_library = ps.PolynomialLibrary(degree=3).fit(X)
action = induced_action(fitted_library, rotation)
subspace = equivariant_subspace(action)
print(f"equivariant subspace: dimension {subspace.dim}; basis shape {subspace.basis.shape}")

stlsq = ps.SINDy(
    optimizer=ps.STLSQ(threshold=0.1),
    feature_library=ps.PolynomialLibrary(degree=3),
    differentiation_method=differentiation,
)
stlsq.fit(sim.x, t=sim.t, feature_names=names)
print("STLSQ (no constraints):")
stlsq.print()

cstlsq = ps.SINDy(
    optimizer=ConstrainedSTLSQ(basis=subspace.basis, threshold=0.1),
    feature_library=ps.PolynomialLibrary(degree=3),
    differentiation_method=differentiation,
)
cstlsq.fit(sim.x, t=sim.t, feature_names=names)
print("ConstrainedSTLSQ in the rotation-equivariant subspace:")
cstlsq.print()

# %% [markdown]
# Thresholding inside the subspace keeps the model in it: small coefficients are removed by
# adding "this coefficient is zero" to the constraints and refitting, so the symmetry holds
# exactly in the returned `coef_`, not only before the last thresholding step.
#
# ## Comparing the four
#
# All four share the library and derivative estimate. The equivariance residual is the relative
# size of $\Xi D_A - A\Xi$ (zero for an exactly rotation-symmetric model).

# %%
C_true = hopf.true_coefficients(fitted_library)
fits = {"SR3": sr3, "ConstrainedSR3": csr3, "STLSQ": stlsq, "ConstrainedSTLSQ": cstlsq}
print(f"{'optimizer':17s} {'terms':>5s} {'max coef. error':>16s} {'equivariance residual':>22s}")
for name, m in fits.items():
    C = m.coefficients()
    print(
        f"{name:17s} {np.count_nonzero(C):5d} {np.max(np.abs(C - C_true)):16.3f} "
        f"{equivariance_residual(C, action):22.1e}"
    )

# %% [markdown]
# The residual as a picture: rotate the data by an angle $\theta$ and measure how far each model
# is from commuting with the rotation, $\max_k |f(R_\theta x_k) - R_\theta f(x_k)| / \max_k |f(x_k)|$.
# The constrained models sit at rounding error for every angle. (The unconstrained ones are
# exact at $\theta = \pi$: with only odd terms left, they commute with the half turn $x \mapsto -x$.)

# %%
angles = np.linspace(0.0, 2 * np.pi, 181)
fig, ax = plt.subplots(figsize=(8, 4))
for (name, m), style, color in zip(fits.items(), ["--", "-", ":", "-"], ["C0", "C0", "C3", "C3"]):
    fx = m.predict(X)
    scale = np.max(np.abs(fx))
    errors = []
    for a in angles:
        R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        errors.append(np.max(np.abs(m.predict(X @ R.T) - fx @ R.T)) / scale)
    ax.semilogy(angles, np.maximum(errors, 1e-17), style, color=color, lw=1.5, label=name)
ax.set_xlabel("rotation angle θ (radians)")
ax.set_ylabel("max |f(Rx) − R f(x)| / max |f(x)|")
ax.set_xticks(np.pi * np.arange(5) / 2, ["0", "π/2", "π", "3π/2", "2π"])
ax.set_ylim(1e-17, 1)
ax.grid(alpha=0.3, which="both")
ax.set_title("How far each fitted model is from rotation symmetric")
ax.legend(fontsize="small", ncol=2, loc="center right")
fig.tight_layout()

# %% [markdown]
# Any symmetry in the spec grammar works the same way, also several at once
# (`Symmetry(names, ["rotation(x,y)", "flip(z)"])`), and any library whose induced action symsindy
# can compute: polynomial libraries exactly, others symbolically or by sampling (see the README).
