"""A progress bar for table loads, in bytes of JSON parsed.

Loading a big suite (a 10,000-run ``per_instance_stats`` builds in ~16 s)
shows a transient rich bar on the terminal: bytes parsed of bytes to parse,
elapsed and remaining time. Nothing is shown when only the cache is read,
when there is little to parse (below :data:`PROGRESS_MIN_BYTES`, unless
asked for), or when stderr is not a terminal (logs and pipes stay clean).

Example:
    >>> import io
    >>> from rich.console import Console
    >>> console = Console(file=io.StringIO(), force_terminal=True)
    >>> bar = LoadProgress("stats", want=True, console=console)
    >>> bar.add(2_000)
    >>> bar.advance(1_500); bar.advance(500)
    >>> bar.close()
    >>> bar.completed, bar.total, bar.shown
    (2000, 2000, True)
    >>> quiet = LoadProgress("stats", want=None, console=console)
    >>> quiet.add(10_000); quiet.close()     # too little to parse for a bar
    >>> quiet.shown
    False
"""

from __future__ import annotations

#: With ``progress=None`` (the default) a bar appears when at least this many bytes are to be parsed.
PROGRESS_MIN_BYTES = 64 * 1024 * 1024


class LoadProgress:
    """Counts bytes parsed for one table load and shows them as a bar when worth it.

    ``want``: True (always show on a terminal), False (never) or None (when the
    bytes to parse reach :data:`PROGRESS_MIN_BYTES`). Thread-safe enough for
    updates from the loading thread; not picklable (stays in the parent process).
    """

    def __init__(self, label: str, want: bool | None = None, console=None):
        self.label = label
        self.want = want
        self.console = console
        self.total = 0
        self.completed = 0
        self.shown = False
        self._bar = None
        self._task = None

    def add(self, nbytes: int) -> None:
        """More bytes to parse (one suite's changed runs); starts the bar when they make it worth showing."""
        self.total += nbytes
        if self._bar is not None:
            self._bar.update(self._task, total=self.total)
        elif self.want is not False and (self.want or self.total >= PROGRESS_MIN_BYTES):
            self._start()

    def advance(self, nbytes: int) -> None:
        """Bytes just parsed."""
        self.completed += nbytes
        if self._bar is not None:
            self._bar.update(self._task, completed=self.completed)

    def close(self) -> None:
        """Remove the bar (it is transient)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        console = self.console or Console(stderr=True)
        if not console.is_terminal:
            return
        self._bar = Progress(TextColumn(f"loading {self.label}"), BarColumn(), DownloadColumn(),
                             TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True)
        self._task = self._bar.add_task(self.label, total=self.total, completed=self.completed)
        self._bar.start()
        self.shown = True
