"""How the client commands show jobs: progress on stderr (so stdout stays what a script reads),
status documents and job lists as rich tables, and the one-line summary of a finished job."""

from __future__ import annotations

import os
import time
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx
from rich.console import Console, Group, RenderableType
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from datatasks.client.api import JSON

# What each job type's progress counts (an ingest counts the bytes of the file it has read).
_UNITS = {"generate": "records", "ingest": "bytes", "export": "rows", "erase": "records"}
_PIPE_WIDTH = 200
# The jobs table's columns fit in this many; a narrower console gets a line per job.
_TABLE_WIDTH = 120
_STYLES = {
    "completed": "green",
    "failed": "red",
    "cancelled": "yellow",
    "in_progress": "cyan",
    "pending": "dim",
}


def amount(done: int, total: int, unit: str) -> str:
    """`350,000/1,000,000 records`, `1.2 MB/4.0 MB`; only `done` when the total is unknown."""
    if unit == "bytes":
        return decimal(done) + (f"/{decimal(total)}" if total else "")
    counted = f"{done:,}" + (f"/{total:,}" if total else "")
    return f"{counted} {unit}".rstrip()


def _progress(document: JSON) -> tuple[int, int, float]:
    progress = document.get("progress") or {}
    return (
        int(progress.get("done") or 0),
        int(progress.get("total") or 0),
        float(progress.get("percent") or 0.0),
    )


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def local_time(value: Any) -> str:
    """An ISO timestamp from the service, in this machine's time zone."""
    when = _when(value)
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else ""


def seconds(document: JSON) -> float | None:
    """From the request to the end: what the wait cost, queueing included."""
    created, finished = _when(document.get("created_at")), _when(document.get("finished_at"))
    if created is None or finished is None:
        return None
    return (finished - created).total_seconds()


def short(job_id: str) -> str:
    return job_id[:8]


class JobDisplay:
    """A job's progress while a command waits: a live bar on a terminal, otherwise (a log, a
    pipe) a line when the status changes and at most one every `every` seconds besides."""

    def __init__(self, console: Console, job_id: str, *, every: float = 10.0) -> None:
        self.console = console
        self.job_id = job_id
        self.every = every
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._said: tuple[str, float] = ("", 0.0)

    def __enter__(self) -> JobDisplay:
        if self.console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[percent]}"),
                TextColumn("{task.fields[amount]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                f"job {short(self.job_id)} pending", total=None, percent="", amount=""
            )
        else:
            self.console.print(f"waiting for job {self.job_id}", highlight=False)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, document: JSON) -> None:
        status = str(document.get("status", "?"))
        done, total, percent = _progress(document)
        unit = _UNITS.get(str(document.get("type", "")), "")
        counted = amount(done, total, unit)
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                description=f"{document.get('type', 'job')} {short(self.job_id)} {status}",
                total=total or None,
                completed=min(done, total) if total else done,
                percent=f"{percent:.1f}%" if total else "",
                amount=counted,
            )
            return
        now = time.monotonic()
        last_status, last_at = self._said
        if status != last_status or now - last_at >= self.every:
            shown = f" {percent:.1f}%" if total else ""
            self.console.print(f"job {self.job_id} {status}{shown} ({counted})", highlight=False)
            self._said = (status, now)


class TransferDisplay:
    """Bytes going to or coming from the service, on a terminal only (a log needs no bar)."""

    def __init__(self, console: Console, what: str, total: int | None = None) -> None:
        self.console = console
        self.what = what
        self.total = total
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._done = 0

    def __enter__(self) -> TransferDisplay:
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.what, total=self.total)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, size: int) -> None:
        """`size` more bytes moved."""
        self._done += size
        self.at(self._done, self.total)

    def at(self, done: int, total: int | None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, total=total)


def summary(document: JSON) -> str:
    """One line on what a completed job made."""
    result = document.get("result") or {}
    took = seconds(document)
    head = "completed" + (f" in {took:.1f} s" if took is not None else "")
    kind = document.get("type")
    if kind == "generate":
        rows = int(result.get("rows") or 0)
        rate = f", {rows / took:,.0f} records/s" if took else ""
        return (
            f"{head}: dataset {result.get('dataset_id')}, {rows:,} records"
            f" (seed {result.get('seed')}{rate})"
        )
    if kind == "ingest":
        return (
            f"{head}: dataset {result.get('dataset_id')}, {int(result.get('rows') or 0):,}"
            f" records, {int(result.get('rejected') or 0):,} rejected"
            f" ({result.get('format')}, {decimal(int(result.get('bytes') or 0))},"
            f" {result.get('encoding')})"
        )
    if kind == "export":
        return (
            f"{head}: {int(result.get('rows') or 0):,} rows from"
            f" {int(result.get('datasets_read') or 0)} dataset(s),"
            f" {decimal(int(result.get('bytes') or 0))} {result.get('format')}"
            f" ({result.get('filename')})"
        )
    if kind == "erase":
        return (
            f"{head}: dataset {result.get('dataset_id')} erased,"
            f" {int(result.get('rows') or 0):,} records, {decimal(int(result.get('bytes') or 0))}"
        )
    return head


