"""A draft of the Annex IV technical documentation (Art. 11) of one AI system, assembled point by
point from what the portal knows, with every missing item flagged as a GAP that says what to
provide. The points are those of Annex IV of Regulation (EU) 2024/1689 (points 1-9, paraphrased).

Reads only. Where the portal holds evidence attached to an obligation (instructions for use under
Art. 13, human oversight under Art. 14, the declaration of conformity under Art. 47, the
post-market monitoring plan under Art. 72), the item lists those documents; the documents
themselves stay in the obligation's evidence and are not copied into the draft.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from audits.certification.choices import CERTIFIED_STATUSES, OPEN_STATUSES

# Trail verbs that describe a relevant change over the lifecycle (point 6).
CHANGE_VERBS = (
    "system.created",
    "system.updated",
    "model_version.registered",
    "model_version.deleted",
    "dataset.registered",
    "dataset.deleted",
    "classification.approved",
    "classification.overridden",
    "classification.needs_review",
    "classification.superseded",
    "submission.submitted",
    "submission.approved",
    "submission.approved_with_conditions",
    "submission.rejected",
    "certificate.issued",
    "certificate.suspended",
    "certificate.reinstated",
    "certificate.revoked",
    "certificate.expired",
    "validation.finished",
)
MAX_CHANGES = 80


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Item:
    point: str
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # what to provide, one entry per missing element
    not_applicable: str = ""
    # What a person wrote for this point (an AnnexIVEntry), attached by annex_iv_build.
    written: str = ""
    entry_id: int | None = None
    revision: int = 0
    edited_by: Any = None
    edited_at: Any = None

    @property
    def slug(self) -> str:
        """The point as a form-field and anchor name: "2(b)" -> "2b"."""
        return point_slug(self.point)

    @property
    def status(self) -> str:
        if self.not_applicable:
            return "not_applicable"
        if not self.gaps:
            return "filled"
        return "partial" if self.facts or self.tables else "gap"

    @property
    def status_label(self) -> str:
        if self.written and self.status in ("partial", "gap"):
            # The portal cannot tell whether a person's text closes a gap: it says so, it does not guess.
            return "Provider's text added — check the gaps"
        return {
            "filled": "Filled",
            "partial": "Partly filled — gaps",
            "gap": "GAP",
            "not_applicable": "Not applicable",
        }[self.status]


@dataclass
class Section:
    number: str
    title: str
    items: list[Item]


@dataclass
class AnnexIV:
    system: Any
    required: bool
    classification: str
    sections: list[Section]
    generated_at: object

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"filled": 0, "partial": 0, "gap": 0, "not_applicable": 0}
        for item in self.items:
            counts[item.status] += 1
        return counts

    @property
    def gap_count(self) -> int:
        return sum(len(item.gaps) for item in self.items)

    @property
    def written_count(self) -> int:
        return sum(1 for item in self.items if item.written)


def point_slug(point: str) -> str:
    return point.replace("(", "").replace(")", "")


def annex_iv_text_normalise(text: str) -> str:
    # Browsers send text areas with CRLF line ends; stored and hashed text uses LF, trimmed.
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def annex_iv_text_sha256(text: str) -> str:
    """The hash of a person's text, as the trail records it and the editing form sends it back."""
    return hashlib.sha256(annex_iv_text_normalise(text).encode("utf-8")).hexdigest()


# --- what the portal knows about the system --------------------------------------------------------


class _Known:
    """The records the draft is assembled from, each read once."""

    def __init__(self, system):
        from audits.certification.models import Submission
        from audits.models import ValidationRun
        from governance.selectors import current_determination

        self.system = system
        self.determination = current_determination(system=system)
        self.versions = list(system.versions.select_related("artifact", "uploaded_by").order_by("created_at"))
        self.datasets = list(system.datasets.select_related("artifact").order_by("role", "name", "version"))
        self.submissions = list(
            Submission.objects.filter(system=system)
            .select_related("model_version", "validation_run", "certificate")
            .prefetch_related("signoffs__signer")
            .order_by("-created_at")
        )
        certified = [s for s in self.submissions if s.status in CERTIFIED_STATUSES]
        self.certified = certified[0] if certified else None
        self.run = (
            self.certified.validation_run
            if self.certified
            else ValidationRun.objects.filter(system=system, status="succeeded")
            .select_related("model_version", "test_dataset", "train_dataset")
            .order_by("-finished_at")
            .first()
        )
        self.components = list(system.components.prefetch_related("threats"))
        self._evidence: dict[str, list] = {}
        self._obligations = {o.code: o for o in system.obligations.filter(applicable=True)}

    def obligation(self, code: str):
        return self._obligations.get(code)

    def evidence(self, code: str) -> list:
        from governance.models import Evidence

        if code not in self._evidence:
            self._evidence[code] = list(
                Evidence.objects.filter(obligation__system=self.system, obligation__code=code)
                .select_related("added_by", "model_version")
                .order_by("-dated_at")
            )
        return self._evidence[code]

    def results(self, *families: str) -> list:
        if self.run is None:
            return []
        return list(self.run.results.defer("charts").filter(family__in=families).order_by("check_id"))

    @property
    def latest_version(self):
        return self.versions[-1] if self.versions else None


