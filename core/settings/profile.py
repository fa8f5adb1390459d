"""Experiment profiles: TOML files loaded into frozen, validated settings.

Called by the CLI (``gm run``, ``gm probe``, ``gm baselines``, ``gm tui``), the engine and
the tests. A profile is a TOML file in ``profiles/`` (or any path). Unknown sections or
keys, wrong types and out-of-range values raise :class:`greenmachine.errors.ProfileError` whose one
line names the file and the key. Command-line overrides (``--set evolution.population=200``)
go through the same validation.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from greenmachine.errors import GMError, ProfileError
from greenmachine.settings.checks import (  # noqa: F401  (the limits are re-exported for other modules)
    MAX_INITIAL_DEPTH_SETTING,
    MAX_TREE_DEPTH_SETTING,
    MAX_TREE_SIZE_SETTING,
    SEED_LIMIT,
    _NAME_PATTERN,
    _check_text,
    _check_value,
    check_cost_table,
    check_labels,
)

#: Package the top-level ``profiles/`` folder is installed as (see setup.py).
PROFILE_PACKAGE = "greenmachine.profiles"
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def profile_dir(source_root: Path | None = _SOURCE_ROOT) -> Path:
    """Return the folder of the shipped profiles.

    In a source checkout (``pyproject.toml`` and ``profiles/`` in ``source_root``) its
    ``profiles/``; otherwise the package data of :data:`PROFILE_PACKAGE`, found with
    ``importlib.resources``; when neither exists, the (empty) checkout path.
    """
    if source_root is not None and (source_root / "pyproject.toml").is_file() and (source_root / "profiles").is_dir():
        return source_root / "profiles"
    try:
        return Path(str(resources.files(PROFILE_PACKAGE)))
    except ModuleNotFoundError:
        return _SOURCE_ROOT / "profiles"


PROFILE_DIR = profile_dir()


@dataclass(frozen=True)
class BenchmarkSettings:
    """Search space and ground truth.

    ``datasets``: fitness is the minimum Kendall tau over these datasets (one dataset is
    the usual case); the ground truth is the space's accuracy column of each dataset
    (:attr:`greenmachine.spaces.SearchSpace.metric_columns`). ``space = "custom"`` reads the user's
    own space from ``table`` (CSV) and ``builder`` (``file.py:function``); relative paths
    resolve against the profile file and are stored absolute (see
    :mod:`greenmachine.spaces.custom`).
    """

    space: str = "tss"
    datasets: tuple[str, ...] = ("cifar10",)
    table: str = ""
    builder: str = ""
    #: Several (space, dataset) tasks, ``"space/dataset"`` each (see :mod:`greenmachine.settings.tasks`);
    #: replaces ``space`` and ``datasets``, which then hold the first task.
    tasks: tuple[str, ...] = ()


@dataclass(frozen=True)
class SamplingSettings:
    """Disjoint search / validation / test samples of the space.

    ``mode``: ``random`` (uniform) or ``stratified``; ``stratification``: ``equal_width``
    accuracy bins or ``quantile`` bins; ``strata``: number of bins.

    ``labels`` (default 0: off): design from few labels (``gm run --labels N``). N networks
    are drawn in ``mode`` and split into search (two thirds) and validation (a third, at
    least 5); ``search`` and ``validation`` are then not used, and the test is every other
    network of the space when at most ``test`` are left, else a uniform random ``test`` of
    them drawn before the labels (see :mod:`greenmachine.sampling.few_labels`).
    """

    mode: str = "stratified"
    stratification: str = "equal_width"
    strata: int = 10
    search: int = 300
    validation: int = 200
    test: int = 1000
    seed: int = 0
    labels: int = 0


@dataclass(frozen=True)
class ProbeSettings:
    """How networks are probed: minibatch size, seed, device, cache folder ('' = default).

    ``workers``: local probe workers (``0`` = every usable CPU, one per visible GPU on CUDA;
    ``1`` = in this process); ``executor``: ``local`` (a process pool) or ``ray``;
    ``address``: the Ray cluster (``auto`` or ``HOST:PORT``; ``""`` starts a local Ray
    instance). See :mod:`greenmachine.probe.executors`.
    """

    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    cache_dir: str = ""
    workers: int = 0
    executor: str = "local"
    address: str = ""


@dataclass(frozen=True)
class EvolutionSettings:
    """Genetic programming settings.

    ``cost_weight`` (τ per joule, default 0 = no cost term): the fitness that selects,
    fills the hall of fame and chooses the final proxy becomes
    ``tau - cost_weight * J`` where ``J`` is the formula's probe energy per network (the
    measured cost of the passes its statistics need, ``greenmachine.probe.costs``; estimated where
    the table says so). E.g. ``0.002`` trades 0.002 τ for each joule per network. It needs
    a measured pass-cost table for the space (``scripts/bench_passes.py --write``).

    ``exclude_statistics`` (default none): statistics of the bank the formulas may not read,
    e.g. the graph statistics to compare a design with and without them, or a pass's
    statistics to keep its cost out of every proxy. Names must be registered statistics.
    """

    population: int = 100
    generations: int = 50
    tournament_size: int = 5
    crossover_rate: float = 0.6
    subtree_mutation_rate: float = 0.15
    point_mutation_rate: float = 0.1
    hoist_mutation_rate: float = 0.05
    constant_mutation_rate: float = 0.1
    elitism: int = 2
    init_min_depth: int = 2
    init_max_depth: int = 5
    max_depth: int = 8
    max_size: int = 30
    parsimony: float = 0.001
    hall_of_fame: int = 20
    seed: int = 0
    cost_weight: float = 0.0
    exclude_statistics: tuple[str, ...] = ()


@dataclass(frozen=True)
class FitnessSettings:
    """How per-task taus become one fitness, and how statistics are normalised per task.

    ``aggregate``: ``min`` (worst task) or ``mean`` tau over the tasks (or datasets), or
    ``margin``: the worst task's tau less that task's best baseline tau on the same sample
    (halved; a multi-task run, see :func:`greenmachine.stats.aggregate.aggregate_taus`);
    ``normalise``: ``none``, ``rank`` or ``zscore`` of every statistic within each task's
    sample before the formula reads it (see :mod:`greenmachine.stats.normalise`);
    ``metric``: the correlation each task's (or dataset's) fitness is, ``kendall`` (Kendall
    tau-b, the default) or ``weighted_kendall`` (the top-weighted tau of
    :func:`greenmachine.stats.fitness.weighted_kendall_tau`, which weighs most the pairs with a proxy's
    first choices or the truly best networks) or ``kendall_top`` (tau pulled towards -1 by the
    share of the best-scored tenth below the sample's median accuracy,
    :func:`greenmachine.stats.fitness.guarded_kendall_tau`). It applies to the search and validation
    fitness (so to selection, the hall of fame and the final proxy); reports give Kendall
    tau, Spearman rho and the top-of-ranking figures whatever the metric.
    """

    aggregate: str = "min"
    normalise: str = "none"
    metric: str = "kendall"


@dataclass(frozen=True)
class EnergySettings:
    """Energy metering: on/off and the country (ISO 3166 alpha-3) for CO2 intensity."""

    enabled: bool = True
    country: str = "USA"


@dataclass(frozen=True)
class ExportSettings:
    """Formula export: sympy simplification time limit in seconds."""

    simplify_timeout: float = 5.0


@dataclass(frozen=True)
class Profile:
    """A whole experiment profile."""

    name: str = "custom"
    description: str = ""
    benchmark: BenchmarkSettings = field(default_factory=BenchmarkSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    evolution: EvolutionSettings = field(default_factory=EvolutionSettings)
    fitness: FitnessSettings = field(default_factory=FitnessSettings)
    energy: EnergySettings = field(default_factory=EnergySettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    source: str = field(default="<defaults>", compare=False)

    @property
    def search_space(self):
        """The :class:`greenmachine.spaces.SearchSpace` of ``benchmark`` (a custom space registered on first use)."""
        from greenmachine.spaces import space_of

        return space_of(self.benchmark)

    @property
    def space_name(self) -> str:
        """Registered name of the profile's space (``tss``, ``sss``, ``custom-<hash>``, ...)."""
        return self.search_space.name

    def to_toml(self) -> str:
        """Return the profile as TOML text (what ``profile.toml`` in a run holds)."""
        lines = [f"name = {_toml_value(self.name)}", f"description = {_toml_value(self.description)}"]
        for section in _SECTIONS:
            lines.append("")
            lines.append(f"[{section}]")
            for item in dataclasses.fields(_SECTIONS[section]):
                if _omitted_in_toml(self, section, item.name):
                    continue
                lines.append(f"{item.name} = {_toml_value(getattr(getattr(self, section), item.name))}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as plain data (for ``report.json``)."""
        data = dataclasses.asdict(self)
        data.pop("source")
        return data


_SECTIONS: dict[str, type] = {
    "benchmark": BenchmarkSettings,
    "sampling": SamplingSettings,
    "probe": ProbeSettings,
    "evolution": EvolutionSettings,
    "fitness": FitnessSettings,
    "energy": EnergySettings,
    "export": ExportSettings,
}


def _omitted_in_toml(profile: Profile, section: str, key: str) -> bool:
    """``benchmark.tasks`` is written only when set, and then replaces space and datasets;
    ``sampling.labels`` and ``evolution.exclude_statistics`` only when set (profiles written
    before they existed read the same)."""
    if (section, key) == ("sampling", "labels"):
        return not profile.sampling.labels
    if (section, key) == ("evolution", "exclude_statistics"):
        return not profile.evolution.exclude_statistics
    if section != "benchmark":
        return False
    if key == "tasks":
        return not profile.benchmark.tasks
    return bool(profile.benchmark.tasks) and key in ("space", "datasets", "table", "builder")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_toml_character(character) for character in value) + '"'
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_character(character: str) -> str:
    if character in ('"', "\\"):
        return "\\" + character
    if ord(character) < 0x20 or ord(character) == 0x7F:
        return f"\\u{ord(character):04x}"
    return character


