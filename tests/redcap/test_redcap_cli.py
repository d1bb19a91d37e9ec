"""`reinfuse redcap ...` exit codes and outputs (exit codes as in `reinfuse --help`)."""

from __future__ import annotations

from pathlib import Path

from reinfuse.cli import main

DATA = Path(__file__).parents[1] / "data" / "redcap"
EXPORT = ("patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,infusion,"
          "infusion_date\nP1,,,1,,\nP1,infusions,1,,1,2019-01-05\n")


def test_dictionary_then_import_then_map(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    dictionary = tmp_path / "dict.csv"
    assert main(["redcap", "dictionary", str(dictionary)]) == 0
    assert main(["redcap", "dictionary", str(dictionary)]) == 4  # never overwritten
    export = tmp_path / "export.csv"
    export.write_text(EXPORT, encoding="utf-8")
    assert main(["redcap", "import", str(export), "--dictionary", str(dictionary),
                 "--out", str(tmp_path / "cohort")]) == 0
    assert (tmp_path / "cohort" / "infusions.csv").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text(EXPORT.replace("P1,,,1,,", "P1,,,7,,"), encoding="utf-8")
    assert main(["redcap", "import", str(bad), "--out", str(tmp_path / "c2")]) == 1
    assert not (tmp_path / "c2").exists()  # a cohort with errors is not written
    assert "record P1" in capsys.readouterr().out
    mapping = tmp_path / "map.toml"
    assert main(["redcap", "map", "--dictionary",
                 str(DATA / "redcapr-repeating-instruments" / "dictionary.csv"),
                 "--out", str(mapping)]) == 0
    assert 'sex = "patients.sex"' in mapping.read_text(encoding="utf-8")
    mapping.write_text('[fields]\nsex = "patients.sexx"\n', encoding="utf-8")
    assert main(["redcap", "import", str(export), "--mapping", str(mapping)]) == 3
    assert main(["redcap", "import", str(tmp_path / "missing.csv")]) == 2