def _evidence_table(items, caption: str) -> Table:
    return Table(
        ["Evidence", "Kind", "Dated", "sha256"],
        [[e.title, e.get_kind_display(), f"{e.dated_at:%Y-%m-%d}", e.sha256 or "—"] for e in items],
        caption=caption,
    )


def _obligation_note(known: _Known, code: str) -> list[str]:
    """The obligation's status, as a note: it says where work stands, it is not documentation."""
    obligation = known.obligation(code)
    if obligation is None:
        return []
    return [f"Obligation {obligation.article} ({obligation.title}): {obligation.get_status_display().lower()}."]


def _documented(known: _Known, item: Item, code: str, what: str, caption: str) -> Item:
    """Fill an item from the evidence attached to one obligation, or flag the gap."""
    evidence = known.evidence(code)
    item.notes += _obligation_note(known, code)
    if evidence:
        item.tables.append(_evidence_table(evidence, caption))
    else:
        item.gaps.append(what)
    return item


# --- point 1: general description ----------------------------------------------------------------


def _point_1(known: _Known) -> Section:
    system = known.system
    provider = system.organisation.name if system.operator_role == "provider" else system.third_party_vendor
    a = Item("1(a)", "Intended purpose, provider, and versions with their relation to earlier versions")
    if system.intended_use or system.purpose:
        a.facts.append(("Intended purpose", system.intended_use or system.purpose))
    if not system.intended_use:
        a.gaps.append(
            "State the intended purpose (Art. 3(12)) in the system's 'intended use': who uses it, how, "
            "on which inputs, in which context."
        )
    if provider:
        a.facts.append(("Provider", f"{provider} ({system.get_operator_role_display().lower()} role recorded)"))
    else:
        a.gaps.append("Name the provider: the system is recorded as bought in, but no vendor is named.")
    if system.affected_persons:
        a.facts.append(("Persons affected", system.affected_persons))
    if known.versions:
        a.tables.append(
            Table(
                ["Version", "Registered", "Substantial modification", "Model file sha256"],
                [
                    [
                        v.version_label,
                        f"{v.created_at:%Y-%m-%d}",
                        "yes" if v.substantial_modification else "no",
                        v.artifact.sha256,
                    ]
                    for v in known.versions
                ],
                caption="Model versions, oldest first",
            )
        )
    else:
        a.gaps.append("Register at least one model version so the documented version can be identified.")

    b = Item("1(b)", "Interaction with hardware or software, including other AI systems, not part of it")
    if known.components:
        b.tables.append(
            Table(
                ["Component", "Kind", "Description"],
                [[c.name, c.get_kind_display(), c.description or "—"] for c in known.components],
                caption="Components recorded in the threat model",
            )
        )
    b.gaps.append(
        "Describe the interfaces to other software, hardware and AI systems (inputs received, outputs "
        "consumed downstream)."
        if not known.components
        else "Confirm the component list covers every external interface and say how each one is used."
    )

    c = Item("1(c)", "Versions of relevant software or firmware, and requirements on version updates")
    versions = (known.run.reproducibility or {}).get("library_versions") if known.run else None
    if known.latest_version:
        v = known.latest_version
        c.facts.append(("Model framework", f"{v.get_framework_display()} ({v.get_task_display().lower()})"))
    if versions:
        c.facts.append(("Libraries at validation", ", ".join(f"{k} {val}" for k, val in versions.items() if val)))
    c.gaps.append(
        "State the requirements on version updates (who may update the model or its libraries, and "
        "which changes need a new conformity assessment)."
    )

    d = Item("1(d)", "Forms in which it is placed on the market or put into service")
    if system.deployment_context:
        d.facts.append(("Deployment context", system.deployment_context))
    d.gaps.append(
        "List the forms of delivery (software package, API, embedded in hardware, download)."
        if not system.deployment_context
        else "Confirm the deployment context names every form of delivery (package, API, embedded, download)."
    )

    e = Item("1(e)", "Hardware on which it is intended to run")
    e.gaps.append("Describe the hardware the system is intended to run on (the portal does not record it).")

    f = Item("1(f)", "Photographs or illustrations of the products it is a component of")
    outcome = known.determination.effective_outcome if known.determination else ""
    if outcome == "high_risk_annex_i":
        f.gaps.append(
            "Provide photographs or illustrations of the product's external features, markings and "
            "internal layout (the system is a component of an Annex I product)."
        )
    else:
        f.not_applicable = "Not classified as a component of an Annex I product."

    g = Item("1(g)", "Basic description of the user interface provided to the deployer")
    g = _documented(
        known,
        g,
        "art_13_instructions_for_use",
        "Describe the user interface given to the deployer (attach it as evidence of the Art. 13 obligation).",
        "Evidence of the Art. 13 obligation",
    )
    h = Item("1(h)", "Instructions for use for the deployer")
    h = _documented(
        known,
        h,
        "art_13_instructions_for_use",
        "Attach the instructions for use (Art. 13(3)(a)–(f), including declared accuracy metrics) as "
        "evidence of the Art. 13 obligation.",
        "Evidence of the Art. 13 obligation",
    )
    return Section("1", "General description of the AI system", [a, b, c, d, e, f, g, h])


