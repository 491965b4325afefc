"""Fault use cases: record what the detectors report, through the :class:`Fault` entity.

The two handlers ingest's events reach first (``careline.bootstrap`` subscribes them): a
:class:`FaultOpened` becomes a stored fault and a :class:`FaultRecorded` event, which the
alerts rules take from there; a :class:`FaultCleared` clears the open fault.
"""

from __future__ import annotations

from datetime import UTC, datetime

from crm_core.kernel.errors import NotFound
from crm_core.kernel.events import Event
from devices.catalog import DeviceType
from devices.diagnosis import diagnose_faults
from devices.faults.model import Fault, FaultCleared, FaultClosed, FaultOpened, FaultRecorded
from devices.faults.ports import FaultRepository, FaultsUnitOfWork

SYSTEM = "careline"
ABSORBED_NOTE = (
    "not recovered: lasted long enough to be taken as the device's new normal; the "
    "detector learns again from this level"
)


def record_opened(
    event: FaultOpened, faults: FaultRepository, device_type: DeviceType | None = None
) -> list[Event]:
    """Store the fault a detector opened; nothing when it is stored already.

    With the device's type, the device's live faults (this one included) are diagnosed
    together and the diagnosis is stored on the fault and carried by the event.
    """
    fault = faults.add(Fault.from_opened(event))
    if fault is None or fault.id is None:
        return []
    if device_type is None or event.metric not in device_type.metrics:
        return [FaultRecorded(fault.id, event)]  # no data, or an unknown type: nothing to read
    diagnosis = diagnose_faults(device_type, faults.live(event.device_id))
    faults.set_diagnosis(fault.id, diagnosis)
    fault.diagnosis = diagnosis
    return [FaultRecorded(fault.id, event, diagnosis)]


def record_cleared(event: FaultCleared, faults: FaultRepository) -> list[Event]:
    """Clear the open fault on the event's device and metric, if there is one.

    A detector's clearing time earlier than the stored onset (a late window) clears it at
    the onset: a fault never ends before it began.
    """
    fault = faults.open_fault(event.device_id, event.metric, event.detector)
    if fault is None or fault.id is None:
        return []
    at = max(datetime.fromtimestamp(event.cleared_at, UTC), fault.opened_at)
    fault.clear(at)
    faults.save(fault)
    if event.absorbed:
        faults.note(fault.id, at, SYSTEM, "absorbed", ABSORBED_NOTE)
    hint = fault.diagnosis.cleared_hint if fault.diagnosis is not None else ""
    return [FaultClosed(fault.id, fault.device_id, fault.metric, event.absorbed, hint)]


def acknowledge(
    uow: FaultsUnitOfWork, fault_id: int, by: str, comment: str, now: datetime
) -> list[Event]:
    """Someone takes a fault in hand, in one transaction; the history records it.

    :class:`NotFound`, or :class:`~devices.errors.FaultAlreadyCleared` when it has cleared.
    """
    with uow:
        fault = uow.faults.get(fault_id, for_update=True)
        if fault is None:
            raise NotFound(f"fault {fault_id} does not exist")
        event = fault.acknowledge(by, now, comment)
        uow.faults.save(fault)
        uow.faults.note(fault_id, now, by, "acknowledged", comment)
        uow.commit()
    return [event]
