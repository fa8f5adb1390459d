"""The Python API: design, evaluate, search with and compare proxies from a Python session.

Called by users' code and notebooks (``import greenmachine as gm``), by
``examples/python_api.py`` and by the manual's examples. Each function is a thin layer over
the code the ``gm`` command behind it calls, so a call and its command give the same result:

- :func:`design` is ``gm run PROFILE``: :func:`greenmachine.run.factory.make_controller`;
- :func:`resume` is ``gm run --resume DIR``: :func:`greenmachine.run.factory.resume_controller`;
- :func:`evaluate` is ``gm eval PROXY``: :func:`greenmachine.evaluation.evaluate.evaluate_saved_proxy`;
- :func:`search` is ``gm search --proxy P``: :func:`greenmachine.search.run.run_search`;
- :func:`baselines` is ``gm baselines PROFILE``: :func:`greenmachine.evaluation.evaluate.profile_baselines`.

Settings are profile keys given by section as keyword arguments, each a mapping:
``design("quick", evolution={"population": 50}, sampling={"mode": "random"})`` is
``gm run quick --set evolution.population=50 --set sampling.mode=random``. The keywords become
the same ``section.key=value`` overrides and go through the same validation (an unknown
section or key, or a bad value, is one :class:`greenmachine.errors.ProfileError`). Nothing here
prints: progress reaches ``on_event`` as the engine's typed events (:mod:`greenmachine.events`);
to see the command line's progress lines, pass
``on_event=greenmachine.tui.headless.HeadlessReporter()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from greenmachine.errors import GMError, ProfileError
from greenmachine.events import Event
from greenmachine.proxies import Proxy, load_proxy

if TYPE_CHECKING:  # pragma: no cover
    from greenmachine.settings.profile import Profile

EventCallback = Callable[[Event], None]

__all__ = [
    "Design", "RunInterrupted", "Scores", "SearchResult", "baselines", "design", "evaluate", "load_proxy",
    "make_profile", "resume", "search",
]


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by an interrupt; its run directory can be continued with :func:`resume`.

    A subclass of :class:`KeyboardInterrupt`, so ``except Exception`` does not swallow it and
    a notebook shows it as an interrupt.

    Attributes
    ----------
    run_dir : Path
        The run directory (its ``checkpoint.json`` holds the last finished generation).
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        super().__init__(f"run stopped; continue with greenmachine.resume({str(self.run_dir)!r})")


# -- results ---------------------------------------------------------------------------------------


def _rows(sample: str, results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per (dataset or task, proxy): the evolved proxy first, then the baselines by tau."""
    from greenmachine.evaluation.evaluate import rank_rows

    rows = []
    for label, result in results.items():
        entries = ([("evolved", result["evolved"])] if "evolved" in result else []) + \
            rank_rows(result.get("baselines", {}))
        for name, values in entries:
            rows.append({"sample": sample, "dataset": label, "n": result.get("n"), "proxy": name,
                         "kendall_tau": values.get("kendall_tau"), "spearman_rho": values.get("spearman_rho")})
    return rows


