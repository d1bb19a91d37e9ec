"""The registry of the analysis frame's variables: one declaration per column.

:func:`reinfuse.derive.derive` returns one row per infusion. Its columns are declared here,
once: the input columns carried through (taken from the cohort format,
:mod:`reinfuse.schema.cohort_v1`, the single source of truth for them), the
``<column>_derived`` / ``<column>_derived_from`` pairs that reconciliation adds beside each
summary column that raw observation sheets determine, and every derived variable, with its
dtype family, unit, the columns and variables it depends on, the ``DeriveOptions`` fields it
uses, the criterion and publication it applies, and a description.

From this registry come: the check at the end of ``derive`` (:func:`frame_problems`), the
variable names ``reinfuse plan --check`` accepts (:func:`frame_names`),
``docs/derived-variables.md`` (:func:`variables_markdown`) and the definitions the methods
text prints (:func:`topics_of`, :data:`ENDPOINTS`).

Time-to-event endpoints are declared as data (:class:`Endpoint`), in the manner of
admiral's ``derive_param_tte``: a start date, event sources and censoring sources, each
source switched on or off by a ``DeriveOptions`` field. The same declaration computes the
time and event columns in ``derive`` and writes the methods sentence
(:meth:`Endpoint.sentence`), so the text cannot say other than what was computed.

This module is a leaf: it imports only :mod:`reinfuse.schema`, :mod:`reinfuse.options` and
:mod:`reinfuse.errors`.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Literal

import pandas as pd

from reinfuse.options import DeriveOptions, option_docs
from reinfuse.schema import INFUSIONS, PATIENTS, Column

DtypeFamily = Literal["boolean", "integer", "float", "text", "datetime"]
Origin = Literal["input", "reconciled", "derived"]

#: Topics of the definitions the methods text prints (report/_text.py), by name.
Topic = Literal["marrow", "mrd", "cns", "response", "ld", "crs", "neurotox", "remission",
                "efs", "os"]

SEED = "seed study (same-product CAR T reinfusion, B-ALL)"
ASTCT = "ASTCT consensus (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638)"


@dataclass(frozen=True)
class Variable:
    """One column of the analysis frame.

    Attributes
    ----------
    name
        Column name.
    dtype
        pandas dtype family: ``boolean`` (nullable or numpy bool), ``integer``, ``float``,
        ``text`` (string or category), ``datetime``.
    description
        What the column holds, in one paragraph.
    unit
        Unit of measure ('' when none).
    depends_on
        Input columns and other variables it is computed from.
    options
        ``DeriveOptions`` fields it uses.
    source
        The criterion (``reinfuse.criteria.<module>``) and the publication it applies.
    topics
        Definitions the methods text must print when the variable is reported.
    origin
        ``input`` (a cohort column), ``reconciled`` (added by reconciliation) or
        ``derived``.
    always
        Present in every analysis frame (False: optional input columns, reconciliation
        pairs, which exist only with their sheet).
    """

    name: str
    dtype: DtypeFamily
    description: str
    unit: str = ""
    depends_on: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    source: str = ""
    topics: tuple[Topic, ...] = ()
    origin: Origin = "derived"
    always: bool = True


# --- time-to-event endpoints, declared as data --------------------------------------------

@dataclass(frozen=True)
class DateSource:
    """A date an endpoint can start, end or be censored at (one per infusion row)."""

    name: str
    depends_on: tuple[str, ...]
    description: str


#: The dates ``derive`` computes for the endpoints (it checks it computes exactly these).
ENDPOINT_DATES: tuple[DateSource, ...] = (
    DateSource("infusion", ("date",), "the infusion date (day 0)"),
    DateSource("response", ("response_date",), "the date the best response was documented"),
    DateSource("relapse", ("first_relapse_date",),
               "the first relapse recorded on this or a later infusion's row"),
    DateSource("death", ("death_date",), "the patient's death (any row)"),
    DateSource("last_contact", ("last_followup_date", "death_date"),
               "the patient's last follow-up (latest on any row), for a patient not known "
               "to have died (a death ends follow-up)"),
    DateSource("hsct", ("hsct_date",), "a consolidative transplant after the infusion"),
    DateSource("next_infusion", ("date",), "the patient's next infusion (new treatment)"),
)


@dataclass(frozen=True)
class EventSource:
    """An event or censoring source of an endpoint.

    Attributes
    ----------
    date
        Name of a :data:`ENDPOINT_DATES` date.
    phrase
        How the methods text names it.
    option
        A boolean ``DeriveOptions`` field that switches the source on (None: always on).
    when
        A boolean variable: the source applies only on rows where it is true.
    """

    date: str
    phrase: str
    option: str | None = None
    when: str | None = None


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


@dataclass(frozen=True)
class Endpoint:
    """A time-to-event endpoint: from a start date to the first event or censoring.

    Each row is followed from ``start`` to the earliest date among the active event and
    censoring sources; it has an event when that earliest date is an event's (an event
    and a censoring on the same day count as the event). Time and event are missing when
    no source has a date, and outside ``population``.

    Attributes
    ----------
    name
        Short name (``remission``, ``efs``, ``os``).
    title
        Name in the methods text.
    time, event
        The columns ``derive`` writes: days from ``start``, and whether the stop is an event.
    start, start_phrase
        The start date (a :data:`ENDPOINT_DATES` name) and how the text names it.
    events, censors
        Event and censoring sources.
    population
        A boolean variable: only its true rows enter (None: every row).
    source
        The definition applied, with its citation.
    """

    name: str
    title: str
    time: str
    event: str
    start: str
    start_phrase: str
    events: tuple[EventSource, ...]
    censors: tuple[EventSource, ...]
    population: str | None = None
    source: str = ""

    def active(self, options: DeriveOptions
               ) -> tuple[tuple[EventSource, ...], tuple[EventSource, ...]]:
        """The event and censoring sources the options switch on."""
        def on(source: EventSource) -> bool:
            return source.option is None or bool(getattr(options, source.option))

        return (tuple(s for s in self.events if on(s)),
                tuple(s for s in self.censors if on(s)))

    def censoring_phrase(self, options: DeriveOptions) -> str:
        """Where the endpoint is censored, e.g. ``"last follow-up or the next infusion,
        whichever came first"``."""
        points = [s.phrase for s in self.active(options)[1]]
        if not points:
            return "never (no censoring source)"
        if len(points) == 1:
            return points[0]
        return f"{_either(points)}, whichever came first"

    def sentence(self, options: DeriveOptions) -> str:
        """The methods clause: start, events and censoring, from the active sources.

        Examples
        --------
        >>> ENDPOINTS["os"].sentence(DeriveOptions())
        'overall survival from the infusion to death from any cause, censored at last follow-up'
        """
        events, _ = self.active(options)
        day0 = [s.phrase for s in events if s.date == self.start]
        later = [s.phrase for s in events if s.date != self.start]
        text = f"{self.title} from {self.start_phrase}"
        if day0:
            text += f", with {_either(day0)} an event at day 0 and otherwise {_either(later)} " \
                    "the event"
        else:
            text += f" to {_either(later)}"
        return f"{text}, censored at {self.censoring_phrase(options)}"

    def depends_on(self) -> tuple[str, ...]:
        """Columns and variables the endpoint reads, in declaration order."""
        dates = {d.name: d.depends_on for d in ENDPOINT_DATES}
        names: list[str] = list(dates[self.start])
        if self.population:
            names.append(self.population)
        for source in self.events + self.censors:
            names += dates[source.date]
            if source.when:
                names.append(source.when)
        return tuple(dict.fromkeys(names))

    def options(self) -> tuple[str, ...]:
        """The ``DeriveOptions`` fields that switch its sources."""
        return tuple(dict.fromkeys(s.option for s in self.events + self.censors if s.option))


