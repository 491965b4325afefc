"""One contract, run against every detector kind the factory knows."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from devices.catalog import DetectorSpec
from devices.detection import Detector, detector_factories, make_detector
from devices.errors import DeviceError, UnknownDetectorKindError

KINDS = sorted(detector_factories())
START = 1_700_006_400.0  # midnight UTC
WINDOW_S = 300.0
MAX_STATE_BYTES = 20_000


def spec(kind: str) -> DetectorSpec:
    return DetectorSpec(
        kind=kind,
        window_s=WINDOW_S,
        threshold=4.0,
        warmup=24,
        open_after=3,
        clear_after=6,
        adapt=0.01,
    )


def stream(seed: int, n: int, first: int = 0) -> list[tuple[float, float]]:
    """(window mean, window start) pairs: 4 °C, a daily cycle, seeded noise."""
    rng = random.Random(seed)
    pairs = []
    for i in range(first, first + n):
        at = START + WINDOW_S * i
        value = 4.0 + 0.4 * math.sin(2 * math.pi * at / 86400) + rng.gauss(0, 0.1)
        pairs.append((value, at))
    return pairs


def trained(kind: str, n: int = 600, seed: int = 1) -> Detector:
    detector = make_detector(spec(kind))
    for value, at in stream(seed, n):
        detector.learn(value, at)
    return detector


def test_the_factory_knows_the_catalog_kind() -> None:
    assert "standard_score" in KINDS


def test_an_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(
        UnknownDetectorKindError, match=r"'isolation'.*known kinds: regression, standard_score"
    ):
        make_detector(spec("isolation"))
    assert issubclass(UnknownDetectorKindError, DeviceError)


@pytest.mark.parametrize("kind", KINDS)
def test_the_detector_is_named_after_its_kind(kind: str) -> None:
    assert make_detector(spec(kind)).name == kind


@pytest.mark.parametrize("kind", KINDS)
def test_scores_are_finite_and_not_negative(kind: str) -> None:
    detector = make_detector(spec(kind))
    scores = []
    for value, at in stream(2, 400):
        scores.append(detector.score(value, at))
        detector.learn(value, at)
    at = START + WINDOW_S * 400
    scores += [detector.score(v, at) for v in (-1e6, -40.0, 0.0, 4.0, 60.0, 1e6)]

    assert all(math.isfinite(s) and s >= 0.0 for s in scores)


@pytest.mark.parametrize("kind", KINDS)
def test_a_value_far_from_normal_scores_above_the_threshold_and_a_normal_one_below(
    kind: str,
) -> None:
    detector = trained(kind)
    value, at = stream(1, 1, first=600)[0]

    assert detector.score(value, at) < 4.0
    assert detector.score(value + 3.0, at) >= 4.0
    assert detector.score(value - 3.0, at) >= 4.0


@pytest.mark.parametrize("kind", KINDS)
def test_scoring_does_not_change_state_and_learning_does(kind: str) -> None:
    detector = trained(kind)
    before = pickle.dumps(detector)
    value, at = stream(9, 1, first=600)[0]

    for probe in (value, value + 10.0, -1e6):
        detector.score(probe, at)

    assert pickle.dumps(detector) == before
    assert detector.learned == 600
    detector.learn(value, at)
    assert pickle.dumps(detector) != before
    assert detector.learned == 601


@pytest.mark.parametrize("kind", KINDS)
def test_identical_seeded_streams_give_identical_scores(kind: str) -> None:
    def scores() -> list[float]:
        detector = make_detector(spec(kind))
        out = []
        for value, at in stream(3, 500):
            out.append(detector.score(value, at))
            detector.learn(value, at)
        return out

    first, second = scores(), scores()

    assert first == second
    assert len(set(first[10:])) > 400  # the scores really vary with the data


@pytest.mark.parametrize("kind", KINDS)
def test_a_pickle_round_trip_keeps_the_scores(kind: str) -> None:
    original = trained(kind)
    copy = pickle.loads(pickle.dumps(original))

    assert copy.name == original.name
    assert copy.learned == original.learned
    for value, at in stream(4, 300, first=600):
        assert copy.score(value, at) == original.score(value, at)
        original.learn(value, at)
        copy.learn(value, at)
    assert copy.learned == original.learned == 900


@pytest.mark.parametrize("kind", KINDS)
def test_state_stays_small_however_long_it_learns(kind: str) -> None:
    after_a_day = len(pickle.dumps(trained(kind, n=288)))
    after_a_month = len(pickle.dumps(trained(kind, n=30 * 288)))

    assert after_a_month <= MAX_STATE_BYTES
    # constant size: nothing grows with history (a counter may take one more byte to pickle)
    assert after_a_month <= after_a_day + 8


@pytest.mark.parametrize("kind", KINDS)
def test_river_style_one_stream_use_matches_the_pipeline_methods(kind: str) -> None:
    """learn_one/score_one on {"value", "t"} dicts do what learn/score do."""
    pipeline, standalone = make_detector(spec(kind)), make_detector(spec(kind))
    for value, at in stream(3, 400):
        assert standalone.score_one({"value": value, "t": at}) == pipeline.score(value, at)
        pipeline.learn(value, at)
        standalone.learn_one({"value": value, "t": at})
    assert standalone.learned == pipeline.learned == 400
