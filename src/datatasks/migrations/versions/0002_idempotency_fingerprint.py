"""jobs.idempotency_fingerprint: what a request with an Idempotency-Key asked for

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("idempotency_fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "idempotency_fingerprint")
