"""Models that misbehave inside the validation child process. Importable (the child loads them by
their module path), and never uploaded through the registry: the scanner would rightly refuse them."""

from __future__ import annotations

import ctypes
import os
import time


class _Wrapper:
    def __init__(self, inner=None):
        self.inner = inner
        self.classes_ = getattr(inner, "classes_", None)

    def predict(self, X):
        return self.inner.predict(X)

    def predict_proba(self, X):
        return self.inner.predict_proba(X)


class SegfaultingModel(_Wrapper):
    def predict(self, X):
        ctypes.string_at(0)  # reads address 0: SIGSEGV


class AbortingModel(_Wrapper):
    def predict(self, X):
        os.abort()


class CrashesOnLoad(_Wrapper):
    def __setstate__(self, state):
        raise RuntimeError("this model refuses to be unpickled")


class SleepingModel(_Wrapper):
    """Slow: every call takes `delay` seconds, so a run lasts long enough to cancel or time out."""

    def __init__(self, inner=None, delay: float = 0.3):
        super().__init__(inner)
        self.delay = delay

    def predict(self, X):
        time.sleep(self.delay)
        return super().predict(X)

    def predict_proba(self, X):
        time.sleep(self.delay)
        return super().predict_proba(X)


class HungryModel(_Wrapper):
    """Allocates memory on every call and keeps it."""

    hoard: list = []

    def predict(self, X):
        for _ in range(40):
            HungryModel.hoard.append(bytearray(25 * 1024 * 1024))
            time.sleep(0.05)
        return super().predict(X)
