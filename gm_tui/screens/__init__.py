"""Screens of the GreenMachine TUI."""

from gm_tui.screens.help import HelpScreen
from gm_tui.screens.picker import ProfilePickerScreen
from gm_tui.screens.run import RunScreen

__all__ = ["HelpScreen", "ProfilePickerScreen", "RunScreen"]
