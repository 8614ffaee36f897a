"""webhook deliveries; job changes announced with NOTIFY

A job may carry a `callback_url`. When it ends (completed, failed for good, cancelled) a row in
`webhook_deliveries` is written by a trigger in the transaction that ended it - whichever
process did (a worker, the API's cancel, the reconciler) - so no ending goes unannounced. The
dispatchers move undispatched deliveries to the `webhooks` queue.

The same trigger NOTIFYs `<schema>_jobs` with the job's status and progress whenever they
change, at commit: the API's live status streams are fed from it, not by polling.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("callback_url", sa.Text(), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        # The job row as it was when it ended: every attempt sends the same document.
        sa.Column("job", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("dispatched", sa.Boolean(), server_default=sa.false(), nullable=False),
        # The last attempts, newest last: when, the answer's status, how long, what went wrong.
        sa.Column("history", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, server_default=sa.func.now(), nullable=False),
        sa.Column("last_attempt_at", _TS, nullable=True),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(None, "webhook_deliveries", ["job_id", "created_at"])
    op.create_index(
        "ix_webhook_deliveries_undispatched",
        "webhook_deliveries",
        ["created_at"],
        postgresql_where=sa.text("NOT dispatched"),
    )
    op.execute(
        """
        CREATE FUNCTION job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status
               OR NEW.progress_done IS DISTINCT FROM OLD.progress_done
               OR NEW.progress_total IS DISTINCT FROM OLD.progress_total
               OR NEW.attempts IS DISTINCT FROM OLD.attempts THEN
                PERFORM pg_notify(TG_TABLE_SCHEMA || '_jobs', json_build_object(
                    'id', NEW.id, 'type', NEW.type, 'status', NEW.status,
                    'done', NEW.progress_done, 'total', NEW.progress_total,
                    'attempts', NEW.attempts)::text);
            END IF;
            IF NEW.callback_url IS NOT NULL
               AND NEW.status IN ('completed', 'failed', 'cancelled')
               AND NEW.status IS DISTINCT FROM OLD.status THEN
                EXECUTE format(
                    'INSERT INTO %I.webhook_deliveries (id, job_id, event, url, job) '
                    'VALUES (gen_random_uuid(), $1, $2, $3, $4)', TG_TABLE_SCHEMA)
                USING NEW.id, 'job.' || NEW.status, NEW.callback_url,
                      to_jsonb(NEW) - 'lease' - 'idempotency_fingerprint';
                -- Wakes the dispatchers, as a new job does.
                PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER job_changed AFTER UPDATE ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION job_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER job_changed ON jobs")
    op.execute("DROP FUNCTION job_changed()")
    op.drop_table("webhook_deliveries")
    op.drop_column("jobs", "callback_url")
