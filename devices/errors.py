"""The exceptions of the devices package, drawn in one place.

Everything the device domain refuses derives from :class:`DeviceError`, so an adapter or the
API layer can map the whole family with one ``except``. (The catalog's ``CatalogError`` is
older and derives from ``ValueError`` only.)
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of the errors the devices package raises."""


class InvalidTimeError(DeviceError, ValueError):
    """A time is naive (no timezone) or not finite; the domain keeps aware UTC times."""


class FaultError(DeviceError):
    """A fault transition the domain refuses."""


class FaultAlreadyCleared(FaultError):
    """The fault was cleared before; a fault is cleared once."""


class FaultClearedBeforeOpened(FaultError):
    """The clearing time lies before the fault's onset."""


class UnknownDetectorKindError(DeviceError, ValueError):
    """A detector spec names a kind no factory knows; the message lists the known kinds."""


class DetectorStateError(DeviceError):
    """Checkpointed detector state cannot be restored (bad bytes, version or device)."""


class TuningError(DeviceError, ValueError):
    """A detector override the domain refuses; the message names the setting and why."""
