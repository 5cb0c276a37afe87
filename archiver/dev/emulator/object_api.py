"""Serving documents: content, metadata and delete, at today's and the seed's URLs.

Each request first consumes an injected fault, if one is queued (see ``faults``); then the
document is served from disk with single-range support.
"""

from __future__ import annotations

import time
from pathlib import Path

from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.documents import Document
from archiver.dev.emulator.errors import ApiError, error_body, not_found
from archiver.dev.emulator.faults import Fault
from archiver.dev.emulator.http_types import Request, Response
from archiver.dev.emulator.ranges import RangeNotSatisfiable, parse_range

METADATA_TYPE = "application/json"
_DEFAULT_HTML = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    "<body><h1>The service is temporarily unavailable.</h1></body></html>"
)


def content(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    return _serve(app, request, params["document"], "content")


def metadata(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    return _serve(app, request, params["document"], "metadata")


def delete(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    return _serve(app, request, params["document"], "delete")


def _serve(app: Emulator, request: Request, document_id: str, target: str) -> Response:
    fault = app.faults.take(document_id, target)
    if fault is not None and fault.kind == "delay":
        time.sleep(fault.seconds)
        fault = None
    if fault is not None and fault.kind in ("status", "html", "redirect"):
        return _fault_response(fault)
    response = _normal(app, request, document_id, target)
    if fault is None:
        return response
    if fault.kind == "empty":
        return Response(200, {"Content-Type": response.headers.get("Content-Type", METADATA_TYPE)})
    if fault.kind == "reset":
        response.reset_after = fault.after_bytes
    elif fault.kind == "slow":
        response.bytes_per_second = fault.bytes_per_second
    return response


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "redirect":
        return Response(fault.status, {"Location": fault.location})
    if fault.kind == "html":
        return Response(
            fault.status,
            {"Content-Type": "text/html; charset=utf-8"},
            (fault.body or _DEFAULT_HTML).encode("utf-8"),
        )
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.body is not None:
        headers["Content-Type"] = fault.content_type or "text/html; charset=utf-8"
        return Response(fault.status, headers, fault.body.encode("utf-8"))
    headers["Content-Type"] = fault.content_type or "application/json; charset=utf-8"
    return Response(fault.status, headers, error_body("InjectedFault", f"injected status {fault.status}"))


def _normal(app: Emulator, request: Request, document_id: str, target: str) -> Response:
    document = app.documents.get(document_id)
    if document is None:
        raise not_found(f"document {document_id} not found", "documentId")
    if target == "delete":
        app.documents.remove(document_id)
        return Response(200)
    if target == "content":
        path, size, media_type = app.documents.media_path(document), document.size, document.media_type
    else:
        path, size, media_type = app.documents.metadata_path(document), document.metadata_size, METADATA_TYPE
    return _file_response(request, document, path, size, media_type)


def _file_response(request: Request, document: Document, path: Path, size: int, media_type: str) -> Response:
    headers = {"Content-Type": media_type, "Accept-Ranges": "bytes"}
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        raise ApiError(
            416,
            "RangeNotSatisfiable",
            f"the range is outside the {size} bytes of the file",
            "Range",
            {"Content-Range": f"bytes */{size}"},
        ) from None
    if wanted is None:
        return Response(200, headers, file=path, file_length=size, document_id=document.document_id)
    headers["Content-Range"] = wanted.content_range(size)
    return Response(
        206,
        headers,
        file=path,
        file_offset=wanted.start,
        file_length=wanted.length,
        document_id=document.document_id,
    )
