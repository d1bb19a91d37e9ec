"""The cohort format, version 1: the single source of truth for reading, validation,
the template workbook and the documentation (``docs/cohort-format.md`` is generated from it).
"""

from __future__ import annotations

from reinfuse.schema._model import CohortFormat, Column, ColumnKind, Table
from reinfuse.vocabulary import (
    ANTICYTOKINE_OR_ANTIPYRETIC,
    ANTICYTOKINE_SYNONYMS,
    ASSESSMENT_TOOLS,
    CEREBRAL_EDEMA,
    CONSCIOUSNESS_LEVELS,
    DISEASE_ASSESSMENT_RANGES,
    HYPOTENSION_LEVELS,
    OXYGEN_SUPPORT,
    RESPONSE_CODES,
    RESPONSE_SYNONYMS,
    SEIZURE_TYPES,
)

YESNO: ColumnKind = "yesno"

TARGETS = ("CD19", "CD22", "CD19/CD22", "other")
_TARGET_SYNONYMS = {
    "cd19/22": "CD19/CD22",
    "cd19_cd22": "CD19/CD22",
    "cd19/cd22": "CD19/CD22",
    "cd19_22": "CD19/CD22",
    "cd19+cd22": "CD19/CD22",
    "bispecific": "CD19/CD22",
}
ANTIGEN_STATUS = ("positive", "dim", "negative")
_ANTIGEN_SYNONYMS = {"pos": "positive", "+": "positive", "neg": "negative", "-": "negative",
                     "low": "dim", "partial": "dim"}
LD_REGIMENS = ("standard", "intensified", "flag", "other", "none")
INDICATIONS = ("persistent_disease", "relapse", "relapse_prevention")
RELAPSE_SITES = ("marrow", "cns", "emd")
STATUS_BEFORE_FIRST = ("primary_refractory", "relapsed", "relapsed_refractory",
                       "mrd_positive", "extramedullary_only", "other")
OFF_STUDY_REASONS = ("study_completed", "death", "progressive_disease", "alternative_therapy",
                     "hsct", "withdrawal", "lost_to_follow_up", "investigator_decision",
                     "other")
BCELL_STATUS = ("aplasia", "recovery")


