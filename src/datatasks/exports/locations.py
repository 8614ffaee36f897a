"""Where an export's file is kept, and the API route that serves it: known to the route and
the job alike, so neither imports the other."""

from __future__ import annotations

import uuid


def export_key(job_id: uuid.UUID, filename: str) -> str:
    return f"exports/{job_id}/{filename}"


def download_path(job_id: uuid.UUID) -> str:
    """The API route that serves a finished export (through a signed link)."""
    return f"/exports/{job_id}/download"
