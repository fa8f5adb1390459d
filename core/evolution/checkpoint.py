"""Checkpoint of an evolution: its complete state as JSON-able data, and the exact restore.

The state holds the population (tree JSON), the RNG state, the generation, the statistic
and operator names and the hall of fame, so that a resumed run ends with the same best
formula as an uninterrupted one. A malformed state is one :class:`GMError` line.

Called by :meth:`greenmachine.evolution.Evolution.state_dict` and
:meth:`greenmachine.evolution.Evolution.from_state_dict` (the engine checkpoints after every
generation); it reaches the evolution's hall of fame only through its public state API
(:meth:`~greenmachine.evolution.Evolution.hall_state`, ``load_hall_state``, ``has_best``,
``remember_fitness``), so it does not import the loop.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import torch

from greenmachine.errors import GMError
from greenmachine.proxy.tree import tree_from_dict
from greenmachine.settings.profile import EvolutionSettings
from greenmachine.stats.table import StatisticTable

STATE_FORMAT = "gm-evolution-1"


def evolution_state(evolution: Any) -> dict[str, Any]:
    """Return the complete state of ``evolution`` as JSON-able data (population as tree
    JSON, RNG state, generation, hall of fame)."""
    version, internal, gauss = evolution.rng.getstate()
    return {
        "format": STATE_FORMAT,
        "generation": evolution.generation,
        "seed": evolution.settings.seed,
        "settings": dataclasses.asdict(evolution.settings),
        "rng": [version, list(internal), gauss],
        "layer_statistic_names": list(evolution.primitives.layer_statistic_names),
        "network_statistic_names": list(evolution.primitives.network_statistic_names),
        "operator_names": list(evolution.primitives.operator_names),
        "population": [tree.to_dict() for tree in evolution.population],
        "search_tau": list(evolution.search_tau),
        **evolution.hall_state(),
    }


def restore_evolution(
    cls: Any,
    state: Mapping[str, Any],
    settings: EvolutionSettings,
    search_tables: Sequence[StatisticTable],
    search_targets: Sequence[torch.Tensor],
    validation_tables: Sequence[StatisticTable],
    validation_targets: Sequence[torch.Tensor],
    probe_cost: Any = None,
    aggregate: str = "min",
    offsets: Mapping[str, Sequence[float]] | None = None,
    metric: str = "kendall",
) -> Any:
    """Rebuild an evolution of class ``cls`` from :func:`evolution_state` output and the
    same inputs (``probe_cost``: see :class:`greenmachine.evolution.Evolution`; ``aggregate``: the
    fitness aggregate and its ``offsets``, and ``metric``, as the evolution was made with).

    Raises
    ------
    GMError
        If the state is not an evolution checkpoint or was made with another seed.
    """
    if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
        raise GMError("not an evolution checkpoint (unknown format)")
    if state.get("seed", settings.seed) != settings.seed:
        raise GMError(f"checkpoint was made with seed {state.get('seed')!r}, the profile says {settings.seed}")
    try:
        return _restore(cls, state, settings, search_tables, search_targets, validation_tables, validation_targets,
                        probe_cost, aggregate, offsets, metric)
    except GMError as error:
        raise GMError(f"not a valid evolution checkpoint ({error})") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as error:
        text = str(error).strip().splitlines()
        detail = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
        raise GMError(f"not a valid evolution checkpoint ({detail})") from None


def _restore(cls, state, settings, search_tables, search_targets, validation_tables, validation_targets,
             probe_cost, aggregate="min", offsets=None, metric="kendall") -> Any:
    """Build the evolution and load ``state`` into it (any malformed field raises)."""
    names = {key: state[key] for key in ("layer_statistic_names", "network_statistic_names", "operator_names")}
    for key, value in names.items():
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise TypeError(f"{key} is not a list of names")
    evolution = cls(settings, search_tables, search_targets, validation_tables, validation_targets, **names,
                    probe_cost=probe_cost, aggregate=aggregate, offsets=offsets, metric=metric)
    version, internal, gauss = state["rng"]
    internal = tuple(int(v) for v in internal)
    if gauss is not None:
        gauss = float(gauss)
    evolution.rng.setstate((int(version), internal, gauss))
    evolution.generation = int(state["generation"])
    if not 0 <= evolution.generation <= settings.generations:
        raise ValueError(f"generation {evolution.generation} is out of range")
    layer, network = names["layer_statistic_names"], names["network_statistic_names"]
    evolution.population = [tree_from_dict(data, layer, network) for data in state["population"]]
    evolution.search_tau = [float(v) for v in state["search_tau"]]
    if len(evolution.search_tau) != len(evolution.population):
        raise ValueError("population and search_tau differ in length")
    evolution.load_hall_state(state)
    if evolution.generation > 0 and (not evolution.has_best() or not evolution.population):
        raise ValueError("a checkpoint after a generation must hold a population and a best proxy")
    evolution.remember_fitness(evolution.population, evolution.search_tau)
    return evolution
