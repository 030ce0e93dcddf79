"""Discovering a PDE's symmetries from field data: continuous, discrete, and the refit verdict."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from symsindy.pde import FieldData, SymmetricPDESINDy
from symsindy.pde._discover import discover_pde_symmetries


def _linear_fields(M, d, c=0.0, nx=64, nt=81, t_end=2.0, L=2 * np.pi, seed=0):
    """Exact solution of u_t = M u - c u_x + d u_xx for a vector u on a periodic grid (Fourier modes
    evolve by exp(t (M - (i c k + d k^2) I)))."""
    rng = np.random.default_rng(seed)
    M = np.asarray(M, float)
    nc = len(M)
    x = L * np.arange(nx) / nx
    k = 2 * np.pi * np.fft.fftfreq(nx, d=L / nx)
    u0 = np.zeros((nx, nc))
    for j in range(nc):
        for m in (1, 2, 3):
            u0[:, j] += rng.normal() * np.sin(m * x + rng.uniform(0, 2 * np.pi)) / m
    v0 = np.fft.fft(u0, axis=0)  # (nx, nc)
    t = np.linspace(0.0, t_end, nt)
    w, V = np.linalg.eig(M)
    Vinv = np.linalg.inv(V)
    out = []
    for tt in t:
        E = (V * np.exp(w * tt)) @ Vinv  # exp(t M)
        decay = np.exp(-(1j * c * k + d * k**2) * tt)
        out.append(np.real(np.fft.ifft((v0 @ E.T) * decay[:, None], axis=0)))
    return FieldData([f"u{j}" if nc > 2 else "uv"[j] for j in range(nc)], ["x"], {"x": x}, [t], [np.array(out)], "test")


def _discover(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(degree=2, derivative_order=2).fit(data)
        rows = model._rows(data, model.library_)
    return model, discover_pde_symmetries(rows, model.library_, data.names, data.axes, model.coef_, **kw)


@pytest.fixture(scope="module")
def lambda_omega_linear():
    # u_t = 0.1 u - v + 0.05 u_xx, v_t = u + 0.1 v + 0.05 v_xx: rotation(u,v), a dilation, flip(x)
    return _linear_fields([[0.1, -1.0], [1.0, 0.1]], d=0.05)


def test_the_phase_rotation_the_dilation_and_the_reflection_are_found(lambda_omega_linear):
    model, rep = _discover(lambda_omega_linear)
    assert model.complexity() == 6
    assert "rotation(u,v)" in rep.continuous and "scaling(u=1,v=1)" in rep.continuous
    assert rep.nullity == 2 and not rep.unnamed
    assert rep.discrete_generators == ["flip(x)"]
    # the half turn of rotation(u,v) is found, but it is in the continuous group: not a new generator
    assert "flip(u,v)" in [s for s, _ in rep.discrete]
    assert set(rep.accepted) == {"rotation(u,v)", "scaling(u=1,v=1)", "flip(x)"} and not rep.rejected
    assert rep.trivial == ["translation(x)"]
    text = "\n".join(rep.summary())
    assert "rotation(u,v)" in text and "accepted" in text and "REJECTED" not in text


def test_advection_has_no_reflection_of_the_domain():
    data = _linear_fields([[-0.2]], d=0.05, c=1.0)
    data = FieldData(["u"], data.axes, data.grid, data.t, data.u, "advection")
    _, rep = _discover(data)
    assert not any("x" in s for s, _ in rep.discrete)
    assert rep.discrete_generators == ["flip(u)"] and "scaling(u=1)" in rep.continuous
    assert "flip(u)" in rep.accepted


def test_the_refit_check_rejects_what_the_data_break(lambda_omega_linear):
    """A tolerance so loose that every signed permutation is proposed: the refit check rejects
    the ones the data break, and the generating set is formed from the others only."""
    _, rep = _discover(lambda_omega_linear, tol=10.0)
    assert {"swap(u,v)", "flip(u)", "flip(x)+swap(u,v)"} <= set(rep.rejected)
    assert all(rep.refit[s]["cost"] > 100 * rep.refit[s]["allowed"] for s in rep.rejected)
    assert rep.discrete_generators == ["flip(x)"]
    assert not set(rep.accepted) & set(rep.rejected)
    assert "REJECTED" in "\n".join(rep.summary())


@pytest.fixture(scope="module")
def burgers_fields():
    from test_pde_model import burgers

    t, x, u = burgers(nx=64, nt=81)
    return FieldData(["u"], ["x"], {"x": x}, [t], [u], "burgers")


def test_burgers_reflection_is_found_and_the_shorter_specs_it_is_not_are_rejected(burgers_fields):
    _, rep = _discover(burgers_fields, tol=10.0)
    assert rep.nullity == 0 and rep.continuous == []
    assert rep.discrete_generators == ["flip(u,x)"] and rep.accepted == ["flip(u,x)"]
    assert set(rep.rejected) == {"flip(u)", "flip(x)"}
    _, rep = _discover(burgers_fields)
    assert [s for s, _ in rep.discrete] == ["flip(u,x)"] and rep.rejected == []


def test_so_family_and_bad_input(lambda_omega_linear):
    model, rep = _discover(lambda_omega_linear, family="so")
    assert rep.continuous == ["rotation(u,v)"] and len(rep.candidates) == 1
    rows = model._rows(lambda_omega_linear, model.library_)
    with pytest.raises(ValueError, match="family 'affine'"):
        discover_pde_symmetries(rows, model.library_, ["u", "v"], ["x"], model.coef_, family="affine")
    with pytest.raises(ValueError, match="coef: expected shape"):
        discover_pde_symmetries(rows, model.library_, ["u", "v"], ["x"], model.coef_[:1])
    d = rep.to_dict()
    assert d["accepted"] == rep.accepted and d["spectrum"][0] == pytest.approx(rep.spectrum[0])


def _heat_2d(n=24, nt=41, t_end=1.0, d=0.1, seed=0, L=2 * np.pi):
    """Exact u_t = d (u_xx + u_yy) on a periodic square, from a few random Fourier modes."""
    rng = np.random.default_rng(seed)
    x = L * np.arange(n) / n
    k = 2 * np.pi * np.fft.fftfreq(n, d=L / n)
    KX, KY = np.meshgrid(k, k, indexing="ij")
    X, Y = np.meshgrid(x, x, indexing="ij")
    modes = [(1, 0), (0, 1), (1, 1), (2, 1), (1, -2)]
    u0 = sum(rng.normal() * np.sin(a * X + b * Y + rng.uniform(0, 2 * np.pi)) for a, b in modes)
    t = np.linspace(0.0, t_end, nt)
    v0 = np.fft.fft2(u0)
    u = np.array([np.real(np.fft.ifft2(v0 * np.exp(-d * (KX**2 + KY**2) * tt))) for tt in t])[..., None]
    return FieldData(["u"], ["x", "y"], {"x": x, "y": x}, [t], [u], "heat")


def test_the_rotation_of_a_2d_domain_and_its_reflections_are_found():
    model, rep = _discover(_heat_2d())
    assert model.complexity() == 2
    assert "rotation(x,y)" in rep.continuous and "scaling(u=1)" in rep.continuous and rep.nullity == 2
    assert set(rep.discrete_generators) == {"flip(u)", "flip(x)"} and not rep.rejected
    assert "swap(x,y)" in rep.refit and rep.refit["swap(x,y)"]["passed"]
    assert "rotation(x,y)" in rep.accepted


def test_symmetry_auto_enforces_what_the_data_accept(lambda_omega_linear):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(symmetry="auto", formulation="strong").fit(lambda_omega_linear)
    assert set(model.enforced_specs_) == {"rotation(u,v)", "scaling(u=1,v=1)", "flip(x)"}
    assert model.symmetry_specs_ == model.enforced_specs_
    assert model.equivariance_residual_ <= 1e-10 and model.complexity() == 6
    assert model.discovery_.accepted == model.enforced_specs_
    # the enforced subspace is that of the three specs
    assert model.subspace_.dim < model.coef_.size


def test_symmetry_auto_on_noisy_burgers_in_the_weak_form_finds_the_reflection(burgers_fields):
    rng = np.random.default_rng(3)
    u = burgers_fields.u[0]
    noisy = FieldData(
        ["u"], ["x"], burgers_fields.grid, burgers_fields.t, [u + 0.05 * u.std() * rng.standard_normal(u.shape)], "b"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(symmetry="auto", formulation="weak").fit(noisy)
    assert model.formulation_ == "weak" and model.enforced_specs_ == ["flip(u,x)"]
    assert sorted(model.term_names_[k] for k in np.flatnonzero(model.coef_[0])) == ["u*u_x", "u_xx"]
    assert model.equivariance_residual_ <= 1e-10


def test_discovery_options_are_checked(lambda_omega_linear):
    with pytest.raises(ValueError, match="discovery: unknown option"):
        SymmetricPDESINDy(symmetry="auto", discovery={"nope": 1}).fit(lambda_omega_linear)
    with pytest.raises(ValueError, match="discovery: expected a dict"):
        SymmetricPDESINDy(symmetry="auto", discovery=[1]).fit(lambda_omega_linear)
    with pytest.raises(ValueError, match="symmetry='auto' only"):
        SymmetricPDESINDy(symmetry="flip(x)", discovery={"tol": 0.1}).fit(lambda_omega_linear)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(symmetry="auto", formulation="strong", discovery={"family": "so", "discrete": False})
        model.fit(lambda_omega_linear)
    assert model.enforced_specs_ == ["rotation(u,v)"]


def test_fit_pde_symmetry_auto_prints_the_discovery_and_writes_it(lambda_omega_linear, tmp_path, capsys):
    import json

    from symsindy.cli import main

    d = lambda_omega_linear
    path = tmp_path / "lo.npz"
    np.savez(path, t=d.t[0], x=d.grid["x"], u=d.u[0], names=np.array(d.names))
    out = tmp_path / "lo.json"
    assert main(["fit-pde", str(path), "--symmetry", "auto", "--formulation", "strong", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "discovery: continuous: rotation(u,v); scaling(u=1,v=1)" in text
    assert "symmetry: " in text and "(discovered)" in text and "rotation(u,v)" in text
    payload = json.loads(out.read_text())
    assert set(payload["symmetry"]) == {"rotation(u,v)", "scaling(u=1,v=1)", "flip(x)"}
    assert payload["discovery"]["accepted"] == payload["symmetry"]
    assert main(["fit-pde", str(path), "--symmetry", "auto", "--symmetry", "flip(x)"]) != 0
    assert "--symmetry auto: discovers the symmetry; give it alone" in capsys.readouterr().err


def test_the_held_out_refit_check_rejects_what_the_data_break(burgers_fields):
    """symmetry="auto" judges on held-out blocks of time: every signed permutation proposed
    (a loose tolerance), only Burgers' own reflection passes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(symmetry="auto", discovery={"tol": 10.0}).fit(burgers_fields)
    rep = model.discovery_
    assert model.formulation_ == "weak" and rep.accepted == ["flip(u,x)"]
    assert {"flip(u)", "flip(x)"} <= set(rep.rejected)
    assert all(c.get("held_out") and c["blocks"] == 5 for c in rep.refit.values())
    assert all(rep.refit[s]["cost"] > 10 * rep.refit[s]["allowed"] for s in rep.rejected)


def test_noisy_ginzburg_landau_in_the_weak_form_keeps_its_phase_rotation():
    """In-sample, the weak rows' correlated errors made the F test reject the true SO(2) at 5 %
    noise; held out, it passes and is enforced."""
    from symsindy.pde import get_pde_system

    system = get_pde_system("ginzburg_landau")
    data = system.simulate(nx=96, nt=81, t_end=40.0, noise=0.05, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(degree=3, symmetry="auto", formulation="weak").fit(data)
    assert "rotation(u,v)" in model.enforced_specs_ and "flip(x)" in model.enforced_specs_
    truth = system.coefficients(model.terms_)
    assert np.array_equal(model.coef_ != 0, truth != 0)
    assert model.equivariance_residual_ <= 1e-10
