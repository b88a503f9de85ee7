"""The progress bar ``fit(progress=True)`` shows (Rich, loaded only when asked for)."""

from __future__ import annotations

__all__ = ["ProgressBar"]


class ProgressBar:
    """A Rich bar over ``epochs`` with the latest metrics beside it."""

    def __init__(self, epochs: int):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.epochs = epochs
        self.progress = Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[metrics]}", markup=False),
                                 TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
        self.task = None

    def start(self, completed: int = 0) -> None:
        self.progress.start()
        self.task = self.progress.add_task("fit", total=self.epochs, completed=completed,
                                           metrics="")

    def update(self, logs: dict, advance: int = 1) -> None:
        text = " ".join(f"{k} {v:.4f}" for k, v in logs.items())
        self.progress.update(self.task, advance=advance, metrics=text)

    def close(self) -> None:
        self.progress.stop()
