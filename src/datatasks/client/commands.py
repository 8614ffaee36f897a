"""The client commands of `datatasks`: queue work on a running service, follow it to its end,
and fetch what it made. Progress and errors go to stderr, so stdout holds only what a script
reads: the job id, then (when waiting) the summary, a link or a path; or, with --json, the
service's document."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from datatasks.client import render
from datatasks.client.api import (
    DEFAULT_URL,
    JSON,
    ApiClient,
    ClientError,
    Problem,
)
from datatasks.client.events import Follower

API_KEY_ENV = "DATATASKS_API_KEY"
INTERRUPTED = 130
EXIT_CODES = (
    "Exit status: 0 done; 1 a job waited for failed or was cancelled (or its file could "
    "not be saved); 2 a usage error; "
    "3 the service refused the request (its problem on stderr); 4 the service could not be "
    "reached; 130 interrupted (a job keeps running)."
)


class Interrupted(ClientError):
    exit_code = INTERRUPTED


class Format(StrEnum):
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    parquet = "parquet"


@dataclass(frozen=True, slots=True)
class Connection:
    """The global --url and --timeout; a command's own, when given, win."""

    url: str = DEFAULT_URL
    timeout: float = 30.0


Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        help=f"The service's base URL (default: the global --url, $DATATASKS_URL, {DEFAULT_URL}).",
        show_default=False,
    ),
]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        help="Seconds to wait for each answer from the service (default: the global one, 30).",
        show_default=False,
    ),
]
AsJson = Annotated[
    bool, typer.Option("--json", help="Print the service's JSON document instead of a summary.")
]
Wait = Annotated[
    bool, typer.Option("--wait", "-w", help="Follow the job to its end, with a progress bar.")
]
IdempotencyKey = Annotated[
    str | None,
    typer.Option(
        help="Sent as Idempotency-Key: the same key and request again return the same job."
    ),
]


def options(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Option(
            "--url", envvar="DATATASKS_URL", help="Where the service is, for client commands."
        ),
    ] = DEFAULT_URL,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=0.1, help="Seconds to wait for each answer from the service."
        ),
    ] = 30.0,
) -> None:
    """The global options, kept for the client command that follows."""
    ctx.obj = Connection(url, timeout)


def register(app: typer.Typer, *, panel: str) -> None:
    """Add the client commands, and the global options they read, to `app`."""
    app.callback(epilog=EXIT_CODES)(options)
    for name, command in (
        ("generate", generate),
        ("upload", upload),
        ("export", export),
        ("status", status),
        ("jobs", jobs),
    ):
        app.command(name, rich_help_panel=panel, epilog=EXIT_CODES)(command)


# -- plumbing -----------------------------------------------------------------------------------


def _client(ctx: typer.Context, url: str | None, timeout: float | None) -> ApiClient:
    base = ctx.find_object(Connection) or Connection()
    chosen = url or base.url
    if not chosen.startswith(("http://", "https://")):
        raise typer.BadParameter(
            f"{chosen!r} is not an http:// or https:// URL", param_hint="--url"
        )
    return ApiClient(
        chosen,
        api_key=os.environ.get(API_KEY_ENV) or None,
        timeout=timeout or base.timeout,
    )


@contextmanager
def _reported() -> Iterator[None]:
    """A command's failures as a message on stderr and its exit status, never a traceback."""
    try:
        yield
    except ClientError as exc:
        typer.echo(f"datatasks: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("datatasks: interrupted", err=True)
        raise typer.Exit(INTERRUPTED) from None


def _print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _wait(api: ApiClient, job_id: str) -> JSON:
    """The job's final status document, its progress shown meanwhile. Ctrl-C leaves the job
    running (only the client stops), so say which job it was."""
    err = render.console(stderr=True)

    def polling() -> None:
        err.print(
            "note: the service has no event stream (GET /status/{id}/events); polling its status",
            highlight=False,
            markup=False,
        )

    follower = Follower(api, on_fallback=polling)
    try:
        with render.JobDisplay(err, job_id) as display:
            return follower.follow(job_id, display.update)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: job {job_id} keeps running on the service;"
            f" follow it with `datatasks status {job_id} --watch`"
        ) from None