_HSCT = EventSource("hsct", "a consolidative HSCT (when its date is recorded)",
                    option="censor_at_hsct")
_NEXT = EventSource("next_infusion", "the next infusion", option="censor_at_next_infusion")
_LAST = EventSource("last_contact", "last follow-up")

#: The time-to-event endpoints ``derive`` computes, by name.
ENDPOINTS: Mapping[str, Endpoint] = {e.name: e for e in (
    Endpoint("remission", "duration of remission", "remission_days", "remission_event",
             "response", "the first documented CR",
             events=(EventSource("relapse", "relapse"),),
             censors=(EventSource("death", "death"), _LAST, _HSCT, _NEXT),
             population="complete_response",
             source=f"clinical-definitions 'Response' (duration of remission); {SEED}"),
    Endpoint("efs", "event-free survival", "efs_days", "efs_event",
             "infusion", "the infusion",
             events=(EventSource("infusion", "no CR", when="not_in_cr"),
                     EventSource("relapse", "relapse"), EventSource("death", "death")),
             censors=(_LAST, _HSCT, _NEXT),
             source="no CR as an event at day 0 (the usual convention for induction "
                    "failure in ALL), then relapse or death"),
    Endpoint("os", "overall survival", "followup_days", "death_event",
             "infusion", "the infusion",
             events=(EventSource("death", "death from any cause"),), censors=(_LAST,),
             source="overall survival from the infusion (death from any cause)"),
)}


