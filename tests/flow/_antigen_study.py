"""A small CSV cohort with synthetic FCS files and an antigen_samples sheet (shared by the
flow tests).

Truth: the synthetic files' known ABCs (reinfuse.flow.synthetic writes blasts with a
log-normal PE signal around a chosen ABC through a known bead line): P01 pre CART1 4000,
pre CART2 2000, after CART2 60 % antigen-negative blasts; P02 CD22 pre CART1 6000, and a
truncated file for P02 pre CART2.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reinfuse.flow.synthetic import BEAD_LOT, GATES_TOML, bead_file, blast_file

DEMO = Path(__file__).resolve().parents[2] / "src" / "reinfuse" / "demo" / "data" / "demo_cohort"
LOT = ";".join(f"{v:g}" for v in BEAD_LOT)


def write_study(root: Path) -> Path:
    """Write the cohort (two demo patients and their infusions) into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("patients.csv", "infusions.csv"):  # two demo patients (validation time)
        demo = pd.read_csv(DEMO / name, dtype=str, keep_default_na=False)
        demo[demo["patient_id"].isin(["P01", "P02"])].to_csv(root / name, index=False)
    (root / "fcs").mkdir(exist_ok=True)
    (root / "fcs" / "beads.fcs").write_bytes(bead_file(seed=21))
    files = {"p1_pre1.fcs": blast_file(4000, seed=22), "p1_pre2.fcs": blast_file(2000, seed=23),
             "p1_post2.fcs": blast_file(3000, seed=24, negative_fraction=0.6),
             "p2_pre1.fcs": blast_file(6000, seed=25, marker="CD22")}
    for name, raw in files.items():
        (root / "fcs" / name).write_bytes(raw)
    (root / "fcs" / "broken.fcs").write_bytes(files["p2_pre1.fcs"][:5000])
    (root / "gates.toml").write_text(GATES_TOML, encoding="utf-8")
    rows = [("P01", 1, "pre", "CD19", "fcs/p1_pre1.fcs"), ("P01", 2, "pre", "CD19",
            "fcs/p1_pre2.fcs"), ("P01", 2, "post", "CD19", "fcs/p1_post2.fcs"),
            ("P02", 1, "pre", "CD22", "fcs/p2_pre1.fcs"), ("P02", 2, "pre", "CD22",
            "fcs/broken.fcs")]
    pd.DataFrame([{"patient_id": p, "infusion": i, "timepoint": t, "antigen": a,
                   "fcs_file": f, "bead_file": "fcs/beads.fcs", "bead_lot": LOT,
                   "channel": "PE-A", "blast_gate": "blasts"} for p, i, t, a, f in rows]
                 ).to_csv(root / "antigen_samples.csv", index=False)
    return root
