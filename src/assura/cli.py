"""The `assura` command: demo, serve, worker, migrate, createadmin, and Django's own.

Start-up problems (a wrong setting, an unreachable database, unapplied migrations) end
with one sentence and exit code 2, never a traceback: the person reading it is setting
up a server, not debugging Django.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

USAGE = """usage: assura <command> [options]

  demo         set up the embedded database, load demo data, serve on 127.0.0.1:8000
               and run the worker (Ctrl-C stops both)
  serve        serve the web application (production server)
  worker       run background tasks and timers (SLA watcher, probes, schedules)
  migrate      create or update the database schema
  createadmin  create an administrator account
  check-config print the effective configuration and test the database connection

Every other Django management command works too, e.g. `assura shell`.
"""


class StartupError(Exception):
    """A problem a person must fix before assura can start; shown as one line."""


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assura.settings")
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return
    try:
        run(args)
    except StartupError as error:
        print(f"assura: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def run(args: list[str]) -> None:
    setup_django()
    command, rest = args[0], args[1:]
    if command == "demo":
        demo(rest)
    elif command == "serve":
        require_database(migrated=True)
        serve(rest)
    elif command == "worker":
        require_database(migrated=True)
        worker(rest)
    elif command == "check-config":
        check_config()
    else:
        if command not in {"makemigrations", "help", "version", "compilemessages"}:
            require_database(migrated=False)
        from django.core.management import execute_from_command_line

        execute_from_command_line(["assura", command, *rest])


def setup_django() -> None:
    from assura.config import ConfigError, Env, check

    try:
        check(Env.from_os())
        import django

        django.setup()
    except ConfigError as error:
        raise StartupError(f"configuration error: {error}") from None


def require_database(*, migrated: bool) -> None:
    """Fail early and plainly when the database cannot be used."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.utils import OperationalError

    connection = connections[DEFAULT_DB_ALIAS]
    try:
        connection.ensure_connection()
    except OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StartupError(
            f"cannot reach the database {describe_database(connection.settings_dict)}: {reason}"
        ) from None
    if migrated:
        pending = pending_migrations()
        if pending:
            raise StartupError(
                f"the database schema is out of date ({len(pending)} migrations not applied, "
                f"first {pending[0]}); run `assura migrate`"
            )


def pending_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def describe_database(settings: dict[str, object]) -> str:
    """Where the database is, without its password."""
    engine = str(settings.get("ENGINE", ""))
    if engine.endswith("sqlite3"):
        return f"(SQLite file {settings.get('NAME')})"
    url = os.environ.get("DATABASE_URL", "")
    if url:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return "(" + urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, "", "")) + ")"
    return f"({settings.get('HOST')}:{settings.get('PORT')}/{settings.get('NAME')})"


def check_config() -> None:
    from django.conf import settings

    require_database(migrated=False)
    print(f"database: {describe_database(settings.DATABASES['default'])}")
    print(f"data folder: {settings.DATA_DIR}")
    print(f"time zone: {settings.TIME_ZONE}; language: {settings.LANGUAGE_CODE}")
    print(f"e-mail: {settings.MAILERS['default']['BACKEND']}")
    pending = pending_migrations()
    print(f"migrations: {'up to date' if not pending else f'{len(pending)} pending'}")


def gunicorn_command(bind: str, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "assura.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "5",
    ]


def serve(rest: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="assura serve")
    parser.add_argument("--bind", default=os.environ.get("ASSURA_BIND", "127.0.0.1:8000"))
    parser.add_argument("--workers", type=int, default=None)
    options = parser.parse_args(rest)
    if options.workers is None:
        options.workers = web_workers()
    collect_static()
    os.execv(sys.executable, gunicorn_command(options.bind, options.workers))  # noqa: S606


def web_workers() -> int:
    from assura.config import ConfigError, Env

    try:
        return Env.from_os().number("WEB_WORKERS", 2, minimum=1)
    except ConfigError as error:
        raise StartupError(f"configuration error: {error}") from None


def worker(rest: list[str]) -> None:
    from assura.core.worker import Worker

    parser = argparse.ArgumentParser(prog="assura worker")
    parser.add_argument("--id", default="", help="a name for this worker in logs")
    options = parser.parse_args(rest)
    loop = Worker(worker_id=options.id)
    loop.install_signal_handlers()
    loop.run()


def collect_static() -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def demo(rest: list[str]) -> None:
    """Migrate, load the demo, then serve and run the worker until Ctrl-C."""
    from django.core.management import call_command

    parser = argparse.ArgumentParser(prog="assura demo")
    parser.add_argument("--bind", default="127.0.0.1:8000")
    parser.add_argument("--no-serve", action="store_true", help="load the demo data and exit")
    options = parser.parse_args(rest)

    require_database(migrated=False)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_demo")
    if options.no_serve:
        return
    collect_static()
    print(f"\nassura is running at http://{options.bind}/  (Ctrl-C stops it)\n", flush=True)
    run_together(
        [gunicorn_command(options.bind, 2), [sys.executable, "-m", "assura.cli", "worker"]]
    )


def run_together(commands: list[list[str]]) -> None:
    """Start the processes; when one ends or Ctrl-C comes, stop all of them cleanly."""
    processes = [subprocess.Popen(command) for command in commands]
    try:
        os.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
