"""Antigen density from flow cytometry files: FCS reading, compensation, gating,
QuantiBRITE calibration and blast antibody-binding capacity (ABC)."""

from __future__ import annotations

from reinfuse.flow.fcs import (
    FcsData,
    fcs_bytes,
    fcs_dataset_count,
    read_fcs,
    read_fcs_all,
    safe_text,
)

__all__ = ["FcsData", "fcs_bytes", "fcs_dataset_count", "read_fcs", "read_fcs_all", "safe_text"]
