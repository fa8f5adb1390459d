"""Screens of the GreenMachine TUI."""

from gm_tui.screens.help import HelpScreen
from gm_tui.screens.picker import ProfilePickerScreen
from gm_tui.screens.run import RunScreen
from gm_tui.screens.search import SearchScreen
from gm_tui.screens.test_scatter import TestScatterScreen

__all__ = ["HelpScreen", "ProfilePickerScreen", "RunScreen", "SearchScreen", "TestScatterScreen"]
