"""Fixed facts of the three PhysioNet releases and of the Symile-MIMIC release (docs/paper.md,
"Symile-MIMIC")."""

from __future__ import annotations

# The 50 lab itemids of the release (`constants.LABS`), with their names. The release feeds
# them to the model in sorted(str(itemid)) order; all are 5 digits, so that is numeric order.
LAB_NAMES: dict[int, str] = {
    51221: "Hematocrit",
    51265: "Platelet Count",
    50912: "Creatinine",
    50971: "Potassium",
    51222: "Hemoglobin",
    51301: "White Blood Cells",
    51249: "MCHC",
    51279: "Red Blood Cells",
    51250: "MCV",
    51248: "MCH",
    51277: "RDW",
    51006: "Urea Nitrogen",
    50983: "Sodium",
    50902: "Chloride",
    50882: "Bicarbonate",
    50868: "Anion Gap",
    50931: "Glucose",
    50960: "Magnesium",
    50893: "Calcium, Total",
    50970: "Phosphate",
    51237: "INR(PT)",
    51274: "PT",
    51275: "PTT",
    51146: "Basophils",
    51256: "Neutrophils",
    51254: "Monocytes",
    51200: "Eosinophils",
    51244: "Lymphocytes",
    52172: "RDW-SD",
    50934: "H",
    51678: "L",
    50947: "I",
    50861: "Alanine Aminotransferase (ALT)",
    50878: "Asparate Aminotransferase (AST)",
    50813: "Lactate",
    50863: "Alkaline Phosphatase",
    50885: "Bilirubin, Total",
    50820: "pH",
    50862: "Albumin",
    50802: "Base Excess",
    50821: "pO2",
    50804: "Calculated Total CO2",
    50818: "pCO2",
    52075: "Absolute Neutrophil Count",
    52073: "Absolute Eosinophil Count",
    52074: "Absolute Monocyte Count",
    52069: "Absolute Basophil Count",
    51133: "Absolute Lymphocyte Count",
    50910: "Creatine Kinase (CK)",
    52135: "Immature Granulocytes",
}
LAB_ITEMIDS: tuple[int, ...] = tuple(sorted(LAB_NAMES))
N_LABS = len(LAB_ITEMIDS)

CHEXPERT_LABELS: tuple[str, ...] = (
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Enlarged Cardiomediastinum",
    "Fracture",
    "Lung Lesion",
    "Lung Opacity",
    "No Finding",
    "Pleural Effusion",
    "Pleural Other",
    "Pneumonia",
    "Pneumothorax",
    "Support Devices",
)


def chexpert_column(label: str) -> str:
    """Dataset column for a CheXpert label: `chexpert_` + snake case."""
    return "chexpert_" + label.lower().replace(" ", "_")


CXR_VIEWS = ("PA", "AP")  # the release keeps posteroanterior and anteroposterior views only

# Time windows relative to admittime, in seconds.
HOUR = 3600
ECG_WINDOW = (-24 * HOUR, 24 * HOUR)  # both ends inclusive
LAB_WINDOW = (-24 * HOUR, 24 * HOUR)  # both ends inclusive
CXR_WINDOW = (24 * HOUR, 72 * HOUR)  # (24 h, 72 h]: lower end exclusive

# WFDB records of MIMIC-IV-ECG 1.0.
ECG_LEADS = 12
ECG_SAMPLES = 5000
ECG_FS = 500
ECG_LEAD_NAMES = ("I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6")

# `fake-mimic` writes this file into its tree's root and into each release root it imitates;
# a build whose sources hold it is marked synthetic (config, card, `info`).
SYNTHETIC_MARKER = "SYNTHETIC.json"

# Files of each release, relative to the root the user passes, with the columns we read.
ADMISSIONS_COLUMNS = ("subject_id", "hadm_id", "admittime")
LABEVENTS_COLUMNS = ("labevent_id", "subject_id", "itemid", "charttime", "valuenum")
RECORD_LIST_COLUMNS = ("subject_id", "study_id", "ecg_time", "path")
CXR_METADATA_COLUMNS = (
    "dicom_id",
    "subject_id",
    "study_id",
    "ViewPosition",
    "StudyDate",
    "StudyTime",
)
CHEXPERT_COLUMNS = ("subject_id", "study_id", *CHEXPERT_LABELS)

# Full column lists of the real files (what `fake-mimic` writes).
ADMISSIONS_ALL = (
    "subject_id",
    "hadm_id",
    "admittime",
    "dischtime",
    "deathtime",
    "admission_type",
    "admit_provider_id",
    "admission_location",
    "discharge_location",
    "insurance",
    "language",
    "marital_status",
    "race",
    "edregtime",
    "edouttime",
    "hospital_expire_flag",
)
PATIENTS_ALL = ("subject_id", "gender", "anchor_age", "anchor_year", "anchor_year_group", "dod")
LABEVENTS_ALL = (
    "labevent_id",
    "subject_id",
    "hadm_id",
    "specimen_id",
    "itemid",
    "order_provider_id",
    "charttime",
    "storetime",
    "value",
    "valuenum",
    "valueuom",
    "ref_range_lower",
    "ref_range_upper",
    "flag",
    "priority",
    "comments",
)
RECORD_LIST_ALL = ("subject_id", "study_id", "file_name", "ecg_time", "path")
CXR_METADATA_ALL = (
    "dicom_id",
    "subject_id",
    "study_id",
    "PerformedProcedureStepDescription",
    "ViewPosition",
    "Rows",
    "Columns",
    "StudyDate",
    "StudyTime",
    "ProcedureCodeSequence_CodeMeaning",
    "ViewCodeSequence_CodeMeaning",
    "PatientOrientationCodeSequence_CodeMeaning",
)

#: the builder's splits, in cohort order
SPLIT_NAMES = ("train", "validation", "test")
#: the build-time resource holding the selected cohort (`pools/mimic-cohort.arrow`)
COHORT = "mimic-cohort"
