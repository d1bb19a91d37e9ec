"""CNS status and COG subclasses: truth tables.

Definitions from the seed study's Table 2 legend and clinical-definitions.md ("Bone
marrow, CNS and MRD status"), including the Steinherz-Bleyer traumatic-tap rule
(CSF WBC/RBC > 2 x blood WBC/RBC -> CNS3). Ratios below are hand-computed.
"""

from __future__ import annotations

from typing import Any

import pytest

from reinfuse.criteria import CriteriaError, cns_status, cns_subclass

NAN = float("nan")
# A bloody tap: blood 5,000 WBC and 4,000,000 RBC per uL -> blood ratio 0.00125, x2 = 0.0025
BLOOD = {"blood_wbc": 5_000, "blood_rbc": 4e6}
# COG applies the Steinherz/Bleyer correction to patients with circulating blasts.
BLOOD_BLASTS = {**BLOOD, "circulating_blasts": True}


def s(rule_id: str, expected: str | None, wbc: Any, blasts: Any, flow: Any = None,
      **kw: Any) -> Any:
    return pytest.param(wbc, blasts, flow, kw, expected, id=rule_id)


@pytest.mark.parametrize(
    ("wbc", "blasts", "flow", "kwargs", "expected"),
    [
        s("CNS1: no blasts, flow negative", "CNS1", 0, False, False),
        s("CNS1: no blasts regardless of WBC (50/uL)", "CNS1", 50, False, False),
        s("seed: CNS1 with flow-detectable disease", "CNS1 flow+", 0, False, True),
        s("blast-negative, flow missing: CNS1 or CNS1 flow+ -> missing", None, 0, False,
          None),
        s("parameter unknown_flow='CNS1'", "CNS1", 0, False, None, unknown_flow="CNS1"),
        s("CNS2: WBC 4.9 with blasts", "CNS2", 4.9, True),
        s("CNS3: WBC 5 with blasts (>= 5)", "CNS3", 5, True),
        s("CNS2 with flow positive is still CNS2", "CNS2", 2, True, True),
        s("CNS3: clinical signs with WBC 4.9", "CNS3", 4.9, True, clinical_signs=True),
        s("CNS3: clinical signs without blasts", "CNS3", 0, False, False,
          clinical_signs=True),
        s("blasts, WBC missing -> missing", None, NAN, True),
        s("blasts, WBC missing, clinical signs -> CNS3", "CNS3", NAN, True,
          clinical_signs=True),
        s("cytospin missing -> missing", None, 10, None),
        s("clinical signs unknown, CSF says CNS3 -> CNS3", "CNS3", 10, True,
          clinical_signs=NAN),
        s("clinical signs unknown, CSF says CNS1 -> missing", None, 0, False, False,
          clinical_signs=NAN),
        s("parameter wbc_threshold=6: WBC 5 with blasts is CNS2", "CNS2", 5, True,
          wbc_threshold=6),
        # Steinherz-Bleyer
        s("SB: 40 WBC / 20,000 RBC = 0.002, not > 0.0025 -> CNS2", "CNS2", 40, True,
          csf_rbc_per_ul=20_000, **BLOOD_BLASTS),
        s("COG: no circulating blasts, SB not applied -> CNS3 (blasts cannot come from "
          "blood)", "CNS3", 40, True, csf_rbc_per_ul=20_000, **BLOOD,
          circulating_blasts=False),
        s("circulating blasts unrecorded, SB negative: CNS2 or CNS3 -> missing", None, 40,
          True, csf_rbc_per_ul=20_000, **BLOOD),
        s("circulating blasts unrecorded, SB positive -> CNS3 either way", "CNS3", 40, True,
          csf_rbc_per_ul=2_000, **BLOOD),
        s("parameter unknown_circulating_blasts='apply' -> CNS2", "CNS2", 40, True,
          csf_rbc_per_ul=20_000, **BLOOD, unknown_circulating_blasts="apply"),
        s("no circulating blasts, blood counts missing -> CNS3", "CNS3", 40, True,
          csf_rbc_per_ul=20_000, circulating_blasts=False),
        s("SB: 40 WBC / 2,000 RBC = 0.02 > 0.0025 -> CNS3", "CNS3", 40, True,
          csf_rbc_per_ul=2_000, **BLOOD),
        s("SB: exactly 2x (10 WBC / 4,000 RBC = 0.0025) is not > 2x -> CNS2", "CNS2", 10,
          True, csf_rbc_per_ul=4_000, **BLOOD_BLASTS),
        s("SB not applied to a clean tap (RBC 5 < 10) -> CNS3", "CNS3", 40, True,
          csf_rbc_per_ul=5, **BLOOD),
        s("SB not needed below WBC 5 -> CNS2", "CNS2", 4, True, csf_rbc_per_ul=20_000,
          **BLOOD),
        s("SB switched off (traumatic_tap_rule=False) -> CNS3", "CNS3", 40, True,
          csf_rbc_per_ul=20_000, traumatic_tap_rule=False, **BLOOD),
        s("SB in SI units (5 x 10^9/L, 4 x 10^12/L) -> CNS2", "CNS2", 40, True,
          csf_rbc_per_ul=20_000, blood_wbc=5, blood_rbc=4, blood_units="si",
          circulating_blasts=True),
        s("issue 8: WBC >= 5 with blasts and no CSF RBC count -> CNS3, not an error",
          "CNS3", 40, True, csf_rbc_per_ul=NAN, **BLOOD_BLASTS),
        s("issue 8: only the CSF RBC given (no blood counts), clean tap -> CNS3", "CNS3",
          40, True, csf_rbc_per_ul=2),
        s("parameter unrecorded_csf_rbc='missing' -> missing", None, 40, True,
          csf_rbc_per_ul=NAN, unrecorded_csf_rbc="missing"),
        s("SB with blood WBC missing on a bloody tap with circulating blasts -> missing",
          None, 40, True, csf_rbc_per_ul=20_000, blood_wbc=NAN, blood_rbc=4e6,
          circulating_blasts=True),
        s("SB blood counts missing but clean tap -> CNS3", "CNS3", 40, True,
          csf_rbc_per_ul=0, blood_wbc=NAN, blood_rbc=NAN),
    ],
)
def test_cns_status(wbc: Any, blasts: Any, flow: Any, kwargs: dict[str, Any],
                    expected: str | None) -> None:
    assert cns_status(wbc, blasts, flow, **kwargs) == expected


