"""Re-measure every shipped proxy's Kendall tau on this machine and compare it across CPU kernels.

Called by hand (see the README's reproducibility section); not by the tests.

For each shipped proxy (``gm proxies``) it runs ``gm eval`` on a fixed random sample of its own
space and first dataset (``--n`` networks, sampling seed 0, the proxy's own search/validation
networks excluded, the proxy's probe batch and seed) once per kernel configuration, each with
an empty probe cache of its own (the cache key does not name the CPU):

* ``native``: this machine's default kernels;
* ``avx2``: ``ATEN_CPU_CAPABILITY=avx2`` with oneDNN capped at AVX2 (what an AVX2-only CPU
  runs; on an AVX2-only machine it is the same as ``native``).

It prints, per proxy, tau under each configuration, their difference (the same networks, so
the difference is the kernels' drift alone), and, when ``--recorded FILE`` is given, the
difference from the tau recorded there (written by an earlier ``--write FILE``, e.g. on
another machine: that compares machines). Run::

    GM_DATA_DIR=... python scripts/proxy_reproducibility.py --n 200 --write proxy_taus.json
    GM_DATA_DIR=... python scripts/proxy_reproducibility.py --n 200 --recorded scripts/proxy_reproducibility_recorded.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIGURATIONS = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
}


def shipped_proxies() -> list[str]:
    """Names of the proxies that ship with the package."""
    from greenmachine.proxies import shipped_proxy_names

    return shipped_proxy_names()


def evaluate(proxy: str, n: int, environment: dict[str, str], cache: Path, workers: int) -> dict:
    """One ``gm eval`` of ``proxy`` in a fresh process; its JSON result."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "eval.json"
        command = [sys.executable, "-m", "greenmachine.tui.cli", "eval", proxy, "--sample", "random", "--n", str(n),
                   "--seed", "0", "--workers", str(workers), "--json", str(output)]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "GM_CACHE_DIR": str(cache), **environment})
        if done.returncode:
            raise SystemExit(f"gm eval {proxy} failed: {done.stderr.strip().splitlines()[-1:]}")
        return json.loads(output.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="networks per proxy (default 200)")
    parser.add_argument("--proxies", nargs="*", help="proxy names (default: every shipped proxy)")
    parser.add_argument("--workers", type=int, default=1, help="probe workers per gm eval (default 1)")
    parser.add_argument("--write", type=Path, help="write the measured taus as JSON")
    parser.add_argument("--recorded", type=Path, help="compare with taus written earlier by --write")
    arguments = parser.parse_args()
    recorded = json.loads(arguments.recorded.read_text()) if arguments.recorded else {}
    measured: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as caches:
        for proxy in arguments.proxies or shipped_proxies():
            row = {}
            for name, environment in CONFIGURATIONS.items():
                result = evaluate(proxy, arguments.n, environment, Path(caches) / name, arguments.workers)
                row[name] = result["proxy"]["kendall_tau"]
                row["sample"] = (f"{result['space']}/{result['dataset']} n={result['n']} random seed 0, "
                                 f"batch {result['probe']['batch_size']}, probe seed {result['probe']['seed']}")
            measured[proxy] = row
            drift = abs(row["native"] - row["avx2"])
            line = f"{proxy:22s} native {row['native']:.4f}  avx2 {row['avx2']:.4f}  |drift| {drift:.4f}"
            if proxy in recorded:
                line += f"  recorded {recorded[proxy]['native']:.4f}  |difference| " \
                        f"{abs(row['native'] - recorded[proxy]['native']):.4f}"
            print(f"{line}  ({row['sample']})", flush=True)
    if arguments.write:
        arguments.write.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
