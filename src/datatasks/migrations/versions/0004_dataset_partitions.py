"""records partitioned by dataset; dataset states and profiles; erase jobs; export_datasets

A dataset's records live in a partition of their own (records_<dataset id hex>), so erasing a
dataset is a TRUNCATE of one table: the disk space comes back at once, with no DELETE of a
million rows and no VACUUM FULL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("ALTER TABLE records RENAME TO records_unpartitioned")
    op.execute("ALTER INDEX pk_records RENAME TO pk_records_unpartitioned")
    op.execute("ALTER SEQUENCE records_id_seq RENAME TO records_unpartitioned_id_seq")
    op.execute("CREATE SEQUENCE records_id_seq AS bigint")
    op.execute(
        "SELECT setval('records_id_seq', "
        "coalesce((SELECT max(id) FROM records_unpartitioned), 0) + 1, false)"
    )
    op.execute(
        """
        CREATE TABLE records (
            id bigint NOT NULL DEFAULT nextval('records_id_seq'),
            dataset_id uuid NOT NULL,
            record_type text NOT NULL,
            data jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_records PRIMARY KEY (dataset_id, id)
        ) PARTITION BY LIST (dataset_id)
        """
    )
    op.execute("ALTER SEQUENCE records_id_seq OWNED BY records.id")
    # Every dataset's existing records move into its partition; records of no dataset (left
    # by a crash before this layout) go with the old table.
    op.execute(
        """
        DO $$
        DECLARE d uuid;
        BEGIN
            FOR d IN SELECT id FROM datasets LOOP
                EXECUTE format('CREATE TABLE %I (LIKE records INCLUDING DEFAULTS)',
                               'records_' || replace(d::text, '-', ''));
                EXECUTE format('ALTER TABLE records ATTACH PARTITION %I FOR VALUES IN (%L)',
                               'records_' || replace(d::text, '-', ''), d);
                EXECUTE format('INSERT INTO %I SELECT id, dataset_id, record_type, data, '
                               'created_at FROM records_unpartitioned WHERE dataset_id = %L',
                               'records_' || replace(d::text, '-', ''), d);
            END LOOP;
        END $$
        """
    )
    op.execute("DROP TABLE records_unpartitioned")

    # active: readable; erasing: an erase job is removing it (reads answer 409); erased: a
    # tombstone for the audit trail and idempotent DELETEs, holding no data.
    op.add_column(
        "datasets",
        sa.Column("state", sa.String(16), server_default=sa.text("'active'"), nullable=False),
    )
    op.create_check_constraint("state", "datasets", "state IN ('active', 'erasing', 'erased')")
    op.add_column("datasets", sa.Column("erase_job_id", sa.UUID(), nullable=True))
    op.add_column("datasets", sa.Column("erased_at", _TS, nullable=True))
    op.add_column("datasets", sa.Column("profile", postgresql.JSONB(), nullable=True))
    op.create_index(None, "datasets", ["created_at", "id"])

    op.drop_constraint("ck_jobs_type", "jobs")
    op.create_check_constraint("type", "jobs", "type IN ('generate', 'ingest', 'export', 'erase')")

    # Which datasets each export read rows of, written in the transaction that reads them: an
    # erasure finds every file that holds a dataset's rows here.
    op.create_table(
        "export_datasets",
        sa.Column("dataset_id", sa.UUID(), nullable=False),
        sa.Column("export_job_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["export_job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id", "export_job_id"),
    )
    op.create_index(None, "export_datasets", ["export_job_id"])


def downgrade() -> None:
    op.drop_table("export_datasets")
    op.drop_constraint("ck_jobs_type", "jobs")
    op.create_check_constraint("type", "jobs", "type IN ('generate', 'ingest', 'export')")
    op.drop_index("ix_datasets_created_at_id", "datasets")
    for column in ("profile", "erased_at", "erase_job_id"):
        op.drop_column("datasets", column)
    op.drop_constraint("ck_datasets_state", "datasets")
    op.drop_column("datasets", "state")
    op.execute("ALTER TABLE records RENAME TO records_partitioned")
    op.execute("ALTER INDEX pk_records RENAME TO pk_records_partitioned")
    op.execute("ALTER SEQUENCE records_id_seq RENAME TO records_partitioned_id_seq")
    op.create_table(
        "records",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("dataset_id", sa.UUID(), nullable=False),
        sa.Column("record_type", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", _TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO records (id, dataset_id, record_type, data, created_at) OVERRIDING SYSTEM "
        "VALUE SELECT id, dataset_id, record_type, data, created_at FROM records_partitioned"
    )
    op.execute("DROP TABLE records_partitioned CASCADE")
    op.execute(
        "SELECT setval(pg_get_serial_sequence('records', 'id'), "
        "coalesce((SELECT max(id) FROM records), 0) + 1, false)"
    )
    op.create_index(None, "records", ["record_type", "created_at"])
    op.create_index(None, "records", ["dataset_id", "id"])
