"""EU AI Act classification rules: pure, versioned, free of Django.

Public API (the Django app calls exactly this):

- ``RULES_VERSION``: version string stored with every determination.
- ``QUESTIONS`` / ``SECTIONS`` / ``questionnaire_as_dict()``: the questionnaire as data.
- ``visible_questions(answers)``: questions that still matter, in order.
- ``validate_answers(answers) -> ValidationOutcome``.
- ``classify(answers) -> Determination``.
- ``derive_obligations(determination, *, dates=None, roles=None) -> list[ObligationSpec]``.
- ``DEFAULT_APPLICATION_DATES`` / ``OMNIBUS_APPLICATION_DATES`` / ``resolve_dates()``.
"""

from governance.rules.content.obligations_catalogue import EVIDENCE_KINDS
from governance.rules.dates import (
    DATE_KEYS,
    DEFAULT_APPLICATION_DATES,
    OMNIBUS_APPLICATION_DATES,
    DatesError,
    resolve_dates,
)
from governance.rules.engine import classify
from governance.rules.obligations import derive_obligations
from governance.rules.questionnaire import (
    QUESTION_BY_ID,
    QUESTIONS,
    SECTIONS,
    questionnaire_as_dict,
    validate_answers,
    visible_questions,
)
from governance.rules.schema import (
    Contradiction,
    Determination,
    EvidenceSpec,
    InvalidAnswer,
    LegalBasis,
    ObligationSpec,
    Outcome,
    Question,
    Role,
    ValidationOutcome,
)
from governance.rules.version import RULES_VERSION

__all__ = [
    "DATE_KEYS",
    "DEFAULT_APPLICATION_DATES",
    "EVIDENCE_KINDS",
    "OMNIBUS_APPLICATION_DATES",
    "QUESTIONS",
    "QUESTION_BY_ID",
    "RULES_VERSION",
    "SECTIONS",
    "Contradiction",
    "DatesError",
    "Determination",
    "EvidenceSpec",
    "InvalidAnswer",
    "LegalBasis",
    "ObligationSpec",
    "Outcome",
    "Question",
    "Role",
    "ValidationOutcome",
    "classify",
    "derive_obligations",
    "questionnaire_as_dict",
    "resolve_dates",
    "validate_answers",
    "visible_questions",
]
