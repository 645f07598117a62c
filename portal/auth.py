"""Who someone is: local accounts (Argon2 passwords set through a one-time link), server-side
sessions, CSRF tokens and sign-in throttling.

- There is no default password: ``add_user`` makes an account without one and returns a one-time
  link (valid ``SET_PASSWORD_HOURS``) to set it.
- A session id is 32 random bytes in an HttpOnly, SameSite=Lax cookie; the database keeps only its
  SHA-256, so a copy of the database cannot be replayed as a cookie.  A new id is issued at sign-in
  (the anonymous session that carried the sign-in form is deleted: no session fixation).
- A session ends after ``idle_minutes()`` without a request, or ``MAX_SESSION_HOURS`` in all.
- Failed sign-ins are counted per account and per address over ``THROTTLE_WINDOW``; past either
  limit even a right password is refused, with the same message as a wrong one.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email

from portal.store import Store, now, now_text

ROLES = ("la", "dfe", "admin")
SET_PASSWORD_HOURS = 72
MAX_SESSION_HOURS = 12
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD_LENGTH = 12
SIGN_IN_REFUSED = ("Enter a correct email address and password. After several failed attempts, "
                   "sign-in is paused for 15 minutes.")

_hasher = PasswordHasher()
# verified against when the account does not exist, so a missing account takes as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class UserError(ValueError):
    """A user-management request that cannot be done (message safe to show)."""


def idle_minutes() -> float:
    return float(os.environ.get("LSRP_PORTAL_IDLE_MINUTES", "30"))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------ users
def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise UserError(f"'{email}' is not an email address: {exc}") from None


def add_user(store: Store, email: str, role: str, la_code: str | None) -> tuple[dict, str]:
    """Create an account without a password; returns (user, one-time set-password token)."""
    from contracts.reference import la_codes

    email = normalise_email(email)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role == "la" and la_code not in set(la_codes()):
        raise UserError(f"'{la_code}' is not the code of an English local authority")
    if role != "la" and la_code:
        raise UserError("only an LA user is bound to an LA code")
    if store.one("select id from users where email = ?", (email,)):
        raise UserError(f"there is already a user {email}")
    uid = store.run("insert into users (email, role, la_code, created_at) values (?, ?, ?, ?)",
                    (email, role, la_code if role == "la" else None, now_text()))
    return get_user(store, uid), new_set_password_token(store, uid)


def new_set_password_token(store: Store, user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    expires = (now() + timedelta(hours=SET_PASSWORD_HOURS)).isoformat()
    store.run("insert into set_password_tokens (token_hash, user_id, expires_at) values (?, ?, ?)",
              (_digest(token), user_id, expires))
    return token


def get_user(store: Store, user_id: int) -> dict | None:
    return store.one("select * from users where id = ?", (user_id,))


def user_by_email(store: Store, email: str) -> dict | None:
    return store.one("select * from users where email = ?", (email.strip(),))


def users(store: Store) -> list[dict]:
    return store.all("select * from users order by role, la_code, email")


def set_disabled(store: Store, user_id: int, disabled: bool) -> None:
    store.run("update users set disabled = ? where id = ?", (int(disabled), user_id))
    if disabled:  # a disabled user is signed out everywhere at once
        store.run("delete from sessions where user_id = ?", (user_id,))


def token_user(store: Store, token: str) -> dict | None:
    """The user a set-password token is for, if it is unused and in date."""
    row = store.one("select * from set_password_tokens where token_hash = ?", (_digest(token),))
    if not row or row["used"] or row["expires_at"] < now().isoformat():
        return None
    user = get_user(store, row["user_id"])
    return user if user and not user["disabled"] else None


def set_password(store: Store, token: str, password: str) -> dict:
    user = token_user(store, token)
    if user is None:
        raise UserError("This link has expired or has been used. Ask DfE for a new one.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"Enter a password of at least {MIN_PASSWORD_LENGTH} characters")
    store.run("update users set password_hash = ? where id = ?", (_hasher.hash(password), user["id"]))
    store.run("update set_password_tokens set used = 1 where user_id = ?", (user["id"],))
    return user


# ------------------------------------------------------------------ sign-in
def _throttled(store: Store, email: str, address: str) -> bool:
    since = (now() - THROTTLE_WINDOW).isoformat()
    by_account = store.one("select count(*) n from sign_in_failures where email = ? and at > ?", (email, since))["n"]
    by_address = store.one("select count(*) n from sign_in_failures where address = ? and at > ?",
                           (address, since))["n"]
    return by_account >= MAX_FAILURES_PER_ACCOUNT or by_address >= MAX_FAILURES_PER_ADDRESS


def check_password(store: Store, email: str, password: str, address: str) -> tuple[dict | None, str]:
    """(user, why) : the user when the email and password are right and sign-in is not paused;
    else None and the reason for the audit trail (the person sees one message whatever it is)."""
    email = email.strip()
    if _throttled(store, email, address):
        store.run("insert into sign_in_failures (at, email, address) values (?, ?, ?)", (now_text(), email, address))
        return None, "throttled"
    user = user_by_email(store, email)
    try:
        _hasher.verify((user or {}).get("password_hash") or _DUMMY_HASH, password)
        ok = user is not None and user["password_hash"] is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    why = "ok" if ok and not user["disabled"] else ("disabled" if ok else "wrong email or password")
    if why != "ok":
        store.run("insert into sign_in_failures (at, email, address) values (?, ?, ?)", (now_text(), email, address))
        return None, why
    return user, why


# ------------------------------------------------------------------ sessions
def prune(store: Store) -> None:
    """Forget sessions past their idle time and failures past the throttling window (each new session
    does this, so neither table grows with visitors who never come back)."""
    store.run("delete from sessions where last_seen < ?", ((now() - timedelta(minutes=idle_minutes())).isoformat(),))
    store.run("delete from sign_in_failures where at < ?", ((now() - THROTTLE_WINDOW).isoformat(),))


def new_session(store: Store, user_id: int | None, data: dict | None = None) -> tuple[str, dict]:
    """A fresh session: (cookie value, the session row)."""
    prune(store)
    token = secrets.token_urlsafe(32)
    stamp = now_text()
    store.run("insert into sessions (id_hash, user_id, csrf, data, created_at, last_seen) values (?, ?, ?, ?, ?, ?)",
              (_digest(token), user_id, secrets.token_urlsafe(32), json.dumps(data or {}), stamp, stamp))
    return token, load_session(store, token)


def load_session(store: Store, token: str | None) -> dict | None:
    """The live session a cookie names (idle and absolute timeouts applied), or None."""
    if not token:
        return None
    row = store.one("select * from sessions where id_hash = ?", (_digest(token),))
    if row is None:
        return None
    if row["last_seen"] < (now() - timedelta(minutes=idle_minutes())).isoformat() \
            or row["created_at"] < (now() - timedelta(hours=MAX_SESSION_HOURS)).isoformat():
        store.run("delete from sessions where id_hash = ?", (row["id_hash"],))
        return None
    store.run("update sessions set last_seen = ? where id_hash = ?", (now_text(), row["id_hash"]))
    row["data"] = json.loads(row["data"])
    return row


def save_session_data(store: Store, session: dict) -> None:
    store.run("update sessions set data = ? where id_hash = ?", (json.dumps(session["data"]), session["id_hash"]))


def end_session(store: Store, session: dict | None) -> None:
    if session:
        store.run("delete from sessions where id_hash = ?", (session["id_hash"],))


def csrf_ok(session: dict | None, token: str | None) -> bool:
    return bool(session and token and hmac.compare_digest(session["csrf"], token))
