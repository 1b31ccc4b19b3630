"""Time `giskard.scan(model, dataset)` on one benchmark case, inside Giskard's own venv.

Run as: `<giskard venv>/bin/python bench/peer_runners/giskard_scan.py DATASET SPLITS MODEL OUT_JSON`.
The scan is Giskard's default for a classification model on the test split. It must not reach the
network: analytics are off (GSK_DISABLE_ANALYTICS) and the Hugging Face hub is offline. Its default
classification detectors are all tabular; the two text detectors (text perturbation, ethical bias)
only act on text columns, and the data has none (every non-numeric column is declared categorical),
so they run and find nothing. No LLM detector applies to a classification model.
"""

from __future__ import annotations

import os

os.environ.setdefault("GSK_DISABLE_ANALYTICS", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from _common import Measure, args, load_case, write  # noqa: E402

# Detectors that only perturb text columns: they run, and find nothing, on data without any.
TEXT_ONLY = ("EthicalBiasDetector", "TextPerturbationDetector")


def main() -> None:
    dataset, folder, model_kind, out = args()
    import logging

    import giskard

    # Its INFO log (one line per prediction call) would go to our log file: not part of the scan's cost.
    logging.getLogger("giskard").setLevel(logging.WARNING)
    train, test, pipeline, features, categorical, target, fit_s = load_case(dataset, folder, model_kind)
    model = giskard.Model(
        model=pipeline,
        model_type="classification",
        name=f"{dataset}-{model_kind}",
        classification_labels=[str(c) for c in pipeline.classes_],
        feature_names=features,
    )
    data = giskard.Dataset(df=test, target=target, cat_columns=categorical, name=f"{dataset}-test")
    with Measure() as m:
        report = giskard.scan(model, data, verbose=False)
    detectors = list(getattr(report, "detectors_names", []) or [])
    text_columns = [c for c, kind in data.column_types.items() if kind == "text"]
    text_only = [] if text_columns else [d for d in detectors if d in TEXT_ONLY]
    write(
        out,
        {
            "tool": "giskard",
            "version": giskard.__version__,
            "wall_s": m.wall_s,
            "cpu_s": m.cpu_s,
            "peak_mb": m.peak_mb,
            "process_peak_mb": m.process_peak_mb,
            "fit_s": fit_s,
            "checks": len(detectors),
            "applicable": len(detectors) - len(text_only),
            "not_applicable_or_failed": text_only,
            "check_names": detectors,
            "issues": len(report.issues),
            "issue_groups": sorted({getattr(i.group, "name", str(i.group)) for i in report.issues}),
            "rows": len(test),
            "unit": "detectors",
        },
    )


if __name__ == "__main__":
    main()