PATIENTS = Table(
    name="patients",
    meaning="One row per patient.",
    key=("patient_id",),
    columns=(
        Column("patient_id", "text", "Study identifier (never an MRN or a name).",
               required=True, unique=True),
        Column("sex", "code", "Sex.", codes=("M", "F", "unknown"),
               synonyms={"male": "M", "female": "F", "man": "M", "woman": "F", "boy": "M",
                         "girl": "F", "u": "unknown", "unk": "unknown",
                         "not_reported": "unknown"}),
        Column("race", "code", "Race.",
               codes=("white", "black", "asian", "american_indian_alaska_native",
                      "native_hawaiian_pacific_islander", "multiple", "unknown"),
               synonyms={"caucasian": "white", "black_or_african_american": "black",
                         "african_american": "black",
                         "american_indian_or_alaska_native": "american_indian_alaska_native",
                         "native_hawaiian_or_other_pacific_islander":
                             "native_hawaiian_pacific_islander",
                         "pacific_islander": "native_hawaiian_pacific_islander",
                         "more_than_one_race": "multiple", "multiracial": "multiple",
                         "not_reported": "unknown", "unk": "unknown", "other": "unknown"}),
        Column("ethnicity", "code", "Ethnicity.", codes=("hispanic", "non_hispanic", "unknown"),
               synonyms={"hispanic_or_latino": "hispanic", "latino": "hispanic",
                         "not_hispanic": "non_hispanic",
                         "not_hispanic_or_latino": "non_hispanic", "nonhispanic": "non_hispanic",
                         "not_reported": "unknown", "unk": "unknown"}),
        Column("prior_lines", "integer", "Lines of therapy before the first study infusion.",
               minimum=0),
        Column("prior_hsct", "integer", "Number of prior stem cell transplants.", minimum=0),
        Column("prior_blinatumomab", YESNO, "Blinatumomab before the first study infusion."),
        Column("prior_inotuzumab", YESNO,
               "Inotuzumab ozogamicin before the first study infusion."),
        Column("prior_car", "codelist",
               "CAR T products received elsewhere before the first study infusion; "
               "empty = none; several allowed.",
               codes=("CD19", "CD22", "CD19/CD22", "other"), synonyms=_TARGET_SYNONYMS),
        Column("status_before_first_infusion", "code",
               "Disease status before the first study infusion, as the centre recorded it "
               "(optional; the marrow and CSF values go in infusions.pre_*): "
               "primary_refractory = never in remission; relapsed = relapse that responded "
               "to the last therapy; relapsed_refractory = relapse not responding to the "
               "last therapy; mrd_positive = morphologic remission with detectable MRD; "
               "extramedullary_only = isolated CNS or other extramedullary disease.",
               codes=STATUS_BEFORE_FIRST, optional=True,
               synonyms={"refractory": "primary_refractory", "primary_refractory_disease":
                         "primary_refractory", "relapse": "relapsed",
                         "relapsed/refractory": "relapsed_refractory", "r/r":
                         "relapsed_refractory", "mrd+": "mrd_positive", "mrd_pos":
                         "mrd_positive", "cns_only": "extramedullary_only",
                         "isolated_cns": "extramedullary_only",
                         "isolated_extramedullary": "extramedullary_only"}),
        Column("off_study_reason", "code",
               "Why the patient left the study (optional; blank = still on study or not "
               "recorded).", codes=OFF_STUDY_REASONS, optional=True,
               synonyms={"died": "death", "withdrew": "withdrawal", "consent_withdrawn":
                         "withdrawal", "withdrawal_of_consent": "withdrawal", "lost":
                         "lost_to_follow_up", "ltfu": "lost_to_follow_up", "lost_to_followup":
                         "lost_to_follow_up", "completed": "study_completed",
                         "end_of_study": "study_completed", "progression":
                         "progressive_disease", "pd": "progressive_disease",
                         "other_therapy": "alternative_therapy"}),
        Column("off_study_date", "date", "Date the patient left the study (optional).",
               optional=True),
    ),
)

