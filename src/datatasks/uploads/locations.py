"""Where an upload's files are kept, and the API route that serves its rejects: known to the
routes and the ingest job alike, so neither imports the other."""

from __future__ import annotations

import uuid


def original_key(upload_id: uuid.UUID) -> str:
    return f"uploads/{upload_id}/original"


def rejects_key(upload_id: uuid.UUID) -> str:
    return f"uploads/{upload_id}/rejects.ndjson"


def rejects_path(upload_id: uuid.UUID) -> str:
    """The API route that serves an upload's rejects file (through a signed link)."""
    return f"/uploads/{upload_id}/rejects"