# --- the registry ---------------------------------------------------------------------------

_KIND_DTYPE: dict[str, DtypeFamily] = {
    "text": "text", "integer": "integer", "number": "float", "yesno": "boolean",
    "code": "text", "codelist": "text", "date": "datetime"}

#: Topics of input columns whose reporting needs a definition in the methods text.
_INPUT_TOPICS: dict[str, tuple[Topic, ...]] = {
    "ld_regimen": ("ld",), "ld_fludarabine_mg_m2": ("ld",),
    "ld_cyclophosphamide_mg_m2": ("ld",), "ld_cytarabine_mg_m2": ("ld",),
    "pre_marrow_blasts_pct": ("marrow",), "pre_marrow_mrd_pct": ("marrow", "mrd"),
    "best_response": ("response",), "best_response_mrd_pct": ("response", "mrd"),
    "response_date": ("response",), "crs_grade": ("crs",), "neurotox_grade": ("neurotox",),
    "neurotox_scale": ("neurotox",),
}

#: Summary columns of ``infusions`` that each raw observation sheet determines
#: (:mod:`reinfuse.reconcile`); each gets ``<column>_derived`` and ``<column>_derived_from``.
RECONCILED: Mapping[str, tuple[str, ...]] = {
    "crs_observations": ("crs_grade",),
    "icans_observations": ("neurotox_grade",),
    "car_counts": ("peak_car_per_ul",),
    "disease_assessments": (
        "pre_marrow_blasts_pct", "pre_marrow_mrd_pct", "pre_csf_wbc_per_ul",
        "pre_csf_rbc_per_ul", "pre_csf_blasts", "pre_csf_flow_positive",
        "pre_cns_clinical_signs", "pre_emd", "best_response", "best_response_mrd_pct",
        "response_date", "relapse_date"),
    "antigen_samples": ("abc_cd19_pre", "abc_cd22_pre", "antigen_after"),
}


def _input(column: Column, table: str) -> Variable:
    return Variable(column.name, _KIND_DTYPE[column.kind], column.meaning, unit=column.unit,
                    source=f"cohort format v1, sheet '{table}'",
                    topics=_INPUT_TOPICS.get(column.name, ()), origin="input",
                    always=not column.optional)


def input_variables() -> tuple[Variable, ...]:
    """The cohort columns the frame carries: ``infusions``, then ``patients`` (one key)."""
    out = [_input(c, "infusions") for c in INFUSIONS.columns]
    out += [_input(c, "patients") for c in PATIENTS.columns if c.name not in INFUSIONS.names]
    return tuple(out)


def reconciled_variables() -> tuple[Variable, ...]:
    """The ``<column>_derived`` / ``<column>_derived_from`` pairs, for every sheet."""
    inputs = {v.name: v for v in input_variables()}
    out = []
    for sheet, columns in RECONCILED.items():
        for name in columns:
            base = inputs[name]
            out.append(Variable(
                f"{name}_derived", base.dtype,
                f"`{name}` as derived from the `{sheet}` sheet (empty where nothing could "
                "be derived).", unit=base.unit, depends_on=(name, sheet),
                options=("prefer",), source="reinfuse.reconcile", topics=base.topics,
                origin="reconciled", always=False))
            out.append(Variable(
                f"{name}_derived_from", "text",
                f"The `{sheet}` observation that decided `{name}_derived` (day, rule, "
                "sheet row).", depends_on=(sheet,), source="reinfuse.reconcile",
                topics=base.topics, origin="reconciled", always=False))
    return tuple(out)


def _v(name: str, dtype: DtypeFamily, description: str, *, unit: str = "",
       depends_on: tuple[str, ...] = (), options: tuple[str, ...] = (), source: str = "",
       topics: tuple[Topic, ...] = ()) -> Variable:
    return Variable(name, dtype, description, unit=unit, depends_on=depends_on,
                    options=options, source=source, topics=topics)


_CNS_OPTIONS = ("cns_wbc_threshold", "traumatic_tap", "unknown_csf_flow",
                "unknown_circulating_blasts", "unrecorded_csf_rbc")
_PREVIOUS = "the patient's previous infusion (empty on the first)"
_ENDPOINT_TOPIC: dict[str, tuple[Topic, ...]] = {
    "remission": ("response", "remission"), "efs": ("response", "efs"), "os": ("os",)}


