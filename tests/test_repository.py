"""Repository hygiene: no tracked text file keeps a merge-conflict marker."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^(<{7}|>{7})( |$)|^={7}$", re.MULTILINE)
TEXT_SUFFIXES = {".py", ".md", ".toml", ".tcss", ".json", ".txt", ".cfg", ".sh", ""}


def tracked_text_files() -> list[Path]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / name for name in listed.splitlines() if Path(name).suffix in TEXT_SUFFIXES]


def test_no_merge_conflict_markers_in_tracked_files():
    files = tracked_text_files()
    assert any(path.name == "README.md" for path in files)
    marked = [str(path.relative_to(REPO)) for path in files
              if path.is_file() and MARKER.search(path.read_text(encoding="utf-8", errors="replace"))]
    assert marked == []


def test_marker_pattern_finds_a_conflict():
    text = "a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> branch\n"
    assert len(MARKER.findall(text)) == 3
    assert MARKER.search("a table row | ======= | is not a marker\n") is None