INFUSIONS = Table(
    name="infusions",
    meaning="One row per CAR T-cell infusion.",
    key=("patient_id", "infusion"),
    columns=(
        Column("patient_id", "text", "Must exist in the patients sheet.", required=True),
        Column("infusion", "integer",
               "1 = first infusion of this product (CART1), 2 = reinfusion (CART2), ...",
               minimum=1, required=True),
        Column("date", "date", "Infusion date; strictly increasing with infusion number.",
               required=True),
        Column("age_years", "number", "Age at this infusion.", unit="years",
               minimum=0, maximum=120),
        Column("trial", "text", "Trial identifier, e.g. NCT01593696."),
        Column("construct", "text", "CAR construct, e.g. CD19-28z."),
        Column("target", "code", "Antigen target of the product.", codes=TARGETS,
               synonyms=_TARGET_SYNONYMS),
        Column("dose_per_kg", "number", "CAR T cells infused per kg.", unit="cells/kg",
               minimum=0, minimum_exclusive=True),
        Column("ld_regimen", "code", "Lymphodepletion before this infusion.", codes=LD_REGIMENS,
               synonyms={"std": "standard", "standard_ld": "standard", "intensive": "intensified",
                         "intensified_ld": "intensified"}),
        Column("ld_fludarabine_mg_m2", "number", "Fludarabine course total.", unit="mg/m2",
               minimum=0, optional=True),
        Column("ld_cyclophosphamide_mg_m2", "number", "Cyclophosphamide course total.",
               unit="mg/m2", minimum=0, optional=True),
        Column("ld_cytarabine_mg_m2", "number", "Cytarabine course total.", unit="mg/m2",
               minimum=0, optional=True),
        Column("indication", "code",
               "Why the patient was reinfused; required for infusion >= 2, empty for 1.",
               codes=INDICATIONS,
               synonyms={"persistent": "persistent_disease", "stable_disease":
                         "persistent_disease", "suboptimal_response": "persistent_disease",
                         "relapsed": "relapse", "prevention": "relapse_prevention"}),
        Column("compassionate_use", YESNO, "Given by individual compassionate use."),
        Column("interim_therapy", YESNO,
               "Therapy between the previous infusion and this one (infusion >= 2)."),
        Column("residual_car", YESNO,
               "CAR T cells from the previous infusion still detectable before "
               "lymphodepletion (infusion >= 2)."),
        Column("pre_marrow_blasts_pct", "number",
               "Marrow blasts by morphology before the infusion.", unit="%",
               minimum=0.0, maximum=100.0),
        Column("pre_marrow_mrd_pct", "number",
               "B-ALL as % of mononuclear cells by flow cytometry before the infusion.",
               unit="% of MNC", minimum=0.0, maximum=100.0),
        Column("pre_csf_wbc_per_ul", "number", "CSF white cells before the infusion.",
               unit="cells/uL", minimum=0),
        Column("pre_csf_rbc_per_ul", "number", "CSF red cells (traumatic tap rule).",
               unit="cells/uL", minimum=0, optional=True),
        Column("pre_csf_blasts", YESNO, "Blasts on CSF cytospin before the infusion."),
        Column("pre_csf_flow_positive", YESNO, "Disease detectable in CSF by flow cytometry."),
        Column("pre_cns_clinical_signs", YESNO,
               "Cranial nerve palsy, brain or eye involvement.", optional=True),
        Column("pre_emd", YESNO, "Non-CNS extramedullary disease before the infusion."),
        Column("best_response", "code", "Best marrow response to this infusion. Timeline "
               "states are read as: 'CR/CRi' (remission, count recovery not stated) -> CRi, "
               "as when counts are missing; 'RD' (resistant disease: no CR, CRi or PR) -> SD; "
               "progression is recorded as PD.",
               codes=RESPONSE_CODES, synonyms=RESPONSE_SYNONYMS),
        Column("best_response_mrd_pct", "number", "Flow MRD at best response.",
               unit="% of MNC", minimum=0.0, maximum=100.0),
        Column("response_date", "date", "Date the best response was first documented."),
        Column("crs_grade", "integer", "Maximum CRS grade (ASTCT).", minimum=0, maximum=5),
        Column("neurotox_grade", "integer", "Maximum neurotoxicity grade (CTCAE or ICANS).",
               minimum=0, maximum=5),
        Column("neurotox_scale", "code", "Scale of neurotox_grade (optional). With 'ctcae' "
               "the recorded grade is kept even when icans_observations give an ICANS grade "
               "(the two scales measure different things).", codes=("ctcae", "icans"),
               optional=True),
        Column("peak_car_per_ul", "number",
               "Peak absolute CAR T cells per uL of peripheral blood (some publications print "
               "this unit as 'cells/mL').", unit="cells/uL", minimum=0),
        Column("csf_lp_done", YESNO, "Lumbar puncture done after the infusion."),
        Column("csf_car_detected", YESNO, "CAR T cells found in CSF after the infusion."),
        Column("abc_cd19_pre", "number", "CD19 antigen binding capacity of blasts before "
               "the infusion.", unit="molecules/cell", minimum=0),
        Column("abc_cd22_pre", "number", "CD22 antigen binding capacity of blasts before "
               "the infusion.", unit="molecules/cell", minimum=0),
        Column("antigen_after", "code", "Antigen status of the leukemia after this infusion.",
               codes=ANTIGEN_STATUS, synonyms=_ANTIGEN_SYNONYMS),
        Column("relapse_date", "date", "Relapse after a response to this infusion."),
        Column("relapse_sites", "codelist", "Sites of relapse.", codes=RELAPSE_SITES,
               synonyms={"bone_marrow": "marrow", "bm": "marrow", "medullary": "marrow",
                         "cns": "cns", "csf": "cns", "extramedullary": "emd"}),
        Column("relapse_antigen", "code", "Antigen status at relapse.", codes=ANTIGEN_STATUS,
               synonyms=_ANTIGEN_SYNONYMS),
        Column("car_at_relapse", YESNO, "CAR T cells still detectable at relapse."),
        Column("hsct_after", YESNO, "Consolidative transplant after this infusion."),
        Column("hsct_date", "date", "Date of that transplant (optional; for swimmer plots and "
               "censoring).", optional=True),
        Column("last_followup_date", "date", "Date of last follow-up."),
        Column("death_date", "date", "Date of death."),
    ),
)

