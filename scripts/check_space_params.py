"""Build every network of NAS-Bench-Macro and NAS-Bench-101 (500) and compare it with the benchmark's table.

Run from the repository root::

    GM_DATA_DIR=../shared/data python scripts/check_space_params.py [--space macro|nb101] [--no-flops]

For every row of each space's table it builds the untrained network
(:meth:`greenmachine.spaces.SearchSpace.build`), counts its parameters
(:func:`greenmachine.spaces.cost.count_parameters`: BatchNorm weight and bias counted) and compares
them with the table's ``params`` (NAS-Bench-Macro: the benchmark's count; NAS-Bench-101:
NASLib's, in millions with 6 decimals, so exact to the parameter). It also checks the
analytic count (:meth:`SearchSpace.parameter_count`) against the built network and, unless
``--no-flops``, compares the FLOPs of one 32x32 image with the table's, each counted with the
benchmark's own convention (:data:`FLOP_CONVENTIONS`; found by fitting, and exact on every
network):

* NAS-Bench-Macro ``flops``: multiply-accumulates of the Conv2d and Linear layers, biases not
  counted, i.e. :func:`greenmachine.spaces.cost.count_flops` less the classifier's 10 bias terms;
* NASLib's NAS-Bench-101 ``flops`` (tensorwatch ``ModelStats.Flops``): those
  multiply-accumulates (the classifier's bias not counted), plus 2 per BatchNorm output
  element, 1 per ReLU output element and the window area (9 or 4) per max-pool output
  element.

Prints one line per space: networks checked, parameter mismatches, FLOP mismatches, time;
and the first mismatches. Exit status 1 if any parameter count differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from greenmachine.benchmark.tables import load_benchmark  # noqa: E402
from greenmachine.spaces import get_space  # noqa: E402
from greenmachine.spaces.cost import count_flops, count_parameters  # noqa: E402

SPACES = ("macro", "nb101")
#: The table's FLOP column (millions per image) of each space.
FLOP_COLUMNS = {"macro": "flops_M", "nb101": "flops_M"}


def macro_flops(model, input_shape) -> int:
    """NAS-Bench-Macro's FLOPs: Conv2d/Linear multiply-accumulates without the biases."""
    from torch import nn

    biases = sum(module.out_features for module in model.modules()
                 if isinstance(module, nn.Linear) and module.bias is not None)
    return count_flops(model, input_shape) - biases


def naslib_flops(model, input_shape) -> int:
    """NASLib's (tensorwatch's) FLOPs: multiply-accumulates without biases, plus BN, ReLU and max-pool terms."""
    import torch
    from torch import nn

    extra = 0

    def hook(module, _inputs, output) -> None:
        nonlocal extra
        if isinstance(module, nn.BatchNorm2d):
            extra += 2 * output[0].numel()
        elif isinstance(module, nn.ReLU):
            extra += output[0].numel()
        elif isinstance(module, nn.MaxPool2d):
            kernel = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            extra += kernel * kernel * output[0].numel()

    handles = [module.register_forward_hook(hook) for module in model.modules()
               if isinstance(module, (nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d))]
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape))
    finally:
        for handle in handles:
            handle.remove()
        model.train()
    return macro_flops(model, input_shape) + extra


#: How each benchmark counted the FLOPs of its table.
FLOP_CONVENTIONS = {"macro": macro_flops, "nb101": naslib_flops}


def table_column(space, name: str) -> list[float]:
    """One column of a space's table, as floats in row order."""
    header, rows = space.table_rows(space.table_path())
    position = header.index(name)
    return [float(row[position]) for row in rows]


def check(space_name: str, flops: bool, show: int) -> tuple[int, int]:
    """Check every network of one space; print a summary; return (parameter, FLOP) mismatch counts."""
    import torch

    torch.set_num_threads(1)
    space = get_space(space_name)
    benchmark = load_benchmark(space)
    dataset = space.datasets[0]
    table_params = [round(value * 1e6) for value in benchmark.params(dataset)]
    table_flops = table_column(space, FLOP_COLUMNS[space_name]) if flops else []
    convention = FLOP_CONVENTIONS[space_name]
    parameter_mismatches, analytic_mismatches, flop_mismatches = [], [], []
    started = time.perf_counter()
    for index, arch in enumerate(benchmark.arch_strings):
        model = space.build(arch, dataset)
        built = count_parameters(model)
        if built != table_params[index]:
            parameter_mismatches.append((index, arch, built, table_params[index]))
        if space.parameter_count(arch, dataset) != built:
            analytic_mismatches.append((index, arch))
        if flops:
            counted = convention(model, space.dataset(dataset).input_shape)
            expected = round(table_flops[index] * 1e6)
            if counted != expected:
                flop_mismatches.append((index, arch, counted, expected))
    seconds = time.perf_counter() - started
    print(f"{space.title} ({space_name}): {len(benchmark)} networks built, parameter mismatches "
          f"{len(parameter_mismatches)}, analytic-count mismatches {len(analytic_mismatches)}"
          + (f", FLOP mismatches {len(flop_mismatches)}" if flops else "") + f" ({seconds:.0f} s)")
    for index, arch, built, expected in parameter_mismatches[:show]:
        print(f"  params  row {index} {arch}: built {built}, table {expected} ({built - expected:+d})")
    for index, arch, counted, expected in flop_mismatches[:show]:
        print(f"  flops   row {index} {arch}: counted {counted}, table {expected} ({counted - expected:+d})")
    return len(parameter_mismatches) + len(analytic_mismatches), len(flop_mismatches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=SPACES, action="append", help="only this space (repeatable)")
    parser.add_argument("--no-flops", action="store_true", help="skip the FLOP comparison (no forward passes)")
    parser.add_argument("--show", type=int, default=5, help="mismatches to print per space (default 5)")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.space or SPACES:
        parameters, _ = check(name, not args.no_flops, args.show)
        failed += parameters
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
