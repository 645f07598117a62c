"""``lsrp users``: manage portal accounts from the command line (``pipeline/cli.py`` only parses the
arguments and hands them here).  Adding a user prints a one-time link to set the password: there
is no default password.  Every change is in the audit trail, made by ``cli:<login name>``."""
from __future__ import annotations

import getpass
import os
import sys

from portal import auth
from portal.dfe import set_password_link
from portal.store import Store


def base_url() -> str:
    """Where people reach the portal (env LSRP_PORTAL_URL), for the links this prints."""
    return os.environ.get("LSRP_PORTAL_URL", "http://127.0.0.1:3100")


def _actor() -> dict:
    try:
        who = getpass.getuser()
    except Exception:
        who = "unknown"
    return {"email": f"cli:{who}", "role": "cli"}


def run(args) -> int:
    store = Store()
    try:
        return {"add": _add, "list": _list, "disable": _disable, "enable": _enable, "reset": _reset}[args.action](store, args)
    except auth.UserError as exc:
        print(f"lsrp users {args.action}: {exc}", file=sys.stderr)
        return 2


def _add(store: Store, args) -> int:
    role = args.role or ("la" if args.la else None)
    if role is None:
        raise auth.UserError("give --la CODE for an LA user, or --role dfe|admin")
    user, token = auth.add_user(store, args.email, role, args.la)
    store.audit("user-add", "ok", user=_actor(), obj=user["email"], new_role=role, la=user["la_code"])
    print(f"Added {user['email']} ({role}{' ' + user['la_code'] if user['la_code'] else ''}).")
    print(f"Send them this one-time link to set their password (valid {auth.SET_PASSWORD_HOURS} hours):")
    print(set_password_link(base_url(), token))
    return 0


def _user(store: Store, email: str) -> dict:
    user = auth.user_by_email(store, email)
    if user is None:
        raise auth.UserError(f"there is no user {email}")
    return user


def _list(store: Store, args) -> int:
    for u in auth.users(store):
        state = "disabled" if u["disabled"] else ("active" if u["password_hash"] or u["oidc_subject"] else "link not used")
        print(f"{u['email']}\t{u['role']}\t{u['la_code'] or '-'}\t{state}")
    return 0


def _disable(store: Store, args) -> int:
    user = _user(store, args.email)
    auth.set_disabled(store, user["id"], True)
    store.audit("user-disable", "ok", user=_actor(), obj=user["email"])
    print(f"Disabled {user['email']} (signed out everywhere).")
    return 0


def _enable(store: Store, args) -> int:
    user = _user(store, args.email)
    auth.set_disabled(store, user["id"], False)
    store.audit("user-enable", "ok", user=_actor(), obj=user["email"])
    print(f"Enabled {user['email']}.")
    return 0


def _reset(store: Store, args) -> int:
    user = _user(store, args.email)
    token = auth.new_set_password_token(store, user["id"])
    store.audit("password-reset-link", "ok", user=_actor(), obj=user["email"])
    print(set_password_link(base_url(), token))
    return 0
