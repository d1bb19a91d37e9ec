"""QuantiBRITE PE calibration and blast antibody-binding capacity (ABC).

Method (BD QuantiBRITE PE package insert; Pannu et al., Cytometry 2001;45:250-258;
Iyer et al., Cytometry 1998;33:206-212):

1. **Singlet beads.** Beads are uniform in size, so single beads form one tight cluster in
   log10 forward (and side) scatter; debris lies below it and doublets about log10(2)
   = 0.30 above it. The cluster's mode is located on a histogram and events within
   :attr:`BeadSettings.scatter_window` (default 0.12 decades, well below the 0.30 of a
   doublet) of it on each scatter channel are kept.
2. **Peaks.** log10 of the PE channel of the singlets (positive values) is histogrammed,
   smoothed with a Gaussian kernel, and its local maxima found
   (:func:`scipy.signal.find_peaks`); the :attr:`BeadSettings.n_peaks` (4) most prominent
   are the bead populations. Fewer is a refusal (:class:`BeadFitError`).
3. **Populations.** Each event belongs to its nearest peak; within a population, events
   farther than 3 robust SDs (1.4826 x MAD) from its median are dropped (stray doublets,
   debris), and the **geometric mean** of the rest is the population's fluorescence.
4. **Fit.** ``log10(fluorescence) = m * log10(PE per bead) + c`` by least squares over
   the four populations, with slope, intercept, R^2 and residuals. Flags:
   R^2 below :attr:`BeadSettings.min_r2` (default 0.98; no published acceptance limit
   exists: laboratories commonly require >= 0.98-0.99, so it is a parameter), and a
   slope outside :attr:`BeadSettings.slope_range` (default 0.8-1.2: fluorescence is
   proportional to PE molecules, so the slope is close to 1 on a linear, compensated
   scale).
5. **Blast ABC.** ``ABC = 10 ** ((log10(F) - c) / m)`` with ``F`` the gated blasts'
   geometric mean (default) or median PE fluorescence, and per cell for the distribution.
   The geometric mean uses events with positive fluorescence only (compensation can push
   dim events below zero); their number is reported. Flags: fewer than
   :attr:`AbcSettings.min_events` blasts (250; clinical-definitions: about 250 blasts are
   needed for a stable value), ``F`` outside the bead range (extrapolated).
6. **Negative and dim fractions** of blasts by per-cell ABC: below
   :attr:`AbcSettings.negative_below` (200 molecules: under the lowest QuantiBRITE
   bead, about 400-500 PE, so indistinguishable from background; a parameter, no
   standard exists) is negative; below :attr:`AbcSettings.dim_below` (2,000: the CD19
   density that separated response to CD19 CAR T, Majzner et al., Cancer Discov
   2020;10:702-723; for CD22 the published B-ALL median is about 3,500, Fry et al.,
   Nat Med 2018;24:20-28) is dim. Events with non-positive fluorescence count as negative.

ABC equals antibodies bound per cell only for a PE:antibody ratio of 1:1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from reinfuse.errors import FlowError
from reinfuse.flow.fcs import FcsData

__all__ = ["AbcResult", "AbcSettings", "BeadFit", "BeadFitError", "BeadSettings",
           "blast_abc", "find_bead_peaks", "fit_beads", "parse_bead_lot"]


class BeadFitError(FlowError):
    """Bead populations cannot be found or fitted (too few peaks, too few beads)."""


@dataclass(frozen=True)
class BeadSettings:
    """Parameters of bead peak finding and fit acceptance (see module docstring)."""

    n_peaks: int = 4
    scatter_window: float = 0.12
    bins: int = 512
    smooth_bins: float = 2.0
    min_beads_per_peak: int = 100
    min_r2: float = 0.98
    slope_range: tuple[float, float] = (0.8, 1.2)


@dataclass(frozen=True)
class BeadFit:
    """A QuantiBRITE calibration: bead populations, the fitted line and its flags."""

    pe_per_bead: tuple[float, ...]
    geo_means: tuple[float, ...]
    counts: tuple[int, ...]
    slope: float
    intercept: float
    r2: float
    residuals: tuple[float, ...]
    singlets: int
    flags: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No flag was raised."""
        return not self.flags

    def abc(self, fluorescence: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """PE molecules for fluorescence values (NaN where fluorescence <= 0)."""
        f = np.asarray(fluorescence, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = 10.0 ** ((np.log10(f) - self.intercept) / self.slope)
        return np.where(f > 0, out, np.nan)


def parse_bead_lot(text: str | float, where: str = "bead_lot") -> tuple[float, ...]:
    """The lot's PE molecules per bead from ``"474;5359;23843;62336"``.

    Raises
    ------
    FlowError
        Not four increasing positive numbers separated by ``;``.
    """
    parts = [p.strip() for p in str(text).replace(",", ";").split(";") if p.strip()]
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        vals = ()
    if len(vals) != 4 or any(v <= 0 for v in vals) or list(vals) != sorted(set(vals)):
        raise FlowError(f"{where}: received {text!r}; expected the lot's four PE molecules "
                        "per bead, increasing, separated by ';' (e.g. 474;5359;23843;62336)")
    return vals


def _mode(x: npt.NDArray[np.float64], bins: int, smooth: float) -> float:
    lo, hi = np.percentile(x, [0.5, 99.5])
    hist, edges = np.histogram(x, bins=bins, range=(lo, hi))
    sm = gaussian_filter1d(hist.astype(float), smooth)
    i = int(np.argmax(sm))
    return float((edges[i] + edges[i + 1]) / 2)


def _singlets(fcs: FcsData, scatter: tuple[str, ...], s: BeadSettings) -> npt.NDArray[np.bool_]:
    keep = np.ones(fcs.n_events, dtype=bool)
    for name in scatter:
        x = fcs.column(name)
        pos = x > 0
        lx = np.full(x.shape, -np.inf)
        lx[pos] = np.log10(x[pos])
        mode = _mode(lx[pos], s.bins, s.smooth_bins)
        keep &= np.abs(lx - mode) <= s.scatter_window
    return keep


def find_bead_peaks(fcs: FcsData, channel: str, settings: BeadSettings | None = None,
                    scatter: tuple[str, ...] | None = None,
                    fluorescence: npt.NDArray[np.float64] | None = None,
                    ) -> tuple[tuple[float, ...], tuple[int, ...], int]:
    """Geometric means and sizes of the ``settings.n_peaks`` bead populations (steps 1-3).

    Returns ``(geometric means, beads per population, single beads)``, populations in
    increasing fluorescence. Parameters as for :func:`fit_beads`.

    Raises
    ------
    BeadFitError
        Too few single beads, fewer populations than ``n_peaks``, or a population with
        fewer than ``min_beads_per_peak`` beads.
    """
    s = settings or BeadSettings()
    if scatter is None:
        names = {c.upper(): c for c in fcs.channels}
        scatter = tuple(next(names[k] for k in (f"{p}-A", f"{p}-H", p) if k in names)
                        for p in ("FSC", "SSC")
                        if any(k in names for k in (f"{p}-A", f"{p}-H", p)))
    pe = fcs.column(channel) if fluorescence is None else fluorescence
    single = _singlets(fcs, scatter, s) & (pe > 0)
    n_single = int(single.sum())
    if n_single < s.n_peaks * s.min_beads_per_peak:
        raise BeadFitError(f"{fcs.source}: only {n_single} single beads with positive "
                           f"{channel} found; at least {s.n_peaks * s.min_beads_per_peak} "
                           "are needed")
    lx = np.log10(pe[single])
    lo, hi = np.percentile(lx, [0.1, 99.9])
    hist, edges = np.histogram(lx, bins=s.bins, range=(lo - 0.1, hi + 0.1))
    sm = gaussian_filter1d(hist.astype(float), s.smooth_bins)
    peaks, props = find_peaks(sm, prominence=sm.max() * 0.02)
    if len(peaks) < s.n_peaks:
        raise BeadFitError(f"{fcs.source}: {len(peaks)} bead population(s) found in "
                           f"{channel}; {s.n_peaks} are needed (check the bead file and "
                           "channel)")
    top = np.sort(peaks[np.argsort(props["prominences"])[::-1][:s.n_peaks]])
    centers = (edges[top] + edges[top + 1]) / 2
    nearest = np.argmin(np.abs(lx[:, None] - centers[None, :]), axis=1)
    geo, counts = [], []
    for k in range(s.n_peaks):
        v = lx[nearest == k]
        med = np.median(v)
        mad = 1.4826 * np.median(np.abs(v - med))
        v = v[np.abs(v - med) <= 3 * max(mad, 1e-6)]
        if len(v) < s.min_beads_per_peak:
            raise BeadFitError(f"{fcs.source}: bead population {k + 1} has {len(v)} beads; "
                               f"at least {s.min_beads_per_peak} are needed")
        geo.append(float(10 ** v.mean()))
        counts.append(len(v))
    return tuple(geo), tuple(counts), n_single


def fit_beads(fcs: FcsData, channel: str, pe_per_bead: tuple[float, ...],
              settings: BeadSettings | None = None,
              scatter: tuple[str, ...] | None = None,
              fluorescence: npt.NDArray[np.float64] | None = None) -> BeadFit:
    """Find the bead populations in a QuantiBRITE file and fit the calibration line.

    Parameters
    ----------
    fcs : FcsData
        The bead file.
    channel : str
        The PE detector (``PE-A``) or its marker.
    pe_per_bead : tuple of float
        The lot's PE molecules per bead, increasing (:func:`parse_bead_lot`).
    settings : BeadSettings
        Peak finding and acceptance parameters.
    scatter : tuple of str
        Scatter channels for the singlet gate; default ``FSC-A`` and ``SSC-A`` where present
        (else ``FSC-H``/``SSC-H``, ``FSC``/``SSC``).
    fluorescence : numpy.ndarray
        PE values to use instead of ``fcs.column(channel)`` (e.g. compensated).

    Raises
    ------
    BeadFitError
        Fewer than ``n_peaks`` populations, or a population with too few beads.
    """
    s = settings or BeadSettings()
    if len(pe_per_bead) != s.n_peaks:
        raise BeadFitError(f"{fcs.source}: {len(pe_per_bead)} PE values given for "
                           f"{s.n_peaks} bead populations")
    geo, counts, n_single = find_bead_peaks(fcs, channel, s, scatter, fluorescence)
    x = np.log10(np.asarray(pe_per_bead, dtype=float))
    y = np.log10(np.asarray(geo))
    m, c = np.polyfit(x, y, 1)
    resid = y - (m * x + c)
    r2 = 1.0 - float((resid ** 2).sum() / ((y - y.mean()) ** 2).sum())
    flags = []
    if r2 < s.min_r2:
        flags.append(f"bead fit R^2 {r2:.4f} below {s.min_r2}")
    if not s.slope_range[0] <= m <= s.slope_range[1]:
        flags.append(f"bead fit slope {m:.3f} outside {s.slope_range[0]}-{s.slope_range[1]}")
    return BeadFit(tuple(float(p) for p in pe_per_bead), tuple(geo), tuple(counts),
                   float(m), float(c), r2, tuple(float(r) for r in resid), n_single,
                   tuple(flags))


@dataclass(frozen=True)
class AbcSettings:
    """Parameters of the blast ABC and its flags (see module docstring for sources)."""

    statistic: str = "geometric_mean"
    min_events: int = 250
    negative_below: float = 200.0
    dim_below: float = 2000.0

    def __post_init__(self) -> None:
        if self.statistic not in ("geometric_mean", "median"):
            raise FlowError(f"ABC statistic {self.statistic!r}; allowed: geometric_mean, "
                            "median")
        if not 0 <= self.negative_below <= self.dim_below:
            raise FlowError("ABC thresholds need 0 <= negative_below <= dim_below; received "
                            f"{self.negative_below} and {self.dim_below}")


@dataclass(frozen=True)
class AbcResult:
    """Blast ABC through a bead fit, with its per-cell distribution and flags."""

    abc: float
    statistic: str
    fluorescence: float
    n_events: int
    n_nonpositive: int
    fraction_negative: float
    fraction_dim: float
    per_cell: npt.NDArray[np.float64] = field(repr=False)
    flags: tuple[str, ...] = ()


def blast_abc(fluorescence: npt.ArrayLike, fit: BeadFit,
              settings: AbcSettings | None = None) -> AbcResult:
    """ABC of a gated blast population from its PE fluorescence (compensated, linear).

    ``per_cell`` holds each blast's ABC (NaN where fluorescence <= 0). Fractions are of all
    gated blasts (denominator ``n_events``); NaN when there are none.
    """
    s = settings or AbcSettings()
    f = np.asarray(fluorescence, dtype=np.float64)
    n = int(f.size)
    pos = f[f > 0]
    flags: list[str] = []
    if n < s.min_events:
        flags.append(f"{n} gated blasts, fewer than {s.min_events}")
    if s.statistic == "median":
        stat = float(np.median(f)) if n else float("nan")
    else:
        stat = float(10 ** np.log10(pos).mean()) if pos.size else float("nan")
    abc = float(fit.abc(stat)) if np.isfinite(stat) and stat > 0 else float("nan")
    if not np.isfinite(abc):
        flags.append("blast fluorescence not positive: ABC undefined")
    elif not min(fit.geo_means) <= stat <= max(fit.geo_means):
        flags.append("blast fluorescence outside the bead range (extrapolated)")
    per_cell = fit.abc(f)
    with np.errstate(invalid="ignore"):
        neg = (~(per_cell >= s.negative_below)).sum()  # NaN (f <= 0) counts as negative
        dim = ((per_cell >= s.negative_below) & (per_cell < s.dim_below)).sum()
    frac_neg = float(neg / n) if n else float("nan")
    frac_dim = float(dim / n) if n else float("nan")
    return AbcResult(abc, s.statistic, stat, n, int(n - pos.size), frac_neg, frac_dim,
                     per_cell, tuple(flags + list(fit.flags)))
