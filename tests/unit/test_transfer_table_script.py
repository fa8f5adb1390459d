"""scripts/transfer_table.py: rows sorted by τ, baselines from the first file, mismatched samples refused."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "transfer_table.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("transfer_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(tau: float, n: int = 400) -> dict:
    return {"n": n, "space": "macro", "dataset": "cifar10", "ground_truth": "test_acc_mean",
            "sampling": {"description": "random, seed 0"}, "probe": {"batch_size": 16, "seed": 0},
            "proxy": {"kendall_tau": tau, "spearman_rho": tau + 0.1},
            "proxies": {"swap": {"kendall_tau": 0.767, "spearman_rho": 0.928},
                        "params": {"kendall_tau": 0.201, "spearman_rho": 0.297}}}


def test_rows_sorted_and_baselines_listed(tmp_path, capsys):
    (tmp_path / "low.json").write_text(json.dumps([_result(-0.347)]))
    (tmp_path / "high.json").write_text(json.dumps(_result(0.536)))
    assert _load_script().main([str(tmp_path / "low.json"), str(tmp_path / "high.json")]) == 0
    out = capsys.readouterr().out
    assert out.index("| high | 0.536") < out.index("| low | -0.347")
    assert out.index("| swap | 0.767") < out.index("| params | 0.201")
    assert "n=400" in out


def test_other_networks_refused(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps(_result(0.5)))
    (tmp_path / "b.json").write_text(json.dumps(_result(0.5, n=300)))
    assert _load_script().main([str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert "scores other networks" in capsys.readouterr().err
