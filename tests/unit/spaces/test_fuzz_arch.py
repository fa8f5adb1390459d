"""Property-based tests: random and damaged TSS/SSS arch strings, space and dataset names.

Every input ends in one :class:`~greenmachine.errors.GMError` line, or in an architecture whose
canonical string is the input itself (so nothing is silently read as another network) and,
with the benchmark tables (GM_DATA_DIR, else the embedded copy), whose official index maps
back to the same string.
The ``slow`` variants try many more cases (``--hypothesis-show-statistics`` counts them).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from greenmachine.errors import GMError
from greenmachine.spaces import DATASETS, build_network, get_dataset, parse_arch
from greenmachine.spaces.sss import CHANNEL_CHOICES
from greenmachine.spaces.tss import OPERATION_NAMES as OPERATIONS

FAST = settings(max_examples=400, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=5000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

tss_strings = st.lists(st.sampled_from(list(OPERATIONS)), min_size=6, max_size=6).map(
    lambda ops: f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"
)
sss_strings = st.lists(st.sampled_from(CHANNEL_CHOICES), min_size=5, max_size=5).map(
    lambda channels: ":".join(map(str, channels))
)
ALPHABET = "|+~:0123456789 _-abcdeginorsvxkpt\n\t\x00é"


@st.composite
def damaged(draw, valid):
    """A valid string with 1-3 random character edits (insert, delete, replace)."""
    text = list(draw(valid))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        character = draw(st.sampled_from(ALPHABET) | st.characters())
        if action == "insert":
            text.insert(position, character)
        elif text and position < len(text):
            if action == "delete":
                del text[position]
            else:
                text[position] = character
    return "".join(text)


arch_texts = st.one_of(
    tss_strings, sss_strings, damaged(tss_strings), damaged(sss_strings),
    st.text(alphabet=ALPHABET, max_size=80), st.text(max_size=40),
    st.lists(st.integers(-100, 100), min_size=0, max_size=7).map(lambda v: ":".join(map(str, v))),
)
spaces = st.sampled_from(["tss", "sss"]) | st.sampled_from(["TSS", "nb101", "", "darts"]) | st.text(max_size=5)
arguments = st.one_of(
    st.tuples(st.just("tss"), tss_strings | damaged(tss_strings)),
    st.tuples(st.just("sss"), sss_strings | damaged(sss_strings)),
    st.tuples(spaces, arch_texts | st.none() | st.integers() | st.lists(st.integers(), max_size=3)),
)


def _one_line(error: GMError) -> None:
    message = str(error)
    assert message and "\n" not in message and "\r" not in message


def _benchmarks():
    from greenmachine.benchmark.tables import load_benchmark

    try:
        return {space: load_benchmark(space) for space in ("tss", "sss")}
    except GMError:
        return {}


BENCHMARKS = _benchmarks()


def _check(space, text) -> None:
    try:
        arch = parse_arch(space, text)
    except GMError as error:
        _one_line(error)
        event("rejected with one GMError line")
    else:
        event("accepted")
        assert arch.to_string() == text.strip()
        assert parse_arch(space, arch.to_string()) == arch
    benchmark = BENCHMARKS.get(space)
    if benchmark is not None:
        try:
            index = benchmark.index_of(text)
        except GMError as error:
            _one_line(error)
        else:
            assert benchmark.arch(index) == text
            assert parse_arch(space, text).to_string() == text


@FAST
@given(arguments)
def test_random_arch_strings(argument):
    _check(*argument)


@pytest.mark.slow
@MANY
@given(arguments)
def test_random_arch_strings_many(argument):
    _check(*argument)


@FAST
@given(st.sampled_from(list(DATASETS)) | st.text(max_size=16) | st.none() | st.integers())
def test_random_dataset_names(dataset):
    try:
        info = get_dataset(dataset)
    except GMError as error:
        _one_line(error)
        with pytest.raises(GMError):
            build_network("sss", "8:8:8:8:8", dataset)
        return
    assert dataset in DATASETS and info is DATASETS[dataset]


@settings(max_examples=30, deadline=None, database=None, derandomize=True)
@given(st.sampled_from(["tss", "sss"]), st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=4) | st.booleans())
def test_random_benchmark_indices(space, index):
    benchmark = BENCHMARKS.get(space)
    if benchmark is None:
        pytest.skip("the benchmark tables are not found (see gm data check)")
    try:
        text = benchmark.arch(index)
    except GMError as error:
        _one_line(error)
        return
    assert isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(benchmark)
    assert benchmark.index_of(text) == index