def _keys(what: str) -> tuple[Column, Column, Column]:
    return (
        Column("patient_id", "text", "Must exist in the patients sheet.", required=True),
        Column("infusion", "integer", "The infusion this is timed against (must exist in "
               "the infusions sheet).", minimum=1, required=True),
        Column("day", "number", f"Days from the infusion to the {what} (may be fractional; "
               "negative = before the infusion).", unit="days", minimum=-3650, maximum=36500,
               required=True),
    )


# The observation vocabularies are reinfuse.vocabulary's, shared with the criteria engine.
OXYGEN = OXYGEN_SUPPORT
CONSCIOUSNESS = CONSCIOUSNESS_LEVELS
SEIZURES = SEIZURE_TYPES
# Ranges of the disease_assessments numbers, shared with criteria.assessments.
_LOW = {name: low for name, (low, _, _) in DISEASE_ASSESSMENT_RANGES.items()}
_HIGH = {name: high for name, (_, high, _) in DISEASE_ASSESSMENT_RANGES.items()}

#: What a blank cell means in the raw observation sheets, said once per column below.
_UNKNOWN = (" Blank = unknown (never read as no): the row is graded only where no answer "
            "could change its grade.")

CRS_OBSERVATIONS = Table(
    name="crs_observations",
    meaning="Optional. One row per CRS assessment (e.g. daily): the findings the ASTCT "
            "grade is derived from. A blank cell is unknown, not absent: a row is graded "
            "only where every value the blank could take gives the same grade.",
    key=("patient_id", "infusion", "day"),
    required_table=False,
    columns=(
        *_keys("observation"),
        # Ranges are the grading engine's own (criteria.crs), so a value the sheet accepts
        # can always be graded.
        Column("temperature_c", "number", "Highest temperature." + _UNKNOWN, unit="°C",
               minimum=20, maximum=45),
        Column("anticytokine_or_antipyretic", "code", "Tocilizumab, corticosteroids or "
               "antipyretics at or before this time: for_crs = given as treatment after CRS "
               "began (fever is then no longer required; yes means this); premedication = "
               "given only before CRS began, e.g. paracetamol with the infusion on day 0 "
               "(fever still required); no = none (ASTCT, Lee et al. 2019)." + _UNKNOWN,
               codes=ANTICYTOKINE_OR_ANTIPYRETIC, synonyms=ANTICYTOKINE_SYNONYMS),
        Column("hypotension", "code", "Hypotension and its treatment." + _UNKNOWN,
               codes=HYPOTENSION_LEVELS,
               synonyms={"no": "none", "fluid": "fluids", "pressors": "vasopressors"}),
        Column("vasopressors", "integer", "Number of vasopressors, excluding vasopressin."
               + _UNKNOWN, minimum=0, maximum=20),
        Column("vasopressin", YESNO, "Vasopressin given." + _UNKNOWN),
        Column("oxygen", "code", "Oxygen support." + _UNKNOWN, codes=OXYGEN,
               synonyms={"ra": "room_air", "lfnc": "low_flow_nasal_cannula",
                         "hfnc": "high_flow_nasal_cannula", "nc": "nasal_cannula",
                         "nrb": "non_rebreather", "ventilator": "mechanical_ventilation",
                         "intubated": "mechanical_ventilation"}),
        Column("oxygen_l_min", "number", "Oxygen flow (read for nasal cannula and blow-by; "
               "0 L/min is no oxygen). Blank = not recorded: a cannula is then taken at its "
               "label, an unlabelled nasal_cannula is unknown.", unit="L/min", minimum=0,
               maximum=100),
        Column("other_cause", YESNO, "Fever, hypotension or hypoxia attributable to "
               "something else (then not CRS)." + _UNKNOWN + " Write no when they were "
               "not."),
        Column("death_from_crs", YESNO, "Death due to CRS with no other principal cause."
               + _UNKNOWN + " A blank on a day the patient survived (a later death_date or "
               "last_followup_date in infusions) is no."),
    ),
)

