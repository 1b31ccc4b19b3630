"""Edge-case family (catalogue 4.3): feed the model inputs it will meet in production sooner or
later and check that it either copes or refuses loudly. A model exception is always evidence,
never an exception escaping the check.

Probes of one kind are scored in one concatenated call; only if that call crashes are they
re-run one by one to find which probe is responsible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._frame import categorical_columns, numeric_columns
from .base import ModelCallError, Outcome, Predictions, RunOptions, ValidationContext, not_evaluable
from .registry import check

F = "edge_cases"
ROB = "Art. 15(4)"
ACC = "Art. 15(1)"


@dataclass
class Probe:
    name: str
    X: pd.DataFrame
    kind: str = "value"  # "inf" probes may be rejected loudly without failing
    error: str | None = None
    pred: Predictions | None = None
    problems: tuple = ()


def contract_problems(ctx: ValidationContext, p: Predictions, n: int) -> list[str]:
    """Violations of the output contract (EDGE-06) in one prediction batch."""
    out = []
    if len(p.y_pred) != n:
        out.append(f"predict returned {len(p.y_pred)} values for {n} rows")
        return out
    if ctx.task == "regression":
        bad = ~np.isfinite(p.y_pred.astype(float))
        if bad.any():
            out.append(f"{int(bad.sum())} non-finite regression outputs")
        return out
    unknown = ctx.codes(p.y_pred) < 0
    if unknown.any():
        out.append(f"{int(unknown.sum())} predicted labels are not in classes_")
    if p.proba is not None:
        k = len(ctx.classes)
        if p.proba.shape != (n, k):
            return out + [f"predict_proba shape {p.proba.shape}, expected {(n, k)}"]
        tol = ctx.policy.edge_cases.proba_atol
        if not np.isfinite(p.proba).all():
            out.append(f"{int((~np.isfinite(p.proba)).any(axis=1).sum())} rows with non-finite probabilities")
        elif ((p.proba < -tol) | (p.proba > 1 + tol)).any():
            out.append(
                f"{int(((p.proba < -tol) | (p.proba > 1 + tol)).any(axis=1).sum())} rows with "
                f"probabilities outside [0, 1]"
            )
        sums = p.proba.sum(axis=1)
        if (np.abs(sums - 1) > tol).any():
            out.append(f"{int((np.abs(sums - 1) > tol).sum())} rows whose probabilities do not sum to 1")
        top2 = np.sort(p.proba, axis=1)[:, -2:] if k > 1 else None
        tie = (top2[:, 1] - top2[:, 0] < 1e-9) if top2 is not None else np.zeros(n, bool)
        mismatch = (ctx.codes(p.y_pred) != p.proba.argmax(axis=1)) & ~tie
        if mismatch.any():
            out.append(f"{int(mismatch.sum())} rows where predict != argmax(predict_proba)")
    return out


def run_probes(ctx: ValidationContext, probes: list[Probe]) -> list[Probe]:
    if not probes:
        return probes
    sizes = [len(p.X) for p in probes]
    same_cols = all(list(p.X.columns) == list(probes[0].X.columns) for p in probes)
    if same_cols:
        try:
            pred = ctx.score(pd.concat([p.X for p in probes], ignore_index=True))
            bounds = np.cumsum([0, *sizes])
            for p, a, b in zip(probes, bounds[:-1], bounds[1:]):
                p.pred = Predictions(pred.y_pred[a:b], None if pred.proba is None else pred.proba[a:b], pred.classes)
        except ModelCallError:
            pass  # find the culprits one by one below
    for p in probes:
        if p.pred is None:
            try:
                p.pred = ctx.score(p.X)
            except ModelCallError as exc:
                p.error = f"{exc.exc_type}: {exc.exc_text}"
                continue
        p.problems = tuple(contract_problems(ctx, p.pred, len(p.X)))
    return probes


def _sample(ctx: ValidationContext, check_id: str) -> pd.DataFrame:
    idx = ctx.sample_index("test", ctx.policy.edge_cases.sample_size, check_id)
    return ctx.X("test").iloc[idx].reset_index(drop=True)


def _changed(ctx: ValidationContext, base: Predictions, p: Predictions) -> float:
    if ctx.task == "regression":
        a, b = base.y_pred.astype(float), p.y_pred.astype(float)
        return float(np.mean(np.abs(a - b) > ctx.policy.robustness.regression_rel_change * np.abs(a)))
    return float(np.mean(base.y_pred != p.y_pred))


def _summarise(
    ctx: ValidationContext, probes: list[Probe], base: Predictions, what: str, *, tolerate_inf: bool = False
) -> Outcome:
    rows, crashed, invalid, rejected = [], [], [], []
    for p in probes:
        row = {"probe": p.name, "rows": len(p.X), "error": p.error, "problems": list(p.problems)}
        if p.pred is not None and len(p.pred.y_pred) == len(base.y_pred):
            row["changed_prediction_rate"] = _changed(ctx, base, p.pred)
        rows.append(row)
        if p.error and tolerate_inf and p.kind == "inf":
            rejected.append(p.name)
        elif p.error:
            crashed.append(p)
        elif p.problems:
            invalid.append(p)
    if crashed or invalid:
        first = (crashed or invalid)[0]
        summary = (
            f"The model crashed on {len(crashed)} and gave invalid output on {len(invalid)} of "
            f"{len(probes)} {what} probes; first: {first.name}: "
            f"{first.error or '; '.join(first.problems)}"
        )
        return Outcome(
            status="fail",
            value=len(crashed) + len(invalid),
            summary=summary,
            details={"probes": rows},
            severity="high",
            affected=[p.name for p in crashed + invalid],
            evidence=[
                {"probe": p.name, "exception": p.error, "problems": list(p.problems)} for p in (crashed + invalid)[:10]
            ],
        )
    shifts = [r.get("changed_prediction_rate", 0.0) for r in rows]
    worst = int(np.argmax(shifts)) if shifts else 0
    status = "warn" if rejected else "pass"
    summary = (
        f"All {len(probes)} {what} probes returned valid output"
        + (f" except {len(rejected)} infinite-value probes that were rejected with an error" if rejected else "")
        + (f"; largest prediction shift {shifts[worst]:.1%} ({rows[worst]['probe']})." if shifts else ".")
    )
    return Outcome(
        status=status,
        value=max(shifts, default=0.0),
        summary=summary,
        details={"probes": rows},
        severity="low" if rejected else None,
        affected=rejected or None,
        evidence=[r for r in rows if r["probe"] in rejected] or None,
    )


# ---- EDGE-01 -----------------------------------------------------------------------------------
@check(
    "EDGE-01",
    F,
    "Missing-value injection",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Handle missing values inside the model pipeline (imputation or native "
    "support) or validate inputs and return a documented error.",
)
def missing_injection(ctx: ValidationContext, run: RunOptions) -> Outcome:
    X = _sample(ctx, "EDGE-01")
    base = ctx.score(X)
    probes = [Probe(f"{c} = NaN", X.assign(**{c: np.nan})) for c in ctx.features]
    probes.append(Probe("all features = NaN", X.assign(**{c: np.nan for c in ctx.features})))
    out = _summarise(ctx, run_probes(ctx, probes), base, "missing-value")
    out.details["sample_size"] = len(X)
    return out


# ---- EDGE-02 -----------------------------------------------------------------------------------
@check(
    "EDGE-02",
    F,
    "Unseen and empty categories",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Configure the encoder to handle unknown categories (e.g. "
    "handle_unknown='ignore' or an 'other' bucket).",
)
def unseen_categories(ctx: ValidationContext, run: RunOptions) -> Outcome:
    X = _sample(ctx, "EDGE-02")
    cats = categorical_columns(X, ctx.features)
    if not cats:
        return not_evaluable("The model has no categorical features.")
    base = ctx.score(X)
    probes = [Probe(f"{c} = {v!r}", X.assign(**{c: v})) for c in cats for v in ("__unseen_category__", "")]
    out = _summarise(ctx, run_probes(ctx, probes), base, "unseen-category")
    out.details["sample_size"] = len(X)
    return out


# ---- EDGE-03 -----------------------------------------------------------------------------------
@check(
    "EDGE-03",
    F,
    "Extreme and infinite values",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Clip or validate numeric inputs against the training range; reject "
    "infinite values with a clear error.",
)
def extreme_values(ctx: ValidationContext, run: RunOptions) -> Outcome:
    X = _sample(ctx, "EDGE-03")
    nums = numeric_columns(X, ctx.features)
    if not nums:
        return not_evaluable("The model has no numeric features.")
    ref = ctx.train if ctx.train is not None else ctx.test
    base = ctx.score(X)
    probes = []
    for c in nums:
        s = ref[c].dropna().astype(float)
        iqr = float(s.quantile(0.75) - s.quantile(0.25)) or 1.0
        values = {
            "min - 3 IQR": s.min() - 3 * iqr,
            "max + 3 IQR": s.max() + 3 * iqr,
            "0": 0.0,
            "-1": -1.0,
            "1e9": 1e9,
            "-1e9": -1e9,
        }
        probes += [Probe(f"{c} = {k}", X.assign(**{c: float(v)})) for k, v in values.items()]
        probes += [
            Probe(f"{c} = {k}", X.assign(**{c: v}), kind="inf") for k, v in (("+inf", np.inf), ("-inf", -np.inf))
        ]
    out = _summarise(ctx, run_probes(ctx, probes), base, "extreme-value", tolerate_inf=True)
    out.details["sample_size"] = len(X)
    return out


# ---- EDGE-04 -----------------------------------------------------------------------------------
@check(
    "EDGE-04",
    F,
    "Schema robustness",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Validate the input schema by column name; never rely on column order, "
    "and reject missing or renamed columns with an error.",
)
def schema_robustness(ctx: ValidationContext, run: RunOptions) -> Outcome:
    X = _sample(ctx, "EDGE-04")
    base = ctx.score(X)
    cols = list(ctx.features)
    first = cols[0]
    probes = [
        Probe("shuffled column order", X[cols[::-1]]),
        Probe("extra column", X.assign(__extra_column__=1)),
        Probe(f"renamed column {first}", X.rename(columns={first: f"{first}_renamed"})),
    ]
    probes += [Probe(f"missing column {c}", X.drop(columns=[c])) for c in cols[:20]]
    for c in numeric_columns(X, cols)[:10]:
        probes.append(Probe(f"{c} as float", X.assign(**{c: X[c].astype(float)})))
        probes.append(Probe(f"{c} as text", X.assign(**{c: X[c].astype(str)})))
    rows, silent = [], []
    for p in probes:
        try:
            pred = ctx.score(p.X)
        except ModelCallError as exc:
            rows.append({"probe": p.name, "outcome": "raised", "error": f"{exc.exc_type}: {exc.exc_text[:300]}"})
            continue
        same = _identical(base, pred)
        outcome = "invariant" if same else "silently different"
        rows.append(
            {
                "probe": p.name,
                "outcome": outcome,
                "changed_prediction_rate": None if same else _changed(ctx, base, pred),
            }
        )
        if not same:
            silent.append(rows[-1])
    status = "fail" if silent else "pass"
    return Outcome(
        status=status,
        value=len(silent),
        summary=(
            f"{len(silent)} of {len(probes)} schema changes were silently accepted "
            f"with different output: {', '.join(r['probe'] for r in silent[:5])}."
            if silent
            else f"All {len(probes)} schema changes were either rejected with an error or left the output unchanged."
        ),
        details={"probes": rows, "sample_size": len(X)},
        severity="high" if silent else None,
        affected=[r["probe"] for r in silent] or None,
        evidence=silent or None,
    )


def _identical(a: Predictions, b: Predictions) -> bool:
    if len(a.y_pred) != len(b.y_pred) or not np.array_equal(a.y_pred, b.y_pred):
        return False
    if a.proba is None or b.proba is None:
        return True
    return a.proba.shape == b.proba.shape and np.allclose(a.proba, b.proba, rtol=0, atol=1e-9)


# ---- EDGE-05 -----------------------------------------------------------------------------------
@check(
    "EDGE-05",
    F,
    "Degenerate batches",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Make the serving code accept empty and single-row batches.",
)
def degenerate_batches(ctx: ValidationContext, run: RunOptions) -> Outcome:
    X = _sample(ctx, "EDGE-05")
    rows, status = [], "pass"
    try:
        out = ctx.score(X.iloc[:0])
        ok = len(out.y_pred) == 0
        rows.append({"probe": "empty batch", "outcome": "ok" if ok else f"returned {len(out.y_pred)} rows"})
        status = "pass" if ok else "fail"
    except ModelCallError as exc:
        rows.append({"probe": "empty batch", "outcome": "raised", "error": f"{exc.exc_type}: {exc.exc_text[:300]}"})
        status = "warn"  # refusing an empty batch is loud, not wrong; the wrapper should short-circuit
    try:
        one = ctx.score(X.iloc[:1])
        dup = ctx.score(X.iloc[[0] * 50].reset_index(drop=True))
        consistent = bool((dup.y_pred == one.y_pred[0]).all())
        problems = contract_problems(ctx, one, 1) + contract_problems(ctx, dup, 50)
        rows.append({"probe": "one row", "outcome": "ok", "problems": problems})
        rows.append({"probe": "50 identical rows", "outcome": "consistent" if consistent else "inconsistent"})
        if problems or not consistent:
            status = "fail"
    except ModelCallError as exc:
        rows.append(
            {"probe": "one row / duplicates", "outcome": "raised", "error": f"{exc.exc_type}: {exc.exc_text[:300]}"}
        )
        status = "fail"
    bad = [r for r in rows if r["outcome"] not in ("ok", "consistent") or r.get("problems")]
    return Outcome(
        status=status,
        value=len(bad),
        details={"probes": rows},
        severity="low" if status == "warn" else None,
        summary=(
            "Empty, one-row and duplicated batches are handled."
            if not bad
            else "Problems with degenerate batches: "
            + "; ".join(f"{r['probe']}: {r.get('error') or r['outcome']}" for r in bad)
        ),
        affected=[r["probe"] for r in bad] or None,
        evidence=bad or None,
    )


# ---- EDGE-06 -----------------------------------------------------------------------------------
@check(
    "EDGE-06",
    F,
    "Output contract",
    suites="quick",
    article=ACC,
    recommendation="Fix the model's output layer: probabilities must be valid and agree with "
    "the predicted labels, and regression outputs must be finite.",
)
def output_contract(ctx: ValidationContext, run: RunOptions) -> Outcome:
    p = ctx.predictions("test")
    problems = contract_problems(ctx, p, len(ctx.test))
    classes_before = None if ctx.classes is None else [str(c) for c in ctx.classes]
    now = getattr(ctx.model, "classes_", None)
    if now is not None and [str(c) for c in now] != classes_before:
        problems.append(f"classes_ changed during the run: {classes_before} -> {list(map(str, now))}")
    if p.proba is None and ctx.task != "regression":
        note = "no probabilities available; checked labels only"
    else:
        note = None
    return Outcome(
        status="fail" if problems else "pass",
        value=len(problems),
        severity="high" if problems else None,
        summary=(
            f"Output contract violated on {len(ctx.test)} test rows: {'; '.join(problems)}."
            if problems
            else f"Outputs on {len(ctx.test)} test rows satisfy the contract."
        ),
        details={"problems": problems, "classes": classes_before, "note": note},
        evidence=problems or None,
    )
