"""Who may do what.  Deny by default.

Every handler declares the roles that may call it with ``@allow(...)``; the app refuses a handler
without the attribute for everyone, and ``tests/test_portal_access.py`` fails for any route in the
app's route table without a rule.  Roles are checked before the handler runs; objects (events,
feedback, original files, packs) are checked inside it with the functions below, against the LA
the signed-in user is bound to.
"""
from __future__ import annotations

ANON, LA, DFE, ADMIN = "anonymous", "la", "dfe", "admin"
SIGNED_IN = (LA, DFE, ADMIN)
DATA_ROLES = (LA, DFE)            # the roles that see returns, feedback and packs


class Denied(Exception):
    """An object the user may not see (or that does not exist: the two look the same to them)."""

    def __init__(self, what: str, reason: str):
        super().__init__(reason)
        self.what, self.reason = what, reason


def allow(*roles: str):
    """Declare who may use a handler: ``@allow(LA, DFE)``; ``@allow(ANON, *SIGNED_IN)`` for public pages."""
    unknown = set(roles) - {ANON, *SIGNED_IN}
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}" if unknown else "name at least one role")

    def mark(handler):
        handler.allowed_roles = frozenset(roles)
        return handler
    return mark


def allowed_roles(handler) -> frozenset:
    """The handler's rule; a handler without one is allowed to no one."""
    return getattr(handler, "allowed_roles", frozenset())


def role_of(user: dict | None) -> str:
    return user["role"] if user else ANON


def may_see_la(user: dict | None, la_code: str | None) -> bool:
    """DfE sees every LA; an LA user only the LA it is bound to; nobody else any."""
    if user is None or la_code is None:
        return False
    if user["role"] == DFE:
        return True
    return user["role"] == LA and user["la_code"] == la_code


def check_la(user: dict | None, la_code: str, what: str) -> None:
    if not may_see_la(user, la_code):
        raise Denied(what, f"{role_of(user)} user may not see LA {la_code}")