def _ended(document: JSON, *, as_json: bool) -> None:
    """Show a waited-for job's end; one that did not complete ends the command with 1."""
    if as_json:
        _print_json(document)
    if document.get("status") != "completed":
        typer.echo(f"datatasks: {render.failure(document)}", err=True)
        raise typer.Exit(1)
    if not as_json:
        typer.echo(render.summary(document))


def _load_json(path: Path, *, hint: str) -> Any:
    """A JSON file given on the command line ("-": stdin); unreadable is a usage error."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint=hint) from None
    except ValueError as exc:
        raise typer.BadParameter(f"{path} is not JSON: {exc}", param_hint=hint) from None


def _json_option(value: str | None, kind: type, hint: str) -> str | None:
    """A JSON-valued option, checked here so a typo is not a round trip; sent compact."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint=hint) from None
    if not isinstance(parsed, kind):
        raise typer.BadParameter(f"must be a JSON {kind.__name__}", param_hint=hint)
    return json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)


def _given(**values: Any) -> JSON:
    return {name: value for name, value in values.items() if value is not None}


# -- commands -----------------------------------------------------------------------------------


def generate(
    ctx: typer.Context,
    schema: Annotated[
        Path,
        typer.Argument(
            help="A POST /generate body as JSON (or just its `fields` list); - reads stdin.",
            metavar="SCHEMA",
            allow_dash=True,
            show_default=False,
        ),
    ],
    count: Annotated[int | None, typer.Option("--count", "-n", min=1, help="Records.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Same seed, same records.")] = None,
    record_type: Annotated[str | None, typer.Option(help="The records' type.")] = None,
    dataset_name: Annotated[str | None, typer.Option(help="A name for the dataset.")] = None,
    locale: Annotated[str | None, typer.Option(help="For example de, en-GB, ja.")] = None,
    wait: Wait = False,
    as_json: AsJson = False,
    idempotency_key: IdempotencyKey = None,
    url: Url = None,
    timeout: Timeout = None,
) -> None:
    """Queue a synthetic dataset; options override the body's keys."""
    loaded = _load_json(schema, hint="SCHEMA")
    body: JSON = {"fields": loaded} if isinstance(loaded, list) else loaded
    if not isinstance(body, dict):
        raise typer.BadParameter("expected a JSON object or a list of fields", param_hint="SCHEMA")
    body = {
        **body,
        **_given(
            count=count,
            seed=seed,
            record_type=record_type,
            dataset_name=dataset_name,
            locale=locale,
        ),
    }
    with _reported(), _client(ctx, url, timeout) as api:
        accepted = api.generate(body, idempotency_key=idempotency_key)
        _queued(api, accepted, wait=wait, as_json=as_json)


def _queued(api: ApiClient, accepted: JSON, *, wait: bool, as_json: bool) -> JSON | None:
    """Say which job a request queued; with `wait`, follow it and show how it ended."""
    job_id = str(accepted["job_id"])
    if not wait:
        if as_json:
            _print_json(accepted)
        else:
            typer.echo(job_id)
        return None
    if not as_json:
        typer.echo(job_id)
    document = _wait(api, job_id)
    _ended(document, as_json=as_json)
    return document


