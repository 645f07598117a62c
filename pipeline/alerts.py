"""Alerts through real channels: email (SMTP) and a chat webhook (Teams or Slack), each alert once.

What is alerted (callers in brackets):

- a run failure that will not be retried (the ``record_run_failures`` sensor);
- a held return (``alert_held``, called where a return is held back) and a quarantined upload
  (the ingest batch);
- a return rejected after its LA's deadline (the ingest batch);
- the LAs still missing on the deadline morning, as one digest (the ``deadline_digest`` schedule).

Configuration: environment variables, or a YAML file (``LSRP_ALERTS_CONFIG``, default
``$LSRP_HOME/alerts.yaml``) with the same keys in lower case without the prefix; the environment wins::

    smtp_host: smtp.example.gov.uk   # LSRP_ALERT_SMTP_HOST; no host: no email
    smtp_port: 587                   # LSRP_ALERT_SMTP_PORT (default 25)
    smtp_starttls: true              # LSRP_ALERT_SMTP_STARTTLS (default false)
    smtp_user: lsrp                  # LSRP_ALERT_SMTP_USER / LSRP_ALERT_SMTP_PASSWORD (optional)
    smtp_password: ...
    mail_from: lsrp@example.gov.uk   # LSRP_ALERT_MAIL_FROM
    mail_to: [a@example.gov.uk]      # LSRP_ALERT_MAIL_TO (comma-separated)
    webhook_urls: [https://...]      # LSRP_ALERT_WEBHOOK (comma-separated); JSON {"text": ...}, which
                                     # Teams and Slack incoming webhooks both accept

Each alert has a key (e.g. ``run-failure:<run id>``); ``$LSRP_HOME/alerts/sent.jsonl`` records each
key and channel once delivered, so an alert is sent once per channel however often it is raised (a
sensor re-evaluating, a retried run).  A channel that fails is tried again the next time the same
alert is raised; no failure here ever fails the pipeline (it is logged and returned).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import smtplib
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

from pipeline import paths

log = logging.getLogger("lsrp.alerts")
PREFIX = "LSRP_ALERT_"


@dataclass
class Config:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "lsrp@localhost"
    mail_to: list[str] = field(default_factory=list)
    webhook_urls: list[str] = field(default_factory=list)
    timeout: float = 10.0

    @property
    def channels(self) -> list[str]:
        out = [f"email:{to}" for to in self.mail_to] if self.smtp_host else []
        return out + [f"webhook:{u}" for u in self.webhook_urls]


def _list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def config_path() -> Path:
    return Path(os.environ.get("LSRP_ALERTS_CONFIG") or paths.home() / "alerts.yaml")


def load_config() -> Config:
    raw: dict = {}
    path = config_path()
    if path.exists():
        import yaml

        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    env = {k[len(PREFIX):].lower(): v for k, v in os.environ.items() if k.startswith(PREFIX)}
    if "webhook" in env:
        env["webhook_urls"] = env.pop("webhook")
    raw.update(env)
    truthy = lambda v: str(v).lower() in ("1", "true", "yes", "on")  # noqa: E731
    return Config(smtp_host=raw.get("smtp_host") or None, smtp_port=int(raw.get("smtp_port") or 25),
                  smtp_starttls=truthy(raw.get("smtp_starttls", False)), smtp_user=raw.get("smtp_user") or None,
                  smtp_password=raw.get("smtp_password") or None,
                  mail_from=raw.get("mail_from") or "lsrp@localhost", mail_to=_list(raw.get("mail_to")),
                  webhook_urls=_list(raw.get("webhook_urls")), timeout=float(raw.get("timeout") or 10))


# ------------------------------------------------------------------ the sent-log
def sent_log() -> Path:
    return paths.home() / "alerts" / "sent.jsonl"


@contextlib.contextmanager
def _locked():
    path = sent_log().with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sent() -> set[tuple[str, str]]:
    """(alert key, channel) pairs delivered so far."""
    out = set()
    try:
        lines = sent_log().read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        with contextlib.suppress(ValueError, KeyError):
            d = json.loads(line)
            out.add((d["key"], d["channel"]))
    return out


def _record(key: str, channel: str, subject: str) -> None:
    with open(sent_log(), "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"key": key, "channel": channel, "subject": subject,
                             "sent_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


# ------------------------------------------------------------------ channels
def _email(cfg: Config, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg.mail_from, to, subject
    msg.set_content(body)
    with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout) as smtp:
        if cfg.smtp_starttls:
            smtp.starttls()
        if cfg.smtp_user:
            smtp.login(cfg.smtp_user, cfg.smtp_password or "")
        smtp.send_message(msg)


def _webhook(cfg: Config, url: str, subject: str, body: str) -> None:
    data = json.dumps({"text": f"{subject}\n\n{body}", "title": subject}).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=cfg.timeout) as resp:
        if resp.status >= 300:
            raise OSError(f"webhook answered HTTP {resp.status}")


def send(key: str, subject: str, body: str, cfg: Config | None = None) -> dict[str, str]:
    """Send one alert on every configured channel not yet sent for ``key``.  Returns channel ->
    "sent", "already sent" or the error; never raises."""
    try:
        cfg = cfg or load_config()
    except Exception as exc:  # a broken config file must not stop ingest
        log.error("alerts: cannot read the configuration %s: %s", config_path(), exc)
        return {"config": f"{type(exc).__name__}: {exc}"}
    subject = f"[LSRP] {subject}"
    out: dict[str, str] = {}
    if not cfg.channels:  # alerts not configured: nothing to send, nothing to record
        return out
    try:
        with _locked():
            done = sent()
            for channel in cfg.channels:
                if (key, channel) in done:
                    out[channel] = "already sent"
                    continue
                kind, target = channel.split(":", 1)
                try:
                    (_email if kind == "email" else _webhook)(cfg, target, subject, body)
                except Exception as exc:
                    log.error("alerts: %s could not be sent to %s: %s: %s", key, channel, type(exc).__name__, exc)
                    out[channel] = f"{type(exc).__name__}: {exc}"
                    continue
                _record(key, channel, subject)
                out[channel] = "sent"
    except Exception as exc:
        log.error("alerts: %s: %s: %s", key, type(exc).__name__, exc)
        out["sent-log"] = f"{type(exc).__name__}: {exc}"
    return out


# ------------------------------------------------------------------ the alerts
def ui_hint() -> str:
    return "Open the Dagster UI (lsrp serve, http://<host>:3000) for the details."


def alert_run_failure(run_id: str, job_name: str, message: str, las: str | None = None,
                      quarter: str | None = None, retry_number: int = 0) -> dict[str, str]:
    """A run failed and will not be retried: someone must look at it."""
    what = ", ".join(x for x in (f"LAs {las}" if las else "", quarter or "") if x)
    body = (f"Run {run_id} of {job_name}{f' ({what})' if what else ''} failed and will not be retried "
            f"(retry {retry_number}).\n\n{message[:2000]}\n\n{ui_hint()}")
    return send(f"run-failure:{run_id}", f"Run failed, not retried: {job_name}{f' {quarter}' if quarter else ''}", body)


def alert_held(la_code: str, quarter: str, reason: str, key: str | None = None) -> dict[str, str]:
    """A return held back (not accepted, not rejected) until someone decides.  ``key`` identifies this
    hold (e.g. the upload event); by default one alert per LA, quarter and reason."""
    body = (f"The return of LA {la_code} for {quarter} is held back: {reason}\n\n"
            "It passed validation but failed a check in the warehouse, so the quarter was published without "
            "it (the LA's previous accepted return for the quarter, or DfE-held data only, stands). Its pack and "
            "feedback say why; a corrected upload replaces it.\n\n" + ui_hint())
    return send(key or f"held:{la_code}:{quarter}:{reason}", f"Return held: LA {la_code} {quarter}", body)


def alert_quarantined(event_id: str, name: str, folder: str, reason: str) -> dict[str, str]:
    """An upload that could not be filed under an LA and quarter (quarantine)."""
    where = f"inbox/{folder}/{name}" if folder else f"inbox/{name}"
    body = (f"The upload {where} (event {event_id}) could not be filed under an LA and quarter: {reason}.\n\n"
            "It is archived and rejected; its feedback is under feedback/quarantine/. Find out who sent it and "
            "ask them to upload it again with the right name, in the right quarter's folder.")
    return send(f"quarantine:{event_id}", f"Upload quarantined: {name}", body)


def alert_rejected_late(la_code: str, quarter: str, deadline: str, event_id: str, name: str,
                        errors: int) -> dict[str, str]:
    """A return rejected after its LA's deadline: the LA may not get another chance in time."""
    body = (f"LA {la_code}'s return for {quarter} ({name}, event {event_id}) was rejected with {errors} "
            f"error(s) after the deadline ({deadline}). The LA has its feedback; DfE may need to follow up.")
    return send(f"rejected-late:{event_id}", f"Return rejected after the deadline: LA {la_code} {quarter}", body)


def alert_missing_digest(quarter: str, deadline: str, missing: list[tuple[str, str]]) -> dict[str, str]:
    """The deadline morning's digest: every LA with no return yet (code, name)."""
    if missing:
        lines = "\n".join(f"- {code} {name}" for code, name in missing)
        body = f"{len(missing)} LA(s) have not sent their {quarter} return; the deadline is today ({deadline}).\n\n{lines}"
    else:
        body = f"Every LA has sent its {quarter} return (deadline today, {deadline})."
    return send(f"missing-digest:{quarter}:{deadline}",
                f"{len(missing)} LA(s) still missing on the {quarter} deadline", body)
