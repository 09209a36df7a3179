"""Writes PNG test images with Python's zlib (an encoder independent of ours), every row
filter and colour type, plus the expected samples (H, W, C) as int32 .npy. Run from this
folder: python3 make_pngs.py"""
import struct, zlib
import numpy as np

def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)

def paeth(a, b, c):
    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)

def filt(rows, bpp):
    out, prev = b"", bytes(len(rows[0]))
    for y, row in enumerate(rows):
        f = y % 5
        enc = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            enc.append((x - pred) & 255)
        out += bytes([f]) + bytes(enc)
        prev = row
    return out

def write(name, w, h, depth, colour, rows, bpp, expected, plte=None):
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
    if plte is not None: png += chunk(b"PLTE", bytes(plte))
    png += chunk(b"tEXt", b"Comment\x00test image")
    data = zlib.compress(filt(rows, bpp))
    png += chunk(b"IDAT", data[:len(data) // 2]) + chunk(b"IDAT", data[len(data) // 2:])
    png += chunk(b"IEND", b"")
    open(name + ".png", "wb").write(png)
    np.save(name + ".npy", expected.astype(np.int32))

rng = np.random.default_rng(7)
w, h = 13, 11
g = rng.integers(0, 256, (h, w, 1))
write("grey8", w, h, 8, 0, [bytes(r.flatten().astype(np.uint8)) for r in g], 1, g)
rgb = rng.integers(0, 65536, (h, w, 3))
write("rgb16", w, h, 16, 2, [r.flatten().astype(">u2").tobytes() for r in rgb], 6, rgb)
idx = rng.integers(0, 16, (h, w))
pal = rng.integers(0, 256, (16, 3))
rows = [bytes(np.packbits(np.unpackbits(r.astype(np.uint8)[:, None], axis=1)[:, 4:].flatten())) for r in idx]
write("palette4", w, h, 4, 3, rows, 1, pal[idx], plte=pal.flatten().tolist())
bits = rng.integers(0, 2, (h, w, 1))
write("grey1", w, h, 1, 0, [bytes(np.packbits(r.flatten().astype(np.uint8))) for r in bits], 1, bits)
rgba = rng.integers(0, 256, (h, w, 4))
write("rgba8", w, h, 8, 6, [bytes(r.flatten().astype(np.uint8)) for r in rgba], 4, rgba)
ga = rng.integers(0, 65536, (h, w, 2))
write("greyalpha16", w, h, 16, 4, [r.flatten().astype(">u2").tobytes() for r in ga], 4, ga)
