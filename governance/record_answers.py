"""What an AI system's registry record already says, as answers the questionnaire may offer
(issue #14, fewer questions). An offer is shown next to an unanswered question ("The system's
record says: ...") with a button that answers it; nothing is ever preselected, and an answer
already given is never replaced.

Django-free on purpose: it reads the record through plain attributes (`SystemRecord`), so the
mapping is tested without a database and stays next to the rules it feeds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from governance.rules import QUESTION_BY_ID

# Affected groups that are the workers (job candidates included) or the pupils and students of
# Art. 5(1)(f): emotion recognition of these people at work or in education is prohibited.
WORKERS_OR_STUDENTS = ("employees", "job_applicants", "students")


class SystemRecord(Protocol):
    operator_role: str
    sector: str
    affected_groups: list[str]

    def get_operator_role_display(self) -> str: ...

    def get_sector_display(self) -> str: ...

    @property
    def affected_group_labels(self) -> list[str]: ...


@dataclass(frozen=True)
class Offer:
    """An answer for `question_id` taken from the record: `says` is what the record says, in its
    own words, and `answer` the value the one-click button stores."""

    question_id: str
    says: str
    answer: Any

    @property
    def answer_label(self) -> str:
        """A yes/no answer's label for the button ("Yes"); blank for a choice, whose record value
        the offer already names."""
        return QUESTION_BY_ID[self.question_id].label_for(self.answer) if isinstance(self.answer, str) else ""


def _role(record: SystemRecord) -> Offer | None:
    if not record.operator_role:
        return None
    return Offer("roles", record.get_operator_role_display(), [record.operator_role])


def _sector(record: SystemRecord) -> Offer | None:
    if not record.sector:  # blank: the record does not say
        return None
    return Offer("annex3_areas", record.get_sector_display(), [record.sector])


def _workers_or_students(record: SystemRecord) -> Offer | None:
    groups = record.affected_groups or []
    if not any(group in WORKERS_OR_STUDENTS for group in groups):
        return None  # customers, patients, the public...: the record cannot tell, so no suggestion
    return Offer("art5_f_workers_or_students", "it affects " + ", ".join(record.affected_group_labels), "yes")


OFFERS: tuple[Callable[[SystemRecord], Offer | None], ...] = (_role, _sector, _workers_or_students)


def _valid(offer: Offer) -> bool:
    """An offer the rules would refuse (a code they no longer know) is not offered."""
    question = QUESTION_BY_ID.get(offer.question_id)
    values = offer.answer if isinstance(offer.answer, list) else [offer.answer]
    return question is not None and all(value in question.allowed_values for value in values)


def record_offers(record: SystemRecord, answers: Mapping[str, Any]) -> dict[str, Offer]:
    """The offers, by question id, for the questions not answered yet in ``answers``."""
    offers = {}
    for build in OFFERS:
        offer = build(record)
        if offer is not None and not answers.get(offer.question_id) and _valid(offer):
            offers[offer.question_id] = offer
    return offers


def answer_from_record(question_id: str, record: SystemRecord, answers: Mapping[str, Any]) -> dict[str, Any]:
    """``answers`` with ``question_id`` answered as the record says, if it is offered; unchanged
    (a copy) for a question the record says nothing about or one already answered."""
    offer = record_offers(record, answers).get(question_id)
    return {**answers, question_id: offer.answer} if offer else dict(answers)
