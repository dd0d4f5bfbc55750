"""Reading one uploaded photo from a request without ever holding more than the limit.

An honest client declares its body's length: anything over the photo limit (plus room for
the form's other fields) is refused before a byte of the body is read. A client that lies
or streams without a length meets :class:`LimitedUploadHandler`, which stops the upload as
soon as the file passes the limit. Either way the answer is the same clear 413 and nothing
is stored. (In production the reverse proxy should refuse such bodies first:
``client_max_body_size 9m`` in nginx; see docs/market.md.)
"""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.utils.translation import gettext as _

from taocun.core.errors import ValidationError
from taocun.market.images import PHOTO_MAX_BYTES, photo_too_large_error

# Room for the multipart boundaries, headers and small fields around the photo.
FORM_OVERHEAD_BYTES = 64 * 1024


class LimitedUploadHandler(FileUploadHandler):
    """Keep an uploaded file in memory up to PHOTO_MAX_BYTES; stop the upload beyond."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.chunks: list[bytes] = []
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > PHOTO_MAX_BYTES:
            self.request.market_upload_too_large = True
            raise StopUpload(connection_reset=False)
        self.chunks.append(raw_data)
        return None

    def file_complete(self, file_size: int):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return SimpleUploadedFile(
            self.file_name, b"".join(self.chunks), content_type=self.content_type or ""
        )


def upload_guard(request: HttpRequest) -> None:
    """Refuse a body declared too large, and limit the upload of any other, before the
    body is read. Call it before anything touches ``request.POST`` or ``request.FILES``."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > PHOTO_MAX_BYTES + FORM_OVERHEAD_BYTES:
        raise photo_too_large_error()
    if not hasattr(request, "_files"):
        request.upload_handlers = [LimitedUploadHandler(request)]


def uploaded_photo(request: HttpRequest, *, field: str = "photo") -> bytes:
    """The bytes of the photo in ``field``, after :func:`upload_guard`."""
    files = request.FILES
    if getattr(request, "market_upload_too_large", False):
        raise photo_too_large_error(field=field)
    upload = files.get(field)
    if upload is None:
        raise ValidationError(_("Choose a photo to upload."), field=field)
    if upload.size > PHOTO_MAX_BYTES:
        raise photo_too_large_error(field=field)
    return upload.read()