def _endpoint_variables(endpoint: Endpoint) -> tuple[Variable, Variable]:
    where = (f" Only for rows with `{endpoint.population}`; empty otherwise."
             if endpoint.population else "")
    source = f"reinfuse.variables.ENDPOINTS['{endpoint.name}']; {endpoint.source}"
    sentence = endpoint.sentence(DeriveOptions())
    time = Variable(endpoint.time, "float", f"Days: {sentence} (default options).{where}",
                    unit="days", depends_on=endpoint.depends_on(),
                    options=endpoint.options(), source=source,
                    topics=_ENDPOINT_TOPIC[endpoint.name])
    event = dataclasses.replace(
        time, name=endpoint.event, dtype="boolean", unit="",
        description=f"Whether the {endpoint.title} time ends in an event rather than a "
                    f"censoring; empty when no date is known.{where}")
    return time, event


def _derived() -> tuple[Variable, ...]:
    remission, efs, os_ = (_endpoint_variables(ENDPOINTS[n]) for n in ("remission", "efs",
                                                                          "os"))
    return (
        _v("n_infusions", "integer", "Infusions the patient received.", unit="infusions",
           depends_on=("patient_id", "infusion")),
        _v("marrow_class_pre", "text",
           "Marrow before the infusion: MRD-negative CR / M1 (< 5% blasts) / M2 (5-25%) / "
           "M3 (> 25%); an M1 marrow with flow MRD below `mrd_negative_below` is "
           "MRD-negative CR.", depends_on=("pre_marrow_blasts_pct", "pre_marrow_mrd_pct"),
           options=("mrd_negative_below", "unknown_mrd"),
           source="reinfuse.criteria.marrow.marrow_class; clinical-definitions 'Bone "
                  "marrow, CNS and MRD status'", topics=("marrow", "mrd")),
        _v("marrow_group_pre", "text", "`marrow_class_pre` with M2 and M3 merged, as the "
           "seed study's Table 2 prints it.", depends_on=("marrow_class_pre",),
           source=f"{SEED}, Table 2", topics=("marrow", "mrd")),
        _v("cns_status_pre", "text",
           "CNS status before the infusion: CNS1 / CNS1 flow+ / CNS2 / CNS3, from the CSF "
           "white cells, blasts, flow cytometry and clinical signs (a blank sign is none "
           "recorded). The infusions sheet records no blood counts, so the Steinherz-Bleyer "
           "traumatic-tap correction applies only with `traumatic_tap = \"always\"`.",
           depends_on=("pre_csf_wbc_per_ul", "pre_csf_blasts", "pre_csf_flow_positive",
                       "pre_cns_clinical_signs", "pre_csf_rbc_per_ul"),
           options=_CNS_OPTIONS, source="reinfuse.criteria.cns.cns_status; "
           "clinical-definitions 'Bone marrow, CNS and MRD status' (COG)", topics=("cns",)),
        _v("objective_response", "boolean", "Best response CR, CRi or PR (NE is unknown).",
           depends_on=("best_response",),
           source=f"reinfuse.criteria.response.objective_response; {SEED}",
           topics=("response",)),
        _v("complete_response", "boolean", "Best response CR (or CRi, with "
           "`cri_counts_as_cr`: the seed study's morphologic CR).",
           depends_on=("best_response",), options=("cri_counts_as_cr",),
           source="reinfuse.criteria.response.complete_response", topics=("response",)),
        _v("mrd_negative_cr", "boolean", "Complete response with MRD at best response below "
           "`mrd_negative_below`.", depends_on=("best_response", "best_response_mrd_pct"),
           options=("mrd_negative_below", "cri_counts_as_cr"),
           source="reinfuse.criteria.response.mrd_negative_cr", topics=("mrd",)),
        _v("not_in_cr", "boolean", "Not `complete_response` (unknown stays unknown).",
           depends_on=("complete_response",), source="reinfuse.criteria.response",
           topics=("response",)),
        _v("ld_class", "text", "Lymphodepletion: `ld_regimen`, or, when it is blank, the "
           "class of the drug course totals by the centre's `ld_standard_totals` / "
           "`ld_intensified_totals`.",
           depends_on=("ld_regimen", "ld_fludarabine_mg_m2", "ld_cyclophosphamide_mg_m2",
                       "ld_cytarabine_mg_m2"),
           options=("ld_standard_totals", "ld_intensified_totals", "ld_flag_fludarabine",
                    "ld_tolerance"),
           source=f"reinfuse.criteria.lymphodepletion.classify_regimen; {SEED}, Methods",
           topics=("ld",)),
        _v("ld_intensified", "boolean", "`ld_class` is intensified.",
           depends_on=("ld_class",), source="reinfuse.criteria.lymphodepletion",
           topics=("ld",)),
        _v("ld_pair", "text", "Lymphodepletion at the previous infusion -> at this one.",
           depends_on=("ld_class",),
           source="reinfuse.criteria.lymphodepletion.regimen_pair", topics=("ld",)),
        _v("dose_change", "text", "Cell dose per kg equal / lower / higher than at "
           f"{_PREVIOUS}; equal within `dose_tolerance`.", depends_on=("dose_per_kg",),
           options=("dose_tolerance",), source=f"{SEED}, Methods"),
        _v("days_since_previous", "float", f"Days since {_PREVIOUS}.", unit="days",
           depends_on=("date",)),
        _v("previous_best_response", "text", f"`best_response` at {_PREVIOUS}.",
           depends_on=("best_response",), topics=("response",)),
        _v("previous_complete_response", "boolean", f"`complete_response` at {_PREVIOUS}.",
           depends_on=("complete_response",), topics=("response",)),
        _v("first_relapse_date", "datetime", "The first relapse recorded on this or a later "
           "infusion's row (for swimmer plots; remission is censored at the next infusion).",
           depends_on=("relapse_date",)),
        *remission,
        _v("remission_end", "text", "What ended the duration of remission: `relapse` (the "
           "event), or the censoring that came first: `death`, `hsct` (consolidative "
           "transplant), `next_infusion`, `last_contact` (as the options switch them on). "
           "The cause of a cumulative incidence with competing risks ([[analyses]] kind "
           "`cumulative_incidence`).", depends_on=remission[0].depends_on,
           options=remission[0].options, source=remission[0].source,
           topics=("remission",)),
        *efs, *os_,
        _v("relapse_phenotype", "text", "For relapses: \"antigen escape, CAR persistent\" "
           "(CAR T cells present, antigen lost or dim), \"CAR loss, antigen preserved\", "
           "else \"other\".", depends_on=("relapse_date", "relapse_antigen", "car_at_relapse"),
           options=("antigen_loss_statuses",), source=f"{SEED}, Results"),
        _v("antigen_loss_after", "boolean", "`antigen_after` is one of "
           "`antigen_loss_statuses` (dim or negative).", depends_on=("antigen_after",),
           options=("antigen_loss_statuses",),
           source="clinical-definitions 'Antigen density'"),
        _v("abc_cd19_change", "float", f"Change in CD19 antigen binding capacity since "
           f"{_PREVIOUS}.", unit="molecules/cell", depends_on=("abc_cd19_pre",),
           source="clinical-definitions 'Antigen density'"),
        _v("abc_cd22_change", "float", f"Change in CD22 antigen binding capacity since "
           f"{_PREVIOUS}.", unit="molecules/cell", depends_on=("abc_cd22_pre",),
           source="clinical-definitions 'Antigen density'"),
        _v("relapse_site_group", "text", "For relapses: CNS (any CNS involvement) / marrow "
           "and EMD / marrow only / EMD only (else unknown).",
           depends_on=("relapse_date", "relapse_sites"), source=f"{SEED}, Table 2"),
        _v("antigen_increased", "boolean", "CD19 or CD22 antigen binding capacity higher "
           "than before the previous infusion.",
           depends_on=("abc_cd19_change", "abc_cd22_change"),
           source="clinical-definitions 'Antigen density'"),
        _v("prior_immunotherapy", "boolean", "Blinatumomab or inotuzumab before the first "
           "study infusion (yes if either is yes, no if both are no).",
           depends_on=("prior_blinatumomab", "prior_inotuzumab"), source=f"{SEED}, Table 1"),
        _v("prior_car_any", "boolean", "Any CAR T product received elsewhere before.",
           depends_on=("prior_car",), source=f"{SEED}, Table 1"),
        _v("mrd_positive_cr", "boolean", "Complete response that is not MRD-negative.",
           depends_on=("complete_response", "mrd_negative_cr"),
           source="reinfuse.criteria.response", topics=("mrd",)),
        _v("crs_any", "boolean", "CRS of any grade (>= 1).", depends_on=("crs_grade",),
           source=ASTCT, topics=("crs",)),
        _v("crs_severe", "boolean", "Severe CRS (grade >= 3).", depends_on=("crs_grade",),
           source=ASTCT, topics=("crs",)),
        _v("neurotox_any", "boolean", "Neurotoxicity of any grade (>= 1).",
           depends_on=("neurotox_grade",), topics=("neurotox",)),
        _v("neurotox_severe", "boolean", "Severe neurotoxicity by the scale of the grade: "
           "CTCAE grade >= `severe_neurotox_min_grade_ctcae` (4: the seed study's \"> grade "
           "3\"), ICANS grade >= `severe_neurotox_min_grade_icans` (3, ASTCT severe ICANS); "
           "with an unknown scale, severe or not only when both rules agree.",
           depends_on=("neurotox_grade", "neurotox_scale"),
           options=("severe_neurotox_min_grade_ctcae", "severe_neurotox_min_grade_icans",
                    "neurotox_scale_default"),
           source=f"CTCAE v5 ({SEED}); {ASTCT}", topics=("neurotox",)),
        _v("neurotox_severe_scale", "text", "The scale `neurotox_severe` used: "
           "`neurotox_scale`, or `neurotox_scale_default` when blank (empty without a "
           "grade).", depends_on=("neurotox_grade", "neurotox_scale"),
           options=("neurotox_scale_default",), topics=("neurotox",)),
        _v("previous_crs_any", "boolean", f"`crs_any` at {_PREVIOUS}.",
           depends_on=("crs_any",), topics=("crs",)),
        _v("previous_neurotox_any", "boolean", f"`neurotox_any` at {_PREVIOUS}.",
           depends_on=("neurotox_any",), topics=("neurotox",)),
        _v("expansion_detected", "boolean", "CAR T cells detected after the infusion, in "
           "blood (peak above zero) or in the CSF (the seed study's \"expansion\").",
           depends_on=("peak_car_per_ul", "csf_car_detected"), source=f"{SEED}, Results"),
        _v("mod_intensified_ld", "boolean", "On reinfusions: lymphodepletion intensified "
           "from the previous infusion.", depends_on=("ld_class",),
           source=f"{SEED}, Methods; Figure 1A", topics=("ld",)),
        _v("mod_higher_dose", "boolean", "On reinfusions: a higher cell dose than at the "
           "previous infusion.", depends_on=("dose_change",),
           source=f"{SEED}, Methods; Figure 1A"),
        _v("mod_lower_burden", "boolean", "On reinfusions: lower disease burden (flow MRD, "
           "else marrow blasts) than before the previous infusion.",
           depends_on=("pre_marrow_blasts_pct", "pre_marrow_mrd_pct"),
           source=f"{SEED}, Methods; Figure 1A", topics=("marrow",)),
        _v("any_modification", "boolean", "On reinfusions: any of the three modifications "
           "(unknown unless one is known or all are known absent).",
           depends_on=("mod_intensified_ld", "mod_higher_dose", "mod_lower_burden"),
           source=f"{SEED}, Methods"),
        _v("no_modification", "boolean", "On reinfusions: none of the three modifications.",
           depends_on=("mod_intensified_ld", "mod_higher_dose", "mod_lower_burden"),
           source=f"{SEED}, Methods"),
        _v("modifications", "text", "On reinfusions: the modifications made, '; '-separated "
           "(\"none\" only when every one is known absent).",
           depends_on=("mod_intensified_ld", "mod_higher_dose", "mod_lower_burden"),
           source=f"{SEED}, Methods"),
        _v("seed_eligible", "boolean", "On reinfusions: the seed study's reinfusion criteria "
           "met, applied to the previous infusion's response, relapse and expansion and to "
           "the modifications made.",
           depends_on=("best_response", "relapse_date", "expansion_detected",
                       "mod_intensified_ld", "mod_higher_dose", "mod_lower_burden",
                       "interim_therapy"),
           source=f"reinfuse.criteria.eligibility.reinfusion_eligibility; {SEED}",
           topics=("marrow", "response", "ld")),
        _v("seed_indication", "text", "On reinfusions: the indication of the seed criteria "
           "(relapse after CR, or suboptimal response with expansion).",
           depends_on=("seed_eligible",),
           source="reinfuse.criteria.eligibility.reinfusion_eligibility",
           topics=("marrow", "response", "ld")),
        _v("seed_reason", "text", "On reinfusions: why the seed criteria are met or not.",
           depends_on=("seed_eligible",),
           source="reinfuse.criteria.eligibility.reinfusion_eligibility",
           topics=("marrow", "response", "ld")),
    )


