"""Pure scoring rules of the risk register (no ORM): scores, bands, appetite and the checks a
risk's numbers must pass. Services and the importer both call `check_scores`."""

from __future__ import annotations

from dataclasses import dataclass

from governance.risks.choices import MIN_JUSTIFICATION_LENGTH, SCALE_LEVELS

# The organisation may replace these in its risk settings; they are the defaults.
DEFAULT_BANDS = [
    {"key": "low", "label": "Low", "min": 1, "max": 4, "colour": "#2e8b57"},
    {"key": "medium", "label": "Medium", "min": 5, "max": 9, "colour": "#e0b000"},
    {"key": "high", "label": "High", "min": 10, "max": 16, "colour": "#e07000"},
    {"key": "critical", "label": "Critical", "min": 17, "max": 25, "colour": "#c0392b"},
]
DEFAULT_APPETITE = 9  # a risk scoring above this needs a compliance officer's acceptance
DEFAULT_LIKELIHOOD_SCALE = [
    {"level": 1, "label": "Rare", "definition": "Not expected in the system's lifetime; less than once in 10 years."},
    {"level": 2, "label": "Unlikely", "definition": "Could happen once in 3 to 10 years."},
    {"level": 3, "label": "Possible", "definition": "Could happen once in 1 to 3 years."},
    {"level": 4, "label": "Likely", "definition": "Expected about once a year."},
    {"level": 5, "label": "Almost certain", "definition": "Expected several times a year, or already happening."},
]
DEFAULT_IMPACT_SCALE = [
    {
        "level": 1,
        "label": "Negligible",
        "definition": "No effect on people; loss under EUR 10k; no regulatory interest.",
    },
    {
        "level": 2,
        "label": "Minor",
        "definition": "Inconvenience to a few people, quickly corrected; loss under EUR 100k.",
    },
    {
        "level": 3,
        "label": "Moderate",
        "definition": "Unfair or wrong outcomes for a group, correctable; supervisor may ask questions.",
    },
    {
        "level": 4,
        "label": "Major",
        "definition": "Lasting harm to people's rights, health or finances; reportable incident; loss under EUR 5m.",
    },
    {
        "level": 5,
        "label": "Severe",
        "definition": "Serious or irreversible harm to many people; enforcement action; loss above EUR 5m.",
    },
]


def score(likelihood: int | None, impact: int | None) -> int | None:
    if likelihood is None or impact is None:
        return None
    return likelihood * impact


def band_of(value: int | None, bands: list[dict] = DEFAULT_BANDS) -> dict | None:
    if value is None:
        return None
    for band in bands:
        if band["min"] <= value <= band["max"]:
            return band
    return None


def current_score(inherent: int, residual: int | None) -> int:
    """The score that decides appetite: the residual one once assessed, else the inherent one."""
    return residual if residual is not None else inherent


def above_appetite(inherent: int, residual: int | None, appetite: int) -> bool:
    return current_score(inherent, residual) > appetite


def is_level(value) -> bool:
    return type(value) is int and value in SCALE_LEVELS


@dataclass(frozen=True)
class ScoreProblem:
    field: str
    code: str
    message: str


def check_scores(
    *, likelihood, impact, residual_likelihood=None, residual_impact=None, residual_reason: str = ""
) -> list[ScoreProblem]:
    """Every problem with a risk's numbers, in words a compliance officer understands."""
    problems = []
    for field, value, label in (("likelihood", likelihood, "Likelihood"), ("impact", impact, "Impact")):
        if not is_level(value):
            problems.append(
                ScoreProblem(
                    field, "score_out_of_range", f"{label} must be a whole number from 1 to 5 (got {value!r})."
                )
            )
    residual = (
        ("residual_likelihood", residual_likelihood, "Residual likelihood"),
        ("residual_impact", residual_impact, "Residual impact"),
    )
    for field, value, label in residual:
        if value is not None and not is_level(value):
            problems.append(
                ScoreProblem(
                    field, "score_out_of_range", f"{label} must be a whole number from 1 to 5 (got {value!r})."
                )
            )
    if (residual_likelihood is None) != (residual_impact is None):
        problems.append(
            ScoreProblem(
                "residual_impact",
                "residual_incomplete",
                "Give both residual likelihood and residual impact, or neither.",
            )
        )
    if problems:
        return problems
    inherent, residual_score = score(likelihood, impact), score(residual_likelihood, residual_impact)
    if residual_score is not None and residual_score > inherent and len((residual_reason or "").strip()) < 10:
        problems.append(
            ScoreProblem(
                "residual_reason",
                "residual_above_inherent_needs_reason",
                f"The residual score ({residual_score}) is above the inherent score ({inherent}): controls do not "
                "normally make a risk worse, so explain why (at least 10 characters).",
            )
        )
    return problems


def justification_ok(text: str) -> bool:
    return len((text or "").strip()) >= MIN_JUSTIFICATION_LENGTH


def check_scale(levels) -> str:
    """ "" when `levels` is a valid 5-level scale definition, else why not."""
    if not isinstance(levels, list) or len(levels) != 5:
        return "A scale has exactly five levels."
    for expected, item in zip(SCALE_LEVELS, levels):
        if not isinstance(item, dict) or item.get("level") != expected or not str(item.get("label", "")).strip():
            return f"Level {expected} needs a label (levels in order 1 to 5)."
    return ""


def check_bands(bands) -> str:
    """ "" when the bands cover 1–25 without gaps or overlaps, else why not."""
    if not isinstance(bands, list) or not bands:
        return "Give at least one band."
    expected = 1
    for band in bands:
        if (
            not isinstance(band, dict)
            or band.get("min") != expected
            or not isinstance(band.get("max"), int)
            or band["max"] < band["min"]
            or not band.get("key")
        ):
            return f"Bands must cover 1 to 25 in order without gaps; the band starting at {expected} is wrong."
        expected = band["max"] + 1
    return "" if expected == 26 else "Bands must end at 25."
