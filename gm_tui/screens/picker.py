"""Profile picker: the shipped profiles; Enter (or s) starts a run with the highlighted one."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option


def describe_profile(name: str) -> Text:
    """One option label: the name, its space / datasets / sizes and its description."""
    text = Text(name, style="bold")
    try:
        from greenmachine.settings.profile import load_profile

        profile = load_profile(name)
    except Exception as error:  # noqa: BLE001 - a broken profile is listed with its error
        text.append(f"  invalid: {error}", style="red")
        return text
    sampling = profile.sampling
    text.append(
        f"  {profile.benchmark.space.upper()} {', '.join(profile.benchmark.datasets)} · {sampling.mode}"
        f" · {sampling.search}/{sampling.validation}/{sampling.test} nets"
        f" · pop {profile.evolution.population} × {profile.evolution.generations} gens",
        style="grey62",
    )
    if profile.description:
        text.append(f"\n  {profile.description}", style="italic grey50")
    return text


class ProfilePickerScreen(Screen[str | None]):
    """Lists ``available_profiles()``; dismisses with the chosen name (or None on escape)."""

    BINDINGS = [("escape", "cancel", "Back"), ("s", "choose", "Start")]

    def __init__(self, profiles: list[str] | None = None) -> None:
        super().__init__()
        if profiles is None:
            from greenmachine.settings.profile import available_profiles

            profiles = list(available_profiles())
        self.profiles = profiles

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Choose a profile — Enter starts a run", id="picker-title")
            if self.profiles:
                yield OptionList(*(Option(describe_profile(name), id=name) for name in self.profiles), id="profiles")
            else:
                yield Static("no profiles found in profiles/", id="picker-empty")
        yield Footer()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_choose(self) -> None:
        options = self.query(OptionList)
        if options:
            option_list = options.first()
            if option_list.highlighted is not None:
                self.dismiss(option_list.get_option_at_index(option_list.highlighted).id)

    def action_cancel(self) -> None:
        self.dismiss(None)
