"""Synthetic QuantiBRITE bead and blast FCS files with known truth (tests, benchmarks, demo).

The instrument is modelled as ``fluorescence = gain * molecules ** slope`` (default gain
0.25, slope 0.97), with log-normal per-particle spread, additive Gaussian noise (the
spread compensation leaves), debris (small, dim events) and doublets (twice the scatter
and the summed fluorescence of two particles). The truth is the model's parameters, so a
calibration recovers it independently of how the files were analysed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from reinfuse.flow.fcs import fcs_bytes

__all__ = ["BEAD_LOT", "GATES_TOML", "bead_file", "blast_file"]

#: A QuantiBRITE PE lot's PE molecules per bead (example values of the order BD prints on
#: its lots: low, medium-low, medium-high, high).
BEAD_LOT = (474.0, 5359.0, 23843.0, 62336.0)

#: Gate file matching :func:`blast_file`: CD10 (APC-A, asinh) positive blasts among cells.
GATES_TOML = """
[transforms]
default = "linear"
"APC-A" = { kind = "asinh", cofactor = 150 }

[gates.cells]
type = "rectangle"
channels = ["FSC-A", "SSC-A"]
min = [30000, 0]
max = [80000, 60000]

[gates.cd10_pos]
type = "threshold"
channel = "APC-A"
above = 3.0

[gates.blasts]
type = "boolean"
parent = "cells"
expr = "cd10_pos"
"""


def _response(mol: npt.NDArray[np.float64], gain: float, slope: float) -> npt.NDArray[np.float64]:
    return gain * mol ** slope


def bead_file(seed: int = 0, n_per_peak: int = 2500, lot: tuple[float, ...] = BEAD_LOT,
              gain: float = 0.25, slope: float = 0.97, cv_log10: float = 0.03,
              debris: float = 0.1, doublets: float = 0.05, noise_sd: float = 3.0,
              n_peaks: int | None = None) -> bytes:
    """An FCS file of QuantiBRITE beads (channels FSC-A, SSC-A, PE-A).

    ``n_peaks`` below 4 drops the brightest populations (to test refusals).
    """
    rng = np.random.default_rng(seed)
    use = lot[:n_peaks] if n_peaks else lot
    mol = np.concatenate([rng.lognormal(np.log(p), cv_log10 * np.log(10), n_per_peak)
                          for p in use])
    n = mol.size
    fsc = rng.lognormal(np.log(50000), 0.03, n)
    ssc = rng.lognormal(np.log(20000), 0.04, n)
    pe = _response(mol, gain, slope)
    nd = int(doublets * n)
    pair = rng.integers(0, n, (nd, 2))
    d_fsc = fsc[pair[:, 0]] + fsc[pair[:, 1]]
    d_ssc = ssc[pair[:, 0]] + ssc[pair[:, 1]]
    d_pe = pe[pair[:, 0]] + pe[pair[:, 1]]
    nb = int(debris * n)
    b_fsc = rng.lognormal(np.log(5000), 0.5, nb)
    b_ssc = rng.lognormal(np.log(3000), 0.5, nb)
    b_pe = rng.lognormal(np.log(200), 1.0, nb)
    ev = np.column_stack([np.concatenate([fsc, d_fsc, b_fsc]),
                          np.concatenate([ssc, d_ssc, b_ssc]),
                          np.concatenate([pe, d_pe, b_pe])])
    ev[:, 2] += rng.normal(0, noise_sd, len(ev))
    ev = ev[rng.permutation(len(ev))]
    return fcs_bytes(ev, ["FSC-A", "SSC-A", "PE-A"], ["", "", ""],
                     extra={"$SRC": "Synthetic Patient", "$OP": "Dr Example"})


def blast_file(abc: float, seed: int = 0, n_blasts: int = 5000, n_other: int = 3000,
               gain: float = 0.25, slope: float = 0.97, sd_log10: float = 0.2,
               negative_fraction: float = 0.0, noise_sd: float = 3.0,
               debris: float = 0.1, doublets: float = 0.03, marker: str = "CD19") -> bytes:
    """An FCS file of a sample whose CD10+ blasts carry ``abc`` PE molecules (geometric mean).

    Channels FSC-A, SSC-A, APC-A (CD10, the gating marker) and PE-A (the quantified
    antigen, ``marker``); ``negative_fraction`` of the blasts have lost the PE antigen
    (30 molecules). Other cells are CD10-negative; debris is small; doublets sum two cells.
    """
    rng = np.random.default_rng(seed)
    n_neg = round(negative_fraction * n_blasts)
    mol = np.concatenate([rng.lognormal(np.log(abc), sd_log10 * np.log(10), n_blasts - n_neg),
                          np.full(n_neg, 30.0)])
    b = np.column_stack([rng.normal(55000, 5000, n_blasts), rng.normal(20000, 4000, n_blasts),
                         rng.lognormal(np.log(8000), 0.4, n_blasts),
                         _response(mol, gain, slope)])
    o = np.column_stack([rng.normal(50000, 6000, n_other), rng.normal(25000, 6000, n_other),
                         rng.lognormal(np.log(40), 0.5, n_other),
                         rng.lognormal(np.log(20), 0.5, n_other)])
    cells = np.vstack([b, o])
    nd = int(doublets * len(cells))
    pair = rng.integers(0, len(cells), (nd, 2))
    dbl = cells[pair[:, 0]] + cells[pair[:, 1]]
    nb = int(debris * len(cells))
    deb = np.column_stack([rng.lognormal(np.log(6000), 0.5, nb),
                           rng.lognormal(np.log(4000), 0.5, nb),
                           rng.lognormal(np.log(50), 1.0, nb),
                           rng.lognormal(np.log(50), 1.0, nb)])
    ev = np.vstack([cells, dbl, deb])
    ev[:, 2:] += rng.normal(0, noise_sd, (len(ev), 2))
    ev = ev[rng.permutation(len(ev))]
    return fcs_bytes(ev, ["FSC-A", "SSC-A", "APC-A", "PE-A"], ["", "", "CD10", marker],
                     extra={"$SRC": "Synthetic Patient", "$SMNO": "MRN0001"})
