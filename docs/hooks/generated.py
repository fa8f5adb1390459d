"""MkDocs hook: the manual's generated parts, rendered from the code at build time.

Named in ``mkdocs.yml`` (``hooks:``); ``mkdocs build`` calls :func:`on_page_markdown` for every
page. A page asks for a generated part with a marker line, replaced by Markdown:

* ``<!-- gm:cli -->``: every ``gm`` command, its usage, arguments and options, read from the
  typer app (:data:`greenmachine.tui.cli.app`) through click, so the reference never drifts
  from the command line;
* ``<!-- gm:statistics -->``: the statistic bank (:func:`greenmachine.probe.registry.describe_statistics`);
* ``<!-- gm:operators -->``: the proxy language's operators (:func:`greenmachine.proxy.operators.operators`);
* ``<!-- gm:profiles -->``: the shipped profiles; ``<!-- gm:profile-keys -->``: every profile
  key with its default (:mod:`greenmachine.settings.profile`);
* ``<!-- gm:proxies -->``: the shipped proxies with their measured tau (:func:`greenmachine.proxies.shipped_proxies`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

MARKER = re.compile(r"^<!-- gm:([a-z-]+) -->$", re.MULTILINE)


ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def plain(text: str) -> str:
    """Docstring text as Markdown: Sphinx roles (``:mod:`x```) become code spans, one line."""
    return " ".join(ROLE.sub(r"`\1`", text).split())


def _cell(text: Any) -> str:
    """Text for one Markdown table cell: one line, pipes escaped, ``<`` and ``>`` shown (not HTML)."""
    pieces = plain(str(text)).replace("|", "\\|").split("`")
    return "`".join(piece if index % 2 else piece.replace("<", "&lt;").replace(">", "&gt;")
                    for index, piece in enumerate(pieces))


def _table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> str:
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def cli_reference() -> str:
    """Every command of the ``gm`` app: usage, help text, arguments and options."""
    import typer

    from greenmachine.tui.cli import app

    root = typer.main.get_command(app)  # a click group (typer may carry its own copy of click)
    parts: list[str] = []

    def describe(command: Any, path: list[str], parent: Any) -> None:
        context = command.context_class(command, info_name=path[-1], parent=parent)
        if hasattr(command, "list_commands"):
            if parent is not None:
                parts.append(f"## `{' '.join(path)}`\n\n{_help(command)}\n")
            for name in command.list_commands(context):
                describe(command.get_command(context, name), path + [name], context)
            return
        usage = re.sub(r"[{\[]([a-z_]+)[}\]]", lambda match: match.group(0)[0].replace("{", "") + match.group(1).upper()
                       + match.group(0)[-1].replace("}", ""), " ".join(command.collect_usage_pieces(context)))
        parts.append(f"## `{' '.join(path)}`\n\n{_help(command)}\n\n```text\n{' '.join(path)} {usage}\n```\n")
        rows = []
        for parameter in command.get_params(context):
            record = parameter.get_help_record(context)  # what ``gm COMMAND --help`` shows
            if parameter.name == "help" or record is None:
                continue
            kind = "argument" if parameter.param_type_name == "argument" else "option"
            rows.append([f"`{record[0]}`", kind, record[1]])
        if rows:
            parts.append(_table(["argument or option", "kind", "meaning"], rows) + "\n")

    describe(root, ["gm"], None)
    return "\n".join(parts)


def _help(command: Any) -> str:
    return plain((command.help or "").strip().split("\n\n")[0])


def statistics_table() -> str:
    """The statistic bank: name, kind, the probe pass it needs, what it is."""
    from greenmachine.probe.registry import describe_statistics

    rows = [[f"`{name}`", kind, needs, doc] for name, kind, needs, doc in describe_statistics()]
    return _table(["statistic", "kind", "pass", "what it is"], rows)


def operators_table() -> str:
    """The operators of the proxy language."""
    from greenmachine.proxy.operators import operators

    rows = [[f"`{item.name}`", item.kind, " × ".join(item.input_types) + " → " + item.output_type,
             item.display.format(*"xyz"[:item.arity]) if "{" in item.display else item.display, item.description]
            for item in operators()]
    return _table(["operator", "kind", "types", "shown as", "meaning"], rows)


def profiles_table() -> str:
    """The shipped profiles with their sizes."""
    from greenmachine.settings.profile import available_profiles, load_profile

    rows = []
    for name, path in available_profiles().items():
        profile = load_profile(str(path))
        where = ", ".join(profile.benchmark.tasks) or f"{profile.benchmark.space} {', '.join(profile.benchmark.datasets)}"
        sampling = profile.sampling
        rows.append([f"`{name}`", where, f"{sampling.mode}, {sampling.search}/{sampling.validation}/{sampling.test}",
                     f"{profile.evolution.population} × {profile.evolution.generations}", profile.probe.batch_size,
                     profile.description])
    return _table(["profile", "space and datasets (or tasks)", "sampling, search/validation/test", "population × generations",
                   "probe batch", "description"], rows)


def profile_keys_table() -> str:
    """Every profile key with its default, by section."""
    from greenmachine.settings import profile as settings

    parts = []
    for item in dataclasses.fields(settings.Profile):
        if item.name in ("name", "description", "source"):
            continue
        section_class = item.default_factory()  # type: ignore[misc]
        doc = plain(type(section_class).__doc__ or "")
        rows = [[f"`{item.name}.{key.name}`", f"`{_toml(getattr(section_class, key.name))}`"]
                for key in dataclasses.fields(section_class)]
        parts.append(f"### `[{item.name}]`\n\n{doc}\n\n" + _table(["key", "default"], rows) + "\n")
    return "\n".join(parts)


def _toml(value: Any) -> str:
    from greenmachine.settings.profile import override_text

    return override_text("x", "y", value).split("=", 1)[1]


def proxies_table() -> str:
    """The shipped proxies: where they were designed and their measured tau."""
    from greenmachine.proxies import shipped_proxies

    rows = []
    for proxy in shipped_proxies():
        facts = proxy.provenance
        best = facts.get("best_baseline") or {}
        where = ", ".join(proxy.tasks) or f"{proxy.space} {', '.join(proxy.datasets)}"
        rows.append([f"`{proxy.name}`", where, _number(facts.get("validation_tau")), _number(facts.get("test_tau")),
                     f"{best.get('name', '–')} {_number(best.get('test_tau'))}", ", ".join(sorted(proxy.passes))])
    return _table(["proxy", "designed on", "validation τ", "test τ", "best baseline (test τ)", "probe passes"], rows,
                  ["---", "---", "---:", "---:", "---", "---"])


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "–"


GENERATORS: dict[str, Callable[[], str]] = {
    "cli": cli_reference,
    "statistics": statistics_table,
    "operators": operators_table,
    "profiles": profiles_table,
    "profile-keys": profile_keys_table,
    "proxies": proxies_table,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace each ``<!-- gm:NAME -->`` marker line with its generated Markdown."""
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"{page.file.src_path}: unknown generated part {name!r} (known: {', '.join(GENERATORS)})")
        return GENERATORS[name]()

    return MARKER.sub(replace, markdown)