# --- point 2: elements and development process ---------------------------------------------------


def _point_2(known: _Known) -> Section:
    version = known.latest_version
    a = Item("2(a)", "Development methods and steps, pre-trained systems and third-party tools")
    if version and version.training_data_description:
        a.facts.append(("Training", version.training_data_description))
    if known.system.third_party_vendor:
        a.facts.append(("Third-party vendor", known.system.third_party_vendor))
    a.gaps.append(
        "Describe the development steps, and any pre-trained system or third-party tool used and how it "
        "was integrated or modified."
    )

    b = Item("2(b)", "Design specifications: logic, key choices, what it optimises, expected output, trade-offs")
    if version:
        b.facts += [("Task", version.get_task_display()), ("Input features", ", ".join(version.feature_columns) or "—")]
        if version.claimed_metrics:
            b.facts.append(("Claimed metrics", ", ".join(f"{k} = {v}" for k, v in version.claimed_metrics.items())))
        if known.run and (known.run.reproducibility or {}).get("model"):
            b.facts.append(("Model type at validation", known.run.reproducibility["model"]))
    b.gaps.append(
        "Describe the general logic and algorithms, the key design choices with their rationale and "
        "assumptions about the persons concerned, what the model optimises for, and the trade-offs made."
    )

    c = Item("2(c)", "System architecture and computational resources")
    if known.components:
        c.facts.append(("Components", ", ".join(x.name for x in known.components)))
    if known.run and known.run.duration_s:
        run = known.run
        c.facts.append(
            (
                "Validation compute",
                f"{run.duration_s:.1f} s, peak memory {run.peak_memory_mb or 0:.0f} MB (validation run #{run.pk})",
            )
        )
    c.gaps.append(
        "Describe how the software components build on each other, and the compute used to develop, "
        "train, test and validate the model."
    )

    d = Item("2(d)", "Data requirements: datasheets of the training, validation and test data")
    if known.datasets:
        d.tables.append(
            Table(
                ["Dataset", "Role", "Rows × columns", "Target", "Sensitive", "Personal data columns", "sha256"],
                [
                    [
                        f"{x.name} v{x.version}",
                        x.get_role_display(),
                        f"{x.row_count:,} × {x.column_count}",
                        x.target_column or "—",
                        ", ".join(x.sensitive_columns) or "—",
                        ", ".join(x.pii_columns) or "none flagged",
                        x.artifact.sha256,
                    ]
                    for x in known.datasets
                ],
                caption="Datasets registered, with their profiles",
            )
        )
        for x in known.datasets:
            missing = [col["name"] for col in x.schema if col.get("missing_share")]
            if missing:
                d.notes.append(
                    f"{x.name} v{x.version}: missing values in {', '.join(missing[:12])}"
                    f"{' …' if len(missing) > 12 else ''}."
                )
    else:
        d.gaps.append("Register the training and test datasets so their profiles can be documented.")
    if version and version.training_data_description:
        d.facts.append(("Training data (model card)", version.training_data_description))
    d.gaps.append(
        "Document the provenance and scope of the data, how it was obtained and selected, the labelling "
        "procedures and the data-cleaning methods."
    )

    e = Item("2(e)", "Assessment of the human oversight measures (Art. 14)")
    e = _documented(
        known,
        e,
        "art_14_human_oversight",
        "Attach the human oversight assessment (Art. 14), including the aids that help deployers "
        "interpret outputs, as evidence of the Art. 14 obligation.",
        "Evidence of the Art. 14 obligation",
    )

    f = Item("2(f)", "Pre-determined changes to the system and its performance")
    flagged = [v.version_label for v in known.versions if v.substantial_modification]
    if flagged:
        f.facts.append(("Versions flagged as substantial modifications", ", ".join(flagged)))
    f.gaps.append(
        "Describe any pre-determined changes and the technical solutions that keep the system compliant "
        "(or state that none are planned)."
    )

    return Section(
        "2",
        "Detailed description of the elements and of the development process",
        [a, b, c, d, e, f, _point_2g(known), _point_2h(known)],
    )


