"""Investigations that quality staff work: notes, a linked recall, closing with an outcome.

An investigation (opened by the complaints rule) gets a conclusion: who closed it, when,
with which outcome and why, and the recall it led to if any. What happened to it on the
way (notes, recall linked or opened, closed, reopened) is its timeline,
``investigation_events``, written in the same transaction as the change (the audit log
has the same lines for the auditors). A recall opened from an investigation has origin
``investigation``; its scope is the investigation's lots and the lots repacked from them.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE investigations
    ADD COLUMN recall_id  bigint REFERENCES recalls (id),
    ADD COLUMN outcome    text CHECK (outcome IN ('no_issue_found', 'recall_opened',
        'supplier_issue', 'cold_chain_issue', 'store_handling', 'other')),
    ADD COLUMN conclusion text CHECK (length(conclusion) <= 4000),
    ADD COLUMN closed_by  text,
    ADD COLUMN closed_at  timestamptz;
-- nothing closed investigations before this revision; should a row say so, it gets an honest
-- outcome rather than failing the upgrade
UPDATE investigations SET outcome = 'other', closed_at = opened_at,
    conclusion = 'closed before outcomes were recorded' WHERE status = 'closed';
ALTER TABLE investigations ADD CONSTRAINT investigations_closed_has_outcome
    CHECK ((status = 'closed') = (outcome IS NOT NULL AND closed_at IS NOT NULL));

CREATE TABLE investigation_events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    investigation_id bigint NOT NULL REFERENCES investigations (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL,
    actor            text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('note', 'recall_linked', 'recall_opened',
        'closed', 'reopened')),
    body             text NOT NULL CHECK (length(body) <= 4000),
    recall_id        bigint REFERENCES recalls (id)
);
CREATE INDEX investigation_events_investigation ON investigation_events (investigation_id, at);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS investigation_events;
ALTER TABLE investigations
    DROP CONSTRAINT IF EXISTS investigations_closed_has_outcome,
    DROP COLUMN IF EXISTS recall_id,
    DROP COLUMN IF EXISTS outcome,
    DROP COLUMN IF EXISTS conclusion,
    DROP COLUMN IF EXISTS closed_by,
    DROP COLUMN IF EXISTS closed_at;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
