"""Fields: data for PDE discovery, ``u_t = N(u, u_x, u_xx, ...)`` on 1-D and 2-D grids.

``read_fields`` reads NPZ field files (``symsindy/pde/_data.py``: ``t``, the grid ``x`` and
``y``, the components ``u`` and their ``names``; several files or a ``trajectory`` axis are
several runs) into a :class:`FieldData`, with one-line errors for wrong shapes, non-finite
values and, where a method needs it, a non-uniform grid.  ``pde_library`` builds pysindy's
``PDELibrary`` on that grid and ``pde_terms`` writes its columns in SymPy, with derivative
symbols ``u_x``, ``u_xx``, ``v_xy`` (``symsindy/pde/_library.py``); with ``coordinates`` it is a
:class:`CoordinateLibrary`, every column times monomials of the coordinates, for PDEs that depend
on the place (transport by a given flow).  ``pde_action`` gives the
exact action of a symmetry (``flip(x)+flip(u)``, ``rotation(u,v)``, ``swap(x,y)``) on those
terms, for the equivariant subspace of :mod:`symsindy.constraints` (``symsindy/pde/_actions.py``).
:class:`SymmetricPDESINDy` fits ``u_t = Xi Theta`` with the symmetry enforced, in the strong form
or the weak form, whose test-function rows :func:`field_weak_system` builds
(``symsindy/pde/_weak.py``; radii by :func:`field_widths`).
:func:`discover_pde_symmetries` finds the continuous and discrete symmetries a fitted PDE's data
support, each judged by a refit check (``symsindy/pde/_discover.py``); ``symmetry="auto"``
enforces them.  :func:`promote_pde` promotes a symmetry told only a candidate family, by a
nuclear-norm penalty on the Lie derivatives (``symsindy/pde/_promote.py``).
``get_pde_system`` and ``list_pde_systems`` give a catalogue of PDEs (Burgers, KdV,
Kuramoto-Sivashinsky, complex Ginzburg-Landau in 1-D and 2-D, lambda-omega, advection-diffusion
in a rotating flow), each a :class:`PDESystem` with a spectral solver and symmetry claims that
:func:`check_pde_claims` verifies symbolically (``symsindy/pde/_systems.py``).
"""

from ._data import FieldData, read_fields
from ._actions import jet_variables, pde_action
from ._library import CoordinateLibrary, derivative_symbol, pde_library, pde_terms, to_pysindy
from ._model import SymmetricPDESINDy, load_pde_model
from ._discover import PDESymmetryReport, discover_pde_symmetries
from ._promote import promote_pde
from ._systems import PDESystem, check_pde_claims, get_pde_system, list_pde_systems
from ._weak import FieldWeakSystem, field_weak_system, field_widths

__all__ = [
    "FieldData",
    "read_fields",
    "pde_library",
    "CoordinateLibrary",
    "pde_terms",
    "derivative_symbol",
    "to_pysindy",
    "pde_action",
    "jet_variables",
    "SymmetricPDESINDy",
    "load_pde_model",
    "field_weak_system",
    "field_widths",
    "FieldWeakSystem",
    "discover_pde_symmetries",
    "PDESymmetryReport",
    "promote_pde",
    "PDESystem",
    "get_pde_system",
    "list_pde_systems",
    "check_pde_claims",
]
