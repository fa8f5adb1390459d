"""The plan of a seed-repeat folder: its seed combinations and its ``plan.json`` file.

The one home of the plan file. Used by :mod:`greenmachine.repeats.runner` (which runs a plan and
re-exports these names), :mod:`greenmachine.repeats.summary` (which reads it) and
``gm run PROFILE --seeds/--repeat/--probe-seeds`` (``greenmachine.tui.commands.repeat``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from greenmachine.errors import ArgumentError, GMError
from greenmachine.rundir.directory import RunDirectory, read_json
from greenmachine.settings.profile import SEED_LIMIT, Profile, load_profile, load_profile_text, parse_override

PLAN_FILE = "plan.json"
PLAN_KIND = "greenmachine-seed-plan"
_NAME_PREFIX = "evolution-"


@dataclass(frozen=True)
class Combination:
    """One (evolution seed, probe seed) pair; ``name`` is its run directory's folder name."""

    evolution_seed: int
    probe_seed: int

    @property
    def name(self) -> str:
        """Folder name of the combination's run directory, ``evolution-E-probe-P``."""
        return f"{_NAME_PREFIX}{self.evolution_seed}-probe-{self.probe_seed}"


def parse_seed_list(text: str, option: str) -> tuple[int, ...]:
    """Parse a comma-separated list of distinct seeds (``"0,1,2"``).

    ``option`` names the argument that carried ``text`` (``seeds``, ``probe_seeds``); the
    error line names it, and the ``gm`` command line shows its own option there.

    Raises
    ------
    ArgumentError
        Empty list or item, a non-integer, a seed outside 0..2**32-1, or a duplicate; the
        line names ``option``.
    """
    items = [item.strip() for item in str(text).split(",")]
    if not any(items):
        raise ArgumentError("{0}: give a comma-separated list of seeds, e.g. 0,1,2", option)
    seeds: list[int] = []
    for item in items:
        if not item:
            raise ArgumentError("{0} {text}: empty item in the list (expected e.g. 0,1,2)", option, text=repr(text))
        if item.startswith("-") and item[1:].isascii() and item[1:].isdigit():
            raise ArgumentError("{0} {text}: seed {item} is negative (seeds are whole numbers 0..{limit})", option,
                                text=repr(text), item=item, limit=SEED_LIMIT)
        if not (item.isascii() and item.isdigit()):
            shown = item if item.isprintable() else repr(item)
            raise ArgumentError("{0} {text}: {shown} is not a seed (seeds are whole numbers 0..{limit})", option,
                                text=repr(text), shown=repr(shown), limit=SEED_LIMIT)
        value = int(item)
        if value > SEED_LIMIT:
            raise ArgumentError("{0} {text}: seed {value} is above {limit}", option, text=repr(text), value=value,
                                limit=SEED_LIMIT)
        if value in seeds:
            raise ArgumentError("{0} {text}: seed {value} is given twice", option, text=repr(text), value=value)
        seeds.append(value)
    return tuple(seeds)


def parse_repeat(text: str) -> int:
    """Parse the repeat count K (``gm run --repeat K``): a whole number of evolution seeds, 1 or more."""
    item = str(text).strip()
    if not (item.isascii() and item.lstrip("-").isdigit() and item.count("-") <= 1 and not item.endswith("-")):
        raise ArgumentError("{0} {text}: expected a whole number of evolution seeds, e.g. 3", "repeat", text=repr(text))
    value = int(item)
    if value < 1:
        raise ArgumentError("{0} {value}: the number of evolution seeds must be 1 or more", "repeat", value=value)
    if value > SEED_LIMIT:
        raise ArgumentError("{0} {value}: too many evolution seeds", "repeat", value=value)
    return value


def comparable_settings(profile: Profile) -> str:
    """The profile as TOML with the seeds and the probe executor options blanked.

    Two runs of a repeat folder must agree on this text: they differ only in their
    evolution and probe seeds (and where the probes ran, which changes no number).
    """
    probe = dataclasses.replace(profile.probe, seed=0, workers=0, executor="local", address="")
    return dataclasses.replace(profile, probe=probe, evolution=dataclasses.replace(profile.evolution, seed=0)).to_toml()


def combination_profile(profile: Profile, combination: Combination) -> Profile:
    """``profile`` with the evolution and probe seeds of ``combination``."""
    return dataclasses.replace(
        profile,
        evolution=dataclasses.replace(profile.evolution, seed=combination.evolution_seed),
        probe=dataclasses.replace(profile.probe, seed=combination.probe_seed),
    )


