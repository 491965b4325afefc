"""Detector tuning: per-device and per-customer overrides of the catalog's detector
settings, baseline resets, and the feedback of "no fault found".

``model`` is pure (layers, precedence, validation, the no-fault-found step), ``service`` the
use cases, ``postgres`` the storage, ``feed`` what the running ingest worker polls, and
``queries`` the read model of the API and the console.
"""
