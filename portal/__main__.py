"""``python -m portal [--host 127.0.0.1] [--port 3100]``: the portal on its own (``lsrp serve`` starts it
as a child).  Behind a TLS reverse proxy, pass ``--proxy`` with the proxy's address so the client's
address (sign-in throttling, the audit trail) and the https scheme come from its forwarded headers."""
from __future__ import annotations

import argparse
import logging
import sys


class HideTokens(logging.Filter):
    """The access log never shows a set-password link's token (whoever reads the log could use an
    unused link): the path is logged as /set-password/…"""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and str(args[2]).startswith("/set-password/"):
            record.args = (*args[:2], "/set-password/…", *args[3:])
        return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m portal", description="The LSRP returns portal")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3100)
    p.add_argument("--proxy", action="append", default=[],
                   help="address of a trusted reverse proxy (repeatable): its X-Forwarded-For/-Proto are believed")
    args = p.parse_args(argv)
    import uvicorn

    from portal.app import create_app
    from portal.pages import warm_checker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("uvicorn.access").addFilter(HideTokens())
    app = create_app()
    warm_checker()
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=bool(args.proxy),
                forwarded_allow_ips=",".join(args.proxy) or None, server_header=False, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
