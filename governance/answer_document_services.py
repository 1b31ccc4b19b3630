"""A document attached to an answer of the classification draft (issue #14): the evidence behind
one answer, next to its reason and link. The file is stored once per organisation under its
SHA-256 (the same place obligation evidence lives, ``governance/evidence/<org>/<sha256>``); the
draft's ``answer_notes[question]["document"]`` holds the reference, and submission copies it to
the determination. Attaching and detaching are recorded in the trail."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from core.errors import NotAllowed, ValidationFailed
from core.models import User
from core.permissions import has_permission
from core.trail import audit_record
from governance.models import ClassificationDraft
from governance.rules.questionnaire import QUESTION_BY_ID, visible_answers
from models_registry.models import AISystem

DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
# Extension -> (content type served, the bytes the file must start with; None: text, no NUL byte).
DOCUMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "pdf": ("application/pdf", (b"%PDF",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "txt": ("text/plain", None),
    "csv": ("text/csv", None),
    "md": ("text/markdown", None),
}
NAME_MAX = 200
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def document_storage_key(organisation_id: int, sha256: str) -> str:
    """Where an organisation's document with these bytes is stored (refuses anything but a digest)."""
    if not _SHA256.match(sha256 or ""):
        raise ValidationFailed("Not a document reference.", code="invalid_document")
    return f"governance/evidence/{int(organisation_id)}/{sha256}"


def clean_file_name(name: str) -> str:
    """The file's own name, without any folder a browser or client sent, control characters or
    leading dots; at most 200 characters, keeping the extension."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".").strip()
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: NAME_MAX - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:NAME_MAX]
    return name


def _require_drafter(actor: User, system: AISystem) -> None:
    if not has_permission(actor, "classification.draft") or actor.organisation_id != system.organisation_id:
        raise NotAllowed("Your role cannot attach evidence to the classification answers.")


def _answered(draft: ClassificationDraft | None, question_id: str) -> None:
    if question_id not in QUESTION_BY_ID:
        raise ValidationFailed(f"There is no question {question_id!r}.", code="unknown_question")
    if draft is None or question_id not in visible_answers(draft.answers):
        raise ValidationFailed(
            "Answer this question in the draft before attaching a document to it.", code="question_not_answered"
        )


def _check_file(uploaded_file: File) -> tuple[str, str, int]:
    """The sanitised name, the content type and the size of an acceptable file; else a 400."""
    size = uploaded_file.size or 0
    if size == 0:
        raise ValidationFailed("The file is empty.", code="empty_file")
    if size > DOCUMENT_MAX_BYTES:
        raise ValidationFailed(
            f"The file is {size / (1024 * 1024):.1f} MB; documents are limited to "
            f"{DOCUMENT_MAX_BYTES // (1024 * 1024)} MB.",
            code="file_too_large",
            extra={"max_bytes": DOCUMENT_MAX_BYTES},
        )
    name = clean_file_name(uploaded_file.name or "")
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in DOCUMENT_TYPES:
        raise ValidationFailed(
            "Attach a " + ", ".join(sorted(DOCUMENT_TYPES)) + " file.",
            code="file_type_not_allowed",
            extra={"allowed": sorted(DOCUMENT_TYPES)},
        )
    content_type, magic = DOCUMENT_TYPES[extension]
    uploaded_file.seek(0)
    head = uploaded_file.read(8192)
    uploaded_file.seek(0)
    if (magic is None and b"\x00" in head) or (magic is not None and not head.startswith(magic)):
        raise ValidationFailed(f"The file's content is not that of a .{extension} file.", code="file_content_mismatch")
    return name, content_type, size


def _store(organisation_id: int, uploaded_file: File) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    sha256 = digest.hexdigest()
    key = document_storage_key(organisation_id, sha256)
    if not default_storage.exists(key):
        uploaded_file.seek(0)
        stored = default_storage.save(key, uploaded_file)
        if stored != key:  # another upload of the same bytes won the race; keep one copy
            default_storage.delete(stored)
    return sha256


def answer_document_attach(
    *, system: AISystem, question_id: str, actor: User, uploaded_file: File
) -> ClassificationDraft:
    """Attach a document to an answer of the draft (replacing the one it had). Everything is
    checked before a byte is stored: the role, that the question is answered, the size (1 byte to
    10 MB), the extension and that the content starts as such a file does."""
    _require_drafter(actor, system)
    _answered(ClassificationDraft.objects.filter(system=system).first(), question_id)
    name, content_type, size = _check_file(uploaded_file)
    sha256 = _store(system.organisation_id, uploaded_file)
    reference = {
        "sha256": sha256,
        "name": name,
        "size": size,
        "content_type": content_type,
        "added_by": actor.pk,
        "added_at": timezone.now().isoformat(),
    }
    with transaction.atomic():
        draft = ClassificationDraft.objects.select_for_update().filter(system=system).first()
        _answered(draft, question_id)
        assert draft is not None
        notes: dict[str, Any] = {q: dict(n) for q, n in draft.answer_notes.items()}
        note = notes.setdefault(question_id, {"reason": "", "link": ""})
        before = note.get("document")
        note["document"] = reference
        draft.answer_notes = notes
        draft.save(update_fields=["answer_notes", "updated_at"])
        audit_record(
            verb="classification.answer_document_attached",
            target=system,
            actor=actor,
            before={"question": question_id, "document": _summary(before)} if before else None,
            after={"question": question_id, "document": _summary(reference)},
        )
    return draft


def answer_document_detach(*, system: AISystem, question_id: str, actor: User) -> ClassificationDraft:
    """Take the document off an answer of the draft. The stored file stays: the same bytes may be
    the evidence of a submitted determination or of an obligation."""
    _require_drafter(actor, system)
    with transaction.atomic():
        draft = ClassificationDraft.objects.select_for_update().filter(system=system).first()
        note = dict((draft.answer_notes if draft else {}).get(question_id) or {})
        if draft is None or not note.get("document"):
            raise ValidationFailed("This answer has no document attached.", code="no_document")
        before = note.pop("document")
        notes = dict(draft.answer_notes)
        if note.get("reason") or note.get("link"):
            notes[question_id] = note
        else:
            notes.pop(question_id)
        draft.answer_notes = notes
        draft.save(update_fields=["answer_notes", "updated_at"])
        audit_record(
            verb="classification.answer_document_detached",
            target=system,
            actor=actor,
            before={"question": question_id, "document": _summary(before)},
        )
    return draft


def _summary(reference: dict) -> dict:
    return {key: reference.get(key) for key in ("sha256", "name", "size", "content_type")}
