"""The example notebooks: each runs top to bottom, and each ``.ipynb`` matches its ``.py``.

The notebooks in ``examples/`` are written as jupytext percent-format ``.py`` files (the
reviewed source) paired with an output-free ``.ipynb``.  Each notebook is executed with
nbclient in a kernel that runs this interpreter (a kernelspec written to a temporary folder,
so a fresh environment needs no registered kernel), with ``examples/`` as working directory.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SOURCES = sorted(EXAMPLES.glob("*.py"))
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
# Each notebook must finish within this many seconds (also the per-cell timeout).
BUDGET = float(os.environ.get("SYMSINDY_NOTEBOOK_TIMEOUT", "120"))
KERNEL = "symsindy-test-python"


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def _ids(paths):
    return [p.stem for p in paths]


def test_examples_are_present_and_paired():
    assert len(SOURCES) >= 7, [p.name for p in SOURCES]
    assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS], (
        "every examples/*.py needs its paired .ipynb and vice versa (jupytext --to ipynb examples/NAME.py)"
    )


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_notebook_matches_its_source(source):
    notebook = source.with_suffix(".ipynb")
    assert notebook.exists(), f"{notebook.name} is missing: run jupytext --to ipynb {source.name}"
    py_cells = _cells(jupytext.read(source))
    nb = nbformat.read(notebook, as_version=4)
    assert _cells(nb) == py_cells, (
        f"{notebook.name} is out of date with {source.name}: regenerate it with jupytext --to ipynb {source.name}"
    )
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", notebook.name
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{notebook.name}: cell {k} has outputs; commit notebooks without outputs"
            )


@pytest.fixture(scope="module")
def kernel_manager_factory(tmp_path_factory):
    """Kernel managers for a kernelspec that starts this very interpreter."""
    kernels = tmp_path_factory.mktemp("jupyter") / "kernels"
    write_kernel_spec(kernels / KERNEL, overrides={"display_name": f"Python ({sys.executable})"})
    spec_manager = KernelSpecManager(kernel_dirs=[str(kernels)])
    assert spec_manager.get_kernel_spec(KERNEL).argv[0] == sys.executable

    def make():
        return AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=spec_manager)

    return make


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(notebook, kernel_manager_factory):
    nb = nbformat.read(notebook, as_version=4)
    before = sorted(p.name for p in EXAMPLES.rglob("*"))
    client = NotebookClient(
        nb,
        km=kernel_manager_factory(),
        kernel_name=KERNEL,
        timeout=BUDGET,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the kernel's traceback is coloured
        pytest.fail(f"{notebook.name} failed:\n{plain}", pytrace=False)
    elapsed = time.perf_counter() - start
    assert elapsed <= BUDGET, f"{notebook.name} took {elapsed:.0f} s; the budget is {BUDGET:.0f} s"
    # examples write only to temporary folders
    assert sorted(p.name for p in EXAMPLES.rglob("*")) == before, f"{notebook.name} left files in examples/"
