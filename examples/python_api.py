"""The Python API on a tiny sample: design a proxy, evaluate it, search with it, compare baselines.

Run by ``tests/integration/test_python_api.py`` and shown in the manual (How-to: the Python
API). Every call is the ``gm`` command beside it, on samples small enough for a test
(about 50 TSS networks probed at batch 4, in this process): the numbers show the calls
work, not how good a designed proxy is (see the manual's Results for that).

    python examples/python_api.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import greenmachine as gm
from greenmachine.events import GenerationDone

#: Tiny settings: 12/10/12 stratified networks, 12 formulas x 2 generations, batch 4, no process pool.
TINY = dict(
    sampling={"search": 12, "validation": 10, "test": 12, "strata": 3},
    evolution={"population": 12, "generations": 2},
    probe={"batch_size": 4, "workers": 1},
)


def _rounded(taus: dict) -> dict:
    """Taus to 3 decimals (None stays None: an undefined tau)."""
    return {name: None if tau is None else round(tau, 3) for name, tau in taus.items()}


def main(out: Path) -> None:
    """Run each call of the API once, into ``out``, and print what it returned."""
    def progress(event):
        if isinstance(event, GenerationDone):
            print(f"  generation {event.generation}/{event.generations}: validation tau {event.best_validation_tau:+.3f}")

    # gm run quick --set ... : probe, evolve, pick on validation, report on the test sample
    result = gm.design("quick", out=out / "design", on_event=progress, **TINY)
    print("formula:", result.formula)
    print("test tau:", _rounded(result.test_tau), "validation tau:", _rounded(result.validation_tau))
    print("hall of fame:", [(row["size"], row["formula"], row["validation_tau"]) for row in result.hall_of_fame])
    print(result.summary())

    # gm eval RUN_DIR --n 10 : the proxy on networks its run never saw, beside the baselines
    scores = gm.evaluate(result, n=10, workers=1)
    best = [row for row in scores.rows() if row["proxy"] != "evolved"][0]
    print(f"evaluate: tau {scores.tau:+.3f} on n={scores.n} {scores.dataset} networks; "
          f"best baseline {best['proxy']} {best['kendall_tau']:+.3f}")

    # gm search --proxy RUN_DIR --budget 6 --compare-seeds 0 : zero-cost NAS with the proxy
    found = gm.search(result, budget=6, compare_seeds=0, workers=1, out=out / "search").found
    print(f"search: found {found['arch']}, accuracy {found['accuracy']:.2f}, rank {found['rank']}/{found['space_size']}")

    # gm baselines quick --set ... : every published proxy on the same test networks (cache hits)
    for table in gm.baselines("quick", **TINY):
        print("baselines:", table.n, "networks,", ", ".join(f"{row['proxy']} {row['kendall_tau']:+.3f}"
                                                            for row in table.rows()[:3]))

    # the designed proxy, as any saved proxy, scores your own PyTorch models
    proxy = gm.load_proxy(result.run_dir)
    print("load_proxy:", proxy.formula, "| passes:", ", ".join(sorted(proxy.passes)))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="gm-api-")))
