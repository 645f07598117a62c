"""Signatories' email addresses: a work address, checked with the email-validator library (syntax
only, no DNS: validation must give the same answer offline and every time), plus what a work
address never needs and spreadsheets or pages could act on."""
from __future__ import annotations

import re

from contracts import reference

# Letters, digits and . _ - ' + before the @-sign, starting with a letter or digit: RFC 5322 also
# allows { } = * / | ... (so "{{7*7}}@x" and "=1+1@x" are valid addresses), which no LA's work
# address uses and a template engine or a spreadsheet would act on.
_WORK_LOCAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._'+-]*$")


def email_problem(address: str) -> str | None:
    """Why ``address`` is not a work email address, in plain words; None when it is one."""
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return str(exc).rstrip(".")
    if not _WORK_LOCAL_RE.match(checked.local_part):
        return ("a work email address has only letters, digits and . _ - ' + before the @-sign, "
                "starting with a letter or digit")
    return None


def domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower()


def other_la(address: str, la_code: str | None) -> str | None:
    """The code of the LA whose known email domain ``address`` is on (itself or a subdomain), when that
    is not ``la_code``'s (see ``reference.la_email_domain`` for where the domains come from)."""
    known = reference.la_email_domains()
    d = domain(address)
    for candidate in (d, *(d.split(".", i)[-1] for i in range(1, d.count(".")))):
        code = known.get(candidate)
        if code is not None:
            return None if code == la_code else code
    return None
