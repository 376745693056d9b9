#!/usr/bin/python3
"""make_image_seeds.py: writes the binary seeds of the png_check and
image_check fuzz targets (tests/fuzz/seeds/). Each is a few hundred bytes;
they are committed, and this script says how they were made. Run from
tests/fuzz/ with Debian's python3 (GDAL bindings for JPEG, WEBP, GTiff)."""
import struct
import zlib

from osgeo import gdal

gdal.UseExceptions()


def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, depth, ctype, rows, extra=b"", interlace=0, split=1):
    raw = b"".join(b"\x00" + r for r in rows)
    z = zlib.compress(raw, 9)
    parts = [z[i * len(z) // split:(i + 1) * len(z) // split] for i in range(split)]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
            + extra + b"".join(chunk(b"IDAT", p) for p in parts) + chunk(b"IEND", b""))


def adam7_rows(w, h, bpp_bytes, pixel):
    """Rows of an Adam7-interlaced image (each pass's rows, filter 0)."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    rows = []
    for x0, y0, dx, dy in passes:
        xs = range(x0, w, dx)
        for y in range(y0, h, dy):
            if len(xs):
                rows.append(b"".join(pixel(x, y) for x in xs))
    return rows


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


gray = png(4, 4, 8, 0, [bytes([x * 60 for x in range(4)])] * 4)
pal = png(2, 2, 4, 3, [b"\x01", b"\x10"],
          extra=chunk(b"PLTE", b"\x00\x00\x00\xff\x00\x00") + chunk(b"tRNS", b"\x00\xff"))
rgba16 = png(3, 3, 16, 6, adam7_rows(3, 3, 8, lambda x, y: struct.pack(">HHHH", x * 999, y * 999, 7, 65535)),
             interlace=1)
big = png(256, 256, 8, 0, [bytes(256)] * 256, split=2)
rgb_text = png(2, 1, 8, 2, [b"\x01\x02\x03\x04\x05\x06"], extra=chunk(b"tEXt", b"k\x00v") + chunk(b"gAMA", b"\x00\x00\xb1\x8f"))

# png_check: byte 0 = expect 256x256 (bit 0), rewrite CRCs first (bit 1)
for name, data in [("gray", gray), ("palette_trns", pal), ("rgba16_adam7", rgba16), ("rgb_text", rgb_text)]:
    write("seeds/png_check/" + name, b"\x00" + data)
    write("seeds/png_check/" + name + "_fixcrc", b"\x02" + data)
write("seeds/png_check/gray256", b"\x01" + big)
write("seeds/png_check/gray256_fixcrc", b"\x03" + big)


def gdal_bytes(driver, w, h, bands, **opts):
    path = "/vsimem/seed"
    ds = gdal.GetDriverByName("MEM").Create("", w, h, bands)
    for b in range(bands):
        ds.GetRasterBand(b + 1).Fill(40 * (b + 1))
    gdal.GetDriverByName(driver).CreateCopy(path, ds, options=[f"{k}={v}" for k, v in opts.items()])
    f = gdal.VSIFOpenL(path, "rb")
    gdal.VSIFSeekL(f, 0, 2)
    n = gdal.VSIFTellL(f)
    gdal.VSIFSeekL(f, 0, 0)
    data = gdal.VSIFReadL(1, n, f)
    gdal.VSIFCloseL(f)
    gdal.Unlink(path)
    return data


# image_check: byte 0 = Content-Type (bits 0-2), kinds (bits 3-5), expect 256 (bit 6)
write("seeds/image_check/png256", bytes([0x40 | 1 | (1 << 3)]) + big)
write("seeds/image_check/png_any", bytes([0]) + gray)
write("seeds/image_check/jpeg", bytes([2 | (2 << 3)]) + gdal_bytes("JPEG", 16, 16, 3, QUALITY=50))
write("seeds/image_check/webp", bytes([5 | (5 << 3)]) + gdal_bytes("WEBP", 8, 8, 3))
write("seeds/image_check/gtiff", bytes([6 | (6 << 3)]) + gdal_bytes("GTiff", 8, 8, 1, COMPRESS="DEFLATE"))
write("seeds/image_check/wms_exception", bytes([3]) + b'<?xml version="1.0"?>\n<ServiceExceptionReport version="1.3.0">'
      b'<ServiceException code="LayerNotDefined">layer &apos;x&apos; &amp; &#233;</ServiceException>'
      b'</ServiceExceptionReport>')
write("seeds/image_check/ows_exception", bytes([4 | (4 << 3)]) + b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1">'
      b'<ows:Exception exceptionCode="TileOutOfRange"><ows:ExceptionText>row 9</ows:ExceptionText></ows:Exception>'
      b'</ows:ExceptionReport>')
write("seeds/image_check/html", bytes([7]) + b"<html><body>502 Bad Gateway</body></html>")