#: Every derived variable, in the order ``derive`` adds them.
DERIVED: tuple[Variable, ...] = _derived()


def registry() -> tuple[Variable, ...]:
    """All columns the analysis frame may have: inputs, reconciliation pairs, derived."""
    return input_variables() + reconciled_variables() + DERIVED


def frame_names() -> tuple[str, ...]:
    """Names a plan may use (every column the analysis frame may have)."""
    return tuple(v.name for v in registry())


def variable(name: str) -> Variable:
    """The declaration of ``name``.

    Raises
    ------
    KeyError
        When the analysis frame has no such column.
    """
    for item in registry():
        if item.name == name:
            return item
    raise KeyError(name)


def topics_of(names: Iterable[str]) -> set[Topic]:
    """The definitions the methods text needs for the variables ``names`` (unknown: none)."""
    declared = {v.name: v.topics for v in registry()}
    return {topic for name in names for topic in declared.get(name, ())}


# --- the check at the end of derive --------------------------------------------------------

def _family(dtype: object) -> DtypeFamily | None:
    api = pd.api.types
    if isinstance(dtype, pd.CategoricalDtype) or api.is_string_dtype(dtype):
        return "text"
    if api.is_bool_dtype(dtype):
        return "boolean"
    if api.is_integer_dtype(dtype):
        return "integer"
    if api.is_float_dtype(dtype):
        return "float"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    return None


