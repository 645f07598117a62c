"""``dagster-daemon`` as `lsrp serve` runs it: Dagster's own daemon, with a console that says what
changed.  Dagster's sensor and scheduler daemons log two lines every tick of every sensor ("Checking
for new runs for sensor: X", then "Sensor X skipped: <reason>"), the run queue a line each time it
looks at queued runs and run monitoring two each poll of a run in progress: the bulk of a service
log, saying nothing new.  Here the "checking" lines are dropped, a run being monitored is named once,
and a skip reason is logged only when it differs from that sensor's last one.  Everything else (runs requested, errors, warnings) is logged as before.

Run as ``python -m pipeline.daemon run -w workspace.yaml`` (the same arguments as dagster-daemon).
"""
from __future__ import annotations

import logging
import re
import sys

SKIPPED = re.compile(r"^(Sensor|Schedule) (\S+) skipped: (.*)$", re.S)
# said every tick (sensors), every queue check, every monitoring poll: nothing new
CHECKING = ("Checking for new runs for sensor: ", "Priority sorting and checking tag concurrency limits",
            "Collected ", "Poll for queued runs")
ONCE = re.compile(r"^Checking run (\S+)")  # run monitoring, every poll of each run: said once per run


class ChangedOnly(logging.Filter):
    """Drops the per-tick "checking" line and a skip reason repeated from the same sensor's last."""

    def __init__(self):
        super().__init__()
        self.last: dict[str, str] = {}
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        msg = record.getMessage()
        if msg.startswith(CHECKING):
            return False
        once = ONCE.match(msg)
        if once:
            if once.group(1) in self.seen:
                return False
            self.seen.add(once.group(1))
            return True
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
    for name in ("dagster.daemon.SensorDaemon", "dagster.daemon.SchedulerDaemon", "dagster.daemon.MonitoringDaemon",
                 "dagster.daemon.QueuedRunCoordinatorDaemon"):
        logging.getLogger(name).addFilter(quiet)


def main() -> int:
    install()
    from dagster._daemon.cli import main as daemon_main

    sys.argv[0] = "dagster-daemon"
    return daemon_main()


if __name__ == "__main__":
    sys.exit(main())
