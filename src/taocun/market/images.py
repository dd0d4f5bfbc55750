"""Checking and resizing uploaded photos with Pillow.

A file is accepted only when Pillow recognises it as a JPEG, PNG or WebP image, its
structure verifies, it is at most ``PHOTO_MAX_BYTES`` long and ``PHOTO_MAX_PIXELS`` large
(a small file can decode into gigabytes: a decompression bomb), and it decodes completely.
What is stored is re-encoded: EXIF orientation applied, every other piece of metadata
(GPS position, camera, comments) dropped, a display image at most 1200 px on its longer
side and a 300 px thumbnail, both JPEG — readable on every phone.
"""

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from taocun.core.errors import ValidationError

PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
DISPLAY_MAX_PX = 1200
THUMBNAIL_MAX_PX = 300
JPEG_QUALITY = 82


@dataclass(frozen=True)
class ProcessedPhoto:
    display: bytes
    thumbnail: bytes
    width: int
    height: int


class PhotoTooLarge(ValidationError):
    """The upload is over the byte limit; nothing of it was kept."""

    code = "too_large"
    http_status = 413


def photo_too_large_error(*, field: str = "photo") -> PhotoTooLarge:
    return PhotoTooLarge(
        _("The photo is too large: %(limit)d MB at most.")
        % {"limit": PHOTO_MAX_BYTES // (1024 * 1024)},
        field=field,
    )


def _not_an_image(field: str) -> ValidationError:
    return ValidationError(
        _("This file is not a photo we can use: send a JPEG, PNG or WebP image."),
        code="not_an_image",
        field=field,
    )


def photo_process(*, data: bytes, field: str = "photo") -> ProcessedPhoto:
    """Validate ``data`` as a photo and return the re-encoded display image and thumbnail.

    Raises ValidationError (``not_an_image``, ``too_large``, ``too_many_pixels``) naming
    ``field``; nothing is written anywhere.
    """
    if len(data) > PHOTO_MAX_BYTES:
        raise photo_too_large_error(field=field)
    if not data:
        raise _not_an_image(field)
    with warnings.catch_warnings():
        # Pillow warns (DecompressionBombWarning) between its own limit and twice it; our
        # own, lower limit below decides instead.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise _not_an_image(field)
                _check_pixels(probe.size, field)
                probe.verify()
            # verify() leaves the image unusable; decode from a fresh handle.
            with Image.open(io.BytesIO(data)) as image:
                _check_pixels(image.size, field)
                image.load()
                upright = ImageOps.exif_transpose(image)
        except ValidationError:
            raise
        except Image.DecompressionBombError:
            # Beyond twice Pillow's own limit Pillow refuses at open, before our check.
            raise _too_many_pixels(None, field) from None
        except UnidentifiedImageError:
            raise _not_an_image(field) from None
        except (OSError, SyntaxError, ValueError, EOFError):
            # Truncated or corrupt data (Pillow raises these from its decoders).
            raise _not_an_image(field) from None
    rgb = _flatten(upright)
    display = rgb.copy()
    display.thumbnail((DISPLAY_MAX_PX, DISPLAY_MAX_PX), Image.Resampling.LANCZOS)
    thumbnail = rgb.copy()
    thumbnail.thumbnail((THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX), Image.Resampling.LANCZOS)
    return ProcessedPhoto(
        display=_jpeg(display),
        thumbnail=_jpeg(thumbnail),
        width=display.width,
        height=display.height,
    )


def _check_pixels(size: tuple[int, int], field: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise _not_an_image(field)
    if width * height > PHOTO_MAX_PIXELS:
        raise _too_many_pixels(width * height, field)


def _too_many_pixels(pixels: int | None, field: str) -> ValidationError:
    return ValidationError(
        _("The photo has too many pixels: %(limit)s million at most.")
        % {"limit": PHOTO_MAX_PIXELS // 1_000_000},
        code="too_many_pixels",
        field=field,
        extra={"pixels": pixels} if pixels else None,
    )


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on a white background (transparent PNG/WebP would turn black in a JPEG)."""
    if image.mode in {"RGBA", "LA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # No exif/icc arguments: the encoded file carries no metadata at all.
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()