def _check_space(source: str, benchmark: BenchmarkSettings, base: Path | None) -> BenchmarkSettings:
    """Resolve the space (a custom space's files made absolute) and check its datasets."""
    from greenmachine.errors import GMError
    from greenmachine.spaces import space_of

    try:
        space = space_of(benchmark, base)
    except GMError as exc:
        raise ProfileError(f"{source}: benchmark: {exc}") from None
    if getattr(space, "table", None) is not None and benchmark.table:
        benchmark = dataclasses.replace(benchmark, table=str(space.table),
                                        builder=f"{space.builder_file}:{space.builder_function}")
    elif benchmark.table or benchmark.builder:
        raise ProfileError(f"{source}: benchmark.table and benchmark.builder are only for space = \"custom\"")
    for item in benchmark.datasets:
        if item not in space.datasets:
            raise ProfileError(f"{source}: benchmark.datasets: unknown dataset {item!r} for space "
                               f"{space.name} (choose from {', '.join(space.datasets)})")
    return benchmark


def profile_from_mapping(data: Mapping[str, Any], source: str = "<mapping>", base: Path | None = None) -> Profile:
    """Validate plain data (parsed TOML) into a :class:`Profile`.

    ``base`` is the folder relative paths of a custom space resolve against (the profile
    file's folder; default: the working directory).

    Raises
    ------
    ProfileError
        On an unknown section or key, a wrong type or a bad value; the message names
        ``source`` and the key.
    """
    if not isinstance(data, Mapping):
        raise ProfileError(f"{source}: a profile must be a table of sections, got {type(data).__name__}")
    top: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("name", "description"):
            if not isinstance(value, str):
                raise ProfileError(f"{source}: {key} must be a string, got {value!r}")
            _check_text(f"{source}: {key}", value)
            if key == "name" and not _NAME_PATTERN.match(value):
                raise ProfileError(
                    f"{source}: name must be 1-64 letters, digits or _.+- (it names run folders), got {value!r}"
                )
            top[key] = value
        elif key in _SECTIONS:
            if not isinstance(value, Mapping):
                raise ProfileError(f"{source}: [{key}] must be a table")
            defaults = _SECTIONS[key]()
            values = {}
            known = {item.name for item in dataclasses.fields(_SECTIONS[key])}
            for inner, item_value in value.items():
                if inner not in known:
                    shown = inner if isinstance(inner, str) and inner.isprintable() else repr(inner)
                    raise ProfileError(
                        f"{source}: unknown key {key}.{shown} (known: {', '.join(sorted(known))})"
                    )
                values[inner] = _check_value(source, key, inner, getattr(defaults, inner), item_value)
            sections[key] = _SECTIONS[key](**values)
        else:
            raise ProfileError(
                f"{source}: unknown key {key!r} (known: name, description, {', '.join(_SECTIONS)})"
            )
    if "benchmark" in sections and sections["benchmark"].tasks:
        from greenmachine.settings.tasks import check_tasks

        sections["benchmark"] = check_tasks(source, data["benchmark"], sections["benchmark"])
    elif "benchmark" in sections:
        sections["benchmark"] = _check_space(source, sections["benchmark"], base)
    profile = Profile(**top, **sections, source=source)
    evolution = profile.evolution
    if evolution.init_min_depth > evolution.init_max_depth:
        raise ProfileError(f"{source}: evolution.init_min_depth must be <= evolution.init_max_depth")
    if evolution.init_max_depth > evolution.max_depth:
        raise ProfileError(f"{source}: evolution.init_max_depth must be <= evolution.max_depth")
    if evolution.elitism >= evolution.population:
        raise ProfileError(f"{source}: evolution.elitism must be smaller than evolution.population")
    if evolution.cost_weight > 0:
        check_cost_table(source, profile.space_name)
    if profile.probe.address and profile.probe.executor != "ray":
        raise ProfileError(f"{source}: probe.address is only for probe.executor = \"ray\"")
    sampling = profile.sampling
    if sampling.labels:
        try:
            check_labels(sampling.labels)
        except GMError as error:
            raise ProfileError(f"{source}: {error}") from None
    # with labels the stratified draw is of the labelled networks only (the test is uniform)
    smallest = sampling.labels or min(sampling.search, sampling.validation, sampling.test)
    if sampling.mode == "stratified" and sampling.strata > smallest:
        raise ProfileError(
            f"{source}: sampling.strata ({sampling.strata}) must not exceed the smallest sample size ({smallest})"
        )
    return profile


