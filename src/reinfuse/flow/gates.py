"""Gates declared in a small TOML file, evaluated on compensated, transformed events.

A gate file has an optional ``[transforms]`` table (channel -> ``"asinh"``, ``"logicle"``,
``"linear"`` or a table with settings, see :class:`~reinfuse.flow.compensate.Transform`;
``default`` applies to every channel not listed, ``"linear"`` if absent) and one
``[gates.NAME]`` table per gate. Channels are named by detector (``$PnN``, ``APC-A``) or
marker (``$PnS``, ``CD19``). Every gate may name a ``parent`` gate it is nested in.

==========  ====================================================================
type        keys
==========  ====================================================================
rectangle   ``channels`` (1 or more), ``min`` and ``max`` (one number per channel;
            ``-inf``/``inf`` for an open side); bounds inclusive
polygon     ``channels`` (2), ``vertices`` (3 or more ``[x, y]`` points)
quadrant    ``channels`` (2), ``at`` ``[x, y]``, ``quadrant`` one of ``"++"``,
            ``"+-"``, ``"-+"``, ``"--"`` (x sign then y sign; ``+`` is ``>= at``)
threshold   ``channel`` and ``above`` or ``below`` (``above`` is ``>=``, ``below`` ``<``)
boolean     ``expr``: gate names with ``and``, ``or``, ``not`` and parentheses
==========  ====================================================================

Example (the B-ALL panel of the vendored FACSDiva file)::

    [transforms]
    default = "linear"
    "APC-A" = {kind = "asinh", cofactor = 150}

    [gates.cells]
    type = "rectangle"
    channels = ["FSC-A", "SSC-A"]
    min = [20000, 0]
    max = [262143, 150000]

    [gates.cd19_blasts]
    type = "threshold"
    parent = "cells"
    channel = "CD19"
    above = 4.0

Every problem in a gate file is reported at once (:class:`GateError`), each naming the
file, the gate, the key, the value received and the values allowed.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.path import Path as MplPath

from reinfuse.errors import FlowError
from reinfuse.flow.compensate import Transform, compensate
from reinfuse.flow.fcs import FcsData

__all__ = ["Gate", "GateError", "GateSet", "GatedSample", "gate_sample", "load_gates"]

GATE_TYPES = ("rectangle", "polygon", "quadrant", "threshold", "boolean")
_KEYS: dict[str, set[str]] = {
    "rectangle": {"channels", "min", "max"},
    "polygon": {"channels", "vertices"},
    "quadrant": {"channels", "at", "quadrant"},
    "threshold": {"channel"},
    "boolean": {"expr"},
}
_OPTIONAL: dict[str, set[str]] = {"threshold": {"above", "below"}}


class GateError(FlowError):
    """A gate file with problems; ``problems`` lists every one."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in gate file {source}:\n" +
                         "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Gate:
    """One declared gate (see the module docstring for the keys of each type)."""

    name: str
    type: str
    spec: Mapping[str, Any] = field(repr=False)
    parent: str | None = None

    def channels(self) -> list[str]:
        """The channels this gate reads directly."""
        if self.type == "threshold":
            return [str(self.spec["channel"])]
        if self.type == "boolean":
            return []
        return [str(c) for c in self.spec["channels"]]

    def references(self) -> list[str]:
        """The gates this gate depends on (parent and names in a boolean expression)."""
        refs = [self.parent] if self.parent else []
        if self.type == "boolean":
            tree = ast.parse(str(self.spec["expr"]), mode="eval")
            refs += [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
        return refs


@dataclass(frozen=True)
class GateSet:
    """Gates and transforms from one gate file."""

    gates: Mapping[str, Gate]
    transforms: Mapping[str, Transform]
    default_transform: Transform
    source: str = "<gates>"

    def transform_for(self, channel: str, marker: str = "") -> Transform:
        """The transform declared for a channel (by detector or marker name)."""
        for key in (channel, marker):
            if key and key in self.transforms:
                return self.transforms[key]
        return self.default_transform


def _check_numbers(value: Any, n: int | None) -> bool:
    return (isinstance(value, list) and (n is None or len(value) == n)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value))


