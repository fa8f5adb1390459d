"""Score real CNNs with every shipped proxy and every baseline: are all scores finite and distinct?

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python scripts/real_models_check.py
        [--model examples/cifar_models/zoo.py:all_models] [--dataset cifar10]
        [--batch 16] [--seed 0] [--no-reference] [--json OUT]

Loads the model factory as ``gm score --model`` does (:func:`greenmachine.spaces.custom.load_function`,
so ``zoo.py``'s ``from models import *`` must find its sibling package), then prints one
table: a row per scorer, a column per model, and the parameter counts on top. Scorers:

* every shipped proxy (``gm proxies``), through :meth:`greenmachine.proxies.Proxy.rank` on the
  proxy's own probe batch size and seed and the ``--dataset`` minibatch (as ``gm score``);
* every bank baseline (:data:`greenmachine.baselines.published.BASELINES`, GraSP included), read from one
  whole-bank probe of each model at ``--batch`` / ``--seed`` (the probe's initialisation);
* every reference baseline (:mod:`greenmachine.baselines.reference`, the authors' released code)
  on the same initialised model and minibatch, unless ``--no-reference``.

A score is shown as NaN where the scorer says it is undefined (with the warning it gave).
The closing lines count exact zeros, non-finite scores and scorers whose scores are not all
distinct; the exit status is 1 when any scorer fails "finite and distinct on every model".
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

DEFAULT_MODELS = str(Path(__file__).resolve().parent.parent / "examples" / "cifar_models" / "zoo.py") + ":all_models"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODELS, help="FILE.py:FACTORY returning a list of models")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, default=16, help="minibatch of the baselines (proxies use their own)")
    parser.add_argument("--seed", type=int, default=0, help="minibatch and initialisation seed of the baselines")
    parser.add_argument("--no-reference", action="store_true", help="skip the authors'-code baselines")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    return parser.parse_args()


def _models(reference: str) -> list:
    from greenmachine.spaces.custom import load_function

    built = load_function(reference, "model factory")()
    return list(built) if isinstance(built, (list, tuple)) else [built]


def _initialised(model, images: torch.Tensor, seed: int):
    """The model as the probe scores it: readable form, seeded initialisation, training mode."""
    from greenmachine.probe.initialisation import initialise
    from greenmachine.spaces.layers import readable_model

    model = readable_model(model, images[:1])
    initialise(model, seed)
    return model.train()


def _proxy_rows(models, dataset: str, caught: list[str]) -> dict[str, list[float]]:
    from greenmachine.benchmark.images import minibatch
    from greenmachine.proxies import shipped_proxies

    rows = {}
    for proxy in shipped_proxies():
        images, labels = minibatch(dataset, proxy.batch_size, proxy.seed)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            rows[f"proxy {proxy.name}"] = proxy.rank(models, images, labels, seed=proxy.seed)
        caught.extend(f"proxy {proxy.name}: {warning.message}" for warning in seen)
    return rows


def _baseline_rows(models, dataset: str, batch: int, seed: int, reference: bool,
                   failures: list[str]) -> dict[str, list[float]]:
    from greenmachine.baselines.published import BASELINES
    from greenmachine.benchmark.images import minibatch
    from greenmachine.probe.engine import probe_model

    images, labels = minibatch(dataset, batch, seed)
    rows: dict[str, list[float]] = {f"baseline {name}": [] for name in BASELINES}
    names = []
    if reference:
        from greenmachine.baselines.reference.compute import resolve_names, score_network

        names = resolve_names(None)
        rows.update({f"reference {name}": [] for name in names})
    for position, model in enumerate(models):
        model = _initialised(model, images, seed)
        statistics = probe_model(model, images, labels, seed, grasp=True)
        undefined = getattr(statistics, "undefined", {}) or {}
        for name, baseline in BASELINES.items():
            value = statistics.network_statistics[baseline.statistic]
            rows[f"baseline {name}"].append(math.nan if baseline.statistic in undefined else float(value))
        if names:
            model = _initialised(model, images, seed)
            values, _, problems = score_network(model, images, labels, seed, names)
            failures.extend(f"model {position}: {line}" for line in problems)
            for name in names:
                rows[f"reference {name}"].append(values[name])
    return rows


def _cell(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) or math.isnan(value) else str(value)


def main() -> int:
    arguments = _arguments()
    torch.set_num_threads(1)
    start = time.perf_counter()
    models = _models(arguments.model)
    labels = [type(model).__name__ for model in models]
    parameters = [sum(p.numel() for p in model.parameters()) for model in models]
    caught: list[str] = []
    failures: list[str] = []
    rows = _proxy_rows(models, arguments.dataset, caught)
    rows.update(_baseline_rows(models, arguments.dataset, arguments.batch, arguments.seed,
                               not arguments.no_reference, failures))
    width = max(len(name) for name in rows)
    column = max(12, *(len(label) for label in labels))
    print(f"{len(models)} models from {arguments.model}; {arguments.dataset}; proxies at their own batch/seed, "
          f"baselines at batch {arguments.batch} seed {arguments.seed}; one torch thread; "
          f"{torch.__version__}")
    print(f"{'scorer':{width}s} " + " ".join(f"{label:>{column}s}" for label in labels)
          + "  finite distinct zeros")
    print(f"{'parameters':{width}s} " + " ".join(f"{count:>{column}d}" for count in parameters))
    bad, zero_total, zero_scorers = [], 0, 0
    summary = {}
    for name, values in rows.items():
        array = np.asarray(values, dtype=np.float64)
        finite = bool(np.isfinite(array).all())
        distinct = len(set(array[np.isfinite(array)].tolist())) == len(array)
        zeros = int((array == 0).sum())
        zero_total += zeros
        zero_scorers += zeros > 0
        if not (finite and distinct):
            bad.append(name)
        summary[name] = {"scores": [float(v) for v in array], "finite": finite, "distinct": distinct, "zeros": zeros}
        print(f"{name:{width}s} " + " ".join(f"{_cell(v):>{column}s}" for v in array)
              + f"  {'yes' if finite else 'NO':>6s} {'yes' if distinct else 'NO':>8s} {zeros:5d}")
    for line in caught:
        print(f"warning: {' '.join(line.split())}")
    for line in failures:
        print(f"failed: {line}")
    print(f"{len(rows)} scorers x {len(models)} models: {zero_total} scores exactly 0 (in {zero_scorers} scorers); "
          f"{len(bad)} scorers not finite and distinct on every model"
          + (f": {', '.join(bad)}" if bad else "") + f"; {time.perf_counter() - start:.0f} s")
    if arguments.json is not None:
        arguments.json.write_text(json.dumps({"models": labels, "parameters": parameters, "scorers": summary,
                                              "warnings": caught, "failures": failures}, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