def upload(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="A CSV, JSON array or NDJSON file; streamed, never read into memory.",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            show_default=False,
        ),
    ],
    record_type: Annotated[str | None, typer.Option(help="The records' type (upload).")] = None,
    dataset_name: Annotated[str | None, typer.Option(help="A name for the dataset.")] = None,
    encoding: Annotated[
        str | None, typer.Option(help="The file's text encoding (found from it if absent).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV: one character, or `spaces` (sniffed if absent).")
    ] = None,
    quotechar: Annotated[str | None, typer.Option(help='CSV: the quote character (").')] = None,
    header: Annotated[
        bool | None,
        typer.Option(
            "--header/--no-header",
            help="CSV: whether the first row names the columns (it does).",
            show_default=False,
        ),
    ] = None,
    ragged: Annotated[
        str | None,
        typer.Option(help="CSV rows of another width: reject, pad (short ones) or truncate."),
    ] = None,
    skip_rows: Annotated[
        int | None, typer.Option(min=0, help="CSV: lines before the header to skip.")
    ] = None,
    comment: Annotated[
        str | None, typer.Option(help="CSV: lines starting with this are skipped.")
    ] = None,
    null_values: Annotated[
        str | None,
        typer.Option(help='CSV: a JSON array of the cells read as null, e.g. \'["NA", "-"]\'.'),
    ] = None,
    schema: Annotated[
        str | None,
        typer.Option(
            help='CSV: a JSON object of column to type, e.g. \'{"age": "integer"}\'; the '
            "other columns' types are inferred."
        ),
    ] = None,
    wait: Wait = False,
    as_json: AsJson = False,
    idempotency_key: IdempotencyKey = None,
    url: Url = None,
    timeout: Timeout = None,
) -> None:
    """Upload a file; an ingest job loads it into a new dataset."""
    form = _given(
        record_type=record_type,
        dataset_name=dataset_name,
        encoding=encoding,
        delimiter=delimiter,
        quotechar=quotechar,
        header=None if header is None else str(header).lower(),
        ragged=ragged,
        skip_rows=None if skip_rows is None else str(skip_rows),
        comment=comment,
        null_values=_json_option(null_values, list, "--null-values"),
        schema=_json_option(schema, dict, "--schema"),
    )
    err = render.console(stderr=True)
    with _reported(), _client(ctx, url, timeout) as api:
        size = file.stat().st_size
        with render.TransferDisplay(err, f"uploading {file.name}", total=size) as shown:
            try:
                accepted = api.upload(
                    file, form, idempotency_key=idempotency_key, on_sent=shown.advance
                )
            except KeyboardInterrupt:
                raise Interrupted(
                    "interrupted: the upload stopped; the service keeps nothing of a file"
                    " it did not receive whole"
                ) from None
        _queued(api, accepted, wait=wait, as_json=as_json)


_SUFFIXES = {
    ".csv": Format.csv,
    ".json": Format.json,
    ".ndjson": Format.ndjson,
    ".jsonl": Format.ndjson,
    ".parquet": Format.parquet,
}


def _format_of(path: Path) -> tuple[Format | None, bool]:
    """The format a file name implies, and whether it says gzip (`.csv.gz`)."""
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    return (_SUFFIXES.get(suffixes[-1]) if suffixes else None), gzipped


def export(
    ctx: typer.Context,
    dataset: Annotated[
        list[str] | None,
        typer.Option("--dataset", "-d", help="Export this dataset's records.", show_default=False),
    ] = None,
    file_format: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="The file's format (default: from -o's name, as in out.csv.gz).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Wait for the export and download it here (a directory: under its own name). "
            "The file appears whole or not at all.",
            show_default=False,
        ),
    ] = None,
    record_type: Annotated[str | None, typer.Option(help="Records of this type.")] = None,
    fields: Annotated[
        str | None, typer.Option(help="Comma-separated fields to keep, in this order.")
    ] = None,
    compression: Annotated[
        str | None, typer.Option(help="none, gzip; Parquet also snappy, zstd.")
    ] = None,
    created_from: Annotated[
        str | None, typer.Option("--from", help="Records created at or after (ISO 8601, zoned).")
    ] = None,
    created_to: Annotated[
        str | None, typer.Option("--to", help="Records created before (ISO 8601, zoned).")
    ] = None,
    include_incomplete: Annotated[
        bool, typer.Option(help="Also read datasets whose job has not completed.")
    ] = False,
    filename: Annotated[str | None, typer.Option(help="The download's name.")] = None,
    body_file: Annotated[
        Path | None,
        typer.Option(
            "--body",
            help="A POST /export body as JSON (masks, CSV options, ...); options override it.",
            allow_dash=True,
            show_default=False,
        ),
    ] = None,
    wait: Wait = False,
    as_json: AsJson = False,
    idempotency_key: IdempotencyKey = None,
    url: Url = None,
    timeout: Timeout = None,
) -> None:
    """Export records to CSV, JSON, NDJSON or Parquet; with -o, wait and download the file."""
    body: JSON = {}
    if body_file is not None:
        loaded = _load_json(body_file, hint="--body")
        if not isinstance(loaded, dict):
            raise typer.BadParameter("expected a JSON object", param_hint="--body")
        body = loaded
    if dataset and len(dataset) > 1:
        # POST /export filters by one dataset_id (or a record type, a time range).
        raise typer.BadParameter(
            "the service exports one dataset per request; run one export per dataset, "
            "or select them with --record-type",
            param_hint="--dataset",
        )
    if output is not None and not (output.is_dir() or output.parent.is_dir()):
        raise typer.BadParameter(f"{output.parent} is not a directory", param_hint="-o")
    implied, gzipped = _format_of(output) if output is not None else (None, False)
    chosen = file_format or body.get("format") or implied
    if chosen is None:
        raise typer.BadParameter(
            "give --format, or an -o file name that says it", param_hint="--format"
        )
    if compression is None and gzipped and "compression" not in body:
        compression = "gzip"
    body = {
        **body,
        **_given(
            format=str(chosen),
            dataset_id=dataset[0] if dataset else None,
            record_type=record_type,
            fields=[f.strip() for f in fields.split(",") if f.strip()] if fields else None,
            compression=compression,
            created_from=created_from,
            created_to=created_to,
            filename=filename,
        ),
    }
    if include_incomplete:
        body["include_incomplete"] = True
    with _reported(), _client(ctx, url, timeout) as api:
        accepted = api.export(body, idempotency_key=idempotency_key)
        if output is None:
            document = _queued(api, accepted, wait=wait, as_json=as_json)
            if document is not None and not as_json:
                typer.echo(api.absolute(str(document["result"]["download_url"])))
            return
        job_id = str(accepted["job_id"])
        if not as_json:
            typer.echo(job_id)
        document = _wait(api, job_id)
        if document.get("status") != "completed":
            _ended(document, as_json=as_json)
        saved = _download(api, document, output)
        if as_json:
            _print_json(document)
        else:
            typer.echo(render.summary(document))
            typer.echo(f"saved {saved}")


