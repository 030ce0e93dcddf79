"""Tests for symsindy.io: CSV/NPZ reading, validation messages, exact round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from symsindy.io import Dataset, read_data, read_csv, write_csv


def _write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


# --------------------------------------------------------------------------- CSV, good input


def test_csv_single_trajectory(tmp_path):
    p = _write(tmp_path, "t,x,y\n0,1,2\n0.5,3,4\n1.0,5,6\n")
    ds = read_data(p)
    assert isinstance(ds, Dataset)
    assert ds.variables == ["x", "y"]
    assert ds.n_trajectories == 1 and ds.n_samples == 3
    np.testing.assert_array_equal(ds.t[0], [0, 0.5, 1.0])
    np.testing.assert_array_equal(ds.x[0], [[1, 2], [3, 4], [5, 6]])
    assert ds.x_dot is None
    assert ds.source == str(p)


def test_csv_column_order_and_derivatives(tmp_path):
    # columns in any order; derivatives matched to variables by name
    p = _write(tmp_path, "y_dot,x,t,y,x_dot\n10,1,0,2,20\n11,3,1,4,21\n")
    ds = read_csv(p)
    assert ds.variables == ["x", "y"]
    np.testing.assert_array_equal(ds.x[0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(ds.x_dot[0], [[20, 10], [21, 11]])


def test_csv_trajectories_grouped_in_order_of_first_appearance(tmp_path):
    text = "trajectory,t,x\nb,0,1\na,0,10\nb,1,2\na,1,11\nb,2,3\n"
    ds = read_data(_write(tmp_path, text))
    assert ds.n_trajectories == 2 and ds.n_samples == 5
    np.testing.assert_array_equal(ds.x[0][:, 0], [1, 2, 3])  # 'b' came first
    np.testing.assert_array_equal(ds.x[1][:, 0], [10, 11])
    np.testing.assert_array_equal(ds.t[1], [0, 1])


def test_csv_skips_blank_and_comment_lines_and_whitespace(tmp_path):
    p = _write(tmp_path, "# made by hand\n t , x \n\n0, 1\n# note\n1 ,2\n")
    ds = read_data(p)
    np.testing.assert_array_equal(ds.x[0][:, 0], [1, 2])


# --------------------------------------------------------------------------- CSV, bad input


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("", ["empty"]),
        ("0,1,2\n1,2,3\n", ["header"]),
        ("time,x\n0,1\n1,2\n", ["no 't' column"]),
        ("t\n0\n1\n", ["no state variables"]),
        ("t,x,x\n0,1,1\n1,2,2\n", ["'x'", "twice"]),
        ("t,x,\n0,1,2\n1,2,3\n", ["empty column name"]),
        ("t,x\n", ["no data rows"]),
        ("t,x\n0,1\n1,abc\n", ["line 3", "'x'", "'abc'", "not a number"]),
        ("t,x\n0,1\n1,\n", ["line 3", "'x'", "empty cell"]),
        ("t,x,y\n0,1,2\n1,2,3\n2,3,nan\n3,inf,4\n", ["'x'", "inf", "line 5", "finite"]),
        ("t,x,y\n0,1,2\n1,2,nan\n", ["'y'", "nan", "line 3", "finite"]),
        ("t,x\n0,1\n1,2,3\n", ["line 3", "3 cells", "2 columns"]),
        ("t,x\n0,1\n", ["1 sample", "at least 2"]),
        ("trajectory,t,x\n0,0,1\n0,1,2\n1,0,3\n", ["trajectory '1'", "1 sample"]),
        ("t,x\n0,1\n1,2\n1,3\n", ["line 4", "strictly increasing"]),
        ("trajectory,t,x\na,0,1\nb,0,1\na,1,2\nb,2,2\nb,1,3\n", ["trajectory 'b'", "line 6", "strictly increasing"]),
        ("trajectory,t,x\na,0,1\n,1,2\n", ["line 3", "'trajectory'", "empty cell"]),
        ("t,x,y,x_dot\n0,1,2,3\n1,2,3,4\n", ["y_dot", "not for y"]),
        ("t,x,z_dot\n0,1,2\n1,2,3\n", ["'z_dot'", "no column 'z'"]),
        ("t,x,t_dot\n0,1,2\n1,2,3\n", ["'t_dot'", "reserved"]),
        ("t,x,2y\n0,1,2\n1,2,3\n", ["'2y'", "identifiers"]),
        ("t,x,lambda\n0,1,2\n1,2,3\n", ["'lambda'", "identifiers"]),
    ],
)
def test_csv_bad_input_one_line_message(tmp_path, text, fragments):
    p = _write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        read_data(p)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(p) in msg
    for f in fragments:
        assert f in msg, (f, msg)


def test_unknown_suffix(tmp_path):
    p = _write(tmp_path, "t,x\n0,1\n1,2\n", name="data.txt")
    with pytest.raises(ValueError, match=r"data\.txt.*'\.txt'.*\.csv or \.npz"):
        read_data(p)


def test_missing_file_is_oserror(tmp_path):
    with pytest.raises(OSError):
        read_data(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- NPZ


def test_npz_single_with_names_and_derivatives(tmp_path):
    p = tmp_path / "d.npz"
    t = np.linspace(0, 1, 5)
    x = np.random.default_rng(0).normal(size=(5, 2))
    np.savez(p, t=t, x=x, x_dot=2 * x, names=np.array(["u", "v"]))
    ds = read_data(p)
    assert ds.variables == ["u", "v"]
    np.testing.assert_array_equal(ds.t[0], t)
    np.testing.assert_array_equal(ds.x[0], x)
    np.testing.assert_array_equal(ds.x_dot[0], 2 * x)


def test_npz_default_names_and_scalar_dt(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, t=0.1, x=np.ones((4, 3)))
    ds = read_data(p)
    assert ds.variables == ["x0", "x1", "x2"]
    np.testing.assert_allclose(ds.t[0], [0, 0.1, 0.2, 0.3])
    assert ds.x_dot is None


def test_npz_three_d_shared_and_per_trajectory_time(tmp_path):
    x = np.arange(2 * 4 * 2, dtype=float).reshape(2, 4, 2)
    p = tmp_path / "a.npz"
    np.savez(p, t=np.arange(4.0), x=x)
    ds = read_data(p)
    assert ds.n_trajectories == 2 and ds.n_samples == 8
    np.testing.assert_array_equal(ds.x[1], x[1])
    p2 = tmp_path / "b.npz"
    tt = np.stack([np.arange(4.0), 10 + np.arange(4.0)])
    np.savez(p2, t=tt, x=x, x_dot=-x)
    ds = read_data(p2)
    np.testing.assert_array_equal(ds.t[1], tt[1])
    np.testing.assert_array_equal(ds.x_dot[0], -x[0])


def test_npz_stacked_with_trajectory_ids(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, t=np.array([0, 1, 0, 1, 2.0]), x=np.arange(5.0)[:, None], trajectory=np.array([7, 7, 3, 3, 3]))
    ds = read_data(p)
    assert ds.n_trajectories == 2
    np.testing.assert_array_equal(ds.x[0][:, 0], [0, 1])
    np.testing.assert_array_equal(ds.x[1][:, 0], [2, 3, 4])


@pytest.mark.parametrize(
    "arrays, fragments",
    [
        (dict(x=np.ones((3, 2))), ["no 't'"]),
        (dict(t=np.arange(3.0)), ["no 'x'"]),
        (dict(t=np.arange(3.0), x=np.ones((3, 2)), xdot=np.ones((3, 2))), ["unknown key 'xdot'"]),
        (dict(t=np.arange(4.0), x=np.ones((3, 2))), ["'t' has shape (4,)", "(3, 2)"]),
        (dict(t=np.arange(3.0), x=np.ones((3, 2)), x_dot=np.ones((3, 3))), ["'x_dot' has shape (3, 3)", "match"]),
        (dict(t=np.arange(3.0), x=np.ones((3, 2)), names=np.array(["a"])), ["'names' has 1", "2 columns"]),
        (dict(t=np.arange(3.0), x=np.ones((3, 2)), names=np.array(["a", "t"])), ["'t'", "reserved"]),
        (dict(t=np.arange(3.0), x=np.array([[1, 2], [3, np.nan], [5, 6.0]])), ["'x'", "column 'x1'", "nan", "finite"]),
        (dict(t=np.array([0, 1, np.inf]), x=np.ones((3, 1))), ["'t'", "inf"]),
        (dict(t=np.array([0, 2, 1.0]), x=np.ones((3, 1))), ["sample 2", "strictly increasing"]),
        (dict(t=np.array([0.0]), x=np.ones((1, 1))), ["1 sample", "at least 2"]),
        (dict(t=np.arange(3.0), x=np.ones((2, 3, 1, 1))), ["shape (2, 3, 1, 1)"]),
        (dict(t=np.arange(3.0), x=np.array([["a"], ["b"], ["c"]])), ["'x'", "dtype"]),
        (dict(t=-0.1, x=np.ones((3, 1))), ["time step", "positive"]),
        (dict(t=np.arange(3.0), x=np.ones((3, 1)), trajectory=np.zeros(2)), ["'trajectory' has shape (2,)"]),
    ],
)
def test_npz_bad_input(tmp_path, arrays, fragments):
    p = tmp_path / "d.npz"
    np.savez(p, **arrays)
    with pytest.raises(ValueError) as info:
        read_data(p)
    msg = str(info.value)
    assert "\n" not in msg and str(p) in msg
    for f in fragments:
        assert f in msg, (f, msg)


def test_npz_object_arrays_are_refused_not_unpickled(tmp_path):
    p = tmp_path / "d.npz"
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.ones((3, 1)), np.ones((4, 1))
    np.savez(p, t=np.arange(3.0), x=ragged)
    with pytest.raises(ValueError, match="object arrays"):
        read_data(p)


def test_npz_not_a_zip(tmp_path):
    p = _write(tmp_path, "hello", name="d.npz")
    with pytest.raises(ValueError, match="not a readable"):
        read_data(p)


# --------------------------------------------------------------------------- round trips

_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def _trajectories(draw):
    n = draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    with_dot = draw(st.booleans())
    ts, xs, dxs = [], [], []
    for _ in range(k):
        m = draw(st.integers(2, 6))
        steps = draw(hnp.arrays(np.float64, m, elements=st.floats(1e-3, 1e3)))
        t0 = draw(st.floats(-1e3, 1e3))
        ts.append(t0 + np.cumsum(steps))
        xs.append(draw(hnp.arrays(np.float64, (m, n), elements=_floats)))
        dxs.append(draw(hnp.arrays(np.float64, (m, n), elements=_floats)))
    names = draw(st.lists(st.sampled_from(["x", "y", "z", "q1", "p_2", "theta"]), min_size=n, max_size=n, unique=True))
    return names, ts, xs, (dxs if with_dot else None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_trajectories())
def test_csv_round_trip_is_exact(tmp_path, data):
    names, ts, xs, dxs = data
    # strictly increasing after float rounding of the cumulative sum
    if any(np.any(np.diff(t) <= 0) for t in ts):
        return
    p = tmp_path / "rt.csv"
    write_csv(
        p,
        names,
        ts if len(ts) > 1 else ts[0],
        xs if len(xs) > 1 else xs[0],
        None if dxs is None else (dxs if len(dxs) > 1 else dxs[0]),
    )
    ds = read_data(p)
    assert ds.variables == names
    assert ds.n_trajectories == len(ts)
    for k in range(len(ts)):
        np.testing.assert_array_equal(ds.t[k], ts[k])
        np.testing.assert_array_equal(ds.x[k], xs[k])
        if dxs is None:
            assert ds.x_dot is None
        else:
            np.testing.assert_array_equal(ds.x_dot[k], dxs[k])


def test_write_csv_rejects_mismatched_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"'x' \(3, 1\)"):
        write_csv(tmp_path / "a.csv", ["x", "y"], np.arange(3.0), np.ones((3, 1)))
    with pytest.raises(ValueError, match="'x_dot' has shape"):
        write_csv(tmp_path / "a.csv", ["x"], np.arange(3.0), np.ones((3, 1)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="reserved"):
        write_csv(tmp_path / "a.csv", ["t"], np.arange(3.0), np.ones((3, 1)))