def _point_2g(known: _Known) -> Item:
    from audits.templatetags.validation_tags import family_label

    g = Item("2(g)", "Validation and testing: procedures, data, metrics, signed and dated test reports")
    run = known.run
    if run is None:
        g.gaps.append("Run a validation of the current model version (the full suite for a high-risk system).")
        return g
    g.facts += [
        (
            "Validation run",
            f"#{run.pk}, {run.get_suite_display().lower()} suite, policy {run.policy_version}, "
            f"seed {run.seed}, finished {run.finished_at:%Y-%m-%d}",
        ),
        ("Model version", run.model_version.version_label if run.model_version else "predictions only"),
        ("Test data", str(run.test_dataset)),
    ]
    counts: dict[str, dict[str, int]] = {}
    for family, status in run.results.values_list("family", "status"):
        counts.setdefault(family, {}).setdefault(status, 0)
        counts[family][status] += 1
    g.tables.append(
        Table(
            ["Family", "Results"],
            [
                [family_label(family), ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(c.items()))]
                for family, c in sorted(counts.items())
            ],
            caption="Checks by family (accuracy, robustness, fairness and the other Section 2 requirements)",
        )
    )
    signed = [s for s in known.submissions if s.status not in OPEN_STATUSES and s.signoffs.all()]
    if signed:
        g.tables.append(
            Table(
                ["Report", "Decision", "Signed by", "Certificate"],
                [
                    [
                        f"{s.reference} (version {s.model_version.version_label}, run #{s.validation_run_id})",
                        s.get_status_display(),
                        "; ".join(
                            f"{x.signer.display_name} ({x.get_signer_role_display().lower()}, {x.created_at:%Y-%m-%d})"
                            for x in s.signoffs.all()
                        ),
                        str(s.certificate.pk) if hasattr(s, "certificate") else "—",
                    ]
                    for s in signed
                ],
                caption="Dated and signed test reports (the validation and certification report of each submission)",
            )
        )
    else:
        g.gaps.append(
            "Have the test report signed and dated by the responsible persons: submit the version for "
            "certification and complete the sign-off."
        )
    return g


def _point_2h(known: _Known) -> Item:
    h = Item("2(h)", "Cybersecurity measures")
    version = known.latest_version
    if version:
        h.facts.append(
            (
                "Model file safety scan",
                f"{version.get_scan_verdict_display()} (version {version.version_label}; pickle globals "
                "checked against an allowlist)",
            )
        )
    security = known.results("security")
    if security:
        h.tables.append(
            Table(
                ["Check", "Name", "Status"],
                [[r.check_id, r.name, r.get_status_display()] for r in security],
                caption="Security checks",
            )
        )
    else:
        h.gaps.append("Run the security checks (adversarial robustness, membership inference) in a validation.")
    h.gaps.append(
        "Describe the cybersecurity measures of the deployed system (access control, data and model "
        "poisoning defences, monitoring)."
    )
    return h


# --- points 3 to 9 -------------------------------------------------------------------------------


