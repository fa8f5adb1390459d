"""Statistics of many networks, stacked for batched proxy evaluation.

The probe produces one :class:`NetworkStatistics` per network (ragged: networks have
different numbers of weighted layers). The evolution engine stacks them into a
:class:`StatisticTable` once, and every proxy formula is then evaluated on that table
without touching a network again. Called by ``greenmachine.probe`` (producer), ``greenmachine.proxy``
(evaluation), ``greenmachine.evolution`` and ``greenmachine.baselines.published`` (consumers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch


@dataclass(frozen=True)
class NetworkStatistics:
    """All statistics of one network at initialisation.

    Attributes
    ----------
    layer_names : tuple of str
        Qualified module names of the weighted layers (convs and the classifier), in
        forward order.
    layer_statistics : Mapping[str, numpy.ndarray]
        Per-layer statistic name -> float64 array with one value per weighted layer.
    network_statistics : Mapping[str, float]
        Network-level statistic name -> value.
    undefined : Mapping[str, str]
        Statistics the probe could not define for this network (name -> why: e.g. NASWOT
        and SWAP of a network without ReLU-family activations, every main-pass statistic of
        a network whose logits are not finite). Their stored values are placeholders (0) so
        tables stay finite; a scorer that reads one gives NaN and says why
        (:meth:`greenmachine.proxies.Proxy.scores_of`). Stored in the probe cache; not compared.
    """

    layer_names: tuple[str, ...]
    layer_statistics: Mapping[str, np.ndarray]
    network_statistics: Mapping[str, float]
    undefined: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class StatisticTable:
    """Statistics of ``N`` networks as dense, masked tensors.

    Attributes
    ----------
    layer_statistic_names : tuple of str
        Names of the ``S_l`` per-layer statistics, in tensor order.
    network_statistic_names : tuple of str
        Names of the ``S_n`` network statistics, in tensor order.
    layer_values : torch.Tensor
        float64, shape ``(S_l, N, L)``; padded positions hold 0.
    layer_mask : torch.Tensor
        bool, shape ``(N, L)``; True where network ``n`` has a layer ``l``.
    network_values : torch.Tensor
        float64, shape ``(S_n, N)``.
    """

    layer_statistic_names: tuple[str, ...]
    network_statistic_names: tuple[str, ...]
    layer_values: torch.Tensor
    layer_mask: torch.Tensor
    network_values: torch.Tensor

    @property
    def num_networks(self) -> int:
        """Number of networks ``N``."""
        return int(self.layer_mask.shape[0])

    def layer_statistic(self, name: str) -> torch.Tensor:
        """Return the ``(N, L)`` values of per-layer statistic ``name``."""
        return self.layer_values[self.layer_statistic_names.index(name)]

    def network_statistic(self, name: str) -> torch.Tensor:
        """Return the ``(N,)`` values of network statistic ``name``."""
        return self.network_values[self.network_statistic_names.index(name)]

    def unpadded_values(self, names: Iterable[str]) -> dict[str, list[np.ndarray]]:
        """Each statistic of ``names`` as one float64 array per network, the layer padding left out
        (a network statistic: one value). Names the table does not have are left out; keys sorted."""
        mask = self.layer_mask.detach().cpu().numpy()
        values: dict[str, list[np.ndarray]] = {}
        for name in sorted(set(names)):
            if name in self.layer_statistic_names:
                rows = self.layer_statistic(name).detach().cpu().numpy()
                values[name] = [rows[n][mask[n]].astype(np.float64) for n in range(rows.shape[0])]
            elif name in self.network_statistic_names:
                column = self.network_statistic(name).detach().cpu().numpy()
                values[name] = [np.asarray([value], dtype=np.float64) for value in column]
        return values

    def subset(self, positions: Sequence[int] | np.ndarray | torch.Tensor) -> "StatisticTable":
        """Return the table restricted to the networks at ``positions`` (in that order)."""
        index = torch.as_tensor(np.asarray(positions, dtype=np.int64), device=self.layer_mask.device)
        mask = self.layer_mask[index]
        width = int(mask.sum(dim=1).max().item()) if len(index) else 0
        return StatisticTable(
            self.layer_statistic_names,
            self.network_statistic_names,
            self.layer_values[:, index, :width].contiguous(),
            mask[:, :width].contiguous(),
            self.network_values[:, index].contiguous(),
        )

    def to(self, device: str | torch.device) -> "StatisticTable":
        """Return a copy of the table on ``device``."""
        return StatisticTable(
            self.layer_statistic_names,
            self.network_statistic_names,
            self.layer_values.to(device),
            self.layer_mask.to(device),
            self.network_values.to(device),
        )

    @classmethod
    def from_networks(cls, networks: Sequence[NetworkStatistics]) -> "StatisticTable":
        """Stack per-network statistics (all must carry the same statistic names).

        Raises
        ------
        ValueError
            If the networks do not share the same statistic names.
        """
        if not networks:
            raise ValueError("cannot build a statistic table from zero networks")
        layer_names = tuple(sorted(networks[0].layer_statistics))
        network_names = tuple(sorted(networks[0].network_statistics))
        width = max(len(n.layer_names) for n in networks)
        layer_values = np.zeros((len(layer_names), len(networks), width), dtype=np.float64)
        mask = np.zeros((len(networks), width), dtype=bool)
        network_values = np.zeros((len(network_names), len(networks)), dtype=np.float64)
        for column, stats in enumerate(networks):
            if tuple(sorted(stats.layer_statistics)) != layer_names or tuple(
                sorted(stats.network_statistics)
            ) != network_names:
                raise ValueError(f"network {column} carries a different set of statistics")
            count = len(stats.layer_names)
            mask[column, :count] = True
            for row, name in enumerate(layer_names):
                layer_values[row, column, :count] = stats.layer_statistics[name]
            for row, name in enumerate(network_names):
                network_values[row, column] = stats.network_statistics[name]
        return cls(
            layer_names,
            network_names,
            torch.from_numpy(layer_values),
            torch.from_numpy(mask),
            torch.from_numpy(network_values),
        )
