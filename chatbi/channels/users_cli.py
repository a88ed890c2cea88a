"""``chatbi users add/list/remove``: the web app's accounts (see chatbi.channels.accounts).

Exit status as everywhere: 0 done; 2 bad input (unknown role, duplicate or unknown user,
empty or weak password); 1 the application database cannot be used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from chatbi.config import Settings
from chatbi.errors import UserInputError

DbOption = Annotated[
    Path | None,
    typer.Option("--db", metavar="PATH", help="warehouse file; accounts live beside it in <warehouse>.app.sqlite"),
]


def settings_for(db: Path | None) -> Settings:
    return Settings.from_env(db)


def _console(**options: Any) -> Any:
    """A rich Console, imported on use (the ``users`` commands are built on every start)."""
    from rich.console import Console

    return Console(**options)


def _read_password(from_stdin: bool) -> str:
    """The password from one line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserInputError(
            "没有终端可输入密码 / no terminal to type the password: pipe it with --password-stdin",
            code="invalid_input",
        )
    return str(typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True, default="",
                            show_default=False))


def build_users_app(handle_errors: Any) -> typer.Typer:
    """The ``users`` command group with the CLI's error handling (passed in, so this module
    does not import ``chatbi.channels.cli``)."""
    users_app = typer.Typer(help="网页版账户 / web-app accounts (sign-in and roles).", no_args_is_help=True)

    @users_app.command("add")
    @handle_errors
    def add(
        username: Annotated[str, typer.Argument(metavar="NAME", help="user name, or the e-mail for --sso")],
        role: Annotated[str, typer.Option("--role", metavar="ROLE", help="admin | analyst | marketer | merchant:<id>")],
        sso: Annotated[bool, typer.Option("--sso", help="a single-sign-on identity (no password here)")] = False,
        password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
        db: DbOption = None,
    ) -> None:
        """添加账户 / add an account (asks for the password unless --sso)."""
        from chatbi.channels.accounts import AccountStore, validate_role, validate_username

        validate_username(username)  # fail before asking for a password
        validate_role(role)
        store = AccountStore.from_settings(settings_for(db))
        if store.get(username) is not None:
            from chatbi.channels.accounts import AccountError

            raise AccountError(f"用户已存在 / the user {username.strip()!r} already exists", code="duplicate_user")
        password = None if sso else _read_password(password_stdin)
        account = store.add(username, role, password, sso=sso)
        _console(stderr=True, highlight=False).print(
            f"已添加 / added {account.username} ({account.kind}, role {account.role}) → {store.path}")


    @users_app.command("set-role")
    @handle_errors
    def set_role(
        username: Annotated[str, typer.Argument(metavar="NAME")],
        role: Annotated[str, typer.Option("--role", metavar="ROLE", help="admin | analyst | marketer | merchant:<id>")],
        db: DbOption = None,
    ) -> None:
        """改角色（历史保留）/ change an account's role (its history stays)."""
        from chatbi.channels.accounts import AccountStore

        account = AccountStore.from_settings(settings_for(db)).set_role(username, role)
        _console(stderr=True, highlight=False).print(f"已更新 / {account.username}: role {account.role}")

    @users_app.command("set-password")
    @handle_errors
    def set_password(
        username: Annotated[str, typer.Argument(metavar="NAME")],
        password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
        db: DbOption = None,
    ) -> None:
        """改密码并让其登录失效 / change a password and sign the account out everywhere."""
        from chatbi.channels.accounts import AccountError, AccountStore

        store = AccountStore.from_settings(settings_for(db))
        account = store.get(username)
        if account is None:
            raise AccountError(f"没有这个用户 / no user named {username.strip()!r}", code="unknown_user")
        store.set_password(username, _read_password(password_stdin))
        _console(stderr=True, highlight=False).print(f"已更新 / password of {account.username} changed")

    @users_app.command("list")
    @handle_errors
    def list_users(
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        db: DbOption = None,
    ) -> None:
        """列出账户 / list accounts (never shows password hashes)."""
        from chatbi.channels.accounts import AccountStore

        accounts = AccountStore.from_settings(settings_for(db)).list()
        if as_json:
            typer.echo(json.dumps([{"username": a.username, "role": a.role, "kind": a.kind,
                                    "created_at": a.created_at} for a in accounts], ensure_ascii=False))
            return
        from rich.table import Table

        table = Table("user", "role", "kind", "created")
        for a in accounts:
            table.add_row(a.username, a.role, a.kind, a.created_at)
        _console(highlight=False).print(table if accounts else "还没有账户 / no accounts yet: `chatbi users add NAME --role ROLE`")


    @users_app.command("remove")
    @handle_errors
    def remove(
        username: Annotated[str, typer.Argument(metavar="NAME")],
        db: DbOption = None,
    ) -> None:
        """删除账户及其历史（并让其登录失效）/ remove an account and its history, and sign it out everywhere."""
        from chatbi.channels.accounts import AccountStore
        from chatbi.channels.history import HistoryStore

        settings = settings_for(db)
        store = AccountStore.from_settings(settings)
        store.remove(username)
        gone = HistoryStore.from_settings(settings).forget_user(username.strip())
        _console(stderr=True, highlight=False).print(
            f"已删除 / removed {username.strip()} (and {gone} conversations of its history)")

    return users_app
