"""Score candidate models with a proxy and meter what it costs.

Called by ``gm score`` (and usable from Python): images come from a named dataset's seeded
minibatch, every model is probed with only the passes the proxy's formula needs, and the
whole scoring runs inside one energy span.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from greenmachine.errors import GMError
from greenmachine.proxies import Proxy


@dataclass(frozen=True)
class ScoreResult:
    """Scores of some models and what computing them cost.

    Attributes
    ----------
    proxy, formula : str
        The proxy's name and formula.
    scores : list of float
        One per model, in order.
    seconds : float
        Wall time of the scoring (minibatch, probes, formula).
    joules : float or None
        Energy of that span (``None`` when energy is not metered).
    energy_methods : dict
        How each energy part was obtained (measured / estimated / absent).
    dataset : str
    batch_size, seed : int
    passes : list of str
        The probe passes that ran.
    """

    proxy: str
    formula: str
    scores: list[float]
    seconds: float
    joules: float | None
    energy_methods: dict = field(default_factory=dict)
    dataset: str = "cifar10"
    batch_size: int = 16
    seed: int = 0
    passes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``gm score --json`` writes."""
        return {"proxy": self.proxy, "formula": self.formula, "scores": self.scores,
                "seconds": self.seconds, "joules": self.joules, "energy_methods": self.energy_methods,
                "dataset": self.dataset, "batch_size": self.batch_size, "seed": self.seed,
                "passes": self.passes}


def score_models(proxy: Proxy, models: Sequence[Any], dataset: str = "cifar10", batch_size: int | None = None,
                 seed: int | None = None, device: str = "auto", meter: Any = None) -> ScoreResult:
    """Score ``models`` with ``proxy`` on a seeded real minibatch of ``dataset``.

    Parameters
    ----------
    proxy : Proxy
    models : sequence of torch.nn.Module
    dataset : str
        Images and labels come from this dataset (see :mod:`greenmachine.benchmark.images`).
    batch_size, seed : int, optional
        Default: the proxy's own probe settings.
    device : str
        ``auto``, ``cpu`` or ``cuda[:N]``.
    meter : greenmachine.energy.EnergyMeter, optional
        Meters the scoring as one span; default: durations only.

    Raises
    ------
    GMError
        No models, a bad batch size or seed, an unknown dataset, a model the probe cannot read
        or whose logits are not one per class of ``dataset``.

    Warns
    -----
    greenmachine.proxies.degeneracy.DegenerateScoresWarning
        Scores that are NaN (a statistic undefined for a model, e.g. logits that are not
        finite), exactly 0 or mostly tied, with the statistic that caused it.
    """
    from greenmachine.energy import NullMeter
    from greenmachine.benchmark.images import minibatch
    from greenmachine.probe.engine import resolve_device
    from greenmachine.spaces.base import get_dataset

    if not models:
        raise GMError("no models to score")
    batch_size = proxy.batch_size if batch_size is None else int(batch_size)
    seed = proxy.seed if seed is None else int(seed)
    if batch_size < 1:
        raise GMError(f"batch size must be at least 1, got {batch_size}")
    if seed < 0:
        raise GMError(f"seed must be non-negative, got {seed}")
    classes = get_dataset(dataset).num_classes
    meter = meter if meter is not None else NullMeter()
    resolved = resolve_device(device)
    start = time.perf_counter()
    with meter.span("score") as handle:
        images, labels = minibatch(dataset, batch_size, seed)
        images, labels = images.to(resolved), labels.to(resolved)
        scores = proxy.rank(list(models), images, labels, seed=seed, classes=classes)
    reading = handle.reading
    seconds = time.perf_counter() - start
    return ScoreResult(proxy.name, proxy.formula, scores, seconds, reading.energy_joules,
                       dict(reading.methods), dataset, batch_size, seed, sorted(proxy.passes))


__all__ = ["ScoreResult", "score_models"]
