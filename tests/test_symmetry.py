import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from symsindy.symmetry import SpecError, Symmetry, parse_specs

V3 = ["x", "y", "z"]


def test_rotation_generator_is_so2():
    (g,), _ = parse_specs("rotation(x,y)", V3)
    A = g.matrix
    assert np.allclose(A, -A.T)
    # x' = -y, y' = x: the counter-clockwise rotation
    assert A[0, 1] == -1 and A[1, 0] == 1 and not A[2].any()


def test_rotation3_gives_so3_commutators():
    gens, _ = parse_specs("rotation(x,y,z)", V3)
    L = [g.matrix for g in gens]
    comm = lambda a, b: a @ b - b @ a
    assert np.allclose(comm(L[0], L[1]), L[2])
    assert np.allclose(comm(L[1], L[2]), L[0])
    assert np.allclose(comm(L[2], L[0]), L[1])


def test_sum_acts_on_both_blocks():
    gens, _ = parse_specs("rotation(q1,q2)+rotation(p1,p2)", ["q1", "q2", "p1", "p2"])
    (g,) = gens
    assert g.matrix[0, 1] == -1 and g.matrix[2, 3] == -1
    gens, _ = parse_specs("rotation(x,y,z)+rotation(u,v,w)", list("xyzuvw"))
    assert len(gens) == 3


def test_flip_swap_cycle_translation_scaling():
    _, (f,) = parse_specs("flip(x,y)", V3)
    assert np.array_equal(f.matrix, np.diag([-1.0, -1.0, 1.0]))
    _, (s,) = parse_specs("swap(x,z)", V3)
    assert np.array_equal(s.matrix @ [1, 2, 3], [3, 2, 1])
    _, (c,) = parse_specs("cycle(x,y,z)", V3)
    # the value at x moves to y, y to z, z to x
    assert np.array_equal(c.matrix @ [1, 2, 3], [3, 1, 2])
    assert np.array_equal(np.linalg.matrix_power(c.matrix, 3), np.eye(3))
    (t,), _ = parse_specs("translation(z)", V3)
    assert not t.matrix.any() and np.array_equal(t.translation, [0, 0, 1])
    (sc,), _ = parse_specs("scaling(x=2,y=1/2)", V3)
    assert np.array_equal(np.diag(sc.matrix), [2, 0.5, 0])


def test_several_specs_and_semicolons():
    s = Symmetry(V3, ["rotation(x,y)", "flip(z); translation(z)"])
    assert s.specs == ["rotation(x,y)", "translation(z)", "flip(z)"]
    assert len(s.generators) == 2 and len(s.elements) == 1


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("rotation(x,w)", "unknown variable 'w'; variables are x, y, z"),
        ("rot(x,y)", "unknown transformation 'rot'"),
        ("rotation(x,y", "unexpected end"),
        ("rotation(x)", "rotation takes 2 or 3 variables"),
        ("scaling(x=0)", "generator is zero"),
        ("rotation(x,x)", "repeated"),
        ("flip(x)+rotation(x,y)", "continuous and a discrete"),
        ("flip(x)+flip(x)", "identity"),
        ("rotation(x,y,z)+rotation(x,y)", "same number of generators"),
        ("", "empty spec"),
        ("__import__('os')", "symmetry"),
        ("rotation(x,y) rotation(x,z)", "expected '+'"),
        ("swap(x,y,z)", "swap takes exactly 2"),
        ("flip(x=1)", "variable names only"),
        ("scaling(x=a)", "expected a number"),
        ("translation(x)+translation(x)", None),
    ],
)
def test_bad_specs_give_one_line_errors(spec, fragment):
    if fragment is None:  # 2*e_x is a fine generator
        Symmetry(V3, spec)
        return
    with pytest.raises(SpecError) as exc:
        Symmetry(V3, spec)
    msg = str(exc.value)
    assert "\n" not in msg and fragment in msg


def test_bad_variables_and_matrices():
    with pytest.raises(ValueError, match="appears twice"):
        Symmetry(["x", "x"])
    with pytest.raises(ValueError, match="identifiers"):
        Symmetry(["x", "1y"])
    with pytest.raises(ValueError, match="generator 0: the generator is zero"):
        Symmetry(["x", "y"], generators=[np.zeros((2, 2))])
    with pytest.raises(ValueError, match="invertible"):
        Symmetry(["x", "y"], elements=[np.zeros((2, 2))])
    with pytest.raises(ValueError, match=r"expected an \(2, 2\) matrix"):
        Symmetry(["x", "y"], elements=[np.eye(3)])


@settings(max_examples=30, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3))
def test_group_elements_compose(s, t):
    sym = Symmetry(["x", "y"], "rotation(x,y)")
    R1, _ = sym.element([s])
    R2, _ = sym.element([t])
    R12, _ = sym.element([s + t])
    assert np.allclose(R1 @ R2, R12, atol=1e-12)
    assert np.allclose(R1, [[np.cos(s), -np.sin(s)], [np.sin(s), np.cos(s)]], atol=1e-12)


def test_affine_element_translates():
    sym = Symmetry(["x", "y"], "translation(x)")
    R, c = sym.element([2.5])
    assert np.allclose(R, np.eye(2)) and np.allclose(c, [2.5, 0])


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_only_raises_spec_error(text):
    try:
        Symmetry(V3, text)
    except SpecError as exc:
        assert "\n" not in str(exc)