def frame_problems(frame: pd.DataFrame, *, inputs: bool = True,
                   extra: Iterable[str] = ()) -> list[str]:
    """How ``frame``'s columns and dtypes differ from the registry ([] when they agree).

    Every column must be declared, every ``always`` column present, each reconciliation
    pair complete, and each dtype of the declared family (``inputs=False`` checks the
    dtypes of reconciled and derived columns only). ``extra`` names the cohort's own
    columns outside the format (kept, never analysed), which are carried through.
    """
    declared = {v.name: v for v in registry()}
    present = set(frame.columns)
    carried = set(extra)
    problems = [f"column '{c}' is not declared in reinfuse.variables" for c in frame.columns
                if c not in declared and c not in carried]
    problems += [f"declared column '{v.name}' is missing" for v in declared.values()
                 if v.always and v.name not in present]
    problems += [f"'{c}' without '{c}_from'" for c in present
                 if declared.get(c, DERIVED[0]).origin == "reconciled"
                 and not c.endswith("_from") and f"{c}_from" not in present]
    for name in frame.columns:
        item = declared.get(name)
        if item is None or (item.origin == "input" and not inputs):
            continue
        family = _family(frame[name].dtype)
        if family != item.dtype:
            problems.append(f"'{name}' is {frame[name].dtype} ({family}), declared "
                            f"{item.dtype}")
    return problems


