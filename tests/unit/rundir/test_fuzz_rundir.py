"""Property-based tests: random bytes and wrong-shape JSON in every run-directory file end in
a one-line ``GMError`` from the ``RunDirectory`` readers (or a valid result), never in another
exception. Needs no data files: the checkpoint restore runs on a small synthetic table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenmachine.errors import GMError
from greenmachine.report.build import rebuild_report
from greenmachine.rundir.directory import (
    BEST_PROXY_FILE,
    CHECKPOINT_FILE,
    ENERGY_FIELDS,
    ENERGY_FILE,
    EVENTS_FILE,
    HALL_OF_FAME_FIELDS,
    HALL_OF_FAME_FILE,
    PROFILE_FILE,
    REPORT_JSON_FILE,
    RunDirectory,
)

FUZZ = settings(max_examples=int(os.environ.get("GM_FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
# Strings that look like the real files' fields, so the fuzz reaches past the first check.
field_names = st.sampled_from(
    ["evolution", "tree", "kind", "name", "value", "operator", "children", "rng", "format", "generation", "population",
     "search_tau", "best_per_size", "best", "seed", "space", "datasets", "probe", "batch_size", "energy", "phases",
     "test", "sampling", "type", "span", "phase", "duration_s", "methods", "layer_statistic_names"]
)
shaped_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | field_names,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(field_names, children, max_size=6),
    max_leaves=30,
)


def assert_one_line_or_valid(read) -> None:
    try:
        read()
    except GMError as error:
        text = str(error)
        assert text and "\n" not in text, repr(text)


def fresh(tmp_path: Path, name: str) -> RunDirectory:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    return RunDirectory(folder)


READERS = {
    CHECKPOINT_FILE: lambda d: d.read_checkpoint(),
    ENERGY_FILE: lambda d: d.read_energy(),
    EVENTS_FILE: lambda d: d.read_events(),
    HALL_OF_FAME_FILE: lambda d: d.read_hall_of_fame(),
    BEST_PROXY_FILE: lambda d: _read_proxy_tree(d),
    PROFILE_FILE: lambda d: d.read_profile(),
    REPORT_JSON_FILE: lambda d: rebuild_report(d.path),
}


def _read_proxy_tree(directory: RunDirectory):
    from greenmachine.proxy.tree import tree_from_dict

    return tree_from_dict(directory.read_best_proxy()["tree"])


@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(content=st.binary(max_size=400))
def test_random_bytes_in_each_file(tmp_path, name, content):
    directory = fresh(tmp_path, "bytes")
    directory.file(name).write_bytes(content)
    assert_one_line_or_valid(lambda: READERS[name](directory))


@pytest.mark.parametrize("name", [CHECKPOINT_FILE, BEST_PROXY_FILE, REPORT_JSON_FILE, EVENTS_FILE])
@FUZZ
@given(value=st.one_of(json_values, shaped_json))
def test_wrong_shape_json_in_each_json_file(tmp_path, name, value):
    directory = fresh(tmp_path, "json")
    text = json.dumps(value)
    if name == EVENTS_FILE:
        text = text + "\n" + text + "\n"  # two lines: neither is a torn last line
    directory.file(name).write_text(text, encoding="utf-8")
    assert_one_line_or_valid(lambda: READERS[name](directory))


csv_cells = st.one_of(st.text(max_size=12), st.sampled_from(["", "1", "-1", "nan", "inf", "1e400", "{}", "[]", "{"]),
                      st.floats().map(repr))


@pytest.mark.parametrize("name,fields", [(ENERGY_FILE, ENERGY_FIELDS), (HALL_OF_FAME_FILE, HALL_OF_FAME_FIELDS)])
@FUZZ
@given(rows=st.lists(st.lists(csv_cells, min_size=0, max_size=12), max_size=4))
def test_wrong_values_in_each_csv_file(tmp_path, name, fields, rows):
    import csv
    import io

    directory = fresh(tmp_path, "csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    writer.writerows(rows)
    directory.file(name).write_text(buffer.getvalue(), encoding="utf-8")
    assert_one_line_or_valid(lambda: READERS[name](directory))


@pytest.mark.parametrize("section", ["benchmark", "sampling", "probe", "evolution", "energy", "export", "nonsense"])
@FUZZ
@given(key=field_names | st.text(max_size=8), value=json_values)
def test_wrong_values_in_profile_toml(tmp_path, section, key, value):
    directory = fresh(tmp_path, "profile")
    literal = json.dumps(value)  # a JSON scalar or array is often valid TOML too
    directory.file(PROFILE_FILE).write_text(f'name = "x"\n[{section}]\n{json.dumps(key)} = {literal}\n', encoding="utf-8")
    assert_one_line_or_valid(lambda: READERS[PROFILE_FILE](directory))


# -- the evolution state inside checkpoint.json ---------------------------------------------------


@pytest.fixture(scope="module")
def evolution_inputs():
    from greenmachine.settings.profile import load_profile
    from greenmachine.stats.table import NetworkStatistics, StatisticTable

    rng = np.random.default_rng(0)
    networks = [
        NetworkStatistics(("a", "b"), {"weight_norm": rng.random(2), "gradient_norm": rng.random(2)},
                          {"params": float(rng.random()), "naswot": float(rng.random())})
        for _ in range(8)
    ]
    table = StatisticTable.from_networks(networks)
    target = torch.as_tensor(rng.random(8), dtype=torch.float64)
    profile = load_profile("quick", ["evolution.population=6", "evolution.generations=3"])
    return profile.evolution, [table], [target], [table], [target]


@pytest.fixture(scope="module")
def valid_state(evolution_inputs):
    from greenmachine.evolution import Evolution

    evolution = Evolution(*evolution_inputs)
    evolution.step()
    return json.loads(json.dumps(evolution.state_dict()))


@FUZZ
@given(key=st.sampled_from(
    ["rng", "generation", "population", "search_tau", "best_per_size", "best", "layer_statistic_names",
     "network_statistic_names", "operator_names", "seed"]), value=st.one_of(json_values, shaped_json))
def test_wrong_shape_evolution_state(evolution_inputs, valid_state, key, value):
    from greenmachine.evolution import Evolution

    state = json.loads(json.dumps(valid_state))
    state[key] = value
    assert_one_line_or_valid(lambda: Evolution.from_state_dict(state, *evolution_inputs))


def test_valid_state_restores(evolution_inputs, valid_state):
    from greenmachine.evolution import Evolution

    restored = Evolution.from_state_dict(valid_state, *evolution_inputs)
    assert restored.generation == 1 and restored.best().tree.to_dict() == valid_state["best"]["tree"]
