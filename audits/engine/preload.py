"""Imported once by the validation fork server (see `audits.engine.runner`), before it forks any
child: the libraries a validation needs, so every run starts with them loaded instead of importing
them again (several seconds per run; `import shap` alone is one to two). Only the fork server and
its children import this module, never the web process or the worker itself.
"""

import os

# One BLAS/OpenMP thread per validation, as the worker runs: set before numpy loads, and inherited
# by every child forked from here. Nothing here may start a thread pool: a fork copies only the
# forking thread, so a pool started before the fork would be unusable in the child.
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
import audits.engine.child  # noqa: E402,F401
import audits.engine.loading  # noqa: E402,F401
import models_registry.datasets  # noqa: E402,F401

# The heavy libraries a child finds already imported (reported in its first event).
PRELOADED = ("numpy", "pandas", "scipy", "sklearn", "shap", "fairlearn")