def _download(api: ApiClient, document: JSON, output: Path) -> Path:
    """The export's file at `output`, checked against its sha256; a link that expired since
    the job finished is renewed once."""
    job_id = str(document["id"])
    result = document["result"]
    dest = output / str(result["filename"]) if output.is_dir() else output
    err = render.console(stderr=True)
    link = str(result["download_url"])
    for attempt in (1, 2):
        try:
            with render.TransferDisplay(err, f"downloading {dest.name}") as shown:
                api.download(link, dest, sha256=result.get("sha256"), on_progress=shown.at)
            return dest
        except Problem as exc:
            if exc.status != 403 or attempt == 2:
                raise
            link = str(api.new_link(job_id)["download_url"])
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: nothing was saved; export {job_id} is done on the service"
                f" (`datatasks status {job_id}` shows its link)"
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def status(
    ctx: typer.Context,
    job_id: Annotated[
        str, typer.Argument(help="The job's id.", metavar="JOB_ID", show_default=False)
    ],
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Follow the job until it ends.")
    ] = False,
    as_json: AsJson = False,
    url: Url = None,
    timeout: Timeout = None,
) -> None:
    """Show a job's status, progress, result and error."""
    with _reported(), _client(ctx, url, timeout) as api:
        document = _wait(api, job_id) if watch else api.status(job_id)
        if as_json:
            _print_json(document)
        else:
            render.console().print(render.status_table(document, base_url=api.base_url))
        if watch and document.get("status") != "completed":
            typer.echo(f"datatasks: {render.failure(document)}", err=True)
            raise typer.Exit(1)


def jobs(
    ctx: typer.Context,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only failed jobs (the dead-letter list).")
    ] = False,
    job_status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="pending, in_progress, completed, failed or cancelled.",
            show_default=False,
        ),
    ] = None,
    job_type: Annotated[
        str | None,
        typer.Option("--type", help="generate, ingest, export or erase.", show_default=False),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, max=500, help="At most this many (the service's default: 50)."),
    ] = None,
    cursor: Annotated[
        str | None, typer.Option(help="The next page, as the previous one said.")
    ] = None,
    as_json: AsJson = False,
    url: Url = None,
    timeout: Timeout = None,
) -> None:
    """List jobs, newest first."""
    if failed and job_status not in (None, "failed"):
        raise typer.BadParameter(
            f"--failed contradicts --status {job_status}", param_hint="--failed"
        )
    with _reported(), _client(ctx, url, timeout) as api:
        page = api.jobs(
            status="failed" if failed else job_status,
            job_type=job_type,
            limit=limit,
            cursor=cursor,
        )
        items = page.get("items") or []
        if as_json:
            _print_json(page)
        elif items:
            out = render.console()
            out.print(render.jobs_table(items, out.width))
        else:
            typer.echo("no jobs", err=True)
        if page.get("next_cursor") and not as_json:
            typer.echo(f"more: add --cursor {page['next_cursor']}", err=True)
