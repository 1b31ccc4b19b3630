"""The S3 storage of audit-trail checkpoints (STORAGES["audit_checkpoints"], set when
AUDIT_CHECKPOINT_S3_BUCKET is): django-storages' S3 backend, every object under object lock.
A module of its own so that boto3 is imported only where checkpoints go to S3."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from storages.backends.s3 import S3Storage


class LockedS3Storage(S3Storage):
    """S3 objects written under COMPLIANCE object lock for AUDIT_CHECKPOINT_S3_RETENTION_DAYS: until
    then nobody, not even the bucket's owner, can overwrite or delete them. The bucket must have
    object lock enabled (it can only be switched on when the bucket is created)."""

    def get_object_parameters(self, name):
        params = super().get_object_parameters(name)
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.AUDIT_CHECKPOINT_S3_RETENTION_DAYS)
        params.update(ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
        return params
