"""Receive a multipart upload straight to disk, stopping at the size limit.

Starlette's ``request.form()`` spools a whole file before the endpoint sees it; a song can be
hundreds of megabytes, and a wrong one should cost no more than the limit. The body is fed
through python-multipart's streaming parser chunk by chunk: the file part goes to one file in
the job's folder as it arrives, the few text fields stay in memory, and reading stops as soon
as the file passes ``max_bytes`` (or a declared ``Content-Length`` already does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from unmix.web.validation import UploadRejected

FILE_FIELD = "file"
PART_FILE = "upload.part"
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 8
# Room for the boundaries, part headers and text fields around the file in a declared length.
FORM_OVERHEAD_BYTES = 64 * 1024


@dataclass
class ReceivedForm:
    """What a multipart body held.

    Attributes:
        fields: the text fields, ``{name: value}``.
        filename: the file part's name as the client gave it (display text only), or None.
        path: where the file part was written, or None when there was none.
        n_bytes: the file part's size.
    """

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    path: Path | None = None
    n_bytes: int = 0


def too_large(max_bytes: int) -> UploadRejected:
    return UploadRejected(f"the file is larger than the limit of {max_bytes / 1024 / 1024:.4g} MB; choose a smaller file or start the server with a larger --max_upload_mb", status=413)


class _Receiver:
    """python-multipart callbacks: route each part to the file or to a text field."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.form = ReceivedForm()
        self.folder = folder
        self.max_bytes = max_bytes
        self.problem: UploadRejected | None = None
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._name: str | None = None
        self._file: BinaryIO | None = None
        self._text = bytearray()
        self._n_parts = 0
        self.file_complete = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field_data, "on_header_value": self._header_value_data,
            "on_header_end": self._header_end, "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }  # fmt: skip

    def _refuse(self, message: str, status: int = 400) -> None:
        if self.problem is None:
            self.problem = UploadRejected(message, status=status)

    def _part_begin(self) -> None:
        self._headers, self._name, self._text = {}, None, bytearray()
        self._n_parts += 1
        if self._n_parts > MAX_FIELDS:
            self._refuse(f"the form has more than {MAX_FIELDS} parts; send one file with its model and format")

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field, self._header_value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if self._name != FILE_FIELD or self._file is not None or self.form.path is not None:
            self._refuse(f"send exactly one file, in the form field {FILE_FIELD!r}")
            return
        self.form.filename = options[b"filename"].decode("utf-8", "replace")
        self.form.path = self.folder / PART_FILE
        self._file = self.form.path.open("wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.problem is not None:
            return
        if self._file is not None:
            self.form.n_bytes += end - start
            if self.form.n_bytes > self.max_bytes:
                self.problem = too_large(self.max_bytes)
                return
            self._file.write(data[start:end])
            return
        self._text += data[start:end]
        if len(self._text) > MAX_FIELD_BYTES:
            self._refuse(f"the form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def _part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self.file_complete = True
        elif self._name:
            self.form.fields[self._name] = self._text.decode("utf-8", "replace")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def receive_form(chunks: AsyncIterator[bytes], *, content_type: str, content_length: str | None, folder: Path, max_bytes: int) -> ReceivedForm:
    """Parse a ``multipart/form-data`` body, writing its file part to ``folder/upload.part``.

    Args:
        chunks: the request body as it arrives (``request.stream()``).
        content_type: the request's Content-Type header (holds the boundary).
        content_length: the request's Content-Length header, if any.
        folder: the job folder the file goes to.
        max_bytes: the largest file accepted.

    Returns:
        The fields, the client's file name and where the file was written.

    Raises:
        UploadRejected: not a multipart form (400), a malformed one (400), or a file over
            ``max_bytes`` (413, raised as soon as the limit is passed; the rest is not read).
    """
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadRejected("send the song as multipart/form-data with a 'file' field (the page does this)", status=400)
    if content_length and content_length.isdigit() and int(content_length) > max_bytes + FORM_OVERHEAD_BYTES:
        raise too_large(max_bytes)
    receiver = _Receiver(folder, max_bytes)
    try:
        parser = MultipartParser(options[b"boundary"], receiver.callbacks())
        async for chunk in chunks:
            parser.write(chunk)
            if receiver.problem is not None:
                raise receiver.problem
        parser.finalize()
    except FormParserError as error:
        raise UploadRejected(f"the upload is not a well-formed multipart form ({error}); send it again", status=400) from None
    finally:
        receiver.close()
    if receiver.problem is not None:
        raise receiver.problem
    if receiver.form.path is not None and not receiver.file_complete:
        raise UploadRejected("the upload ended before the file did; send it again", status=400)
    return receiver.form
