"""Shopper app broker accounts: one per presence installation, revoked with it.

* ``broker_accounts`` takes a third kind, ``app``: the account of one installation of the
  shopper app (user ``app-<installation id>``, so the name may run 4 characters past a
  serial's 64). ``installation_id`` ties it to ``presence_installations``; the ACL that
  careline writes lets it read only its customer's push topic
  (``app/<customer id>/notifications``). A live app account always has its installation.
* Erasure: deleting an installation (the presence erasure, or a customer's deletion
  cascading to it) revokes its app account in the same transaction, by trigger, so no
  deletion path can leave a live account behind. The hash goes (the account cannot log in
  once the broker's files are rewritten) and the event is recorded with actor ``erasure``.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE broker_accounts
            DROP CONSTRAINT broker_accounts_username_check,
            ADD CONSTRAINT broker_accounts_username_check
                CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,67}$'),
            DROP CONSTRAINT broker_accounts_kind_check,
            ADD CONSTRAINT broker_accounts_kind_check
                CHECK (kind IN ('device', 'service', 'app')),
            ADD COLUMN installation_id text UNIQUE
                REFERENCES presence_installations (id) ON DELETE SET NULL,
            ADD CONSTRAINT broker_accounts_app_has_installation
                CHECK (kind <> 'app' OR revoked_at IS NOT NULL OR installation_id IS NOT NULL),
            ADD CONSTRAINT broker_accounts_installation_is_app
                CHECK (installation_id IS NULL OR kind = 'app');

        CREATE FUNCTION revoke_app_account_of_installation() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH revoked AS (
                UPDATE broker_accounts
                   SET password_hash = NULL, nats_password_hash = NULL, revoked_at = now()
                 WHERE installation_id = OLD.id AND revoked_at IS NULL
                RETURNING username
            )
            INSERT INTO broker_account_events (username, event, at, actor)
            SELECT username, 'revoked', now(), 'erasure' FROM revoked;
            RETURN OLD;
        END
        $$;
        CREATE TRIGGER presence_installation_deleted
            BEFORE DELETE ON presence_installations
            FOR EACH ROW EXECUTE FUNCTION revoke_app_account_of_installation();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER presence_installation_deleted ON presence_installations;
        DROP FUNCTION revoke_app_account_of_installation();
        DELETE FROM broker_accounts WHERE kind = 'app';
        ALTER TABLE broker_accounts
            DROP CONSTRAINT broker_accounts_installation_is_app,
            DROP CONSTRAINT broker_accounts_app_has_installation,
            DROP COLUMN installation_id,
            DROP CONSTRAINT broker_accounts_kind_check,
            ADD CONSTRAINT broker_accounts_kind_check CHECK (kind IN ('device', 'service')),
            DROP CONSTRAINT broker_accounts_username_check,
            ADD CONSTRAINT broker_accounts_username_check
                CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');
        """
    )
