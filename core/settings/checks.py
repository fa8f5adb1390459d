"""Per-key validation of profile values: types, choices, ranges, limits and text checks.

Called by :func:`greenmachine.settings.profile.profile_from_mapping` for every ``section.key`` of a profile
and every ``--set`` override. Each failure is one :class:`greenmachine.errors.ProfileError` line
naming the file and the key. The limits (seeds, tree sizes, initial depths) are also read by
the evolution and proxy-tree code, which re-export them from :mod:`greenmachine.settings.profile`.
:func:`check_labels` and the few-label limits are also read by :mod:`greenmachine.sampling.few_labels`
(which re-exports them) and the repeats, so the profile check sits below sampling.
"""

from __future__ import annotations

import math
import re
from typing import Any

from greenmachine.errors import GMError, ProfileError

_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("sampling", "mode"): ("random", "stratified"),
    ("sampling", "stratification"): ("equal_width", "quantile"),
    ("probe", "executor"): ("local", "ray"),
    ("fitness", "aggregate"): ("min", "mean", "margin"),
    ("fitness", "normalise"): ("none", "rank", "zscore"),
    ("fitness", "metric"): ("kendall", "weighted_kendall", "kendall_top"),  # greenmachine.stats.fitness.FITNESS_METRICS
}
_MINIMUM: dict[tuple[str, str], float] = {
    ("sampling", "strata"): 1,
    ("sampling", "search"): 10,
    ("sampling", "validation"): 10,
    ("sampling", "test"): 10,
    ("sampling", "labels"): 0,
    ("probe", "batch_size"): 1,
    ("evolution", "population"): 2,
    ("evolution", "generations"): 1,
    ("evolution", "tournament_size"): 1,
    ("evolution", "elitism"): 0,
    ("evolution", "init_min_depth"): 1,
    ("evolution", "init_max_depth"): 1,
    ("evolution", "max_depth"): 1,
    ("evolution", "max_size"): 1,
    ("evolution", "parsimony"): 0,
    ("evolution", "cost_weight"): 0,
    ("evolution", "hall_of_fame"): 1,
    ("export", "simplify_timeout"): 0.1,
    ("sampling", "seed"): 0,
    ("probe", "seed"): 0,
    ("probe", "workers"): 0,
    ("evolution", "seed"): 0,
}
SEED_LIMIT = 2**32 - 1
"""Largest accepted seed (numpy and torch generators take any seed up to this)."""
MAX_TREE_DEPTH_SETTING = 32
"""Largest ``evolution.max_depth``: half of ``greenmachine.proxy.tree.MAX_DEPTH`` (crossover can
join two trees of the limit into one of up to twice its depth before rejecting it)."""
MAX_TREE_SIZE_SETTING = 2000
"""Largest ``evolution.max_size``: a quarter of ``greenmachine.proxy.tree.MAX_SIZE`` (crossover
doubles it at most; a subtree mutation adds at most ``2**MAX_INITIAL_DEPTH_SETTING``)."""
MAX_INITIAL_DEPTH_SETTING = 10
"""Largest ``evolution.init_max_depth`` (a full binary tree of this depth has 1023 nodes)."""
MIN_LABELS = 10
"""Smallest ``sampling.labels`` (five search and five validation networks; see
:mod:`greenmachine.sampling.few_labels`)."""
MIN_SEARCH = 5
"""Smallest search sample of a labelled split."""
MIN_VALIDATION = 5
"""Smallest validation sample of a labelled split."""
_MAXIMUM: dict[tuple[str, str], float] = {
    ("sampling", "strata"): 1000,
    ("sampling", "search"): 1_000_000,
    ("sampling", "validation"): 1_000_000,
    ("sampling", "test"): 1_000_000,
    ("sampling", "labels"): 1_000_000,
    ("sampling", "seed"): SEED_LIMIT,
    ("probe", "batch_size"): 1024,
    ("probe", "seed"): SEED_LIMIT,
    ("probe", "workers"): 4096,
    ("evolution", "population"): 100_000,
    ("evolution", "generations"): 100_000,
    ("evolution", "tournament_size"): 100_000,
    ("evolution", "elitism"): 100_000,
    ("evolution", "init_min_depth"): MAX_INITIAL_DEPTH_SETTING,
    ("evolution", "init_max_depth"): MAX_INITIAL_DEPTH_SETTING,
    ("evolution", "max_depth"): MAX_TREE_DEPTH_SETTING,
    ("evolution", "max_size"): MAX_TREE_SIZE_SETTING,
    ("evolution", "parsimony"): 1.0,
    ("evolution", "cost_weight"): 1.0,
    ("evolution", "hall_of_fame"): 100_000,
    ("evolution", "seed"): SEED_LIMIT,
    ("export", "simplify_timeout"): 3600.0,
}
_DEVICE_PATTERN = re.compile(r"(auto|cpu|cuda(:(0|[1-9][0-9]{0,3}))?)\Z")
_ADDRESS_PATTERN = re.compile(r"(auto|(ray://)?[A-Za-z0-9][A-Za-z0-9.-]{0,252}:[0-9]{1,5})\Z")
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}\Z")
_RATES = {"crossover_rate", "subtree_mutation_rate", "point_mutation_rate", "hoist_mutation_rate", "constant_mutation_rate"}


