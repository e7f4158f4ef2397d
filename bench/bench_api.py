"""Benchmark the REST API: cases created per second over HTTP, beside a trivial JSON view.

The production server (`assura serve`: gunicorn, sync workers, here 2) runs on PostgreSQL
against a database this script creates (`assura_bench_api`) and drops at the end. A load
client in a separate process (this script with --client: threads over http.client, one
connection each) sends the requests from 127.0.0.1 and times each one:

* ceiling: GET /api/v1/ping/ — authenticated with a bearer token, throttled, answered
  with a small JSON body: everything a request pays for except the work behind it;
* POST /api/v1/cases/ as a customer contact, with a fresh Idempotency-Key each time: the
  case, its activity, its SLA clocks (started on the policy's calendar) and the audit
  entries are written in one transaction per request;
* floor: POST /bench/floor/ (bench/floor_urls.py, served by the same server through
  bench/floor_settings.py): the rows a creation writes (the case with its audit entry,
  two activities, three clocks with their start events and escalation plans) written
  straight through the ORM, with no validation, no policy or contract selection, no
  reference counter and no clock arithmetic. No case creation on the Django ORM can
  cost less, so its share of the ceiling bounds what any rewrite of creation could reach.

The requests of each endpoint are split into rounds that alternate between them
(--rounds, default 5), so other load on the machine weighs on all alike. Then, in one
process on the same database, without HTTP, the CPU each costs is measured.

Usage (needs a PostgreSQL role that may create databases):
    scripts/with-postgres .venv/bin/python bench/bench_api.py
    .venv/bin/python bench/bench_api.py --admin-url postgres://user:pw@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import closing, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import machine  # bench/machine.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "assura_bench_api"
DEFAULT_ADMIN_URL = "postgres://assura:assura@127.0.0.1:5432/assura"


# --- the load client (a separate process) -----------------------------------------------


def client_main(argv: list[str]) -> None:
    """Send `--requests` requests with `--threads` threads; print the timings as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    options = parser.parse_args(argv)

    remaining = iter(range(options.requests))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def next_number() -> int | None:
        with lock:
            return next(remaining, None)

    def work() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", options.port, timeout=60)
        mine: list[float] = []
        seen: dict[int, int] = {}
        while (number := next_number()) is not None:
            headers = {"Authorization": f"Bearer {options.token}", "Accept": "application/json"}
            body = None
            if options.method == "POST":
                body = json.dumps(
                    {
                        "case_type": "inquiry",
                        "priority": "normal",
                        "service": "erp",
                        "subject": f"Benchmark case {number}",
                        "description": "Created by the API benchmark.",
                    }
                )
                headers["Content-Type"] = "application/json"
                headers["Idempotency-Key"] = uuid.uuid4().hex
            started = time.perf_counter()
            try:
                connection.request(options.method, options.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                code = response.status
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException):
                connection.close()
                code = 0
            mine.append(time.perf_counter() - started)
            seen[code] = seen.get(code, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, count in seen.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=work) for _ in range(options.threads)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    print(json.dumps({"wall": wall, "latencies": latencies, "statuses": statuses}))


# --- CPU per request in one process (no HTTP) -------------------------------------------


def costs_main(argv: list[str]) -> None:
    """Print the CPU milliseconds of a ping, a creation and the ORM floor, as JSON."""
    import django

    django.setup()
    from django.test import Client

    token, count = argv[0], int(argv[1])
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")

    def ping() -> None:
        assert client.get("/api/v1/ping/").status_code == 200

    def create() -> None:
        body = {"case_type": "inquiry", "service": "erp", "subject": "In process"}
        headers = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}
        response = client.post("/api/v1/cases/", body, content_type="application/json", **headers)
        assert response.status_code == 201

    from floor_urls import floor_writer

    create()
    figures = {name: cpu_ms(work, count) for name, work in (("ping", ping), ("create", create))}
    figures["floor"] = cpu_ms(floor_writer(), count)
    print(json.dumps(figures))


