"""`make bench`: the heavy paths against raw COPY and disk, the enqueue path against its peer.

Everything runs in one go on this machine, against a throwaway schema and queue prefix, so the
ratios compare like with like. Prints a table and writes the figures to a JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import datasets, enqueue, exports, generation, uploads
from bench.service import bench_settings, running_service


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
    }
    if "generation" in args.only:
        async with running_service(bench_settings()) as service:
            results["generation"] = await generation.run(service, args.rows, args.repeat)
    if "exports" in args.only:
        async with running_service(bench_settings(), worker=False) as service:
            results["exports"] = await exports.run(service, args.rows, args.repeat)
    if "datasets" in args.only:
        async with running_service(bench_settings(), worker=False) as service:
            results["datasets"] = await datasets.run(service, args.rows, args.repeat)
    if "uploads" in args.only:
        async with running_service(bench_settings()) as service:
            results["uploads"] = await uploads.run(
                service, args.upload_mb, args.repeat, service.storage_dir
            )
    if "enqueue" in args.only:
        results["enqueue"] = await enqueue.run(args.seconds, args.rounds)
    return results


def _print(results: dict[str, Any]) -> None:
    for gen in (results.get("generation") or {}).get("schemas", []):
        print(
            f"\nGeneration, {results['generation']['rows']:,} records of the {gen['schema']}"
            f" {gen['fields']}-field schema ({gen['locale']})"
        )
        print(f"  raw binary COPY   {gen['raw_copy_rows_per_min']:>14,} rows/min")
        print(f"  worker end to end {gen['worker_rows_per_min']:>14,} rows/min")
        print(
            f"  ratio             {gen['ratio']:>14} (target >= {gen['target_ratio']}; "
            f"runs {gen['ratios']})"
        )
    if exp := results.get("exports"):
        print(f"\nExport, {exp['rows']:,} records")
        print(
            f"  raw COPY (SELECT ...) TO file, CSV {exp['raw_copy_csv_rows_per_min']:>14,} rows/min"
        )
        for fmt, target in (("csv", 0.7), ("ndjson", 0.5)):
            print(
                f"  export job, {fmt:<6}               {exp[f'{fmt}_rows_per_min']:>14,} rows/min"
                f"  ratio {exp[f'{fmt}_ratio']} (target >= {target})"
            )
            print(f"  {fmt} worker peak RSS (MiB): {exp[f'{fmt}_peak_rss_mb']}")
    if ds := results.get("datasets"):
        print(f"\nDatasets, {ds['rows']:,} records")
        print(
            f"  raw COPY of {ds['datasets']} datasets' rows"
            f"     {ds['raw_copy_many_rows_per_min']:>14,} rows/min"
        )
        print(
            f"  CSV export across them            {ds['export_many_rows_per_min']:>14,} rows/min"
            f"  ratio {ds['many_ratio']} (target >= 0.85)"
        )
        print(f"  raw COPY of one dataset           {ds['raw_copy_rows_per_min']:>14,} rows/min")
        print(
            f"  CSV export, three masked fields   {ds['masked_csv_rows_per_min']:>14,} rows/min"
            f"  ratio {ds['masked_ratio']} (target >= 0.7)"
        )
        erase = ds["erase"]
        print(
            f"  erasing {erase['rows']:,} rows: {erase['job_seconds']} s (job), table"
            f" {erase['table_mb']} MB, database {erase['database_mb_given_back']} MB smaller"
        )
    if up := results.get("uploads"):
        print(f"\nUpload of a {up['file_mb']} MB CSV ({up['rows']:,} rows)")
        print(f"  write + fsync to the same disk {up['disk_write_mib_per_s']:>10} MiB/s")
        print(
            f"  POST /upload (curl)            {up['upload_mib_per_s']:>10} MiB/s"
            f"  ratio {up['upload_ratio']} (target >= 0.6)"
        )
        print(
            f"  raw HTTP body to a file        {up['raw_http_mib_per_s']:>10} MiB/s"
            f"  (upload at {up['upload_ratio_to_raw_http']} of it)"
        )
        print(f"  API RSS growth                 {up['api_rss_growth_mb']:>10} MB (target < 30)")
        print(f"  raw binary COPY of the records {up['raw_copy_rows_per_min']:>10,} rows/min")
        print(
            f"  ingest job                     {up['ingest_rows_per_min']:>10,} rows/min"
            f"  ratio {up['ingest_ratio']} (target >= 0.5)"
        )
    if enq := results.get("enqueue"):
        print(f"\nEnqueue path, median of {enq['rounds']} rounds (ratio: req/s against the peer's)")
        print(
            f"{'endpoint':<18}{'server':<28}{'clients':>7}{'req/s':>9}{'ratio':>7}"
            f"{'p50 ms':>8}{'p99 ms':>8}  statuses"
        )
        for r in enq["rows"]:
            print(
                f"{r['endpoint']:<18}{r['server']:<28}{r['clients']:>7}{r['rps']:>9,.0f}"
                f"{r.get('ratio_to_peer', ''):>7}{r['p50_ms']:>8}{r['p99_ms']:>8}  {r['statuses']}"
            )
        print("Dispatch delay (row written -> job in its queue), 50-connection rounds")
        for server, d in enq["dispatch_delay"].items():
            print(f"  {server:<28}{d['jobs']:>8,} jobs  p50 {d['p50_ms']} ms  p99 {d['p99_ms']} ms")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="raw/worker pairs")
    parser.add_argument("--upload-mb", type=int, default=100, help="size of the uploaded file")
    parser.add_argument("--seconds", type=float, default=5.0, help="per HTTP measurement")
    parser.add_argument("--rounds", type=int, default=3, help="enqueue rounds (all servers each)")
    parser.add_argument(
        "--only",
        nargs="+",
        default=["generation", "exports", "datasets", "uploads", "enqueue"],
        choices=["generation", "exports", "datasets", "uploads", "enqueue"],
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/latest.json"))
    args = parser.parse_args()
    results = asyncio.run(_run(args))
    _print(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"\nfigures written to {args.out}")


if __name__ == "__main__":
    main()
