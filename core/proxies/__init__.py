"""Designed proxies you can take away: the shipped ones, and scoring any PyTorch model.

Called by ``gm proxies``, ``gm score``, every command that takes ``--proxy`` (a shipped name
or a path), and by users' own code::

    from greenmachine import load_proxy
    proxy = load_proxy("tss-cifar10")        # a shipped proxy, a best_proxy.json or a run dir
    proxy.score(model, images, labels)        # -> float
    proxy.rank(models, images, labels)        # -> one score per model

Shipped proxies are JSON files in this package (``<name>.json``): the ``best_proxy.json``
of a run of a paper profile plus a ``provenance`` block (profile, seeds, bank version,
sample sizes, measured validation/test tau beside the best baseline, probe cost). Scoring
initialises the model with the probe's seeded convention (the statistics the formula was
evolved on are of networks at that initialisation) unless asked not to, reads its
Conv2d/Linear layers in forward order, and runs only the passes the formula needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from greenmachine.errors import GMError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

    from greenmachine.proxy.tree import Node
    from greenmachine.stats.table import NetworkStatistics

PROXY_FILE = "best_proxy.json"


class ProxyError(GMError):
    """A proxy that cannot be found, read or applied."""


def shipped_proxy_names() -> list[str]:
    """Return the names of the proxies shipped with GreenMachine, sorted."""
    folder = resources.files(__name__)
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".json"))


@dataclass(frozen=True)
class Proxy:
    """A proxy formula with what it was designed on.

    Attributes
    ----------
    name : str
        The shipped name, or the file it was read from.
    tree : greenmachine.proxy.tree.Node
        The formula.
    space : str or None
        The search space it was evolved on.
    datasets : tuple of str
        The datasets it was evolved on.
    batch_size, seed : int
        The probe's minibatch size and seed at design time (defaults for scoring).
    provenance : Mapping
        For shipped proxies: profile, seeds, bank version, sample sizes, measured taus.
    tasks : tuple of str
        The ``space/dataset`` tasks of a multi-task proxy (empty for a single-space one).
    normalise : str
        ``none``, ``rank`` or ``zscore``: how each statistic is normalised within the
        networks scored before the formula reads it (see :mod:`greenmachine.stats.normalise`). A normalised
        proxy ranks a *set* of networks (:meth:`rank`, :meth:`scores_of` with two or more);
        it cannot score one network alone.
    """

    name: str
    tree: "Node"
    space: str | None = None
    datasets: tuple[str, ...] = ()
    batch_size: int = 16
    seed: int = 0
    provenance: Mapping[str, Any] = field(default_factory=dict)
    tasks: tuple[str, ...] = ()
    normalise: str = "none"

    @property
    def formula(self) -> str:
        """The formula as text."""
        return str(self.tree)

    @property
    def statistics(self) -> set[str]:
        """Names of the statistics the formula reads."""
        layer, network = self.tree.statistics()
        return layer | network

    @property
    def passes(self) -> set[str]:
        """The probe passes the formula needs (see :func:`greenmachine.probe.engine.passes_for`)."""
        from greenmachine.probe.engine import passes_for

        return passes_for(self.statistics)

    def scores_of(self, statistics: Sequence["NetworkStatistics"], labels: Sequence[str] | None = None) -> list[float]:
        """Evaluate the formula on probed networks (one score each).

        With a normalised proxy (``normalise`` not ``none``) every statistic is normalised
        within ``statistics`` first, so a score depends on the other networks scored with it.

        A network for which the probe could not define a statistic the formula reads
        (:attr:`greenmachine.stats.table.NetworkStatistics.undefined`) scores NaN. When the scores are
        degenerate (non-finite, exactly 0, or mostly tied) one
        :class:`greenmachine.proxies.degeneracy.DegenerateScoresWarning` says so, naming the networks
        (``labels``; default ``network 0``, ...) and the statistic that caused it.

        Raises
        ------
        ProxyError
            If a network lacks a statistic the formula reads, or a normalised proxy is
            given fewer than two networks.
        """
        from greenmachine.proxy.evaluate import evaluate_population
        from greenmachine.stats.table import NetworkStatistics, StatisticTable
        from greenmachine.stats.normalise import normalise_table

        if not statistics:
            return []
        if self.normalise != "none" and len(statistics) < 2:
            raise ProxyError(f"proxy {self.name} normalises statistics within the networks it scores "
                             f"({self.normalise}): it ranks a set of two or more networks (use rank()), "
                             "not one network alone")
        layer, network = self.tree.statistics()
        trimmed = []
        for stats in statistics:
            missing = sorted((layer - set(stats.layer_statistics)) | (network - set(stats.network_statistics)))
            if missing:
                raise ProxyError(f"proxy {self.name}: the probe gave no {', '.join(missing)}")
            trimmed.append(NetworkStatistics(
                stats.layer_names,
                {name: stats.layer_statistics[name] for name in sorted(layer)},
                {name: stats.network_statistics[name] for name in sorted(network)}))
        table = normalise_table(StatisticTable.from_networks(trimmed), self.normalise)
        values = evaluate_population([self.tree], table)
        scores = [float(value) for value in values.reshape(-1).tolist()]
        return _checked_scores(self, scores, statistics, labels)

    def probe(self, model: "nn.Module", images: "torch.Tensor", labels: "torch.Tensor", *,
              seed: int | None = None, initialise: bool = True, classes: int | None = None) -> "NetworkStatistics":
        """Probe ``model`` with only the passes this proxy needs.

        Parameters
        ----------
        model : torch.nn.Module
            Any network of Conv2d/Linear layers whose forward maps ``images`` to logits (or
            to ``(features, logits)``).
        images, labels : torch.Tensor
            The minibatch (on the device the model should run on).
        seed : int, optional
            Seeds the initialisation and the noise pass; default: the proxy's probe seed.
        initialise : bool
            Re-initialise the weights with the probe's seeded convention (default), as the
            networks the formula was designed on were; ``False`` keeps the model's weights.
            The model is modified in place either way (weights, BatchNorm statistics).
        classes : int, optional
            The dataset's class count: the model must give exactly that many logits
            (default: only checked against the labels of the minibatch).

        Raises
        ------
        GMError
            An empty minibatch; a model the probe cannot read (see :meth:`score`).
        """
        from greenmachine.probe.engine import probe_model
        from greenmachine.probe.initialisation import initialise as initialise_weights
        from greenmachine.spaces.layers import readable_model

        seed = self.seed if seed is None else int(seed)
        model = readable_model(model, _first_image(images, labels), classes)
        if initialise:
            initialise_weights(model, seed)
        model.to(images.device).train()
        return probe_model(model, images, labels, seed, only=self.passes)

    def score(self, model: "nn.Module", images: "torch.Tensor", labels: "torch.Tensor", *,
              seed: int | None = None, initialise: bool = True, classes: int | None = None) -> float:
        """Score one model (higher = predicted more accurate after training).

        See :meth:`probe` for the parameters. NaN, with a warning, where the probe cannot
        define a statistic the formula reads (see :meth:`scores_of`).

        Raises
        ------
        GMError
            A model the probe cannot read (no Conv2d/Linear layer, a failing forward pass,
            logits that are not one per class); a normalised proxy (it ranks a set of
            networks: use :meth:`rank`).
        """
        if self.normalise != "none":
            raise ProxyError(f"proxy {self.name} normalises statistics within the networks it scores "
                             f"({self.normalise}): it ranks a set of two or more networks (use rank()), "
                             "not one network alone")
        from greenmachine.spaces.layers import model_name

        statistics = self.probe(model, images, labels, seed=seed, initialise=initialise, classes=classes)
        return self.scores_of([statistics], [f"model {model_name(model)}"])[0]

    def rank(self, models: Sequence["nn.Module"], images: "torch.Tensor", labels: "torch.Tensor", *,
             seed: int | None = None, initialise: bool = True, classes: int | None = None) -> list[float]:
        """Score many candidate models on the same minibatch (one score per model, in order).

        A normalised proxy normalises every statistic within these models: the scores
        compare them with one another, and change with the set scored. Degenerate scores
        give one warning (see :meth:`scores_of`).
        """
        from greenmachine.spaces.layers import model_name

        statistics = [self.probe(model, images, labels, seed=seed, initialise=initialise, classes=classes)
                      for model in models]
        return self.scores_of(statistics, [f"model {n} ({model_name(m)})" for n, m in enumerate(models)])


def _first_image(images: "torch.Tensor", labels: "torch.Tensor") -> "torch.Tensor":
    """``images[:1]``, after checking the minibatch has images and one label each."""
    if images.dim() < 1 or images.shape[0] < 1:
        raise ProxyError("the minibatch is empty: scoring needs at least one image")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
        raise ProxyError(f"the minibatch has {images.shape[0]} image(s) but labels of shape {tuple(labels.shape)}: "
                         "give one class index per image")
    return images[:1]


def _checked_scores(proxy: Proxy, scores: list[float], statistics: Sequence["NetworkStatistics"],
                    labels: Sequence[str] | None) -> list[float]:
    """NaN where a statistic the formula reads is undefined; one warning when the scores are degenerate."""
    import math

    from greenmachine.proxies.degeneracy import network_values, warn_if_degenerate

    reads = proxy.statistics
    undefined = [dict(getattr(stats, "undefined", None) or {}) for stats in statistics]
    scores = [math.nan if reads & set(missing) else score for score, missing in zip(scores, undefined)]
    warn_if_degenerate(scores, network_values(statistics, reads), undefined=undefined, labels=labels,
                       scorer=f"proxy {proxy.name}", stacklevel=3)
    return scores


def proxy_file(name_or_path: str | Path) -> Path:
    """Return the JSON file of a shipped proxy's name, else ``name_or_path`` as a path.

    Lets every command that takes a proxy file (``gm eval``, ``gm export``) also take a
    shipped name. An existing file or folder of that name wins over the shipped proxy.
    """
    path = Path(name_or_path).expanduser()
    if not path.exists() and str(name_or_path) in shipped_proxy_names():
        return Path(str(resources.files(__name__).joinpath(f"{name_or_path}.json")))
    return path


def _read(text: str, where: str) -> Mapping[str, Any]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProxyError(f"{where}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or "tree" not in data:
        raise ProxyError(f"{where}: not a proxy file (a JSON object with a 'tree')")
    return data


def proxy_from_data(data: Mapping[str, Any], name: str) -> Proxy:
    """Build a :class:`Proxy` from the JSON form of a proxy file.

    Raises
    ------
    ProxyError
        Malformed tree, unknown operator or statistic (checked before any probing).
    """
    from greenmachine.probe.registry import statistic_names
    from greenmachine.proxy.tree import tree_from_dict

    try:
        tree = tree_from_dict(data["tree"], statistic_names("layer", grasp=True),
                              statistic_names("network", grasp=True))
    except GMError as exc:
        raise ProxyError(f"{name}: {exc}") from None
    except RecursionError:
        raise ProxyError(f"{name}: the proxy tree is nested too deeply") from None
    probe = data.get("probe") if isinstance(data.get("probe"), dict) else {}
    datasets = data.get("datasets") if isinstance(data.get("datasets"), list) else []
    batch_size, seed = probe.get("batch_size", 16), probe.get("seed", 0)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ProxyError(f"{name}: probe.batch_size must be a positive integer")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ProxyError(f"{name}: probe.seed must be a non-negative integer")
    space = data.get("space")
    normalise = data.get("normalise", "none")
    from greenmachine.stats.normalise import NORMALISATIONS

    if normalise not in NORMALISATIONS:
        raise ProxyError(f"{name}: normalise must be one of {', '.join(NORMALISATIONS)}, got {normalise!r}")
    tasks = data.get("tasks") if isinstance(data.get("tasks"), list) else []
    return Proxy(name=name, tree=tree, space=space if isinstance(space, str) else None,
                 datasets=tuple(str(d) for d in datasets), batch_size=batch_size, seed=seed,
                 provenance=data.get("provenance") if isinstance(data.get("provenance"), dict) else {},
                 tasks=tuple(str(t) for t in tasks), normalise=normalise)


def load_proxy(name_or_path: str | Path) -> Proxy:
    """Load a shipped proxy by name, a ``best_proxy.json`` file, or a run directory.

    Raises
    ------
    ProxyError
        Unknown name and no such file; unreadable or malformed file; unknown statistic.
    """
    text_name = str(name_or_path)
    if text_name in shipped_proxy_names():
        text = resources.files(__name__).joinpath(f"{text_name}.json").read_text(encoding="utf-8")
        return proxy_from_data(_read(text, f"shipped proxy {text_name}"), text_name)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        path = path / PROXY_FILE
    if not path.is_file():
        shipped = ", ".join(shipped_proxy_names()) or "none"
        raise ProxyError(f"no proxy {text_name!r}: not a shipped proxy ({shipped}) nor a proxy file or run directory")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProxyError(f"cannot read proxy file {path}: {exc}") from None
    return proxy_from_data(_read(text, str(path)), str(path))


def shipped_proxies() -> list[Proxy]:
    """Return every shipped proxy."""
    return [load_proxy(name) for name in shipped_proxy_names()]


__all__ = ["PROXY_FILE", "Proxy", "ProxyError", "load_proxy", "proxy_file", "proxy_from_data", "shipped_proxies",
           "shipped_proxy_names"]
