"""What the API and console show: plain query functions returning frozen models.

Each module is one concept. Functions take a psycopg connection (and ``now`` where the
answer depends on it) and never commit; the caller owns the connection.
"""
