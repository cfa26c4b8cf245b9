"""The schema comes from the Alembic migrations in bot/migrations: built, kept in step with the models,
stamped on a database from before migrations, safe to run from several processes at once, and reported
by `troly db` and `/readyz`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import select

import main
from bot import schema
from bot.db import make_engine, session
from bot.runtime import Runtime
from bot.tables import Team

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(database_url):
    database = make_engine(database_url)
    yield database
    database.dispose()


def tables(database: Engine) -> set[str]:
    with database.connect() as conn:
        return set(inspect(conn).get_table_names())


def revision(database: Engine) -> str | None:
    with database.connect() as conn:
        return schema.current_revision(conn)


def set_revision(database: Engine, value: str) -> None:
    with database.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": value})


def differences(database: Engine) -> list:
    """What autogenerate would put in a new revision: nothing, when the migrations match the models."""
    with database.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), schema.metadata())


def run_alembic(database: Engine, name: str, target: str) -> None:
    with database.connect() as conn:
        getattr(command, name)(schema.alembic_config(conn), target)
        conn.commit()


def made_before_migrations(database: Engine) -> None:
    """The tables exactly as `create_all` made them before migrations existed, and no alembic_version."""
    run_alembic(database, "upgrade", schema.INITIAL)
    with database.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))


# --- upgrade ------------------------------------------------------------------------------------


def test_upgrade_on_a_fresh_database_creates_every_table_and_records_head(engine):
    done = schema.upgrade(engine)

    assert done == schema.Upgrade(before=None, after=schema.HEAD, stamped=False)
    assert tables(engine) == set(schema.metadata().tables) | {"alembic_version"}
    assert revision(engine) == schema.HEAD


def test_the_migrations_build_exactly_what_the_models_declare(engine):
    """A model changed without a new revision in bot/migrations/versions fails here."""
    schema.upgrade(engine)

    assert differences(engine) == [], "write a revision for the model change (see README, Upgrading the database)"


def test_head_is_the_newest_script_and_initial_the_first():
    scripts = ScriptDirectory(str(schema.MIGRATIONS))

    assert scripts.get_current_head() == schema.HEAD
    assert [s.revision for s in scripts.walk_revisions()][-1] == schema.INITIAL


def test_upgrade_run_twice_changes_nothing_the_second_time(engine):
    schema.upgrade(engine)
    with session(engine) as s:
        s.add(Team(name="Tổ Thôn 3"))
        s.commit()

    assert schema.upgrade(engine) == schema.Upgrade(before=schema.HEAD, after=schema.HEAD)
    assert revision(engine) == schema.HEAD
    with session(engine) as s:
        assert [t.name for t in s.exec(select(Team)).all()] == ["Tổ Thôn 3"]


def test_a_database_made_before_migrations_is_stamped_then_upgraded_keeping_its_rows(engine):
    made_before_migrations(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO team (name, created_at) VALUES ('Tổ Thôn 1', '2026-01-01 00:00:00')"))

    done = schema.upgrade(engine)

    assert done == schema.Upgrade(before=None, after=schema.HEAD, stamped=True)
    assert revision(engine) == schema.HEAD and differences(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM team")).scalars().all() == ["Tổ Thôn 1"]


def test_a_database_behind_is_upgraded_from_where_it_is(engine):
    run_alembic(engine, "upgrade", schema.INITIAL)

    done = schema.upgrade(engine)

    assert done == schema.Upgrade(before=schema.INITIAL, after=schema.HEAD)
    assert differences(engine) == []


def test_downgrade_to_the_start_removes_every_table_and_upgrade_rebuilds_them(engine):
    schema.upgrade(engine)

    run_alembic(engine, "downgrade", "base")
    assert tables(engine) == {"alembic_version"} and revision(engine) is None

    schema.upgrade(engine)
    assert differences(engine) == []


def test_a_database_from_a_newer_version_is_refused_with_a_clear_error(engine):
    schema.upgrade(engine)
    set_revision(engine, "9999")

    with pytest.raises(schema.SchemaError, match="9999"):
        schema.upgrade(engine)


def test_at_head_starting_never_loads_alembic(engine, database_url):
    """Start-up stays cheap: a database at head costs a look at alembic_version, not Alembic's machinery."""
    schema.upgrade(engine)
    probe = ("import sys; from bot.db import make_engine; from bot.schema import upgrade; "
             f"upgrade(make_engine({database_url!r})); print(sorted(m for m in sys.modules if m.startswith('alembic')))")

    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    assert out.strip() == "[]"


# --- several processes at once -------------------------------------------------------------------


