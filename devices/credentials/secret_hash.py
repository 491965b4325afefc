"""Secrets for broker accounts and the hash Mosquitto checks them against.

The hash is Mosquitto's own ``$7$`` form, what ``mosquitto_passwd`` writes:
``$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>``, a 12-byte salt. Mosquitto
checks it in its one network thread at every CONNECT, so the iteration count is
Mosquitto's default (101): a secret made here is 256 random bits, which no number of
guesses finds, so stretching would only slow a reconnect storm of the whole fleet.

NATS (the scale-out broker) checks bcrypt hashes (``$2a$``) instead, made with the
``bcrypt`` package: cost 4, its least, for the same reason, for a random secret
(:data:`RANDOM_SECRET_COST`); a password an operator chose (refused if weak) gets cost 6.
nats-server checks the hash in the connection's read loop: with cost 12 one MQTT CONNECT
held it for 2.8 s (measured, nats-server 2.9.10), long enough to stall a worker's start.

>>> digest = mosquitto_hash("s3cret", salt=bytes(12))
>>> digest.split("$")[1:3]
['7', '101']
>>> matches("s3cret", digest), matches("S3cret", digest)
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Final

import bcrypt

ITERATIONS: Final = 101
SALT_BYTES: Final = 12
SECRET_BYTES: Final = 32
RANDOM_SECRET_COST: Final = 4
CHOSEN_PASSWORD_COST: Final = 6
_HASH: Final = re.compile(r"\$7\$([0-9]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


def new_secret() -> str:
    """A new random secret: 32 bytes, URL-safe base64 (43 characters, no padding)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def mosquitto_hash(secret: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The ``mosquitto_passwd`` line's hash part for ``secret``."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def matches(secret: str, hashed: str) -> bool:
    """Whether ``secret`` is the one ``hashed`` was made from (constant-time compare)."""
    found = _HASH.fullmatch(hashed)
    if found is None:
        return False
    iterations, salt, digest = int(found[1]), base64.b64decode(found[2]), found[3]
    mine = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return hmac.compare_digest(base64.b64encode(mine).decode(), digest)


def nats_hash(secret: str, *, cost: int = RANDOM_SECRET_COST) -> str:
    """The bcrypt hash nats-server's configuration takes as a user's password."""
    return bcrypt.hashpw(secret.encode(), bcrypt.gensalt(cost)).decode()