def failure(document: JSON) -> str:
    """Why a job did not complete, in one line."""
    job = f"job {document.get('id')}"
    if document.get("status") == "cancelled":
        return f"{job} was cancelled"
    error = document.get("error") or {}
    message = error.get("message") or "no error message"
    where = error.get("type") or "error"
    if error.get("attempt") is not None:
        where += f", attempt {error['attempt']}"
    return f"{job} failed: {message} ({where})"


# The parameters that say what a job is; the others (CSV options and the like) are in --json.
_PARAMS = (
    "record_type",
    "count",
    "seed",
    "locale",
    "dataset_name",
    "dataset_id",
    "format",
    "compression",
    "fields",
    "size",
    "encoding",
    "filename",
)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} item(s)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def status_table(document: JSON, *, base_url: str | None = None) -> Table:
    """A status document as a two-column table: the state first, then the result (its links
    made absolute against `base_url`) and what was asked (the rest: --json)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    status = str(document.get("status", ""))
    done, total, percent = _progress(document)
    unit = _UNITS.get(str(document.get("type", "")), "")
    took = seconds(document)
    rows: list[tuple[str, Text | str]] = [
        ("job", str(document.get("id", ""))),
        ("type", str(document.get("type", ""))),
        ("status", Text(status, style=_STYLES.get(status, ""))),
        ("progress", f"{percent:.1f}%  {amount(done, total, unit)}"),
        ("attempts", str(document.get("attempts", ""))),
        ("created", local_time(document.get("created_at"))),
        ("started", local_time(document.get("started_at"))),
        (
            "finished",
            local_time(document.get("finished_at"))
            + (f"  ({took:.1f} s after it was created)" if took is not None else ""),
        ),
    ]
    if error := document.get("error"):
        rows.append(("error", Text(_value(error), style="red")))
    for name, value in (document.get("result") or {}).items():
        if value not in (None, [], {}):
            shown = _value(value)
            if name.endswith("_url") and base_url is not None:
                shown = str(httpx.URL(base_url + "/").join(shown))
            rows.append((f"result.{name}", shown))
    params = document.get("params") or {}
    for name in _PARAMS:
        if params.get(name) not in (None, [], {}):
            rows.append((f"params.{name}", _value(params[name])))
    for name, value in rows:
        table.add_row(name, value if isinstance(value, Text) else Text(value))
    return table


def jobs_table(items: list[JSON], width: int) -> RenderableType:
    """A page of jobs: what each is, how far it got, and why it failed. Narrower than a full
    table fits, each job is a line, with its error on the next."""
    rows = [_job_row(item) for item in items]
    if width < _TABLE_WIDTH:
        lines: list[Text] = []
        for (job, kind, status, progress, created), error in rows:
            head = Text.assemble(
                job, "  ", kind.plain.ljust(10), status, " " * max(1, 12 - len(status)), progress
            )
            head.no_wrap, head.overflow = True, "ellipsis"
            lines.append(head)
            lines.append(Text.assemble("  created ", created, *(("  ", error) if error else ())))
        return Group(*lines)
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("progress", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("error", overflow="fold")
    for cells, error in rows:
        table.add_row(*cells, error)
    return table


def _job_row(item: JSON) -> tuple[list[Text], Text]:
    status = str(item.get("status", ""))
    done, total, percent = _progress(item)
    unit = _UNITS.get(str(item.get("type", "")), "")
    error = (item.get("error") or {}).get("message") or ""
    return [
        Text(str(item.get("id", ""))),
        Text(str(item.get("type", ""))),
        Text(status, style=_STYLES.get(status, "")),
        Text(f"{percent:.1f}%" if total else amount(done, 0, unit)),
        Text(local_time(item.get("created_at"))[:16]),
    ], Text(error, style="red")


def console(*, stderr: bool = False) -> Console:
    """A console on the stream as it is now (a test runner swaps them per invocation). A pipe
    or a file has no width: rows are not wrapped at 80 there, so grep finds whole rows."""
    shown = Console(stderr=stderr, highlight=False)
    if not shown.is_terminal and "COLUMNS" not in os.environ:
        shown.width = _PIPE_WIDTH
    return shown
