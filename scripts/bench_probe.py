"""Benchmark the probe: seconds per network for (a) a plain forward+backward pass,
(b) the whole default statistic bank, (c) the baselines computed the naive way; (b') the bank
with the opt-in GraSP pass.

Usage::

    PYTHONPATH=. python scripts/bench_probe.py [--space tss|sss] [--batch 64] [--networks 5]
        [--dataset cifar10] [--threads 1] [--seed 0]

(c) runs one separate, reference-style pass per proxy, as the published implementations do
(zero-cost-nas / FreeREA / Zen-NAS / MeCo / ZiCo / SWAP code structure, re-written here for
timing): grad_norm, snip, fisher, jacob_cov (forward + backward of the summed outputs, weight
gradients included as in the reference), synflow, naswot, zen (two forwards on a Gaussian
copy), grasp (exact Hessian-gradient product by double backward), meco, zico (two
forward+backward chunks of the same minibatch: cheaper than the reference's two full
minibatches) and swap. Everything (c) produces is also in (b).

(d) is the forwards and backwards the bank's statistic definitions require, run bare (no
hooks, no statistics): the structure pass's batch-1 forward, the main pass's two chunks
(forward, jacob_cov's input-gradient backward, the loss backward), SynFlow's float64
forward+backward and Zen's re-initialisation and two forwards. d/a is the least b/a can be
without changing a definition (and so the bank version); b/d is what the bank adds to it.

Targets: b <= 2.0 a (batch 16 and 64), c >= 3 b. The machine may be shared: the load average
is printed; ``--clock cpu`` counts this process's CPU seconds (steadier under load) and
``--bank-only`` times (a), (b) and (d) only.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.benchmark.images import minibatch, noise_batch  # noqa: E402
from greenmachine.probe.engine import build_initialised, probe_model  # noqa: E402
from greenmachine.probe.passes.codes import binary_kernel, code_matrix, pattern_keys, unique_count  # noqa: E402
from greenmachine.probe.initialisation import UNIT_GAUSSIAN, initialise  # noqa: E402
from greenmachine.probe.passes.main import MAIN_CHUNKS, jacobian_covariance_score, min_correlation_eigenvalue  # noqa: E402
from greenmachine.probe.passes.noise import GAUSSIAN_SEED_OFFSET, NOISE_BATCH, ZEN_MIXUP_GAMMA, gaussian_copy  # noqa: E402
from greenmachine.probe.passes.synflow import without_batchnorm  # noqa: E402
from greenmachine.spaces import weighted_layers  # noqa: E402


def _weights(model):
    return [m.weight for _, m in weighted_layers(model)]


def naive_grad_norm(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return sum(float(w.grad.norm()) for w in _weights(model))


def naive_snip(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(model))


def naive_fisher(model, x, y):
    handles, total = [], [0.0]

    def forward_hook(module, inputs, output):
        def grad_hook(grad, act=output.detach()):
            g = (act * grad).sum(dim=tuple(range(2, act.dim()))) if act.dim() > 2 else act * grad
            total[0] += float(0.5 * g.pow(2).mean(0).sum())
        output.register_hook(grad_hook)

    for _, module in weighted_layers(model):
        handles.append(module.register_forward_hook(forward_hook))
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return total[0]


def naive_jacob_cov(model, x, y):
    model.zero_grad()
    inputs = x.clone().requires_grad_(True)
    out = model(inputs)
    out.backward(torch.ones_like(out))
    return jacobian_covariance_score(inputs.grad.reshape(x.shape[0], -1))


def naive_synflow(model, x, y):
    clone = without_batchnorm(model).double()
    with torch.no_grad():
        for p in clone.parameters():
            p.abs_()
    clone(torch.ones((1,) + tuple(x.shape[1:]), dtype=torch.float64)).sum().backward()
    return sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(clone))


def _relu_codes(model, x):
    codes, handles = [], []
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            handles.append(module.register_forward_hook(lambda m, i, o: codes.append((o.detach() > 0).flatten(1))))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return codes


def naive_naswot(model, x, y):
    codes = _relu_codes(model, x)
    kernel = sum(binary_kernel(code_matrix(c)) for c in codes)
    return float(torch.linalg.slogdet(kernel)[1])


def naive_swap(model, x, y):
    codes = torch.cat(_relu_codes(model, x), dim=1)
    return unique_count(pattern_keys(code_matrix(codes)))


def naive_zen(model, x, y):
    clone = gaussian_copy(model, 0)
    feats = []
    pool = [m for m in clone.modules() if isinstance(m, nn.AdaptiveAvgPool2d)][-1]
    h = pool.register_forward_pre_hook(lambda m, i: feats.append(i[0]))
    a = noise_batch(x, 1)
    with torch.no_grad():
        clone(a)
        clone(a + 0.01 * noise_batch(x, 2))
    h.remove()
    score = float(torch.log((feats[0] - feats[1]).abs().sum(dim=(1, 2, 3)).mean()))
    for m in clone.modules():
        if isinstance(m, nn.BatchNorm2d):
            score += float(torch.log(torch.sqrt(m.running_var.mean())))
    return score


def naive_grasp(model, x, y):
    weights = _weights(model)
    grad_w = torch.autograd.grad(F.cross_entropy(model(x), y), weights)
    model.zero_grad()
    grad_f = torch.autograd.grad(F.cross_entropy(model(x), y), weights, create_graph=True)
    sum((gw * gf).sum() for gw, gf in zip(grad_w, grad_f)).backward()
    return sum(float(-(w.detach() * w.grad).sum()) for w in weights)


def naive_meco(model, x, y):
    values, handles = [], []
    for _, module in weighted_layers(model):
        handles.append(module.register_forward_hook(
            lambda m, i, o: values.append(float(min_correlation_eigenvalue(o[0])))))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return sum(values)


def naive_zico(model, x, y):
    grads = []
    for part in torch.tensor_split(torch.arange(x.shape[0]), 2):
        model.zero_grad()
        F.cross_entropy(model(x[part]), y[part]).backward()
        grads.append([w.grad.detach().clone() for w in _weights(model)])
    total = 0.0
    for layer in zip(*grads):
        stacked = torch.stack(layer)
        std = stacked.std(0, unbiased=False)
        nz = std > 0
        s = float((stacked.abs().mean(0)[nz] / std[nz]).sum())
        total += np.log(s) if s > 0 else 0.0
    return total


NAIVE = {"grad_norm": naive_grad_norm, "snip": naive_snip, "fisher": naive_fisher,
         "jacob_cov": naive_jacob_cov, "synflow": naive_synflow, "naswot": naive_naswot,
         "zen": naive_zen, "grasp": naive_grasp, "meco": naive_meco, "zico": naive_zico,
         "swap": naive_swap}


def floor_pass(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()


def definition_work(models, x, y, seed, parts=None):
    """(d): the forwards and backwards the bank's statistic definitions require, bare.

    No hooks, no reductions, no statistics: the structure pass's batch-1 forward; the main
    pass's two chunks (ZiCo takes its gradient statistics across them), each a forward, the
    input-gradient backward of the summed logits (jacob_cov) and the loss backward; SynFlow's
    float64 |W| forward+backward of one all-ones image without BatchNorm; Zen's N(0, 1)
    re-initialisation and its two forwards of 16 Gaussian images. ``models`` are two throwaway
    copies of the network made outside the timing (the second without BatchNorm,
    :func:`without_batchnorm`), changed in place. ``parts``, when given,
    receives the seconds of each part (added to what it holds).
    """
    model, synflow_model = models
    parts = {} if parts is None else parts

    def lap(name, start):
        now = CLOCK()
        parts[name] = parts.get(name, 0.0) + now - start
        return now

    start = CLOCK()
    with torch.no_grad():
        model.eval()
        model(torch.zeros_like(x[:1]))
        model.train()
    start = lap("structure forward", start)
    count = x.shape[0]
    for index in torch.tensor_split(torch.arange(count), MAIN_CHUNKS):
        inputs = x[index].clone().requires_grad_(True)
        logits = model(inputs)
        start = lap("main forwards", start)
        torch.autograd.grad(logits.sum(), inputs, retain_graph=True)
        start = lap("jacob_cov input backward", start)
        (F.cross_entropy(logits, y[index], reduction="sum") / count).backward()
        start = lap("loss backward", start)
    synflow_model.double()
    with torch.no_grad():
        for parameter in synflow_model.parameters():
            parameter.abs_()
    synflow_model(torch.ones((1,) + tuple(x.shape[1:]), dtype=torch.float64)).sum().backward()
    start = lap("synflow pass", start)
    size = min(NOISE_BATCH, count)
    first = noise_batch(x[:size], seed)
    mixed = first + ZEN_MIXUP_GAMMA * noise_batch(x[:size], seed + 1)
    initialise(model, seed + GAUSSIAN_SEED_OFFSET, UNIT_GAUSSIAN)
    with torch.no_grad():
        model(first)
        model(mixed)
    lap("zen re-initialisation and two forwards", start)


CLOCK = time.perf_counter


def timed(function, *args):
    start = CLOCK()
    function(*args)
    return CLOCK() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=("tss", "sss"), default="tss")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--networks", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bank-only", action="store_true",
                        help="time only (a), (b) and (d): skip the naive baselines (c) and the GraSP bank (b')")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall-clock seconds, or this process's CPU seconds (steadier on a shared "
                             "machine; equal to wall time when the process has a core to itself and "
                             "uses one thread)")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time
    torch.set_num_threads(args.threads)
    benchmark = load_benchmark(args.space)
    rng = np.random.default_rng(args.seed)
    indices = rng.choice(len(benchmark), size=args.networks, replace=False)
    x, y = minibatch(args.dataset, args.batch, args.seed)
    cpu = torch.device("cpu")
    print(f"space={args.space} dataset={args.dataset} batch={args.batch} networks={args.networks} "
          f"threads={args.threads} clock={args.clock} load average at start={os.getloadavg()[0]:.2f} (cpus={os.cpu_count()})")
    # warm-up (first calls allocate)
    warm = build_initialised(args.space, benchmark.arch(int(indices[0])), args.dataset, args.seed, cpu)
    floor_pass(warm, x, y)
    rows = []
    part_ratios: dict[str, list[float]] = {}
    for index in indices:
        arch = benchmark.arch(int(index))
        model = build_initialised(args.space, arch, args.dataset, args.seed, cpu)
        # a and b alternate, twice each; the minimum of each is kept (the CPU may be shared)
        a_runs, b_runs, d_runs, d_parts = [], [], [], []
        for _ in range(2):
            a_runs.append(timed(floor_pass, model, x, y))
            b_runs.append(timed(probe_model, model, x, y, args.seed))
            copies = (copy.deepcopy(model), without_batchnorm(model))
            d_parts.append({})
            d_runs.append(timed(definition_work, copies, x, y, args.seed, d_parts[-1]))
        a, b, d = min(a_runs), min(b_runs), min(d_runs)
        for name, seconds in d_parts[int(np.argmin(d_runs))].items():
            part_ratios.setdefault(name, []).append(seconds / a)
        if args.bank_only:
            rows.append((a, b, d))
            print(f"  index {int(index):5d}: a={a:.3f}s b={b:.3f}s d={d:.3f}s b/a={b / a:.2f} "
                  f"d/a={d / a:.2f} b/d={b / d:.2f}")
            continue
        b_grasp = timed(probe_model, model, x, y, args.seed, True)
        per = {}
        for name, function in NAIVE.items():
            fresh = build_initialised(args.space, arch, args.dataset, args.seed, cpu)
            per[name] = timed(function, fresh, x, y)
        c = sum(per.values())
        rows.append((a, b, c, b_grasp, d))
        detail = " ".join(f"{k}={v:.2f}" for k, v in per.items())
        print(f"  index {int(index):5d}: a={a:.2f}s b={b:.2f}s c={c:.2f}s b/a={b / a:.2f} c/b={c / b:.2f} "
              f"bank+grasp={b_grasp:.2f}s  [{detail}]")
    if args.bank_only:
        a, b, d = (float(np.mean(col)) for col in zip(*rows))
        print(f"mean seconds per network: (a) forward+backward {a:.3f}  (b) whole default bank {b:.3f}  "
              f"(d) the definitions' bare forwards and backwards {d:.3f}")
        print(f"ratios: b/a = {b / a:.2f} (target <= 2.0)   d/a = {d / a:.2f} (the least b/a can be "
              f"without changing a definition)   b/d = {b / d:.2f} (the bank's own overhead)")
        print("(d) by part, mean over networks of part / a: " + "  ".join(
            f"{name} {np.mean(values):.2f}" for name, values in part_ratios.items()))
        print(f"load average at end={os.getloadavg()[0]:.2f}")
        return
    a, b, c, g, d = (float(np.mean(col)) for col in zip(*rows))
    print(f"mean seconds per network: (a) forward+backward {a:.3f}  (b) whole default bank {b:.3f}  "
          f"(c) naive baselines {c:.3f}  (b') bank with the opt-in GraSP pass {g:.3f}  "
          f"(d) the definitions' bare forwards and backwards {d:.3f}")
    print(f"ratios: b/a = {b / a:.2f} (target <= 2.0)   c/b = {c / b:.2f} (target >= 3)   "
          f"b'/a = {g / a:.2f}   c/b' = {c / g:.2f} (c includes grasp, b does not)   "
          f"d/a = {d / a:.2f}   b/d = {b / d:.2f}")
    print(f"load average at end={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
