"""Application dates of the AI Act, as data an administrator can override.

Baseline: Art. 113 of Regulation (EU) 2024/1689 as published (OJ L, 12.7.2024), which stays the
legal baseline until the Digital Omnibus amendment is published in the Official Journal.

Digital Omnibus status (reference file, section 18, pages up to early July 2026): the Council gave
its final approval on 29 June 2026; publication in the OJ was still pending and not confirmed. The
adopted compromise, as reported, moves stand-alone (Annex III) high-risk duties to 2 Dec 2027
and product-embedded (Annex I) high-risk duties to 2 Aug 2028, keeps the other Art. 50 duties on
2 Aug 2026, and ends the Art. 50(2) marking grace for systems already on the market on 2 Dec 2026.
That is why Annex III has its own key here although it equals "general" in the published text.
Switch to OMNIBUS_APPLICATION_DATES only once an OJ reference exists.

Not modelled as keys: GPAI models placed on the market before 2 Aug 2025 comply by 2 Aug 2027
(Art. 111(3)); high-risk systems used by public authorities and placed on the market before
2 Aug 2026 comply by 2 Aug 2030 (Art. 111(2)).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from types import MappingProxyType

DEFAULT_APPLICATION_DATES: Mapping[str, date] = MappingProxyType(
    {
        # Chapters I and II: Art. 4 AI literacy and Art. 5 prohibitions (Art. 113(a)).
        "prohibitions_literacy": date(2025, 2, 2),
        # Chapter V: general-purpose AI model obligations (Art. 113(b)).
        "gpai": date(2025, 8, 2),
        # General date of application, including Art. 50 transparency (Art. 113).
        "general": date(2026, 8, 2),
        # Annex III high-risk systems, Art. 6(2) (Art. 113); Omnibus as reported: 2 Dec 2027.
        "annex_iii": date(2026, 8, 2),
        # Art. 6(1) / Annex I product route and its obligations (Art. 113(c)); Omnibus: 2 Aug 2028.
        "annex_i": date(2027, 8, 2),
    }
)

OMNIBUS_APPLICATION_DATES: Mapping[str, date] = MappingProxyType(
    {
        **DEFAULT_APPLICATION_DATES,
        "annex_iii": date(2027, 12, 2),
        "annex_i": date(2028, 8, 2),
    }
)

DATE_KEYS: tuple[str, ...] = tuple(DEFAULT_APPLICATION_DATES)


class DatesError(ValueError):
    """An application-dates table is incomplete or holds something other than dates."""


def resolve_dates(overrides: Mapping[str, date] | None = None) -> dict[str, date]:
    """The defaults with ``overrides`` applied; unknown keys or non-dates fail loudly."""
    resolved = dict(DEFAULT_APPLICATION_DATES)
    for key, value in (overrides or {}).items():
        if key not in resolved:
            raise DatesError(f"unknown application-date key {key!r}; expected one of {DATE_KEYS}")
        # datetime is a subclass of date; refuse it so a timezone never shifts a legal date.
        if not isinstance(value, date) or type(value) is not date:
            raise DatesError(f"{key}: expected a datetime.date, got {type(value).__name__}")
        resolved[key] = value
    return resolved


# How long an organisation gives itself, by default, to meet a duty that already applies when a
# system is classified (an organisation setting overrides it).
DEFAULT_PLAN_LEAD_DAYS = 90


def default_plan_date(*, applies_from: date, classified_on: date, lead_days: int = DEFAULT_PLAN_LEAD_DAYS) -> date:
    """The organisation's default plan date for a duty: ``lead_days`` after classification, or
    the legal applies-from date when that lies further ahead. The applies-from date is the law's;
    the plan date is the organisation's commitment, so a duty that already applied on the day of
    classification is not overdue on that day."""
    if lead_days < 0:
        raise DatesError(f"the plan lead time must be zero or more days, got {lead_days}")
    return max(applies_from, classified_on + timedelta(days=lead_days))
