"""Round trips through the service with the readers a data engineer uses: a file is uploaded,
ingested, exported in every format, and read back with pandas, polars, duckdb and pyarrow. Every
reader must get the file's own values, in the file's column order, with the types the
dataset's schema records (a Parquet column typed as its schema says; a JSON number a number).

The files: every CSV and JSON file shipped inside the vega_datasets package (written by
nobody here), and generated edge cases - UTF-16 with a BOM, cp1252 with smart quotes, 200
columns, ragged rows under each policy, a preamble, columns separated by runs of spaces.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datatasks.core.config import QueueName
from datatasks.exports.parquet import ARROW_TYPES
from datatasks.uploads.sniff import NULL_TOKENS
from tests.conftest import WaitJob, WorkerRunner
from tests.exports.test_export import export, fetch
from tests.uploads.test_types import dataset_schema
from tests.uploads.test_upload import upload

FORMATS = ("csv", "json", "ndjson", "parquet")
Table = tuple[list[str], list[list[Any]]]  # column names, and the rows' values


@dataclass
class Sample:
    """A file to upload, its form fields, and what it holds: the column names and rows (text
    cells, or None for a null; a JSON file's values as parsed)."""

    name: str
    content: bytes
    columns: list[str]
    rows: list[list[Any]]
    form: dict[str, str] = field(default_factory=dict)
    rejected: int = 0


def _vega(name: str) -> Sample:
    content = (resources.files("vega_datasets") / "_data" / name).read_bytes()
    if name.endswith(".json"):
        objects = json.loads(content)
        columns = list(dict.fromkeys(key for obj in objects for key in obj))
        return Sample(name, content, columns, [[o.get(c) for c in columns] for o in objects])
    return _csv_sample(name, content)


def _csv_sample(name: str, content: bytes, *, text: str | None = None, **form: str) -> Sample:
    """A CSV sample, its expected rows read by the csv module (null tokens as None)."""
    reader = csv.reader(io.StringIO(text or content.decode(), newline=""))
    header, *rows = [row for row in reader if row]
    cells = [[None if c in NULL_TOKENS else c for c in row] for row in rows]
    return Sample(name, content, header, cells, form=form)


VEGA = sorted(
    entry.name
    for entry in (resources.files("vega_datasets") / "_data").iterdir()
    if entry.name.endswith((".csv", ".json"))
)


GOOD = [["10", "11", "12"], ["13", "14", "15"]]  # the ragged sample's last rows


def _edge_cases() -> list[Sample]:
    quotes = "\u201cgrand\u201d caf\u00e9 n\u00b0{0} \u2013 na\u00efve,\u20ac{0}"
    smart = "id,quote,price\n" + "".join(f"{i},{quotes.format(i)}\n" for i in range(1, 41))
    short = "id,quote\n1,\u201cok\u201d\n"
    wide_header = [f"c{n}" for n in range(200)]
    wide_rows = [[str(r * n) for n in range(200)] for r in range(1, 6)]
    wide = "\n".join(",".join(row) for row in [wide_header, *wide_rows]) + "\n"
    ragged = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n13,14,15\n"
    typed = (
        "n,x,ok,day,at,local,code,empty\n"
        "1,1.5,true,2024-01-31,2024-01-01T10:00:00Z,2024-01-01 10:00,007,\n"
        "-2,NA,False,2024-02-29,2024-06-01T12:30:00+02:00,2024-01-01T23:59:59.5,010,NA\n"
        "3,-3e4,,,,,099,\n"
    )
    return [
        _csv_sample("utf-16 with BOM", smart.encode("utf-16"), text=smart),
        _csv_sample("cp1252 smart quotes", smart.encode("cp1252"), text=smart),  # detected
        # Too short to tell its encoding: declared.
        _csv_sample("cp1252 declared", short.encode("cp1252"), text=short, encoding="cp1252"),
        _csv_sample("200 columns", wide.encode()),
        _csv_sample("typed", typed.encode()),
        Sample(
            "ragged reject",
            ragged,
            ["a", "b", "c"],
            [["1", "2", "3"], *GOOD],
            rejected=2,
        ),
        Sample(
            "ragged pad",
            ragged,
            ["a", "b", "c"],
            [["1", "2", "3"], ["4", "5", None], *GOOD],
            form={"ragged": "pad"},
            rejected=1,
        ),
        Sample(
            "ragged truncate",
            ragged,
            ["a", "b", "c"],
            [["1", "2", "3"], ["4", "5", None], ["6", "7", "8"], *GOOD],
            form={"ragged": "truncate"},
        ),
        Sample(
            "preamble",
            b"Survey export\n# generated 2026-01-01\nid;city\n1;Oslo\n# note\n2;Troms\xc3\xb8\n",
            ["id", "city"],
            [["1", "Oslo"], ["2", "Tromsø"]],
            form={"skip_rows": "1", "comment": "#"},
        ),
        Sample(
            "runs of spaces",
            b"  id   name   score\n   1   Alma     3.5\n  22   Birte     10  \n",
            ["id", "name", "score"],
            [["1", "Alma", "3.5"], ["22", "Birte", "10"]],
        ),
    ]


SAMPLES = {name: _vega(name) for name in VEGA} | {s.name: s for s in _edge_cases()}


@pytest.fixture
async def loaded(
    request: pytest.FixtureRequest,
    client: httpx.AsyncClient,
    run_worker: WorkerRunner,
    wait_job: WaitJob,
) -> tuple[Sample, dict[str, Any], dict[str, bytes]]:
    """The sample uploaded and ingested: the ingest result and each format's export."""
    sample: Sample = SAMPLES[request.param]
    run_worker.start(queues=(QueueName.ingest, QueueName.export))
    response = await upload(client, sample.content, **sample.form)
    assert response.status_code == 202, response.text
    job = await wait_job(response.json()["job_id"], timeout=60)
    assert job["status"] == "completed", job["error"]
    exports = {}
    for fmt in FORMATS:
        status = await export(
            client,
            wait_job,
            format=fmt,
            dataset_id=job["result"]["dataset_id"],
            csv_formula_escape=False,  # a round trip wants the cells as they are
        )
        exports[fmt] = (await fetch(client, status["result"]["download_url"])).content
    return sample, job["result"], exports


def _readers(tmp: Path, exports: dict[str, bytes]) -> dict[str, Callable[[], Table]]:
    """Each reader of each export, as column names and rows of Python values."""
    paths = {}
    for fmt, content in exports.items():
        paths[fmt] = tmp / f"export.{fmt}"
        paths[fmt].write_bytes(content)

    def frame(df: pd.DataFrame) -> Table:
        rows = df.astype(object).where(df.notna(), None).values.tolist()
        return [str(c) for c in df.columns], rows

    def polars(df: pl.DataFrame) -> Table:
        return df.columns, [list(row) for row in df.iter_rows()]

    def duck(sql: str, path: Path) -> Table:
        result = duckdb.connect().execute(sql, [str(path)])
        return [d[0] for d in result.description], [list(r) for r in result.fetchall()]

    # CSV readers read text (each would guess types its own way, "007" a number): the values
    # must be the file's cells. The typed formats are read as they are.
    return {
        "pandas csv": lambda: frame(
            pd.read_csv(paths["csv"], dtype=str, keep_default_na=False, na_values=[""])
        ),
        "polars csv": lambda: polars(pl.read_csv(paths["csv"], infer_schema=False)),
        "duckdb csv": lambda: duck("SELECT * FROM read_csv(?, all_varchar = true)", paths["csv"]),
        "pandas json": lambda: frame(pd.read_json(paths["json"], dtype=False, precise_float=True)),
        "duckdb json": lambda: duck(
            # Columns, not one MAP, however many keys.
            "SELECT * FROM read_json(?, map_inference_threshold = -1)",
            paths["json"],
        ),
        # polars orders many keys its own way: the columns are taken in the first line's order.
        "polars ndjson": lambda: polars(
            pl.read_ndjson(paths["ndjson"], infer_schema_length=None).select(
                list(json.loads(exports["ndjson"].split(b"\n", 1)[0]))
            )
        ),
        "pandas ndjson": lambda: frame(
            pd.read_json(paths["ndjson"], lines=True, dtype=False, precise_float=True)
        ),
        "pyarrow parquet": lambda: (
            (t := pq.read_table(paths["parquet"])).column_names,
            [list(r.values()) for r in t.to_pylist()],
        ),
        "pandas parquet": lambda: frame(pd.read_parquet(paths["parquet"])),
        "polars parquet": lambda: polars(pl.read_parquet(paths["parquet"])),
        "duckdb parquet": lambda: duck("SELECT * FROM read_parquet(?)", paths["parquet"]),
    }


def _same(got: Any, want: Any, kind: str, typed: bool) -> bool:
    """Whether a reader's value is the file's `want` (a CSV's text cell, or a JSON value) in a
    column of type `kind`. `typed`: the reader's value must have the column's type (a number,
    not its digits; a day, not its text); otherwise it is text, as a CSV reader was asked."""
    if want is None:
        return got is None or (isinstance(got, float) and math.isnan(got))
    if got is None:
        return False
    if isinstance(want, (dict, list)):
        return bool((json.loads(got) if isinstance(got, str) else got) == want)
    if not typed and isinstance(want, str):
        return bool(got == want)  # a CSV's cell, written as the file had it
    if isinstance(want, bool) or kind == "boolean":
        truth = want if isinstance(want, bool) else want.lower() == "true"
        return (got is truth) if typed else got == str(truth).lower()
    if isinstance(want, (int, float)) or kind in ("integer", "float"):
        if typed and kind in ("integer", "float") and not _is_number(got):
            return False
        return (_is_number(got) or isinstance(got, str)) and float(got) == float(want)
    if isinstance(got, dt.date) and kind in ("string", "json"):
        kind = "datetime" if isinstance(got, dt.datetime) else "date"  # duckdb reads ISO text so
    if not typed or kind in ("string", "null", "json"):
        return bool(got == want)
    if kind == "date":
        day = got.date() if isinstance(got, dt.datetime) else got
        return type(day) is dt.date and day == dt.date.fromisoformat(want)
    moment = dt.datetime.fromisoformat(want)
    aware = moment.tzinfo is not None
    return isinstance(got, dt.datetime) and (got.tzinfo is not None) == aware and got == moment


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@pytest.mark.parametrize("loaded", list(SAMPLES), indirect=True)
async def test_every_reader_gets_the_files_values_and_types_back(
    loaded: tuple[Sample, dict[str, Any], dict[str, bytes]],
    tmp_path: Path,
    sessionmaker: Any,
) -> None:
    sample, result, exports = loaded
    assert (result["rows"], result["rejected"]) == (len(sample.rows), sample.rejected)
    schema = await dataset_schema(sessionmaker, result["dataset_id"])
    assert [f["name"] for f in schema] == sample.columns, "the file's column order"
    kinds = [f["type"] for f in schema]

    parquet = pq.read_schema(io.BytesIO(exports["parquet"]))
    assert parquet.names == sample.columns
    for name, kind, arrow in zip(sample.columns, kinds, parquet.types, strict=True):
        assert arrow == ARROW_TYPES.get(kind, pa.string()), (name, kind)

    for reader, read in _readers(tmp_path, exports).items():
        columns, rows = read()
        assert columns == sample.columns, reader
        assert len(rows) == len(sample.rows), reader
        # CSV readers were asked for text; a JSON reader's strings stay strings (dates too).
        typed = "csv" not in reader
        for line, (got_row, want_row) in enumerate(zip(rows, sample.rows, strict=True)):
            for name, kind, got, want in zip(columns, kinds, got_row, want_row, strict=True):
                if reader.endswith("json") and kind in ("date", "datetime", "naive_datetime"):
                    kind = "string"  # JSON has no type for days and moments
                assert _same(got, want, kind, typed), (reader, line, name, kind, got, want)


def test_the_samples_are_real_files_in_each_format() -> None:
    assert len(VEGA) >= 12
    assert {name.rsplit(".", 1)[1] for name in VEGA} == {"csv", "json"}
    assert SAMPLES["utf-16 with BOM"].content.startswith(codecs.BOM_UTF16)