ICANS_OBSERVATIONS = Table(
    name="icans_observations",
    meaning="Optional. One row per neurological assessment: the findings the ICANS grade is "
            "derived from. A blank cell is unknown, not absent: a row is graded only where "
            "every value the blank could take gives the same grade.",
    key=("patient_id", "infusion", "day"),
    required_table=False,
    columns=(
        *_keys("assessment"),
        Column("ice_score", "integer", "Immune effector cell encephalopathy score."
               + _UNKNOWN, minimum=0, maximum=10),
        Column("capd_score", "integer", "Cornell Assessment of Pediatric Delirium (children "
               "under 12, and older patients who cannot do the ICE)." + _UNKNOWN,
               minimum=0, maximum=32),
        Column("assessment_tool", "code", "The encephalopathy tool used at this assessment: "
               "ice or capd (CAPD for children under 12 and for older patients who cannot "
               "do the ICE, e.g. developmental delay; ASTCT, Lee et al. 2019). Blank: age "
               "at the infusion decides (CAPD below plan.derive capd_age_below, 12 by "
               "default).", codes=ASSESSMENT_TOOLS,
               synonyms={"ice_score": "ice", "cornell": "capd", "capd_score": "capd"},
               optional=True),
        Column("consciousness", "code", "Level of consciousness." + _UNKNOWN,
               codes=CONSCIOUSNESS, synonyms={"awake": "alert", "normal": "alert"}),
        Column("sedated", YESNO, "Depressed consciousness due to sedating medication (e.g. "
               "propofol, RASS -4/-5): the level of consciousness and, by default "
               "(plan.derive sedation_excludes_scores), the ICE/CAPD score are then not "
               "counted." + _UNKNOWN + " Irrelevant when the patient is alert."),
        Column("seizure", "code", "Seizures." + _UNKNOWN, codes=SEIZURES,
               synonyms={"no": "none"}),
        Column("motor_weakness", YESNO, "Deep focal motor weakness (hemiparesis, "
               "paraparesis)." + _UNKNOWN),
        Column("cerebral_edema", "code", "Cerebral edema on imaging." + _UNKNOWN
               + " Write none when imaging showed none.",
               codes=CEREBRAL_EDEMA, synonyms={"no": "none", "local": "focal"}),
        Column("raised_icp_signs", YESNO, "Decerebrate or decorticate posturing, cranial "
               "nerve VI palsy, papilledema or Cushing's triad." + _UNKNOWN),
        Column("other_cause", YESNO, "Findings attributable to something else (then not "
               "ICANS)." + _UNKNOWN),
        Column("death_from_icans", YESNO, "Death due to ICANS with no other principal cause."
               + _UNKNOWN + " A blank on a day the patient survived (a later death_date or "
               "last_followup_date in infusions) is no."),
    ),
)

