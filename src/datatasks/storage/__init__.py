"""Object storage for uploads and exports; `create_storage` picks the backend from the settings."""

from __future__ import annotations

from datatasks.core.config import Settings, StorageBackend
from datatasks.storage.base import ObjectInfo, ObjectWriter, Storage, StorageFull
from datatasks.storage.local import LocalStorage

__all__ = ["ObjectInfo", "ObjectWriter", "Storage", "StorageFull", "create_storage"]


def create_storage(settings: Settings) -> Storage:
    """The configured backend. Makes no connection (S3 connects on first use); the caller owns
    the result and must `await storage.close()` at shutdown."""
    if settings.storage_backend is StorageBackend.s3:
        # Imported only when configured: aiobotocore is a third of the API's start-up.
        from datatasks.storage.s3 import S3Storage

        secret = settings.s3_secret_access_key
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            part_size=settings.s3_part_size,
        )
    return LocalStorage(settings.storage_dir)
