"""Header of the run screen: profile, space, datasets, sampling, seed, device and status."""

from __future__ import annotations

from typing import Any, Mapping

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

STATUS_STYLE = {
    "idle": "grey62",
    "starting": "cyan",
    "running": "bold green",
    "paused": "bold yellow",
    "stopping": "yellow",
    "stopped": "yellow",
    "completed": "bold green",
    "failed": "bold red",
    "replay": "magenta",
    "watching": "bold magenta",
}


class RunHeader(Widget):
    """Two-line header; the screen sets :attr:`status` and calls :meth:`set_run`."""

    DEFAULT_CSS = """
    RunHeader { height: 2; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    status: reactive[str] = reactive("idle")

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.info: dict[str, Any] = {}

    def set_run(self, *, profile: str, space: str = "", datasets: tuple[str, ...] | list[str] = (),
                sampling_mode: str = "", sample_sizes: Mapping[str, int] | None = None,
                seed: int | None = None, device: str = "", run_dir: str = "", sizes_label: str = "samples") -> None:
        """Describe the run being shown (``sizes_label`` names what ``sample_sizes`` count)."""
        self.info = {
            "profile": profile, "space": space, "datasets": tuple(datasets), "sampling_mode": sampling_mode,
            "sample_sizes": dict(sample_sizes or {}), "seed": seed, "device": device, "run_dir": run_dir,
            "sizes_label": sizes_label,
        }
        self.refresh()

    def render(self) -> Text:
        info = self.info
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("GreenMachine ", style="bold green")
        text.append(f"[{self.status}] ", style=STATUS_STYLE.get(self.status.split(" ")[0], "bold"))
        text.append(f"profile {info.get('profile') or '—'}", style="bold")
        if info.get("space"):
            text.append(f" · {str(info['space']).upper()}")
        if info.get("datasets"):
            text.append(f" · {', '.join(info['datasets'])}")
        if info.get("seed") is not None:
            text.append(f" · seed {info['seed']}")
        if info.get("device"):
            text.append(f" · device {info['device']}")
        text.append("\n")
        sizes = info.get("sample_sizes") or {}
        second = Text(style="grey62")
        if info.get("sampling_mode"):
            second.append(f"{info['sampling_mode']} · ")
        if sizes:
            second.append(f"{info.get('sizes_label', 'samples')} " + "/".join(str(v) for v in sizes.values()) + f" ({'/'.join(sizes)})")
        if info.get("run_dir"):
            second.append(f" · {info['run_dir']}")
        if not second.plain:
            second.append("press s to start, ? for keys")
        text.append_text(second)
        return text