CAR_COUNTS = Table(
    name="car_counts",
    meaning="Optional. One row per CAR T-cell measurement after an infusion.",
    key=("patient_id", "infusion", "day", "compartment"),
    required_table=False,
    columns=(
        *_keys("sample"),
        Column("compartment", "code", "Where CAR T cells were measured.",
               codes=("blood", "marrow", "csf"),
               synonyms={"pb": "blood", "peripheral_blood": "blood", "bm": "marrow",
                         "bone_marrow": "marrow"}),
        Column("value", "number", "CAR T cells, in the unit given.", minimum=0,
               required=True),
        Column("unit", "code", "Unit of value.",
               codes=("cells_per_ul", "percent_of_t_cells", "percent_of_cells"),
               synonyms={"cells/ul": "cells_per_ul", "/ul": "cells_per_ul",
                         "%_of_t_cells": "percent_of_t_cells", "%": "percent_of_cells"},
               required=True),
    ),
)

DISEASE_ASSESSMENTS = Table(
    name="disease_assessments",
    meaning="Optional. One row per disease assessment (marrow, CSF, imaging, counts) timed "
            "against an infusion.",
    key=("patient_id", "infusion", "day"),
    required_table=False,
    columns=(
        *_keys("assessment"),
        Column("marrow_blasts_pct", "number", "Marrow blasts by morphology.", unit="%",
               minimum=_LOW["marrow_blasts_pct"], maximum=_HIGH["marrow_blasts_pct"]),
        Column("mrd_pct", "number", "Marrow B-ALL by flow cytometry.", unit="% of MNC",
               minimum=_LOW["mrd_pct"], maximum=_HIGH["mrd_pct"]),
        Column("csf_wbc_per_ul", "number", "CSF white cells.", unit="cells/uL",
               minimum=_LOW["csf_wbc_per_ul"], maximum=_HIGH["csf_wbc_per_ul"]),
        Column("csf_rbc_per_ul", "number", "CSF red cells.", unit="cells/uL",
               minimum=_LOW["csf_rbc_per_ul"], maximum=_HIGH["csf_rbc_per_ul"]),
        Column("csf_blasts", YESNO, "Blasts on CSF cytospin."),
        Column("csf_flow_positive", YESNO, "Disease detectable in CSF by flow cytometry."),
        Column("blood_wbc", "number", "Blood white cells.", unit="x10^9/L",
               minimum=_LOW["blood_wbc"], maximum=_HIGH["blood_wbc"]),
        Column("blood_rbc", "number", "Blood red cells.", unit="x10^12/L",
               minimum=_LOW["blood_rbc"], maximum=_HIGH["blood_rbc"]),
        Column("blood_blasts", YESNO, "Circulating blasts in the blood (optional). The "
               "Steinherz/Bleyer traumatic-tap correction of CNS status applies only with "
               "them.", optional=True),
        Column("cns_clinical_signs", YESNO, "Clinical signs of CNS leukemia."),
        Column("emd", YESNO, "Non-CNS extramedullary disease."),
        Column("anc", "number", "Absolute neutrophil count.", unit="x10^9/L",
               minimum=_LOW["anc"], maximum=_HIGH["anc"]),
        Column("platelets", "number", "Platelets.", unit="x10^9/L",
               minimum=_LOW["platelets"], maximum=_HIGH["platelets"]),
    ),
)

