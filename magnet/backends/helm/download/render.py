"""Terminal output of the command line: tables, the progress bar, plan and summary lines."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Sequence

from magnet.backends.helm.download.execute import DownloadResult, ProgressSink
from magnet.backends.helm.download.names import format_bytes
from magnet.backends.helm.download.plan import Plan


def console_for(file):
    """A rich console on *file*; never wraps when the output is not a terminal."""
    from rich.console import Console

    is_tty = hasattr(file, "isatty") and file.isatty()
    # Run names are long: never wrap them when the output is piped or captured.
    return Console(file=file, width=None if is_tty else 400, highlight=False, soft_wrap=not is_tty)


def make_table(title: str, columns: Sequence[str]):
    """A borderless rich table with a left-aligned title and folding columns."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


class RichProgress(ProgressSink):
    """A rich progress bar (bytes, speed, files done, time left) fed by :func:`~.execute.execute_plan`."""

    def __init__(self, console):
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]downloading"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TextColumn("{task.fields[files]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = None
        self.done = 0
        self.total_files = 0
        self._lock = threading.Lock()

    def start(self, total_bytes: int, total_files: int) -> None:
        self.total_files = total_files
        self.progress.start()
        self.task = self.progress.add_task("files", total=total_bytes,
                                           files=f"0/{total_files} files")

    def advance(self, nbytes: int) -> None:
        self.progress.update(self.task, advance=nbytes)

    def file_done(self) -> None:
        with self._lock:
            self.done += 1
            done = self.done
        self.progress.update(self.task, files=f"{done}/{self.total_files} files")

    def stop(self) -> None:
        self.progress.stop()


def print_missing(console, missing: dict[str, list[str]]) -> None:
    """Runs and suites lacking expected files (listed, not failed)."""
    if not missing:
        return
    table = make_table(f"Missing files ({len(missing)} runs or suites; listed, not failed)",
                       ["Run or suite", "Missing"])
    for key, names in missing.items():
        table.add_row(key, ", ".join(names))
    console.print(table)


def print_plan(console, plan: Plan, result: DownloadResult) -> None:
    """The dry-run table: files and bytes per run, suite-level and release-level files."""
    per_run: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    suite_level = [0, 0]
    other = [0, 0]
    for pf in plan.files:
        slot = per_run[pf.run.key] if pf.run else suite_level if pf.suite else other
        slot[0] += 1
        slot[1] += pf.obj.size
    table = make_table(f"Plan: {len(plan.runs)} runs, {len(plan.files)} files into {plan.dest}",
                       ["Run", "Files", "Bytes"])
    limit = 50
    for key, (count, size) in list(per_run.items())[:limit]:
        table.add_row(key, str(count), format_bytes(size))
    if len(per_run) > limit:
        table.add_row(f"... {len(per_run) - limit} more runs", "", "")
    if suite_level[0]:
        names = ", ".join(sorted({f"{pf.suite.benchmark}/{pf.suite.name}" for pf in plan.files if pf.suite}))
        table.add_row(f"suite-level files ({names})", str(suite_level[0]), format_bytes(suite_level[1]))
    if other[0]:
        names = ", ".join(f"{r.benchmark}/{r.name}" for r in plan.releases)
        table.add_row(f"release-level files ({names})", str(other[0]), format_bytes(other[1]))
    console.print(table)
    console.print(
        f"Dry run: {len(plan.files)} files, total {plan.total_bytes} bytes "
        f"({format_bytes(plan.total_bytes)}); {result.skipped} already present and verified; "
        f"would fetch {result.files_to_fetch} files, {result.bytes_to_fetch} bytes "
        f"({format_bytes(result.bytes_to_fetch)}). Nothing written."
    )
    print_missing(console, plan.missing)


def print_summary(console, result: DownloadResult) -> None:
    """One line of counts after a download, then what was missing."""
    console.print(
        f"Downloaded {result.downloaded} files ({result.resumed} resumed), "
        f"skipped {result.skipped} already verified, {len(result.failed)} failed; "
        f"transferred {result.bytes_transferred} bytes ({format_bytes(result.bytes_transferred)}) "
        f"into {result.plan.dest}"
        + (f"; {result.retries} retries" if result.retries else "")
    )
    print_missing(console, result.missing)
