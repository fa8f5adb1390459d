"""Where data files and profiles come from: GM_DATA_DIR, the user folder, the embedded copy.

Covers the resolution order of :mod:`greenmachine.datadir`, the integrity of the embedded data
(sha256 and sizes as ``DATA.md`` lists them; the build script reproduces the folder byte for
byte from the full files), ``gm data check`` naming each file's source, and the profile
lookup from package data (a wheel built from this tree, installed into a folder, finds its
profiles and embedded data with no source tree and no data folder).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenmachine import datadir
from greenmachine.benchmark.tables import load_benchmark
from greenmachine.benchmark.check import check_data
from greenmachine.datadir import (
    CIFAR10_TEST_IMAGES,
    EMBEDDED_FILES,
    IMAGE_FILES,
    TSS_HW_TABLE,
    ZC_PROXIES_TABLE,
    data_file,
    locate,
)
from greenmachine.errors import DataFileError
from greenmachine.settings.profile import available_profiles, profile_dir
from greenmachine.spaces import get_space
from greenmachine.tui.cli import app

TSS_TABLE, SSS_TABLE = get_space("tss").table_file, get_space("sss").table_file

REPO = Path(__file__).resolve().parents[2]
EMBEDDED = REPO / "core" / "data" / "embedded"
BUILD_SCRIPT = REPO / "scripts" / "build_embedded_data.py"
PROFILE_NAMES = {"quick", "tss-cifar10", "tss-cifar100", "sss-cifar10", "sss-cifar100"}


@pytest.fixture
def no_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """GM_DATA_DIR unset and an empty per-user folder; returns that user folder."""
    monkeypatch.delenv("GM_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "greenmachine"


# --------------------------------------------------------------------------- resolution order


def test_embedded_copy_when_nothing_else(no_data_dir: Path) -> None:
    for name in EMBEDDED_FILES:
        found = locate(name)
        assert found.source == datadir.SOURCE_EMBEDDED
        assert found.path == datadir.embedded_dir() / name and found.path.is_file()
    assert datadir.embedded_dir() == EMBEDDED  # this checkout's package data
    assert len(load_benchmark("tss")) == 15625  # the engine reads it


def test_user_folder_wins_over_embedded(no_data_dir: Path) -> None:
    no_data_dir.mkdir(parents=True)
    (no_data_dir / TSS_TABLE).write_bytes(b"user copy")
    found = locate(TSS_TABLE)
    assert (found.path, found.source) == (no_data_dir / TSS_TABLE, datadir.SOURCE_USER)
    assert locate(SSS_TABLE).source == datadir.SOURCE_EMBEDDED  # per file


def test_gm_data_dir_wins_and_never_falls_back(no_data_dir: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    no_data_dir.mkdir(parents=True)
    (no_data_dir / SSS_TABLE).write_bytes(b"user copy")
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / TSS_TABLE).write_bytes(b"full copy")
    monkeypatch.setenv("GM_DATA_DIR", str(folder))
    found = locate(TSS_TABLE)
    assert (found.path, found.source) == (folder / TSS_TABLE, datadir.SOURCE_ENVIRONMENT)
    # a file missing in GM_DATA_DIR is an error, although the user folder / embedded data has it
    for name in (SSS_TABLE, IMAGE_FILES["cifar10"]):
        with pytest.raises(DataFileError) as info:
            data_file(name)
        message = str(info.value)
        assert name in message and str(folder) in message and "\n" not in message
        assert "embedded" not in message


def test_empty_gm_data_dir_counts_as_unset(no_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GM_DATA_DIR", "")
    assert locate(TSS_TABLE).source == datadir.SOURCE_EMBEDDED


def test_file_not_embedded_names_both_places(no_data_dir: Path) -> None:
    for name in (CIFAR10_TEST_IMAGES, ZC_PROXIES_TABLE):
        with pytest.raises(DataFileError) as info:
            data_file(name)
        message = str(info.value)
        assert name in message and str(no_data_dir) in message
        assert "not in the embedded data" in message and "GM_DATA_DIR" in message


def test_given_folder_is_the_only_place(no_data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not found in"):
        data_file(TSS_TABLE, tmp_path)  # embedded has it, but a folder was named
    (tmp_path / TSS_TABLE).mkdir()
    with pytest.raises(DataFileError, match="not a regular file"):
        data_file(TSS_TABLE, tmp_path)
    (tmp_path / SSS_TABLE).write_bytes(b"x")
    assert locate(SSS_TABLE, tmp_path).source == datadir.SOURCE_GIVEN


def test_only_datadir_reads_gm_data_dir() -> None:
    """No other module in core looks at GM_DATA_DIR itself (no second lookup order)."""
    offenders = [path.name for path in (REPO / "core").rglob("*.py")
                 if path.name != "datadir.py"
                 and re.search(r"environ[^\n]*GM_DATA_DIR", path.read_text(encoding="utf-8"))]
    assert offenders == []


# --------------------------------------------------------------------------- embedded data


def _data_md_rows() -> dict[str, tuple[int, str]]:
    rows = {}
    for line in (EMBEDDED / "DATA.md").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\| `([^`]+)` \| (\d+) \| [^|]+ \| `([0-9a-f]{64})` \|", line)
        if match:
            rows[match.group(1)] = (int(match.group(2)), match.group(3))
    return rows


def test_embedded_files_match_data_md() -> None:
    rows = _data_md_rows()
    assert set(rows) == set(EMBEDDED_FILES) | {"PROVENANCE.md"}
    shipped = {path.name for path in EMBEDDED.iterdir()}
    assert shipped == set(EMBEDDED_FILES) | {"DATA.md", "PROVENANCE.md"}
    for name, (size, digest) in rows.items():
        raw = (EMBEDDED / name).read_bytes()
        assert len(raw) == size, name
        assert hashlib.sha256(raw).hexdigest() == digest, name
    total = sum(size for name, (size, _) in rows.items() if name in EMBEDDED_FILES)
    assert total <= 10_500_000
    assert f"Total: {total} bytes." in (EMBEDDED / "DATA.md").read_text(encoding="utf-8")


def test_embedded_files_are_valid(no_data_dir: Path) -> None:
    status = {s.name: s for s in check_data()}
    for name in EMBEDDED_FILES:
        assert status[name].valid and status[name].source == "embedded", status[name].detail
    assert status[TSS_HW_TABLE].detail == "15625 rows"
    assert status[IMAGE_FILES["cifar100"]].detail == "960 images 32x32"


def test_build_script_reproduces_embedded_folder(real_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "embedded"
    result = subprocess.run([sys.executable, str(BUILD_SCRIPT), str(real_data), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    built = sorted(path.name for path in out.iterdir())
    assert built == sorted(path.name for path in EMBEDDED.iterdir())
    for name in built:
        assert (out / name).read_bytes() == (EMBEDDED / name).read_bytes(), name
    for name in EMBEDDED_FILES:  # verbatim copies of the full files
        assert (EMBEDDED / name).read_bytes() == (real_data / name).read_bytes(), name


def test_build_script_names_missing_source(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(BUILD_SCRIPT), str(tmp_path), "--out", str(tmp_path / "o")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and TSS_TABLE in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- gm data check


def test_data_check_says_embedded(no_data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["data", "check"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line.split() for line in result.output.splitlines() if line.startswith("  ")}
    for name in EMBEDDED_FILES:
        assert lines[name][0] == "ok" and lines[name][2] == "embedded", lines[name]
    for name in (ZC_PROXIES_TABLE, CIFAR10_TEST_IMAGES):
        assert lines[name][0] == "absent" and lines[name][2] == "optional"
    assert f"{len(EMBEDDED_FILES)} data files present and valid (2 optional absent" in result.output


def test_data_check_says_user_folder(no_data_dir: Path) -> None:
    no_data_dir.mkdir(parents=True)
    shutil.copyfile(EMBEDDED / SSS_TABLE, no_data_dir / SSS_TABLE)
    result = CliRunner().invoke(app, ["data", "check"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if SSS_TABLE in line).split()
    assert line[0] == "ok" and line[2:4] == ["user", "folder"] and "32768" in line


def test_data_check_says_gm_data_dir(real_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GM_DATA_DIR", str(real_data))
    result = CliRunner().invoke(app, ["data", "check"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines() if line.startswith("  ")]
    assert len(rows) == len(EMBEDDED_FILES) + 2 and all(row[0] == "ok" and row[2] == "GM_DATA_DIR" for row in rows)


def test_data_check_invalid_optional_file_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in EMBEDDED_FILES:
        shutil.copyfile(EMBEDDED / name, tmp_path / name)
    monkeypatch.setenv("GM_DATA_DIR", str(tmp_path))
    assert CliRunner().invoke(app, ["data", "check"]).exit_code == 0  # optional ones absent
    (tmp_path / ZC_PROXIES_TABLE).write_bytes(b"garbage")
    result = CliRunner().invoke(app, ["data", "check"])
    assert result.exit_code == 1 and f"INVALID {ZC_PROXIES_TABLE}" in result.output


# --------------------------------------------------------------------------- profiles


def test_profiles_from_checkout() -> None:
    assert profile_dir() == REPO / "profiles"
    assert PROFILE_NAMES <= set(available_profiles())


def test_profiles_from_package_data(tmp_path: Path) -> None:
    """Outside a source checkout the profiles come from the greenmachine.profiles package."""
    import greenmachine.profiles

    package = Path(greenmachine.profiles.__file__).parent
    assert profile_dir(None) == package
    assert profile_dir(tmp_path) == package  # a folder without pyproject.toml is no checkout
    assert (package / "quick.toml").is_file()


def _have_setuptools() -> bool:
    return importlib.util.find_spec("setuptools") is not None


@pytest.mark.skipif(not _have_setuptools(), reason="building a wheel needs setuptools in this venv")
def test_wheel_ships_profiles_data_and_styles(tmp_path: Path) -> None:
    """Build a wheel from this tree, install it into a folder, and use it from elsewhere."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copyfile(REPO / name, source / name)
    for name in ("core", "gm_tui", "profiles"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run([*pip, "wheel", "--no-build-isolation", "--no-deps", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("greenmachine-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # one top-level name: no generic "core" or "greenmachine.profiles" in the user's site-packages
    assert {name.split("/")[0] for name in names} == {"greenmachine", "greenmachine-0.1.0.dist-info"}
    for profile in PROFILE_NAMES:
        assert f"greenmachine/profiles/{profile}.toml" in names
    assert "greenmachine/tui/gm.tcss" in names
    for name in (*EMBEDDED_FILES, "DATA.md", "PROVENANCE.md"):
        assert f"greenmachine/data/embedded/{name}" in names
    # every file of the package folders ships (modules, styles, embedded data, shipped proxies)
    installed_as = {"core": "greenmachine", "gm_tui": "greenmachine/tui", "profiles": "greenmachine/profiles"}
    expected = {f"{installed_as[folder]}/{p.relative_to(REPO / folder)}" for folder in installed_as
                for p in (REPO / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert expected - names == set()

    target = tmp_path / "installed"
    installed = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    probe = (
        "import greenmachine, greenmachine.settings.profile as s, greenmachine.datadir as d;"
        "print(greenmachine.__file__); print(s.profile_dir()); print(','.join(sorted(s.available_profiles())));"
        "l = d.locate('nats_tss.csv.gz'); print(l.source, l.path)"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(target), "XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=elsewhere,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    package_file, profiles, listed, located = result.stdout.splitlines()
    assert package_file.startswith(str(target))
    assert profiles == str(target / "greenmachine" / "profiles")
    assert PROFILE_NAMES <= set(listed.split(","))
    assert located == f"embedded {target / 'greenmachine' / 'data' / 'embedded' / TSS_TABLE}"
    generic = subprocess.run([sys.executable, "-c", "import importlib; importlib.import_module('core')"],
                             capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120)
    assert generic.returncode != 0 and "No module named 'core'" in generic.stderr