def _point_3(known: _Known) -> Section:
    version = known.latest_version
    item = Item("3", "Monitoring, functioning and control: capabilities, limitations, risks, oversight, inputs")
    if version and version.limitations:
        item.facts.append(("Known limitations", version.limitations))
    else:
        item.gaps.append("Record the model's known limitations in its model card.")
    rows = known.results("performance", "fairness")
    if rows:
        from audits.templatetags.validation_tags import num, threshold_text

        item.tables.append(
            Table(
                ["Check", "Name", "Value", "Threshold", "Status"],
                [[r.check_id, r.name, num(r.value), threshold_text(r.threshold), r.get_status_display()] for r in rows],
                caption="Accuracy overall and for the groups concerned",
            )
        )
    else:
        item.gaps.append("Run the performance and fairness checks to document accuracy overall and per group.")
    if version and version.feature_columns:
        item.facts.append(("Input data", ", ".join(version.feature_columns)))
    oversight = known.evidence("art_14_human_oversight")
    if oversight:
        item.facts.append(("Human oversight", "; ".join(e.title for e in oversight)))
    else:
        item.gaps.append("Describe the human oversight measures (Art. 14) and the aids to interpret outputs.")
    item.notes.append("Foreseeable unintended outcomes and sources of risk: see point 5 (the risk register).")
    return Section("3", "Monitoring, functioning and control", [item])


def _point_4(known: _Known) -> Section:
    item = Item("4", "Why the chosen performance metrics are appropriate")
    if known.run:
        thresholds = [f"{r.check_id} {r.name}" for r in known.results("performance")]
        if thresholds:
            item.facts.append(("Metrics tested", "; ".join(thresholds)))
        item.facts.append(
            (
                "Policy",
                f"validation policy {known.run.policy_version}"
                f"{' with overrides' if known.run.policy_overrides else ''}",
            )
        )
    item.gaps.append("Explain why these metrics and thresholds fit this system and the persons it affects.")
    return Section("4", "Appropriateness of the performance metrics", [item])


def _point_5(known: _Known) -> Section:
    from governance.models import Risk

    item = Item("5", "The risk management system (Art. 9)")
    item.notes += _obligation_note(known, "art_9_risk_management")
    risks = list(Risk.objects.filter(systems=known.system).prefetch_related("controls").order_by("reference"))
    if risks:
        item.tables.append(
            Table(
                ["Risk", "Category", "Inherent", "Residual", "Treatment", "Status", "Controls"],
                [
                    [
                        f"{r.reference} {r.title}",
                        r.get_category_display(),
                        str(r.inherent_score),
                        str(r.residual_score) if r.residual_score is not None else "—",
                        r.get_treatment_display(),
                        r.get_status_display(),
                        ", ".join(c.name for c in r.controls.all()) or "—",
                    ]
                    for r in risks
                ],
                caption="Risks of the system in the risk register",
            )
        )
    else:
        item.gaps.append("Identify and assess the system's risks in the risk register (link them to this system).")
    if not known.evidence("art_9_risk_management"):
        item.gaps.append(
            "Attach the description of the risk management process (Art. 9) as evidence of the Art. 9 obligation."
        )
    return Section("5", "Risk management system", [item])


def _point_6(known: _Known) -> Section:
    from audits.reports.system_trail import system_trail_events

    item = Item("6", "Relevant changes made through the lifecycle")
    events = list(
        system_trail_events(system=known.system).filter(verb__in=CHANGE_VERBS).order_by("-seq")[: MAX_CHANGES + 1]
    )
    if len(events) > MAX_CHANGES:
        item.notes.append(f"The {MAX_CHANGES} most recent changes are listed; the audit-trail export holds them all.")
        events = events[:MAX_CHANGES]
    if events:
        item.tables.append(
            Table(
                ["When (UTC)", "Change", "Object", "By", "Reason"],
                [
                    [
                        f"{e.timestamp:%Y-%m-%d %H:%M}",
                        e.verb,
                        e.object_repr,
                        e.actor_username or "portal",
                        e.reason or "—",
                    ]
                    for e in reversed(events)
                ],
                caption="From the hash-chained audit trail",
            )
        )
    else:
        item.gaps.append("No change is recorded yet.")
    return Section("6", "Changes through the lifecycle", [item])


