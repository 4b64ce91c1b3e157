#!/usr/bin/env python3
"""Checks a PNG drawn by scripts/plot.py against the spec it was drawn from.

    check_png.py OUT.png SPEC.json

An oracle written apart from plot.py: it decodes the PNG itself (chunk CRCs,
IHDR, zlib, all five row filters) and finds the axes box from the pixels,
so it shares no code with the tool under test. It checks:
  * the PNG is well formed, 8-bit RGB, of the spec's width and height;
  * the four corners are white;
  * there is one axes box: exactly two black rows spanning half the width
    and two black columns spanning half the height;
and, where the spec gives all four axis limits, for each series (colour:
its "color", else the Okabe-Ito palette in plot.py's documented order):
  * "line" with one y value (x value): the pixel row (column) that value
    maps to, within 2 px, has the colour across the series' extent, and the
    rest of the box in those columns (rows) does not;
  * "points": the pixel each point maps to has the colour;
and each hline is drawn dashed (40-80 % of the box width) at its row; the
legend (found as a black-bordered box inside the axes box, and left out
of the checks above) shows the colours of the named entries and no other.
Mapping: value v goes to left + f * (right - left) across and
bottom - f * (bottom - top) up, f = (v - min) / (max - min), on log10(v)
for a log axis, where left/right/top/bottom are the box's frame lines.
Prints "ok: N checks", or "FAIL: ..." and exits 1.
"""

import json
import math
import struct
import sys
import zlib

OKABE_ITO = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167),
             (230, 159, 0), (86, 180, 233), (0, 0, 0), (240, 228, 66)]
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
BAND = 2      # how far from its mapped row a line's pixels may be
CLEAR = 6     # beyond this distance a line's colour must not appear


class Fail(Exception):
    pass


