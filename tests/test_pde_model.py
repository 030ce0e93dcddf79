"""SymmetricPDESINDy: PDE-FIND in the strong form with the symmetry enforced exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy

from symsindy.pde import FieldData, SymmetricPDESINDy


def burgers(nx=128, nt=101, t_end=2.0, nu=0.1, seed=0, L=2 * np.pi):
    """Pseudo-spectral Burgers u_t = -u u_x + nu u_xx on a periodic grid, RK4 with an integrating factor."""
    rng = np.random.default_rng(seed)
    x = L * np.arange(nx) / nx
    k = 2 * np.pi * np.fft.rfftfreq(nx, d=L / nx)
    u0 = sum(rng.normal() * np.sin(m * x + rng.uniform(0, 2 * np.pi)) for m in (1, 2, 3)) / 2
    t = np.linspace(0, t_end, nt)
    dt_out = t[1] - t[0]
    sub = 50
    h = dt_out / sub
    E = np.exp(-nu * k**2 * h / 2)
    E2 = E**2

    def N(v):
        u = np.fft.irfft(v, n=nx)
        return -0.5j * k * np.fft.rfft(u * u) * (np.abs(k) < (2 / 3) * k.max())

    v = np.fft.rfft(u0)
    out = [u0]
    for _ in range(nt - 1):
        for _ in range(sub):
            a = h * N(v)
            b = h * N(E * (v + a / 2))
            c = h * N(E * v + b / 2)
            d = h * N(E2 * v + E * c)
            v = E2 * v + (E2 * a + 2 * E * (b + c) + d) / 6
        out.append(np.fft.irfft(v, n=nx))
    return t, x, np.array(out)[..., None]


@pytest.fixture(scope="module")
def burgers_data():
    t, x, u = burgers()
    return FieldData(["u"], ["x"], {"x": x}, [t], [u], "burgers")


def test_noise_free_burgers_is_recovered_with_its_reflection_enforced(burgers_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(symmetry="flip(x)+flip(u)").fit(burgers_data)
    u, ux, uxx = sympy.symbols("u u_x u_xx")
    expr = model.sympy()["u"]
    assert set(expr.free_symbols) == {u, ux, uxx} and model.complexity() == 2
    assert float(expr.coeff(u * ux)) == pytest.approx(-1.0, abs=0.01)
    assert float(expr.coeff(uxx)) == pytest.approx(0.1, abs=0.002)
    assert model.equations()[0].startswith("u_t = ")
    assert model.equivariance_residual_ <= 1e-10
    # the model's u_t on the field, and its score against the field's own u_t
    (ut,) = model.predict(burgers_data)
    field = burgers_data.u[0][..., 0]
    d1 = np.gradient(field, burgers_data.grid["x"], axis=1)
    d2 = np.gradient(d1, burgers_data.grid["x"], axis=1)
    expected = float(expr.coeff(u * ux)) * field * d1 + float(expr.coeff(uxx)) * d2
    assert ut.shape == burgers_data.u[0].shape
    # the same PDE by other finite differences: equal up to their discretisation error
    np.testing.assert_allclose(ut[:, 5:-5, 0], expected[:, 5:-5], atol=0.02 * np.abs(expected).max())
    assert model.score(burgers_data) > 0.999


def test_noisy_fits_stay_exactly_equivariant(burgers_data):
    """At 1% noise the strong form's finite differences mislead both fits; the enforced one holds
    only terms the reflection allows, exactly."""
    rng = np.random.default_rng(1)
    u = burgers_data.u[0]
    noisy = FieldData(["u"], ["x"], burgers_data.grid, burgers_data.t, [u + 0.01 * u.std() * rng.normal(size=u.shape)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(symmetry="flip(x)+flip(u)", formulation="strong").fit(noisy)
    allowed = {"u", "u_xx", "u*u_x", "u**2*u_xx"}
    kept = {name for name, c in zip(model.term_names_, model.coef_[0]) if c != 0}
    assert kept and kept <= allowed
    assert model.equivariance_residual_ <= 1e-10


def test_bad_input_is_named(burgers_data):
    with pytest.raises(ValueError, match="data: expected FieldData"):
        SymmetricPDESINDy().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="edge 0"):
        SymmetricPDESINDy(edge=0).fit(burgers_data)


def test_fit_pde_command_prints_and_writes_the_equations(burgers_data, tmp_path, capsys):
    import json

    from symsindy.cli import main
    from symsindy.expressions import parse_expression

    path = tmp_path / "burgers.npz"
    np.savez(path, t=burgers_data.t[0], x=burgers_data.grid["x"], u=burgers_data.u[0], names=np.array(["u"]))
    out = tmp_path / "burgers.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit-pde", str(path), "--symmetry", "flip(x)+flip(u)", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert (
        text.startswith("u_t = ") and "symmetry: flip(x)+flip(u)" in text and "equivariance residual: 0.0e+00" in text
    )
    d = json.loads(out.read_text())
    assert d["symmetry"] == ["flip(x)+flip(u)"] and d["components"] == ["u"]
    expr = parse_expression(d["equations"]["u"], ["u", "u_x", "u_xx"])
    u, ux, uxx = sympy.symbols("u u_x u_xx")
    assert float(expr.coeff(u * ux)) == pytest.approx(-1.0, abs=0.01) and float(expr.coeff(uxx)) == pytest.approx(
        0.1, abs=0.002
    )
    assert d["threshold_rule"] == "auto (mstls, sparsity weight 0.3)"
    assert main(["fit-pde", str(path), "--formulation", "strong"]) == 0
    text = capsys.readouterr().out
    assert "formulation: strong (requested)" in text and "(automatic, sparsity weight 0.3)" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit-pde", str(path), "--sparsity-weight", "1", "--threshold", "auto", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["threshold_rule"] == "auto (mstls, sparsity weight 1)"
    assert main(["fit-pde", str(path), "--threshold", "0.05", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["threshold_rule"] == "given"
    with pytest.raises(SystemExit):
        main(["fit-pde", str(path), "--sparsity-weight", "-1"])
