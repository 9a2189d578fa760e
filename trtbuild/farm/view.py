"""The farm on the terminal: while Ray runs the cells, a live table (cells done / running / waiting and the node that
holds each); one after another in this process, a line per cell above each build's own stage view; then the summary.
"""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from trtbuild.farm.run import CellResult

STYLE = {"ok": "green", "failed": "red", "unplaceable": "red", "cancelled": "yellow", "running": "cyan",
         "waiting": "dim", "planned": "blue"}


def summary(rows: list[CellResult], title: str = "trtbuild matrix") -> Table:
    table = Table(title=Text(title), title_justify="left")
    for column in ("cell", "status", "node", "tries", "seconds", "cached", "engine / error"):
        table.add_column(column)
    for row in rows:
        seconds = time.time() - row.started if row.status == "running" else row.seconds
        table.add_row(row.cell, Text(row.status, STYLE.get(row.status, "")), row.node, str(row.tries or ""),
                      f"{seconds:.1f}" if seconds else "", row.cached, Text(row.error or row.engine))
    return table


def counts(rows: list[CellResult]) -> str:
    done = sum(r.status not in ("waiting", "running") for r in rows)
    running = sum(r.status == "running" for r in rows)
    return f"cells: {done} done, {running} running, {len(rows) - done - running} waiting"


class FarmView:
    def __init__(self, console: Console, live: bool):
        self.console, self.live = console, live
        self.rows: list[CellResult] = []
        self._live: Live | None = None
        self._shown: dict[str, str] = {}

    def start(self, rows: list[CellResult]) -> None:
        self.rows = rows
        if self.live:
            self._live = Live(self._render(), console=self.console, refresh_per_second=2, transient=True)
            self._live.start()

    def update(self) -> None:
        if self._live:
            self._live.update(self._render())
            return
        for index, row in enumerate(self.rows, 1):  # one line per change of a cell's status
            if self._shown.get(row.cell) != row.status:
                self._shown[row.cell] = row.status
                detail = f"  {row.error}" if row.error else f"  {row.seconds:.1f} s" if row.seconds else ""
                self.console.print(Text.assemble(f"[{index}/{len(self.rows)}] {row.cell} ",
                                                 (row.status, STYLE.get(row.status, "")), detail), highlight=False)

    def listener(self):
        """The stage view of a build running in this process."""
        from trtbuild.build.console import LiveProgress

        return LiveProgress(self.console)

    def stop(self) -> None:
        if self._live:
            self._live.stop()
            self._live = None

    def _render(self) -> Group:
        return Group(Text(counts(self.rows), style="bold"), summary(self.rows, "running"))
