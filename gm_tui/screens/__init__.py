"""Screens of the GreenMachine TUI."""

from greenmachine.tui.screens.help import HelpScreen
from greenmachine.tui.screens.picker import ProfilePickerScreen
from greenmachine.tui.screens.run import RunScreen
from greenmachine.tui.screens.search import SearchScreen
from greenmachine.tui.screens.test_scatter import TestScatterScreen

__all__ = ["HelpScreen", "ProfilePickerScreen", "RunScreen", "SearchScreen", "TestScatterScreen"]
