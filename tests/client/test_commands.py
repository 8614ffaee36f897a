"""The client commands against the real `datatasks api` and `datatasks worker` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from datatasks.embedded import free_port
from tests.client.helpers import cli, get, post, ready, until
from tests.e2e.conftest import DATATASKS, FIELDS, Service

pytestmark = pytest.mark.e2e


def _schema(tmp_path: Path, **body: object) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"record_type": "user", "count": 5, "fields": FIELDS, **body}))
    return path


def _generated(service: Service, count: int) -> str:
    """A completed dataset of `count` records, made over HTTP; its id."""
    accepted = post(
        service, "/generate", {"record_type": "user", "count": count, "seed": 3, "fields": FIELDS}
    )
    return str(until(service, accepted["job_id"])["result"]["dataset_id"])


def test_generate_wait_prints_the_id_then_a_summary(live: Service, tmp_path: Path) -> None:
    # The file's count (5) is overridden by the option.
    done = cli(live, "generate", str(_schema(tmp_path)), "--count", "20000", "--seed", "1", "-w")
    assert done.exit_code == 0, done.output
    job_id, summary = done.stdout.strip().splitlines()
    status = get(live, f"/status/{job_id}")
    assert status["status"] == "completed"
    assert status["result"]["rows"] == 20_000
    assert status["params"]["seed"] == 1
    assert summary.startswith("completed in ")
    assert f"dataset {status['result']['dataset_id']}, 20,000 records (seed 1" in summary


def test_generate_takes_a_fields_list_from_stdin_and_prints_only_the_id(live: Service) -> None:
    done = cli(live, "generate", "-", "--record-type", "user", "-n", "10", stdin=json.dumps(FIELDS))
    assert done.exit_code == 0, done.output
    job_id = done.stdout.strip()
    assert str(uuid.UUID(job_id)) == job_id
    assert until(live, job_id)["result"]["rows"] == 10


def test_upload_wait_loads_a_csv(live: Service, tmp_path: Path) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text(
        "name,age,joined\n" + "".join(f"p{i},{20 + i},2024-01-0{1 + i % 9}\n" for i in range(300))
    )
    done = cli(
        live,
        "upload",
        str(csv),
        "--record-type",
        "person",
        "--dataset-name",
        "crm",
        "--schema",
        '{"age": "integer"}',
        "--wait",
        "--json",
    )
    assert done.exit_code == 0, done.output
    status = json.loads(done.stdout)
    assert status["status"] == "completed"
    assert status["type"] == "ingest"
    assert status["result"]["rows"] == 300
    assert status["result"]["rejected"] == 0
    dataset = get(live, f"/datasets/{status['result']['dataset_id']}")
    assert dataset["name"] == "crm"
    assert dataset["record_type"] == "person"


def test_a_failed_upload_exits_1_with_its_error_and_is_listed_by_jobs_failed(
    live: Service, tmp_path: Path
) -> None:
    # Most rows have the wrong number of cells: more than half rejected fails the ingest.
    csv = tmp_path / "bad.csv"
    csv.write_text("a,b,c\n" + "1,2\n" * 50 + "1,2,3\n")
    done = cli(live, "upload", str(csv), "--wait")
    assert done.exit_code == 1, done.output
    job_id = done.stdout.strip().splitlines()[0]
    error = get(live, f"/status/{job_id}")["error"]["message"]
    assert f"job {job_id} failed: {error}" in done.stderr

    listed = cli(live, "jobs", "--failed", "--json")
    assert listed.exit_code == 0, listed.output
    assert [item["id"] for item in json.loads(listed.stdout)["items"]] == [job_id]

    table = cli(live, "jobs", "--failed")
    assert table.exit_code == 0, table.output
    assert job_id in table.stdout
    assert "failed" in table.stdout
    assert error.split()[0] in table.stdout


def test_export_downloads_parquet_whole(live: Service, tmp_path: Path) -> None:
    dataset_id = _generated(live, 2_000)
    out = tmp_path / "out" / "users.parquet"
    out.parent.mkdir()
    done = cli(live, "export", "--dataset", dataset_id, "--format", "parquet", "-o", str(out))
    assert done.exit_code == 0, done.output
    job_id, summary, saved = done.stdout.strip().splitlines()
    assert saved == f"saved {out}"
    assert "2,000 rows from 1 dataset(s)" in summary
    table = pq.read_table(out)
    assert table.num_rows == 2_000
    assert sorted(table.column("n").to_pylist()) == list(range(1, 2_001))
    assert os.listdir(out.parent) == ["users.parquet"]  # no partial file left beside it
    assert get(live, f"/status/{job_id}")["params"]["dataset_id"] == dataset_id


def test_export_takes_its_format_from_the_file_name_and_wait_prints_the_link(
    live: Service, tmp_path: Path
) -> None:
    dataset_id = _generated(live, 100)
    out = tmp_path / "users.csv.gz"
    done = cli(live, "export", "-d", dataset_id, "-o", str(out), "--fields", "n,email")
    assert done.exit_code == 0, done.output
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # gzip

    linked = cli(live, "export", "-d", dataset_id, "--format", "ndjson", "--wait")
    assert linked.exit_code == 0, linked.output
    link = linked.stdout.strip().splitlines()[-1]
    assert link.startswith(f"{live.url}/exports/")
    lines = httpx.get(link, timeout=10).text.splitlines()
    assert len(lines) == 100


def test_status_json_is_the_service_s_document_and_the_table_names_the_job(
    live: Service,
) -> None:
    dataset_id = _generated(live, 50)
    job_id = get(live, f"/datasets/{dataset_id}")["job_id"]
    done = cli(live, "status", job_id, "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == get(live, f"/status/{job_id}")

    table = cli(live, "status", job_id)
    assert table.exit_code == 0, table.output
    assert job_id in table.stdout
    assert "completed" in table.stdout
    assert dataset_id in table.stdout


def test_status_watch_of_a_finished_job_exits_0(live: Service) -> None:
    dataset_id = _generated(live, 10)
    job_id = get(live, f"/datasets/{dataset_id}")["job_id"]
    done = cli(live, "status", job_id, "--watch", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "completed"


def test_a_refused_request_exits_3_with_the_problem_on_stderr(
    service: Service, tmp_path: Path
) -> None:
    service.api()
    ready(service)
    bad = _schema(tmp_path, fields=[{"name": "x", "type": "no_such_type"}])
    done = cli(service, "generate", str(bad), "--wait")
    assert done.exit_code == 3, done.output
    assert done.stdout == ""
    assert "POST /generate refused: 422 Unprocessable Content: body.fields.0" in done.stderr
    assert "no_such_type" in done.stderr
    # Each of the problem's `errors` on a line of its own.
    assert any(line.startswith("  body.fields.0") for line in done.stderr.splitlines())

    unknown = str(uuid.uuid4())
    missing = cli(service, "status", unknown)
    assert missing.exit_code == 3
    assert f"404 Not Found: no job with id '{unknown}'" in missing.stderr
    # Waiting on it is the same refusal, whether or not the service has the event stream.
    watched = cli(service, "status", unknown, "--watch")
    assert watched.exit_code == 3, watched.output
    assert "no job with id" in watched.stderr


def test_an_api_key_comes_from_the_environment(service: Service) -> None:
    key = "k" * 24
    service.env["API_KEYS"] = key
    service.api()
    ready(service)
    refused = cli(service, "jobs")
    assert refused.exit_code == 3
    assert "401 Unauthorized" in refused.stderr
    allowed = cli(service, "jobs", "--json", env={"DATATASKS_API_KEY": key})
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["items"] == []


def test_an_unreachable_url_is_named_and_exits_4(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [DATATASKS, "generate", str(_schema(tmp_path)), "--url", url],
        capture_output=True,
        text=True,
        timeout=20,
        env={k: v for k, v in os.environ.items() if not k.startswith("DATATASKS_")},
    )
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(f"datatasks: cannot reach the service at {url} (POST /generate")
    assert len(done.stderr.strip().splitlines()) == 1


def test_ctrl_c_while_waiting_exits_130_and_the_job_keeps_going(
    service: Service, tmp_path: Path
) -> None:
    service.api()  # no worker: the job stays pending
    ready(service)
    waiting = subprocess.Popen(
        [DATATASKS, "--url", service.url, "generate", str(_schema(tmp_path)), "--wait"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("DATATASKS_")},
        # As a terminal's Ctrl-C finds it, even where this run ignores SIGINT (a background job).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert waiting.stdout is not None
    job_id = waiting.stdout.readline().strip()
    assert get(service, f"/status/{job_id}")["status"] == "pending"
    time.sleep(0.5)  # into the wait
    waiting.send_signal(signal.SIGINT)
    _, stderr = waiting.communicate(timeout=10)
    assert waiting.returncode == 130, stderr
    assert f"job {job_id} keeps running on the service" in stderr
    assert "Traceback" not in stderr
    assert get(service, f"/status/{job_id}")["status"] == "pending"


def test_waiting_follows_the_event_stream(live: Service, tmp_path: Path) -> None:
    done = cli(live, "generate", str(_schema(tmp_path)), "--count", "50000", "--wait")
    assert done.exit_code == 0, done.output
    assert "polling" not in done.stderr  # GET /status/{id}/events answered
    job_id = done.stdout.splitlines()[0]
    # Line mode (not a terminal): the first state, each new status, the end.
    assert f"waiting for job {job_id}" in done.stderr
    assert f"job {job_id} completed 100.0% (50,000/50,000 records)" in done.stderr
