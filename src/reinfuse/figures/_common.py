"""What every figure kind shares: journal sizes, fonts, greys, empty figures, plain data.

Figures are drawn with matplotlib's object API on an Agg canvas: no pyplot, no global figure
registry, nothing shown on screen. Sizes follow the usual journal grid (single column 3.5 in,
double column 7 in) with 7 pt text. Every encoding is greyscale: fills are an ordered grey
ramp doubled by hatching, markers differ by shape, so a figure printed in black and white
reads the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reinfuse._plain import to_plain
from reinfuse.errors import PlanError

# Shared with the analyze stage's Kaplan-Meier estimates (re-exported for every figure).
from reinfuse.survival_curves import check_infusion as check_infusion
from reinfuse.survival_curves import label as label
from reinfuse.survival_curves import require_columns as require_columns

#: Journal figure widths (inches).
SINGLE_COLUMN = 3.5
DOUBLE_COLUMN = 7.0

#: Text sizes (points).
FONT_SIZE = 7.0
SMALL_FONT_SIZE = 6.5

#: matplotlib settings applied while a figure is built and saved.
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": SMALL_FONT_SIZE,
    "legend.title_fontsize": SMALL_FONT_SIZE,
    "legend.frameon": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 3.0,
    "ytick.major.size": 3.0,
    "xtick.minor.size": 1.8,
    "ytick.minor.size": 1.8,
    "lines.linewidth": 0.8,
    "patch.linewidth": 0.5,
    "hatch.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "reinfuse",
    "figure.dpi": 100,
    # User strings (patient ids, labels, titles) are drawn literally: '$x^$' is text, not
    # matplotlib mathtext (which would fail on it, or render '$\\frac{1}{0}$' as maths).
    "text.parse_math": False,
}

NO_PATIENTS = "No patients to show"


@contextmanager
def style() -> Iterator[None]:
    """Apply :data:`RC` for the duration of a figure's construction or saving."""
    with mpl.rc_context(cast(Any, RC)):
        yield


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches on an Agg canvas, constrained layout."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


_EMPTY = "reinfuse-empty: "


def empty_reason(figure: Figure) -> str:
    """Why ``figure`` has nothing to plot (its :func:`empty_figure` reason), else ``""``."""
    name = str(figure.get_label() or "")
    return name[len(_EMPTY):] if name.startswith(_EMPTY) else ""


