import numpy as np
from hypothesis import given, settings, strategies as st

from symsindy.linalg import rref


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 8), st.integers(0, 10_000))
def test_rref_spans_the_same_rows_with_unit_pivots(k, m, seed):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(k, m)) @ np.diag(rng.choice([0.0, 1.0], size=m, p=[0.3, 0.7]))
    R = rref(B)
    assert R.shape[0] == np.linalg.matrix_rank(B)
    if R.shape[0]:
        # same row space
        assert np.linalg.matrix_rank(np.vstack([B, R])) == R.shape[0]
        for i, row in enumerate(R):
            piv = np.flatnonzero(np.abs(row) > 1e-10)[0]
            assert abs(row[piv] - 1) < 1e-12
            assert np.allclose(np.delete(R[:, piv], i), 0, atol=1e-10)


def test_relative_tolerance_ignores_noise_level_pivots():
    B = np.array([[1e-9, 1.0, 0.5], [2e-9, 0.0, 1.0]])
    assert rref(B, 1e-6, relative=True)[0, 0] == 0.0
    assert rref(B, 1e-12)[0, 0] == 1.0