def available_profiles() -> dict[str, Path]:
    """Return the shipped profiles, name -> path."""
    return {path.stem: path for path in sorted(PROFILE_DIR.glob("*.toml"))}


def resolve_profile_path(name_or_path: str) -> Path:
    """Map a profile name (``quick``) or a path to a TOML file.

    Raises
    ------
    ProfileError
        If neither a shipped profile nor an existing file matches.
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ProfileError(f"profile file {name_or_path!r} not found")
        return path
    shipped = available_profiles()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise ProfileError(
        f"unknown profile {name_or_path!r} (available: {', '.join(shipped) or 'none'}; or give a .toml path)"
    )


def parse_override(text: str) -> tuple[str, str, Any]:
    """Parse ``section.key=value`` (value in TOML syntax; bare words are strings).

    Raises
    ------
    ProfileError
        If the text is not of that form.
    """
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ProfileError(f"override {text!r}: expected section.key=value, e.g. evolution.population=200")
    dotted, raw = text.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def override_text(section: str, key: str, value: Any) -> str:
    """The ``section.key=value`` override (``--set`` form) that sets ``value``.

    ``value`` is a bool, number, string or a list of them (NumPy scalars and arrays too);
    :func:`parse_override` reads the text back to the same value.

    Raises
    ------
    ProfileError
        A value TOML cannot hold.
    """
    def plain(item: Any) -> Any:
        item = item.tolist() if hasattr(item, "tolist") else item  # NumPy scalars and arrays
        return [plain(inner) for inner in item] if isinstance(item, (list, tuple)) else item

    try:
        return f"{section}.{key}={_toml_value(plain(value))}"
    except (TypeError, ValueError):
        raise ProfileError(f"{section}.{key}: cannot use {value!r} as a profile value "
                           "(give a bool, number, string or a list of them)") from None


def load_profile(name_or_path: str, overrides: tuple[str, ...] | list[str] = ()) -> Profile:
    """Load, override and validate a profile.

    Parameters
    ----------
    name_or_path : str
        A shipped profile name (see :func:`available_profiles`) or a TOML path.
    overrides : sequence of str
        ``section.key=value`` strings applied on top of the file.

    Raises
    ------
    ProfileError
        Unknown profile, a file that is not UTF-8 TOML or has no keys at all, unknown key or bad
        value (file and key named).
    """
    path = resolve_profile_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ProfileError(f"{path}: not a UTF-8 text file (byte 0x{error.object[error.start]:02x} at offset "
                           f"{error.start}); a profile is TOML saved as UTF-8") from None
    except OSError as error:
        raise ProfileError(f"{path}: cannot read: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{path}: invalid TOML: {error}") from None
    if not data:
        raise ProfileError(f"{path}: the profile is empty (no keys); copy a shipped one, e.g. {resolve_profile_path('quick')}")
    source = apply_overrides(data, overrides, str(path))
    return profile_from_mapping(data, source=source, base=path.resolve().parent)


def apply_overrides(data: dict[str, Any], overrides: tuple[str, ...] | list[str], source: str) -> str:
    """Write ``section.key=value`` overrides into parsed profile data, in place.

    The one place ``--set`` values (and the Python API's keyword settings, which become the
    same strings) enter a profile; :func:`profile_from_mapping` validates the result.

    Returns
    -------
    str
        ``source``, marked as overridden when there were overrides (for error lines).

    Raises
    ------
    ProfileError
        A malformed override, an unknown section, or a section that is not a table.
    """
    for text in overrides:
        section, key, value = parse_override(text)
        if section not in _SECTIONS:
            raise ProfileError(f"override {text!r}: unknown section {section!r} (known: {', '.join(_SECTIONS)})")
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            raise ProfileError(f"{source}: [{section}] must be a table")
        data[section][key] = value
    return f"{source} (with overrides)" if overrides else source


def load_profile_text(text: str, source: str) -> Profile:
    """Validate profile TOML text (e.g. a run directory's ``profile.toml``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{source}: invalid TOML: {error}") from None
    return profile_from_mapping(data, source=source)
