"""Time Deepchecks' tabular `full_suite()` on one benchmark case, inside Deepchecks' own venv.

Run as: `<deepchecks venv>/bin/python bench/peer_runners/deepchecks_suite.py DATASET SPLITS MODEL OUT_JSON`.
The suite gets the train and test splits and the fitted pipeline, as a user would run it. Anonymous
telemetry is switched off.
"""

from __future__ import annotations

import os

os.environ.setdefault("DISABLE_DEEPCHECKS_ANONYMOUS_TELEMETRY", "True")

from _common import Measure, args, load_case, write  # noqa: E402


def main() -> None:
    dataset, folder, model_kind, out = args()
    import deepchecks
    from deepchecks.tabular import Dataset
    from deepchecks.tabular.suites import full_suite

    train, test, pipeline, features, categorical, target, fit_s = load_case(dataset, folder, model_kind)
    train_ds = Dataset(train, label=target, cat_features=categorical)
    test_ds = Dataset(test, label=target, cat_features=categorical)
    suite = full_suite()
    with Measure() as m:
        result = suite.run(train_dataset=train_ds, test_dataset=test_ds, model=pipeline)
    # One check can give a result per split; a CheckFailure is a check that did not apply or broke.
    names = list(dict.fromkeys(type(r.check).__name__ for r in result.results))
    failed = sorted({type(r.check).__name__ for r in result.results if type(r).__name__ == "CheckFailure"})
    write(
        out,
        {
            "tool": "deepchecks",
            "version": deepchecks.__version__,
            "wall_s": m.wall_s,
            "cpu_s": m.cpu_s,
            "peak_mb": m.peak_mb,
            "process_peak_mb": m.process_peak_mb,
            "fit_s": fit_s,
            "checks": len(suite.checks),
            "applicable": len(set(names) - set(failed)),
            "check_names": names,
            "not_applicable_or_failed": failed,
            "results": len(result.results),
            "rows": len(test),
            "unit": "checks",
        },
    )


if __name__ == "__main__":
    main()