def upgrade_at_once(url: str, processes: int) -> list[tuple[int, str, str]]:
    """`troly db upgrade` in several processes, released together once all have done their imports."""
    script = ("import sys; import alembic.command; from main import cli; "
              "print('ready', flush=True); sys.stdin.readline(); sys.exit(cli(['db', 'upgrade']))")
    env = {**os.environ, "TROLY_DATABASE_URL": url}
    running = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(processes)]
    assert [p.stdout.readline() for p in running] == ["ready\n"] * processes
    for p in running:
        p.stdin.write("go\n")
        p.stdin.flush()
    return [(p.wait(60), p.stdout.read(), p.stderr.read()) for p in running]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_four_processes_upgrading_at_once_all_succeed_and_one_builds_the_schema(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path}/shared.db" if backend == "sqlite" else request.getfixturevalue("postgres_url")

    results = upgrade_at_once(url, 4)

    assert [code for code, _, _ in results] == [0, 0, 0, 0], [err for _, _, err in results]
    outs = sorted(out.strip() for _, out, _ in results)
    assert outs == [f"Cơ sở dữ liệu đã ở bản mới nhất ({schema.HEAD}), không cần nâng cấp."] * 3 + [
        f"Đã tạo cơ sở dữ liệu ở bản {schema.HEAD}."]
    database = make_engine(url)
    try:
        assert differences(database) == []
        with database.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [schema.HEAD]
    finally:
        database.dispose()


# --- troly db ------------------------------------------------------------------------------------


def test_troly_db_current_and_upgrade(troly):
    assert troly("db", "current") == (0, f"chưa có (cần nâng cấp lên {schema.HEAD}: troly db upgrade)\n", "")
    assert troly("db", "upgrade") == (0, f"Đã tạo cơ sở dữ liệu ở bản {schema.HEAD}.\n", "")
    assert troly("db", "current") == (0, f"{schema.HEAD} (mới nhất)\n", "")
    assert troly("db", "upgrade")[1] == f"Cơ sở dữ liệu đã ở bản mới nhất ({schema.HEAD}), không cần nâng cấp.\n"


def test_troly_db_upgrade_says_what_it_did_to_an_old_database(troly, engine):
    run_alembic(engine, "upgrade", schema.INITIAL)
    assert troly("db", "current")[1].startswith(f"{schema.INITIAL} (cần nâng cấp")
    assert troly("db", "upgrade")[1] == f"Đã nâng cấp cơ sở dữ liệu từ bản {schema.INITIAL} lên {schema.HEAD}.\n"


def test_troly_db_upgrade_stamps_a_database_made_before_migrations(troly, engine):
    made_before_migrations(engine)
    code, out, _ = troly("db", "upgrade")
    assert code == 0 and "Đã ghi nhận cơ sở dữ liệu cũ" in out and out.strip().endswith(f"{schema.HEAD}.")


def test_troly_db_refuses_a_newer_database_and_an_unreachable_one_without_a_trace(troly, engine, monkeypatch):
    schema.upgrade(engine)
    set_revision(engine, "9999")
    code, out, err = troly("db", "upgrade")
    assert code == 1 and out == "" and "9999" in err and "Traceback" not in err

    monkeypatch.setenv("TROLY_DATABASE_URL", "postgresql+psycopg://troly@127.0.0.1:1/none")
    code, _, err = troly("db", "current")
    assert code == 1 and err.startswith("Không dùng được cơ sở dữ liệu:") and len(err.splitlines()) == 1


# --- /readyz -------------------------------------------------------------------------------------


def readyz(runtime: Runtime) -> tuple[int, dict]:
    response = TestClient(main.create_app(runtime=runtime)).get("/readyz")  # no lifespan: no worker
    return response.status_code, response.json()


def test_readyz_is_ready_on_a_migrated_database(runtime):
    assert readyz(runtime) == (200, {"status": "ready", "revision": schema.HEAD, "head": schema.HEAD})


@pytest.mark.parametrize("found", ["9999", schema.INITIAL])
def test_readyz_is_503_when_the_database_is_not_at_head(runtime, found):
    set_revision(runtime.engine, found)

    status, body = readyz(runtime)

    assert status == 503 and body["status"] == "not ready" and body["revision"] == found
    assert body["reason"].startswith("migrations not at head") and schema.HEAD in body["reason"]


def test_readyz_is_503_when_the_version_table_is_gone(runtime):
    with runtime.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))

    assert readyz(runtime)[0] == 503


def test_readyz_is_503_when_the_database_does_not_answer(settings):
    unreachable = make_engine("postgresql+psycopg://troly:secret@127.0.0.1:1/none")
    runtime = Runtime(settings=settings.model_copy(update={"worker_in_serve": False}), engine=unreachable)

    status, body = readyz(runtime)

    assert status == 503 and body["reason"] == "database unreachable" and "secret" not in str(body)
