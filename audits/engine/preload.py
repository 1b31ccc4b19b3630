"""Imported by the validation child (`audits.engine.child`) before its first check: the libraries a
validation needs, so their one-time import (several seconds; `import shap` alone is one to two) is
start-up, not part of a check's timing. Only the child imports this module, never the web process
or the worker itself.
"""

import os

# One BLAS/OpenMP thread per validation, as the worker runs: set before numpy loads (the runner
# sets them too; this keeps `python -m audits.engine.child` by hand the same).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy  # noqa: E402,F401
import pandas  # noqa: E402,F401
import scipy.stats  # noqa: E402,F401
import shap  # noqa: E402,F401
import sklearn.compose  # noqa: E402,F401
import sklearn.metrics  # noqa: E402,F401
import sklearn.model_selection  # noqa: E402,F401
import sklearn.pipeline  # noqa: E402,F401
import sklearn.tree  # noqa: E402,F401
from fairlearn import metrics, postprocessing  # noqa: E402,F401

import audits.checks  # noqa: E402,F401
import audits.engine.loading  # noqa: E402,F401
import models_registry.datasets  # noqa: E402,F401