def _check_gate(name: str, spec: Mapping[str, Any]) -> list[str]:
    where = f"gate {name!r}"
    kind = spec.get("type")
    if kind not in GATE_TYPES:
        return [f"{where}: type is {kind!r}; allowed: {', '.join(GATE_TYPES)}"]
    problems = []
    allowed = _KEYS[kind] | _OPTIONAL.get(kind, set()) | {"type", "parent"}
    for key in sorted(set(spec) - allowed):
        problems.append(f"{where}: unknown key {key!r}; allowed for {kind}: "
                        f"{', '.join(sorted(allowed))}")
    for key in sorted(_KEYS[kind] - set(spec)):
        problems.append(f"{where}: missing key {key!r} (a {kind} needs "
                        f"{', '.join(sorted(_KEYS[kind]))})")
    if problems:
        return problems
    if kind != "threshold" and kind != "boolean":
        chans = spec["channels"]
        want = None if kind == "rectangle" else 2
        if not (isinstance(chans, list) and chans and all(isinstance(c, str) for c in chans)
                and (want is None or len(chans) == want)):
            problems.append(f"{where}: channels is {chans!r}; expected "
                            f"{'a list of names' if want is None else 'two names'}")
            return problems
    if kind == "rectangle":
        for key in ("min", "max"):
            if not _check_numbers(spec[key], len(spec["channels"])):
                problems.append(f"{where}: {key} is {spec[key]!r}; expected "
                                f"{len(spec['channels'])} number(s), one per channel")
    elif kind == "polygon":
        v = spec["vertices"]
        if not (isinstance(v, list) and len(v) >= 3 and all(_check_numbers(p, 2) for p in v)):
            problems.append(f"{where}: vertices is {v!r}; expected 3 or more [x, y] points")
    elif kind == "quadrant":
        if not _check_numbers(spec["at"], 2):
            problems.append(f"{where}: at is {spec['at']!r}; expected [x, y]")
        if spec["quadrant"] not in ("++", "+-", "-+", "--"):
            problems.append(f"{where}: quadrant is {spec['quadrant']!r}; allowed: "
                            "'++', '+-', '-+', '--'")
    elif kind == "threshold":
        sides = [k for k in ("above", "below") if k in spec]
        if len(sides) != 1:
            problems.append(f"{where}: give exactly one of 'above' or 'below'; received "
                            f"{sides or 'neither'}")
        elif not _check_numbers([spec[sides[0]]], 1):
            problems.append(f"{where}: {sides[0]} is {spec[sides[0]]!r}; expected a number")
        if not isinstance(spec["channel"], str):
            problems.append(f"{where}: channel is {spec['channel']!r}; expected a name")
    elif kind == "boolean":
        problems += _check_expr(where, spec["expr"])
    if "parent" in spec and not isinstance(spec["parent"], str):
        problems.append(f"{where}: parent is {spec['parent']!r}; expected a gate name")
    return problems


def _check_expr(where: str, expr: Any) -> list[str]:
    if not isinstance(expr, str):
        return [f"{where}: expr is {expr!r}; expected a string such as 'a and not b'"]
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return [f"{where}: expr {expr!r} is not an expression of gate names with and/or/not"]
    ok = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Name,
          ast.Load)
    bad = sorted({type(n).__name__ for n in ast.walk(tree) if not isinstance(n, ok)})
    if bad:
        return [f"{where}: expr {expr!r} uses {bad}; allowed: gate names, and, or, not, "
                "parentheses"]
    return []


