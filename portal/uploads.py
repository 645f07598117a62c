"""An upload through the portal: streamed to disk under the size bound, checked, handed to the ledger.

1. **Stream.** The multipart body is parsed as it arrives (python-multipart's streaming parser),
   the file part written straight to a temporary file in a hidden folder of the inbox (the inbox
   sensor never reads hidden folders).  Reading stops as soon as the file passes
   ``LSRP_MAX_UPLOAD_BYTES`` (the pipeline's own bound, ``contracts.reader.max_upload_bytes``) or the
   body passes it plus a small allowance for the form fields: the request gets 413 and nothing
   more is read, so memory stays flat whatever is sent.
2. **Check.** ``contracts.isolation.validate_isolated``, the ingest's bounded child process, on the
   saved bytes under the name as uploaded: the same answer ``lsrp validate`` gives, kept in the
   portal's store for the upload's page.
3. **Hand-off.** ``pipeline.ledger.receive``, the very call the inbox sensor makes, with the sender
   recorded in the event; a return for another LA than the one it is sent for (LA code in the file
   name or on the cover) is received as a quarantined event with the refusal as its reason.  No
   second ingest path: the daemon's batch run checks, records and answers the event as any other.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

from pipeline import ledger, paths

FIELD_LIMIT = 4096                # bytes of a plain form field (csrf token, quarter)
FORM_ALLOWANCE = 64 * 1024        # body bytes allowed beyond the file bound: boundaries, headers, fields
NAME_BYTES = 200                  # longest file name kept (file systems allow 255 bytes)


class TooLarge(Exception):
    """The body passed its bound: stop reading."""


class BadForm(Exception):
    """Not a multipart form this page sent."""


def max_bytes() -> int:
    from contracts.reader import max_upload_bytes

    return max_upload_bytes()


@dataclass
class Received:
    """What the stream carried: plain fields, and the file part (saved to ``path``)."""
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    path: Path | None = None
    size: int = 0
    folder: Path | None = None    # the hidden working folder, removed by ``discard``

    def discard(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class _Parts:
    """python-multipart callbacks: each part's headers, then its data to a field or the file."""

    def __init__(self, out: Received, limit: int):
        self.out, self.limit = out, limit
        self.header, self.value, self.headers = b"", b"", {}
        self.name, self.buf, self.file = None, bytearray(), None

    def callbacks(self) -> dict:
        return {"on_part_begin": self.begin, "on_header_field": self.h_field, "on_header_value": self.h_value,
                "on_header_end": self.h_end, "on_headers_finished": self.headers_done,
                "on_part_data": self.data, "on_part_end": self.end}

    def begin(self):
        self.headers, self.name, self.buf, self.file = {}, None, bytearray(), None

    def h_field(self, data, start, end):
        self.header += data[start:end]

    def h_value(self, data, start, end):
        self.value += data[start:end]

    def h_end(self):
        self.headers[self.header.decode("latin-1").lower()] = self.value
        self.header, self.value = b"", b""

    def headers_done(self):
        _, params = parse_options_header(self.headers.get("content-disposition", b""))
        self.name = params.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in params and self.out.path is None:
            self.out.filename = params[b"filename"].decode("utf-8", "replace")
            self.out.path = self.out.folder / "upload.part"
            self.file = open(self.out.path, "wb")

    def data(self, data, start, end):
        n = end - start
        if self.file is not None:
            self.out.size += n
            if self.out.size > self.limit:
                raise TooLarge()
            self.file.write(data[start:end])
        else:
            self.buf += data[start:end]
            if len(self.buf) > FIELD_LIMIT:
                raise BadForm("a form field is too long")

    def end(self):
        if self.file is not None:
            self.file.close()
            self.file = None
        elif self.name:
            self.out.fields[self.name] = self.buf.decode("utf-8", "replace")

    def close(self):
        if self.file is not None:
            self.file.close()


async def stream_form(request) -> Received:
    """Parse the request's multipart body as it streams in; raises TooLarge (nothing more is read)
    or BadForm.  The caller ``discard``s the result when done."""
    limit = max_bytes()
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise BadForm("not a multipart form")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_ALLOWANCE:
        raise TooLarge()  # said so up front: not one byte read
    out = Received(folder=paths.inbox() / f".portal-{uuid.uuid4().hex}")
    out.folder.mkdir(parents=True)
    parts = _Parts(out, limit)
    parser = MultipartParser(params[b"boundary"], parts.callbacks())
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit + FORM_ALLOWANCE:
                raise TooLarge()
            parser.write(chunk)
        parser.finalize()
    except (TooLarge, BadForm):
        parts.close()
        out.discard()
        raise
    except Exception as exc:  # a malformed body
        parts.close()
        out.discard()
        raise BadForm(str(exc)) from None
    return out


def sweep(older_than: float = 3600) -> int:
    """Remove working folders an upload left in the inbox when its process died mid-stream (nothing
    in them was received: a received file has already moved to received/<event>/)."""
    import time

    removed = 0
    inbox = paths.inbox()
    for folder in inbox.glob(".portal-*") if inbox.is_dir() else []:
        try:
            if time.time() - folder.stat().st_mtime > older_than:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def safe_name(name: str | None) -> str:
    """The file's own name as the browser sent it, made safe to create: the last path segment, no
    control characters, at most NAME_BYTES bytes (the ledger keeps it, and routes by it)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    if base in ("", ".", ".."):
        base = "upload"
    raw = base.encode("utf-8")
    if len(raw) > NAME_BYTES:
        stem, suffix = os.path.splitext(base)
        base = stem.encode("utf-8")[: NAME_BYTES - len(suffix.encode())].decode("utf-8", "ignore") + suffix
    return base


def check(path: Path, name: str, period: str | None = None):
    """The same answer ``lsrp validate`` gives, in the ingest's bounded child process; plus, as the
    ingest will say, E-PERIOD when the quarter chosen is not the one on the cover."""
    from contracts.isolation import validate_isolated
    from pipeline.ingest import expected_period_error

    result = validate_isolated(path, None, original_name=name)
    mismatch = expected_period_error(result, period) if period else None
    if mismatch is not None:
        result.findings.append(mismatch)
    return result


def refusal_for(name: str, result, for_la: str) -> str | None:
    """Why a return cannot be taken for ``for_la``: the LA code in its name or on its cover is another's."""
    from contracts.reference import la_names

    names = la_names()
    in_name = ledger.la_code_from_name(name)
    on_cover = getattr(getattr(result, "content", None), "la_code", None)
    for where, code in (("file name", in_name), ("cover sheet", on_cover)):
        if code and code != for_la:
            return (f"the {where} says this return is for LA {code} ({names.get(code, 'unknown')}), but it was "
                    f"uploaded for LA {for_la} ({names.get(for_la, 'unknown')}); a return can be uploaded "
                    f"only for the local authority it is for")
    return None


def hand_off(received: Received, name: str, period: str, sender: dict, refusal: str | None) -> ledger.Event:
    """Give the saved file to the ledger exactly as the inbox sensor does (archive, event, moved to
    received/), under its own name, with the sender and any refusal in the event."""
    final = received.folder / name
    os.replace(received.path, final)
    for _ in range(3):  # None only if the file changed while copied, which nothing here does
        ev = ledger.receive(final, period, sender=sender, refusal=refusal)
        if ev is not None:
            return ev
    raise RuntimeError("the upload could not be recorded")


def result_json(result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, default=str)
