"""What records usually help, by specialty: shown on the records step as a checklist."""

from accounts.models import Specialty

GENERAL = [
    "Recent clinic notes from the physicians treating your child",
    "Discharge summaries from any hospital stays",
    "Recent lab results",
    "A list of current medicines",
]
EXTRA: dict[str, list[str]] = {
    "cardiac-surgery": [
        "Echocardiogram reports and images",
        "Cardiac catheterisation reports",
        "Cardiac MRI or CT (DICOM)",
    ],
    "cardiology": ["Echocardiogram reports and images", "ECG and Holter reports"],
    "neurology": ["EEG reports", "Brain MRI or CT (DICOM) and their reports"],
    "neurosurgery": ["Brain or spine MRI/CT (DICOM) and their reports", "Operative notes"],
    "hematology-and-oncology": [
        "Pathology reports",
        "Pathology slides (scanned or mailed)",
        "Imaging (DICOM) and reports",
        "Treatment protocol and roadmap",
    ],
    "orthopaedic-surgery": ["X-rays, MRI or CT (DICOM)", "Operative notes"],
}


def checklist_for(specialty: Specialty | None) -> list[str]:
    return EXTRA.get(specialty.slug, []) + GENERAL if specialty else GENERAL
