"""What guides a search: a designed proxy, a published baseline, or random choice.

Called by :mod:`greenmachine.search.run`. Every guide but ``random`` scores networks from their probe
statistics; :class:`ScoreBank` probes each network once (through
:class:`greenmachine.evaluation.evaluate.ProbePhase`, so through the probe cache) and scores it for *every*
guide at once, so the comparison guides cost no extra probing on networks already probed.
The random guide draws its scores from its own seeded generator and probes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from greenmachine.errors import GMError

RANDOM = "random"
COMPARISON_BASELINES = ("naswot", "synflow", "params")


@dataclass(frozen=True)
class Guide:
    """One guide: ``name`` as reported, ``kind`` (``proxy``, ``baseline`` or ``random``)."""

    name: str
    kind: str
    proxy: Any = None

    @property
    def probes(self) -> bool:
        """Whether the guide needs probe statistics."""
        return self.kind != RANDOM


def resolve_guide(name: str) -> Guide:
    """A baseline by name, ``random``, or a designed proxy (shipped name, file or run directory).

    Raises
    ------
    greenmachine.proxies.ProxyError
        Neither a baseline, ``random``, nor a loadable proxy (one line).
    """
    from greenmachine.baselines.published import BASELINES
    from greenmachine.proxies import ProxyError, load_proxy

    if name == RANDOM:
        return Guide(RANDOM, RANDOM)
    if name in BASELINES:
        return Guide(name, "baseline")
    try:
        proxy = load_proxy(name)
    except ProxyError as error:
        raise ProxyError(f"{error}; nor a baseline ({', '.join(BASELINES)}) or 'random'") from None
    return Guide(proxy.name, "proxy", proxy)


def guide_statistics(guide: Guide) -> set[str]:
    """The probe statistics a guide's scores read (none for random)."""
    from greenmachine.baselines.published import BASELINES

    if guide.kind == "baseline":
        return {BASELINES[guide.name].statistic}
    if guide.kind == "proxy":
        return set(guide.proxy.statistics)
    return set()


def _scores_for(guide: Guide, table: Any) -> np.ndarray:
    from greenmachine.baselines.published import baseline_scores
    from greenmachine.proxy.evaluate import evaluate_population

    if guide.kind == "baseline":
        return baseline_scores(table, [guide.name])[guide.name]
    values = evaluate_population([guide.proxy.tree], table)[0]
    return values.detach().cpu().numpy().astype(np.float64).reshape(-1)


class ScoreBank:
    """Scores of probed networks for several guides, each network probed at most once.

    Parameters
    ----------
    phase : greenmachine.evaluation.evaluate.ProbePhase
        Probes through the cache (its progress events go to the run's sink).
    dataset : str
        The dataset the networks are probed on.
    guides : sequence of Guide
        The guides whose scores are kept (random guides are ignored here).
    """

    def __init__(self, phase: Any, dataset: str, guides: Sequence[Guide]) -> None:
        self.phase = phase
        self.dataset = dataset
        self.guides = [guide for guide in guides if guide.probes]
        self.scores: dict[int, dict[str, float]] = {}
        #: The statistics the guides read, per network (for :meth:`degeneracy`).
        self.values: dict[int, dict[str, np.ndarray]] = {}
        #: Networks looked up (each scoring request), and how many needed the probe phase.
        self.requests = 0

    def _fill(self, indices: np.ndarray) -> None:
        missing = sorted({int(i) for i in indices} - set(self.scores))
        if not missing:
            return
        table = self.phase.table(np.asarray(missing, dtype=np.int64), self.dataset)
        if table is None:
            raise SearchStopped()
        from greenmachine.proxies.degeneracy import table_values

        by_guide = {guide.name: _scores_for(guide, table) for guide in self.guides}
        read = table_values(table, set().union(*(guide_statistics(guide) for guide in self.guides)))
        for position, index in enumerate(missing):
            self.scores[index] = {name: float(values[position]) for name, values in by_guide.items()}
            self.values[index] = {name: column[position] for name, column in read.items()}

    def degeneracy(self, guide: Guide, indices: np.ndarray, scores: np.ndarray):
        """What is degenerate about ``guide``'s ``scores`` of the networks ``indices`` (None: nothing).

        See :func:`greenmachine.proxies.degeneracy.diagnose`; the networks are named by table index.
        """
        from greenmachine.proxies.degeneracy import diagnose

        if not guide.probes:
            return None
        indices = [int(index) for index in indices]
        values = {name: [self.values[index][name] for index in indices] for name in guide_statistics(guide)}
        label = "proxy" if guide.kind == "proxy" else "baseline"
        return diagnose(scores, values, labels=[f"network {index}" for index in indices],
                        scorer=f"{label} {guide.name}")

    def scorer(self, guide: Guide, seed: int) -> Callable[[np.ndarray], np.ndarray]:
        """The scorer a strategy calls for ``guide`` (random: seeded uniform draws, no probe)."""
        if not guide.probes:
            rng = np.random.default_rng([seed, 7919])
            return lambda indices: rng.random(len(indices))

        def score(indices: np.ndarray) -> np.ndarray:
            self.requests += len(indices)
            self._fill(indices)
            return np.array([self.scores[int(i)][guide.name] for i in indices], dtype=np.float64)

        return score


class SearchStopped(GMError):
    """The probe phase was asked to stop before the search finished."""


def comparison_guides(main: Guide, names: Sequence[str] = COMPARISON_BASELINES) -> list[Guide]:
    """``main`` followed by the comparison baselines and random choice (no duplicates)."""
    guides = [main]
    for name in (*names, RANDOM):
        if name not in [guide.name for guide in guides]:
            guides.append(resolve_guide(name))
    return guides


__all__ = ["COMPARISON_BASELINES", "Guide", "RANDOM", "ScoreBank", "SearchStopped", "comparison_guides",
           "resolve_guide"]