def load_gates(source: str | Path, *, text: str | None = None) -> GateSet:
    """Read and check a gate file (or ``text``, with ``source`` used in messages).

    Raises
    ------
    GateError
        With every problem of the file: TOML syntax, unknown gate types or keys, wrong
        shapes, references to gates that do not exist, cycles.
    """
    name = str(source)
    try:
        raw = tomllib.loads(text if text is not None else Path(source).read_text("utf-8"))
    except OSError as exc:
        raise GateError(name, [f"cannot be read ({exc.strerror or exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise GateError(name, [f"not valid TOML: {exc}"]) from None
    problems: list[str] = []
    extra = sorted(set(raw) - {"gates", "transforms"})
    if extra:
        problems.append(f"unknown top-level tables {extra}; allowed: gates, transforms")
    transforms: dict[str, Transform] = {}
    default = Transform()
    for ch, spec in dict(raw.get("transforms", {})).items():
        try:
            tr = Transform.from_mapping(spec, f"transforms.{ch}")
        except FlowError as exc:
            problems.append(str(exc))
            continue
        if ch == "default":
            default = tr
        else:
            transforms[ch] = tr
    gates: dict[str, Gate] = {}
    table = raw.get("gates", {})
    if not isinstance(table, dict) or not table:
        problems.append("no [gates.NAME] tables")
        table = {}
    for gname, spec in table.items():
        if not isinstance(spec, dict):
            problems.append(f"gate {gname!r}: expected a table, received {spec!r}")
            continue
        found = _check_gate(gname, spec)
        problems += found
        if not found:
            gates[gname] = Gate(gname, spec["type"], spec, spec.get("parent"))
    for g in gates.values():
        for ref in g.references():
            if ref not in table:
                problems.append(f"gate {g.name!r} refers to gate {ref!r}, which is not "
                                f"declared; gates are: {', '.join(table)}")
    problems += _cycles(gates)
    if problems:
        raise GateError(name, problems)
    return GateSet(gates, transforms, default, name)


def _cycles(gates: Mapping[str, Gate]) -> list[str]:
    state: dict[str, int] = {}
    found: list[str] = []

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 2 or n not in gates:
            return
        if state.get(n) == 1:
            found.append(f"gates refer to each other in a cycle: {' -> '.join([*path, n])}")
            return
        state[n] = 1
        for r in gates[n].references():
            visit(r, [*path, n])
        state[n] = 2

    for n in gates:
        visit(n, [])
    return found


@dataclass(frozen=True)
class GatedSample:
    """A data set after compensation and gating.

    ``masks`` holds one boolean array per gate; ``values(channel)`` the compensated,
    transformed values (gate units), ``linear(channel)`` the compensated linear values.
    Only the channels read are compensated (see :func:`gate_sample`).
    """

    fcs: FcsData
    masks: Mapping[str, npt.NDArray[np.bool_]] = field(repr=False)
    gates: GateSet = field(repr=False)
    compensated: bool = True
    _linear: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict, repr=False)

    def linear(self, channel: str) -> npt.NDArray[np.float64]:
        """Compensated values of a channel on its linear scale."""
        key = self.fcs.channels[self.fcs.channel_index(channel)]
        if key not in self._linear:
            comp = compensate(self.fcs, channels=[key]) if self.compensated else (
                compensate(self.fcs, None, [key]))
            self._linear[key] = comp[:, 0]
        return self._linear[key]

    def values(self, channel: str) -> npt.NDArray[np.float64]:
        """Compensated values of a channel in the gate file's transform."""
        i = self.fcs.channel_index(channel)
        tr = self.gates.transform_for(self.fcs.channels[i], self.fcs.markers[i])
        return tr.apply(self.linear(channel))

    def count(self, gate: str) -> int:
        """Events in a gate."""
        return int(self.masks[gate].sum())


def gate_sample(fcs: FcsData, gates: GateSet, *, compensated: bool = True,
                channels: Sequence[str] = ()) -> GatedSample:
    """Compensate ``fcs`` with its own spill matrix and evaluate every gate.

    The channels the gates read (and ``channels``, e.g. the PE channel to quantify) are
    compensated in one pass; each is transformed once.

    Raises
    ------
    FlowError
        A gate names a channel the file does not have (the message lists the channels), or
        the spill matrix cannot be used.
    """
    missing = sorted({c for g in gates.gates.values() for c in g.channels()
                      if _resolves(fcs, c) is None} | {c for c in channels
                                                        if _resolves(fcs, c) is None})
    if missing:
        have = [f"{c} ({m})" if m else c
                for c, m in zip(fcs.channels, fcs.markers, strict=True)]
        raise FlowError(f"{fcs.source}: gate file {gates.source} names channels the file "
                        f"does not have: {missing}; channels are {have}")
    needed = list(dict.fromkeys(
        fcs.channels[fcs.channel_index(c)]
        for c in [*(c for g in gates.gates.values() for c in g.channels()), *channels]))
    lin = compensate(fcs, "file" if compensated else None, needed) if needed else None
    linear = {c: lin[:, k] for k, c in enumerate(needed)} if lin is not None else {}
    cache: dict[str, npt.NDArray[np.float64]] = {}

    def col(name: str) -> npt.NDArray[np.float64]:
        if name not in cache:
            i = fcs.channel_index(name)
            tr = gates.transform_for(fcs.channels[i], fcs.markers[i])
            cache[name] = tr.apply(linear[fcs.channels[i]])
        return cache[name]

    masks: dict[str, npt.NDArray[np.bool_]] = {}

    def mask(name: str) -> npt.NDArray[np.bool_]:
        if name not in masks:
            g = gates.gates[name]
            m = _evaluate(g, col, mask)
            if g.parent:
                m = m & mask(g.parent)
            masks[name] = m
        return masks[name]

    for name in gates.gates:
        mask(name)
    return GatedSample(fcs, masks, gates, compensated, linear)


def _resolves(fcs: FcsData, name: str) -> int | None:
    try:
        return fcs.channel_index(name)
    except FlowError:
        return None


def _evaluate(g: Gate, col: Callable[[str], npt.NDArray[np.float64]],
              mask: Callable[[str], npt.NDArray[np.bool_]]) -> npt.NDArray[np.bool_]:
    s = g.spec
    if g.type == "threshold":
        x = col(s["channel"])
        return x >= float(s["above"]) if "above" in s else x < float(s["below"])
    if g.type == "rectangle":
        out: npt.NDArray[np.bool_] | None = None
        for ch, lo, hi in zip(s["channels"], s["min"], s["max"], strict=True):
            x = col(ch)
            m = (x >= lo) & (x <= hi)
            out = m if out is None else out & m
        assert out is not None
        return out
    if g.type == "quadrant":
        x, y = col(s["channels"][0]), col(s["channels"][1])
        xs = x >= float(s["at"][0])
        ys = y >= float(s["at"][1])
        q = s["quadrant"]
        return (xs if q[0] == "+" else ~xs) & (ys if q[1] == "+" else ~ys)
    if g.type == "polygon":
        pts = np.column_stack([col(s["channels"][0]), col(s["channels"][1])])
        finite = np.isfinite(pts).all(axis=1)
        inside = np.zeros(len(pts), dtype=bool)
        inside[finite] = MplPath(np.asarray(s["vertices"], dtype=float)).contains_points(
            pts[finite])
        return inside
    return _bool_expr(ast.parse(s["expr"], mode="eval").body, mask)


def _bool_expr(node: ast.expr, mask: Callable[[str], npt.NDArray[np.bool_]],
               ) -> npt.NDArray[np.bool_]:
    if isinstance(node, ast.Name):
        return mask(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~_bool_expr(node.operand, mask)
    if isinstance(node, ast.BoolOp):
        parts = [_bool_expr(v, mask) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = out & p if isinstance(node.op, ast.And) else out | p
        return out
    raise FlowError(f"unsupported expression {ast.dump(node)}")  # pragma: no cover


