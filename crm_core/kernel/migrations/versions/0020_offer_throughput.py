"""Set-based offer decisions: stock reservations off the campaign row, the learner's shared
state, and ``expired`` pushes.

``campaign_reservations``: each deciding thread (``holder``) takes stock and budget from
its campaign's row in chunks, in a short transaction of its own, and then spends them in
its decisions' transactions without touching the campaign row (which every decision used
to lock until commit). ``used <= units`` is checked by the database; a holder whose lease
ran out gets its unused units taken back (never spent twice, never over budget).
``campaigns.stock`` and ``spent_cents`` now count what is not reserved; the read models
add the unused reservations back.

``offer_learner_state``: the bandit's state, written by the deciding processes every few
seconds with the watermark of the settled offers it has learned from; a process starts
from it instead of replaying every settled offer.

``outbox.status = 'expired'``: a message whose expiry passed before it could be sent.

``presence_zone_counts.shard``: each presence thread adds to its own row of a zone's
daily counts (one row per zone and day was locked by every entry until its batch
committed); readers sum the shards.

``offer_decisions.trigger``: a visit is decided at its entry and, for campaigns that ask
for a minimum dwell, once more when the dwell is reached (still one of each per visit).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE campaign_reservations (
            campaign_id  bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
            holder       text NOT NULL CHECK (holder <> ''),
            units        integer NOT NULL CHECK (units >= 0),
            used         integer NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= units),
            held_until   timestamptz NOT NULL,
            PRIMARY KEY (campaign_id, holder)
        );
        CREATE TABLE offer_learner_state (
            name        text PRIMARY KEY,
            state       jsonb NOT NULL,
            watermark   timestamptz,
            learned     bigint NOT NULL DEFAULT 0,
            writer      text NOT NULL,
            updated_at  timestamptz NOT NULL
        );
        ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_status_check;
        ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
            CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed', 'expired'));
        ALTER TABLE presence_zone_counts ADD COLUMN shard smallint NOT NULL DEFAULT 0;
        ALTER TABLE presence_zone_counts DROP CONSTRAINT presence_zone_counts_pkey;
        ALTER TABLE presence_zone_counts ADD PRIMARY KEY (zone_id, day, shard);
        ALTER TABLE offer_decisions ADD COLUMN trigger text NOT NULL DEFAULT 'entry'
            CHECK (trigger IN ('entry', 'dwell'));
        ALTER TABLE offer_decisions DROP CONSTRAINT offer_decisions_visit_id_key;
        ALTER TABLE offer_decisions ADD CONSTRAINT offer_decisions_visit_trigger
            UNIQUE (visit_id, trigger);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE campaigns c SET stock = c.stock + r.unused,
               spent_cents = c.spent_cents - r.unused * c.cost_cents
        FROM (SELECT campaign_id, sum(units - used) AS unused FROM campaign_reservations
              GROUP BY campaign_id) r WHERE r.campaign_id = c.id;
        UPDATE outbox SET status = 'failed', last_error = 'expired' WHERE status = 'expired';
        CREATE TABLE presence_zone_counts_merged AS
            SELECT zone_id, day, sum(visits)::integer AS visits, sum(exits)::integer AS exits,
                   sum(dwell_seconds) AS dwell_seconds
            FROM presence_zone_counts GROUP BY zone_id, day;
        DELETE FROM presence_zone_counts;
        ALTER TABLE presence_zone_counts DROP CONSTRAINT presence_zone_counts_pkey;
        ALTER TABLE presence_zone_counts DROP COLUMN shard;
        ALTER TABLE presence_zone_counts ADD PRIMARY KEY (zone_id, day);
        INSERT INTO presence_zone_counts (zone_id, day, visits, exits, dwell_seconds)
            SELECT zone_id, day, visits, exits, dwell_seconds FROM presence_zone_counts_merged;
        DROP TABLE presence_zone_counts_merged;
        DELETE FROM offer_decisions WHERE trigger = 'dwell';
        ALTER TABLE offer_decisions DROP CONSTRAINT offer_decisions_visit_trigger;
        ALTER TABLE offer_decisions ADD CONSTRAINT offer_decisions_visit_id_key UNIQUE (visit_id);
        ALTER TABLE offer_decisions DROP COLUMN trigger;
        ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_status_check;
        ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
            CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed'));
        DROP TABLE IF EXISTS offer_learner_state, campaign_reservations;
        """
    )
