"""Widgets of the GreenMachine TUI: each shows one part of a run and is fed by its screen."""

from gm_tui.widgets.energy_panel import EnergyPanel
from gm_tui.widgets.hall_of_fame import HallOfFameTable
from gm_tui.widgets.probe_progress import ProbeProgress
from gm_tui.widgets.proxy_view import ProxyView
from gm_tui.widgets.run_header import RunHeader
from gm_tui.widgets.score_plot import ScorePlot
from gm_tui.widgets.search_results import FoundNetwork, SearchTable
from gm_tui.widgets.tau_plot import TauPlot
from gm_tui.widgets.test_scatter import ScatterPlot

__all__ = ["EnergyPanel", "FoundNetwork", "HallOfFameTable", "ProbeProgress", "ProxyView", "RunHeader", "ScatterPlot",
           "ScorePlot", "SearchTable", "TauPlot"]
