"""Online anomaly detection: per-(device, metric) monitors over windowed telemetry.

``base`` is the detector port and factory, ``standard_score`` the first detector,
``regression`` the second (a metric against the other metrics it should follow), ``monitor``
the windowing, warm-up and fault hysteresis of one metric, ``relation`` the same for a metric
and its inputs, ``fleet`` every monitor of one ingest worker. The events they emit live in
:mod:`devices.faults.model`. Importing this package does not import river; creating the
first detector does.
"""

from __future__ import annotations

from devices.detection.base import Detector, detector_factories, make_detector
from devices.detection.fleet import FleetDetectors
from devices.detection.monitor import EVIDENCE_WINDOWS, MetricMonitor
from devices.detection.regression import RegressionDetector
from devices.detection.standard_score import StandardScoreDetector

__all__ = [
    "EVIDENCE_WINDOWS",
    "Detector",
    "FleetDetectors",
    "MetricMonitor",
    "RegressionDetector",
    "StandardScoreDetector",
    "detector_factories",
    "make_detector",
]
