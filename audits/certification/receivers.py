"""Automatic suspension: what other apps announce, and what it means for live certificates.
The decisions live in `audits.certification.certificates`; these functions only adapt."""

from __future__ import annotations

from audits.certification import certificates


def on_version_registered(sender, version, actor=None, **kwargs) -> None:
    certificates.certificates_suspend_for_system(
        system=version.system,
        exclude_version_id=version.pk,
        reason=f"Model version {version.version_label} was registered for this system; the certificate covers "
        "another version. Certify the new version, or lift the suspension if the certified one stays in use.",
    )


def on_classification_needs_review(sender, system, determination, reason="", **kwargs) -> None:
    certificates.certificates_suspend_for_system(
        system=system, reason=f"The EU AI Act classification the certificate relies on needs review: {reason}"
    )


def on_classification_approved(sender, system, determination, **kwargs) -> None:
    from audits.certification.choices import CertificateStatus
    from audits.certification.models import Certificate

    new = (determination.effective_outcome, determination.effective_risk_tier)
    for certificate in Certificate.objects.filter(system=system, status=CertificateStatus.VALID):
        frozen = certificate.submission.frozen["classification"]
        if (frozen["outcome"], frozen["risk_tier"]) != new:
            certificates.certificate_suspend(
                certificate=certificate,
                reason=f"The classification the certificate relies on was replaced: {frozen['risk_tier']} "
                f"({frozen['outcome']}) is now {new[1]} ({new[0]}).",
            )


def connect() -> None:
    from governance.events import classification_approved, classification_needs_review
    from models_registry.signals import version_registered

    version_registered.connect(on_version_registered, dispatch_uid="audits.certification.on_version_registered")
    classification_needs_review.connect(
        on_classification_needs_review, dispatch_uid="audits.certification.on_classification_needs_review"
    )
    classification_approved.connect(
        on_classification_approved, dispatch_uid="audits.certification.on_classification_approved"
    )
