"""Markdown table of several ``gm eval PROXY --profile P --json FILE`` results: zero-shot transfer.

Reads the JSON files written by ``gm eval PROXY --profile P --json FILE`` (one proxy each,
:func:`greenmachine.evaluation.transfer.evaluate_proxy_on_profile`) and prints one row per proxy
(Kendall τ, Spearman ρ, n, the proxy's source), then every bank baseline on the same networks
(taken from the first file; every file of one table must score the same networks, which is
checked through n, space, dataset and the sampling description). Used to write
``docs/results/new-spaces.md``.

Usage::

    python scripts/transfer_table.py RESULT.json [RESULT.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _tau(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def load(path: Path) -> dict:
    """One ``gm eval --profile`` result (the first dataset's when the file holds a list)."""
    data = json.loads(path.read_text())
    return data[0] if isinstance(data, list) else data


def main(argv: list[str] | None = None) -> int:
    paths = [Path(text) for text in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print("usage: python scripts/transfer_table.py RESULT.json [RESULT.json ...]", file=sys.stderr)
        return 2
    results = [(path, load(path)) for path in paths]
    first = results[0][1]
    key = (first["n"], first["space"], first["dataset"], first["sampling"].get("description"))
    for path, result in results:
        if (result["n"], result["space"], result["dataset"], result["sampling"].get("description")) != key:
            print(f"transfer_table: error: {path} scores other networks than {paths[0]}", file=sys.stderr)
            return 2
    print(f"{first['space']} / {first['dataset']}: n={first['n']}, {first['sampling'].get('description')}, "
          f"probe batch {first['probe']['batch_size']} seed {first['probe']['seed']}, "
          f"ground truth {first['ground_truth']}\n")
    print("| proxy (zero-shot) | Kendall τ | Spearman ρ |")
    print("|---|---:|---:|")
    for path, result in sorted(results, key=lambda item: -(item[1]["proxy"].get("kendall_tau") or -2)):
        proxy = result["proxy"]
        print(f"| {path.stem} | {_tau(proxy.get('kendall_tau'))} | {_tau(proxy.get('spearman_rho'))} |")
    print("\n| baseline | Kendall τ | Spearman ρ |")
    print("|---|---:|---:|")
    baselines = sorted(first["proxies"].items(), key=lambda item: -(item[1].get("kendall_tau") or -2))
    for name, row in baselines:
        print(f"| {name} | {_tau(row.get('kendall_tau'))} | {_tau(row.get('spearman_rho'))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
