"""CSV dialect options of an upload: delimiter (runs of spaces too), quotechar, header, ragged
rows, null values, a declared schema; the warning for a file read as one column; and a 422
naming each bad option."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from datatasks.core.config import QueueName
from datatasks.core.db import SessionMaker
from tests.conftest import WaitJob, WorkerRunner
from tests.uploads.test_upload import dataset_rows, upload


async def ingested(
    client: httpx.AsyncClient,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    content: bytes,
    **form: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    response = await upload(client, content, **form)
    assert response.status_code == 202, response.text
    job = await wait_job(response.json()["job_id"])
    return job["result"], await dataset_rows(sessionmaker, job["result"]["dataset_id"])


@pytest.fixture
async def worker(run_worker: WorkerRunner) -> None:
    run_worker.start(queues=(QueueName.ingest,))


RAGGED = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n13,14,15\n"
GOOD = [{"a": "10", "b": "11", "c": "12"}, {"a": "13", "b": "14", "c": "15"}]


@pytest.mark.parametrize(
    ("ragged", "rows", "rejected"),
    [
        ("reject", [{"a": "1", "b": "2", "c": "3"}, *GOOD], 2),
        ("pad", [{"a": "1", "b": "2", "c": "3"}, {"a": "4", "b": "5", "c": None}, *GOOD], 1),
        (
            "truncate",
            [
                {"a": "1", "b": "2", "c": "3"},
                {"a": "4", "b": "5", "c": None},
                {"a": "6", "b": "7", "c": "8"},
                *GOOD,
            ],
            0,
        ),
    ],
)
@pytest.mark.usefixtures("worker")
async def test_ragged_rows_under_each_policy(
    client: httpx.AsyncClient,
    wait_job: WaitJob,
    sessionmaker: SessionMaker,
    ragged: str,
    rows: list[dict[str, Any]],
    rejected: int,
) -> None:
    result, loaded = await ingested(client, wait_job, sessionmaker, RAGGED, ragged=ragged)
    assert loaded == rows
    assert result["rejected"] == rejected


@pytest.mark.usefixtures("worker")
async def test_a_declared_delimiter_quotechar_and_no_header(
    client: httpx.AsyncClient, wait_job: WaitJob, sessionmaker: SessionMaker
) -> None:
    content = b"1|'a|b'|x\n2|'it''s'|y\n"
    result, loaded = await ingested(
        client, wait_job, sessionmaker, content, delimiter="|", quotechar="'", header="false"
    )
    assert loaded == [
        {"column_1": "1", "column_2": "a|b", "column_3": "x"},
        {"column_1": "2", "column_2": "it's", "column_3": "y"},
    ]
    assert result["warnings"] == []


@pytest.mark.usefixtures("worker")
async def test_a_preamble_and_comment_lines_are_skipped_and_lines_keep_their_numbers(
    client: httpx.AsyncClient, wait_job: WaitJob, sessionmaker: SessionMaker
) -> None:
    content = (
        b"# Data source: the 2026 survey\nExported by a spreadsheet\n"
        b"id;city\n1;Oslo\n# a note in the middle\n2;Bergen;extra\n3;Troms\xc3\xb8\n"
    )
    result, loaded = await ingested(
        client, wait_job, sessionmaker, content, skip_rows="2", comment="#"
    )
    assert loaded == [{"id": "1", "city": "Oslo"}, {"id": "3", "city": "Tromsø"}]
    assert result["rejected_sample"][0]["line"] == 6, "numbered as in the file"


@pytest.mark.usefixtures("worker")
async def test_a_file_read_as_one_column_warns_and_says_how_to_fix_it(
    client: httpx.AsyncClient, wait_job: WaitJob, sessionmaker: SessionMaker
) -> None:
    # Two words a line, single spaces: as likely a column of names as two columns.
    content = b"'OBS' 'GPA'\n1 3.2\n2 3.8\n"
    result, _ = await ingested(client, wait_job, sessionmaker, content)
    (warning,) = result["warnings"]
    assert "one column named \"'OBS' 'GPA'\"" in warning
    assert "`delimiter` form field" in warning


@pytest.mark.usefixtures("worker")
async def test_columns_separated_by_runs_of_spaces_are_found_with_their_quotes(
    client: httpx.AsyncClient, wait_job: WaitJob, sessionmaker: SessionMaker
) -> None:
    # As statsmodels' sample data has it, and a right-aligned listing.
    quoted = b"'OBS' 'GPA' 'TUCE' 'PSI'\n1 2.66 20 0\n2 2.89 22 0   \n3 3.28 24 1\n"
    result, loaded = await ingested(client, wait_job, sessionmaker, quoted)
    assert result["warnings"] == []
    assert loaded[1] == {"OBS": "2", "GPA": "2.89", "TUCE": "22", "PSI": "0"}
    aligned = b"  id    name  score\n   1   Alma   3.5\n  22  Birte    10\n"
    result, loaded = await ingested(client, wait_job, sessionmaker, aligned)
    assert loaded == [
        {"id": "1", "name": "Alma", "score": "3.5"},
        {"id": "22", "name": "Birte", "score": "10"},
    ]
    _, loaded = await ingested(client, wait_job, sessionmaker, b"a b\n1 2\n", delimiter="spaces")
    assert loaded == [{"a": "1", "b": "2"}]


@pytest.mark.usefixtures("worker")
async def test_null_values_of_the_clients_choosing(
    client: httpx.AsyncClient, wait_job: WaitJob, sessionmaker: SessionMaker
) -> None:
    content = b"a,b\n-,NA\n,x\n"
    _, loaded = await ingested(client, wait_job, sessionmaker, content, null_values='["-", ""]')
    assert loaded == [{"a": None, "b": "NA"}, {"a": None, "b": "x"}]
    _, loaded = await ingested(client, wait_job, sessionmaker, content, null_values="[]")
    assert loaded == [{"a": "-", "b": "NA"}, {"a": "", "b": "x"}]


@pytest.mark.parametrize(
    ("form", "content", "field"),
    [
        ({"delimiter": ";;"}, b"a,b\n1,2\n", "delimiter"),
        ({"delimiter": "\n"}, b"a,b\n1,2\n", "delimiter"),
        ({"delimiter": "\x00"}, b"a,b\n1,2\n", "delimiter"),
        ({"quotechar": ","}, b"a,b\n1,2\n", "quotechar"),
        ({"header": "yes"}, b"a,b\n1,2\n", "header"),
        ({"ragged": "ignore"}, b"a,b\n1,2\n", "ragged"),
        ({"skip_rows": "-1"}, b"a,b\n1,2\n", "skip_rows"),
        ({"skip_rows": "many"}, b"a,b\n1,2\n", "skip_rows"),
        ({"comment": "#\n"}, b"a,b\n1,2\n", "comment"),
        ({"skip_rows": "1"}, b'[{"a": 1}]', "skip_rows"),
        ({"delimiter": ";"}, b'{"a": 1}\n{"a": 2}\n', "delimiter"),
        ({"null_values": "NA"}, b"a,b\n1,2\n", "null_values"),
        ({"null_values": "[1]"}, b"a,b\n1,2\n", "null_values"),
        ({"null_values": '["x"]'}, b'[{"a": 1}]', "null_values"),
        ({"schema": "integer"}, b"a,b\n1,2\n", "schema"),
        ({"schema": "{}"}, b"a,b\n1,2\n", "schema"),
        ({"schema": '{"a": "int"}'}, b"a,b\n1,2\n", ["schema", "a"]),
        ({"schema": '{"c": "integer"}'}, b"a,b\n1,2\n", ["schema", "c"]),
        ({"schema": '{"a": "integer"}'}, b'[{"a": 1}]', "schema"),
    ],
)
async def test_every_bad_option_is_a_422_naming_it(
    client: httpx.AsyncClient, form: dict[str, str], content: bytes, field: str | list[str]
) -> None:
    response = await upload(client, content, **form)
    assert response.status_code == 422, response.text
    loc = [field] if isinstance(field, str) else field
    assert response.json()["errors"][0]["loc"] == ["body", *loc]


def test_padding_beside_a_multi_line_row_and_a_rejected_one() -> None:
    from datatasks.uploads.csv_rows import CsvFormat
    from datatasks.uploads.sniff import Ragged

    records, rejected = CsvFormat(",", ragged=Ragged.pad).feed(b'a,b,c\n"x\ny",1,2\n1\n1,2,3,4\n')
    assert records == ['{"a":"x\\ny","b":"1","c":"2"}', '{"a":"1","b":null,"c":null}']
    assert [(r.line, r.reason) for r in rejected] == [(5, "expected 3 fields, got 4")]