@dataclass(frozen=True)
class Design:
    """The outcome of :func:`design`: the best proxy and everything its run measured.

    Attributes
    ----------
    proxy : Proxy
        The designed proxy (``proxy.score(model, images, labels)`` scores your own networks).
    run_dir : Path
        The run directory (``report.md``, ``hall_of_fame.csv``, figures, ``best_proxy.json``).
    hall_of_fame : list of dict
        The best formula of each size, one flat row each (``size``, ``search_tau``,
        ``validation_tau``, ``formula``, ``simplified``, ``generation``, probe cost):
        ``pandas.DataFrame(design.hall_of_fame)`` takes them as they are.
    validation, test : dict
        Per dataset (or ``space/dataset`` task): ``{"n", "evolved": {"kendall_tau",
        "spearman_rho"}, "baselines": {name: {...}}}`` on the validation and the held-out test
        sample, the baselines scored on the same networks.
    energy : dict
        The energy report: per phase (probe, generation, evaluation, run) seconds, joules and
        CO2, and how each was metered (measured or estimated).
    report : dict
        The whole ``report.json`` (profile, samples, probe, evolution settings).
    """

    proxy: Proxy
    run_dir: Path
    hall_of_fame: list[dict[str, Any]]
    validation: dict[str, Any]
    test: dict[str, Any]
    energy: dict[str, Any]
    report: dict[str, Any] = field(repr=False)

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> "Design":
        """Read a completed run directory of ``gm run`` (or :func:`design`).

        Raises
        ------
        GMError
            The folder is not a completed run directory, or a file in it is unreadable.
        """
        from greenmachine.rundir.directory import RunDirectory

        directory = RunDirectory(Path(run_dir))
        if directory.is_search():
            raise GMError(f"{run_dir} is a search run directory (gm search), not a design")
        if not directory.is_completed():
            raise GMError(f"{run_dir} is not a completed run (no report.json): continue it with "
                          "greenmachine.resume(...)")
        report = directory.read_report()
        rows = []
        for row in directory.read_hall_of_fame():
            values = dataclasses.asdict(row)
            values.pop("tree")
            values["probe_passes"] = ",".join(values["probe_passes"])
            rows.append(values)
        return cls(proxy=load_proxy(directory.path), run_dir=directory.path, hall_of_fame=rows,
                   validation=dict(report.get("validation") or {}), test=dict(report.get("test") or {}),
                   energy=dict(report.get("energy") or {}), report=report)

    @property
    def formula(self) -> str:
        """The best formula, simplified where the run's simplification finished in time."""
        return self.report.get("best_proxy", {}).get("simplified") or self.proxy.formula

    @property
    def validation_tau(self) -> dict[str, float | None]:
        """Kendall tau of the designed proxy on each dataset's validation sample."""
        return {label: result["evolved"]["kendall_tau"] for label, result in self.validation.items()
                if "evolved" in result}

    @property
    def test_tau(self) -> dict[str, float | None]:
        """Kendall tau of the designed proxy on each dataset's held-out test sample."""
        return {label: result["evolved"]["kendall_tau"] for label, result in self.test.items()}

    def rows(self) -> list[dict[str, Any]]:
        """Validation and test correlations of the proxy and every baseline, one flat row each.

        Returns
        -------
        list of dict
            Keys ``sample`` (``validation`` or ``test``), ``dataset``, ``n``, ``proxy``
            (``evolved`` or a baseline's name), ``kendall_tau`` and ``spearman_rho``.
        """
        return _rows("validation", self.validation) + _rows("test", self.test)

    def summary(self) -> str:
        """The closing lines ``gm run`` prints: energy, then test tau beside the best baseline."""
        from greenmachine.evaluation.evaluate import rank_rows
        from greenmachine.report.build import render_energy

        lines = list(render_energy(self.energy))
        mode = self.report.get("sampling", {}).get("mode", "")
        for label, result in self.test.items():
            name, best = rank_rows(result["baselines"])[0]
            lines.append(f"test {label} (n={result['n']}, {mode}): evolved tau {_tau(result['evolved']['kendall_tau'])}; "
                         f"best baseline {name} {_tau(best['kendall_tau'])}")
        lines.append(f"formula: {self.formula}")
        lines.append(f"run directory: {self.run_dir}")
        return "\n".join(lines)


def _tau(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4f}"


