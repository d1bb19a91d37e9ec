"""Read FCS 2.0, 3.0 and 3.1 files into numpy arrays, vectorised.

The layout follows the Flow Cytometry Data File Standard (Spidlen et al., FCS 3.1,
Cytometry A 2010;77:97-100; FCS 3.0, Seamer et al. 1997; FCS 2.0, Murphy & Chused 1984):
a 58-byte HEADER of ASCII offsets, a TEXT segment of delimited keyword/value pairs and a
DATA segment of ``$TOT`` events x ``$PAR`` parameters in list mode. ``flowio`` reads the
same files value by value on its integer path and does not read 24-bit integers, so the
DATA segment is decoded here with :func:`numpy.frombuffer` (one call for uniform widths,
one vectorised byte assembly per channel otherwise); the tests read every file with flowio
as well and compare.

Scaling (FCS 3.1 section 3.3, keywords ``$PnE``, ``$PnG``, ``$TIMESTEP``):

- ``$PnE = f1,f2`` with ``f1 > 0`` (log amplification): ``value = f2 * 10 ** (f1 * x / $PnR)``.
  FCS 2.0 files often write ``f2 = 0``, which the standard does not allow; it is read as
  ``1`` (as flowio and FlowJo do).
- linear parameters with a gain ``$PnG`` other than 0 or 1: ``value = x / $PnG``.
- the time parameter (named ``Time``/``TIME``) is multiplied by ``$TIMESTEP`` and never
  divided by a gain.
- integer parameters whose ``$PnR`` is below ``2 ** $PnB`` keep only the low bits
  (the next power of two at or above ``$PnR``, FCS 3.1 section 3.2.18).

Tolerant reads (each leaves a message in :attr:`FcsData.warnings`):

- a DATA segment end offset that disagrees with ``$TOT x`` bytes per event by a few bytes
  (MACSQuant files are off by one): the ``$TOT`` events from the segment start are read
  when they fit inside the file;
- a missing final TEXT delimiter;
- a gzip-compressed file (read as its content);
- a missing ``$TOT`` (optional in FCS 2.0): derived from the segment length when it divides
  evenly.

Anything else is an :class:`~reinfuse.errors.FcsFormatError` naming the file and the
problem: not an FCS file, a truncated file, offsets outside the file, the header and TEXT
disagreeing on where DATA starts, widths that are not whole bytes, ASCII or histogram
data, unknown byte orders.

Privacy. TEXT segments carry identifying keywords (``$SRC``, ``$OP``, ``$SMNO``, ``$FIL``,
user names, dates, GUIDs...). :attr:`FcsData.text` holds every keyword for the caller;
anything that reaches an output must go through :func:`safe_text`, an allow-list of
technical keywords.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reinfuse.errors import FcsFormatError

__all__ = ["FcsData", "fcs_bytes", "fcs_dataset_count", "read_fcs", "read_fcs_all", "safe_text"]

_HEADER_LEN = 58
#: Most parameters a data set may declare (a guard against corrupt ``$PAR`` values).
MAX_PARAMETERS = 10_000
#: Most bytes a DATA end offset may be off (beyond ``$TOT`` events) and still be read.
OFFSET_TOLERANCE = 8

_SAFE_KEYWORDS = re.compile(
    r"^\$(PAR|TOT|DATATYPE|BYTEORD|MODE|NEXTDATA|BEGINDATA|ENDDATA|BEGINSTEXT|ENDSTEXT|"
    r"BEGINANALYSIS|ENDANALYSIS|TIMESTEP|SPILLOVER|COMP|CYT|UNICODE|"
    r"P\d+[NSBERGV]|P\d+DISPLAY)$|^SPILL$", re.IGNORECASE)


def safe_text(text: Mapping[str, str]) -> dict[str, str]:
    """The technical TEXT keywords of ``text`` only: what may appear in an output.

    An allow-list (parameter names and settings, data layout, spill matrices, cytometer
    model) rather than a deny-list, so vendor keywords with patient or operator details
    (``$SRC``, ``$OP``, ``$SMNO``, ``$FIL``, ``EXPORT USER NAME``, ``$DATE``, ``GUID``...)
    are dropped whatever they are called.

    >>> safe_text({"$PAR": "2", "$SRC": "Smith, J", "$P1N": "FSC-A", "EXPORT USER NAME": "x"})
    {'$PAR': '2', '$P1N': 'FSC-A'}
    """
    return {k: v for k, v in text.items() if _SAFE_KEYWORDS.match(k)}


@dataclass(frozen=True)
class FcsData:
    """One data set of an FCS file.

    Attributes
    ----------
    source : str
        The path as given (for messages only; never written to an output).
    dataset : int
        0-based index of the data set in the file (``$NEXTDATA`` chain).
    version : str
        ``"2.0"``, ``"3.0"`` or ``"3.1"``.
    channels : tuple of str
        ``$PnN``, the detector names (``"PE-A"``).
    markers : tuple of str
        ``$PnS``, the stain names (``"CD19"``), ``""`` where absent.
    events : numpy.ndarray
        ``(n_events, n_channels)`` float64, scaled as described in the module docstring.
    text : Mapping[str, str]
        Every TEXT keyword, upper-cased (may identify people: see :func:`safe_text`).
    warnings : tuple of str
        What the tolerant read had to work around.
    """

    source: str
    dataset: int
    version: str
    channels: tuple[str, ...]
    markers: tuple[str, ...]
    events: npt.NDArray[np.float64] = field(repr=False)
    text: Mapping[str, str] = field(repr=False)
    warnings: tuple[str, ...] = ()

    @property
    def n_events(self) -> int:
        """Number of events (rows of :attr:`events`)."""
        return int(self.events.shape[0])

    def channel_index(self, name: str) -> int:
        """Index of a channel by detector name (``PE-A``) or marker (``CD19``), case-blind.

        Raises
        ------
        FcsFormatError
            When no channel or several markers match; the message lists the channels.
        """
        low = name.strip().lower()
        for i, ch in enumerate(self.channels):
            if ch.lower() == low:
                return i
        hits = [i for i, m in enumerate(self.markers) if m.lower() == low]
        if len(hits) == 1:
            return hits[0]
        listing = ", ".join(f"{c} ({m})" if m else c
                            for c, m in zip(self.channels, self.markers, strict=True))
        raise FcsFormatError(
            f"{self.source}: no single channel named {name!r}; channels are: {listing}")

    def column(self, name: str) -> npt.NDArray[np.float64]:
        """The events of one channel (see :meth:`channel_index`)."""
        return self.events[:, self.channel_index(name)]


def _bad(source: str, what: str) -> FcsFormatError:
    return FcsFormatError(f"{source}: {what}")


def _read_bytes(path: str | Path | bytes) -> tuple[str, bytes]:
    if isinstance(path, bytes):
        return "<bytes>", path
    source = str(path)
    try:
        buf = Path(path).read_bytes()
        if buf[:2] == b"\x1f\x8b":  # gzip-compressed FCS (as vendored in the tests)
            buf = gzip.decompress(buf)
    except (OSError, EOFError, zlib.error) as exc:
        raise FcsFormatError(f"{source}: cannot be read ({exc})") from exc
    return source, buf


def _header(source: str, buf: bytes, base: int) -> tuple[str, list[int]]:
    head = buf[base:base + _HEADER_LEN]
    if len(head) < _HEADER_LEN or not head.startswith(b"FCS"):
        where = "" if base == 0 else f" (data set at byte {base})"
        raise _bad(source, f"not an FCS file{where}: it does not start with a 58-byte "
                           f"'FCSx.y' header (starts with {head[:10]!r})")
    version = head[3:6].decode("ascii", "replace")
    if version not in ("2.0", "3.0", "3.1"):
        raise _bad(source, f"FCS version {version!r} is not read; versions read: 2.0, 3.0, 3.1")
    offsets = []
    for i, name in enumerate(("TEXT start", "TEXT end", "DATA start", "DATA end",
                              "ANALYSIS start", "ANALYSIS end")):
        raw = head[10 + 8 * i:18 + 8 * i].strip()
        if raw == b"":
            offsets.append(0)
            continue
        try:
            offsets.append(int(raw))
        except ValueError:
            raise _bad(source, f"header field {name} is {raw!r}, not a byte offset") from None
    return version, offsets


def _parse_text(source: str, raw: bytes) -> tuple[dict[str, str], list[str]]:
    warnings: list[str] = []
    if len(raw) < 2:
        raise _bad(source, "TEXT segment is empty")
    delim = raw[:1]
    body = raw[1:]
    sentinel = b"\x00\x01\x02"
    body = body.replace(delim + delim, sentinel)
    if body.endswith(delim):
        body = body[:-1]
    else:
        warnings.append("TEXT segment does not end with its delimiter (read anyway)")
    parts = body.split(delim)
    if len(parts) % 2:
        if parts[-1].strip(b" \x00\r\n") == b"":
            parts = parts[:-1]
        else:
            raise _bad(source, f"TEXT segment has an odd number of fields ({len(parts)}): "
                               "a keyword without a value")
    text: dict[str, str] = {}
    for k, v in zip(parts[0::2], parts[1::2], strict=True):
        key = k.replace(sentinel, delim).decode("utf-8", "replace").strip().upper()
        text[key] = v.replace(sentinel, delim).decode("utf-8", "replace").strip()
    return text, warnings


def _int_kw(source: str, text: Mapping[str, str], key: str, default: int | None = None) -> int:
    if key not in text or text[key] == "":
        if default is None:
            raise _bad(source, f"required keyword {key} is missing from the TEXT segment")
        return default
    try:
        return int(float(text[key]))
    except (ValueError, OverflowError):
        raise _bad(source, f"keyword {key} is {text[key]!r}, not a number") from None


def _float_kw(text: Mapping[str, str], key: str, default: float) -> float:
    try:
        return float(text.get(key, "").strip() or default)
    except ValueError:
        return default


def _byte_order(source: str, text: Mapping[str, str]) -> str:
    order = text.get("$BYTEORD", "").replace(" ", "")
    if order in ("1,2,3,4", "1,2", "1", "1,2,3,4,5,6,7,8"):
        return "<"
    if order in ("4,3,2,1", "2,1", "8,7,6,5,4,3,2,1"):
        return ">"
    raise _bad(source, f"$BYTEORD is {order!r}; read: 1,2,3,4 (little-endian) or "
                       "4,3,2,1 (big-endian)")


def _decode(source: str, data: bytes, text: Mapping[str, str], n_par: int, n_tot: int,
            widths: list[int], order: str) -> npt.NDArray[np.float64]:
    dtype_kw = text.get("$DATATYPE", "").upper()
    if dtype_kw in ("F", "D"):
        size = 4 if dtype_kw == "F" else 8
        wrong = [i + 1 for i, w in enumerate(widths) if w != 8 * size]
        if wrong:
            raise _bad(source, f"$DATATYPE {dtype_kw} needs $PnB = {8 * size} for every "
                               f"parameter; parameters {wrong} say otherwise")
        arr = np.frombuffer(data, dtype=f"{order}f{size}", count=n_tot * n_par)
        with np.errstate(invalid="ignore"):  # NaN stored in the file stays NaN
            return arr.reshape(n_tot, n_par).astype(np.float64)
    if dtype_kw != "I":
        raise _bad(source, f"$DATATYPE {dtype_kw!r} is not read; read: I (integers), "
                           "F (float32), D (float64)")
    odd = [i + 1 for i, w in enumerate(widths) if w % 8 or not 8 <= w <= 64]
    if odd:
        raise _bad(source, f"integer widths must be whole bytes (8-64 bits); parameters "
                           f"{odd} have $PnB {[widths[i - 1] for i in odd]}")
    if len(set(widths)) == 1 and widths[0] in (8, 16, 32, 64):
        arr = np.frombuffer(data, dtype=f"{order}u{widths[0] // 8}", count=n_tot * n_par)
        out = arr.reshape(n_tot, n_par).astype(np.float64)
        raw_int = arr.reshape(n_tot, n_par)
    else:
        row = sum(widths) // 8
        byt = np.frombuffer(data, dtype=np.uint8, count=n_tot * row).reshape(n_tot, row)
        raw_int = np.empty((n_tot, n_par), dtype=np.uint64)
        start = 0
        for j, w in enumerate(widths):
            nb = w // 8
            cols = byt[:, start:start + nb].astype(np.uint64)
            if order == ">":
                cols = cols[:, ::-1]
            shifts = (np.arange(nb, dtype=np.uint64) * np.uint64(8))
            raw_int[:, j] = np.bitwise_or.reduce(cols << shifts, axis=1)
            start += nb
        out = raw_int.astype(np.float64)
    # Unused high bits (FCS 3.1 3.2.18): keep the bits below the next power of two >= $PnR.
    for j, w in enumerate(widths):
        rng = _int_kw(source, text, f"$P{j + 1}R", default=0)
        if 0 < rng < 2 ** w:
            bits = int(np.ceil(np.log2(rng))) if rng > 1 else 1
            if bits < w:
                mask = (1 << bits) - 1
                out[:, j] = (raw_int[:, j].astype(np.uint64) & np.uint64(mask)).astype(
                    np.float64)
    return out


def _scale(source: str, events: npt.NDArray[np.float64], text: Mapping[str, str],
           channels: tuple[str, ...]) -> None:
    timestep = _float_kw(text, "$TIMESTEP", 1.0)
    for j, name in enumerate(channels):
        n = j + 1
        decades, log0 = 0.0, 0.0
        pne = text.get(f"$P{n}E", "0,0").replace(" ", "")
        try:
            decades, log0 = (float(x) for x in pne.split(",")[:2])
        except ValueError:
            raise _bad(source, f"$P{n}E is {pne!r}; expected two numbers 'f1,f2'") from None
        if name.lower() == "time":
            if timestep not in (0.0, 1.0):
                events[:, j] *= timestep
            continue
        if decades > 0:
            rng = _int_kw(source, text, f"$P{n}R")
            if rng <= 0:
                raise _bad(source, f"$P{n}R is {rng}; log amplification needs a range > 0")
            with np.errstate(over="ignore"):
                events[:, j] = (log0 if log0 > 0 else 1.0) * 10.0 ** (decades * events[:, j] / rng)
            continue
        gain = _float_kw(text, f"$P{n}G", 1.0)
        if gain not in (0.0, 1.0):
            events[:, j] /= gain


def _read_dataset(source: str, buf: bytes, base: int, index: int,
                  scale: bool) -> tuple[FcsData, int]:
    version, (t0, t1, d0, d1, _a0, _a1) = _header(source, buf, base)
    size = len(buf)
    if t0 == 0 or t1 < t0 or base + t1 >= size + 1:
        raise _bad(source, f"TEXT segment offsets {t0}-{t1} lie outside the file "
                           f"({size} bytes): the file is truncated or not FCS")
    text, warnings = _parse_text(source, buf[base + t0:base + t1 + 1])
    n_par = _int_kw(source, text, "$PAR")
    if not 1 <= n_par <= MAX_PARAMETERS:
        raise _bad(source, f"$PAR is {n_par}; expected 1 to {MAX_PARAMETERS} parameters")
    mode = text.get("$MODE", "L").upper()
    if mode != "L":
        raise _bad(source, f"$MODE is {mode!r}: only list mode (L) is read")
    channels = tuple(text.get(f"$P{n}N", f"P{n}") for n in range(1, n_par + 1))
    markers = tuple(text.get(f"$P{n}S", "") for n in range(1, n_par + 1))
    dtype_kw = text.get("$DATATYPE", "").upper()
    widths = [_int_kw(source, text, f"$P{n}B") if dtype_kw == "I"
              else _int_kw(source, text, f"$P{n}B", default=32 if dtype_kw == "F" else 64)
              for n in range(1, n_par + 1)]
    order = _byte_order(source, text)
    row_bytes = sum(widths) // 8 if all(w % 8 == 0 for w in widths) else 0
    # Where DATA lies: the header, or the TEXT keywords when the header says 0 (> 99,999,999).
    tb, te = (_int_kw(source, text, "$BEGINDATA", 0), _int_kw(source, text, "$ENDDATA", 0))
    if d0 == 0 and d1 == 0:
        d0, d1 = tb, te
    elif tb and tb != d0:
        raise _bad(source, f"the header puts DATA at byte {d0} but $BEGINDATA says {tb}: "
                           "the file is inconsistent")
    if d0 == 0 or d0 < t1:
        raise _bad(source, f"DATA segment start {d0} is missing or inside the TEXT segment")
    available = size - (base + d0)
    n_tot = _int_kw(source, text, "$TOT", default=-1)
    if n_tot < 0 and "$TOT" in text and text["$TOT"] != "":
        raise _bad(source, f"$TOT is {n_tot}; expected a number of events >= 0")
    if row_bytes == 0:
        _decode(source, b"", text, n_par, 0, widths, order)  # raises the width error
    if n_tot < 0:
        seg = d1 - d0 + 1
        if seg % row_bytes:
            raise _bad(source, f"$TOT is missing and the DATA segment ({seg} bytes) is not a "
                               f"whole number of {row_bytes}-byte events")
        n_tot = seg // row_bytes
        warnings.append(f"$TOT missing; {n_tot} events derived from the DATA segment length")
    need = n_tot * row_bytes
    seg = d1 - d0 + 1 if d1 >= d0 else 0
    if need > available:
        raise _bad(source, f"the file is truncated: $TOT = {n_tot} events x {row_bytes} bytes "
                           f"need {need} bytes from byte {d0}, but only {max(available, 0)} "
                           "are there")
    if seg != need:
        if abs(seg - need) > OFFSET_TOLERANCE:
            raise _bad(source, f"the DATA segment is {seg} bytes (offsets {d0}-{d1}) but "
                               f"$TOT = {n_tot} events x {row_bytes} bytes need {need}")
        warnings.append(f"DATA end offset off by {seg - need:+d} bytes; read the $TOT events "
                        "from the segment start")
    data = buf[base + d0:base + d0 + need]
    events = _decode(source, data, text, n_par, n_tot, widths, order)
    events = np.ascontiguousarray(events)
    if scale:
        _scale(source, events, text, channels)
    nextdata = _int_kw(source, text, "$NEXTDATA", default=0)
    fcs = FcsData(source=source, dataset=index, version=version, channels=channels,
                  markers=markers, events=events, text=text, warnings=tuple(warnings))
    return fcs, nextdata


def _chain(source: str, buf: bytes, limit: int | None, scale: bool = True) -> list[FcsData]:
    out: list[FcsData] = []
    base, seen = 0, set()
    while True:
        fcs, nxt = _read_dataset(source, buf, base, len(out), scale)
        out.append(fcs)
        if limit is not None and len(out) > limit:
            return out
        if nxt <= 0:
            return out
        base += nxt
        if base in seen or base >= len(buf):
            raise _bad(source, f"$NEXTDATA of data set {len(out) - 1} points to byte {base}, "
                               f"outside the file ({len(buf)} bytes) or back to a data set")
        seen.add(base)


def read_fcs(path: str | Path | bytes, dataset: int = 0, scale: bool = True) -> FcsData:
    """Read one data set of an FCS file (the first by default).

    Parameters
    ----------
    path : str, Path or bytes
        The file, or its bytes.
    dataset : int
        0-based index along the ``$NEXTDATA`` chain.
    scale : bool
        Apply ``$PnE``, ``$PnG`` and ``$TIMESTEP`` (default); ``False`` gives the stored
        values (after bit masking).

    Raises
    ------
    FcsFormatError
        The file cannot be read, is not FCS, is malformed or truncated, or has fewer data
        sets; the message names the file and says what is wrong.
    """
    source, buf = _read_bytes(path)
    sets = _chain(source, buf, dataset, scale)
    if dataset >= len(sets):
        raise _bad(source, f"has {len(sets)} data set(s); data set {dataset} was asked for")
    return sets[dataset]


def read_fcs_all(path: str | Path | bytes, scale: bool = True) -> list[FcsData]:
    """Every data set of an FCS file, in ``$NEXTDATA`` order (see :func:`read_fcs`)."""
    source, buf = _read_bytes(path)
    return _chain(source, buf, None, scale)


def fcs_dataset_count(path: str | Path | bytes) -> int:
    """Number of data sets in an FCS file."""
    return len(read_fcs_all(path))


def fcs_bytes(events: npt.ArrayLike, channels: list[str] | tuple[str, ...],
              markers: list[str] | tuple[str, ...] | None = None, *, datatype: str = "F",
              byteorder: str = "<", bits: int | list[int] | None = None,
              extra: Mapping[str, str] | None = None, version: str = "3.1",
              nextdata: bool = False) -> bytes:
    """Encode events as one FCS data set (for synthetic files, benchmarks and tests).

    Parameters
    ----------
    events : array-like
        ``(n_events, n_channels)`` values as they are to be stored (integers are rounded).
    channels, markers : sequence of str
        ``$PnN`` and ``$PnS``.
    datatype : {"F", "D", "I"}
        float32, float64 or unsigned integers of ``bits`` (8, 16, 24, 32; one or per channel).
    byteorder : {"<", ">"}
        Little- or big-endian.
    extra : Mapping[str, str]
        Further TEXT keywords (``$P1E``, ``$SPILLOVER``...), written as given.
    version : str
        The header's version, ``"2.0"``, ``"3.0"`` or ``"3.1"``.
    nextdata : bool
        Write ``$NEXTDATA`` pointing just past this data set (to concatenate another).
    """
    arr = np.asarray(events, dtype=np.float64)
    n_tot, n_par = arr.shape
    if datatype == "I":
        widths = [bits] * n_par if isinstance(bits, int) else list(bits or [32] * n_par)
    else:
        widths = [32 if datatype == "F" else 64] * n_par
    if datatype == "I":
        cols = []
        for j, w in enumerate(widths):
            v = np.rint(arr[:, j]).astype(np.uint64)
            nb = w // 8
            shifts = np.arange(nb, dtype=np.uint64) * np.uint64(8)
            b = ((v[:, None] >> shifts) & np.uint64(0xFF)).astype(np.uint8)
            cols.append(b if byteorder == "<" else b[:, ::-1])
        data = np.concatenate(cols, axis=1).tobytes()
    else:
        data = arr.astype(f"{byteorder}f{widths[0] // 8}").tobytes()
    kw: dict[str, str] = {
        "$BYTEORD": "1,2,3,4" if byteorder == "<" else "4,3,2,1",
        "$DATATYPE": datatype, "$MODE": "L", "$PAR": str(n_par), "$TOT": str(n_tot),
    }
    for j, ch in enumerate(channels):
        n = j + 1
        kw[f"$P{n}N"] = ch
        kw[f"$P{n}B"] = str(widths[j])
        kw[f"$P{n}E"] = "0,0"
        kw[f"$P{n}R"] = str(2 ** widths[j] if datatype == "I" else 262144)
        if markers and markers[j]:
            kw[f"$P{n}S"] = markers[j]
    kw.update(extra or {})

    def text_for(begin: int, end: int, nxt: int) -> bytes:
        kv = dict(kw, **{"$BEGINDATA": str(begin), "$ENDDATA": str(end),
                         "$BEGINANALYSIS": "0", "$ENDANALYSIS": "0",
                         "$BEGINSTEXT": "0", "$ENDSTEXT": "0", "$NEXTDATA": str(nxt)})
        body = "".join(f"/{k.replace('/', '//')}/{v.replace('/', '//')}"
                       for k, v in kv.items())
        return (body + "/").encode("utf-8")

    # Offsets change the TEXT length; iterate to a fixed point (two passes suffice).
    begin = end = nxt = 0
    for _ in range(4):
        text = text_for(begin, end, nxt)
        t0 = _HEADER_LEN
        t1 = t0 + len(text) - 1
        begin = t1 + 1
        end = begin + len(data) - 1
        nxt = end + 1 if nextdata else 0
        if text == text_for(begin, end, nxt):
            break
    text = text_for(begin, end, nxt)
    small = end <= 99_999_999
    header = (f"FCS{version}    " + f"{t0:>8}{t1:>8}" +
              (f"{begin:>8}{end:>8}" if small else f"{0:>8}{0:>8}") + f"{0:>8}{0:>8}")
    return header.encode("ascii") + text + data
