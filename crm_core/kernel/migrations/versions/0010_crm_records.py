"""CRM records that staff create, edit and import: natural keys, archiving, import runs.

* ``customers.external_ref``: the customer's number in the system they come from (an ERP,
  a shop), the natural key of a CSV import besides the e-mail address;
* ``customers_email``: one customer per e-mail address (case-insensitive), so that an
  import keyed on it is idempotent and a preference link reaches one person;
* ``customers.archived_at``: a customer is archived, not deleted (deleting would take their
  tickets with it); archived customers leave the default lists;
* ``sites_customer_label``: a customer names each of their sites once (the natural key of
  a site in an import); labels already repeated get their id appended;
* ``crm_imports``: each CSV import, with who ran it, its counts and the rejected rows, so
  that the report can be downloaded afterwards.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE customers ADD COLUMN external_ref text UNIQUE
            CHECK (external_ref <> '' AND length(external_ref) <= 64);
        ALTER TABLE customers ADD COLUMN archived_at timestamptz;
        CREATE UNIQUE INDEX customers_email ON customers (lower(email));
        UPDATE sites s SET label = s.label || ' (' || s.id || ')'
            WHERE EXISTS (SELECT 1 FROM sites o WHERE o.customer_id = s.customer_id
                          AND lower(o.label) = lower(s.label) AND o.id < s.id);
        CREATE UNIQUE INDEX sites_customer_label ON sites (customer_id, lower(label));
        CREATE INDEX devices_site ON devices (site_id);
        CREATE INDEX service_contracts_device ON service_contracts (device_id);
        CREATE TABLE crm_imports (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind       text NOT NULL CHECK (kind IN ('customers', 'sites', 'devices', 'contracts')),
            at         timestamptz NOT NULL,
            actor      text NOT NULL,
            filename   text NOT NULL,
            total      integer NOT NULL,
            created    integer NOT NULL,
            updated    integer NOT NULL,
            unchanged  integer NOT NULL,
            rejected   integer NOT NULL,
            report     jsonb NOT NULL DEFAULT '[]'
        );
        CREATE INDEX crm_imports_at ON crm_imports (at DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE crm_imports;
        DROP INDEX service_contracts_device;
        DROP INDEX devices_site;
        DROP INDEX sites_customer_label;
        DROP INDEX customers_email;
        ALTER TABLE customers DROP COLUMN archived_at;
        ALTER TABLE customers DROP COLUMN external_ref;
        """
    )
