"""The centre's definitions: every choice that derivation and reconciliation depend on.

Published standards leave points open (the CAPD age cut-off, what counts as high-flow
oxygen, whether a sedated patient's ICE score counts, the MRD threshold, the meaning of
"standard" lymphodepletion...). Each such choice is one field of :class:`DeriveOptions`,
with the seed study's reading (or the consensus text's) as its documented default. A plan
sets them in its ``[plan.derive]`` table; every report records the values it used in
``results.json`` (``derive_options``), so a reader can tell which definitions produced the
numbers.

This module is a leaf (it imports nothing clinical), so that reading, validation,
reconciliation, derivation and rendering can all take the same options object.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args, get_origin

from reinfuse.errors import PlanError

Prefer = Literal["recorded", "derived"]


@dataclass(frozen=True)
class DeriveOptions:
    """The choices the derivations depend on, each with its documented default.

    Attributes
    ----------
    mrd_negative_below
        Flow MRD (% of mononuclear cells) below which marrow is MRD-negative (0.01%).
    cns_wbc_threshold
        CSF white cells per uL at or above which blasts make CNS3 rather than CNS2 (5).
    cri_counts_as_cr
        Whether CRi counts as a complete response (the seed study's "morphologic CR").
    antigen_loss_statuses
        ``antigen_after`` values that count as antigen loss or dim emergence.
    dose_tolerance
        Relative difference below which two doses count as equal (1%).
    severe_neurotox_min_grade
        Lowest neurotoxicity grade counted as severe. Default 4: the seed study defines
        severe neurotoxicity as "AE >grade 3" (clinical-definitions.md), unlike severe CRS
        (grade >= 3); set 3 for the usual "grade 3 or higher".
    censor_at_next_infusion
        Censor remission and event-free survival from an infusion at the next infusion
        (new treatment), unless a relapse or death came first. Default True.
    censor_at_hsct
        Censor them at a consolidative transplant (``hsct_date`` on the infusion's row),
        the usual convention when transplant is a competing consolidation. Default True.
    prefer
        Where a value derived from raw observations disagrees with the recorded one, which
        is used. Default ``"recorded"``: the chart's value stands, the derived one is
        reported beside it (``<column>_derived``) and in a warning. ``"derived"``: the
        derived value replaces it, except that a lower grade or peak, or a different
        response or later relapse, is applied only when the observations cover the
        recorded value (:mod:`reinfuse.reconcile`). A blank recorded value is filled
        either way. Every disagreement is a warning.
    observation_window_days
        First and last day after an infusion whose CRS/ICANS observations count toward its
        grade (and never past the next infusion); the coverage check asks for an
        observation on every day from the first one to the last observed day. Default
        (0, 30): ASTCT grades the syndromes after immune effector cell therapy, which
        usually start within two weeks (Lee et al., Biol Blood Marrow Transplant
        2019;25:625-638).
    """

    # --- disease status, response and endpoints (derive.py) -------------------------------
    mrd_negative_below: float = 0.01
    cns_wbc_threshold: float = 5.0
    cri_counts_as_cr: bool = True
    antigen_loss_statuses: tuple[str, ...] = ("dim", "negative")
    dose_tolerance: float = 0.01
    severe_neurotox_min_grade: int = 4
    censor_at_next_infusion: bool = True
    censor_at_hsct: bool = True
    # --- reconciliation of raw observations with recorded summaries (reconcile.py) --------
    prefer: Prefer = "recorded"
    observation_window_days: tuple[float, float] = (0.0, 30.0)
    # --- CRS and ICANS grading (criteria.crs, criteria.icans) -----------------------------
    # --- disease assessments, CNS, response and lymphodepletion (criteria.*) --------------

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise PlanError("derive options: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for results.json."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, where: str = "plan.derive"
                     ) -> DeriveOptions:
        """Options from a plan's ``[plan.derive]`` table, every problem listed at once.

        Unknown keys are refused with the closest known name, since a misspelt option
        would otherwise be ignored in silence; lists become tuples.

        Raises
        ------
        PlanError
            When a key is unknown or a value has the wrong type or is out of range.

        Examples
        --------
        >>> DeriveOptions.from_mapping({"censor_at_hsct": False}).censor_at_hsct
        False
        >>> try:
        ...     DeriveOptions.from_mapping({"censor_at_hst": False})
        ... except PlanError as exc:
        ...     print(exc)
        plan.derive: unknown option 'censor_at_hst' (did you mean 'censor_at_hsct'?)
        """
        known = {f.name: f for f in fields(cls)}
        hints = typing.get_type_hints(cls)
        problems: list[str] = []
        accepted: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1)
                problems.append(f"unknown option '{key}'" + (
                    f" (did you mean '{close[0]}'?)" if close else
                    f"; allowed: {', '.join(known)}"))
                continue
            value = tuple(value) if isinstance(value, list) else value
            problem = _type_problem(key, value, hints[key])
            if problem:
                problems.append(problem)
            else:
                accepted[key] = value
        if problems:
            raise PlanError(f"{where}: " + "; ".join(problems))
        try:
            return cls(**accepted)
        except PlanError as exc:
            raise PlanError(f"{where}: {str(exc).removeprefix('derive options: ')}") from None


def _type_problem(key: str, value: Any, hint: Any) -> str:
    """Why ``value`` does not fit the annotation ``hint`` ('' when it does)."""
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        return "" if value in allowed else (
            f"'{key}' is {value!r}; allowed: {', '.join(map(str, allowed))}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in get_args(hint):
            return ""
        fits = any(not _type_problem(key, value, o) for o in get_args(hint)
                   if o is not type(None))
        return "" if fits else f"'{key}' must be {_name(hint)}, got {value!r}"
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(value, tuple):
            return f"'{key}' must be a list, got {value!r}"
        items = (args[0],) * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            return f"'{key}' must be a list of {len(items)} values, got {list(value)!r}"
        for item, item_hint in zip(value, items, strict=True):
            if _type_problem(key, item, item_hint):
                return f"'{key}' must be {_name(hint)}, got {list(value)!r}"
        return ""
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, hint)
    return "" if ok else f"'{key}' must be {_name(hint)}, got {value!r}"


def _name(hint: Any) -> str:
    origin = get_origin(hint)
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_name(args[0])}"
        return "a list of " + ", ".join(_name(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_name(a) for a in get_args(hint))
    return {bool: "true or false", float: "a number", int: "a whole number",
            str: "text", type(None): "absent"}.get(hint, str(hint))


def _problems(options: DeriveOptions) -> list[str]:
    """Range checks that types alone cannot express."""
    out = []
    low, high = options.observation_window_days
    if not 0 <= low <= high:
        out.append(f"'observation_window_days' must be two days [first, last] with "
                   f"0 <= first <= last, got [{low:g}, {high:g}]")
    if options.prefer not in get_args(Prefer):
        out.append(f"'prefer' is {options.prefer!r}; allowed: recorded, derived")
    if not options.mrd_negative_below > 0:
        out.append("'mrd_negative_below' must be above 0")
    if not 0 <= options.dose_tolerance < 1:
        out.append("'dose_tolerance' must be from 0 to below 1")
    return out