ANTIGEN_SAMPLES = Table(
    name="antigen_samples",
    meaning="Optional. One row per flow cytometry sample whose blast antigen density "
            "`reinfuse antigen` computes from the FCS files (QuantiBRITE PE calibration; "
            "docs/antigen-density.md).",
    key=("patient_id", "infusion", "timepoint", "antigen"),
    required_table=False,
    columns=(
        Column("patient_id", "text", "Must exist in the patients sheet.", required=True),
        Column("infusion", "integer", "The infusion the sample is timed against (must exist "
               "in the infusions sheet).", minimum=1, required=True),
        Column("timepoint", "code", "Before (pre) or after (post) that infusion.",
               codes=("pre", "post"), synonyms={"before": "pre", "after": "post"},
               required=True),
        Column("antigen", "code", "The antigen quantified with the PE antibody.",
               codes=("CD19", "CD22"), synonyms={"cd19": "CD19", "cd22": "CD22"},
               required=True),
        Column("fcs_file", "text", "The sample's FCS file, relative to the workbook's folder "
               "(refused if it leads outside that folder).", required=True),
        Column("bead_file", "text", "The QuantiBRITE PE bead FCS file acquired with the "
               "same settings, relative to the workbook's folder.", required=True),
        Column("bead_lot", "text", "The bead lot's four PE molecules per bead, increasing, "
               "separated by ';' (e.g. 474;5359;23843;62336).", required=True),
        Column("channel", "text", "The PE detector ($PnN, e.g. PE-A) or its marker.",
               required=True),
        Column("blast_gate", "text", "The gate (declared in the gate file) holding the "
               "blasts.", required=True),
    ),
)


BCELL_ASSESSMENTS = Table(
    name="bcell_assessments",
    meaning="Optional. One row per blood B-cell assessment timed against an infusion. "
            "B-cell aplasia is the usual sign that CD19-directed CAR T cells still work, "
            "and B-cell recovery often prompts a reinfusion. Definitions (the B-cell "
            "threshold, % of lymphocytes or cells/uL) differ between trials, so reinfuse "
            "keeps bcell_status as the centre recorded it and never derives it from the "
            "counts.",
    key=("patient_id", "infusion", "day"),
    required_table=False,
    columns=(
        *_keys("assessment"),
        Column("bcells_per_ul", "number", "B cells (CD19+, or CD20/CD22+ after CD19-directed "
               "therapy) in the blood.", unit="cells/uL", minimum=0),
        Column("bcells_pct_lymphocytes", "number", "B cells as a percentage of lymphocytes.",
               unit="% of lymphocytes", minimum=0.0, maximum=100.0),
        Column("bcell_status", "code", "B-cell aplasia or recovery, by the centre's own "
               "definition (say which in the methods). Blank = not assessed.",
               codes=BCELL_STATUS,
               synonyms={"bca": "aplasia", "b_cell_aplasia": "aplasia", "aplastic":
                         "aplasia", "recovered": "recovery", "b_cell_recovery": "recovery",
                         "loss_of_aplasia": "recovery", "loss_of_bca": "recovery"}),
        Column("ig_replacement", YESNO, "Immunoglobulin replacement given around this "
               "assessment (optional).", optional=True),
    ),
)

COHORT_V1 = CohortFormat(version="1", tables=(PATIENTS, INFUSIONS, CRS_OBSERVATIONS,
                                              ICANS_OBSERVATIONS, CAR_COUNTS,
                                              DISEASE_ASSESSMENTS, BCELL_ASSESSMENTS,
                                              ANTIGEN_SAMPLES))

#: The tables every cohort has; the others are optional raw observations.
CORE_TABLES = ("patients", "infusions")

#: Columns that may only be filled on a reinfusion (infusion >= 2).
REINFUSION_ONLY = ("indication", "interim_therapy", "residual_car")

#: Header words that suggest a direct identifier (HIPAA Safe Harbor categories).
IDENTIFIER_PATTERNS = (
    r"(^|_)(first|last|given|family|full|middle|patient|pt|sur)?_?name($|_)",
    r"(^|_)initials($|_)",
    r"(^|_)mrn($|_)",
    r"medical_record",
    r"(^|_)(dob|birth_?date|date_?of_?birth|birthday)($|_)",
    r"(^|_)(address|street|city|zip|zipcode|postcode|postal_code)($|_)",
    r"(^|_)(phone|telephone|email|e_mail|fax)($|_)",
    r"(^|_)(ssn|social_security|nhs_number|insurance_id)($|_)",
)
