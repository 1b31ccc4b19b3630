"""What each rules version changes, and what it would change for one stored determination.

Every release of the rules is listed in RELEASES with the changes a compliance officer needs to
read (an amendment of the Act, such as the Digital Omnibus moving dates or adding a prohibition,
is a release like any other). A stored determination is never rewritten: ``reassess()`` classifies
its stored answers again under the current rules and reports the difference against what was
stored (outcome, tier, legal bases, obligations and their dates), so the portal can show
"determined under version X; version Y changes: ..." and flag it for re-assessment. Only a new
submission, approved by a person, replaces it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from governance.rules.engine import classify
from governance.rules.obligations import derive_obligations
from governance.rules.version import RULES_VERSION


@dataclass(frozen=True)
class Release:
    version: str
    released: date
    changes: tuple[str, ...]
    # Application dates this release sets (key -> date); empty when it moves none.
    dates: Mapping[str, date] = field(default_factory=dict)


RELEASES: tuple[Release, ...] = (
    Release(
        "2026.11-1",
        date(2026, 11, 23),
        ("First rules version: scope, Art. 5, Art. 6 with Annex I and III, Art. 6(3), Art. 50, GPAI, Art. 25.",),
    ),
    Release(
        "2026.12-1",
        date(2026, 12, 3),
        (
            "The outcome names the regime that applies when no Art. 5 or Art. 6 route does: transparency "
            "obligations (Art. 50), general-purpose AI model (Art. 53) or GPAI model with systemic risk "
            "(Art. 51(1)(a)/(b), Art. 55); only otherwise minimal risk.",
            "Each Art. 50 duty binds the role the Act names: 50(1) and 50(2) the provider, 50(3) and 50(4) "
            "the deployer.",
            "Lawful real-time remote biometric identification cites its Art. 5(1)(h) objective and "
            "Art. 5(2)-(3) as legal bases; a deployer notifies each use (Art. 5(4)).",
            "Post-remote biometric identification by law enforcement derives Art. 26(10) (authorisation "
            "ex ante or within 48 hours, documentation, annual reports).",
            "A provider says whether it places an AI system, a general-purpose AI model or both on the "
            "market; a model alone is not asked the Art. 5, Annex I, Annex III or Art. 50 questions and gets "
            "Art. 53(1)(a)-(d), Art. 54 outside the Union, Art. 55 with systemic risk; an open-weights model "
            "below the threshold keeps 53(1)(c)-(d) and cites Art. 53(2) and 54(6) instead of Art. 54.",
            "A fine-tune using less than one third of the original model's compute leaves the model duties "
            "with the original provider.",
            "New roles: authorised representative (Art. 22 duties for high-risk systems), product "
            "manufacturer (Art. 25(3)) and 'none of these'; importer, distributor and authorised "
            "representative cite Art. 23, 24 and 22 for high-risk systems. After an Art. 25 switch a "
            "deployer keeps Art. 26, while importer, distributor and representative duties give way to the "
            "provider's.",
            "Emotion recognition at work or school is prohibited only for the emotions of workers or pupils "
            "(customers' emotions: Annex III point 1(c)); Annex I legislation is a multi-select (Section A "
            "route when acts of both sections apply); branding versus an importer's contact details "
            "(Art. 25(1)(a) / Art. 23(3)); 'Not sure' deployer type reads as a public body.",
            "The real-time face-search exception asks national law (Art. 5(5)), prior authorisation "
            "(Art. 5(3)) and FRIA with registration (Art. 5(2)) as three questions instead of one.",
            "A lawful evaluation for one specific purpose is not social scoring (recital 31); a system that "
            "performs the Annex III task itself cannot rely on the Art. 6(3) derogation.",
            "The authorised representative of a non-EU general-purpose AI model provider gets its Art. 54 tasks.",
        ),
    ),
)

RELEASE_BY_VERSION = {release.version: release for release in RELEASES}


@dataclass(frozen=True)
class Reassessment:
    """The difference the current rules make to one stored determination (empty = unaffected)."""

    from_version: str
    to_version: str
    releases: tuple[Release, ...]  # the releases after from_version, oldest first
    outcome: tuple[str, str] | None = None  # (stored, now) when they differ
    risk_tier: tuple[str, str] | None = None
    bases_added: tuple[str, ...] = ()
    bases_removed: tuple[str, ...] = ()
    obligations_added: tuple[str, ...] = ()  # "code: title"
    obligations_removed: tuple[str, ...] = ()
    dates_moved: tuple[str, ...] = ()  # "code: 2026-08-02 → 2027-12-02"

    @property
    def outdated(self) -> bool:
        return self.from_version != self.to_version

    @property
    def affected(self) -> bool:
        """The current rules give this determination a different result."""
        return any(
            (
                self.outcome,
                self.risk_tier,
                self.bases_added,
                self.bases_removed,
                self.obligations_added,
                self.obligations_removed,
                self.dates_moved,
            )
        )

    def lines(self) -> list[str]:
        """The differences in words, for the system page and the re-assessment queue."""
        lines = []
        if self.outcome:
            lines.append(f"outcome {self.outcome[0]} → {self.outcome[1]}")
        if self.risk_tier:
            lines.append(f"risk tier {self.risk_tier[0]} → {self.risk_tier[1]}")
        if self.bases_added:
            lines.append(f"legal bases added: {', '.join(self.bases_added)}")
        if self.bases_removed:
            lines.append(f"legal bases no longer cited: {', '.join(self.bases_removed)}")
        if self.obligations_added:
            lines.append(f"obligations added: {'; '.join(self.obligations_added)}")
        if self.obligations_removed:
            lines.append(f"obligations no longer derived: {'; '.join(self.obligations_removed)}")
        if self.dates_moved:
            lines.append(f"application dates moved: {'; '.join(self.dates_moved)}")
        return lines


def releases_after(version: str) -> tuple[Release, ...]:
    """The releases newer than ``version`` (all of them when the version is unknown)."""
    versions = [release.version for release in RELEASES]
    if version not in versions:
        return RELEASES
    return RELEASES[versions.index(version) + 1 :]


def _article(basis: Mapping[str, Any]) -> str:
    return basis.get("annex") or basis.get("article") or ""


def reassess(
    answers: Mapping[str, Any],
    stored: Mapping[str, Any],
    *,
    stored_obligations: Mapping[str, date] | None = None,
    dates: Mapping[str, date] | None = None,
    roles: Collection[str] | None = None,
) -> Reassessment:
    """Classify ``answers`` under the current rules and compare with the ``stored`` result
    (Determination.to_dict() as it was saved). ``stored_obligations`` maps each applicable stored
    obligation's code to its application date; without it obligations are not compared."""
    from_version = str(stored.get("rules_version") or "")
    now = classify(answers)
    current = now.to_dict()
    differences: dict[str, Any] = {}
    if stored.get("outcome") != current["outcome"]:
        differences["outcome"] = (str(stored.get("outcome")), current["outcome"])
    if stored.get("risk_tier") != current["risk_tier"]:
        differences["risk_tier"] = (str(stored.get("risk_tier")), current["risk_tier"])
    before = [_article(basis) for basis in stored.get("legal_bases", [])]
    after = [_article(basis) for basis in current["legal_bases"]]
    differences["bases_added"] = tuple(ref for ref in after if ref not in before)
    differences["bases_removed"] = tuple(ref for ref in before if ref not in after)
    if stored_obligations is not None:
        specs = {spec.code: spec for spec in derive_obligations(now, dates=dates, roles=roles)}
        differences["obligations_added"] = tuple(
            f"{code}: {spec.title}" for code, spec in specs.items() if code not in stored_obligations
        )
        differences["obligations_removed"] = tuple(code for code in stored_obligations if code not in specs)
        differences["dates_moved"] = tuple(
            f"{code}: {stored_obligations[code].isoformat()} → {spec.applies_from.isoformat()}"
            for code, spec in specs.items()
            if code in stored_obligations and stored_obligations[code] != spec.applies_from
        )
    return Reassessment(
        from_version=from_version, to_version=RULES_VERSION, releases=releases_after(from_version), **differences
    )
