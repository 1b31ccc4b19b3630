"""Filters whose values always fit the database.

django-filter's NumberFilter parses with a DecimalField, so `?system=-1e209` becomes a 210-digit
integer that SQLite cannot bind (OverflowError) and PostgreSQL refuses (out of range): a 500 from a
query string. `IntegerFilter` takes whole numbers only, within the 64-bit range of the portal's
integer columns; anything else is invalid (400 naming the parameter in the API; ignored by the
HTML lists, whose forms show the error).
"""

from __future__ import annotations

import django_filters
from django import forms

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, min_value: int = INT64_MIN, max_value: int = INT64_MAX, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)
