"""Broker accounts: per-device credentials, careline's service accounts, and their history.

A device logs in to the broker with its serial as user name and a random secret issued
once (:mod:`devices.credentials.accounts`); the broker's ACL lets user ``X`` publish only
under ``dt/X/...``. The database keeps the broker's hash of each secret and every issue,
rotation and revocation; the broker's password file is written from it
(:mod:`devices.credentials.password_file`).
"""
