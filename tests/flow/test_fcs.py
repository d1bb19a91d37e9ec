"""FCS reading: real instrument files (fcsparser 0.2.8 test data) and files written here.

References: flowio 1.4.0 (an independent reader) on every layout it reads; fcsparser's own
expected first rows (its tests/test_fcs_reader.py) for the Cytek 24-bit and LSR-II files;
the FCS 3.1 standard's $PnE formula worked by hand for the log-amplified FACSCalibur file.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import flowio
import numpy as np
import pytest

from reinfuse.errors import FcsFormatError
from reinfuse.flow.fcs import fcs_bytes, read_fcs, read_fcs_all, safe_text

DATA = Path(__file__).resolve().parents[1] / "data" / "fcs"


def _plain(tmp_path: Path, name: str) -> Path:
    """A gunzipped copy, for flowio (which reads only plain files)."""
    out = tmp_path / name.removesuffix(".gz")
    out.write_bytes(gzip.decompress((DATA / name).read_bytes()))
    return out


@pytest.mark.filterwarnings("ignore:FCS file .* reported incorrect data offset")
@pytest.mark.parametrize("name", ["facs_diva_test.fcs.gz", "facscalibur_fcs2_log.fcs.gz",
                                  "lsr2_fcs30.fcs.gz", "macsquant_fcs31_offbyone.fcs.gz"])
def test_real_files_match_flowio(tmp_path: Path, name: str) -> None:
    path = _plain(tmp_path, name)
    ours = read_fcs(path)
    ref = flowio.FlowData(str(path), ignore_offset_error=True)
    assert ours.n_events == ref.event_count
    assert ours.channels == tuple(ref.pnn_labels)
    np.testing.assert_allclose(ours.events, ref.as_array(preprocess=True), rtol=1e-12)


def test_facs_diva_panel() -> None:
    d = read_fcs(DATA / "facs_diva_test.fcs.gz")
    assert d.version == "3.0"
    assert d.events.shape == (83411, 12)  # the description of the file
    assert d.channel_index("CD19") == d.channels.index("APC-A")
    assert d.channel_index("pe-a") == 5


def test_cytek_24bit_matches_fcsparser_expected_rows() -> None:
    # fcsparser 0.2.8 test_cytek_x_p5_data_segment: stored (unscaled) values of rows 1-2.
    expected = [[0.0, 286, 164, 154, 54, 470, 1023, 770], [0.0, 171, 128, 153, 199, 91, 211, 12]]
    d = read_fcs(DATA / "cytek_xp5_24bit.fcs.gz", scale=False)
    np.testing.assert_array_equal(d.events[:2], expected)
    # $P4E = 4.0,1.0 and $P4R = 1024: 154 stored -> 10 ** (4 * 154 / 1024) = 3.99967...
    scaled = read_fcs(DATA / "cytek_xp5_24bit.fcs.gz")
    assert scaled.events[0, 3] == pytest.approx(10 ** (4 * 154 / 1024), rel=1e-12)


def test_lsr2_matches_fcsparser_expected_rows() -> None:
    # fcsparser 0.2.8 test_BD_LSR_II, first row (rounded to 4 decimals there).
    row = [-28531.25, 10, 0, 700.14996337890625, 1656, 27708.3515625, 98.799995422363281,
           54.149997711181641, 164.22000122070312, 120.36000061035156, 0.20000000298023224]
    d = read_fcs(DATA / "lsr2_fcs30.fcs.gz", scale=False)
    np.testing.assert_allclose(d.events[0], row, atol=1e-4)


def test_fcs2_log_amplification_by_hand() -> None:
    raw = read_fcs(DATA / "facscalibur_fcs2_log.fcs.gz", scale=False)
    lin = read_fcs(DATA / "facscalibur_fcs2_log.fcs.gz")
    assert raw.version == "2.0" and raw.text["$P3E"] == "4,0" and raw.text["$P3R"] == "1024"
    # FCS 3.1 3.2.20: value = f2 * 10 ** (f1 * x / R), with f2 = 0 read as 1.
    np.testing.assert_allclose(lin.events[:, 2], 10 ** (4 * raw.events[:, 2] / 1024))
    np.testing.assert_array_equal(lin.events[:, 5], raw.events[:, 5])  # $P6E 0,0: linear
    assert raw.events.max() <= 1023  # 16-bit words, 10 used bits ($PnR 1024)


def test_macsquant_off_by_one_is_read_with_a_warning() -> None:
    d = read_fcs(DATA / "macsquant_fcs31_offbyone.fcs.gz")
    assert d.n_events == int(d.text["$TOT"])
    assert any("off by +1" in w for w in d.warnings)


@pytest.mark.parametrize(("name", "message"), [
    ("corrupted.fcs", "not an FCS file"),
    ("cytek_nl2000_header_only.fcs", "truncated"),
])
def test_broken_real_files_give_clear_errors(name: str, message: str) -> None:
    with pytest.raises(FcsFormatError, match=message) as err:
        read_fcs(DATA / name)
    assert name in str(err.value)


LAYOUTS = [("F", None, "<"), ("F", None, ">"), ("D", None, ">"), ("I", 8, "<"),
           ("I", 16, ">"), ("I", 32, "<"), ("I", 24, ">"), ("I", [8, 16, 32], ">")]


@pytest.mark.parametrize(("datatype", "bits", "order"), LAYOUTS)
def test_written_layouts_round_trip(tmp_path: Path, datatype: str, bits: object,
                                    order: str) -> None:
    rng = np.random.default_rng(3)
    ev = rng.integers(0, 256, (40, 3)).astype(float)  # fits every width
    raw = fcs_bytes(ev, ["FSC-A", "SSC-A", "PE-A"], datatype=datatype,
                    bits=bits, byteorder=order)  # type: ignore[arg-type]
    np.testing.assert_array_equal(read_fcs(raw).events, ev)
    if bits != 24:  # flowio does not read 24-bit integers
        path = tmp_path / "x.fcs"
        path.write_bytes(raw)
        np.testing.assert_array_equal(flowio.FlowData(str(path)).as_array(), ev)


def test_bit_mask_and_gain() -> None:
    ev = np.array([[1024 + 5, 200.0], [3, 400.0]])
    raw = fcs_bytes(ev, ["A", "B"], datatype="I", bits=16,
                    extra={"$P1R": "1000", "$P2G": "4"})
    d = read_fcs(raw)
    # $P1R = 1000 -> keep bits below 1024 (FCS 3.1 3.2.18): 1029 & 1023 = 5.
    np.testing.assert_array_equal(d.events[:, 0], [5, 3])
    np.testing.assert_array_equal(d.events[:, 1], [50, 100])  # linear, divided by $P2G


def test_multiple_data_sets(tmp_path: Path) -> None:
    a, b = np.full((5, 2), 1.0), np.full((7, 2), 2.0)
    raw = fcs_bytes(a, ["X", "Y"], nextdata=True) + fcs_bytes(b, ["X", "Y"])
    sets = read_fcs_all(raw)
    assert [s.n_events for s in sets] == [5, 7]
    assert read_fcs(raw, dataset=1).events[0, 0] == 2.0
    path = tmp_path / "multi.fcs"
    path.write_bytes(raw)
    assert [f.event_count for f in flowio.read_multiple_data_sets(str(path))] == [5, 7]
    with pytest.raises(FcsFormatError, match="2 data set"):
        read_fcs(raw, dataset=2)


def test_malformed_written_files() -> None:
    ev = np.ones((10, 2))
    good = fcs_bytes(ev, ["A", "B"])
    with pytest.raises(FcsFormatError, match="truncated"):
        read_fcs(good[:-9])
    with pytest.raises(FcsFormatError, match="inconsistent"):
        read_fcs(good[:26] + b"       1" + good[34:])  # header DATA start != $BEGINDATA
    with pytest.raises(FcsFormatError, match="DATATYPE 'A'"):
        read_fcs(fcs_bytes(ev, ["A", "B"], extra={"$DATATYPE": "A"}))
    with pytest.raises(FcsFormatError, match=r"\$PAR"):
        read_fcs(fcs_bytes(ev, ["A", "B"], extra={"$PAR": "x"}))
    with pytest.raises(FcsFormatError, match="BYTEORD"):
        read_fcs(fcs_bytes(ev, ["A", "B"], extra={"$BYTEORD": "3,4,1,2"}))


def test_identifying_keywords_never_pass_safe_text() -> None:
    d = read_fcs(DATA / "facs_diva_test.fcs.gz")
    assert "$SRC" in d.text and "EXPORT USER NAME" in d.text and "$FIL" in d.text
    kept = safe_text(d.text)
    assert "SPILL" in kept and "$P10S" in kept
    assert not {"$SRC", "$FIL", "$DATE", "EXPORT USER NAME", "GUID", "$BTIM"} & kept.keys()


def test_corrupted_bytes_give_data_or_a_clear_error() -> None:
    """Seeded byte mutations of a valid file: a result or FcsFormatError, never a crash."""
    rng = np.random.default_rng(7)
    good = fcs_bytes(rng.uniform(0, 1000, (20, 3)), ["FSC-A", "SSC-A", "PE-A"],
                     datatype="I", bits=16, extra={"$P3E": "4,1"})
    outcomes = {"read": 0, "error": 0}
    for _ in range(300):
        raw = bytearray(good)
        for pos in rng.integers(0, len(raw), rng.integers(1, 4)):
            raw[pos] = int(rng.choice(list(b"0123456789/$,-. eE\x00\xff")))
        cut = int(rng.integers(len(raw) // 2, len(raw) + 1))
        try:
            read_fcs(bytes(raw[:cut]))
            outcomes["read"] += 1
        except FcsFormatError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0 and sum(outcomes.values()) == 300
