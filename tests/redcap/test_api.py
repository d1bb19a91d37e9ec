"""The PyCap pull, against recorded API responses served by a requests adapter (no
network). Skipped when PyCap is not installed (it is in requirements-dev.lock)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pandas as pd
import pytest

from reinfuse.redcap import pull_export
from reinfuse.validate import validate

redcap = pytest.importorskip("redcap", reason="PyCap not installed (pip install "
                                              "'reinfuse[redcap]')")
requests = pytest.importorskip("requests")

API = Path(__file__).parents[1] / "data" / "redcap" / "api"
URL = "https://redcap.invalid/api/"
TOKEN = "0123456789ABCDEF0123456789ABCDEF"  # fictitious; the adapter never checks it


class Recorded(requests.adapters.BaseAdapter):  # type: ignore[misc]
    """Answers REDCap API posts from the recorded bodies in tests/data/redcap/api."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, str]] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        self.posts.append(form)
        metadata = pd.read_csv(API / "metadata.csv", dtype=str, keep_default_na=False)
        if form["format"] == "json":  # PyCap asks for field and form names in JSON first
            if form["content"] == "metadata":
                body = metadata.to_json(orient="records").encode()
            else:
                forms = metadata["form_name"].drop_duplicates()
                body = json.dumps([{"instrument_name": f, "instrument_label": f}
                                   for f in forms]).encode()
        else:
            name = {"metadata": "metadata.csv", "record": "records.csv"}[form["content"]]
            body = (API / name).read_bytes()
        response = requests.models.Response()
        response.status_code = 200
        response._content = body
        response.headers["Content-Type"] = ("application/json" if form["format"] == "json"
                                            else "text/csv; charset=utf-8")
        response.url, response.request = request.url, request
        return response

    def close(self) -> None:
        pass


def test_pull_reads_records_through_a_mapping() -> None:
    adapter = Recorded()
    session = redcap.request._session
    session.mount(URL, adapter)
    try:
        export = pull_export(URL, TOKEN, mapping=API / "mapping.toml")
    finally:
        session.adapters.pop(URL, None)
    csv_posts = [p for p in adapter.posts if p["format"] == "csv"]
    assert [p["content"] for p in csv_posts] == ["metadata", "record"]
    assert csv_posts[1]["rawOrLabel"] == "raw" and csv_posts[1]["type"] == "flat"
    report = validate(export)
    assert {f.rule for f in report.errors} == {  # R-01 infusion 2 has no indication...
        "reinfusion-field-missing"}
    # records.csv: R-01 gender 2 (Male), previous_car 2 ticked (CD22); two infusions
    patients = report.cohort.patients.set_index("patient_id")
    assert patients.loc["R-01", "sex"] == "M" and patients.loc["R-02", "sex"] == "F"
    assert patients.loc["R-01", "prior_car"] == "CD22" and pd.isna(patients.loc["R-02",
                                                                                "prior_car"])
    inf = report.cohort.infusions.set_index(["patient_id", "infusion"])
    assert inf.loc[("R-01", 2), "date"] == pd.Timestamp("2018-09-14")
    assert inf.loc[("R-01", 2), "dose_per_kg"] == 3e6
    assert pd.isna(inf.loc[("R-02", 1), "dose_per_kg"])
