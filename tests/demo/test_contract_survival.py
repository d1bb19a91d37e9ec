"""The demo cohort contract: remission and relapse after CART2 (figure 1F).

Each test computes a published figure of the seed study from ``demo_tables()`` with pandas /
scipy and cites what it checks; the shared data, helpers and conventions are in
``tests/demo/_contract.py`` (split from the former test_demo_contract.py by paper section).
"""

from __future__ import annotations

from tests.demo._contract import C2, CR2, PATIENTS, pct

# === Remission after CART2 (figure 1F) ===================================================

def test_cart2_complete_remissions_all_relapsed_without_transplant() -> None:
    # "No patient was eligible for consolidative HSCT and all patients experienced relapse,
    # either with persistent CAR T-cells and antigen escape (n=3); or with loss of CAR
    # T-cells and preserved antigen expression (n=3)." Fig. 1F: "6 of 18 (33.3%)".
    crs = C2[CR2]
    assert len(crs) == 6 and pct(6) == 33.3
    assert not crs["hsct_after"].any()
    assert crs["relapse_date"].notna().all()
    escape = crs["car_at_relapse"].astype(bool) & crs["relapse_antigen"].isin(["negative", "dim"])
    preserved = ~crs["car_at_relapse"].astype(bool) & crs["relapse_antigen"].eq("positive")
    assert (int(escape.sum()), int(preserved.sum())) == (3, 3)


def test_duration_of_remission() -> None:
    # "Median duration of remission was 77 days (range, 54-292 days)". Duration = relapse
    # date - date CR first documented.
    days = (C2.loc[CR2, "relapse_date"] - C2.loc[CR2, "response_date"]).dt.days
    assert (days.median(), days.min(), days.max()) == (77, 54, 292)


def test_relapse_sites_after_cart2() -> None:
    # "Relapse included two patients with CNS disease; one with combined EMD and medullary
    # relapse and three with medullary relapse." Fig. 1F: "patient 14 experienced relapse
    # post-CART2 with isolated CNS disease and a myeloid sarcoma".
    sites = C2.loc[CR2, "relapse_sites"].str.split(";").map(lambda s: tuple(sorted(s)))
    assert sites.value_counts().to_dict() == {("marrow",): 3, ("cns",): 2, ("emd", "marrow"): 1}
    assert sites["P14"] == ("cns",)


def test_prior_alternate_car_among_cart2_cr() -> None:
    # "Of six with a CART2 CR, three (50%) had received an alternate CART construct before
    # CART1 infusion."
    prior = PATIENTS.loc[CR2[CR2].index, "prior_car"].notna()
    assert (int(prior.sum()), pct(int(prior.sum()), 6)) == (3, 50.0)