@dataclass(frozen=True)
class Scores:
    """Kendall tau and Spearman rho of proxies on one sample of networks (:func:`evaluate`, :func:`baselines`).

    Attributes
    ----------
    space, dataset : str
        Where the networks come from (``dataset`` is a ``space/dataset`` task for a multi-task profile).
    n : int
        Networks scored.
    ground_truth : str
        The benchmark column the correlations are against.
    proxy : dict or None
        :func:`evaluate`: the evaluated proxy's ``kendall_tau``, ``spearman_rho``, formula and
        source; None for :func:`baselines`.
    baselines : dict
        Every baseline's ``{"kendall_tau", "spearman_rho"}`` on the same networks.
    data : dict
        Everything the command's ``--json`` writes (sampling, probe batch and seed, excluded networks).
    """

    space: str
    dataset: str
    n: int
    ground_truth: str
    proxy: dict[str, Any] | None
    baselines: dict[str, Any]
    data: dict[str, Any] = field(repr=False)

    @property
    def tau(self) -> float | None:
        """Kendall tau of the evaluated proxy (None for :func:`baselines` or an undefined tau)."""
        return None if self.proxy is None else self.proxy.get("kendall_tau")

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per proxy (the evaluated one first, as ``evolved``), by decreasing tau."""
        result = {"n": self.n, "baselines": self.baselines}
        if self.proxy is not None:
            result["evolved"] = self.proxy
        return _rows(self.data.get("sample", "sample"), {self.dataset: result})


@dataclass(frozen=True)
class SearchResult:
    """The outcome of :func:`search`: the network found, looked up after the search.

    Attributes
    ----------
    found : dict
        The network the search returned: ``arch``, ``index``, true ``accuracy`` and its
        ``rank`` in the space (and under the constraint, when one was given).
    optimum : dict
        The best network of the space (and the best one meeting the constraint).
    comparison : dict
        The same search guided by naswot, synflow, params and random over seeds (empty
        when ``compare_seeds=0``).
    energy : dict
        Seconds and joules per phase (search, comparison, evaluation, run).
    run_dir : Path
        The search's run directory (``report.md``, figures).
    report : dict
        The whole ``report.json``.
    """

    found: dict[str, Any]
    optimum: dict[str, Any]
    comparison: dict[str, Any]
    energy: dict[str, Any]
    run_dir: Path
    report: dict[str, Any] = field(repr=False)


# -- profiles --------------------------------------------------------------------------------------


def _overrides(settings: Mapping[str, Any]) -> list[str]:
    """``{"evolution": {"population": 50}}`` -> ``["evolution.population=50"]``."""
    from greenmachine.settings.profile import override_text

    from greenmachine.settings.profile import Profile

    sections = [item.name for item in dataclasses.fields(Profile) if item.name not in ("name", "description", "source")]
    texts = []
    for section, values in settings.items():
        if section not in sections:
            raise ProfileError(f"{section}=: unknown settings section (known: {', '.join(sections)}); "
                               "e.g. evolution={'population': 50}")
        if not isinstance(values, Mapping):
            raise ProfileError(f"{section}=: give a mapping of keys to values, e.g. "
                               f"{section}={{'key': value}} (settings go by section, see greenmachine.design)")
        texts.extend(override_text(section, key, value) for key, value in values.items())
    return texts


def _labels_override(labels: int) -> str:
    """``labels=N`` as the profile key ``sampling.labels`` (one clear error where it does not exist)."""
    from greenmachine.settings.profile import SamplingSettings, override_text

    if "labels" not in {item.name for item in dataclasses.fields(SamplingSettings)}:
        raise ProfileError("labels=: this version has no profile key sampling.labels (design from N labelled "
                           "networks); draw the samples with sampling={'search': ..., 'validation': ...} instead")
    return override_text("sampling", "labels", labels)


def make_profile(profile_or_space: Any, dataset: str | None = None, labels: int | None = None,
                 **settings: Mapping[str, Any]) -> "Profile":
    """The validated profile :func:`design` and :func:`baselines` run, without running anything.

    Parameters
    ----------
    profile_or_space : str, Path or Profile
        A shipped profile name (``quick``, ``tss-cifar10``, see ``gm profiles``), a TOML
        file, a :class:`~greenmachine.settings.profile.Profile`, or a search space name
        (``tss``, ``sss`` or a registered one), which starts from the default settings of
        every section (population 100 x 50 generations, samples 300/200/1000, probe batch 64)
        on that space, named ``<space>-<dataset>``.
    dataset : str, optional
        The dataset to design on (``benchmark.datasets = [dataset]``); default: the
        profile's, or the space's first.
    labels : int, optional
        Design from this many labelled networks (the profile key ``sampling.labels``).
    **settings : mapping
        Profile keys by section, e.g. ``evolution={"population": 50}``.

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        Unknown profile or space, unknown section or key, or a bad value (one line).

    Examples
    --------
    >>> from greenmachine.api import make_profile
    >>> make_profile("quick", evolution={"population": 24}).evolution.population
    24
    """
    import tomllib

    from greenmachine.settings.profile import (
        Profile, apply_overrides, load_profile, profile_from_mapping, resolve_profile_path,
    )

    overrides = _overrides(settings)
    if dataset is not None:
        overrides.append(f"benchmark.datasets=[{_quoted(dataset)}]")
    if labels is not None:
        overrides.append(_labels_override(labels))
    if isinstance(profile_or_space, Profile):
        data = tomllib.loads(profile_or_space.to_toml())
        source = apply_overrides(data, overrides, profile_or_space.source)
        return profile_from_mapping(data, source=source)
    if not isinstance(profile_or_space, (str, Path)):
        raise ProfileError(f"give a profile name, a .toml path, a Profile or a space name, "
                           f"not {type(profile_or_space).__name__}")
    try:
        resolve_profile_path(str(profile_or_space))
    except ProfileError as not_a_profile:
        space = _space_or_none(str(profile_or_space))
        if space is None:
            from greenmachine.settings.profile import available_profiles
            from greenmachine.spaces import space_names

            if Path(profile_or_space).suffix == ".toml":
                raise not_a_profile from None
            raise ProfileError(f"unknown profile or space {str(profile_or_space)!r} (profiles: "
                               f"{', '.join(available_profiles())}; spaces: {', '.join(space_names())}; "
                               "or a .toml path)") from None
        first = dataset or space.datasets[0]
        data = {"name": f"{space.name}-{first}", "benchmark": {"space": space.name, "datasets": [first]}}
        source = apply_overrides(data, overrides, f"space {space.name}")
        return profile_from_mapping(data, source=source)
    return load_profile(str(profile_or_space), overrides)


def _quoted(text: str) -> str:
    from greenmachine.settings.profile import override_text

    return override_text("x", "y", str(text)).split("=", 1)[1]


def _space_or_none(name: str) -> Any:
    from greenmachine.spaces import get_space

    try:
        return get_space(name)
    except GMError:
        return None


# -- design ----------------------------------------------------------------------------------------


def _sink(on_event: EventCallback | None) -> EventCallback:
    return on_event if on_event is not None else (lambda event: None)


def _notify(sink: EventCallback) -> Callable[[str], None]:
    from greenmachine.events import LogMessage

    return lambda text: sink(LogMessage(level="warning", message=text))


def _run(controller: Any, sink: EventCallback) -> Design:
    """Run a controller as ``gm run`` does (interrupts included) and read its design."""
    from greenmachine.run.interrupt import stop_on_interrupt
    from greenmachine.rundir.directory import REPORT_JSON_FILE

    try:
        with stop_on_interrupt(controller, _notify(sink)):
            run_dir = controller.run()
    except RunInterrupted:
        raise
    except KeyboardInterrupt:
        if controller.run_dir is None:
            raise
        raise RunInterrupted(controller.run_dir) from None
    if not (run_dir / REPORT_JSON_FILE).exists():
        raise RunInterrupted(run_dir)
    return Design.from_run_dir(run_dir)


def design(profile_or_space: Any, dataset: str | None = None, labels: int | None = None, *,
           out: str | Path | None = None, on_event: EventCallback | None = None,
           **settings: Mapping[str, Any]) -> Design:
    """Design a proxy: probe, evolve, evaluate on held-out networks and report (``gm run``).

    Parameters
    ----------
    profile_or_space : str, Path or Profile
        A shipped profile (``quick``: minutes on a laptop CPU; ``tss-cifar10``, ...), a TOML
        file, a :class:`~greenmachine.settings.profile.Profile`, or a search space name
        (``tss``, ``sss``): see :func:`make_profile`.
    dataset : str, optional
        Design on this dataset (``cifar10``, ``cifar100``, ``ImageNet16-120``).
    labels : int, optional
        Design from N labelled networks (profile key ``sampling.labels``).
    out : str or Path, optional
        The run directory to write (default ``runs/<time>-<profile>``); it must not exist
        or be empty.
    on_event : callable, optional
        Called with every engine event (:mod:`greenmachine.events`: ``RunStarted``,
        ``ProbeProgress``, ``GenerationDone``, ``NewBest``, ``EnergySample``,
        ``RunFinished``, ...), in the calling thread.
    **settings : mapping
        Profile keys by section, e.g. ``evolution={"population": 50}``,
        ``sampling={"mode": "random"}``, ``probe={"workers": 1}``, ``energy={"enabled": False}``.

    Returns
    -------
    Design
        The best proxy, the hall of fame, validation and test tau with the baselines, the
        energy report and the run directory.

    Raises
    ------
    RunInterrupted
        On an interrupt (Ctrl-C, or the notebook's stop button): the first one stops after
        the current network or generation, a second one at once. The run directory is left
        resumable: ``resume(error.run_dir)`` continues it.
    GMError
        A bad profile, setting or data file (one line; raised before a run directory is
        made when the data cannot be loaded).

    Examples
    --------
    A tiny design (two generations; probing the 50 networks takes most of the time):

    >>> import greenmachine as gm
    >>> result = gm.design("quick", evolution={"population": 12, "generations": 2},
    ...                    sampling={"search": 20, "validation": 10, "test": 20})
    >>> print(result.formula, result.test_tau)
    >>> print(result.summary())
    """
    from greenmachine.energy import MeterStartup
    from greenmachine.run.factory import make_controller

    profile = make_profile(profile_or_space, dataset, labels, **settings)
    if out is not None:
        out = Path(out)
        if out.exists() and any(out.iterdir()):
            raise GMError(f"out={str(out)!r} exists and is not empty (continue a stopped run with greenmachine.resume)")
    sink = _sink(on_event)
    # As gm run: codecarbon's hardware detection starts now and overlaps the engine's imports.
    startup = MeterStartup(profile.energy.enabled, profile.energy.country)
    controller = make_controller(profile, sink, run_dir=out, meter=startup)
    return _run(controller, sink)


def resume(run_dir: str | Path, *, on_event: EventCallback | None = None) -> Design:
    """Continue a stopped, interrupted or crashed run (``gm run --resume``).

    Evolution continues after the last checkpointed generation (the result equals an
    uninterrupted run); probed networks are cache hits.

    Parameters
    ----------
    run_dir : str or Path
        The run directory :class:`RunInterrupted` named.
    on_event : callable, optional
        Called with every engine event.

    Returns
    -------
    Design

    Raises
    ------
    GMError
        Not a run directory, a completed run, or an unreadable checkpoint.

    Examples
    --------
    >>> try:
    ...     result = gm.design("tss-cifar10")
    ... except gm.RunInterrupted as stopped:
    ...     result = gm.resume(stopped.run_dir)
    """
    from greenmachine.run.factory import resume_controller

    sink = _sink(on_event)
    return _run(resume_controller(Path(run_dir), sink), sink)


# -- evaluate, search, baselines -------------------------------------------------------------------


def _proxy_source(proxy: Any) -> str:
    """A shipped name or a path for ``proxy`` (a Design, a Proxy, a name or a path)."""
    if isinstance(proxy, Design):
        return str(proxy.run_dir)
    if isinstance(proxy, Proxy):
        from greenmachine.proxies import shipped_proxy_names

        if proxy.name in shipped_proxy_names() or Path(proxy.name).is_file():
            return proxy.name
        raise GMError(f"proxy {proxy.name!r} has no file to read it from: pass its run directory, its "
                      "best_proxy.json or a shipped name")
    if isinstance(proxy, (str, Path)):
        return str(proxy)
    raise GMError(f"give a proxy as a Design, a Proxy, a shipped name or a path, not {type(proxy).__name__}")


def evaluate(proxy: Any, space: str | None = None, dataset: str | None = None, sample: str = "random",
             n: int = 1000, *, seed: int = 0, stratification: str = "equal_width", strata: int = 10,
             batch_size: int | None = None, probe_seed: int | None = None, workers: int = 0,
             executor: str = "local", address: str = "", on_event: EventCallback | None = None) -> Scores:
    """Score a designed proxy on a new sample, next to the baselines (``gm eval``).

    The networks the proxy's own run searched and validated on are never in the sample.

    Parameters
    ----------
    proxy : Design, Proxy, str or Path
        A :class:`Design`, a proxy from :func:`load_proxy`, a shipped name, a
        ``best_proxy.json`` or a run directory.
    space, dataset : str, optional
        Where to draw the networks (default: the proxy's space and first dataset; another
        dataset measures transfer).
    sample : str
        ``random``, ``stratified`` or ``all`` (every network but the proxy's own).
    n : int
        Networks in the sample (at least 10; ignored for ``all``).
    seed, stratification, strata :
        How the sample is drawn.
    batch_size, probe_seed : int, optional
        Probe minibatch and seed (default: the proxy's).
    workers, executor, address :
        The probe executor (``probe.workers``, ``probe.executor``, ``probe.address``).
    on_event : callable, optional
        Called with the probe's progress events.

    Returns
    -------
    Scores
        ``scores.tau`` is the proxy's Kendall tau; ``scores.rows()`` the table ``gm eval`` prints.

    Examples
    --------
    Transfer of a shipped proxy to CIFAR-100, on 10 random networks:

    >>> import greenmachine as gm
    >>> scores = gm.evaluate("tss-cifar10", dataset="cifar100", n=10, batch_size=4)
    >>> print(scores.tau, scores.rows()[:3])
    """
    from greenmachine.evaluation.evaluate import evaluate_saved_proxy

    data = evaluate_saved_proxy(Path(_proxy_source(proxy)), _sink(on_event), space=space, dataset=dataset,
                                sample=sample, n=n, seed=seed, stratification=stratification, strata=strata,
                                batch_size=batch_size, probe_seed=probe_seed, workers=workers, executor=executor,
                                address=address)
    data["sample"] = sample
    return Scores(space=data["space"], dataset=data["dataset"], n=data["n"], ground_truth=data["ground_truth"],
                  proxy=data["proxy"], baselines=data["proxies"], data=data)


def search(proxy: Any, space: str | None = None, dataset: str | None = None, budget: int = 100,
           constraint: str | None = None, *, strategy: str = "sample", seed: int = 0, objective: str | None = None,
           compare_seeds: int = 10, compare_budget: int | None = None, population: int = 10, sample_size: int = 3,
           batch_size: int | None = None, workers: int = 0, energy: bool = True, out: str | Path | None = None,
           on_event: EventCallback | None = None) -> SearchResult:
    """Zero-cost NAS guided by a proxy, then the found network's true accuracy (``gm search``).

    Parameters
    ----------
    proxy : Design, Proxy, str or Path
        The guide: a :class:`Design`, a proxy from :func:`load_proxy`, a shipped name, a
        file or run directory, a baseline name (``naswot``, ``synflow``, ...) or ``random``.
    space, dataset : str, optional
        Where to search (default: the proxy's space and first dataset, else ``tss`` and
        ``cifar10``).
    budget : int
        Networks the search scores.
    constraint : str, optional
        A HW-NAS-Bench constraint, e.g. ``"edgegpu_energy<=24"``.
    strategy : str
        ``sample`` (score ``budget`` random networks, keep the best) or ``evolution``
        (aging evolution with ``population`` and ``sample_size``).
    seed : int
        Seed of the search; the comparison runs seeds ``seed .. seed+compare_seeds-1``.
    objective : str, optional
        A hardware metric for a score/cost Pareto front, e.g. ``edgegpu_latency``.
    compare_seeds, compare_budget : int
        The same search by naswot, synflow, params and random (``compare_seeds=0``: none;
        budget default ``min(budget, 25)``).
    batch_size : int, optional
        Probe batch (default: the proxy's).
    workers : int
        Probe workers (0: every usable CPU; 1: in this process).
    energy : bool
        Meter energy (codecarbon, NVML).
    out : str or Path, optional
        Run directory (default ``runs/<time>-search-<strategy>``).
    on_event : callable, optional
        Called with every event (probe progress, ``SearchProgress``, ``NetworkFound``, ...).

    Returns
    -------
    SearchResult

    Examples
    --------
    >>> result = gm.search("tss-cifar10-random", budget=10, compare_seeds=0)
    >>> print(result.found["arch"], result.found["accuracy"], result.found["rank"])
    """
    from greenmachine.rundir.directory import RunDirectory
    from greenmachine.search.run import SearchSettings, run_search

    source = _proxy_source(proxy) if isinstance(proxy, (Design, Proxy)) else str(proxy)
    if space is None or dataset is None:
        known = proxy.proxy if isinstance(proxy, Design) else proxy if isinstance(proxy, Proxy) else _proxy_or_none(source)
        if known is not None and known.space and not known.tasks:
            space = space or known.space
            dataset = dataset or (known.datasets[0] if known.datasets else None)
    settings = SearchSettings(proxy=source, space=space or "tss", dataset=dataset or "cifar10", budget=budget,
                              strategy=strategy, seed=seed, constraint=constraint, objective=objective,
                              compare_seeds=compare_seeds, compare_budget=compare_budget, population=population,
                              sample_size=sample_size, batch_size=batch_size, workers=workers, energy=energy)
    run_dir = run_search(settings, _sink(on_event), out=Path(out) if out is not None else None)
    report = RunDirectory(run_dir).read_report()
    return SearchResult(found=report["found"], optimum=report["optimum"], comparison=report.get("comparison") or {},
                        energy=report["energy"], run_dir=Path(run_dir), report=report)


def _proxy_or_none(source: str) -> Proxy | None:
    """The proxy ``source`` names, or None for a baseline name or ``random``."""
    from greenmachine.proxies import ProxyError

    try:
        return load_proxy(source)
    except ProxyError:
        return None


def baselines(profile_or_space: Any, dataset: str | None = None, *, reference: bool | Sequence[str] = False,
              reference_cache: str | Path | None = None, on_event: EventCallback | None = None,
              **settings: Mapping[str, Any]) -> list[Scores]:
    """Every published proxy on a profile's test networks (``gm baselines``).

    Parameters
    ----------
    profile_or_space : str, Path or Profile
        As for :func:`design` (see :func:`make_profile`).
    dataset : str, optional
        The dataset (default: the profile's).
    reference : bool or sequence of str
        Also the baselines as their authors' code computes them (all with ``True``, or these
        names), as rows ``"<name> (authors' code)"``; slower (they run the networks again).
    reference_cache : str or Path, optional
        Folder of the reference-baseline cache.
    on_event : callable, optional
        Called with the probe's progress events.
    **settings : mapping
        Profile keys by section (the samples, the probe batch), e.g. ``sampling={"test": 50}``.

    Returns
    -------
    list of Scores
        One per dataset (or task).

    Examples
    --------
    >>> for scores in gm.baselines("quick", sampling={"test": 20}, probe={"batch_size": 4}):
    ...     print(scores.rows()[0])  # the best baseline on these networks
    """
    from greenmachine.evaluation.evaluate import profile_baselines

    profile = make_profile(profile_or_space, dataset, **settings)
    names = None
    if reference is not False:
        from greenmachine.baselines.reference.compute import resolve_names

        names = resolve_names(None if reference is True else [str(name) for name in reference])
    output = profile_baselines(profile, _sink(on_event), names,
                               str(reference_cache) if reference_cache is not None else None)
    result = []
    for data in output:
        data = {"sample": "test", **data}
        label = data.get("task") or data["dataset"]
        result.append(Scores(space=data["space"], dataset=label, n=data["n"], ground_truth=data["ground_truth"],
                             proxy=None, baselines=data["proxies"], data=data))
    return result
