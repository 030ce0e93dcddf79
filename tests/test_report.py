"""Tests for symsindy.report: the discovery pipeline and its report."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy as sp  # noqa: E402

from symsindy.catalogue import System, get_system  # noqa: E402
from symsindy.expressions import parse_expression  # noqa: E402
from symsindy.io import Dataset, read_data  # noqa: E402
from symsindy.report import DiscoveryReport, _declared_found, resolve_source, run_discovery  # noqa: E402
from symsindy.symmetry import Symmetry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "examples" / "data" / "damped_oscillator.csv"


@pytest.fixture(scope="module")
def ho():
    lines = []
    rep = run_discovery(
        "harmonic_oscillator", samples=400, trajectories=3, noise=0.01, random_state=1, progress=lines.append
    )
    return rep, lines


# ----------------------------------------------------------------------------- sources


def test_resolve_source_kinds(tmp_path, monkeypatch):
    assert isinstance(resolve_source("lorenz"), System)
    assert isinstance(resolve_source(SHIPPED), Dataset)
    system = get_system("hopf")
    assert resolve_source(system) is system
    # a data file named like a catalogue system is the file
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lorenz.csv").write_text(SHIPPED.read_text())
    assert isinstance(resolve_source("lorenz.csv"), Dataset)
    # a folder named like a system (e.g. an earlier --out) does not hide the system
    (tmp_path / "lorenz").mkdir()
    assert isinstance(resolve_source("lorenz"), System)


@pytest.mark.parametrize(
    "source, message",
    [
        ("lorenzz", "unknown system 'lorenzz'; did you mean 'lorenz'"),
        ("harmonic_osc", "did you mean 'harmonic_oscillator"),
        ("zzzzzz", "'symsindy systems list' shows all"),
        ("data/none.csv", "data file 'data/none.csv' does not exist"),
    ],
)
def test_resolve_source_errors(source, message):
    with pytest.raises(ValueError) as exc:
        resolve_source(source)
    assert message in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"samples": 5}, "samples 5: expected an integer >= 10"),
        ({"trajectories": 0}, "trajectories 0"),
        ({"noise": -0.1}, "noise -0.1"),
        ({"threshold": float("nan")}, "threshold nan"),
        ({"min_frequency": 2.0}, "min_frequency 2.0"),
        ({"n_bootstrap": -1}, "bootstrap -1"),
    ],
)
def test_bad_settings(kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        run_discovery("harmonic_oscillator", **kw)


# ----------------------------------------------------------------------------- a Hamiltonian system


def test_progress_one_line_per_step(ho):
    _, lines = ho
    assert [line[:5] for line in lines] == [f"[{k}/5]" for k in range(1, 6)]
    assert "simulating harmonic_oscillator: 3 trajectories x 400 samples" in lines[0]
    assert "discovering symmetries" in lines[2] and "enforcing" in lines[3]
    times = [float(line.rsplit("(", 1)[1].split()[0]) for line in lines]
    assert times == sorted(times)


def test_rotation_found_enforced_and_its_charge_is_the_energy(ho):
    rep, _ = ho
    assert "rotation(q,p)" in rep.found and "rotation(q,p)" in rep.enforced
    assert "rotation(q,p)" in rep.model.symmetry_.specs
    entry = next(e for e in rep.noether if e.symmetry == "rotation(q,p)")
    q, p = sp.symbols("q p")
    assert sp.simplify(entry.charge / (q**2 + p**2)).is_constant()
    assert entry.check.conserved
    # the model's conserved quantity is that charge, and it is the declared energy
    d = rep.to_dict()
    assert any(c["noether"] == ["rotation(q,p)"] and c["conserved"] for c in d["conserved"])
    assert d["errors"]["conserved"]["declared"] == {"energy": True}


def test_errors_against_the_truth(ho):
    rep, _ = ho
    d = rep.to_dict()
    true = get_system("harmonic_oscillator").true_coefficients(rep.model.library_)
    for label, model in (("plain", rep.plain), ("enforced", rep.model)):
        e = d["errors"][label]
        assert e["relative_error"] == pytest.approx(np.linalg.norm(model.coef_ - true) / np.linalg.norm(true))
        assert e["relative_error"] < 0.02
        assert (e["true_terms"], e["missed"], e["spurious"]) == (2, 0, 0)
    assert d["errors"]["symmetries"]["declared"]["rotation(q,p)"] is True
    assert d["truth"]["equations"] == {"q": "p", "p": "-q"}


def test_settings_say_how_degree_and_threshold_were_chosen(ho):
    s = ho[0].settings
    assert s["degree"] == 2 and s["degree_rule"].startswith("the system's polynomial degree")
    # q' = p, p' = -q: the threshold comes from the data (automatic), not from the true coefficients
    assert s["threshold"] == "auto" and s["threshold_rule"] == "automatic"
    assert 0 < s["threshold_used"] < 1.0
    assert s["plain_fit"]["sparsity"]["n_terms"] == 2
    assert s["samples"] == 400 and s["trajectories"] == 3 and s["seed"] == 1 and s["noise"] == 0.01
    assert s["command"].startswith("symsindy discover harmonic_oscillator --noise 0.01 --samples 400")


def test_json_is_strict_and_equations_parse_back(ho):
    rep, _ = ho
    d = rep.to_dict()
    json.dumps(d, allow_nan=False)
    xs = {v: sp.Symbol(v) for v in rep.variables}
    for label, model in (("plain", rep.plain), ("enforced", rep.model)):
        exprs = model.sympy()
        for v in rep.variables:
            assert parse_expression(d["equations"][label][v], xs) == exprs.get(v, sp.Integer(0))
    for c in d["conserved"]:
        parse_expression(c["expression"], xs)
    assert d["symmetries"]["found"] == rep.found and d["enforced"] == rep.enforced
    ev = {e["spec"]: e for e in d["symmetries"]["evidence"]["specs"]}
    assert ev["rotation(q,p)"]["kind"] == "continuous" and ev["rotation(q,p)"]["bootstrap_frequency"] == 1.0
    assert d["symmetries"]["evidence"]["nullity"] >= 1 and d["symmetries"]["evidence"]["gap"] > 10


def test_summary_reads_like_a_report(ho):
    text = ho[0].summary()
    for piece in (
        "plain SINDy:",
        "symmetries found",
        "enforced: ",
        "model with the symmetry enforced:",
        "conserved quantities of the enforced model",
        "Noether charges (canonical pairs q:p, from the catalogue)",
        "against the truth:",
        "true q' = p",
        "declared conserved quantities: energy found",
    ):
        assert piece in text, piece


def test_figures_are_labelled(ho):
    rep, _ = ho
    figs = rep.make_figures()
    try:
        assert set(figs) == {"trajectories", "phase", "singular_values", "conserved", "coefficients"}
        for name, fig in figs.items():
            # stacked panels share the time axis: only the bottom one is labelled
            assert all(ax.get_ylabel() for ax in fig.axes), name
            assert fig.axes[-1].get_xlabel(), name
            assert any(ax.get_legend() is not None for ax in fig.axes), name
        traj = figs["trajectories"].axes
        assert [ax.get_ylabel() for ax in traj] == ["q", "p"] and traj[-1].get_xlabel() == "time t"
        labels = [t.get_text() for t in traj[0].get_legend().get_texts()]
        assert labels[0] == "data" and any("enforced" in s for s in labels)
    finally:
        for fig in figs.values():
            plt.close(fig)


def test_separation_time(ho):
    rep, _ = ho
    ref = rep.x_smooth
    assert rep.separation_time(ref) is None
    off = ref.copy()
    off[50:, 1] += 10 * np.std(ref[:, 1])
    assert rep.separation_time(off) == pytest.approx(rep.t[0][50])


# ----------------------------------------------------------------------------- files and edge cases


def test_file_with_canonical_pairs_and_writing(tmp_path):
    data = read_data(SHIPPED)
    rep = run_discovery(data, canonical=[("x", "y")], n_bootstrap=0, out=tmp_path / "o")
    assert rep.kind == "file" and rep.truth is None and rep.errors is None
    assert rep.source == str(SHIPPED) == rep.settings["source"]
    assert "rotation(x,y)" in rep.enforced
    assert rep.structure == {"kind": "canonical", "pairs": [["x", "y"]], "from": "the given canonical pairs"}
    entry = next(e for e in rep.noether if e.symmetry == "rotation(x,y)")
    assert entry.charge is not None and not entry.check.conserved  # damped: the energy decays
    written = json.loads((tmp_path / "o" / "report.json").read_text())
    assert written["settings"]["canonical"] == "x:y" and written["timings"]["write"] > 0
    assert all((tmp_path / "o" / f).stat().st_size > 5000 for f in written["figures"])


def test_zero_model_is_reported_not_fatal(tmp_path):
    rep = run_discovery(SHIPPED, threshold=100.0, n_bootstrap=0)
    assert not np.any(rep.model.coef_)
    assert any("discovery failed" in w for w in rep.warnings)
    assert any("the model is zero" in w for w in rep.warnings)
    assert rep.symmetries is None and rep.enforced == [] and rep.conserved == []
    paths = rep.write(tmp_path / "z")
    assert paths[0].name == "report.json" and "singular_values.png" not in rep.figures
    json.loads(paths[0].read_text())


def test_non_polynomial_system_says_so():
    rep = run_discovery("pendulum", samples=300, trajectories=2, n_bootstrap=0)
    assert rep.settings["degree"] == 3 and rep.settings["threshold"] == "auto"
    assert "not polynomial" in rep.settings["degree_rule"]
    assert any("pendulum is not polynomial" in w for w in rep.warnings)
    d = rep.to_dict()
    assert "plain" not in d["errors"] and "coefficients_note" in d["errors"]
    assert d["errors"]["conserved"]["notes"]["energy"].startswith("not a polynomial")


def test_declared_found_checks_span_and_group():
    v = ["x", "y"]
    found = Symmetry(v, ["rotation(x,y)", "scaling(x=1,y=1)"])
    assert _declared_found("rotation(x,y)", v, found, [])
    assert _declared_found("scaling(x,y)", v, found, [])
    assert not _declared_found("translation(x)", v, found, [])
    flip = Symmetry(v, "flip(x)").elements[0].matrix
    assert not _declared_found("flip(x)", v, found, [])
    assert _declared_found("flip(x)", v, found, [flip])
    # the group generated, not just the list: flip(x) and flip(y) give flip(x,y)
    assert _declared_found("flip(x,y)", v, Symmetry(v), [flip, Symmetry(v, "flip(y)").elements[0].matrix])


def test_report_is_a_dataclass_with_documented_fields():
    names = {f for f in DiscoveryReport.__dataclass_fields__}
    assert {
        "plain",
        "model",
        "symmetries",
        "enforced",
        "conserved",
        "noether",
        "truth",
        "errors",
        "warnings",
        "settings",
        "timings",
    } <= names
