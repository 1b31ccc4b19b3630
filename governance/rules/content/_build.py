"""Small builders that keep the questionnaire content readable as data."""

from __future__ import annotations

from governance.rules.conditions import Condition
from governance.rules.references import refs
from governance.rules.schema import MULTI, SINGLE, YES_NO_UNSURE, Option, Question


def yn(
    id: str,
    section: str,
    text: str,
    *,
    refs_: tuple[str, ...],
    unsure_means: str,
    visible_if: Condition | None = None,
    help: str = "",
) -> Question:
    """A yes/no/unsure question; ``unsure_means`` is "yes" (stricter) or "no" (no relief)."""
    if unsure_means not in ("yes", "no"):
        raise ValueError(f"{id}: unsure_means must be 'yes' or 'no'")
    return Question(
        id=id,
        section=section,
        text=text,
        kind=YES_NO_UNSURE,
        references=refs(*refs_),
        help=help,
        visible_if=visible_if,
        unsure_means=unsure_means,
    )


def choice(
    id: str,
    section: str,
    text: str,
    *,
    refs_: tuple[str, ...],
    options: tuple[tuple[str, str], ...],
    multi: bool = False,
    exclusive: tuple[str, ...] = (),
    visible_if: Condition | None = None,
    help: str = "",
) -> Question:
    """A single- or multi-select question; ``exclusive`` options cannot be combined."""
    return Question(
        id=id,
        section=section,
        text=text,
        kind=MULTI if multi else SINGLE,
        references=refs(*refs_),
        help=help,
        options=tuple(Option(value, label, value in exclusive) for value, label in options),
        visible_if=visible_if,
    )
