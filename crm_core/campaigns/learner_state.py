"""The learner's state, shared in PostgreSQL: sufficient statistics per campaign (arm).

River's ``LinUCBDisjoint`` keeps one Bayesian linear regression per arm; without smoothing
its posterior is fixed by two sums over what the arm learned: ``sum(x x^T)`` and
``sum(y x)`` (precision ``I/alpha + beta * sum(x x^T)``, natural mean ``beta * sum(y x)``).
Those sums, with the feature names, are what we store (JSON in ``offer_learner_state``, one
row): a stable format of our own rather than river's private arrays or a pickle, so a river
upgrade or a restart loses nothing. A model is rebuilt from them through river's public
``update`` with a handful of synthetic samples per arm (the eigenvectors of
``sum(x x^T)``, scaled, with rewards chosen to give back ``sum(y x)``), which reproduces
both sums exactly up to rounding.

Why shared and not per process: every deciding process learns from the same settled offers
by updating this one row under a row lock (``FOR UPDATE``), from the row's own watermark,
and then rebuilds its model from the row. So two processes never hold diverging policies
for longer than one catch-up interval, no settled offer is learned twice by two processes,
and a restarted process starts from the row instead of replaying every settled offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Features = dict[str, float]
FORMAT = 2  # 2: the context features of crm_core.campaigns.context (1: no customer)


@dataclass
class ArmStats:
    names: list[str] = field(default_factory=list)
    xx: list[list[float]] = field(default_factory=list)
    xy: list[float] = field(default_factory=list)
    n: int = 0

    def add(self, x: Features, y: float) -> None:
        for name in x:
            if name not in self.names:
                self.names.append(name)
                for row in self.xx:
                    row.append(0.0)
                self.xx.append([0.0] * len(self.names))
                self.xy.append(0.0)
        v = [x.get(name, 0.0) for name in self.names]
        for i, vi in enumerate(v):
            if vi:
                row = self.xx[i]
                for j, vj in enumerate(v):
                    row[j] += vi * vj
                self.xy[i] += vi * y
        self.n += 1

    def samples(self) -> list[tuple[Features, float]]:
        """Samples whose sums of ``x x^T`` and ``y x`` are this arm's (see the module)."""
        if not self.names:
            return []
        xx = np.array(self.xx, dtype=np.float64)
        xy = np.array(self.xy, dtype=np.float64)
        values, vectors = np.linalg.eigh((xx + xx.T) / 2)
        top = float(values.max(initial=0.0))
        out = []
        for k, value in enumerate(values):
            if value <= max(top, 1.0) * 1e-12:
                continue
            v = vectors[:, k]
            x = np.sqrt(value) * v
            y = float(v @ xy) / float(np.sqrt(value))
            out.append(({n: float(x[i]) for i, n in enumerate(self.names)}, y))
        return out


@dataclass
class LearnerState:
    arms: dict[str, ArmStats] = field(default_factory=dict)

    @property
    def learned(self) -> int:
        return sum(a.n for a in self.arms.values())

    def add(self, arm: str, x: Features, y: float) -> None:
        self.arms.setdefault(arm, ArmStats()).add(x, y)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "arms": {
                arm: {"names": s.names, "xx": s.xx, "xy": s.xy, "n": s.n}
                for arm, s in sorted(self.arms.items())
            },
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LearnerState:
        """The state from its JSON (``ValueError`` for a format this code cannot read).

        >>> s = LearnerState()
        >>> s.add("1", {"bias": 1.0, "dwell": 0.5}, 4.5)
        >>> LearnerState.from_json(s.as_json()).arms["1"].xy
        [4.5, 2.25]
        """
        if doc.get("format", 1) != FORMAT:
            raise ValueError(f"learner state format {doc.get('format')!r} is not {FORMAT}")
        arms = {
            str(arm): ArmStats(
                [str(n) for n in a["names"]],
                [[float(v) for v in row] for row in a["xx"]],
                [float(v) for v in a["xy"]],
                int(a["n"]),
            )
            for arm, a in dict(doc.get("arms", {})).items()
        }
        return cls(arms)
