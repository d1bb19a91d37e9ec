"""Compensation with the file's own spillover matrix, and display transforms for gating.

Spillover. FCS 3.1 keyword ``$SPILLOVER`` (FACSDiva writes ``SPILL``, some FCS 3.0 files
``$COMP``): ``n,name_1,...,name_n,s_11,...,s_nn`` where row ``i`` is the fraction of
fluorochrome ``i``'s signal seen in detector ``j`` (Roederer, Cytometry 2001;45:194-205).
The string is parsed with :func:`flowutils.compensate.get_spill`; every name must be a
channel of the file (else :class:`~reinfuse.errors.FlowError` listing the unknown names
and the channels). Observed ``o = t S``, so the compensated ``t = o S^-1``: one matrix
product over the spilled channels, the same result as :func:`flowutils.compensate.compensate`
(which solves the system per call; the tests compare the two) at a fraction of its cost.
A matrix whose condition number exceeds :data:`MAX_CONDITION` is refused: compensating
with it would amplify noise beyond use.

Transforms. ``asinh(x / cofactor)`` (cofactor 150 by default, the usual choice for
conventional cytometers' 18-bit scales; Bendall et al. Science 2011 used 5 for mass
cytometry) and logicle (Parks, Roederer & Moore, Cytometry A 2006;69:541-551) through
:func:`flowutils.transforms.logicle` with its defaults ``T = 262144, W = 0.5, M = 4.5,
A = 0``. Gate coordinates are written in transformed units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from flowutils.compensate import get_spill
from flowutils.transforms import logicle
from threadpoolctl import threadpool_limits

from reinfuse.errors import FlowError
from reinfuse.flow.fcs import FcsData

__all__ = ["MAX_CONDITION", "SPILL_KEYWORDS", "SpillMatrix", "Transform", "compensate",
           "spill_matrix"]

#: Keywords searched for a spillover matrix, in this order.
SPILL_KEYWORDS = ("$SPILLOVER", "SPILL", "$COMP")
#: Largest condition number of a spillover matrix that is used.
MAX_CONDITION = 1e6
_BLOCK = 32768


@dataclass(frozen=True)
class SpillMatrix:
    """A spillover matrix and the channels (``$PnN``) its rows and columns refer to."""

    channels: tuple[str, ...]
    values: npt.NDArray[np.float64]
    keyword: str


def spill_matrix(fcs: FcsData) -> SpillMatrix | None:
    """The file's own spillover matrix, checked against its channels; ``None`` if absent.

    Raises
    ------
    FlowError
        The keyword cannot be parsed, names channels the file does not have, or the matrix
        is singular or too ill-conditioned (:data:`MAX_CONDITION`).
    """
    for key in SPILL_KEYWORDS:
        raw = fcs.text.get(key, "").strip()
        if not raw:
            continue
        try:
            values, names = get_spill(raw)
        except (ValueError, IndexError) as exc:
            raise FlowError(f"{fcs.source}: {key} is not 'n,names...,values...' "
                            f"({exc}); received {raw[:80]!r}") from None
        names = [n.strip() for n in names]
        unknown = [n for n in names if n not in fcs.channels]
        if unknown:
            raise FlowError(f"{fcs.source}: {key} names channels the file does not have: "
                            f"{unknown}; channels are {list(fcs.channels)}")
        values = np.asarray(values, dtype=np.float64)
        cond = np.linalg.cond(values)
        if not np.isfinite(cond) or cond > MAX_CONDITION:
            raise FlowError(f"{fcs.source}: the {key} matrix is singular or ill-conditioned "
                            f"(condition number {cond:.3g} > {MAX_CONDITION:g})")
        return SpillMatrix(tuple(names), values, key)
    return None


def compensate(fcs: FcsData, spill: SpillMatrix | Literal["file"] | None = "file",
               channels: Sequence[str] | None = None) -> npt.NDArray[np.float64]:
    """Compensated copy of ``fcs.events`` (channels outside the matrix unchanged).

    Parameters
    ----------
    fcs : FcsData
        The data set.
    spill : SpillMatrix, None or "file"
        ``"file"`` (default) uses :func:`spill_matrix`; ``None`` returns an uncompensated
        copy.
    channels : sequence of str
        Only these channels (detector or marker names), as the columns of the result, in
        this order: far less work than the whole matrix when gating reads a few channels.
    """
    matrix = spill_matrix(fcs) if spill == "file" else spill
    ev = fcs.events
    want = (np.arange(ev.shape[1]) if channels is None
            else np.array([fcs.channel_index(c) for c in channels], dtype=np.intp))
    if matrix is None:
        return ev[:, want].copy() if channels is not None else ev.copy()
    idx = np.array([fcs.channels.index(c) for c in matrix.channels], dtype=np.intp)
    inv = np.linalg.inv(matrix.values)
    # Output column j = input column j, or (for a spilled channel) inputs idx @ inv[:, k].
    position = {int(c): k for k, c in enumerate(idx)}
    spilled = [j for j, c in enumerate(want) if int(c) in position]
    plain = [j for j, c in enumerate(want) if int(c) not in position]
    weights = inv[:, [position[int(want[j])] for j in spilled]]
    src: slice | npt.NDArray[np.intp] = idx
    if np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        src = slice(int(idx[0]), int(idx[0]) + len(idx))
    out = np.empty((ev.shape[0], len(want)), dtype=np.float64)
    # Blocks of rows that stay in cache, on one BLAS thread: a multi-threaded BLAS on a
    # busy machine (or under Dask's own threads) was measured 20x slower for this shape.
    with threadpool_limits(1, user_api="blas"):
        for start in range(0, ev.shape[0], _BLOCK):
            block = ev[start:start + _BLOCK]
            if channels is None:  # whole matrix: copy the block, overwrite spilled columns
                out[start:start + _BLOCK] = block
                out[start:start + _BLOCK, src] = block[:, src] @ inv
                continue
            if plain:
                out[start:start + _BLOCK, plain] = block[:, want[plain]]
            if spilled:
                out[start:start + _BLOCK, spilled] = block[:, src] @ weights
    return out


@dataclass(frozen=True)
class Transform:
    """A per-channel display transform used for gating.

    ``kind`` is ``"linear"``, ``"asinh"`` (``cofactor``) or ``"logicle"`` (``t, w, m, a``).
    """

    kind: Literal["linear", "asinh", "logicle"] = "linear"
    cofactor: float = 150.0
    t: float = 262144.0
    w: float = 0.5
    m: float = 4.5
    a: float = 0.0

    @classmethod
    def from_mapping(cls, spec: Mapping[str, object] | str, where: str) -> Transform:
        """Build from a TOML value (``"asinh"`` or ``{kind = "logicle", w = 0.8}``)."""
        if isinstance(spec, str):
            spec = {"kind": spec}
        kind = spec.get("kind", "linear")
        if kind not in ("linear", "asinh", "logicle"):
            raise FlowError(f"{where}: transform kind {kind!r}; allowed: linear, asinh, "
                            "logicle")
        extra = set(spec) - {"kind", "cofactor", "t", "w", "m", "a"}
        if extra:
            raise FlowError(f"{where}: unknown transform settings {sorted(extra)}; allowed: "
                            "cofactor (asinh), t, w, m, a (logicle)")
        try:
            nums = {k: float(v) for k, v in spec.items()  # type: ignore[arg-type]
                    if k != "kind"}
        except (TypeError, ValueError):
            raise FlowError(f"{where}: transform settings must be numbers; received "
                            f"{dict(spec)}") from None
        if nums.get("cofactor", 1.0) <= 0:
            raise FlowError(f"{where}: asinh cofactor must be > 0; received {nums['cofactor']}")
        return cls(kind=kind, **nums)

    def apply(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Transform one channel's values."""
        if self.kind == "asinh":
            return np.arcsinh(x / self.cofactor)
        if self.kind == "logicle":
            col = np.ascontiguousarray(x, dtype=np.float64).reshape(-1, 1)
            out = logicle(col, [0], t=self.t, m=self.m, w=self.w, a=self.a)
            return np.asarray(out, dtype=np.float64).ravel()
        return x