def empty_figure(reason: str, width: float = SINGLE_COLUMN, height: float = 1.4) -> Figure:
    """A figure that says there is nothing to plot, and why.

    Parameters
    ----------
    reason
        One sentence shown under "No patients to show" (e.g. "No patient was in CR after
        CART2.").
    """
    figure = new_figure(width, height)
    # The reason travels with the figure, so a report can leave it out and say why.
    figure.set_label(_EMPTY + reason)
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.6, NO_PATIENTS, ha="center", va="center", fontsize=FONT_SIZE + 1,
            fontweight="bold", transform=ax.transAxes)
    ax.text(0.5, 0.35, reason, ha="center", va="center", fontsize=FONT_SIZE,
            transform=ax.transAxes, wrap=True)
    return figure


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> None:
    """Raise :class:`PlanError` unless ``value`` is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise PlanError(f"parameter '{name}' is {value!r}; allowed: {', '.join(allowed)}.")


def check_count(name: str, value: Any) -> None:
    """Raise :class:`PlanError` unless ``value`` is a whole number >= 1 (a patient count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PlanError(f"parameter '{name}' is {value!r}; it must be a whole number >= 1 "
                        "(a number of patients, e.g. 40).")


def paired(frame: pd.DataFrame, columns: Sequence[str], first: int = 1,
           second: int = 2) -> tuple[pd.DataFrame, int]:
    """One row per patient with ``columns`` at two infusions, suffixed ``_1`` and ``_2``.

    Only patients with a row at both infusions are kept; the second value returned counts
    the patients of ``frame`` left out because they lack one of the two infusions.
    """
    rows = frame.loc[frame["infusion"].isin([first, second]),
                     ["patient_id", "infusion", *columns]]
    wide = rows.set_index(["patient_id", "infusion"])[list(columns)].unstack("infusion")
    wide = wide.reindex(columns=pd.MultiIndex.from_product([list(columns), [first, second]]))
    wide.columns = [f"{column}_{'1' if number == first else '2'}"
                    for column, number in wide.columns]
    present = rows.groupby("patient_id")["infusion"].nunique()
    both = present.index[present.eq(2)]
    n_without = int(frame["patient_id"].nunique() - len(both))
    wide = wide.loc[wide.index.isin(both)].sort_index()
    wide.index.name = "patient_id"
    return wide, n_without


#: JSON-ready conversion of figure data (the project's one implementation).
plain = to_plain


#: Default of the paired figures' ``max_pairs``: above it they draw a random sample.
MAX_PAIRS = 300
#: Seed of that sample, so that the same cohort gives the same figure.
SAMPLE_SEED = 2026


def sample_pairs(n: int, max_pairs: int, seed: int = SAMPLE_SEED) -> np.ndarray:
    """Sorted positions of the pairs to draw: all ``n`` up to ``max_pairs``, else a
    random sample of ``max_pairs`` without replacement (``numpy.random.default_rng(seed)``).

    Drawing every line of 15,000 pairs gives a solid block (and an SVG of megabytes); a
    random sample keeps the shape of the cloud readable while the medians and quartiles
    drawn beside it are those of all pairs.

    Examples
    --------
    >>> sample_pairs(3, 5).tolist()
    [0, 1, 2]
    >>> positions = sample_pairs(1000, 10)
    >>> len(positions), bool((np.diff(positions) > 0).all())
    (10, True)
    """
    if n <= max_pairs:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_pairs, replace=False))


def sample_note(shown: int, n: int, seed: int = SAMPLE_SEED) -> str:
    """The caption sentence of a paired figure drawn from a sample (``""`` when all shown).

    Examples
    --------
    >>> sample_note(300, 15000)[:62]
    'Lines and markers: a random sample of 300 of the 15,000 pairs '
    """
    if shown >= n:
        return ""
    return (f"Lines and markers: a random sample of {thousands(shown)} of the "
            f"{thousands(n)} pairs (seed {seed}); medians and interquartile ranges (bars) "
            f"are of all {thousands(n)} pairs.")


def summary(values: pd.Series) -> dict[str, float | int | None]:
    """``n``, median, minimum and maximum of the non-missing values."""
    clean = pd.to_numeric(values, errors="coerce").dropna()
    if clean.empty:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {"n": len(clean), "median": float(clean.median()), "min": float(clean.min()),
            "max": float(clean.max())}


def thousands(value: float) -> str:
    """A number with thousands separators and no needless decimals (``13,435``, ``0.35``)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def spread(y: np.ndarray, bin_width: float, step: float = 0.065,
           half_width: float = 0.36) -> np.ndarray:
    """Horizontal offsets that set side by side the points of one column with close ``y``.

    Points whose ``y`` fall in the same bin of ``bin_width`` are centred around 0, ``step``
    apart (closer when more than fit in ``half_width`` either side), in order of ``y`` and
    then of position. A deterministic, minimal beeswarm: offsets carry no data.

    Examples
    --------
    >>> spread(np.array([0.0, 5.0, 0.0, 0.0]), bin_width=1.0, step=0.1).round(2).tolist()
    [-0.1, 0.0, 0.0, 0.1]
    """
    values = pd.Series(np.asarray(y, dtype=float))
    groups = values.groupby(np.floor(values / bin_width))
    rank = groups.rank(method="first").to_numpy(float) - 1
    size = groups.transform("size").to_numpy(float)
    spacing = np.minimum(step, 2 * half_width / np.maximum(size - 1, 1))
    return (rank - (size - 1) / 2) * spacing
