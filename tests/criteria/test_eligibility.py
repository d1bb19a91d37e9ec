"""Reinfusion (CART2) eligibility: truth table.

Criteria from the seed study (Methods, "Study population"; Discussion) as summarised in
clinical-definitions.md ("Reinfusion (CART2) eligibility").
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from reinfuse.criteria import CriteriaError, reinfusion_eligibility

BASE: dict[str, Any] = {
    "first_response": "SD",
    "relapsed_after_cr": False,
    "expansion_evident": True,
    "intensified_ld_possible": False,
    "higher_dose_possible": False,
    "lower_burden_achievable": False,
}
REASON = {
    "relapse": "eligible: relapse after CR with the first infusion",
    "suboptimal": "eligible: suboptimal response with first-infusion expansion and a "
    "modifiable factor",
    "antigen": "not eligible: target antigen negative",
    "remission": "not eligible: in continuing remission after the first infusion (no "
    "relapse)",
    "expansion": "not eligible: no evidence of first-infusion CAR T-cell expansion",
    "modifiable": "not eligible: nothing modifiable for the reinfusion (lymphodepletion, "
    "dose, disease burden)",
    "?response": "undetermined: first-infusion response missing or not evaluable",
    "?relapse": "undetermined: relapse status missing",
    "?expansion": "undetermined: first-infusion expansion status missing",
    "?modifiable": "undetermined: modifiable factors missing",
    "?antigen": "undetermined: target antigen status missing",
}


def v(rule_id: str, eligible: bool | None, reason: str, modifiable: Any = "",
      kw: dict[str, Any] | None = None, **changes: Any) -> Any:
    return pytest.param({**BASE, **changes}, kw or {}, eligible, REASON[reason], modifiable,
                        id=rule_id)


@pytest.mark.parametrize(
    ("inputs", "kwargs", "eligible", "reason", "modifiable"),
    [
        v("seed (1): relapse after CR -> eligible", True, "relapse", first_response="CR",
          relapsed_after_cr=True),
        v("seed (1): relapse after CRi (CRi counts as CR) -> eligible", True, "relapse",
          first_response="CRi", relapsed_after_cr=True),
        v("seed: CR without relapse (no active disease) -> not eligible", False, "remission",
          first_response="CR"),
        v("seed (2): SD with expansion, intensified LD possible -> eligible", True,
          "suboptimal", "intensified lymphodepletion", intensified_ld_possible=True),
        v("seed (2): PR with expansion, higher dose possible -> eligible", True, "suboptimal",
          "higher CAR T-cell dose", first_response="PR", higher_dose_possible=True),
        v("seed (2): PD with expansion, lower burden achievable -> eligible", True,
          "suboptimal", "lower disease burden", first_response="PD",
          lower_burden_achievable=True),
        v("seed: progression without first-infusion expansion -> not eligible", False,
          "expansion", "intensified lymphodepletion", first_response="PD",
          expansion_evident=False, intensified_ld_possible=True),
        v("seed (2): suboptimal with expansion but nothing modifiable -> not eligible",
          False, "modifiable"),
        v("all three modifiable factors listed", True, "suboptimal",
          "intensified lymphodepletion; higher CAR T-cell dose; lower disease burden",
          intensified_ld_possible=True, higher_dose_possible=True,
          lower_burden_achievable=True),
        v("include_cri=False: CRi is suboptimal (expansion + LD -> eligible)", True,
          "suboptimal", "intensified lymphodepletion", {"include_cri": False},
          first_response="CRi", intensified_ld_possible=True),
        v("include_cri=False: CRi with nothing modifiable -> not eligible", False,
          "modifiable", "", {"include_cri": False}, first_response="CRi",
          relapsed_after_cr=True),
        v("relapse_requires='expansion': relapse without expansion -> not eligible", False,
          "expansion", "", {"relapse_requires": "expansion"}, first_response="CR",
          relapsed_after_cr=True, expansion_evident=False),
        v("relapse_requires='expansion_and_modifiable': nothing modifiable -> not", False,
          "modifiable", "", {"relapse_requires": "expansion_and_modifiable"},
          first_response="CR", relapsed_after_cr=True),
        v("relapse_requires='expansion_and_modifiable': with intensified LD -> eligible",
          True, "relapse", "intensified lymphodepletion",
          {"relapse_requires": "expansion_and_modifiable"}, first_response="CR",
          relapsed_after_cr=True, intensified_ld_possible=True),
        v("target antigen negative (optional input) -> not eligible", False, "antigen", "",
          {"target_antigen_positive": False}, first_response="CR", relapsed_after_cr=True),
        v("target antigen unknown on an otherwise eligible relapse -> missing", None,
          "?antigen", "", {"target_antigen_positive": float("nan")},
          first_response="CR", relapsed_after_cr=True),
        v("target antigen unknown does not rescue no expansion", False, "expansion", "",
          {"target_antigen_positive": float("nan")}, expansion_evident=False),
        v("NE first response -> undetermined", None, "?response", first_response="NE"),
        v("missing relapse status after CR -> undetermined", None, "?relapse",
          first_response="CR", relapsed_after_cr=None),
        v("expansion missing, suboptimal with LD possible -> undetermined", None,
          "?expansion", "intensified lymphodepletion", expansion_evident=None,
          intensified_ld_possible=True),
        v("expansion missing but nothing modifiable -> not eligible anyway", False,
          "modifiable", expansion_evident=None),
        v("one factor missing, none possible -> undetermined", None, "?modifiable", None,
          intensified_ld_possible=None),
        v("one factor missing, another possible -> eligible", True, "suboptimal",
          "higher CAR T-cell dose", intensified_ld_possible=None, higher_dose_possible=True),
    ],
)
def test_reinfusion_eligibility(inputs: dict[str, Any], kwargs: dict[str, Any],
                                eligible: bool | None, reason: str, modifiable: Any) -> None:
    row = reinfusion_eligibility(**inputs, **kwargs).iloc[0]
    got_eligible = None if pd.isna(row["eligible"]) else bool(row["eligible"])
    got_modifiable = None if pd.isna(row["modifiable"]) else row["modifiable"]
    assert (got_eligible, row["reason"], got_modifiable) == (eligible, reason, modifiable)


def test_reinfusion_eligibility_frame_and_refusals() -> None:
    patients = pd.DataFrame(
        {**{k: [v, v] for k, v in BASE.items()}, "first_response": ["CR", "SD"],
         "relapsed_after_cr": [True, False]},
        index=pd.Index(["P01", "P02"], name="patient_id"),
    )
    out = reinfusion_eligibility(**patients)  # columns named like the parameters
    assert list(out.columns) == ["eligible", "indication", "reason", "modifiable"]
    assert out.index.equals(patients.index)
    assert out["indication"].tolist() == ["relapse after CR", "suboptimal response"]
    with pytest.raises(CriteriaError, match="relapse is defined after a CR"):
        reinfusion_eligibility(**{**BASE, "first_response": "PR", "relapsed_after_cr": True})
    with pytest.raises(CriteriaError, match="relapse_requires"):
        reinfusion_eligibility(**BASE, relapse_requires="always")  # type: ignore[arg-type]
