"""Photo uploads through the services: what is accepted, what is stored, and that a bad
upload leaves nothing behind (no row, no file)."""

import io

import pytest
from django.conf import settings
from PIL import Image

from taocun.core.errors import ValidationError
from taocun.market import services
from taocun.market.images import PHOTO_MAX_BYTES
from taocun.market.models import ProductPhoto
from taocun.market.tests.factories import image_bytes


def stored_files() -> list:
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    ("fmt", "kwargs"),
    [("JPEG", {}), ("PNG", {"alpha": True}), ("WEBP", {})],
)
def test_accepted_formats_are_stored_as_resized_jpegs(orchard, fmt, kwargs):
    keeper, _shop, product = orchard
    data = image_bytes(fmt, size=(2400, 1600), **kwargs)
    photo = services.product_photo_add(actor=keeper, product=product, data=data)
    assert (photo.width, photo.height) == (1200, 800)
    with Image.open(photo.image.path) as display, Image.open(photo.thumbnail.path) as thumb:
        assert display.format == thumb.format == "JPEG"
        assert display.size == (1200, 800)
        assert max(thumb.size) == 300
        if fmt == "PNG":  # transparency flattened onto white, not black
            assert display.getpixel((10, 10))[0] > 200


def test_orientation_is_applied_and_metadata_dropped(orchard):
    keeper, _shop, product = orchard
    image = Image.new("RGB", (200, 100), (10, 120, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "TaocunCam"  # Make
    exif[0x8825] = {2: (29.0, 16.0, 12.0)}  # GPS latitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    photo = services.product_photo_add(actor=keeper, product=product, data=out.getvalue())
    assert (photo.width, photo.height) == (100, 200)
    with Image.open(photo.image.path) as stored:
        assert not stored.getexif()
        assert "exif" not in stored.info and "icc_profile" not in stored.info


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"this is not an image at all", "not_an_image"),
        (b"", "not_an_image"),
        (image_bytes("GIF"), "not_an_image"),
        (image_bytes("BMP"), "not_an_image"),
        (image_bytes("JPEG", size=(800, 600))[:400], "not_an_image"),  # truncated
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not_an_image"),  # a PNG header only
    ],
)
def test_what_is_not_a_usable_image_is_refused_and_nothing_is_saved(orchard, data, code):
    keeper, _shop, product = orchard
    with pytest.raises(ValidationError) as info:
        services.product_photo_add(actor=keeper, product=product, data=data)
    assert info.value.code == code and info.value.field == "photo"
    assert not ProductPhoto.objects.exists()
    assert stored_files() == []


def test_a_50_mb_file_is_refused_before_decoding(orchard):
    keeper, _shop, product = orchard
    data = image_bytes("JPEG") + b"\x00" * (50 * 1024 * 1024)
    with pytest.raises(ValidationError) as info:
        services.product_photo_add(actor=keeper, product=product, data=data)
    assert info.value.code == "too_large" and info.value.http_status == 413
    assert len(data) > PHOTO_MAX_BYTES and not ProductPhoto.objects.exists()
    assert stored_files() == []


def test_decompression_bombs_are_refused(orchard):
    """A tiny file that would decode into tens of millions of pixels."""
    keeper, _shop, product = orchard
    for size in [(7000, 6000), (20_000, 10_000)]:  # 42 MP (our limit), 200 MP (Pillow's)
        out = io.BytesIO()
        Image.new("1", size).save(out, format="PNG")
        assert len(out.getvalue()) < 1_000_000
        with pytest.raises(ValidationError) as info:
            services.product_photo_add(actor=keeper, product=product, data=out.getvalue())
        assert info.value.code == "too_many_pixels"
    assert stored_files() == []


def test_photo_limits_and_removal(orchard, django_capture_on_commit_callbacks):
    keeper, shop, _product = orchard
    for _ in range(6):
        services.shop_photo_add(actor=keeper, shop=shop, data=image_bytes())
    with pytest.raises(ValidationError) as info:
        services.shop_photo_add(actor=keeper, shop=shop, data=image_bytes())
    assert info.value.field == "photo"
    assert len(stored_files()) == 12
    photo = shop.photos.first()
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_remove(actor=keeper, photo=photo)
    assert len(stored_files()) == 10
    assert [p.position for p in shop.photos.all()] == [1, 2, 3, 4, 5]
