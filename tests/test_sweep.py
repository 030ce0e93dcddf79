"""Tests for sweeps: study parsing, pure seeded cells, the results file, resume, Dask runs, summary, CLI."""

from __future__ import annotations

import math
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from symsindy.cli import main
from symsindy.sweep import (
    COLUMNS,
    METHODS,
    StudyError,
    cell_seed_sequence,
    load_study,
    parse_study,
    read_results,
    run_cell,
    run_sweep,
    summarize,
    write_summary,
)

STUDIES = Path(__file__).resolve().parent.parent / "benchmarks" / "studies"

TINY = """\
name = "tiny"
base_seed = 7
seeds = 2
samples = [6, 24]
noise = [0.0, 0.02]
methods = ["pysindy", "enforce"]

[fit]
threshold = "0.5 * smallest"

[data]
pool = 3000

[[systems]]
name = "damped_oscillator"
symmetry = "rotation(x,y)"
degree = 3
t_end = 20.0

[[systems]]
name = "lorenz"
degree = 2
t_transient = 5.0
t_end = 30.0
"""


def write(tmp_path, text, name="study.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def comparable(rows):
    """Rows without the timing column, NaN made comparable, in a fixed order."""
    out = []
    for r in rows:
        out.append(
            tuple(
                (c, None if isinstance(r[c], float) and math.isnan(r[c]) else r[c]) for c in COLUMNS if c != "fit_time"
            )
        )
    return sorted(out)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_study(write(tmp_path_factory.mktemp("study"), TINY))


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """The tiny study run in this process, without dask."""
    return run_sweep(tiny, tmp_path_factory.mktemp("ref"), n_workers=0, progress=False, plots=False)


# --------------------------------------------------------------------------- parsing


def test_study_resolves_systems_and_grid(tiny):
    assert tiny.name == "tiny" and tiny.seeds == (0, 1) and tiny.samples == (6, 24) and tiny.noise == (0.0, 0.02)
    osc, lor = tiny.systems
    # threshold rule: half the smallest true |coefficient| (damping 0.1; Lorenz's 1)
    assert osc.threshold == pytest.approx(0.05) and lor.threshold == pytest.approx(0.5)
    assert osc.symmetry == ["rotation(x,y)"]
    assert lor.symmetry == ["flip(x,y)"]  # the catalogue's declared symmetry by default
    assert osc.degree == 3 and lor.degree == 2
    truth = np.array(osc.config["truth"])
    assert truth.shape == (2, 10) and np.count_nonzero(truth) == 4
    assert len(tiny.cells()) == 2 * 2 * 2 * 2 * 2
    assert len({c.key for c in tiny.cells()}) == len(tiny.cells())
    # the hash of a method's settings changes with any setting of the cell
    other = parse_study({**_toml(TINY), "fit": {"threshold": 0.06}})
    assert other.systems[0].config_hash("enforce") != osc.config_hash("enforce")
    assert osc.config_hash("enforce") != osc.config_hash("pysindy")


def _toml(text):
    import tomllib

    return tomllib.loads(text)


def test_parameters_and_seed_list():
    study = parse_study(
        {
            "seeds": [3, 11],
            "samples": [10],
            "noise": [0.0],
            "methods": ["enforce"],
            "systems": [{"name": "aizawa", "label": "langford", "parameters": {"f": 0}, "degree": 3}],
        }
    )
    s = study.systems[0]
    assert study.seeds == (3, 11) and s.label == "langford"
    assert s.symmetry == ["rotation(x,y)"]  # holds only once f = 0
    assert s.config["parameters"]["f"] == 0.0


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"sample": [4]}, "sample", "did you mean 'samples'"),
        ({"samples": [4, "x"]}, "samples[1]", "expected an integer"),
        ({"samples": [4, 4]}, "samples", "appears twice"),
        ({"noise": [-0.1]}, "noise[0]", ">= 0"),
        ({"seeds": 0}, "seeds", ">= 1"),
        ({"methods": ["pysindy", "sr3"]}, "methods[1]", "unknown method"),
        ({"systems": [{"name": "no_such_system"}]}, "systems[0].name", "unknown system"),
        ({"systems": [{"name": "pendulum"}]}, "systems[0].name", "not polynomial"),
        (
            {"systems": [{"name": "lorenz", "symmetry": "rotation(x,y)"}]},
            "systems[0].symmetry",
            "does not have the symmetry",
        ),
        ({"systems": [{"name": "lorenz", "symmetry": "rotation(x,w)"}]}, "systems[0].symmetry", "unknown variable"),
        ({"systems": [{"name": "lorenz", "degree": 1}]}, "systems[0].degree", "raise the degree"),
        ({"systems": [{"name": "lorenz", "threshold": "half of it"}]}, "systems[0].threshold", "0.5 * smallest"),
        ({"systems": [{"name": "lorenz", "pool": 5}]}, "samples", "exceed the pool"),
        ({"systems": [{"name": "lorenz", "x0": [1.0, 2.0]}]}, "systems[0].x0", "expected 3 numbers"),
        ({"systems": [{"name": "lorenz", "kind": "video"}]}, "systems[0].kind", "'samples' or 'trajectory'"),
        ({"systems": ["lorenz", "lorenz"]}, "systems[1].label", "appears twice"),
        ({"fit": {"degre": 2}}, "fit.degre", "did you mean 'degree'"),
        ({"discover": {"candidates": "all"}}, "discover.candidates", "gl, so or affine"),
    ],
)
def test_schema_errors_name_file_and_field(tmp_path, change, field, words):
    import tomllib

    data = {"seeds": 2, "samples": [4, 8], "noise": [0.0], "methods": ["pysindy"], "systems": ["lorenz"]}
    data.update(change)
    path = tmp_path / "bad.toml"
    path.write_text(_dump(data), encoding="utf-8")
    assert tomllib.loads(path.read_text()) == data
    with pytest.raises(StudyError) as info:
        load_study(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg and f"field '{field}'" in msg and words in msg


def _dump(data) -> str:
    """A tiny TOML writer for flat test studies (inline tables)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return repr(v)

    return "".join(f"{k} = {value(v)}\n" for k, v in data.items())


def test_promote_method(tmp_path):
    path = write(
        tmp_path,
        _dump(
            {
                "seeds": 1,
                "samples": [64],
                "noise": [0.02],
                "methods": ["promote", "enforce"],
                "systems": [{"name": "damped_oscillator", "degree": 3, "threshold": "0.5 * smallest"}],
            }
        )
        + '[promote]\nweight = "auto"\nn_folds = 3\n',
    )
    study = load_study(path)
    assert "promote" in METHODS and study.methods == ("promote", "enforce")
    s = study.systems[0]
    assert s.config["promote"]["n_folds"] == 3
    # promote options are part of the promote rows' settings only
    other = parse_study({**_toml(path.read_text()), "promote": {"n_folds": 4}})
    assert other.systems[0].config_hash("promote") != s.config_hash("promote")
    assert other.systems[0].config_hash("enforce") == s.config_hash("enforce")
    row = run_cell(s.config, "promote", 64, 0.02, 0, s.config_hash("promote"))
    assert row["error"] == "" and row["success"] == 1
    # the data choose the symmetry, which is then enforced exactly
    assert "rotation(x,y)" in row["symmetry"] and row["equivariance_residual"] <= 1e-10
    with pytest.raises(StudyError, match="field 'promote.weight'"):
        parse_study({**_toml(path.read_text()), "promote": {"weight": "lots"}})


def test_not_toml_and_missing_fields(tmp_path):
    with pytest.raises(StudyError, match="not valid TOML"):
        load_study(write(tmp_path, "samples = [1,"))
    with pytest.raises(StudyError, match="field 'methods': missing"):
        load_study(write(tmp_path, "seeds = 1\nsamples = [4]\nnoise = [0.0]\nsystems = ['lorenz']\n"))


def test_shipped_studies_parse():
    files = sorted(STUDIES.glob("*.toml"))
    assert {f.stem for f in files} >= {"enforce", "quick"}
    for f in files:
        study = load_study(f)
        assert study.cells()
    enforce = load_study(STUDIES / "enforce.toml")
    assert [s.label for s in enforce.systems] == ["oscillator", "lorenz", "langford"]
    assert [s.threshold for s in enforce.systems] == pytest.approx([0.05, 0.5, 0.125])
    assert len(enforce.samples) == 47 and len(enforce.seeds) == 20


# --------------------------------------------------------------------------- cells


def test_cell_seed_depends_on_every_key_part_but_not_the_method():
    base = cell_seed_sequence(1, "lorenz", 10, 0.01, 3).generate_state(4)
    assert np.array_equal(base, cell_seed_sequence(1, "lorenz", 10, 0.01, 3).generate_state(4))
    for args in [
        (2, "lorenz", 10, 0.01, 3),
        (1, "hopf", 10, 0.01, 3),
        (1, "lorenz", 11, 0.01, 3),
        (1, "lorenz", 10, 0.02, 3),
        (1, "lorenz", 10, 0.01, 4),
    ]:
        assert not np.array_equal(base, cell_seed_sequence(*args).generate_state(4))


def test_run_cell_is_pure_and_records_failures(tiny):
    osc = tiny.systems[0]
    a = run_cell(osc.config, "enforce", 24, 0.02, 0, "h")
    b = run_cell(osc.config, "enforce", 24, 0.02, 0, "h")
    assert {k: v for k, v in a.items() if k != "fit_time"} == {k: v for k, v in b.items() if k != "fit_time"}
    assert a["error"] == "" and a["equivariance_residual"] <= 1e-12 and a["symmetry"] == "rotation(x,y)"
    assert a["n_terms"] == a["n_spurious"] + 4 - a["n_missing"]
    c = run_cell(osc.config, "enforce", 24, 0.02, 1, "h")
    assert c["coef_error"] != a["coef_error"]  # another seed, other noise
    # noise-free with many samples: both methods recover the support exactly
    for method in ("pysindy", "enforce"):
        r = run_cell(osc.config, method, 200, 0.0, 0)
        assert r["success"] == 1 and r["coef_error"] < 1e-10 and r["n_terms"] == 4
    # one sample cannot determine 4 free coefficients: a row with the error, not a crash
    lor = tiny.systems[1]
    bad = run_cell(lor.config, "enforce", 1, 0.0, 0)
    assert bad["success"] == 0 and "too few samples" in bad["error"] and bad["coef_error"] == ""


def test_trajectory_data_and_discover_method():
    study = parse_study(
        {
            "seeds": 1,
            "samples": [600],
            "noise": [0.01],
            "methods": ["pysindy", "enforce", "discover"],
            "fit": {"threshold": "0.5 * smallest"},
            "data": {"kind": "trajectory", "dt": 0.01},
            "systems": [{"name": "damped_oscillator", "degree": 3, "symmetry": "rotation(x,y)"}],
        }
    )
    cfg = study.systems[0].config
    rows = {m: run_cell(cfg, m, 600, 0.01, 0) for m in study.methods}
    assert all(r["error"] == "" for r in rows.values())
    assert rows["enforce"]["success"] == 1 and rows["enforce"]["coef_error"] < 0.01
    # discovery finds the rotation, enforces it, and recovers the same model
    assert "rotation(x,y)" in rows["discover"]["symmetry"]
    assert rows["discover"]["success"] == 1 and rows["discover"]["equivariance_residual"] <= 1e-10
    assert rows["discover"]["coef_error"] == pytest.approx(rows["enforce"]["coef_error"], rel=1e-6)
    # a window too short to differentiate is a failed fit, recorded
    short = run_cell(cfg, "enforce", 2, 0.0, 0)
    assert "at least 3" in short["error"] and short["success"] == 0


# --------------------------------------------------------------------------- results file, resume


def test_serial_sweep_writes_tidy_rows(reference, tiny):
    rows = read_results(reference.out / "results.csv")
    assert reference.computed == len(tiny.cells()) == len(rows) and reference.skipped == 0
    assert comparable(rows) == comparable(reference.rows)
    header = (reference.out / "results.csv").read_text().splitlines()[0]
    assert header == ",".join(COLUMNS)
    for r in rows:
        assert r["success"] in (0, 1) and r["config"]
        assert (r["error"] == "") == (not math.isnan(r["coef_error"]))
    assert (reference.out / "study.json").exists()


def test_interrupted_sweep_resumes_with_only_missing_cells(tiny, reference, tmp_path):
    out = tmp_path / "run"
    seen = []

    def stop_after_five(row):
        seen.append(row)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(tiny, out, n_workers=0, progress=False, on_row=stop_after_five)
    assert len(read_results(out / "results.csv")) == 5
    # a row cut short by the interruption is dropped and recomputed
    with open(out / "results.csv", "a", encoding="utf-8") as fh:
        fh.write("lorenz,enforce,24,0.0")
    res = run_sweep(tiny, out, n_workers=0, progress=False, plots=False)
    assert res.skipped == 5 and res.computed == len(tiny.cells()) - 5
    rows = read_results(out / "results.csv")
    assert len(rows) == len(tiny.cells())
    assert comparable(rows) == comparable(reference.rows)
    again = run_sweep(tiny, out, n_workers=0, progress=False, plots=False)
    assert again.computed == 0 and again.skipped == len(tiny.cells())


def test_grown_study_computes_only_new_cells_and_changed_settings_are_refused(tmp_path):
    out = tmp_path / "run"
    small = parse_study({**_toml(TINY), "seeds": 1})
    run_sweep(small, out, n_workers=0, progress=False, plots=False)
    grown = parse_study({**_toml(TINY), "seeds": 2})
    res = run_sweep(grown, out, n_workers=0, progress=False, plots=False)
    assert res.skipped == len(small.cells()) and res.computed == len(grown.cells()) - len(small.cells())
    changed = parse_study({**_toml(TINY), "seeds": 2, "fit": {"threshold": 0.07}})
    with pytest.raises(ValueError, match="computed with other settings"):
        run_sweep(changed, out, n_workers=0, progress=False)


def test_foreign_csv_is_refused(tiny, tmp_path):
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not that of sweep results"):
        run_sweep(tiny, tmp_path, n_workers=0, progress=False)


# --------------------------------------------------------------------------- dask


def test_two_worker_local_cluster_end_to_end_matches_serial(tiny, reference, tmp_path, capsys):
    res = run_sweep(tiny, tmp_path, n_workers=2, processes=True, progress=True)
    assert res.incomplete == [] and res.computed == len(tiny.cells())
    # same seed, same results, whatever the number of workers
    assert comparable(read_results(tmp_path / "results.csv")) == comparable(reference.rows)
    assert "cells" in capsys.readouterr().err  # the progress bar
    md = (tmp_path / "summary.md").read_text()
    assert "| damped_oscillator |" in md and "N90 enforce" in md
    for s in tiny.systems:
        assert (tmp_path / "plots" / f"{s.label}.png").stat().st_size > 10_000


def test_killed_worker_mid_sweep_all_cells_complete(tiny, reference, tmp_path):
    from dask.distributed import Client, LocalCluster

    study = parse_study({**_toml(TINY), "seeds": 4})
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        killed = threading.Event()

        def kill_once(row):
            if not killed.is_set():
                killed.set()
                os.kill(victim, signal.SIGKILL)

        res = run_sweep(study, tmp_path, client=client, progress=False, plots=False, on_row=kill_once)
        assert killed.is_set()
    assert res.incomplete == [] and res.computed == len(study.cells())
    rows = read_results(tmp_path / "results.csv")
    assert len(rows) == len(study.cells())
    # the cells shared with the 2-seed reference are identical
    same = [r for r in rows if r["seed"] < 2]
    assert comparable(same) == comparable(reference.rows)


# --------------------------------------------------------------------------- summary, CLI


def _row(system, method, samples, noise, seed, success, err=0.1, error=""):
    return {
        "system": system,
        "method": method,
        "samples": samples,
        "noise": noise,
        "seed": seed,
        "success": success,
        "coef_error": math.nan if error else err,
        "error": error,
    }


def test_summary_n90_rates_and_markdown(tiny, tmp_path):
    rows = []
    # oscillator: enforce succeeds from 6 samples for both seeds, pysindy only at 24 with one seed
    for eta in tiny.noise:
        for seed in tiny.seeds:
            rows.append(_row("damped_oscillator", "enforce", 6, eta, seed, 1))
            rows.append(_row("damped_oscillator", "enforce", 24, eta, seed, 1))
            rows.append(_row("damped_oscillator", "pysindy", 6, eta, seed, 0, error="ValueError: x"))
            rows.append(_row("damped_oscillator", "pysindy", 24, eta, seed, int(seed == 0), err=0.3))
    s = summarize(rows, tiny)
    assert s.n90_of("damped_oscillator", 0.0, "enforce") == 6
    assert s.n90_of("damped_oscillator", 0.0, "pysindy") is None
    assert s.rate("damped_oscillator", 0.02, 24, "pysindy") == 0.5
    tab = {(r["samples"], r["method"]): r for r in s.table if r["system"] == "damped_oscillator" and r["noise"] == 0.0}
    assert tab[(6, "pysindy")]["failures"] == 2 and math.isinf(tab[(6, "pysindy")]["median_coef_error"])
    assert tab[(24, "pysindy")]["median_coef_error"] == pytest.approx(0.3)
    assert not next(r for r in s.n90 if r["system"] == "lorenz")["complete"]
    md = s.n90_markdown()
    assert "| damped_oscillator | `rotation(x,y)` | poly deg 3 | 0.05 | 0% | > 24 | 6 | — |" in md
    path = write_summary(s, tmp_path, plots=True)
    assert "1/2 (0.3)" in path.read_text()
    assert (tmp_path / "plots" / "damped_oscillator.png").exists()


def test_cli_sweep_runs_resumes_and_summarises(tmp_path, capsys):
    study = write(tmp_path, TINY.replace("seeds = 2", "seeds = 1"))
    out = tmp_path / "out"
    code = main(["sweep", str(study), "--out", str(out), "--workers", "0", "--no-progress", "--no-plots"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "| system | symmetry |" in captured.out and "16 cells computed, 0 already done" in captured.err
    assert len(read_results(out / "results.csv")) == 16
    code = main(["sweep", str(study), "--out", str(out), "--workers", "0", "--no-progress", "--no-plots"])
    assert code == 0 and "0 cells computed, 16 already done" in capsys.readouterr().err
    code = main(["sweep", str(study), "--out", str(out), "--summary-only", "--no-plots"])
    assert code == 0 and "16 of 16 cells done" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, capsys):
    bad = write(
        tmp_path,
        _dump({"seeds": 1, "samples": [4], "noise": [0.0], "methods": ["pysindy"], "systems": ["lorenz"], "extra": 1}),
    )
    assert main(["sweep", str(bad), "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "field 'extra'" in err and str(bad) in err
    assert main(["sweep", str(bad), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "give one" in capsys.readouterr().err


def test_parquet_needs_pyarrow(reference, tmp_path):
    from symsindy.sweep import write_parquet

    try:
        import pyarrow.parquet as pq
    except ImportError:
        with pytest.raises(ValueError, match="needs pyarrow"):
            write_parquet(reference.rows, tmp_path / "r.parquet")
        return
    write_parquet(reference.rows, tmp_path / "r.parquet")
    assert pq.read_table(tmp_path / "r.parquet").num_rows == len(reference.rows)


WEAK = """\
name = "weak"
seeds = 1
samples = [2000]
noise = [0.01]
methods = ["enforce", "discover"]

[fit]
threshold = "auto"
formulation = "weak"

[data]
kind = "trajectory"
dt = 0.005

[discover]
n_bootstrap = 0

[[systems]]
name = "lorenz"
degree = 2
t_transient = 5.0
t_end = 20.0
"""


def test_weak_formulation_and_automatic_threshold_in_a_study(tmp_path):
    study = load_study(write(tmp_path, WEAK))
    s = study.systems[0]
    assert s.config["formulation"] == "weak" and s.threshold == "auto"
    strong = load_study(
        write(tmp_path, WEAK.replace('formulation = "weak"', 'formulation = "strong"'), "s.toml")
    ).systems[0]
    # a strong-form study keeps the settings (and hashes) it had before formulations existed
    assert "formulation" not in strong.config
    assert strong.config_hash("enforce") != s.config_hash("enforce")
    # noise of 1% of each variable's RMS
    rows = {m: run_cell(s.config, m, 2000, 0.01, 0, s.config_hash(m)) for m in ("enforce", "discover")}
    for m, row in rows.items():
        assert row["error"] == "", (m, row["error"])
        assert row["success"] == 1, m
    assert rows["discover"]["symmetry"] == "flip(x,y)"
    # the strong form on the same data: derivatives from smoothed differences
    assert run_cell(strong.config, "enforce", 2000, 0.01, 0, "h")["error"] == ""


@pytest.mark.parametrize(
    "change, words",
    [
        (('kind = "trajectory"', 'kind = "samples"'), "'weak' integrates time series"),
        (('formulation = "weak"', 'formulation = "integral"'), "'integral': expected 'strong', 'weak' or 'auto'"),
        (
            ('methods = ["enforce", "discover"]', 'methods = ["pysindy", "enforce"]'),
            "only the methods enforce, discover and promote have an automatic threshold",
        ),
    ],
)
def test_formulation_and_auto_threshold_errors(tmp_path, change, words):
    with pytest.raises(StudyError, match=words):
        load_study(write(tmp_path, WEAK.replace(*change)))


def test_promote_takes_the_automatic_threshold(tmp_path):
    study = load_study(
        write(
            tmp_path,
            WEAK.replace('methods = ["enforce", "discover"]', 'methods = ["enforce", "promote"]')
            .replace('formulation = "weak"', 'formulation = "strong"')
            .replace('kind = "trajectory"', 'kind = "samples"'),
        )
    )
    settings = study.systems[0]
    assert settings.config["threshold"] == "auto"
    row = run_cell(settings.config, "promote", 60, 0.01, 0, "h")
    assert row["error"] == "", row["error"]
    # Lorenz has no continuous symmetry: nothing is enforced, and the structure is recovered
    assert row["symmetry"] == "" and row["success"] == 1