def decode_png(data):
    """(width, height, rows): rows[y][x] = (r, g, b)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Fail("no PNG signature")
    pos, chunks = 8, []
    while pos < len(data):
        if pos + 12 > len(data):
            raise Fail(f"truncated chunk at byte {pos}")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if len(body) != length or zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise Fail(f"bad CRC or length in chunk {kind!r}")
        chunks.append((kind, body))
        pos += 12 + length
    kinds = [k for k, _ in chunks]
    if kinds[0] != b"IHDR" or kinds[-1] != b"IEND" or b"IDAT" not in kinds:
        raise Fail(f"chunk order {kinds}")
    width, height, depth, colour, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if (depth, colour, comp, filt, interlace) != (8, 2, 0, 0, 0):
        raise Fail(f"not 8-bit RGB, non-interlaced: {(depth, colour, comp, filt, interlace)}")
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride = width * 3
    if len(raw) != height * (stride + 1):
        raise Fail(f"IDAT holds {len(raw)} bytes, expected {height * (stride + 1)}")
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride if ftype else 0):
            a = line[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
            else:
                raise Fail(f"row {y}: filter type {ftype}")
        rows.append([tuple(line[x * 3:x * 3 + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def longest_run(pixels, colour):
    best = run = 0
    for p in pixels:
        run = run + 1 if p == colour else 0
        best = max(best, run)
    return best


def find_box(width, height, rows):
    """The frame lines (left, top, right, bottom) of the axes box."""
    hs = [y for y in range(height) if longest_run(rows[y], BLACK) >= width // 2]
    vs = [x for x in range(width)
          if longest_run((rows[y][x] for y in range(height)), BLACK) >= height // 2]
    if len(hs) != 2 or len(vs) != 2:
        raise Fail(f"expected one 1-px axes box: long black rows {hs}, columns {vs}")
    return vs[0], hs[0], vs[1], hs[1]


def find_legend(box, rows):
    """The legend's rectangle (left, top, right, bottom), or None: the
    black rows 30 px or longer inside the axes box are its top and bottom
    borders (text and tick marks have shorter runs)."""
    left, top, right, bottom = box
    found = []
    for y in range(top + 1, bottom):
        run = 0
        for x in range(left + 1, right):
            run = run + 1 if rows[y][x] == BLACK else 0
            if run == 30:
                start = x - 29
                while rows[y][x] == BLACK:
                    x += 1
                found.append((start, y, x - 1))
                break
    if not found:
        return None
    if len(found) != 2 or found[0][0] != found[1][0] or found[0][2] != found[1][2]:
        raise Fail(f"expected a legend's top and bottom border, found runs {found}")
    return found[0][0], found[0][1], found[0][2], found[1][1]


def mapper(spec, box):
    left, top, right, bottom = box

    def frac(v, axis):
        lo, hi = spec[axis + "_min"], spec[axis + "_max"]
        if spec.get(axis + "_log"):
            v, lo, hi = math.log10(v), math.log10(lo), math.log10(hi)
        return (v - lo) / (hi - lo)

    return (lambda v: left + frac(v, "x") * (right - left),
            lambda v: bottom - frac(v, "y") * (bottom - top))


def plottable(v, log):
    return v is not None and math.isfinite(v) and (v > 0 or not log)


def colour_of(entry, index):
    if "color" in entry:
        return tuple(bytes.fromhex(entry["color"][1:]))
    return OKABE_ITO[index % len(OKABE_ITO)]


def inside(rect, x, y):
    return rect is not None and rect[0] <= x <= rect[2] and rect[1] <= y <= rect[3]


def check_line(where, rows, colour, line, along, at, legend):
    """A flat (upright) line: line(i) is the pixel i along the row (column)
    across the line's middle, at the pixel row (column) it should be on;
    sampled at 5 places along its extent."""
    checks = 0
    for f in (0.1, 0.3, 0.5, 0.7, 0.9):
        i = round(along[0] + f * (along[1] - along[0]))
        hits = [(j, xy) for j, xy in line(i) if rows[xy[1]][xy[0]] == colour]
        if not any(abs(j - at) <= BAND for j, _ in hits):
            raise Fail(f"{where}: no {colour} within {BAND} px of {at} at {i}")
        stray = [xy for j, xy in hits if abs(j - at) > CLEAR and not inside(legend, *xy)]
        if stray:
            raise Fail(f"{where}: {colour} at {stray[:4]}, far from the line at {at}")
        checks += 2
    return checks


def check_series(spec, box, rows, checks):
    left, top, right, bottom = box
    to_x, to_y = mapper(spec, box)
    legend = find_legend(box, rows)
    named = []
    for i, s in enumerate(spec["series"]):
        colour = colour_of(s, i)
        style = s.get("style", "line")
        points = [(x, y) for x, y in zip(s["x"], s["y"])
                  if plottable(x, spec.get("x_log")) and plottable(y, spec.get("y_log"))]
        where = f"series[{i}]"
        if style == "line" and len({y for _, y in points}) == 1:
            xs = [to_x(x) for x, _ in points]
            checks += check_line(where, rows, colour,
                                 lambda c: [(y, (c, y)) for y in range(top + 1, bottom)],
                                 (min(xs), max(xs)), round(to_y(points[0][1])), legend)
        elif style == "line" and len({x for x, _ in points}) == 1:
            ys = [to_y(y) for _, y in points]
            checks += check_line(where, rows, colour,
                                 lambda r: [(x, (x, r)) for x in range(left + 1, right)],
                                 (min(ys), max(ys)), round(to_x(points[0][0])), legend)
        elif style == "points":
            for x, y in points:
                c, r = round(to_x(x)), round(to_y(y))
                if rows[r][c] != colour:
                    raise Fail(f"{where}: point ({x}, {y}) at pixel ({c}, {r}) is "
                               f"{rows[r][c]}, expected {colour}")
                checks += 1
        else:
            raise Fail(f"{where}: the checker knows only flat or upright lines and points")
        named.append((where, colour, bool(s.get("name"))))
    for j, h in enumerate(spec.get("hlines", [])):
        colour = colour_of(h, len(spec["series"]) + j)
        r = round(to_y(h["y"]))
        covered = sum(any(rows[y][x] == colour for y in range(r - BAND, r + BAND + 1))
                      for x in range(left + 1, right) if not inside(legend, x, r))
        share = covered / (right - left - 1)
        if not 0.4 <= share <= 0.8:
            raise Fail(f"hlines[{j}]: {colour} covers {share:.0%} of row {r}, "
                       "expected a dashed line (40-80 %)")
        checks += 1
        named.append((f"hlines[{j}]", colour, bool(h.get("name"))))
    # The legend holds a sample of exactly the named entries.
    if legend is None and any(n for _, _, n in named):
        raise Fail("no legend, but there are named entries")
    if legend is not None:
        in_legend = {rows[y][x] for y in range(legend[1], legend[3] + 1)
                     for x in range(legend[0], legend[2] + 1)}
        for where, colour, has_name in named:
            if (colour in in_legend) != has_name:
                raise Fail(f"{where}: {colour} {'missing from' if has_name else 'in'} "
                           f"the legend at {legend}")
            checks += 1
    return checks


def main():
    png_path, spec_path = sys.argv[1:3]
    with open(spec_path) as f:
        spec = json.load(f)
    with open(png_path, "rb") as f:
        width, height, rows = decode_png(f.read())
    checks = 1
    if (width, height) != (spec["width"], spec["height"]):
        raise Fail(f"size {width}x{height}, spec says {spec['width']}x{spec['height']}")
    checks += 1
    for x, y in ((0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)):
        if rows[y][x] != WHITE:
            raise Fail(f"corner ({x}, {y}) is {rows[y][x]}, not white")
        checks += 1
    box = find_box(width, height, rows)
    checks += 1
    if all(k in spec for k in ("x_min", "x_max", "y_min", "y_max")):
        checks = check_series(spec, box, rows, checks)
    print(f"ok: {checks} checks (box {box})")


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print(f"FAIL: {e}")
        sys.exit(1)