def cpu_ms(work: Any, count: int) -> dict[str, float]:
    for _ in range(max(count // 10, 5)):
        work()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        work()
    return {
        "cpu": (time.process_time() - cpu) / count * 1000,
        "wall": (time.perf_counter() - wall) / count * 1000,
    }


def in_process(env: dict[str, str], token: str, count: int) -> dict[str, dict[str, float]]:
    command = [sys.executable, __file__, "--costs", token, str(count)]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def print_costs(costs: dict[str, dict[str, float]]) -> None:
    print("\nIn one process, no HTTP (ms per request: this process's CPU; wall time)")
    print("| work | CPU | wall | CPU / ping |")
    print("|---|---|---|---|")
    labels = {"ping": "ping", "create": "case creation", "floor": "ORM floor of a creation"}
    for name, label in labels.items():
        row = costs[name]
        share = row["cpu"] / costs["ping"]["cpu"]
        print(f"| {label} | {row['cpu']:.1f} | {row['wall']:.1f} | {share:.1f}× |")


# --- the run ------------------------------------------------------------------------------


def database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin_sql(admin_url: str, statement: str) -> None:
    import psycopg

    with closing(psycopg.connect(admin_url, autocommit=True)) as connection:
        connection.execute(statement)


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, load the standard guarantee and a customer; return the tokens."""
    subprocess.run(
        [sys.executable, "-m", "assura.cli", "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
    )
    script = """
import json
from datetime import date
from decimal import Decimal
import django
django.setup()
from assura.commitments import services as commitments, standard
from assura.core import services
from assura.core.models import OrganisationKind, Role
standard.load()
provider = services.provider_organisation()
customer = services.create_organisation(
    actor=None, kind=OrganisationKind.CUSTOMER, code="bench", name="Bench customer")
contact = services.create_person(
    actor=None, username="bench-contact", role=Role.CUSTOMER, organisation=customer)
service = commitments.create_service(actor=None, code="erp", name="ERP hosting")
commitments.create_contract(
    actor=None, code="K-BENCH", name="Bench", customer=customer,
    monthly_fee=Decimal("20000"), starts_on=date(2025, 1, 1), services=[service])
_token, secret = services.issue_api_token(actor=contact, name="bench")
print(json.dumps({"contact": secret}))
"""
    output = subprocess.run(
        [sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def wait_for(port: int, token: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped while starting")
        with suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/ping/", headers={"Authorization": f"Bearer {token}"})
            if connection.getresponse().status == 200:
                return
        time.sleep(0.3)
    raise SystemExit("the server did not answer within 60 s")


def load(port: int, token: str, method: str, path: str, requests: int, threads: int) -> Any:
    command = [
        sys.executable,
        __file__,
        "--client",
        "--port",
        str(port),
        "--path",
        path,
        "--token",
        token,
        "--method",
        method,
        "--requests",
        str(requests),
        "--threads",
        str(threads),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    latencies = sorted(result["latencies"])
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / result["wall"],
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "statuses": result["statuses"],
        "wall": result["wall"],
    }


def run(options: argparse.Namespace) -> None:
    url = database_url(options.admin_url, DATABASE)
    folder = tempfile.mkdtemp(prefix="assura-bench-api-")
    env = {
        **os.environ,
        # assura's settings plus one address, /bench/floor/ (bench/floor_urls.py).
        "DJANGO_SETTINGS_MODULE": "floor_settings",
        "DATABASE_URL": url,
        "ASSURA_DATA_DIR": folder,
        "LOG_LEVEL": "WARNING",
        # The default budget is 1,200 requests a minute per person; the benchmark's one
        # person sends far more, and must be measured, not refused.
        "ASSURA_API_RATE_LIMIT": "10000000/min",
        "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), str(ROOT / "bench"))),
    }
    env.pop("DEBUG", None)
    admin_sql(options.admin_url, f"DROP DATABASE IF EXISTS {DATABASE}")
    admin_sql(options.admin_url, f"CREATE DATABASE {DATABASE}")
    server: subprocess.Popen[bytes] | None = None
    try:
        tokens = prepare(env)
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assura.cli",
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(options.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(folder) / "server.log", "wb"),  # noqa: SIM115
        )
        wait_for(port, tokens["contact"], server)
        token = tokens["contact"]
        print("\n".join(machine.lines("Django", "djangorestframework", "gunicorn", "psycopg")))
        with closing(__import__("psycopg").connect(url)) as connection:
            print(f"database: PostgreSQL {connection.info.server_version // 10000}")
        print(f"server: assura serve, gunicorn, {options.workers} sync workers")
        print(
            f"client: {options.threads} threads in a separate process, http.client from "
            "127.0.0.1, one connection each (reopened after every response: sync workers "
            "close it)"
        )
        figures = measure(port, token, options)
        print_table(figures)
        print_costs(in_process(env, token, options.in_process))
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                server.wait(timeout=20)
            if server.poll() is None:
                server.kill()
        with suppress(Exception):
            admin_sql(options.admin_url, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        shutil.rmtree(folder, ignore_errors=True)


ENDPOINTS = (
    ("ping", "GET", "/api/v1/ping/"),
    ("cases", "POST", "/api/v1/cases/"),
    ("floor", "POST", "/bench/floor/"),
)


def measure(port: int, token: str, options: argparse.Namespace) -> dict[str, Any]:
    """Both endpoints in alternating rounds, so that whatever else loads the machine
    weighs on the ceiling and on case creation alike; their figures are then pooled."""
    for _name, method, path in ENDPOINTS:
        load(port, token, method, path, options.warmup, options.threads)
    pooled: dict[str, dict[str, Any]] = {
        name: {"wall": 0.0, "latencies": [], "statuses": {}} for name, _m, _p in ENDPOINTS
    }
    before = os.getloadavg()
    share = max(1, options.requests // options.rounds)
    for _round in range(options.rounds):
        for name, method, path in ENDPOINTS:
            result = load(port, token, method, path, share, options.threads)
            into = pooled[name]
            into["wall"] += result["wall"]
            into["latencies"].extend(result["latencies"])
            for code, count in result["statuses"].items():
                into["statuses"][code] = into["statuses"].get(code, 0) + count
    after = os.getloadavg()
    figures = {name: summarise(result) for name, result in pooled.items()}
    for row in figures.values():
        row["load_before"], row["load_after"] = before, after
    return figures


def print_table(figures: dict[str, Any]) -> None:
    ping = figures["ping"]
    print()
    print(
        "| request | requests | per second | share of the ceiling | p50 | p99 | statuses "
        "| load average before → after |"
    )
    print("|---|---|---|---|---|---|---|---|")
    labels = {
        "ping": "GET /api/v1/ping/ (ceiling)",
        "cases": "POST /api/v1/cases/",
        "floor": "POST /bench/floor/ (ORM floor)",
    }
    for name, label in labels.items():
        row = figures[name]
        load_text = (
            " ".join(f"{x:.2f}" for x in row["load_before"])
            + " → "
            + " ".join(f"{x:.2f}" for x in row["load_after"])
        )
        print(
            f"| {label} | {row['requests']:,} | {row['per_second']:,.0f} | "
            f"{row['per_second'] / ping['per_second']:.0%} | "
            f"{row['p50_ms']:.1f} ms | {row['p99_ms']:.1f} ms | "
            f"{json.dumps(row['statuses'])} | {load_text} |"
        )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--client":
        client_main(argv[1:])
        return
    if argv and argv[0] == "--costs":
        costs_main(argv[1:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL whose role may create databases",
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--in-process", type=int, default=300, help="requests of each kind timed in one process"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating rounds the requests are split into"
    )
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
