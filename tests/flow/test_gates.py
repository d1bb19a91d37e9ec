"""Compensation, transforms and TOML gates.

References: flowutils 1.2.2's compensate() on the real FACSDiva file; a spillover built by
hand (observed = true x S) undone; gate memberships of hand-placed events worked by hand.
"""

from __future__ import annotations

from pathlib import Path

import flowutils
import numpy as np
import pytest

from reinfuse.errors import FlowError
from reinfuse.flow.compensate import Transform, compensate, spill_matrix
from reinfuse.flow.fcs import fcs_bytes, read_fcs
from reinfuse.flow.gates import GateError, gate_sample, load_gates

DATA = Path(__file__).resolve().parents[1] / "data"


def test_facs_diva_compensation_matches_flowutils() -> None:
    d = read_fcs(DATA / "fcs" / "facs_diva_test.fcs.gz")
    sp = spill_matrix(d)
    assert sp is not None and sp.keyword == "SPILL" and len(sp.channels) == 8
    idx = [d.channels.index(c) for c in sp.channels]
    ref = flowutils.compensate.compensate(d.events, sp.values, idx)
    full = compensate(d)
    np.testing.assert_allclose(full, ref, rtol=1e-9, atol=1e-6)
    some = compensate(d, channels=["CD19", "FSC-A", "PE-A"])  # only what gating reads
    np.testing.assert_array_equal(some, full[:, [9, 1, 5]])


def test_spillover_by_hand_is_undone() -> None:
    rng = np.random.default_rng(0)
    true = rng.uniform(100, 5000, (200, 2))
    spill = np.array([[1.0, 0.25], [0.1, 1.0]])  # 25 % of FITC in PE, 10 % of PE in FITC
    observed = true @ spill
    ev = np.column_stack([rng.uniform(0, 1e5, 200), observed])
    kw = {"$SPILLOVER": "2,FITC-A,PE-A,1,0.25,0.1,1"}
    d = read_fcs(fcs_bytes(ev, ["FSC-A", "FITC-A", "PE-A"], datatype="D", extra=kw))
    comp = compensate(d)
    np.testing.assert_allclose(comp[:, 1:], true, rtol=1e-9)
    np.testing.assert_array_equal(comp[:, 0], ev[:, 0])  # not in the matrix: unchanged


def test_spill_naming_unknown_channels_is_refused() -> None:
    kw = {"SPILL": "2,FITC-A,APC-A,1,0,0,1"}
    d = read_fcs(fcs_bytes(np.ones((3, 2)), ["FITC-A", "PE-A"], extra=kw))
    with pytest.raises(FlowError, match=r"APC-A.*channels are"):
        spill_matrix(d)
    d2 = read_fcs(fcs_bytes(np.ones((3, 2)), ["FITC-A", "PE-A"],
                            extra={"$SPILLOVER": "2,FITC-A,PE-A,1,1,1,1"}))
    with pytest.raises(FlowError, match="singular"):
        spill_matrix(d2)


def test_transforms_by_hand() -> None:
    x = np.array([0.0, 150.0, -150.0])
    np.testing.assert_allclose(Transform("asinh", cofactor=150).apply(x),
                               [0.0, np.log(1 + np.sqrt(2)), -np.log(1 + np.sqrt(2))])
    # Logicle (Parks 2006) with T=262144, W=0.5, M=4.5: 0 maps to W/M = 0.111..., T to 1.
    lg = Transform("logicle").apply(np.array([0.0, 262144.0]))
    np.testing.assert_allclose(lg, [0.5 / 4.5, 1.0], atol=1e-6)


GATES = """
[transforms]
default = "linear"

[gates.cells]
type = "rectangle"
channels = ["FSC-A", "SSC-A"]
min = [10, -inf]
max = [100, 50]

[gates.tri]
type = "polygon"
channels = ["FSC-A", "SSC-A"]
vertices = [[0, 0], [100, 0], [0, 100]]

[gates.pp]
type = "quadrant"
channels = ["CD19", "CD22"]
at = [10, 10]
quadrant = "+-"

[gates.pos]
type = "threshold"
channel = "CD19"
above = 10
parent = "cells"

[gates.combo]
type = "boolean"
expr = "(tri or pp) and not pos"
"""


def test_gate_memberships_by_hand() -> None:
    # columns FSC-A, SSC-A, PE-A (CD19), APC-A (CD22)
    ev = np.array([[50, 20, 15, 5],     # cells, tri, pp (+-), pos
                   [50, 60, 5, 50],     # nothing: SSC 60 > 50, and 50 + 60 > 100 is outside tri
                   [5, 5, 20, 20],      # tri, not cells, pp no (CD22 20 >= 10)
                   [200, 10, 10, 0]])   # not cells, not tri, pp (10 >= 10, 0 < 10)
    d = read_fcs(fcs_bytes(ev, ["FSC-A", "SSC-A", "PE-A", "APC-A"],
                           ["", "", "CD19", "CD22"]))
    s = gate_sample(d, load_gates("inline", text=GATES))
    assert s.masks["cells"].tolist() == [True, False, False, False]
    assert s.masks["tri"].tolist() == [True, False, True, False]
    assert s.masks["pp"].tolist() == [True, False, False, True]
    assert s.masks["pos"].tolist() == [True, False, False, False]
    assert s.masks["combo"].tolist() == [False, False, True, True]


def test_gate_file_lists_every_problem() -> None:
    bad = """
[gates.a]
type = "circle"
[gates.b]
type = "threshold"
channel = "CD19"
[gates.c]
type = "boolean"
expr = "a and d"
[gates.e]
type = "rectangle"
channels = ["X"]
min = [1, 2]
max = [3]
[gates.f]
type = "boolean"
expr = "f or a"
"""
    with pytest.raises(GateError) as err:
        load_gates("bad.toml", text=bad)
    msg = str(err.value)
    assert "bad.toml" in msg and len(err.value.problems) >= 5
    for part in ["type is 'circle'", "exactly one of 'above' or 'below'", "'d', which is not",
                 "min is [1, 2]", "cycle: f -> f"]:
        assert part in msg


def test_unknown_channel_in_gates_names_channels() -> None:
    d = read_fcs(fcs_bytes(np.ones((3, 2)), ["FSC-A", "PE-A"]))
    g = load_gates("g", text='[gates.x]\ntype = "threshold"\nchannel = "CD19"\nabove = 1\n')
    with pytest.raises(FlowError, match=r"\['CD19'\].*FSC-A"):
        gate_sample(d, g)


def test_facs_diva_end_to_end_cd19_blasts() -> None:
    d = read_fcs(DATA / "fcs" / "facs_diva_test.fcs.gz")
    s = gate_sample(d, load_gates(DATA / "gates" / "b_all_blasts.toml"))
    blasts = s.masks["blasts"]
    assert (blasts <= s.masks["cells"]).all()
    assert (s.values("CD19")[blasts] >= 3.2).all() and (s.values("CD10")[blasts] >= 3.0).all()
    # The panel is an MRD sample rich in CD19+CD10+ events: a large, not total, population.
    assert 5_000 < blasts.sum() < s.masks["cells"].sum()
