"""Allowlist policy for the globals a pickle stream may import.

Policy (the scanner *refuses* everything not matched here):

1. ``NEVER_ALLOWED`` always wins, even over ``allowlist_extra``: code execution
   (``eval``/``exec``/``compile``/``__import__``/``getattr``/``open``...), importers and
   every function that loads another pickle (``pickle.loads``, ``joblib.load``,
   ``numpy.load``, ``pandas.read_pickle``...).  Loader references get the dedicated
   ``nested_pickle`` code.
2. ``EXACT_ALLOWED``: exact ``module.qualname`` strings for standard-library data
   types, numpy / scipy.sparse / pandas (+ pyarrow string storage) data types and
   their pickle reconstructor helpers, and ``joblib.numpy_pickle.NumpyArrayWrapper``.
   No module prefix of numpy/scipy/pandas is trusted, because those packages also
   contain loaders and file-writing classes (``numpy.memmap``, ``pandas.HDFStore``).
3. ``CLASS_PACKAGES`` (``sklearn``): a name is allowed only if
   its first module segment equals the package (whole-segment match, so ``sklearnx`` is
   not admitted), no segment is a denied one (tests, ``_testing``, ``externals``,
   ``datasets``, ``parallel``...), the qualname is a single identifier (dotted qualnames
   would let protocol 4 walk into re-exported modules such as ``sklearn.base.os``), and
   the object found in the *installed* library is a class (or a Cython
   ``__pyx_unpickle_*`` helper) that is *defined* in that module.  Functions are
   never admitted by prefix.  Resolving imports the trusted installed package, never
   the uploaded content.
4. xgboost / lightgbm: only their scikit-learn wrapper classes and ``Booster`` by exact
   name (their other classes can read files, e.g. ``DMatrix('path')``); ``NEW_ONLY``
   classes may only be restored via ``__new__`` + state, never called with arguments.
5. ``allowlist_extra`` (from the caller) adds exact names, except ``NEVER_ALLOWED``.

Names are matched exactly as written in the stream (protocol <3 writes Python 2 names
such as ``__builtin__.object`` / ``copy_reg._reconstructor``; the harmless ones are
listed explicitly).  Argument rules on top of names: ``_codecs.encode`` only with
``latin1``, ``bytes``/``bytearray`` never with a size, ``copyreg`` helpers only with
imported classes, and every call target must be an import (no calling call results).
Allowed classes' own methods (``__setstate__``, ``append``, ``__setitem__``) still run
at load time: that is the residual trust placed in the listed libraries.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re

NESTED_LOADERS = frozenset(
    {
        "pickle.loads",
        "pickle.load",
        "pickle.Unpickler",
        "pickle._loads",
        "pickle._load",
        "pickle._Unpickler",
        "_pickle.loads",
        "_pickle.load",
        "_pickle.Unpickler",
        "joblib.load",
        "joblib.numpy_pickle.load",
        "joblib.numpy_pickle.NumpyUnpickler",
        "numpy.load",
        "numpy.lib.npyio.load",
        "numpy.lib._npyio_impl.load",
        "numpy.lib.format.read_array",
        "numpy.ctypeslib.load_library",
        "pandas.read_pickle",
        "pandas.io.pickle.read_pickle",
        "dill.loads",
        "dill.load",
        "cloudpickle.loads",
        "cloudpickle.load",
        "torch.load",
        "marshal.loads",
        "skops.io.load",
        "skops.io.loads",
        "shelve.open",
        "copyreg._reconstructor.__call__",
    }
)

NEVER_ALLOWED = (
    NESTED_LOADERS
    | frozenset(
        f"{mod}.{name}"
        for mod in ("builtins", "__builtin__")
        for name in (
            "eval",
            "exec",
            "compile",
            "__import__",
            "getattr",
            "setattr",
            "delattr",
            "open",
            "input",
            "breakpoint",
            "globals",
            "locals",
            "vars",
            "type",
            "apply",
            "execfile",
            "file",
            "reload",
            "memoryview",
            "super",
            "classmethod",
            "staticmethod",
            "property",
            "help",
            "exit",
            "quit",
            "print",
            "dir",
        )
    )
    | frozenset(
        {
            "functools.partial",
            "operator.attrgetter",
            "operator.methodcaller",
            "operator.itemgetter",
            "importlib.import_module",
            "os.system",
        }
    )
)

_BUILTIN_DATA = (
    "object",
    "bool",
    "int",
    "float",
    "complex",
    "str",
    "bytes",
    "bytearray",
    "list",
    "tuple",
    "dict",
    "set",
    "frozenset",
    "slice",
    "range",
    "NotImplemented",
    "Ellipsis",
)
_NUMPY_SCALARS = (
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "str_",
    "bytes_",
    "datetime64",
    "timedelta64",
    "intc",
    "uintc",
    "void",
)
_SPARSE = ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")

EXACT_ALLOWED = frozenset(
    [f"builtins.{n}" for n in _BUILTIN_DATA]
    + [f"__builtin__.{n}" for n in _BUILTIN_DATA]
    + [
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
        "copyreg._reconstructor",
        "copy_reg._reconstructor",
        "copyreg.__newobj__",
        "_codecs.encode",  # protocol<3 bytes; argument-checked
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.ma.core.MaskedArray",
        "numpy.ma.core._mareconstruct",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random.mtrand.RandomState",
        "numpy.random._generator.Generator",
        "numpy.random._mt19937.MT19937",
        "numpy.random._pcg64.PCG64",
        "numpy.random._pcg64.PCG64DXSM",
        "numpy.random._philox.Philox",
        "numpy.random._sfc64.SFC64",
        "numpy.random.bit_generator.SeedSequence",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        "scipy.sparse._base._spbase",
        "pandas.DataFrame",
        "pandas.Series",
        "pandas.Index",
        "pandas.RangeIndex",
        "pandas.MultiIndex",
        "pandas.CategoricalIndex",
        "pandas.Categorical",
        "pandas.CategoricalDtype",
        "pandas.StringDtype",
        "pandas.Timestamp",
        "pandas.Timedelta",
        "pandas.arrays.ArrowStringArray",
        "pandas.arrays.StringArray",
        "pandas.core.frame.DataFrame",
        "pandas.core.series.Series",
        "pandas.core.indexes.base.Index",
        "pandas.core.indexes.base._new_Index",
        "pandas.core.indexes.range.RangeIndex",
        "pandas.core.indexes.multi.MultiIndex",
        "pandas.core.internals.managers.BlockManager",
        "pandas.core.internals.managers.SingleBlockManager",
        "pandas._libs.internals._unpickle_block",
        "pandas.core.arrays.categorical.Categorical",
        "pandas.core.dtypes.dtypes.CategoricalDtype",
        "pyarrow.lib._restore_array",
        "pyarrow.lib.py_buffer",
        "pyarrow.lib.type_for_alias",
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "xgboost.sklearn.XGBClassifier",
        "xgboost.sklearn.XGBRegressor",
        "xgboost.sklearn.XGBRanker",
        "xgboost.sklearn.XGBRFClassifier",
        "xgboost.sklearn.XGBRFRegressor",
        "xgboost.core.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "lightgbm.sklearn.LGBMRanker",
        "lightgbm.basic.Booster",
    ]
    + [f"{m}.{n}" for m in ("numpy._core.multiarray", "numpy.core.multiarray") for n in ("_reconstruct", "scalar")]
    + [f"{m}._frombuffer" for m in ("numpy._core.numeric", "numpy.core.numeric")]
    + [f"numpy.{n}" for n in _NUMPY_SCALARS]
    + [f"scipy.sparse._{k}.{k}_{kind}" for k in _SPARSE for kind in ("matrix", "array")]
)

NEW_ONLY = frozenset({"xgboost.core.Booster", "lightgbm.basic.Booster"})
CLASS_PACKAGES = frozenset({"sklearn"})
DENIED_SEGMENTS = frozenset(
    {
        "tests",
        "test",
        "testing",
        "_testing",
        "conftest",
        "externals",
        "experimental",
        "datasets",
        "_build_utils",
        "__check_build",
        "_show_versions",
        "estimator_checks",
        "_mocking",
        "parallel",
        "_joblib",
        "fixes",
        "_distributor_init",
        "_config",
    }
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def split_global(name: str) -> tuple[str, str]:
    """'module qualname' (as a pickle writes it) or 'module.qualname' (as skops names types)."""
    module, sep, qualname = name.partition(" ")
    if not sep:
        module, _, qualname = name.rpartition(".")
    return module, qualname


def is_nested_loader(full_name: str) -> bool:
    return full_name in NESTED_LOADERS


def is_allowed(module: str, qualname: str, extra: frozenset[str] = frozenset()) -> bool:
    """Exact allowlist decision for ``module`` + ``qualname`` (as written in the pickle)."""
    if not isinstance(module, str) or not isinstance(qualname, str):
        return False
    full = f"{module}.{qualname}"
    if full in NEVER_ALLOWED or not _MODULE.match(module):
        return False
    if full in EXACT_ALLOWED or full in extra:
        return True
    return _class_package_allows(module, qualname)


@functools.lru_cache(maxsize=4096)
def _class_package_allows(module: str, qualname: str) -> bool:
    segments = module.split(".")
    if segments[0] not in CLASS_PACKAGES or not _IDENT.match(qualname):
        return False
    if any(seg in DENIED_SEGMENTS or seg.startswith("test") for seg in segments):
        return False
    if qualname.startswith("__") and not qualname.startswith("__pyx_unpickle_"):
        return False
    try:
        if importlib.util.find_spec(segments[0]) is None:
            return False
        mod = importlib.import_module(module)  # trusted installed code only
    except Exception:  # noqa: BLE001 - missing/broken optional package means "not allowed"
        return False
    obj = mod.__dict__.get(qualname)
    if obj is None:
        return False
    if isinstance(obj, type):
        return obj.__module__ == module and obj.__qualname__ == qualname
    # Cython's generated ``__pyx_unpickle_<Class>`` helper: checks the type, sets state.
    return (
        qualname.startswith("__pyx_unpickle_")
        and type(obj).__name__ in {"builtin_function_or_method", "cython_function_or_method"}
        and getattr(obj, "__module__", None) == module
    )


def grade_with_modelscan(full_name: str) -> str:
    """Severity for a refused global, graded with modelscan's maintained denylist."""
    try:
        from modelscan.settings import DEFAULT_SETTINGS
    except Exception:  # noqa: BLE001
        return "high"
    module, _, name = full_name.rpartition(".")
    for level in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
        rule = DEFAULT_SETTINGS["unsafe_globals"].get(level, {})
        for mod, names in rule.items():
            if module == mod or module.startswith(mod + "."):
                if names == "*" or name in names:
                    return "critical" if level == "CRITICAL" else level.lower()
    return "high"