def _point_7(known: _Known) -> Section:
    from governance.models import Evidence

    item = Item("7", "Harmonised standards applied, or the other solutions used to meet Section 2")
    standards = list(
        Evidence.objects.filter(
            obligation__system=known.system,
            obligation__applicable=True,
            title__iregex=r"(standard|\bISO\b|\bEN\b|\bIEC\b)",
        )
        .select_related("obligation")
        .order_by("title")
    )
    if standards:
        item.tables.append(_evidence_table(standards, "Evidence naming a standard"))
    else:
        item.gaps.append(
            "List the harmonised standards applied (with their OJ references) or, if none, describe the "
            "solutions and other standards used to meet Art. 8–15."
        )
    return Section("7", "Standards", [item])


def _point_8(known: _Known) -> Section:
    item = Item("8", "Copy of the EU declaration of conformity (Art. 47)")
    item = _documented(
        known,
        item,
        "art_47_eu_declaration_of_conformity",
        "Draw up the EU declaration of conformity (Annex V) and attach it as evidence of the Art. 47 obligation.",
        "Evidence of the Art. 47 obligation",
    )
    if known.certified:
        item.notes.append(
            f"The portal's certificate of {known.certified.reference} is an internal approval, not the "
            "EU declaration of conformity."
        )
    return Section("8", "EU declaration of conformity", [item])


def _point_9(known: _Known) -> Section:
    item = Item("9", "Post-market performance evaluation and the post-market monitoring plan (Art. 72)")
    item = _documented(
        known,
        item,
        "art_72_post_market_monitoring",
        "Attach the post-market monitoring plan (Art. 72(3)) as evidence of the Art. 72 obligation.",
        "Evidence of the Art. 72 obligation",
    )
    if known.certified and hasattr(known.certified, "certificate"):
        certificate = known.certified.certificate
        item.notes.append(
            f"Certificate {certificate.pk} is {certificate.status}, valid until "
            f"{certificate.valid_until:%Y-%m-%d}; a new model version, an overdue condition or a "
            "withdrawn classification suspends it automatically."
        )
    return Section("9", "Post-market monitoring", [item])


# --- assembling and rendering --------------------------------------------------------------------


def annex_iv_build(*, system) -> AnnexIV:
    from governance.choices import OutcomeChoice

    known = _Known(system)
    determination = known.determination
    if determination is None:
        classification = "not classified yet"
    else:
        classification = dict(OutcomeChoice.choices).get(
            determination.effective_outcome, determination.effective_outcome
        )
    sections = [
        _point_1(known),
        _point_2(known),
        _point_3(known),
        _point_4(known),
        _point_5(known),
        _point_6(known),
        _point_7(known),
        _point_8(known),
        _point_9(known),
    ]
    required = determination is not None and determination.effective_risk_tier == "high"
    document = AnnexIV(
        system=system, required=required, classification=classification, sections=sections, generated_at=timezone.now()
    )
    _attach_written(document)
    return document


def _attach_written(document: AnnexIV) -> None:
    """Put what people wrote beside what the portal filled, point by point."""
    from audits.reports.models import AnnexIVEntry

    entries = {e.point: e for e in AnnexIVEntry.objects.filter(system=document.system).select_related("edited_by")}
    for item in document.items:
        entry = entries.get(item.point)
        if entry is not None:
            item.written, item.revision, item.entry_id = entry.text, entry.revision, entry.pk
            item.edited_by, item.edited_at = entry.edited_by, entry.edited_at


def annex_iv_points() -> tuple[str, ...]:
    """Every point of the draft, in order (1(a) ... 9): the points a person may write text for."""
    return ANNEX_IV_POINTS


ANNEX_IV_POINTS = (
    *(f"1({c})" for c in "abcdefgh"),
    *(f"2({c})" for c in "abcdefgh"),
    *("3", "4", "5", "6", "7", "8", "9"),
)


def annex_iv_html(*, system, for_print: bool = False, links: dict | None = None) -> str:
    document = annex_iv_build(system=system)
    return render_to_string(
        "audits/reports/annex_iv.html",
        {
            "doc": document,
            "system": system,
            "for_print": for_print,
            "links": links or {},
            "draft": True,
            "draft_stamp": "DRAFT technical documentation",
            "generated_at": document.generated_at,
        },
    )


def annex_iv_pdf(*, system) -> bytes:
    from audits.reports.pdf import html_to_pdf

    return html_to_pdf(
        annex_iv_html(system=system, for_print=True),
        title=f"Annex IV technical documentation (draft): {system.name}",
        author=system.organisation.name,
    )
