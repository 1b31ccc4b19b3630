"""What a submission freezes: the hashes of the model and datasets, a digest of the validation
results and the classification. Plain functions over model instances; no writes."""

from __future__ import annotations

import hashlib
import json

RESULT_FIELDS = ("check_id", "status", "severity", "value", "threshold", "ci")


def _digest(data) -> str:
    # Sorted keys and no whitespace: the same data always gives the same bytes. NaN is refused
    # (stored values are finite or null), so the digest never depends on a float's spelling.
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def result_rows(run) -> list[dict]:
    """The parts of each check result that make the verdict, in check order."""
    rows = run.results.order_by("check_id").values(*RESULT_FIELDS)
    return [dict(row) for row in rows]


def results_digest(run) -> str:
    return _digest(result_rows(run))


def snapshot_digest(frozen: dict) -> str:
    return _digest(frozen)


def _dataset(role: str, dataset) -> dict:
    return {
        "role": role,
        "id": dataset.pk,
        "name": dataset.name,
        "version": dataset.version,
        "sha256": dataset.artifact.sha256,
        "rows": dataset.row_count,
        "file_name": dataset.artifact.original_name,
    }


def freeze(*, model_version, run, determination) -> dict:
    counts: dict[str, int] = {}
    for status in run.results.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    datasets = [_dataset("test", run.test_dataset)]
    if run.train_dataset_id:
        datasets.insert(0, _dataset("train", run.train_dataset))
    return {
        "model": {
            "version_id": model_version.pk,
            "version_label": model_version.version_label,
            "sha256": model_version.artifact.sha256,
            "size": model_version.artifact.size,
            "framework": model_version.framework,
            "file_name": model_version.artifact.original_name,
            "scan_verdict": model_version.scan_verdict,
        },
        "datasets": datasets,
        "validation": {
            "run_id": run.pk,
            "suite": run.suite,
            "policy_version": run.policy_version,
            "policy_sha256": _digest(run.policy),
            "seed": run.seed,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "results_sha256": results_digest(run),
            "counts": counts,
        },
        "classification": {
            "determination_id": determination.pk,
            "number": determination.number,
            "outcome": determination.effective_outcome,
            "risk_tier": determination.effective_risk_tier,
            "rules_version": determination.rules_version,
            "overridden": bool(determination.override_outcome),
            "approved_by": determination.approved_by.username if determination.approved_by_id else None,
            "approved_at": determination.approved_at.isoformat() if determination.approved_at else None,
            "answer_evidence": answer_evidence(determination),
        },
    }


def answer_evidence(determination) -> dict:
    """Each answer's reason, evidence link and document (its SHA-256 and name) as the determination
    holds them (issue #14): frozen with the submission, and so signed into its certificate, the
    record of what backed the classification cannot change afterwards."""
    evidence = {}
    for qid, note in sorted((determination.answer_notes or {}).items()):
        if not isinstance(note, dict):
            continue
        document = note.get("document") if isinstance(note.get("document"), dict) else None
        evidence[qid] = {
            "reason": note.get("reason", ""),
            "link": note.get("link", ""),
            "document": {"sha256": document.get("sha256"), "name": document.get("name")} if document else None,
        }
    return evidence


def results_diff(original, rerun) -> dict:
    """Check-by-check comparison of two runs' results. `identical` only if every row matches."""
    before = {row["check_id"]: row for row in result_rows(original)}
    after = {row["check_id"]: row for row in result_rows(rerun)}
    rows = []
    for check_id in sorted(before.keys() | after.keys()):
        old, new = before.get(check_id), after.get(check_id)
        rows.append(
            {
                "check_id": check_id,
                "before": old,
                "after": new,
                "same": old == new,
                "changed": [f for f in RESULT_FIELDS[1:] if (old or {}).get(f) != (new or {}).get(f)],
            }
        )
    return {
        "identical": all(r["same"] for r in rows),
        "rows": rows,
        "before_sha256": _digest(list(before.values())),
        "after_sha256": _digest(list(after.values())),
        "changed_count": sum(not r["same"] for r in rows),
    }