# --- docs/derived-variables.md ---------------------------------------------------------------

_INTRO = """\
# The analysis frame

<!-- Generated by `python -m reinfuse.variables > docs/derived-variables.md` from the
registry in src/reinfuse/variables.py; a test keeps the two equal. Do not edit by hand. -->

`reinfuse.derive.derive(cohort)` builds one row per infusion, sorted by patient and
infusion number: every column of the `infusions` sheet (after reconciliation with any raw
observation sheets), the patient's columns from `patients`, and the derived columns below
(the analysis plan refers to them by name; `reinfuse plan --check` accepts exactly these
names). Each derivation applies a criterion of `reinfuse.criteria`, whose docstring cites
its standard; the definitional choices are `DeriveOptions` (set them in the plan's
`[plan.derive]`). The columns and their dtypes are declared once, in `reinfuse.variables`;
`derive` checks its output against that registry.

When the cohort has raw observation sheets, each summary column they determine
({reconciled}) holds the value used (the recorded one by default, see validation.md), and
beside it `<column>_derived` holds the value derived from the observations (same dtype)
and `<column>_derived_from` the observation that decided it (day, rule, sheet row); both
are empty where nothing could be derived.

The input columns are described in cohort-format.md. Dtype families: boolean (nullable:
empty is unknown), integer, float, text, datetime.
"""

_ENDPOINTS_TEXT = """\
## Time-to-event endpoints

Each endpoint is declared as data (`reinfuse.variables.ENDPOINTS`): a start date, event
sources and censoring sources, each source switched on by a `DeriveOptions` field. A row
is followed from its start to the earliest date among the active sources; it has an event
when that date is an event's (an event and a censoring on the same day count as the
event); time and event are empty when no date is known. The same declaration computes the
columns and writes the methods sentence. With the default options:
"""

