"""The `troly` command line: ask, eval, chat, faq import/export, serve, worker, zalo groups."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine as Database
from sqlmodel import Session, select

from bot.engine import Context, Engine, Handler
from bot.messages import ChatKind, IncomingMessage
from bot.runtime import Runtime
from bot.settings import Settings
from knowledge import store
from knowledge.transfer import FaqFileError, read_file, write_items


@dataclass(frozen=True)
class Wiring:
    """What the composition root hands the CLI: handlers, platforms, the worker service, the web app."""

    handlers: Callable[[], Sequence[Handler]]  # built only by the commands that handle messages
    platforms: Callable[[Settings], Mapping[str, Any]]
    service: Callable[[Runtime, Mapping[str, Any]], Any]
    app: Callable[[Runtime], Any]


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False))


def cmd_ask(rt: Runtime, args: argparse.Namespace) -> int:
    kb = rt.knowledge()
    if args.jsonl:
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, group = str(row.get("text") or ""), row.get("context") == "group"
            except (json.JSONDecodeError, AttributeError):
                _print_json({"error": f"dòng {number}: không phải JSON {{\"text\", \"context\"}}"})
                continue
            _print_json(kb.ask(text, group=group).as_json())
            sys.stdout.flush()
        return 0
    if args.text is None:
        print("Cần câu hỏi: troly ask \"quên mật khẩu vneid\" (hoặc --jsonl để đọc từ stdin)", file=sys.stderr)
        return 2
    outcome = kb.ask(args.text, group=args.group)
    if args.json:
        _print_json(outcome.as_json())
    else:
        d = outcome.decision
        print(f"[{d.kind}] {d.faq_id or '-'} ({d.score:.2f})")
        if outcome.reply:
            print(outcome.reply)
    return 0


def cmd_eval(rt: Runtime, args: argparse.Namespace) -> int:
    kb = rt.knowledge()
    path = Path(args.file)
    if not path.exists():
        print(f"Không thấy tệp {path}", file=sys.stderr)
        return 2
    total = right = confident_wrong = offered_first = 0
    by_kind: Counter[str] = Counter()
    right_by_kind: Counter[str] = Counter()
    misses = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        expect = row["expect"]
        out = kb.ask(row["text"], group=row.get("context") == "group").as_json()
        got = out["decision"] if out["decision"] in ("escalate", "ignore") else out["faq_id"]
        kind = expect if expect in ("escalate", "ignore") else "faq"
        by_kind[kind] += 1
        total += 1
        ok = got == expect and (kind != "faq" or out["decision"] == "answer")
        offered_first += kind == "faq" and out["faq_id"] == expect and out["decision"] in ("answer", "suggest")
        if ok:
            right += 1
            right_by_kind[kind] += 1
        else:
            if out["decision"] == "answer" and out["faq_id"] != expect:
                confident_wrong += 1
            misses.append((row, out))
    print(f"accuracy: {right}/{total} = {100 * right / max(total, 1):.1f}%")
    for kind in sorted(by_kind):
        print(f"  {kind:9} {right_by_kind[kind]}/{by_kind[kind]} = {100 * right_by_kind[kind] / by_kind[kind]:.1f}%")
    if by_kind["faq"]:  # answered, or offered as the first numbered choice
        print(f"  faq first choice {offered_first}/{by_kind['faq']} = {100 * offered_first / by_kind['faq']:.1f}%")
    print(f"confident wrong answers: {confident_wrong} ({100 * confident_wrong / max(total, 1):.1f} per 100)")
    if args.verbose:
        for row, out in misses:
            print(f"  MISS [{row.get('context')}] {row['text']!r} expect={row['expect']} "
                  f"got={out['decision']}:{out['faq_id']} {out['score']:.2f} {out['suggestions']}")
    return 0


def cmd_faq_import(rt: Runtime, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        items = read_file(path)
    except FileNotFoundError:
        print(f"Không thấy tệp {path}", file=sys.stderr)
        return 2
    except FaqFileError as error:
        print(f"Không nhập được {path} (không thay đổi gì):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    with rt.session() as s:
        report = store.import_items(s, items, author=args.author, replace=args.replace)
        s.commit()
    print(f"Đã nhập {len(items)} mục: {report.created} mới, {report.updated} sửa, {report.unchanged} giữ nguyên, "
          f"{report.deactivated} ngừng dùng.")
    return 0


def cmd_faq_export(rt: Runtime, args: argparse.Namespace) -> int:
    path = Path(args.file)
    with rt.session() as s:
        items = [store.to_item(e) for e in store.active_entries(s)]
    try:
        data = write_items(items, path.suffix)
    except FaqFileError as error:
        print(error.problems[0], file=sys.stderr)
        return 2
    path.write_bytes(data)
    print(f"Đã xuất {len(items)} mục ra {path}.")
    return 0


def _people(action: Callable[[Session, argparse.Namespace], str]) -> Callable[[Runtime, argparse.Namespace], int]:
    """Run one change to teams/users/chats in a transaction; a bad value is a clear message, not a trace."""
    def command(rt: Runtime, args: argparse.Namespace) -> int:
        from bot.people import PeopleError

        with rt.session() as s:
            try:
                message = action(s, args)
            except PeopleError as error:
                print(str(error), file=sys.stderr)
                return 2
            s.commit()
        print(message)
        return 0

    return command


def _team_add(s: Session, args: argparse.Namespace) -> str:
    from bot.people import add_team

    team = add_team(s, args.name, args.commune)
    return f"Đã tạo tổ \"{team.name}\"" + (f" ({team.commune})" if team.commune else "") + "."


def _user_add(s: Session, args: argparse.Namespace) -> str:
    from bot.people import add_user

    user = add_user(s, args.name, args.role, args.team, args.zalo_id, args.facebook_id, args.password)
    return f"Đã lưu người dùng \"{user.name}\" ({user.role})."


def _group_link(s: Session, args: argparse.Namespace) -> str:
    from bot.people import link_chat

    link_chat(s, args.platform, args.chat_id, args.team, staff=args.staff)
    kind = "nhóm của tổ" if args.staff else "nhóm"
    return f"Đã liên kết {kind} {args.platform}:{args.chat_id} với tổ \"{args.team}\"."


def _token_create(s: Session, args: argparse.Namespace) -> str:
    from bot.people import create_token

    token = create_token(s, args.name, args.role, args.team)
    return f"Mã API \"{args.name}\" ({args.role}), chỉ hiện một lần, dùng với Authorization: Bearer:\n{token}"


def cmd_escalations(rt: Runtime, args: argparse.Namespace) -> int:
    from bot.tables import Escalation, Team

    with rt.session() as s:
        query = select(Escalation).order_by(Escalation.id)
        if args.status:
            query = query.where(Escalation.status == args.status)
        teams = {t.id: t.name for t in s.exec(select(Team)).all()}
        rows = [{"id": e.id, "status": e.status, "question": e.question, "team": teams.get(e.team_id),
                 "platform": e.platform, "chat_id": e.chat_id, "chat_kind": e.chat_kind, "asker": e.asker_name or e.asker_id,
                 "created_at": e.created_at.isoformat(), "answer": e.answer, "answered_by": e.answered_by_name}
                for e in s.exec(query).all()]
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        print(f"#{r['id']:<5} {r['status']:9} {r['team'] or '-':20} {r['question'][:80]}")
    print(f"{len(rows)} câu hỏi.")
    return 0


def cmd_retention_purge(rt: Runtime, args: argparse.Namespace) -> int:
    from bot import retention

    with rt.session() as s:
        removed = retention.purge(s, rt.clock(), rt.settings)
        s.commit()
    print(f"Đã xoá dữ liệu cũ hơn {rt.settings.retention_days} ngày:")
    for kind, count in removed.items():
        print(f"  {kind}: {count}")
    return 0


def cmd_export_user(rt: Runtime, args: argparse.Namespace) -> int:
    from bot import personal_data

    with rt.session() as s:
        footprint = personal_data.find(s, args.platform, args.id)
        if footprint.is_empty():
            print(f"Không có dữ liệu nào về {args.platform}:{args.id} ạ.", file=sys.stderr)
            return 1
        document = {"platform": args.platform, "id": args.id, **personal_data.export(footprint)}
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


def cmd_forget_user(rt: Runtime, args: argparse.Namespace) -> int:
    from bot import personal_data

    with rt.session() as s:
        footprint = personal_data.find(s, args.platform, args.id)
        if footprint.is_empty():
            print(f"Không có dữ liệu nào về {args.platform}:{args.id}, không có gì để xoá ạ.")
            return 0
        removed = personal_data.forget(s, footprint)
        s.commit()
    print(f"Đã xoá dữ liệu của {args.platform}:{args.id}:")
    for kind, count in removed.items():
        if count:
            print(f"  {kind}: {count}")
    return 0


def make_chat(handlers: Callable[[], Sequence[Handler]]) -> Callable[[Runtime, argparse.Namespace], int]:
    def cmd_chat(rt: Runtime, args: argparse.Namespace) -> int:
        engine = Engine(handlers())
        kind = ChatKind.GROUP if args.group else ChatKind.PRIVATE
        print("Trợ lý số — gõ câu hỏi, Enter để gửi; Ctrl+D để thoát.")
        for number, line in enumerate(sys.stdin, start=1):
            message = IncomingMessage(platform="console", chat_id="console", chat_kind=kind, sender_id="me",
                                      message_id=f"console-{number}", text=line.rstrip("\n"), mentions_bot=False)
            with rt.session() as s:
                replies = engine.process(message, Context(s, rt.knowledge(s), rt.settings))
                s.commit()
            for out in replies:
                print(f"> {out.text}\n")
            if not replies:
                print("> (bot im lặng)\n")
            sys.stdout.flush()
        return 0

    return cmd_chat


def live_platforms(wiring: Wiring, settings: Settings) -> str:
    names = sorted(n for n in wiring.platforms(settings) if n != "web")
    return ", ".join(names) if names else "chưa có nền tảng nào (đặt các biến TROLY_ZALO_*, TROLY_FACEBOOK_* trong .env)"


def make_serve(wiring: Wiring) -> Callable[[Runtime, argparse.Namespace], int]:
    def cmd_serve(rt: Runtime, args: argparse.Namespace) -> int:
        import uvicorn

        from bot import logs

        print(f"Nền tảng đang bật: {live_platforms(wiring, rt.settings)}", flush=True)
        logs.configure(rt.settings.log_level, rt.settings.log_format)
        uvicorn.run(wiring.app(rt), host=args.host, port=args.port, log_config=None,
                    log_level=rt.settings.log_level, access_log=rt.settings.log_requests)
        return 0

    return cmd_serve


def make_worker(wiring: Wiring) -> Callable[[Runtime, argparse.Namespace], int]:
    def cmd_worker(rt: Runtime, args: argparse.Namespace) -> int:
        import asyncio
        import signal

        async def main() -> None:
            service = wiring.service(rt, wiring.platforms(rt.settings))
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, service.stop.set)
            service.start()
            await service.stop.wait()
            await service.close()

        from bot import logs

        print(f"Worker chạy; nền tảng đang bật: {live_platforms(wiring, rt.settings)}", flush=True)
        logs.configure(rt.settings.log_level, rt.settings.log_format)
        asyncio.run(main())
        return 0

    return cmd_worker


def make_zalo_groups(wiring: Wiring) -> Callable[[Runtime, argparse.Namespace], int]:
    def cmd_zalo_groups(rt: Runtime, args: argparse.Namespace) -> int:
        import asyncio

        import httpx

        from bot import tokens

        zalo = wiring.platforms(rt.settings).get("zalo")
        if zalo is None:
            print("Zalo OA chưa được cấu hình (TROLY_ZALO_APP_ID, TROLY_ZALO_OA_SECRET_KEY).", file=sys.stderr)
            return 2
        with rt.session() as s:
            token = tokens.current(s, "zalo", rt.settings.zalo_access_token, rt.settings.zalo_refresh_token)
        if token is None:
            print("Chưa có access token của OA (TROLY_ZALO_ACCESS_TOKEN).", file=sys.stderr)
            return 2

        async def fetch() -> list[dict]:
            async with httpx.AsyncClient(timeout=rt.settings.send_timeout_seconds) as client:
                return await zalo.list_groups(client, token.access_token)

        from bot.platforms.base import SendError

        try:
            groups = asyncio.run(fetch())
        except SendError as error:
            print(f"Zalo từ chối: {error.reason}", file=sys.stderr)
            return 1
        if args.json:
            _print_json(groups)
            return 0
        for g in groups:
            print(f"{g.get('group_id')}\t{g.get('name')}\t{g.get('total_member', '')} thành viên\t{g.get('status', '')}")
        print(f"{len(groups)} nhóm. Liên kết nhóm với tổ: troly group link --platform zalo --chat-id ID --team TÊN")
        return 0

    return cmd_zalo_groups


def _database_command(action: Callable[[Database], str]) -> Callable[[Settings], int]:
    """A schema command on the database alone (nothing seeded); a failing database is a message, not a trace."""
    def command(settings: Settings) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from bot.db import make_engine
        from bot.schema import SchemaError

        database = make_engine(settings.database_url)
        try:
            print(action(database))
        except SQLAlchemyError as error:
            print(f"Không dùng được cơ sở dữ liệu: {str(getattr(error, 'orig', None) or error).splitlines()[0]}",
                  file=sys.stderr)
            return 1
        except SchemaError as error:
            print(str(error), file=sys.stderr)
            return 1
        finally:
            database.dispose()
        return 0

    return command


def _db_upgrade(database: Database) -> str:
    from bot.schema import upgrade

    done = upgrade(database)
    if done.stamped:
        return f"Đã ghi nhận cơ sở dữ liệu cũ (tạo trước khi có bản nâng cấp) và nâng cấp lên bản {done.after}."
    if done.before is None:
        return f"Đã tạo cơ sở dữ liệu ở bản {done.after}."
    if done.before == done.after:
        return f"Cơ sở dữ liệu đã ở bản mới nhất ({done.after}), không cần nâng cấp."
    return f"Đã nâng cấp cơ sở dữ liệu từ bản {done.before} lên {done.after}."


def _db_current(database: Database) -> str:
    from bot.schema import HEAD, current_revision

    with database.connect() as conn:
        revision = current_revision(conn)
    if revision == HEAD:
        return f"{revision} (mới nhất)"
    return f"{revision or 'chưa có'} (cần nâng cấp lên {HEAD}: troly db upgrade)"


def parser(wiring: Wiring) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="troly", description="Trợ lý số của tổ công nghệ số cộng đồng")
    sub = top.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="trả lời một câu hỏi")
    ask.add_argument("text", nargs="?")
    ask.add_argument("--group", action="store_true", help="như tin nhắn trong nhóm")
    ask.add_argument("--json", action="store_true")
    ask.add_argument("--jsonl", action="store_true", help="đọc từng dòng JSON từ stdin")
    ask.set_defaults(run=cmd_ask)

    ev = sub.add_parser("eval", help="đo độ chính xác trên tệp JSONL {text, context, expect}")
    ev.add_argument("file")
    ev.add_argument("-v", "--verbose", action="store_true", help="in các câu sai")
    ev.set_defaults(run=cmd_eval)

    chat = sub.add_parser("chat", help="trò chuyện thử trên màn hình")
    chat.add_argument("--group", action="store_true")
    chat.set_defaults(run=make_chat(wiring.handlers))

    faq = sub.add_parser("faq", help="nhập / xuất bộ hỏi đáp").add_subparsers(dest="faq_command", required=True)
    imp = faq.add_parser("import", help="nhập từ .json, .csv hoặc .xlsx")
    imp.add_argument("file")
    imp.add_argument("--replace", action="store_true", help="ngừng dùng các mục không có trong tệp")
    imp.add_argument("--author", default="cli")
    imp.set_defaults(run=cmd_faq_import)
    exp = faq.add_parser("export", help="xuất ra .json, .csv hoặc .xlsx")
    exp.add_argument("file")
    exp.set_defaults(run=cmd_faq_export)

    serve = sub.add_parser("serve", help="chạy máy chủ web")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=make_serve(wiring))

    team = sub.add_parser("team", help="các tổ").add_subparsers(dest="team_command", required=True)
    team_add = team.add_parser("add", help="tạo tổ")
    team_add.add_argument("name")
    team_add.add_argument("--commune")
    team_add.set_defaults(run=_people(_team_add))

    user = sub.add_parser("user", help="người dùng").add_subparsers(dest="user_command", required=True)
    user_add = user.add_parser("add", help="thêm hoặc sửa người dùng")
    user_add.add_argument("name")
    user_add.add_argument("--role", required=True, choices=["admin", "leader", "member"])
    user_add.add_argument("--team")
    user_add.add_argument("--zalo-id")
    user_add.add_argument("--facebook-id")
    user_add.add_argument("--password")
    user_add.set_defaults(run=_people(_user_add))

    group = sub.add_parser("group", help="nhóm chat").add_subparsers(dest="group_command", required=True)
    link = group.add_parser("link", help="liên kết nhóm chat với tổ")
    link.add_argument("--platform", required=True, choices=["zalo", "zalo-bot", "facebook"])
    link.add_argument("--chat-id", required=True)
    link.add_argument("--team", required=True)
    link.add_argument("--staff", action="store_true", help="nhóm riêng của tổ (nhận thông báo khi nhắn riêng không được)")
    link.set_defaults(run=_people(_group_link))

    token = sub.add_parser("token", help="mã API cho script").add_subparsers(dest="token_command", required=True)
    token_create = token.add_parser("create", help="tạo mã API (in ở dòng cuối)")
    token_create.add_argument("name")
    token_create.add_argument("--role", required=True, choices=["admin", "leader", "member"])
    token_create.add_argument("--team")
    token_create.set_defaults(run=_people(_token_create))

    esc = sub.add_parser("escalations", help="các câu hỏi chuyển cho tổ")
    esc.add_argument("--status", choices=["open", "claimed", "answered", "closed"])
    esc.add_argument("--json", action="store_true")
    esc.set_defaults(run=cmd_escalations)

    retention = sub.add_parser("retention", help="thời hạn lưu dữ liệu").add_subparsers(dest="retention_command",
                                                                                     required=True)
    retention.add_parser("purge", help="xoá hội thoại cũ hơn TROLY_RETENTION_DAYS ngày").set_defaults(
        run=cmd_retention_purge)

    for name, help_text, command in (("export-user", "in mọi dữ liệu về một người (JSON)", cmd_export_user),
                                     ("forget-user", "xoá dữ liệu của một người", cmd_forget_user)):
        person = sub.add_parser(name, help=help_text)
        person.add_argument("platform", choices=["zalo", "zalo-bot", "facebook", "web"])
        person.add_argument("id", help="mã người dùng trên nền tảng đó")
        person.set_defaults(run=command)

    worker = sub.add_parser("worker", help="chạy riêng bộ xử lý tin nhắn và gửi trả lời")
    worker.set_defaults(run=make_worker(wiring))

    zalo = sub.add_parser("zalo", help="Zalo OA").add_subparsers(dest="zalo_command", required=True)
    groups = zalo.add_parser("groups", help="liệt kê các nhóm (GMF) của OA và mã nhóm")
    groups.add_argument("--json", action="store_true")
    groups.set_defaults(run=make_zalo_groups(wiring))

    db = sub.add_parser("db", help="cơ sở dữ liệu").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="nâng cấp lên bản mới nhất (an toàn khi chạy nhiều lần)").set_defaults(
        on_database=_database_command(_db_upgrade))
    db.add_parser("current", help="in bản hiện tại của cơ sở dữ liệu").set_defaults(
        on_database=_database_command(_db_current))
    return top


def run(argv: Sequence[str] | None, wiring: Wiring, settings: Settings | None = None) -> int:
    args = parser(wiring).parse_args(argv)
    settings = settings or Settings()
    if "on_database" in args:  # `troly db ...` works on the schema itself, before any seeding
        return args.on_database(settings)
    rt = Runtime.start(settings)
    if rt.generated_admin_password:
        print(f"Đã tạo tài khoản quản trị \"admin\" với mật khẩu: {rt.generated_admin_password}\n"
              "(chỉ in một lần; đặt TROLY_ADMIN_PASSWORD để tự chọn mật khẩu)", file=sys.stderr)
    try:
        return args.run(rt, args)
    finally:
        rt.engine.dispose()
