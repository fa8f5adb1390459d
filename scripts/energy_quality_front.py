"""The energy-quality front: Kendall tau against probe energy per network, for every baseline
computed alone by the passes it needs and every designed proxy by the passes its formula needs.

Called by hand (see the manual's results page "Energy and quality"); not by the tests.

Input: JSON files written by ``gm eval PROXY ... --json FILE`` (each holds the evolved proxy's
tau and every baseline's tau on the same networks). Files of one (space, dataset) are one
panel; a baseline's tau is the mean over the files of that panel (the files' samples differ
only by the networks each proxy's own run excluded), and its range is printed. Costs per
network are the measured pass costs of ``greenmachine/probe/pass_costs.json`` (this machine,
one thread, batch 16; seconds measured, joules estimated by codecarbon's CPU/RAM model unless
that file says otherwise): the structure pass plus every pass the scorer's statistics need.

A point is on the front when no cheaper-or-equal scorer has a higher tau. The script prints
one table per panel (scorer, passes, s/network, J/network, tau, on the front) and writes a
figure with one panel per (space, dataset)::

    python scripts/energy_quality_front.py --out front.png eval1.json eval2.json ...
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def scorer_costs(space: str, proxy_source: str | None, baselines: list[str]) -> dict[str, tuple]:
    """``{scorer: (seconds, joules, passes)}`` for one proxy file and the named baselines."""
    from greenmachine.baselines.published import BASELINES
    from greenmachine.probe.costs import probe_cost
    from greenmachine.proxies import load_proxy

    costs = {}
    for name in baselines:
        if name in BASELINES:
            costs[name] = tuple(probe_cost([BASELINES[name].statistic], space))
    if proxy_source:
        proxy = load_proxy(proxy_source)
        costs["proxy"] = tuple(probe_cost(proxy.statistics, space))
    return costs


def front(points: list[dict]) -> set[str]:
    """Names of the points no cheaper-or-equal point beats on tau."""
    ordered = sorted(points, key=lambda p: (p["joules"], -p["tau"]))
    best, kept = float("-inf"), set()
    for point in ordered:
        if point["tau"] > best:
            kept.add(point["name"])
            best = point["tau"]
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="gm eval --json outputs")
    parser.add_argument("--out", type=Path, help="figure file (.png or .svg)")
    parser.add_argument("--json", type=Path, help="also write the panels as JSON")
    arguments = parser.parse_args()
    panels: dict[tuple[str, str], dict] = defaultdict(lambda: {"proxies": [], "baselines": defaultdict(list), "n": []})
    for path in arguments.files:
        data = json.loads(path.read_text())
        key = (data["space"], data["dataset"])
        source = data["proxy"]["source"]
        name = Path(source).stem if source.endswith(".json") else source
        costs = scorer_costs(data["space"], source, list(data["proxies"]))
        seconds, joules, passes = costs["proxy"]
        tau = data["proxy"]["kendall_tau"]
        if tau is not None:
            panels[key]["proxies"].append({"name": name, "tau": tau, "seconds": seconds, "joules": joules,
                                           "passes": passes, "kind": "designed"})
        panels[key]["n"].append(data["n"])
        for baseline, row in data["proxies"].items():
            if baseline in costs and row.get("kendall_tau") is not None:
                panels[key]["baselines"][baseline].append((row["kendall_tau"], costs[baseline]))
    result = {}
    for (space, dataset), panel in sorted(panels.items()):
        points = list(panel["proxies"])
        for baseline, values in panel["baselines"].items():
            taus = [tau for tau, _ in values]
            seconds, joules, passes = values[0][1]
            points.append({"name": baseline, "tau": sum(taus) / len(taus), "range": (min(taus), max(taus)),
                           "seconds": seconds, "joules": joules, "passes": passes, "kind": "baseline"})
        on_front = front([p for p in points if p["joules"] is not None])
        for point in points:
            point["front"] = point["name"] in on_front
        points.sort(key=lambda p: (p["joules"], -p["tau"]))
        result[f"{space}/{dataset}"] = {"n": panel["n"], "points": points}
        print(f"\n{space}/{dataset}: n = {sorted(set(panel['n']))} networks per file, {len(panel['proxies'])} "
              "designed proxies (tau on each one's own file), baselines: mean tau over the files")
        print(f"{'scorer':24s} {'kind':9s} {'passes':32s} {'s/net':>7s} {'J/net':>7s} {'tau':>7s}  front")
        for point in points:
            print(f"{point['name']:24s} {point['kind']:9s} {'+'.join(point['passes']):32s} "
                  f"{point['seconds']:7.3f} {point['joules'] if point['joules'] is not None else float('nan'):7.2f} "
                  f"{point['tau']:7.4f}  {'*' if point['front'] else ''}")
    if arguments.json:
        arguments.json.write_text(json.dumps(result, indent=1, default=list) + "\n")
    if arguments.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.ticker
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(1, len(result), figsize=(5.5 * len(result), 4.2), squeeze=False)
        for axis, (title, panel) in zip(axes[0], result.items()):
            for point in panel["points"]:
                if point["joules"] is None:
                    continue
                designed = point["kind"] == "designed"
                axis.scatter(point["joules"], point["tau"], marker="*" if designed else "o",
                             s=140 if designed else 40, color="tab:green" if designed else "tab:gray", zorder=3)
                axis.annotate(point["name"], (point["joules"], point["tau"]), fontsize=7,
                              xytext=(3, 3), textcoords="offset points")
            line = sorted((p for p in panel["points"] if p["front"]), key=lambda p: p["joules"])
            axis.step([p["joules"] for p in line], [p["tau"] for p in line], where="post", color="tab:green",
                      alpha=0.5)
            axis.set_xscale("log")
            axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            axis.set_xlabel("probe energy per network, J (estimated; log scale)")
            axis.set_ylabel("Kendall tau")
            axis.set_title(f"{title} (n = {min(panel['n'])}-{max(panel['n'])})")
            axis.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(arguments.out, dpi=120)
        print(f"\nfigure: {arguments.out}")


if __name__ == "__main__":
    main()