@dataclass(frozen=True)
class RepeatPlan:
    """The profile and the seed lists of a repeat folder.

    Parameters
    ----------
    profile : Profile
        The profile with every override (its own two seeds are replaced per combination).
    evolution_seeds, probe_seeds : tuple of int
        Distinct seeds; the combinations are every pair, evolution seed outermost.
    """

    profile: Profile
    evolution_seeds: tuple[int, ...]
    probe_seeds: tuple[int, ...]

    def combinations(self) -> list[Combination]:
        """Every (evolution seed, probe seed) pair, probe seed innermost."""
        return [Combination(e, p) for e in self.evolution_seeds for p in self.probe_seeds]

    def to_dict(self) -> dict[str, Any]:
        """What ``plan.json`` holds."""
        return {"kind": PLAN_KIND, "profile_name": self.profile.name, "profile_toml": self.profile.to_toml(),
                "evolution_seeds": list(self.evolution_seeds), "probe_seeds": list(self.probe_seeds),
                "created": time.strftime("%Y-%m-%d %H:%M:%S")}

    def describe(self) -> str:
        """One line: the seed lists and the number of runs."""
        return (f"evolution seeds {_seed_text(self.evolution_seeds)} x probe seeds {_seed_text(self.probe_seeds)} "
                f"= {len(self.evolution_seeds) * len(self.probe_seeds)} runs")


def _seed_text(seeds: Sequence[int]) -> str:
    return ",".join(str(seed) for seed in seeds)


def plan_from_options(profile_name: str, overrides: Sequence[str], seeds: str | None, repeat: str | None,
                      probe_seeds: str | None) -> RepeatPlan:
    """Build the plan of ``gm run PROFILE --seeds/--repeat/--probe-seeds`` (validated, nothing written).

    ``seeds`` (a list) or ``repeat`` (K: seeds 0..K-1) give the evolution seeds, default the
    profile's; ``probe_seeds`` the probe seeds, default the profile's.

    Raises
    ------
    GMError
        Both ``seeds`` and ``repeat``, a malformed list or K, or a ``--set`` of a seed that a
        list replaces; and every profile error.
    """
    if seeds is not None and repeat is not None:
        raise ArgumentError("give either {0} or {1}, not both", "seeds", "repeat")
    evolution = parse_seed_list(seeds, "seeds") if seeds is not None else None
    if repeat is not None:
        evolution = tuple(range(parse_repeat(repeat)))
    probe = parse_seed_list(probe_seeds, "probe_seeds") if probe_seeds is not None else None
    for text in overrides:
        section, key, _ = parse_override(text)
        if (section, key) == ("evolution", "seed") and evolution is not None:
            raise ArgumentError("{0} {text}: the evolution seeds come from {1}/{2} here", "overrides", "seeds",
                                "repeat", text=repr(text))
        if (section, key) == ("probe", "seed") and probe is not None:
            raise ArgumentError("{0} {text}: the probe seeds come from {1} here", "overrides", "probe_seeds",
                                text=repr(text))
    profile = load_profile(profile_name, list(overrides))
    return RepeatPlan(profile, evolution or (profile.evolution.seed,), probe or (profile.probe.seed,))


def read_plan(folder: Path) -> RepeatPlan:
    """Read ``plan.json`` of a repeat folder.

    Raises
    ------
    GMError
        Missing, corrupt or wrongly shaped file.
    """
    path = Path(folder) / PLAN_FILE
    data = read_json(path)
    try:
        if not isinstance(data, dict) or data.get("kind") != PLAN_KIND:
            raise ValueError("not a GreenMachine seed plan")
        seeds = [tuple(data[key]) for key in ("evolution_seeds", "probe_seeds")]
        if not all(seed_list and all(type(s) is int and 0 <= s <= SEED_LIMIT for s in seed_list) and
                   len(set(seed_list)) == len(seed_list) for seed_list in seeds):
            raise ValueError("bad seed lists")
        if not isinstance(data.get("profile_toml"), str):
            raise ValueError("no profile")
    except (ValueError, TypeError, KeyError) as error:
        raise GMError(f"{path} is corrupt: {error}") from None
    profile = load_profile_text(data["profile_toml"], str(path))
    return RepeatPlan(profile, seeds[0], seeds[1])


def prepare_folder(folder: Path, plan: RepeatPlan) -> bool:
    """Check that ``folder`` can hold ``plan`` (nothing written); return True when it resumes one.

    A new or empty folder starts the plan. A folder with a ``plan.json`` of the same
    settings and seeds resumes it. Anything else is an error.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise GMError(f"the seed-repeat folder {folder} is not a directory")
    if not folder.exists() or not any(folder.iterdir()):
        return False
    if not (folder / PLAN_FILE).is_file():
        raise GMError(f"{folder} exists, is not empty and holds no {PLAN_FILE} (not a seed-repeat folder)")
    existing = read_plan(folder)
    if comparable_settings(existing.profile) != comparable_settings(plan.profile):
        raise GMError(f"{folder} was made with other settings than {plan.profile.name} with these overrides "
                      "(give the same profile and overrides to resume, or another folder)")
    if (existing.evolution_seeds, existing.probe_seeds) != (plan.evolution_seeds, plan.probe_seeds):
        raise GMError(f"{folder} holds the plan {existing.describe()}; give the same seeds to resume, or another "
                      "folder")
    for combination in plan.combinations():
        path = folder / combination.name
        if path.is_dir() and any(path.iterdir()) and not RunDirectory(path).is_run_directory():
            raise GMError(f"{path} is not empty and is not a run directory (move it away to rerun it)")
    return True
