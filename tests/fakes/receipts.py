"""Generated dossier receipts ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả") and phone photos of them.

A receipt is an A4 page at 150 dpi with the agency's header, the dossier's lines and its code as a QR
code (which, like many provinces' receipts, may hold a look-up address with the code in it) or a
Code 128 barcode. :func:`photo` makes it look like a phone photo: turned, blurred, darker, noisy,
JPEG-compressed. Deterministic: the noise has a fixed seed.
"""

from __future__ import annotations

import io

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

LINES = (
    "UY BAN NHAN DAN PHUONG HOA BINH",
    "BO PHAN TIEP NHAN VA TRA KET QUA",
    "GIAY TIEP NHAN HO SO VA HEN TRA KET QUA",
    "Tiep nhan ho so cua: Nguyen Van An",
    "Noi dung yeu cau giai quyet: Cap giay phep xay dung",
    "Thanh phan ho so nop gom: 05 loai giay to",
    "Thoi gian giai quyet: 15 ngay lam viec",
    "Ngay hen tra ket qua: 16/03/2025",
)


def receipt(content: str, fmt: str = "qr") -> Image.Image:
    """The receipt page, its code (``fmt`` "qr" or "code128") holding ``content``."""
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(LINES + ("Lorem ipsum dolor sit amet, consectetur adipiscing",) * 18):
        draw.text((100, 150 + i * 40), line, fill=0)
    if fmt == "qr":
        code = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode).to_image(scale=6)
        page.paste(Image.fromarray(np.array(code)), (820, 100))
    else:
        code = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.Code128).to_image(scale=3)
        page.paste(Image.fromarray(np.array(code)), (150, 1250))
    return page


def photo(page: Image.Image, *, angle: float = 0, blur: float = 0, quality: int = 85) -> bytes:
    """A JPEG of ``page`` as a phone takes it: turned by ``angle`` degrees, blurred, dimmer, noisy."""
    taken = page.rotate(angle, expand=True, fillcolor=190, resample=Image.BICUBIC)
    if blur:
        taken = taken.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(taken, dtype=float) * 0.8 + 30
    pixels += np.random.default_rng(7).normal(0, 8, pixels.shape)
    out = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype("uint8")).convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def plain_photo() -> bytes:
    """A photo with no code on it (a page of text)."""
    page = Image.new("L", (900, 1200), 235)
    ImageDraw.Draw(page).text((80, 80), "Don de nghi cap giay phep", fill=20)
    return photo(page, angle=3, blur=1)
