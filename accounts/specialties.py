"""The starting list of specialties (seeded by migration 0002; coordinators edit it)."""

from typing import Any

from django.utils.text import slugify

# The starting list; coordinators edit it in admin afterwards.
SPECIALTIES = [
    "Cardiac Surgery",
    "Cardiology",
    "Endocrinology",
    "Gastroenterology",
    "General Surgery",
    "Hematology and Oncology",
    "Nephrology",
    "Neurology",
    "Neurosurgery",
    "Orthopaedic Surgery",
    "Otolaryngology",
    "Pulmonology",
    "Rheumatology",
    "Urology",
]


def specialties_seed(model: Any) -> None:
    """Create missing specialties; ``model`` is the (historical, in migrations) model class."""
    for order, name in enumerate(SPECIALTIES):
        model.objects.get_or_create(
            slug=slugify(name), defaults={"name": name, "sort_order": (order + 1) * 10}
        )


# What usually helps, by specialty slug: the starting text of Specialty.records_checklist
# (migration 0003 fills empty ones; coordinators edit it afterwards). The general items every
# request needs (intake/checklists.py) follow these on the page, so they are not repeated here.
CHECKLISTS: dict[str, list[str]] = {
    "cardiac-surgery": [
        "Echocardiogram reports and images",
        "Cardiac catheterisation reports",
        "Cardiac MRI or CT (DICOM)",
    ],
    "cardiology": ["Echocardiogram reports and images", "ECG and Holter reports"],
    "endocrinology": [
        "Growth charts (height and weight over time)",
        "Hormone and blood sugar results (HbA1c, thyroid tests)",
        "Bone age X-ray and its report",
    ],
    "gastroenterology": [
        "Endoscopy and colonoscopy reports, with their pathology",
        "Growth charts",
        "Abdominal imaging (ultrasound, CT or MRI) and reports",
        "Stool and liver test results",
    ],
    "general-surgery": [
        "Operative notes",
        "Imaging of the area in question (ultrasound, CT or MRI) and reports",
        "Pathology reports, if tissue was removed",
    ],
    "hematology-and-oncology": [
        "Pathology reports",
        "Pathology slides (scanned or mailed)",
        "Imaging (DICOM) and reports",
        "Treatment protocol and roadmap",
    ],
    "nephrology": [
        "Kidney function and urine test results over time",
        "Kidney ultrasound and its report",
        "Blood pressure readings",
        "Kidney biopsy pathology report, if any",
    ],
    "neurology": ["EEG reports", "Brain MRI or CT (DICOM) and their reports"],
    "neurosurgery": ["Brain or spine MRI/CT (DICOM) and their reports", "Operative notes"],
    "orthopaedic-surgery": ["X-rays, MRI or CT (DICOM)", "Operative notes"],
    "otolaryngology": [
        "Hearing test (audiology) reports",
        "Sleep study reports",
        "Sinus or neck CT/MRI (DICOM) and reports",
        "Operative notes (for example ear tubes, tonsils)",
    ],
    "pulmonology": [
        "Lung function (spirometry) results",
        "Chest X-ray or CT (DICOM) and reports",
        "Sleep study reports",
        "Sweat test or genetic results, if done",
    ],
    "rheumatology": [
        "Inflammation and antibody test results (ESR, CRP, ANA)",
        "Joint X-rays, ultrasound or MRI and reports",
        "Eye examination reports",
    ],
    "urology": [
        "Kidney and bladder ultrasound and reports",
        "Voiding cystourethrogram (VCUG) report",
        "Urine test and culture results",
        "Operative notes",
    ],
}


def checklists_seed(model: Any) -> None:
    """Fill the checklist of each specialty that has none (never overwrites an edited one)."""
    for slug, items in CHECKLISTS.items():
        model.objects.filter(slug=slug, records_checklist="").update(
            records_checklist="\n".join(items)
        )
