"""Public certificate verification: anyone, without logging in, checks a certificate by its id or
by the file they were given, and downloads the portal's public key.

The check itself (`certificate_check_id`, `certificate_check_document`) is shared with the public
API (`audits.api.certification_views`). What it reveals is only what the certificate itself says, plus
the record's current status and since when: never the written reason for a suspension or
revocation, nor anything else of the organisation's internal data.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from audits.certification import certificates, signing
from audits.certification.choices import SignOffDecision, SubmissionStatus
from audits.certification.models import Certificate
from core.api.throttling import ClientAddressThrottle
from core.choices import Role
from core.errors import NotFound, PortalError, TooLarge, ValidationFailed
from core.input_guard import body_limit
from governance.choices import OutcomeChoice
from models_registry.choices import RiskTier

MAX_DOCUMENT_BYTES = 256 * 1024
# Room for the multipart boundaries and the other form fields around an uploaded file.
FORM_OVERHEAD_BYTES = 16 * 1024
TOO_LARGE = f"That is too large for a certificate: a certificate file is at most {MAX_DOCUMENT_BYTES // 1024} KB."
STATUS_WORDS = {
    "valid": "VALID",
    "expired": "EXPIRED",
    "suspended": "SUSPENDED",
    "revoked": "REVOKED",
    "not_yet_valid": "NOT YET VALID",
    "invalid": "NOT VALID",
}


class CertificateVerifyThrottle(ClientAddressThrottle):
    """Per client address (core.client_ip), for the public page and endpoints: they need no login,
    so this is what keeps a client from flooding the portal with signature checks and lookups. The
    rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["certificate_verify"]."""

    scope = "certificate_verify"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


@dataclass(frozen=True)
class Verification:
    """The answer to "is this certificate good?". `status` is the record's effective status
    (valid, expired, suspended, revoked, not_yet_valid) or "invalid" for a document that is not
    exactly what this portal signed and issued. `payload` and `record_status` describe what the
    portal issued under the certificate's id (taken from the record, never from an uploaded
    file), or are None when it issued nothing under that id."""

    status: str
    signature_valid: bool
    issued_by_this_portal: bool
    certificate_id: str | None
    reason: str
    payload: dict | None = None
    record_status: str | None = None
    status_since: date | None = None
    uploaded: bool = False

    @property
    def status_word(self) -> str:
        return STATUS_WORDS.get(self.status, self.status.upper())

    @property
    def record_status_word(self) -> str:
        return STATUS_WORDS.get(self.record_status or "", "")

    @property
    def good(self) -> bool:
        return self.status == "valid" and self.signature_valid and self.issued_by_this_portal

    @property
    def words(self) -> dict:
        """The payload's codes in the words people read (the choices' labels), for the page; the
        signed document and the API keep the codes."""
        payload = self.payload or {}
        return {
            "risk_tier": _label(RiskTier, payload.get("risk_tier")),
            "outcome": _label(OutcomeChoice, (payload.get("classification") or {}).get("outcome")),
            "decision": _label(SubmissionStatus, payload.get("decision")),
            "issued_at": _when(payload.get("issued_at")),
            "signers": [
                {
                    "name": signer.get("name") or signer.get("username"),
                    "role": _label(Role, signer.get("role")),
                    "decision": _label(SignOffDecision, signer.get("decision")),
                    "signed_at": _when(signer.get("signed_at")),
                }
                for signer in payload.get("signers") or []
            ],
        }

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "signature_valid": self.signature_valid,
            "issued_by_this_portal": self.issued_by_this_portal,
            "certificate_id": self.certificate_id,
            "reason": self.reason,
        }


def _label(choices, code) -> str:
    """The label of `code` in `choices`; an unknown code (a newer portal's) as it is."""
    if not code:
        return ""
    return str(dict(choices.choices).get(code, code))


def _when(value) -> str:
    """An ISO timestamp of the payload as "2026-12-02 17:11 UTC" (as it is if it does not parse)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


# --- the check ---------------------------------------------------------------------------------


def _record(certificate_id) -> Certificate | None:
    # Deliberately not restricted to an organisation: verification is public, and a certificate's
    # id is a random UUID that its holder chose to share.
    try:
        pk = uuid.UUID(str(certificate_id))
    except (TypeError, ValueError, AttributeError):
        return None
    return Certificate.objects.filter(pk=pk).first()


def _since(certificate: Certificate) -> date | None:
    return timezone.localdate(certificate.status_changed_at) if certificate.status_changed_at else None


def _status_sentence(status: str, certificate: Certificate) -> str:
    if status == "valid":
        return f"The certificate is valid until {certificate.valid_until:%Y-%m-%d}."
    if status == "expired":
        return f"The certificate expired: its validity ended on {certificate.valid_until:%Y-%m-%d}."
    if status == "not_yet_valid":
        return f"The certificate is not valid yet: its validity starts on {certificate.valid_from:%Y-%m-%d}."
    since = _since(certificate)
    if status == "suspended":
        return (
            f"The certificate is suspended{f' since {since:%Y-%m-%d}' if since else ''}: do not rely on it "
            "unless the issuing organisation lifts the suspension."
        )
    return f"The certificate was {status}{f' on {since:%Y-%m-%d}' if since else ''}: it is no longer valid."


def certificate_check_id(*, certificate_id) -> Verification:
    """The record this portal holds under `certificate_id`: its status, and whether its stored
    document's signature verifies. NotFound if the portal issued no such certificate."""
    certificate = _record(certificate_id)
    if certificate is None:
        raise NotFound(
            "No such certificate: this portal has not issued a certificate with that id.", code="no_such_certificate"
        )
    signature = signing.verify_document(certificate.document)
    status = certificates.effective_status(certificate)
    lead = (
        "Issued by this portal; " + signature.reason + "."
        if signature.ok
        else f"Issued by this portal, but its stored signature does not verify: {signature.reason}."
    )
    return Verification(
        status=status,
        signature_valid=signature.ok,
        issued_by_this_portal=True,
        certificate_id=str(certificate.pk),
        reason=f"{lead} {_status_sentence(status, certificate)}",
        payload=certificate.document.get("payload"),
        record_status=status,
        status_since=_since(certificate),
    )


def _strict_object(pairs: list[tuple[str, object]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        # JSON parsers disagree on which duplicate wins; the signing layer refuses them too.
        raise ValueError("an object has the same key twice")
    return result


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_document(data: bytes) -> dict:
    """An uploaded certificate file as a dict with the five document fields, or ValidationFailed
    (TooLarge over 256 KB) with a message a person can act on."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise TooLarge(TOO_LARGE, code="too_large", extra={"limit_bytes": MAX_DOCUMENT_BYTES})
    if not data.strip():
        raise ValidationFailed("Paste a certificate, upload its file or type its id.", code="empty")
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_strict_object, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ValidationFailed("That is not a certificate file: it is not UTF-8 text.", code="invalid_json") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise ValidationFailed(
            f"That is not a certificate file: it is not valid JSON ({exc}).", code="invalid_json"
        ) from None
    except RecursionError:
        raise ValidationFailed(
            "That is not a certificate file: it is nested too deeply.", code="invalid_json"
        ) from None
    if (
        not isinstance(document, dict)
        or not signing.DOCUMENT_FIELDS <= document.keys()
        or not isinstance(document["payload"], dict)
    ):
        raise ValidationFailed(
            "That JSON is not a certificate: a certificate is an object with the fields "
            f"{', '.join(sorted(signing.DOCUMENT_FIELDS))}, and its payload is an object.",
            code="not_a_certificate",
        )
    return document


def _payload_sha256(payload: dict) -> str | None:
    try:
        return hashlib.sha256(signing.canonical_bytes(payload)).hexdigest()
    except signing.CanonicalJSONError:
        return None


def _document_reason(signature, certificate: Certificate | None, issued: bool, status: str) -> str:
    if signature.ok and issued:
        return (
            f"This is the certificate this portal issued; {signature.reason}. {_status_sentence(status, certificate)}"
        )
    if certificate is None:
        verdict = (
            "its signature verifies with this portal's key, but"
            if signature.ok
            else f"the signature does not verify ({signature.reason}), and"
        )
        return f"Not issued by this portal: {verdict} this portal holds no certificate with the id it names."
    if not issued:
        verdict = "" if signature.ok else f" The signature does not verify: {signature.reason}."
        return (
            f"Not issued by this portal: this document differs from the certificate this portal issued under "
            f"id {certificate.pk}; it was altered.{verdict}"
        )
    return f"The content is the one this portal issued, but the signature does not verify: {signature.reason}."


def certificate_check_document(*, data: bytes) -> Verification:
    """Check an uploaded certificate: its signature, whether it is exactly (same payload SHA-256)
    a certificate this portal issued, and that certificate's status. Anything less than both is
    reported with status "invalid"."""
    document = parse_document(data)
    signature = signing.verify_document(document)
    certificate = _record(document["payload"].get("certificate_id"))
    issued = certificate is not None and _payload_sha256(document["payload"]) == certificate.payload_sha256
    record_status = certificates.effective_status(certificate) if certificate is not None else None
    status = record_status if signature.ok and issued else "invalid"
    if certificate is None:
        return Verification(
            status=status,
            signature_valid=signature.ok,
            issued_by_this_portal=False,
            certificate_id=None,
            reason=_document_reason(signature, None, False, status),
            uploaded=True,
        )
    return Verification(
        status=status,
        signature_valid=signature.ok,
        issued_by_this_portal=issued,
        certificate_id=str(certificate.pk),
        reason=_document_reason(signature, certificate, issued, status),
        payload=certificate.document.get("payload"),
        record_status=record_status,
        status_since=_since(certificate),
        uploaded=True,
    )


# --- pages ---------------------------------------------------------------------------------------


def _throttled(request) -> HttpResponse | None:
    throttle = CertificateVerifyThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = int(throttle.wait() or 60)
    return _page(
        request, error=f"Too many verification requests from your address. Try again in {wait} seconds.", status=429
    )


def _page(request, *, status: int = 200, **context) -> HttpResponse:
    context.setdefault("max_kb", MAX_DOCUMENT_BYTES // 1024)
    return render(request, "audits/certification/verify.html", context, status=status)


def _uploaded_bytes(request) -> bytes:
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size > MAX_DOCUMENT_BYTES:
            raise TooLarge(TOO_LARGE, code="too_large", extra={"limit_bytes": MAX_DOCUMENT_BYTES})
        return upload.read(MAX_DOCUMENT_BYTES + 1)
    return request.POST.get("document", "").encode("utf-8")


def _record_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


# CSRF-exempt on purpose: checking a certificate changes nothing, needs no session, and the size
# check must come before anything (the CSRF middleware included) reads the request body.
@csrf_exempt
@body_limit(MAX_DOCUMENT_BYTES + FORM_OVERHEAD_BYTES)  # nor the input guard (core.input_guard)
@require_http_methods(["GET", "POST"])
def certificate_verify(request):
    """The verification page: paste a certificate, upload its file, or type its id."""
    if request.method == "GET":
        typed = request.GET.get("id", "").strip()
        if not typed:
            return _page(request)
        pk = _record_id(typed)
        if pk is None:
            return _page(
                request,
                error="That is not a certificate id: an id looks like 3f2b8c1e-5d4a-4b6e-9c7d-1a2b3c4d5e6f.",
                typed_id=typed,
                status=400,
            )
        return redirect("certificate_verify_id", pk=pk)
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_DOCUMENT_BYTES + FORM_OVERHEAD_BYTES:
        return _page(request, error=TOO_LARGE, status=413)
    throttled = _throttled(request)
    if throttled:
        return throttled
    try:
        result = certificate_check_document(data=_uploaded_bytes(request))
    except PortalError as exc:
        # What was pasted stays in the box, so a typo can be fixed instead of pasted again.
        return _page(
            request,
            error=exc.message,
            pasted=request.POST.get("document", "")[:MAX_DOCUMENT_BYTES],
            status=exc.status_code,
        )
    return _page(request, result=result)


@require_GET
def certificate_verify_id(request, pk):
    """The public status of one certificate, by id: what a certificate's verification URL opens."""
    throttled = _throttled(request)
    if throttled:
        return throttled
    try:
        result = certificate_check_id(certificate_id=pk)
    except NotFound as exc:
        return _page(request, not_found=exc.message, typed_id=str(pk), status=404)
    return _page(request, result=result)


@require_GET
def certificate_public_key(request):
    """The portal's public signing key (PEM), for offline checks with tools/verify_certificate.py.
    PEM readers skip the key-id line above the key."""
    key_id = signing.key_id()
    body = f"Key id: {key_id}\n{signing.public_key_pem()}"
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["X-Certificate-Key-Id"] = key_id
    response["Content-Disposition"] = 'inline; filename="portal-public-key.pem"'
    return response
