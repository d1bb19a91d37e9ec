"""The antigen_samples batch: Dask parallelism, per-file failures, outputs, CLI.

Truth: the synthetic files' known ABCs (pre CART1 4000, pre CART2 2000, after CART2 with
60 % antigen-negative blasts) and the rules of reinfuse.flow.batch worked by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.flow._antigen_study import write_study

from reinfuse.cli import main
from reinfuse.errors import FlowError
from reinfuse.flow.batch import (
    antigen_fill,
    compare_recorded,
    results_frame,
    run_antigen,
    sample_specs,
)
from reinfuse.flow.figures import antigen_histograms
from reinfuse.flow.gates import load_gates
from reinfuse.flow.synthetic import GATES_TOML


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV cohort (demo patients and infusions) with FCS files and an antigen sheet."""
    return write_study(tmp_path_factory.mktemp("antigen"))


@pytest.fixture(scope="module")
def specs(study: Path) -> list:  # type: ignore[type-arg]
    return sample_specs(pd.read_csv(study / "antigen_samples.csv"), study)


def test_results_recover_known_abc_and_report_failure(specs: list) -> None:  # type: ignore[type-arg]
    res = run_antigen(specs, load_gates(specs[0].fcs_path.parents[1] / "gates.toml"))
    frame = results_frame(res)
    assert frame["status"].tolist() == ["ok", "ok", "ok", "ok", "failed"]
    assert frame["abc"].iloc[:2].tolist() == pytest.approx([4000, 2000], rel=0.02)
    assert frame["abc"].iloc[3] == pytest.approx(6000, rel=0.02)
    post = frame.iloc[2]
    assert post["fraction_negative"] == pytest.approx(0.6, abs=0.02)
    assert post["antigen_status"] == "negative"  # >= half the blasts negative
    assert frame["antigen_status"].iloc[:2].tolist() == ["positive", "positive"]  # >= 2000
    err = frame["error"].iloc[4]
    assert "truncated" in err and "fcs_file of antigen_samples row" in err
    assert "broken.fcs" not in err
    fill = antigen_fill(res)
    assert fill.loc[("P01", 1), "abc_cd19_pre"] == pytest.approx(4000, rel=0.02)
    assert fill.loc[("P01", 2), "antigen_after_cd19"] == "negative"
    assert pd.isna(fill.loc[("P02", 2), "abc_cd22_pre"])  # failed: unknown, not zero
    recorded = pd.DataFrame({"patient_id": ["P01", "P01"], "infusion": [1, 2],
                             "abc_cd19_pre": [4050.0, 3000.0]})
    warnings = compare_recorded(recorded, fill)
    assert len(warnings) == 1 and "infusion 2" in warnings[0] and "recorded 3000" in warnings[0]
    fig = antigen_histograms(res, "P01", "CD19")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [x.split(":")[0] for x in labels] == ["pre CART1", "pre CART2", "after CART2"]


def test_identical_results_whatever_the_parallelism(specs: list) -> None:  # type: ignore[type-arg]
    from distributed import Client, LocalCluster

    gates = load_gates("g", text=GATES_TOML)
    one = results_frame(run_antigen(specs, gates, workers=1))
    two = results_frame(run_antigen(specs, gates, workers=2))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dist = results_frame(run_antigen(specs, gates, scheduler=client))
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, dist)


def test_paths_leaving_the_folder_are_refused(study: Path) -> None:
    sheet = pd.read_csv(study / "antigen_samples.csv")
    sheet.loc[0, "fcs_file"] = "../elsewhere.fcs"
    sheet.loc[2, "bead_file"] = "/etc/passwd"
    with pytest.raises(FlowError, match="2 problem") as err:
        sample_specs(sheet, study)
    assert "row 2, column fcs_file" in str(err.value) and "row 4, column bead_file" in str(
        err.value)


def test_cli_writes_outputs_without_identifiers(study: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "antigen-out"
    code = main(["antigen", str(study), "--out", str(out), "--quiet", "--workers", "2"])
    assert code == 1  # one sample failed; the others were written
    printed = capsys.readouterr().out
    assert "truncated" in printed and "P01" in printed
    names = {p.name for p in out.rglob("*") if p.is_file()}
    assert {"antigen_results.csv", "antigen_qc.csv", "antigen_fill.csv"} <= names
    assert len(list((out / "figures").glob("*.png"))) == 2
    for p in out.glob("*.csv"):
        text = p.read_text()
        for secret in ("Synthetic Patient", "MRN0001", ".fcs", str(study)):
            assert secret not in text
    assert main(["antigen", str(study), "--gates", str(study / "nope.toml"), "--quiet"]) == 3
