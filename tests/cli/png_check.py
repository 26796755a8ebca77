#!/usr/bin/env python3
"""Checks a PNG the way a viewer reads it (any IDAT split, every scanline filter; 8-bit RGB or RGBA):
png_check.py FILE [--size WxH] [--has R,G,B ...], W or H "*" for any. Exits 1 naming the first check that
fails."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert zlib.crc32(data[pos + 4:pos + 8 + length]) == crc, f"chunk {kind} CRC"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prior = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prior[i], prior[i - bpp] if i >= bpp else 0
            if kind == 1: line[i] = (line[i] + a) & 255
            elif kind == 2: line[i] = (line[i] + b) & 255
            elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prior = line
    colours = {bytes(row[x * bpp:x * bpp + 3]) for row in rows for x in range(width)}
    return width, height, colours


def main(argv):
    width, height, colours = decode(argv[1])
    args = iter(argv[2:])
    for option in args:
        value = next(args)
        sizes = zip(value.split("x"), (width, height))
        if option == "--size" and any(want not in ("*", str(got)) for want, got in sizes):
            sys.exit(f"{argv[1]}: {width}x{height}, expected {value}")
        if option == "--has" and bytes(int(v) for v in value.split(",")) not in colours:
            sys.exit(f"{argv[1]}: no pixel of colour {value}")


main(sys.argv)
