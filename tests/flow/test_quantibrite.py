"""QuantiBRITE calibration and blast ABC on synthetic files with known truth.

The truth is the simulation's model (fluorescence = 0.25 * molecules ** 0.97, so the fit's
slope is 0.97 and its intercept log10(0.25)); expected negative/dim fractions of a
log-normal ABC come from the normal CDF (scipy.stats.norm), not from the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from reinfuse.errors import FlowError
from reinfuse.flow.fcs import read_fcs
from reinfuse.flow.gates import gate_sample, load_gates
from reinfuse.flow.quantibrite import (
    AbcSettings,
    BeadFit,
    BeadFitError,
    BeadSettings,
    blast_abc,
    find_bead_peaks,
    fit_beads,
    parse_bead_lot,
)
from reinfuse.flow.synthetic import BEAD_LOT, GATES_TOML, bead_file, blast_file

GATES = load_gates("synthetic", text=GATES_TOML)


@pytest.fixture(scope="module")
def fit() -> BeadFit:
    return fit_beads(read_fcs(bead_file(seed=11)), "PE-A", BEAD_LOT)


def _blasts(abc: float, **kw: object) -> np.ndarray:
    s = gate_sample(read_fcs(blast_file(abc, **kw)), GATES)  # type: ignore[arg-type]
    return s.linear("PE-A")[s.masks["blasts"]]


def test_bead_fit_recovers_the_instrument_model(fit: BeadFit) -> None:
    assert fit.ok
    assert fit.slope == pytest.approx(0.97, rel=0.02)
    assert fit.intercept == pytest.approx(math.log10(0.25), abs=0.02)
    truth = [0.25 * p ** 0.97 for p in BEAD_LOT]
    np.testing.assert_allclose(fit.geo_means, truth, rtol=0.02)
    assert fit.r2 > 0.999 and len(fit.residuals) == 4


def test_bead_fit_robust_to_heavy_debris_and_doublets() -> None:
    f = fit_beads(read_fcs(bead_file(seed=5, debris=0.6, doublets=0.25)), "PE-A", BEAD_LOT)
    np.testing.assert_allclose(f.geo_means, [0.25 * p ** 0.97 for p in BEAD_LOT], rtol=0.02)


@pytest.mark.parametrize(("abc", "seed"), [(1200, 1), (3500, 2), (15000, 3)])
def test_blast_abc_recovered_within_2_percent(fit: BeadFit, abc: float, seed: int) -> None:
    pe = _blasts(abc, seed=seed)
    geo = blast_abc(pe, fit)
    med = blast_abc(pe, fit, AbcSettings(statistic="median"))
    assert geo.abc == pytest.approx(abc, rel=0.02)
    assert med.abc == pytest.approx(abc, rel=0.02)  # log-normal: median = geometric mean
    assert geo.n_events == pytest.approx(5000, rel=0.02) and not geo.flags
    assert geo.per_cell.shape == pe.shape


def test_negative_and_dim_fractions(fit: BeadFit) -> None:
    # 30 % of blasts lost the antigen; the rest log-normal around 3000 (SD 0.2 decades).
    r = blast_abc(_blasts(3000, seed=4, negative_fraction=0.3), fit)
    below_dim = norm.cdf((math.log10(2000) - math.log10(3000)) / 0.2)  # 0.189
    below_neg = norm.cdf((math.log10(200) - math.log10(3000)) / 0.2)   # ~0
    assert r.fraction_negative == pytest.approx(0.3 + 0.7 * below_neg, abs=0.02)
    assert r.fraction_dim == pytest.approx(0.7 * (below_dim - below_neg), abs=0.02)


def test_flags_small_population_and_out_of_range(fit: BeadFit) -> None:
    small = blast_abc(_blasts(3000, seed=6, n_blasts=200), fit)
    assert any("fewer than 250" in f for f in small.flags)
    high = blast_abc(_blasts(400_000, seed=7), fit)
    assert any("outside the bead range" in f for f in high.flags)


def test_three_peaks_refused() -> None:
    with pytest.raises(BeadFitError, match="3 bead population"):
        fit_beads(read_fcs(bead_file(seed=8, n_peaks=3)), "PE-A", BEAD_LOT)


def test_wrong_lot_values_flag_the_fit() -> None:
    wrong = (474.0, 900.0, 23843.0, 62336.0)  # second value mistyped
    f = fit_beads(read_fcs(bead_file(seed=9)), "PE-A", wrong, BeadSettings())
    assert not f.ok and any("R^2" in x for x in f.flags)


def test_bead_lot_parsing() -> None:
    assert parse_bead_lot("474; 5359;23843;62336") == BEAD_LOT
    for bad in ["474;5359;23843", "474;23843;5359;62336", "a;b;c;d", "0;1;2;3"]:
        with pytest.raises(FlowError, match="four PE molecules"):
            parse_bead_lot(bad)
    with pytest.raises(FlowError, match="statistic"):
        AbcSettings(statistic="mean")


def test_peaks_of_flowcal_example_beads_match_flowcal() -> None:
    """FlowCal's own example bead file (8 Spherotech populations, FCS 3.0, log FL1).

    Reference: FlowCal 1.3.1 run on it as in its examples/analyze_mef.py (start_end 250/100,
    high_low on FSC/SSC, density2d on FSC/SSC at 0.85, mef.get_transform_fxn clustering
    on FL1 and FL3): the per-population FL1 medians (RFI) below, from its
    ``statistic['values']``. reinfuse finds peaks on FL1 alone and reports geometric means:
    the six brighter populations agree within 1 %; the two dimmest overlap in FL1 alone
    (FlowCal separates them with FL3), so 6 % is allowed there.
    """
    flowcal = [153.99265261, 198.09567786, 278.81266654, 532.79789459, 1154.78198469,
               2763.16137845, 7041.35515486, 9222.39565104]
    d = read_fcs(Path(__file__).resolve().parents[1] / "data" / "fcs" /
                 "flowcal_beads_sample001.fcs.gz")
    geo, counts, _ = find_bead_peaks(d, "FL1", BeadSettings(n_peaks=8))
    np.testing.assert_allclose(geo[2:], flowcal[2:], rtol=0.01)
    np.testing.assert_allclose(geo[:2], flowcal[:2], rtol=0.06)
    assert min(counts) > 2000
