"""A user's own search space from a CSV and a builder file (``space = "custom"``).

The equivalence test builds a custom space from 60 TSS architectures (their accuracies on
:data:`EQUIVALENCE_DATASET`, a builder that calls the TSS network code) and runs it next to
the same 60 networks read through the built-in TSS space code: statistics, baselines and the
best formula must be identical. Every network it probes costs test time twice, so both runs
draw the smallest samples a profile allows (10 search, 10 validation, 10 test networks) on
ImageNet16-120, whose 16 x 16 images probe in about 2/3 of a CIFAR-10 network's time (and
whose 120 classes reach the builder's ``num_classes``). The other tests give each malformed
table or builder one clear error naming the file, row or arch.
"""

from __future__ import annotations

import csv
import json
from types import MappingProxyType

import numpy as np
import pytest

from greenmachine.errors import GMError, ProfileError
from greenmachine.events import ListSink
from greenmachine.settings.profile import load_profile
from greenmachine.spaces import register_space, unregister_space
from greenmachine.spaces.tss import TopologySearchSpace

BUILDER = '''
from greenmachine.spaces.tss import build_tss_network


def build(arch, num_classes):
    return build_tss_network(arch, num_classes)


def broken(arch, num_classes):
    if arch.endswith("avg_pool_3x3~2|"):
        raise RuntimeError("cannot build this one")
    return build_tss_network(arch, num_classes)


def not_a_model(arch, num_classes):
    return "a string"
'''

SIZES = {"mode": "random", "search": 10, "validation": 10, "test": 10, "seed": 0}
#: The dataset of the equivalence test (16 x 16 images: the cheapest TSS probes).
EQUIVALENCE_DATASET = "ImageNet16-120"


def _write_profile(folder, table, builder, cache, name="custom.toml", space="custom", sizes=SIZES, dataset="cifar10"):
    lines = [f'name = "{name[:-5]}"', "[benchmark]", f'space = "{space}"', f'datasets = ["{dataset}"]']
    if table is not None:
        lines += [f'table = "{table}"', f'builder = "{builder}"']
    lines += ["[sampling]", *(f"{k} = {json.dumps(v)}" for k, v in sizes.items()),
              "[probe]", "batch_size = 8", "seed = 0", f'cache_dir = "{cache}"',
              "[evolution]", "population = 16", "generations = 3", "seed = 0",
              "[energy]", "enabled = false"]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


class SubsetTSS(TopologySearchSpace):
    """The built-in TSS space code on a table of only some of its networks."""

    name = "tss-subset"
    size = None

    def __init__(self, table):
        self.table = table

    def table_path(self):
        return self.table


@pytest.fixture(scope="module")
def networks():
    from greenmachine.benchmark.tables import load_benchmark

    tss = load_benchmark("tss")
    indices = np.random.default_rng(7).choice(len(tss), size=60, replace=False)
    return tss, indices


def test_custom_space_equals_the_same_networks_through_tss(networks, tmp_path, monkeypatch):
    import gzip

    import greenmachine.report.build
    from greenmachine.run.factory import make_controller

    # the comparison reads report.json only: the two runs draw no figures
    monkeypatch.setattr(greenmachine.report.build, "draw_and_embed", lambda run_dir, skipped=None: [])

    dataset = EQUIVALENCE_DATASET
    tss, indices = networks
    archs = [tss.arch(i) for i in indices]
    accuracy = tss.accuracy(dataset)[indices]
    table = _write_csv(tmp_path / "my_space.csv", ["arch", dataset],
                       [[a, repr(float(x))] for a, x in zip(archs, accuracy)])
    (tmp_path / "my_space.py").write_text(BUILDER)
    custom_profile = load_profile(str(_write_profile(tmp_path, "my_space.csv", "my_space.py:build", tmp_path / "c1",
                                                     dataset=dataset)))
    assert custom_profile.benchmark.table == str(table)  # stored absolute

    subset_table = tmp_path / "subset.csv.gz"
    columns = TopologySearchSpace.metric_columns
    params = TopologySearchSpace.params_columns
    with gzip.open(subset_table, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "arch_str", *columns.values(), *params.values()])
        for row, index in enumerate(indices):
            writer.writerow([row, tss.arch(index), *(tss.accuracy(d)[index] for d in columns),
                             *(tss.params(d)[index] for d in params)])
    register_space(SubsetTSS(subset_table))
    try:
        subset_profile = load_profile(str(_write_profile(tmp_path, None, None, tmp_path / "c2",
                                                         name="subset.toml", space="tss-subset", dataset=dataset)))
        reports = []
        for profile, folder in ((custom_profile, "custom-run"), (subset_profile, "subset-run")):
            run_dir = make_controller(profile, ListSink(), run_dir=tmp_path / folder).run()
            reports.append(json.loads((run_dir / "report.json").read_text()))
    finally:
        unregister_space("tss-subset")
    custom, subset = reports
    assert custom["space"].startswith("custom-") and subset["space"] == "tss-subset"
    assert custom["best_proxy"]["formula"] == subset["best_proxy"]["formula"]
    assert custom["best_proxy"]["validation_tau"] == subset["best_proxy"]["validation_tau"]
    assert custom["test"][dataset]["evolved"] == subset["test"][dataset]["evolved"]
    custom_baselines = custom["test"][dataset]["baselines"]
    assert custom_baselines == subset["test"][dataset]["baselines"]
    assert {"naswot", "synflow", "snip"} <= set(custom_baselines)

    from greenmachine.probe import ProbeCache, probe_many

    some = archs[:3]
    via_custom = probe_many(custom_profile.search_space, some, dataset, 8, 0, "cpu", ProbeCache(tmp_path / "c1"))
    via_tss = probe_many("tss", some, dataset, 8, 0, "cpu", None)
    for a, b in zip(via_custom, via_tss):
        assert a.layer_names == b.layer_names
        for name in b.layer_statistics:
            np.testing.assert_array_equal(a.layer_statistics[name], b.layer_statistics[name])
        assert dict(a.network_statistics) == dict(b.network_statistics)


