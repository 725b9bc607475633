"""Code lists of the canonical model, aligned with oBDS 3.0 and Netherlands Cancer Registry items.

Each list is a mapping code -> label so that validation can name what a code means and
adapters can show stewards what is expected. Extend a list here, never in an adapter.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final


def _codelist(pairs: dict[str, str]) -> MappingProxyType[str, str]:
    return MappingProxyType(pairs)


SEX: Final = _codelist({"M": "male", "F": "female", "X": "diverse/other", "U": "unknown"})

# ICD-10 (WHO / ICD-10-GM) diagnosis codes in scope.
ICD10: Final = _codelist(
    {
        "C34.0": "main bronchus",
        "C34.1": "upper lobe, bronchus or lung",
        "C34.2": "middle lobe, bronchus or lung",
        "C34.3": "lower lobe, bronchus or lung",
        "C34.8": "overlapping lesion of bronchus and lung",
        "C34.9": "bronchus or lung, unspecified",
        "C56": "malignant neoplasm of ovary",
    }
)

# ICD-O-3 topography: same sites, ovary coded C56.9.
TOPOGRAPHY: Final = _codelist({**{k: v for k, v in ICD10.items() if k != "C56"}, "C56.9": "ovary"})

# ICD-O-3 morphology (behaviour /3 = malignant, primary site).
MORPHOLOGY: Final = _codelist(
    {
        "8140/3": "adenocarcinoma, NOS",
        "8070/3": "squamous cell carcinoma, NOS",
        "8012/3": "large cell carcinoma, NOS",
        "8046/3": "non-small cell carcinoma",
        "8441/3": "serous carcinoma, NOS (low-grade serous)",
        "8461/3": "high-grade serous carcinoma",
        "8380/3": "endometrioid adenocarcinoma, NOS",
        "8310/3": "clear cell adenocarcinoma, NOS",
        "8480/3": "mucinous adenocarcinoma",
    }
)

STAGE_SYSTEM: Final = _codelist({"UICC8": "TNM/UICC 8th edition", "FIGO2014": "FIGO 2014 (ovary)"})

# Stage groups used by analyses (UICC and FIGO share roman numerals at group level).
STAGE: Final = _codelist({"I": "stage I", "II": "stage II", "III": "stage III", "IV": "stage IV"})

# Detailed stage (UICC 8 for lung, FIGO 2014 for ovary) and the group each belongs to.
STAGE_DETAIL_GROUP: Final = MappingProxyType(
    {
        # UICC 8 lung
        "IA1": "I",
        "IA2": "I",
        "IA3": "I",
        "IB": "I",
        "IIA": "II",
        "IIB": "II",
        "IIIA": "III",
        "IIIB": "III",
        "IIIC": "III",
        "IVA": "IV",
        "IVB": "IV",
        # FIGO 2014 ovary (codes not already above)
        "IA": "I",
        "IC1": "I",
        "IC2": "I",
        "IC3": "I",
        "IIIA1": "III",
        "IIIA2": "III",
    }
)
STAGE_DETAIL: Final = _codelist({k: f"stage {k}" for k in STAGE_DETAIL_GROUP})

# Clinical TNM categories (the c prefix is implied by the column).
CT: Final = _codelist(
    {
        k: k
        for k in [
            "TX",
            "T0",
            "Tis",
            "T1",
            "T1mi",
            "T1a",
            "T1b",
            "T1c",
            "T1c1",
            "T1c2",
            "T1c3",
            "T2",
            "T2a",
            "T2b",
            "T2c",
            "T3",
            "T3a",
            "T3b",
            "T3c",
            "T4",
        ]
    }
)
CN: Final = _codelist({k: k for k in ["NX", "N0", "N1", "N1a", "N1b", "N2", "N3"]})
CM: Final = _codelist({k: k for k in ["M0", "M1", "M1a", "M1b", "M1c"]})

# oBDS grading ("Grading"): numeric grades plus the two-tier serous grades.
GRADE: Final = _codelist(
    {
        "1": "well differentiated",
        "2": "moderately differentiated",
        "3": "poorly differentiated",
        "4": "undifferentiated",
        "L": "low grade",
        "H": "high grade",
        "X": "cannot be assessed",
    }
)

# oBDS molecular marker result codes.
MARKER_STATUS: Final = _codelist(
    {"M": "mutated / positive", "W": "wild type / negative", "N": "not tested", "U": "unknown"}
)

# oBDS systemic therapy type ("Therapieart").
SYSTEMIC_TYPE: Final = _codelist(
    {
        "CH": "chemotherapy",
        "IM": "immune/antibody therapy",
        "ZS": "targeted substances",
        "CI": "chemotherapy + immune/antibody therapy",
        "CZ": "chemotherapy + targeted substances",
        "CIZ": "chemotherapy + immune/antibody therapy + targeted substances",
        "IZ": "immune/antibody therapy + targeted substances",
        "HO": "hormone therapy",
        "SO": "other",
    }
)

# The components each oBDS therapy type implies (used to keep the 0/1 flags consistent).
SYSTEMIC_COMPONENTS: Final = MappingProxyType(
    {
        "CH": frozenset({"chemotherapy"}),
        "IM": frozenset({"immunotherapy"}),
        "ZS": frozenset({"targeted_therapy"}),
        "CI": frozenset({"chemotherapy", "immunotherapy"}),
        "CZ": frozenset({"chemotherapy", "targeted_therapy"}),
        "CIZ": frozenset({"chemotherapy", "immunotherapy", "targeted_therapy"}),
        "IZ": frozenset({"immunotherapy", "targeted_therapy"}),
        "HO": frozenset(),
        "SO": frozenset(),
    }
)

# WHO ATC codes of the agents the synthetic cohorts use.
# Validation accepts any well-formed ATC code.
ATC: Final = _codelist(
    {
        "L01XA01": "cisplatin",
        "L01XA02": "carboplatin",
        "L01BA04": "pemetrexed",
        "L01CD01": "paclitaxel",
        "L01FF01": "nivolumab",
        "L01FF02": "pembrolizumab",
        "L01FF03": "durvalumab",
        "L01FF05": "atezolizumab",
        "L01EB04": "osimertinib",
        "L01ED03": "alectinib",
        "L01FG01": "bevacizumab",
        "L01XK01": "olaparib",
        "L01XK02": "niraparib",
    }
)
ATC_PATTERN: Final = r"[A-Z]\d{2}[A-Z]{2}\d{2}"

# NCR vit_stat: 0 alive at last contact, 1 deceased.
VITAL_STATUS: Final = _codelist({"0": "alive", "1": "deceased"})

SMOKING: Final = _codelist(
    {"current": "current smoker", "former": "former smoker", "never": "never smoked", "unknown": ""}
)

FLAG: Final = _codelist({"0": "no", "1": "yes"})

__all__ = [
    "ATC",
    "ATC_PATTERN",
    "CM",
    "CN",
    "CT",
    "FLAG",
    "GRADE",
    "ICD10",
    "MARKER_STATUS",
    "MORPHOLOGY",
    "SEX",
    "SMOKING",
    "STAGE",
    "STAGE_DETAIL",
    "STAGE_DETAIL_GROUP",
    "STAGE_SYSTEM",
    "SYSTEMIC_COMPONENTS",
    "SYSTEMIC_TYPE",
    "TOPOGRAPHY",
    "VITAL_STATUS",
]
