"""Signals governance sends for other apps to act on (governance must not import them:
dependency direction). Sent inside the service's transaction, so a receiver's writes commit or
roll back with the change that caused them."""

from django.dispatch import Signal

# kwargs: system, determination, reason. The approved classification may no longer hold.
classification_needs_review = Signal()
# kwargs: system, determination. A (new) classification was approved for the system.
classification_approved = Signal()
