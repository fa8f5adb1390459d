"""``gm data check|import-nats|import-benchmark|import-cifar``: the data files GreenMachine reads.

Thin commands registered on the ``gm data`` group by :mod:`greenmachine.tui.cli`: parse, call
:mod:`greenmachine.benchmark.check` / :mod:`greenmachine.benchmark.importers`, print. Heavy imports happen inside the bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def data_check_command() -> None:
    """List every data file, found or missing, where it came from, with its row/image counts."""
    from greenmachine.benchmark.check import check_data
    from greenmachine.datadir import describe_search

    statuses = check_data()
    typer.echo(f"data: {describe_search()}")
    for status in statuses:
        if status.valid:
            mark = "ok     "
        elif status.present:
            mark = "INVALID"
        else:
            mark = "MISSING" if status.required else "absent "
        source = status.source or ("-" if status.required else "optional")
        typer.echo(f"  {mark} {status.name:36s} {source:12s} {status.detail}")
    bad = [s for s in statuses if s.failed]
    if bad:
        typer.echo(f"gm: error: {len(bad)} of {len(statuses)} data files missing or invalid (set GM_DATA_DIR)", err=True)
        raise typer.Exit(1)
    absent = [s for s in statuses if not s.present]
    note = f" ({len(absent)} optional absent: full data only, set GM_DATA_DIR)" if absent else ""
    typer.echo(f"{len(statuses) - len(absent)} data files present and valid{note}")


def data_import_nats_command(
    archive: Annotated[Path, typer.Argument(help="Official archive, e.g. NATS-tss-v1_0-3ffb9-simple.")],
    space: Annotated[str, typer.Option("--space", help="Search space (tss, sss or a registered space).")] = "tss",
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Folder to write the table into (default: the data directory).")] = None,
) -> None:
    """Build our benchmark table from the official NATS-Bench archive (needs the 'nats' extra)."""
    from greenmachine.datadir import data_dir
    from greenmachine.benchmark.importers import import_nats_tables

    target = out_dir or data_dir()
    target.mkdir(parents=True, exist_ok=True)
    path = import_nats_tables(archive, space, target)
    typer.echo(f"wrote {path}")


def data_import_benchmark_command(
    source: Annotated[Path, typer.Argument(help="The benchmark's JSON, e.g. nas-bench-macro_cifar10.json or "
                                                "NASLib's zc_nasbench101.json (plain or .gz).")],
    space: Annotated[str, typer.Option("--space", help="macro or nb101 (a space whose table is its benchmark's JSON).")],
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Folder to write into (default: the data directory).")] = None,
) -> None:
    """Check a benchmark's published JSON with its space and write it as that space's data file."""
    from greenmachine.datadir import data_dir
    from greenmachine.benchmark.importers import import_benchmark_json

    path = import_benchmark_json(source, space, out_dir or data_dir())
    typer.echo(f"wrote {path}")


def data_import_cifar_command(
    archive: Annotated[Path, typer.Argument(help="cifar-10-python.tar.gz or cifar-100-python.tar.gz.")],
    out: Annotated[Path, typer.Argument(help="The .npz file to write.")],
    dataset: Annotated[str, typer.Option("--dataset", help="cifar10 or cifar100.")] = "cifar10",
    split: Annotated[str, typer.Option("--split", help="train or test.")] = "train",
) -> None:
    """Convert an official CIFAR python archive into GreenMachine's .npz image format."""
    from greenmachine.benchmark.importers import import_cifar_archive

    path = import_cifar_archive(archive, out, dataset, split)
    typer.echo(f"wrote {path}")