#: List settings that may be empty (the others need at least one item).
_MAY_BE_EMPTY = {("evolution", "exclude_statistics")}


def _check_statistic_names(where: str, names: tuple[str, ...]) -> None:
    """Every name is a registered statistic, none twice.

    The bank is read only here, when a profile names statistics: loading it imports torch,
    which every other profile load (and so ``gm``'s error paths) does without.
    """
    from greenmachine.probe.registry import statistic_names

    known = set(statistic_names(grasp=True))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ProfileError(f"{where}: unknown statistic(s) {', '.join(unknown)}; the names are those of the statistic bank")
    if len(set(names)) != len(names):
        raise ProfileError(f"{where}: a statistic is listed twice")


def _check_text(where: str, value: str) -> None:
    """Reject text that cannot be written back as UTF-8 (lone surrogates from odd bytes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProfileError(f"{where} is not valid UTF-8 text, got {value!r}") from None


def _check_value(source: str, section: str, key: str, expected: Any, value: Any) -> Any:
    where = f"{source}: {section}.{key}"
    if isinstance(expected, bool):
        if not isinstance(value, bool):
            raise ProfileError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(expected, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProfileError(f"{where} must be an integer, got {value!r}")
    elif isinstance(expected, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProfileError(f"{where} must be a number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:
            raise ProfileError(f"{where} is too large, got {value!r}") from None
        if not math.isfinite(value):
            raise ProfileError(f"{where} must be a finite number, got {value!r}")
    elif isinstance(expected, str):
        if not isinstance(value, str):
            raise ProfileError(f"{where} must be a string, got {value!r}")
        _check_text(where, value)
    elif isinstance(expected, tuple):
        if isinstance(value, str):
            value = [value]
        may_be_empty = (section, key) in _MAY_BE_EMPTY
        if not isinstance(value, list) or not (value or may_be_empty) or not all(isinstance(v, str) for v in value):
            raise ProfileError(f"{where} must be a {'' if may_be_empty else 'non-empty '}list of strings, got {value!r}")
        value = tuple(value)
    choices = _CHOICES.get((section, key))
    if choices is not None and value not in choices:
        raise ProfileError(f"{where} must be one of {', '.join(choices)}; got {value!r}")
    if (section, key) == ("benchmark", "space"):
        from greenmachine.spaces import CUSTOM, space_names

        if value not in (*space_names(), CUSTOM):
            raise ProfileError(f"{where} must be one of {', '.join((*space_names(), CUSTOM))}; got {value!r}")
    if (section, key) == ("evolution", "exclude_statistics"):
        _check_statistic_names(where, value)
    if (section, key) in (("benchmark", "datasets"), ("benchmark", "tasks")):
        if len(set(value)) != len(value):
            raise ProfileError(f"{where}: {key} are listed twice")
    minimum = _MINIMUM.get((section, key))
    if minimum is not None and value < minimum:
        raise ProfileError(f"{where} must be >= {minimum}, got {value!r}")
    maximum = _MAXIMUM.get((section, key))
    if maximum is not None and value > maximum:
        raise ProfileError(f"{where} must be <= {maximum}, got {value!r}")
    if key in _RATES and not 0.0 <= value <= 1.0:
        raise ProfileError(f"{where} must be between 0 and 1, got {value!r}")
    if (section, key) == ("energy", "country") and (
        len(value) != 3 or not value.isascii() or not value.isalpha()
    ):
        raise ProfileError(f"{where} must be an ISO 3166 alpha-3 country code such as USA, got {value!r}")
    if (section, key) == ("probe", "device") and not _DEVICE_PATTERN.match(value):
        raise ProfileError(f"{where} must be auto, cpu, cuda or cuda:N (N = 0, 1, ...), got {value!r}")
    if (section, key) == ("probe", "address") and value and not _ADDRESS_PATTERN.match(value):
        raise ProfileError(f"{where} must be empty, auto or HOST:PORT, got {value!r}")
    if (section, key) == ("probe", "cache_dir") and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ProfileError(f"{where} must be a folder path without control characters, got {value!r}")
    if (section, key) == ("probe", "cache_dir") and value != value.strip():
        raise ProfileError(f"{where} must be a folder path that neither is blank nor begins or ends with a space "
                           f"(empty: the default cache), got {value!r}")
    return value


def check_cost_table(source: str, space: str) -> None:
    """``evolution.cost_weight > 0`` needs measured pass costs, with joules, for ``space``."""
    from greenmachine.probe.costs import space_costs

    try:
        table = space_costs(space)
    except GMError as exc:
        raise ProfileError(f"{source}: evolution.cost_weight > 0: {exc}") from None
    if any(joules is None for _, joules in table.passes.values()):
        raise ProfileError(f"{source}: evolution.cost_weight > 0: the pass costs of {space} have no joules "
                           "(measured without energy metering)")


def check_labels(labels: int, source: str = "sampling.labels") -> None:
    """Raise one clear error when ``labels`` is neither 0 (off) nor at least :data:`MIN_LABELS`.

    Raises
    ------
    GMError
        ``labels`` between 1 and ``MIN_LABELS - 1`` (or negative).
    """
    if labels != 0 and labels < MIN_LABELS:
        raise GMError(f"{source} must be 0 (off) or at least {MIN_LABELS} labelled networks "
                      f"({MIN_SEARCH} search and {MIN_VALIDATION} validation at least), got {labels}")
