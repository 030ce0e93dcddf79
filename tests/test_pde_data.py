"""Field data for PDE discovery: NPZ files read into runs on a grid, with one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from symsindy.pde import FieldData, read_fields


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _burgers_like(nt=6, nx=8):
    t = np.linspace(0, 1, nt)
    x = np.linspace(0, 2 * np.pi, nx, endpoint=False)
    u = np.sin(x[None, :] - t[:, None])[..., None]
    return t, x, u


def test_one_dimensional_file(tmp_path):
    t, x, u = _burgers_like()
    data = read_fields(_write(tmp_path / "b.npz", t=t, x=x, u=u, names=np.array(["u"])))
    assert isinstance(data, FieldData)
    assert data.names == ["u"] and data.axes == ["x"] and data.shape == (8,) and data.n_runs == 1
    np.testing.assert_array_equal(data.u[0], u)
    assert data.spacing("x") == pytest.approx(2 * np.pi / 8) and data.time_step() == pytest.approx(0.2)


def test_two_dimensional_runs_and_default_names(tmp_path):
    t = np.linspace(0, 1, 4)
    x, y = np.linspace(0, 1, 5), np.linspace(0, 2, 6)
    u = np.random.default_rng(0).normal(size=(3, 4, 5, 6, 2))
    data = read_fields(_write(tmp_path / "f.npz", t=t, x=x, y=y, u=u, trajectory=np.arange(3)))
    assert data.names == ["u", "v"] and data.axes == ["x", "y"] and data.shape == (5, 6) and data.n_runs == 3
    np.testing.assert_array_equal(data.u[2], u[2])
    # named axes, and several files as several runs
    a = _write(tmp_path / "a.npz", t=t, r=x, u=u[0, :, :, 0, :1], axes=np.array(["r"]))
    both = read_fields([a, a])
    assert both.axes == ["r"] and both.n_runs == 2 and "and 1 more" in both.source


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("u"), "missing key 'u'"),
        (lambda d: d.update(u=d["u"][:, :-1]), r"'u': shape \(6, 7, 1\), expected \(nt, nx, ncomp\)"),
        (lambda d: d.update(u=np.where(d["u"] > 0.99, np.nan, d["u"])), "'u': non-finite value nan"),
        (lambda d: d.update(x=d["x"][::-1]), "'x': points must be strictly increasing"),
        (lambda d: d.update(names=np.array(["u", "v"])), "'names': 2 names for 1 components"),
        (lambda d: d.update(names=np.array(["x"])), "'x' is both a component and an axis"),
        (lambda d: d.update(names=np.array(["2u"])), "variable name '2u' is not valid"),
        (lambda d: d.update(axes=np.array(["x", "y", "z"])), "expected one or two spatial axes"),
        (lambda d: d.update(axes=np.array(["r"])), "missing key 'r'"),
    ],
)
def test_bad_files_are_named(tmp_path, change, message):
    t, x, u = _burgers_like()
    d = {"t": t, "x": x, "u": u, "names": np.array(["u"])}
    change(d)
    path = _write(tmp_path / "bad.npz", **d)
    with pytest.raises(ValueError, match=message) as info:
        read_fields(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_non_uniform_grids_are_refused_where_a_method_needs_them(tmp_path):
    t, x, u = _burgers_like()
    x = x.copy()
    x[3] += 0.05
    data = read_fields(_write(tmp_path / "n.npz", t=t, x=x, u=u))
    with pytest.raises(ValueError, match="axis 'x': the grid is not uniform .* at index 2"):
        data.spacing("x")
    with pytest.raises(ValueError, match="unknown axis 'y'"):
        data.spacing("y")


def test_files_on_different_grids_are_refused(tmp_path):
    t, x, u = _burgers_like()
    a = _write(tmp_path / "a.npz", t=t, x=x, u=u)
    b = _write(tmp_path / "b.npz", t=t, x=x * 2, u=u)
    with pytest.raises(ValueError, match="axis 'x': the grid differs"):
        read_fields([a, b])
    with pytest.raises(ValueError, match="no such file"):
        read_fields(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable NPZ file"):
        read_fields(tmp_path / "junk.npz")