#: Options sections of the generated page: heading, option names, closing prose.
_OPTION_SECTIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("## Options (`[plan.derive]`)",
     ("mrd_negative_below", "cns_wbc_threshold", "cri_counts_as_cr", "antigen_loss_statuses",
      "dose_tolerance", "severe_neurotox_min_grade_ctcae", "severe_neurotox_min_grade_icans",
      "neurotox_scale_default", "censor_at_next_infusion", "censor_at_hsct"), ""),
    ("### CRS and ICANS grading (raw observation sheets, `reinfuse grade`)\n\n"
     "Defaults are the ASTCT consensus (Lee et al., Biol Blood Marrow Transplant\n"
     "2019;25:625-638).",
     ("fever_c", "low_flow_max_l_min", "hfnc_at_low_rate", "capd_age_below",
      "sedation_excludes_scores"),
     "Blank cells of `crs_observations` and `icans_observations` are unknown, never \"no\": "
     "a\nrow is graded only where no value of its blanks could change its grade, otherwise "
     "it is\nleft ungraded and the rule names the blank (see `docs/cohort-format.md`). "
     "Therapy given\nonly as premedication before CRS began (`anticytokine_or_antipyretic = "
     "premedication`)\ndoes not waive the fever requirement; a nasal cannula or blow-by at "
     "0 L/min is no oxygen."),
    ("### Disease assessments, CNS, response, relapse and lymphodepletion\n\n"
     "These options apply to `derive` (from the `infusions` sheet) and to the "
     "reconciliation of\nthe `disease_assessments` sheet (`reinfuse.criteria.assessments`);"
     " each is an ambiguity of\nthe published definitions, with its default stated.",
     ("pre_window_days", "response_window_days", "traumatic_tap",
      "unknown_circulating_blasts", "unrecorded_csf_rbc", "unknown_csf_flow", "unknown_mrd",
      "mrd_from", "unassessed_cns_signs", "count_recovery_anc", "count_recovery_platelets",
      "missing_counts", "companion_days", "site_findings", "unassessed_sites",
      "unknown_baseline_sites", "csf_flow_blocks_cr", "pd_increase", "response_tie_break",
      "mrd_negative_cr_from", "pr_count_recovery", "relapse_marrow", "mrd_relapse",
      "relapse_sites_within_days", "ld_standard_totals", "ld_intensified_totals",
      "ld_flag_fludarabine", "ld_tolerance"), ""),
    ("### Reconciliation of raw observations", ("prefer", "observation_window_days"), ""),
    ("### Antigen density from FCS files (`antigen_samples`, docs/antigen-density.md)",
     ("antigen_measure", "antigen_gates", "antigen_statistic", "antigen_min_blasts",
      "antigen_negative_below", "antigen_dim_below", "antigen_negative_majority",
      "antigen_agreement"), ""),
)


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(" ".join(text.split()), 88, initial_indent=indent,
                         subsequent_indent=indent, break_on_hyphens=False,
                         break_long_words=False)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def variables_markdown() -> str:
    """``docs/derived-variables.md``: the registry, endpoints and options as Markdown.

    A test keeps the committed file equal to this text; regenerate it with
    ``python -m reinfuse.variables > docs/derived-variables.md``.
    """
    reconciled = ", ".join(f"`{c}`" for cs in RECONCILED.values() for c in cs)
    intro = _INTRO.split("\n\n")
    intro[3] = _wrap(intro[3].replace("{reconciled}", reconciled))
    lines = ["\n\n".join(intro), "## Derived variables", "",
             "| name | dtype | unit | depends on | options | source | description |",
             "|---|---|---|---|---|---|---|"]
    for v in DERIVED:
        lines.append(f"| `{v.name}` | {v.dtype} | {v.unit} | {_cell(_names(v.depends_on))} "
                     f"| {_cell(_names(v.options))} "
                     f"| {_cell(v.source or 'plain definition (reinfuse.derive)')} "
                     f"| {_cell(v.description)} |")
    lines += ["", _ENDPOINTS_TEXT]
    for endpoint in ENDPOINTS.values():
        switches = [f"`{s.option}`: {s.phrase}" for s in endpoint.events + endpoint.censors
                    if s.option]
        lines.append(f"- `{endpoint.time}`, `{endpoint.event}` ({endpoint.name}): "
                     f"{endpoint.sentence(DeriveOptions())}."
                     + (f" Switched by {'; '.join(switches)}." if switches else ""))
    docs = option_docs()
    for heading, names, closing in _OPTION_SECTIONS:
        lines += ["", heading, ""]
        i = 0
        while i < len(names):  # options documented together are listed together
            run = [names[i]]
            while i + len(run) < len(names) and docs[names[i + len(run)]] == docs[names[i]]:
                run.append(names[i + len(run)])
            lines += [", ".join(run), _wrap(docs[names[i]].replace("``", "`"), "    ")]
            i += len(run)
        if closing:
            lines += ["", closing]
    return "\n".join(lines) + "\n"


def _unlisted_options() -> list[str]:
    listed = {n for _, names, _ in _OPTION_SECTIONS for n in names}
    return [f.name for f in fields(DeriveOptions) if f.name not in listed]


if __name__ == "__main__":  # pragma: no cover - regenerates the docs page
    print(variables_markdown(), end="")
