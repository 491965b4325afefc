"""The state of the river objects our detectors use, as plain numbers and back.

Only the attributes that carry what was learned are written; the objects are made fresh
by our own code and filled, so reading a checkpoint never runs anything it names.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

Json = dict[str, Any]


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _numbers(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError(f"not a mapping of numbers: {value!r}")
    return {str(k): _number(v) for k, v in value.items()}


def mean_state(mean: Any) -> Json:
    return {"n": float(mean.n), "mean": float(mean._mean)}


def mean_from(state: Json) -> Any:
    from river import stats

    mean = stats.Mean()
    mean.n, mean._mean = _number(state["n"]), _number(state["mean"])
    return mean


def var_state(var: Any) -> Json:
    return {"ddof": int(var.ddof), "mean": mean_state(var.mean), "S": float(var._S)}


def var_from(state: Json) -> Any:
    from river import stats

    var = stats.Var(ddof=int(_number(state["ddof"])))
    var.mean = mean_from(state["mean"])
    var._S = _number(state["S"])
    return var


def sad_state(sad: Any) -> Json:
    """river's ``anomaly.StandardAbsoluteDeviation`` over a ``stats.Mean``."""
    return {"variance": var_state(sad.variance), "sub_stat": mean_state(sad.sub_stat)}


def sad_from(state: Json) -> Any:
    from river import anomaly

    sad = anomaly.StandardAbsoluteDeviation(sub_stat=mean_from(state["sub_stat"]))
    sad.variance = var_from(state["variance"])
    return sad


def scaler_state(scaler: Any) -> Json:
    """river's ``preprocessing.StandardScaler`` (no window)."""
    return {
        "counts": {k: float(v) for k, v in scaler.counts.items()},
        "means": {k: float(v) for k, v in scaler.means.items()},
        "vars": {k: float(v) for k, v in scaler.vars.items()},
    }


def fill_scaler(scaler: Any, state: Json) -> None:
    scaler.counts = Counter({k: int(v) for k, v in _numbers(state["counts"]).items()})
    scaler.means = defaultdict(float, _numbers(state["means"]))
    scaler.vars = defaultdict(float, _numbers(state["vars"]))


def regression_state(regression: Any) -> Json:
    """river's ``linear_model.LinearRegression``: intercept, weights, SGD's step count."""
    return {
        "intercept": float(regression.intercept),
        "weights": {k: float(v) for k, v in regression._weights.to_dict().items()},
        "iterations": int(regression.optimizer.n_iterations),
    }


def fill_regression(regression: Any, state: Json) -> None:
    regression.intercept = _number(state["intercept"])
    for key, weight in _numbers(state["weights"]).items():
        regression._weights[key] = weight
    regression.optimizer.n_iterations = int(_number(state["iterations"]))
