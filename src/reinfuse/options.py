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
HfncAtLowRate = Literal["rate", "label"]


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
    severe_neurotox_min_grade_ctcae, severe_neurotox_min_grade_icans
        Lowest neurotoxicity grade counted as severe, by the scale of ``neurotox_grade``
        (the ``neurotox_scale`` column). CTCAE default 4: the seed study, graded by CTCAE,
        calls neurotoxicity severe "if the AE was >grade 3" (clinical-definitions.md).
        ICANS default 3: ASTCT grade 3 or higher is severe ICANS (Lee et al., Biol Blood
        Marrow Transplant 2019;25:625-638).
    neurotox_scale_default
        Scale of a ``neurotox_grade`` whose ``neurotox_scale`` is blank: ``"ctcae"``
        (default, the seed study's scale), ``"icans"``, or ``"missing"`` (then a grade on
        which the two rules disagree, 3 by default, is of unknown severity).
    pre_window_days
        Days before an infusion (day 0 included) whose disease assessments describe the
        disease at infusion (30).
    response_window_days
        First and last day after an infusion whose assessments count toward its best
        response (1, 90).
    traumatic_tap
        Steinherz/Bleyer traumatic-tap correction of CNS status: ``"when_available"``
        (default: applied when the CSF RBC, blood counts and circulating blasts of the
        lumbar-puncture day are recorded), ``"always"`` (missing when they are not) or
        ``"never"``. The infusions sheet records no blood counts, so there it applies
        only with ``"always"``.
    unknown_circulating_blasts
        A traumatic tap negative by Steinherz/Bleyer without recorded circulating blasts:
        ``"missing"`` (default) or ``"apply"`` (assume circulating blasts: CNS2).
    unrecorded_csf_rbc
        Blasts with CSF WBC >= ``cns_wbc_threshold`` and no RBC count: ``"clean"``
        (default: CNS3) or ``"missing"``.
    unknown_csf_flow
        A blast-free CSF whose flow cytometry was not done: ``"missing"`` (default: it
        could be "CNS1 flow+") or ``"CNS1"``.
    unknown_mrd
        An M1 marrow without MRD: ``"missing"`` (default: it could be an MRD-negative CR)
        or ``"M1"``.
    mrd_from
        Pre-infusion MRD: the ``"latest"`` in the window (default) or only from the
        ``"same_marrow"`` as the morphology.
    unassessed_cns_signs
        No clinical-signs value before an infusion: ``"absent"`` (default, signs are
        charted when present) or ``"missing"``.
    count_recovery_anc, count_recovery_platelets
        Count recovery of CR (and of PR with ``pr_count_recovery``): ANC >= 1.0 x 10^9/L
        and platelets >= 100 x 10^9/L (clinical-definitions "Response").
    missing_counts
        An otherwise complete remission without ANC or platelets: ``"CRi"`` (default),
        ``"CR"`` or ``"NE"``.
    companion_days
        Blood counts up to this many days older than a marrow count for it (7).
    site_findings
        Response: which finding of an extramedullary site stands at an assessment:
        ``"until_reassessed"`` (default; disease persists until a later finding shows it
        cleared) or ``"recent"`` (only findings within ``companion_days``).
    unassessed_sites
        Response: a site with no standing finding is ``"absent"`` (default; response forms
        record positive findings only) or ``"missing"`` (no CR/CRi can be given).
    unknown_baseline_sites
        Response: disease at a site whose pre-infusion status is unknown is ``"not_new"``
        (default; PD needs evidence the site was free), ``"new"`` (PD) or ``"missing"``.
    csf_flow_blocks_cr
        Response: flow-cytometry-only CSF disease ("CNS1 flow+") prevents a CR (default
        false: CNS1 means no blasts on the cytospin).
    pd_increase
        PD's >= 25% increase in marrow blasts is ``"relative"`` (default; 1.25 x the
        pre-infusion percentage) or in percentage ``"points"`` (+ 25).
    response_tie_break
        Among assessments with the best response: the ``"earliest"`` (default) or an
        MRD-negative one first (``"mrd_negative_first"``).
    mrd_negative_cr_from
        ``"window"`` (default): a CR is MRD-negative when any remission assessment of the
        response window has MRD below ``mrd_negative_below``; ``"best_assessment"``: only
        the assessment chosen as best.
    pr_count_recovery
        Require count recovery for PR, as NCCN-style response tables do (default false:
        the seed study's PR, by marrow blasts alone).
    relapse_marrow
        Marrow relapse after CR: ``"above_5"`` blasts > 5 % (default, the definition's
        wording; exactly 5 % is not a relapse) or ``"not_m1"`` (>= 5 %, M2 or M3).
    mrd_relapse
        Count MRD-only reappearance after MRD-negative remission as relapse (false).
    relapse_sites_within_days
        Findings up to this many days after the relapse assessment count as its sites (0).
    ld_standard_totals, ld_intensified_totals
        The centre's (fludarabine, cyclophosphamide) course totals in mg/m2 that define
        "standard" and "intensified" lymphodepletion. Defaults: the seed study's
        (75, 900) and (120, 1200); tisagenlecleucel's label regimen as standard is
        (120, 1000).
    ld_flag_fludarabine
        Fludarabine course total of FLAG (125 = 25 x 5); cytarabine without it is not FLAG.
    ld_tolerance
        Relative tolerance around those totals (0.10, at most 0.2).
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
    fever_c
        CRS: fever threshold in degrees Celsius, inclusive (35-42). Default 38.0, the ASTCT
        consensus (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638): 37.9 is no
        fever.
    low_flow_max_l_min
        CRS: highest nasal-cannula flow (L/min, inclusive) that is low-flow (grade 2);
        above it is high-flow (grade 3). Default 6, the ASTCT consensus ("low-flow nasal
        cannula is <= 6 L/min").
    hfnc_at_low_rate
        CRS: oxygen *labelled* high-flow nasal cannula at a recorded rate at or below
        ``low_flow_max_l_min``: ``"rate"`` (default; the consensus defines high flow by the
        rate, so grade 2) or ``"label"`` (grade 3, as pediatric high-flow systems run at
        low absolute rates).
    capd_age_below
        ICANS: age (years) below which the CAPD replaces the ICE score when the
        observation does not name the tool (``assessment_tool``). Default 12, the ASTCT
        consensus's "< 12 years"; 13 reads "12 years and under".
    sedation_excludes_scores
        ICANS: an ICE or CAPD score taken while the patient's consciousness was depressed
        by sedating medication (e.g. propofol, RASS -4/-5) is not assessable and is not
        counted, like the level of consciousness itself. Default True: the ASTCT
        consensus grades ICANS on findings not attributable to sedation.
    antigen_measure
        Blast antigen density from the FCS files listed in an ``antigen_samples`` sheet
        (docs/antigen-density.md): ``"auto"`` (default: measured whenever the sheet has
        rows and the cohort was read from a folder) or ``"no"`` (the recorded
        ``abc_cd19_pre``, ``abc_cd22_pre`` and ``antigen_after`` alone).
    antigen_gates
        The gate file (TOML) of those samples, relative to the cohort's folder (default
        ``"gates.toml"``).
    antigen_statistic
        Blast fluorescence summarised by its ``"geometric_mean"`` (default; the
        QuantiBRITE manufacturer's instructions and the seed study's flow laboratory
        report geometric mean ABC) or ``"median"``.
    antigen_min_blasts
        Fewer gated blasts than this flag a sample's ABC (250).
    antigen_negative_below, antigen_dim_below
        Per-blast ABC (molecules per cell) below which a blast is antigen-negative (200,
        under the lowest QuantiBRITE bead) and antigen-dim (2,000, the CD19 density that
        separated response to CD19 CAR T in Majzner et al., Cancer Discov
        2020;10:702-723). No standard defines either (clinical-definitions.md).
    antigen_negative_majority
        A sample is antigen-negative when at least this fraction of its blasts are (0.5);
        otherwise dim when its ABC is below ``antigen_dim_below``, else positive.
    antigen_agreement
        A recorded ABC and the one computed from the FCS files agree when they differ by
        at most this fraction of the recorded value (0.10); beyond it is a warning.
    """

    # --- disease status, response and endpoints (derive.py) -------------------------------
    mrd_negative_below: float = 0.01
    cns_wbc_threshold: float = 5.0
    cri_counts_as_cr: bool = True
    antigen_loss_statuses: tuple[str, ...] = ("dim", "negative")
    dose_tolerance: float = 0.01
    severe_neurotox_min_grade_ctcae: int = 4
    severe_neurotox_min_grade_icans: int = 3
    neurotox_scale_default: Literal["ctcae", "icans", "missing"] = "ctcae"
    censor_at_next_infusion: bool = True
    censor_at_hsct: bool = True
    # --- reconciliation of raw observations with recorded summaries (reconcile.py) --------
    prefer: Prefer = "recorded"
    observation_window_days: tuple[float, float] = (0.0, 30.0)
    # --- CRS and ICANS grading (criteria.crs, criteria.icans) -----------------------------
    fever_c: float = 38.0
    low_flow_max_l_min: float = 6.0
    hfnc_at_low_rate: HfncAtLowRate = "rate"
    capd_age_below: float = 12.0
    sedation_excludes_scores: bool = True
    # --- disease assessments, CNS, response and lymphodepletion (criteria.*) --------------
    pre_window_days: float = 30.0
    response_window_days: tuple[float, float] = (1.0, 90.0)
    traumatic_tap: Literal["when_available", "always", "never"] = "when_available"
    unknown_circulating_blasts: Literal["missing", "apply"] = "missing"
    unrecorded_csf_rbc: Literal["clean", "missing"] = "clean"
    unknown_csf_flow: Literal["missing", "CNS1"] = "missing"
    unknown_mrd: Literal["missing", "M1"] = "missing"
    mrd_from: Literal["latest", "same_marrow"] = "latest"
    unassessed_cns_signs: Literal["absent", "missing"] = "absent"
    count_recovery_anc: float = 1.0
    count_recovery_platelets: float = 100.0
    missing_counts: Literal["CRi", "CR", "NE"] = "CRi"
    companion_days: float = 7.0
    site_findings: Literal["until_reassessed", "recent"] = "until_reassessed"
    unassessed_sites: Literal["absent", "missing"] = "absent"
    unknown_baseline_sites: Literal["not_new", "new", "missing"] = "not_new"
    csf_flow_blocks_cr: bool = False
    pd_increase: Literal["relative", "points"] = "relative"
    response_tie_break: Literal["earliest", "mrd_negative_first"] = "earliest"
    mrd_negative_cr_from: Literal["window", "best_assessment"] = "window"
    pr_count_recovery: bool = False
    relapse_marrow: Literal["above_5", "not_m1"] = "above_5"
    mrd_relapse: bool = False
    relapse_sites_within_days: float = 0.0
    ld_standard_totals: tuple[float, float] = (75.0, 900.0)
    ld_intensified_totals: tuple[float, float] = (120.0, 1200.0)
    ld_flag_fludarabine: float = 125.0
    ld_tolerance: float = 0.10
    # --- antigen density from FCS files (reinfuse.flow, reconcile.py) ----------------------
    antigen_measure: Literal["auto", "no"] = "auto"
    antigen_gates: str = "gates.toml"
    antigen_statistic: Literal["geometric_mean", "median"] = "geometric_mean"
    antigen_min_blasts: int = 250
    antigen_negative_below: float = 200.0
    antigen_dim_below: float = 2000.0
    antigen_negative_majority: float = 0.5
    antigen_agreement: float = 0.10

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise PlanError("derive options: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for results.json."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def pre_status_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`reinfuse.criteria.assessments.pre_infusion_status`."""
        return {"window_days": self.pre_window_days,
                "mrd_negative_below": self.mrd_negative_below,
                "cns_wbc_threshold": self.cns_wbc_threshold, "mrd_from": self.mrd_from,
                "unknown_mrd": self.unknown_mrd, "traumatic_tap": self.traumatic_tap,
                "unknown_flow": self.unknown_csf_flow,
                "unassessed_cns_signs": self.unassessed_cns_signs,
                "unknown_circulating_blasts": self.unknown_circulating_blasts,
                "unrecorded_csf_rbc": self.unrecorded_csf_rbc}

    def best_response_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`reinfuse.criteria.assessments.best_response`."""
        return {"window": self.response_window_days,
                "count_recovery_anc": self.count_recovery_anc,
                "count_recovery_platelets": self.count_recovery_platelets,
                "mrd_negative_below": self.mrd_negative_below,
                "missing_counts": self.missing_counts, "companion_days": self.companion_days,
                "site_findings": self.site_findings, "unassessed_sites": self.unassessed_sites,
                "unknown_baseline_sites": self.unknown_baseline_sites,
                "csf_flow_blocks_cr": self.csf_flow_blocks_cr,
                "pd_increase": self.pd_increase, "tie_break": self.response_tie_break,
                "mrd_negative_cr_from": self.mrd_negative_cr_from,
                "pr_count_recovery": self.pr_count_recovery}

    def relapse_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`reinfuse.criteria.assessments.relapse_after_response`."""
        return {"include_cri": self.cri_counts_as_cr, "relapse_marrow": self.relapse_marrow,
                "mrd_relapse": self.mrd_relapse,
                "mrd_negative_below": self.mrd_negative_below,
                "sites_within_days": self.relapse_sites_within_days}

    def regimen_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`reinfuse.criteria.lymphodepletion.classify_regimen`."""
        return {"tolerance": self.ld_tolerance, "standard_totals": self.ld_standard_totals,
                "intensified_totals": self.ld_intensified_totals,
                "flag_fludarabine": self.ld_flag_fludarabine}

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
    if not 35 <= options.fever_c <= 42:
        out.append(f"'fever_c' must be degrees Celsius from 35 to 42, got {options.fever_c:g}")
    if not options.low_flow_max_l_min > 0:
        out.append("'low_flow_max_l_min' must be a flow above 0 L/min")
    if not 0 < options.capd_age_below <= 30:
        out.append(f"'capd_age_below' must be an age from above 0 to 30 years, got "
                   f"{options.capd_age_below:g}")
    if options.prefer not in get_args(Prefer):
        out.append(f"'prefer' is {options.prefer!r}; allowed: recorded, derived")
    if not options.mrd_negative_below > 0:
        out.append("'mrd_negative_below' must be above 0")
    if not 0 <= options.dose_tolerance < 1:
        out.append("'dose_tolerance' must be from 0 to below 1")
    out += _disease_problems(options)
    out += _antigen_problems(options)
    return out


def _antigen_problems(options: DeriveOptions) -> list[str]:
    """Range checks of the antigen density definitions."""
    out = []
    if not 0 <= options.antigen_negative_below <= options.antigen_dim_below:
        out.append("'antigen_negative_below' and 'antigen_dim_below' must be molecules per "
                   f"cell with 0 <= negative <= dim, got {options.antigen_negative_below:g} "
                   f"and {options.antigen_dim_below:g}")
    if not 0 < options.antigen_negative_majority <= 1:
        out.append("'antigen_negative_majority' must be a fraction above 0 and at most 1")
    if not 0 <= options.antigen_agreement < 1:
        out.append("'antigen_agreement' must be a fraction from 0 to below 1")
    if not options.antigen_min_blasts >= 1:
        out.append("'antigen_min_blasts' must be 1 or more")
    if not str(options.antigen_gates).strip():
        out.append("'antigen_gates' must name a gate file")
    return out


def _disease_problems(options: DeriveOptions) -> list[str]:
    """Range checks of the disease, response and lymphodepletion definitions."""
    out = []
    for name in ("severe_neurotox_min_grade_ctcae", "severe_neurotox_min_grade_icans"):
        if not 1 <= getattr(options, name) <= 5:
            out.append(f"'{name}' must be a grade from 1 to 5")
    for name in ("pre_window_days", "count_recovery_anc", "count_recovery_platelets",
                 "companion_days", "relapse_sites_within_days"):
        if not getattr(options, name) >= 0:
            out.append(f"'{name}' must be 0 or more")
    first, last = options.response_window_days
    if not first <= last:
        out.append(f"'response_window_days' must be [first, last] with first <= last, got "
                   f"[{first:g}, {last:g}]")
    for name in ("ld_standard_totals", "ld_intensified_totals"):
        if any(v < 0 for v in getattr(options, name)):
            out.append(f"'{name}' must be two totals in mg/m2 (fludarabine, "
                       "cyclophosphamide), each 0 or more")
    if tuple(options.ld_standard_totals) == tuple(options.ld_intensified_totals):
        out.append("'ld_standard_totals' and 'ld_intensified_totals' must differ")
    if not options.ld_flag_fludarabine > 0:
        out.append("'ld_flag_fludarabine' must be above 0")
    if not 0 <= options.ld_tolerance <= 0.2:
        out.append("'ld_tolerance' must be from 0 to 0.2")
    return out


def _attribute_docs() -> dict[str, str]:
    """Each option's description, from the Attributes section of DeriveOptions' docstring."""
    text = (DeriveOptions.__doc__ or "").split("Attributes\n    ----------\n", 1)[-1]
    docs: dict[str, str] = {}
    names: list[str] = []
    for line in text.splitlines():
        if line.startswith("    ") and not line.startswith("        ") and line.strip():
            # "name" or "name, other" introduces one or several options.
            names = [n.strip() for n in line.strip().split(",")]
            for name in names:
                docs[name] = ""
        elif line.startswith("        ") and names:
            for name in names:
                docs[name] = (docs[name] + " " + line.strip()).strip()
    return docs


def option_docs() -> dict[str, str]:
    """Each ``DeriveOptions`` field's description (from the class docstring), by name."""
    return _attribute_docs()


def options_markdown() -> str:
    """The ``[plan.derive]`` options as a Markdown table (key, default, meaning).

    docs/analysis-plan.md holds this table between ``derive-options`` markers; a test keeps
    the two equal, so the documentation cannot fall behind the options.
    """
    docs = _attribute_docs()
    defaults = DeriveOptions().to_dict()
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for f in fields(DeriveOptions):
        value = defaults[f.name]
        shown = ("true" if value is True else "false" if value is False else
                 f'"{value}"' if isinstance(value, str) else
                 "[" + ", ".join(f'"{v}"' if isinstance(v, str) else f"{v:g}" for v in value)
                 + "]" if isinstance(value, list) else f"{value:g}")
        meaning = docs.get(f.name, "").replace("|", "\\|")
        lines.append(f"| `{f.name}` | `{shown}` | {meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - regenerates the docs table
    print(options_markdown())