def _bad_profile(tmp_path, table_rows=None, header=("arch", "cifar10"), builder="my_space.py:build", sizes=SIZES):
    (tmp_path / "my_space.py").write_text(BUILDER)
    rows = table_rows if table_rows is not None else [[f"|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|{op}~2|", 50 + i]
                                                       for i, op in enumerate(["none", "skip_connect", "nor_conv_1x1",
                                                                               "nor_conv_3x3", "avg_pool_3x3"])]
    _write_csv(tmp_path / "my_space.csv", list(header), rows)
    return _write_profile(tmp_path, "my_space.csv", builder, tmp_path / "cache", sizes=sizes)


@pytest.mark.parametrize("case, fragment", [
    ("missing arch column", "lacks column(s) arch"),
    ("duplicate arch", "listed twice (rows 2 and 3)"),
    ("non-numeric accuracy", "row 3: 'high'"),
    ("missing table", "not found"),
    ("bad builder reference", "must read 'file.py:function'"),
])
def test_bad_tables_are_one_line(tmp_path, case, fragment):
    from greenmachine.benchmark.tables import load_benchmark

    if case == "missing arch column":
        path = _bad_profile(tmp_path, header=("network", "cifar10"))
    elif case == "duplicate arch":
        path = _bad_profile(tmp_path, table_rows=[["a", 1], ["a", 2], ["b", 3]])
    elif case == "non-numeric accuracy":
        path = _bad_profile(tmp_path, table_rows=[["a", 1], ["b", "high"]])
    elif case == "missing table":
        path = _bad_profile(tmp_path)
        (tmp_path / "my_space.csv").unlink()
    else:
        path = _bad_profile(tmp_path, builder="my_space.py")
    with pytest.raises(GMError) as caught:
        load_benchmark(load_profile(str(path)).search_space)
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    if case in ("missing table", "bad builder reference"):
        assert isinstance(caught.value, ProfileError) and str(path) in message
    elif case != "missing table":
        assert "my_space.csv" in message


@pytest.mark.parametrize("builder, fragment", [
    ("my_space.py:broken", "failed for arch '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|': RuntimeError: cannot build this one"),
    ("my_space.py:not_a_model", "returned str"),
    ("my_space.py:missing", "has no function 'missing'"),
    ("syntax_error.py:build", "failed to import: SyntaxError"),
])
def test_bad_builders_are_one_line_naming_the_arch(tmp_path, builder, fragment):
    from greenmachine.probe import probe_many

    (tmp_path / "syntax_error.py").write_text("def build(:\n")
    profile = load_profile(str(_bad_profile(tmp_path, builder=builder)))
    with pytest.raises(GMError) as caught:
        probe_many(profile.search_space, list(range(5)), "cifar10", 4, 0, "cpu", None)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_too_few_networks_for_the_samples_is_one_line(tmp_path):
    from greenmachine.run.factory import make_controller

    profile = load_profile(str(_bad_profile(tmp_path)))
    with pytest.raises(GMError) as caught:
        make_controller(profile, ListSink(), run_dir=tmp_path / "run").run()
    assert "my_space.csv" in str(caught.value) and "has 5 networks" in str(caught.value)


def test_table_and_builder_only_with_custom(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[benchmark]\nspace = "tss"\ntable = "x.csv"\n')
    with pytest.raises(ProfileError, match="only for space"):
        load_profile(str(path))
