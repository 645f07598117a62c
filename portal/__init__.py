"""The portal (issue 19): LAs sign in, upload their return, read the answer, their feedback and packs; DfE
sees every LA; an admin manages users.  ``python -m portal``; see README "The portal".

- ``app``: the Starlette app, the access guard (roles, CSRF, sessions), security headers, error pages;
- ``routes``: the route table (each handler declares who may use it: ``access.allow``);
- ``access``: roles and the per-object checks; ``records``: what the pipeline wrote (ledger, feedback, packs);
- ``auth``: accounts, Argon2 passwords, one-time links, sessions, throttling; ``store``: the SQLite layer and
  the append-only audit trail; ``signin``: sign-in, sign-out, set-password and the OpenID Connect hook;
- ``uploads``: streaming under the bound, the check, the hand-off to the ledger; ``pages``, ``packs``, ``dfe``:
  the pages; ``users_cli``: ``lsrp users``.

The portal looks down on pipeline, contracts and reports; nothing there imports it but ``lsrp``'s command line.
"""
