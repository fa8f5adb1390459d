"""Widgets of the GreenMachine TUI: each shows one part of a run and is fed by its screen."""

from greenmachine.tui.widgets.energy_panel import EnergyPanel
from greenmachine.tui.widgets.hall_of_fame import HallOfFameTable
from greenmachine.tui.widgets.probe_progress import ProbeProgress
from greenmachine.tui.widgets.proxy_view import ProxyView
from greenmachine.tui.widgets.run_header import RunHeader
from greenmachine.tui.widgets.score_plot import ScorePlot
from greenmachine.tui.widgets.search_results import FoundNetwork, SearchTable
from greenmachine.tui.widgets.tau_plot import TauPlot
from greenmachine.tui.widgets.test_scatter import ScatterPlot

__all__ = ["EnergyPanel", "FoundNetwork", "HallOfFameTable", "ProbeProgress", "ProxyView", "RunHeader", "ScatterPlot",
           "ScorePlot", "SearchTable", "TauPlot"]