def c(rule_id: str, expected: str | None, wbc: Any, blasts: Any, rbc: Any,
      **kw: Any) -> Any:
    return pytest.param(wbc, blasts, rbc, kw, expected, id=rule_id)


@pytest.mark.parametrize(
    ("wbc", "blasts", "rbc", "kwargs", "expected"),
    [
        c("COG CNS1: no blasts", "CNS1", 10, False, 500),
        c("COG CNS2a: WBC < 5, RBC < 10, blasts", "CNS2a", 4.9, True, 9.9),
        c("COG CNS2b: WBC < 5, RBC >= 10 (10), blasts", "CNS2b", 4.9, True, 10),
        c("COG CNS2c: WBC >= 5, RBC >= 10, SB negative", "CNS2c", 40, True, 20_000, **BLOOD),
        c("COG CNS3a: WBC >= 5 (5), RBC < 10, blasts", "CNS3a", 5, True, 9.9),
        c("COG CNS3b: WBC >= 5, RBC >= 10, SB positive", "CNS3b", 40, True, 2_000, **BLOOD),
        c("COG CNS3c: clinical signs (CSF negative)", "CNS3c", 0, False, 0,
          clinical_signs=True),
        c("COG CNS3c: clinical signs beat CNS2a", "CNS3c", 2, True, 0, clinical_signs=True),
        c("COG: RBC missing with WBC < 5: 2a or 2b -> missing", None, 2, True, NAN),
        c("COG: SB needed but blood counts not given -> missing", None, 40, True, 20_000),
        c("COG: clinical signs unknown -> missing (3c would win)", None, 2, True, 0,
          clinical_signs=NAN),
    ],
)
def test_cns_subclass(wbc: Any, blasts: Any, rbc: Any, kwargs: dict[str, Any],
                      expected: str | None) -> None:
    assert cns_subclass(wbc, blasts, rbc, **kwargs) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: cns_status(40, True, None, unknown_circulating_blasts="yes"),
                     "'missing' or 'apply'", id="unknown_circulating_blasts not a choice"),
        pytest.param(lambda: cns_status(40, True, None, csf_rbc_per_ul=2000, blood_wbc=5,
                                        blood_rbc=4), "blood_units='si'",
                     id="SI blood counts passed as per-uL"),
        pytest.param(lambda: cns_status(-1, True, None), ">= 0", id="negative WBC"),
        pytest.param(lambda: cns_status(1, "positive", None), "yes/no",
                     id="cytospin not yes/no"),
    ],
)
def test_cns_refuses(call: Any, message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        call()
