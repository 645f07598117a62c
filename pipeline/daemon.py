"""``dagster-daemon`` as `lsrp serve` runs it: Dagster's own daemon, with a console that says what
changed.  Dagster's sensor and scheduler daemons log two lines every tick of every sensor ("Checking
for new runs for sensor: X", then "Sensor X skipped: <reason>"), the bulk of a service log that
says nothing new; here the first is dropped and a skip reason is logged only when it differs from
that sensor's last one.  Everything else (runs requested, errors, warnings) is logged as before.

Run as ``python -m pipeline.daemon run -w workspace.yaml`` (the same arguments as dagster-daemon).
"""
from __future__ import annotations

import logging
import re
import sys

SKIPPED = re.compile(r"^(Sensor|Schedule) (\S+) skipped: (.*)$", re.S)
CHECKING = ("Checking for new runs for sensor: ",)


class ChangedOnly(logging.Filter):
    """Drops the per-tick "checking" line and a skip reason repeated from the same sensor's last."""

    def __init__(self):
        super().__init__()
        self.last: dict[str, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        msg = record.getMessage()
        if msg.startswith(CHECKING):
            return False
        m = SKIPPED.match(msg)
        if m:
            name, reason = m.group(2), m.group(3)
            if self.last.get(name) == reason:
                return False
            self.last[name] = reason
            return True
        # the sensor ran and did something: its next skip is news again
        for name in list(self.last):
            if name in msg:
                self.last.pop(name)
        return True


def install() -> None:
    quiet = ChangedOnly()
    for name in ("dagster.daemon.SensorDaemon", "dagster.daemon.SchedulerDaemon"):
        logging.getLogger(name).addFilter(quiet)


def main() -> int:
    install()
    from dagster._daemon.cli import main as daemon_main

    sys.argv[0] = "dagster-daemon"
    return daemon_main()


if __name__ == "__main__":
    sys.exit(main())
