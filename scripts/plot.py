#!/usr/bin/env python3
"""Draws line and scatter plots from a JSON spec into a PNG; standard library only.

    python3 scripts/plot.py SPEC.json -o OUT.png
    python3 scripts/plot.py - -o OUT.png < SPEC.json

quamba's plots (docs/, BENCHMARKS.md) are made on machines without numpy or
matplotlib, so this draws them itself: an RGB framebuffer in a bytearray, a
built-in 5x7 bitmap font drawn at 2x, and a PNG encoder on zlib.

The spec (every field but "series" is optional):

    {"title": "...", "x_label": "...", "y_label": "...",
     "x_log": false, "y_log": true,          log10 axes
     "width": 900, "height": 540,            pixels (defaults)
     "x_min": 1, "x_max": 8192,              axis limits; by default the
     "y_min": 0.1, "y_max": 10,                data's range, widened to ticks
     "legend": "auto",                       auto (the emptiest corner),
                                             upper right, upper left,
                                             lower right, lower left, none
     "series": [{"name": "w8a8", "x": [...], "y": [...],
                 "style": "line",            line, points or linepoints
                 "color": "#0072b2"}],       else the next PALETTE colour
     "hlines": [{"name": "bound 0.5", "y": 0.5, "color": "#000000"}]}
                                             dashed horizontal lines

A series or hline without a name is left out of the legend. Values that are
null, NaN, infinite, or not positive on a log axis are skipped (the line
breaks there) and counted in a warning on stderr; values beyond explicit
limits are clipped at the axes box.

A bad spec is reported on stderr naming the file and the field, with exit
status 1 and no output written; bad command-line usage exits with 2
(argparse). OUT is written to a temporary file beside it and renamed over it,
so it is always either the previous file or the complete new one. The same
spec gives the same bytes (fixed zlib level, no timestamps).
"""

import argparse
import json
import math
import os
import struct
import sys
import tempfile
import zlib

PROG = "plot.py"

# Okabe & Ito's colour-blind-safe palette, in an order that puts the colours
# most distinct from each other and from white first (yellow is faint on
# white, so it comes last).
PALETTE = [
    (0, 114, 178),    # blue
    (213, 94, 0),     # vermillion
    (0, 158, 115),    # bluish green
    (204, 121, 167),  # reddish purple
    (230, 159, 0),    # orange
    (86, 180, 233),   # sky blue
    (0, 0, 0),        # black
    (240, 228, 66),   # yellow
]
WHITE = b"\xff\xff\xff"
BLACK = b"\x00\x00\x00"
GRID = bytes((225, 225, 225))

DEFAULT_WIDTH, DEFAULT_HEIGHT = 900, 540
MIN_SIZE, MAX_SIZE = 200, 10000
STYLES = ("line", "points", "linepoints")
LEGEND_PLACES = ("auto", "upper right", "upper left", "lower right", "lower left", "none")

# Layout, in pixels.
TEXT_SCALE = 2          # the font's pixels are drawn 2x2
PAD = 12                # canvas edge to anything drawn
GAP = 8                 # axis label to tick labels, title to box
TICK_GAP = 6            # box to y tick labels
# Box to x tick labels: below the half of the lowest y label that hangs
# under the box, so that the corner labels cannot overlap.
X_TICK_GAP = 9
MAJOR_TICK, MINOR_TICK = 6, 3
LINE_WIDTH = 2
MARKER_RADIUS = 3.5
DASH, DASH_GAP = 8, 5
LEGEND_PAD, LEGEND_SAMPLE, LEGEND_INSET = 8, 28, 8
LEGEND_ROW = 22         # TEXT_BOX and 6 between entries
# Float pixel coordinates are clamped to this before clipping so that far
# out-of-range values (1e300) cannot overflow the clipper's arithmetic.
FAR = 1e12
# Linear axis spans are kept in a range where tick arithmetic (steps of
# span / 20, powers of ten) stays finite and non-zero.
TINY_SPAN, HUGE_SPAN = 1e-200, 1e300

# 5x8 bitmap font for ASCII 32..126 (the glcdfont layout of many small LCD
# drivers): 5 bytes per glyph, one per column, bit 0 the top row. Rows 0-6
# hold capitals and digits; row 7 holds descenders (g j p q y , ;).
FONT = bytes.fromhex(
    "0000000000"  # space
    "00005f0000"  # !
    "0007000700"  # "
    "147f147f14"  # #
    "242a7f2a12"  # $
    "2313086462"  # %
    "3649562050"  # &
    "0000070300"  # '
    "001c224100"  # (
    "0041221c00"  # )
    "2a1c7f1c2a"  # *
    "08083e0808"  # +
    "0080703000"  # ,
    "0808080808"  # -
    "0000606000"  # .
    "2010080402"  # /
    "3e5149453e"  # 0
    "00427f4000"  # 1
    "7249494946"  # 2
    "2141494d33"  # 3
    "1814127f10"  # 4
    "2745454539"  # 5
    "3c4a494931"  # 6
    "4121110907"  # 7
    "3649494936"  # 8
    "464949291e"  # 9
    "0036360000"  # :
    "0056360000"  # ;
    "0008142241"  # <
    "1414141414"  # =
    "4122140800"  # >
    "0201590906"  # ?
    "3e415d594e"  # @
    "7c1211127c"  # A
    "7f49494936"  # B
    "3e41414122"  # C
    "7f4141413e"  # D
    "7f49494941"  # E
    "7f09090901"  # F
    "3e41415173"  # G
    "7f0808087f"  # H
    "00417f4100"  # I
    "2040413f01"  # J
    "7f08142241"  # K
    "7f40404040"  # L
    "7f021c027f"  # M
    "7f0408107f"  # N
    "3e4141413e"  # O
    "7f09090906"  # P
    "3e4151215e"  # Q
    "7f09192946"  # R
    "2649494932"  # S
    "03017f0103"  # T
    "3f4040403f"  # U
    "1f2040201f"  # V
    "3f4038403f"  # W
    "6314081463"  # X
    "0304780403"  # Y
    "6159494d43"  # Z
    "007f414100"  # [
    "0204081020"  # backslash
    "0041417f00"  # ]
    "0402010204"  # ^
    "4040404040"  # _
    "0003070800"  # `
    "2054547840"  # a
    "7f28444438"  # b
    "3844444428"  # c
    "384444287f"  # d
    "3854545418"  # e
    "00087e0902"  # f
    "18a4a49c78"  # g
    "7f08040478"  # h
    "00447d4000"  # i
    "4080807d00"  # j
    "7f10284400"  # k
    "00417f4000"  # l
    "7c04780478"  # m
    "7c08040478"  # n
    "3844444438"  # o
    "fc18242418"  # p
    "18242418fc"  # q
    "7c08040408"  # r
    "4854545424"  # s
    "04043f4424"  # t
    "3c4040207c"  # u
    "1c2040201c"  # v
    "3c4030403c"  # w
    "4428102844"  # x
    "4c9090907c"  # y
    "4464544c44"  # z
    "0008364100"  # {
    "00007f0000"  # |
    "0041360800"  # }
    "0201020402"  # ~
)
GLYPH_W, GLYPH_H = 5, 8        # font pixels; a character advances GLYPH_W + 1
TEXT_CAP = 7 * TEXT_SCALE      # height of capitals and digits, in pixels
TEXT_BOX = GLYPH_H * TEXT_SCALE  # height including descenders


class SpecError(Exception):
    """A problem with the spec, worded for the user (file name added later)."""


# ---------------------------------------------------------------- the spec

def load_spec(path):
    """Reads and parses the JSON spec at path ('-' for stdin)."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"not UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise SpecError("invalid JSON: nested too deeply") from None


def _describe(value):
    """Names a JSON value's type the way the spec's author wrote it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_number(value):
    # JSON true/false arrive as bool, which Python counts as int.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _to_float(value):
    try:
        return float(value)
    except OverflowError:  # an integer literal beyond float range
        return math.inf if value > 0 else -math.inf


def _check_keys(obj, allowed, where):
    # A misspelt optional field would otherwise be ignored silently.
    for key in obj:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            raise SpecError(f"unknown field {name!r} (known: {', '.join(sorted(allowed))})")


def _get(obj, key, where, kind, default):
    """obj[key] checked against kind ('string', 'boolean', 'number', 'list'), or default."""
    name = f"{where}.{key}" if where else key
    if key not in obj:
        return default
    value = obj[key]
    ok = {"string": lambda v: isinstance(v, str),
          "boolean": lambda v: isinstance(v, bool),
          "number": _is_number,
          "list": lambda v: isinstance(v, list)}[kind](value)
    if not ok:
        raise SpecError(f"{name} is {_describe(value)}, expected a {kind}")
    if kind == "number":
        value = _to_float(value)
        if not math.isfinite(value):
            raise SpecError(f"{name} is {value}, expected a finite number")
    return value


def _get_size(spec, key, default):
    value = _get(spec, key, "", "number", default)
    if value != int(value) or not MIN_SIZE <= value <= MAX_SIZE:
        raise SpecError(f"{key} is {value:g}, expected a whole number of pixels "
                        f"from {MIN_SIZE} to {MAX_SIZE}")
    return int(value)


def _get_colour(obj, where, default):
    if "color" not in obj:
        return default
    text = _get(obj, "color", where, "string", None)
    digits = text[1:] if text.startswith("#") else ""
    if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise SpecError(f"{where}.color is {text!r}, expected #rrggbb")
    return bytes.fromhex(digits)


def _get_values(obj, key, where):
    """A list of numbers, null allowed (a gap); returned as floats, null as NaN."""
    name = f"{where}.{key}"
    if key not in obj:
        raise SpecError(f"{name} is missing")
    values = _get(obj, key, where, "list", None)
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(math.nan)
        elif _is_number(v):
            out.append(_to_float(v))
        else:
            raise SpecError(f"{name}[{i}] is {_describe(v)}, expected a number or null")
    return out


def _get_limit(spec, key, log):
    value = _get(spec, key, "", "number", None)
    if value is not None and log and value <= 0:
        raise SpecError(f"{key} is {value:g}, but the axis is logarithmic: it must be positive")
    return value


def parse_spec(spec):
    """Checks the parsed JSON and returns it as a dict with every default filled in."""
    if not isinstance(spec, dict):
        raise SpecError(f"the spec is {_describe(spec)}, expected an object")
    _check_keys(spec, {"title", "x_label", "y_label", "x_log", "y_log", "width", "height",
                       "x_min", "x_max", "y_min", "y_max", "legend", "series", "hlines"}, "")
    plot = {
        "title": _get(spec, "title", "", "string", ""),
        "x_label": _get(spec, "x_label", "", "string", ""),
        "y_label": _get(spec, "y_label", "", "string", ""),
        "x_log": _get(spec, "x_log", "", "boolean", False),
        "y_log": _get(spec, "y_log", "", "boolean", False),
        "width": _get_size(spec, "width", DEFAULT_WIDTH),
        "height": _get_size(spec, "height", DEFAULT_HEIGHT),
        "legend": _get(spec, "legend", "", "string", "auto"),
    }
    if plot["legend"] not in LEGEND_PLACES:
        raise SpecError(f"legend is {plot['legend']!r}, expected one of: "
                        + ", ".join(LEGEND_PLACES))
    for axis in "xy":
        lo = _get_limit(spec, axis + "_min", plot[axis + "_log"])
        hi = _get_limit(spec, axis + "_max", plot[axis + "_log"])
        if lo is not None and hi is not None and lo >= hi:
            raise SpecError(f"{axis}_min ({lo:g}) is not below {axis}_max ({hi:g})")
        plot[axis + "_limits"] = (lo, hi)

    if "series" not in spec:
        raise SpecError("series is missing")
    series = _get(spec, "series", "", "list", None)
    if not series:
        raise SpecError("series is empty")
    plot["series"] = [_parse_series(s, f"series[{i}]", PALETTE[i % len(PALETTE)])
                      for i, s in enumerate(series)]

    hlines = _get(spec, "hlines", "", "list", [])
    plot["hlines"] = []
    for i, h in enumerate(hlines):
        where = f"hlines[{i}]"
        if not isinstance(h, dict):
            raise SpecError(f"{where} is {_describe(h)}, expected an object")
        _check_keys(h, {"name", "y", "color"}, where)
        if "y" not in h:
            raise SpecError(f"{where}.y is missing")
        y = _get(h, "y", where, "number", None)
        if plot["y_log"] and y <= 0:
            raise SpecError(f"{where}.y is {y:g}, but the y axis is logarithmic: "
                            "it must be positive")
        # Reference lines continue the palette after the series.
        default = bytes(PALETTE[(len(series) + i) % len(PALETTE)])
        plot["hlines"].append({"name": _get(h, "name", where, "string", ""), "y": y,
                               "color": _get_colour(h, where, default)})
    return plot


def _parse_series(s, where, colour):
    if not isinstance(s, dict):
        raise SpecError(f"{where} is {_describe(s)}, expected an object")
    _check_keys(s, {"name", "x", "y", "style", "color"}, where)
    x = _get_values(s, "x", where)
    y = _get_values(s, "y", where)
    if len(x) != len(y):
        raise SpecError(f"{where}.y has {len(y)} values, x has {len(x)}")
    style = _get(s, "style", where, "string", "line")
    if style not in STYLES:
        raise SpecError(f"{where}.style is {style!r}, expected one of: " + ", ".join(STYLES))
    return {"name": _get(s, "name", where, "string", ""), "x": x, "y": y, "style": style,
            "color": _get_colour(s, where, bytes(colour))}


# ---------------------------------------------------------------- axes

def to_units(values, log):
    """Values in axis units (log10 on a log axis); None where not plottable."""
    out = []
    for v in values:
        if not math.isfinite(v) or (log and v <= 0):
            out.append(None)
        else:
            out.append(math.log10(v) if log else v)
    return out


def nice_step(raw):
    """The smallest step m * 10**e >= raw with m in 1, 2, 5; returned as (m, e)."""
    e = math.floor(math.log10(raw))
    for m in (1, 2, 5):
        if m * 10.0 ** e >= raw * (1 - 1e-9):
            return m, e
    return 1, e + 1


def format_scaled(n, e):
    """n * 10**e, exactly (integer arithmetic, so no 0.30000000000000004),
    in fixed notation for moderate exponents and e-notation otherwise."""
    if n == 0:
        return "0"
    sign = "-" if n < 0 else ""
    n = abs(n)
    while n % 10 == 0:
        n //= 10
        e += 1
    digits = str(n)
    exponent = e + len(digits) - 1  # of the leading digit
    if -4 <= exponent <= 6:
        if e >= 0:
            return sign + digits + "0" * e
        point = len(digits) + e
        if point > 0:
            return sign + digits[:point] + "." + digits[point:]
        return sign + "0." + "0" * -point + digits
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{exponent}"


class Axis:
    """An axis: its range lo..hi in axis units, labelled major ticks
    [(units, label)] and unlabelled minor ticks [units]."""

    def __init__(self, lo, hi, major, minor=()):
        self.lo, self.hi, self.major, self.minor = lo, hi, major, list(minor)

    def frac(self, u):
        return (u - self.lo) / (self.hi - self.lo)


def data_range(name, lo, hi, limits, log):
    """The range to show, in axis units, before rounding to ticks: the data's
    extremes (lo, hi; None if there is no data) overridden by the limits,
    widened where it would be empty."""
    fixed = [None if v is None else (math.log10(v) if log else v) for v in limits]
    lo = fixed[0] if fixed[0] is not None else lo
    hi = fixed[1] if fixed[1] is not None else hi
    if lo is None and hi is None:
        raise SpecError("nothing to plot: no point is finite"
                        + (" and positive on the log axis" if log else "")
                        + " and there is no hline")
    lo = hi if lo is None else lo
    hi = lo if hi is None else hi
    both_fixed = fixed[0] is not None and fixed[1] is not None
    if not both_fixed and hi - lo <= max(1e-9 * max(abs(lo), abs(hi)), TINY_SPAN):
        # A single value, or data wholly beyond the one fixed limit: a range
        # of half the value's size (a decade on a log axis) either side of the
        # value, or from the fixed limit away from it.
        def half(v):
            return 1.0 if log or v == 0 else max(abs(v) * 0.5, TINY_SPAN)
        if fixed[0] is not None:
            hi = lo + 2 * half(lo)
        elif fixed[1] is not None:
            lo = hi - 2 * half(hi)
        else:
            lo, hi = lo - half(lo), hi + half(hi)
    if not hi - lo <= HUGE_SPAN:
        raise SpecError(f"{name} values from {lo:g} to {hi:g} span too much for a linear axis "
                        f"(use {name}_log)")
    return lo, hi, fixed


def linear_axis(lo, hi, fixed, length, gap):
    """1-2-5 ticks at least gap pixels apart; unfixed ends rounded out to a tick."""
    m, e = nice_step((hi - lo) / max(1, int(length // gap)))
    step = m * 10.0 ** e
    if fixed[0] is None:
        lo = math.floor(lo / step + 1e-9) * step
    if fixed[1] is None:
        hi = math.ceil(hi / step - 1e-9) * step
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return Axis(lo, hi, [(i * step, format_scaled(i * m, e)) for i in range(first, last + 1)])


def log_axis(lo, hi, fixed, length, gap):
    """Ticks at decades (every stride-th when crowded), with 2 and 5 labelled
    too when there is room, minor ticks between; unfixed ends rounded out to
    a decade."""
    if fixed[0] is None:
        lo = math.floor(lo + 1e-9)
    if fixed[1] is None:
        hi = math.ceil(hi - 1e-9)
    decade = length / (hi - lo)  # pixels per decade
    stride, mantissas = 1, (1,)
    if decade * math.log10(2) >= gap:
        mantissas = (1, 2, 5)
    elif decade < gap:
        stride = math.ceil(gap / decade)
    major, minor = [], []
    for k in range(math.floor(lo), math.ceil(hi) + 1):
        for m in range(1, 10):
            u = k + math.log10(m)
            if not lo - 1e-9 <= u <= hi + 1e-9:
                continue
            if m in mantissas and k % stride == 0:
                major.append((u, format_scaled(m, k)))
            elif (stride == 1 and decade >= 40) or (m == 1 and decade >= 4):
                minor.append(u)
    if len(major) < 2:
        # Less than a decade shown: label 1-2-5 steps of the values instead.
        values = linear_axis(10 ** lo, 10 ** hi, (10 ** lo, 10 ** hi), length, gap)
        major = [(math.log10(v), label) for v, label in values.major if v > 0]
    return Axis(lo, hi, major, minor)


def make_axis(log, lo, hi, fixed, length, label_size):
    """The axis whose labels fit: label_size(label) is the room a label
    takes along the axis, in pixels; the tick gap grows until they fit."""
    gap = 40.0
    for _ in range(16):
        axis = (log_axis if log else linear_axis)(lo, hi, fixed, length, gap)
        pos = [axis.frac(u) * length for u, _ in axis.major]
        size = [label_size(label) for _, label in axis.major]
        if all(pos[i + 1] - pos[i] >= (size[i] + size[i + 1]) / 2 + 10
               for i in range(len(pos) - 1)):
            break
        gap *= 1.4
    return axis


# ---------------------------------------------------------------- drawing

class Canvas:
    """A white RGB framebuffer: 3 bytes a pixel, rows top to bottom."""

    def __init__(self, width, height):
        self.width, self.height = width, height
        self.stride = width * 3
        self.buf = bytearray(b"\xff") * (self.stride * height)

    def fill(self, x0, y0, x1, y1, colour):
        """Fills the half-open rectangle [x0, x1) x [y0, y1), clipped to the canvas."""
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), self.width), min(int(y1), self.height)
        if x0 >= x1 or y0 >= y1:
            return
        run = colour * (x1 - x0)
        for y in range(y0, y1):
            o = y * self.stride + x0 * 3
            self.buf[o:o + len(run)] = run

    def ink(self, x0, y0, x1, y1):
        """How much of the rectangle is not white (bytes, a score for placing
        the legend)."""
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), self.width), min(int(y1), self.height)
        total = 0
        for y in range(y0, y1):
            row = self.buf[y * self.stride + x0 * 3:y * self.stride + x1 * 3]
            total += len(row) - row.count(255)
        return total


def text_width(text, scale=TEXT_SCALE):
    return max(0, len(text) * (GLYPH_W + 1) - 1) * scale


def draw_text(canvas, x, y, text, colour, scale=TEXT_SCALE, vertical=False):
    """Draws text with its box's top-left corner at (x, y). Vertical text
    reads bottom to top (turned 90 degrees anticlockwise)."""
    span = len(text) * (GLYPH_W + 1) - 1
    for i, ch in enumerate(text):
        code = ord(ch) if 32 <= ord(ch) <= 126 else ord("?")
        glyph = FONT[(code - 32) * GLYPH_W:(code - 31) * GLYPH_W]
        for col, bits in enumerate(glyph):
            c = i * (GLYPH_W + 1) + col
            for row in range(GLYPH_H):
                if bits >> row & 1:
                    if vertical:
                        px, py = x + row * scale, y + (span - 1 - c) * scale
                    else:
                        px, py = x + c * scale, y + row * scale
                    canvas.fill(px, py, px + scale, py + scale, colour)


def clip_segment(x0, y0, x1, y1, box):
    """The part of the segment inside box (left, top, right, bottom), or
    None (Liang-Barsky)."""
    left, top, right, bottom = box
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - left), (dx, right - x0), (-dy, y0 - top), (dy, bottom - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        r = q / p
        if p < 0:
            if r > t1:
                return None
            t0 = max(t0, r)
        else:
            if r < t0:
                return None
            t1 = min(t1, r)
    return x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy


def draw_segment(canvas, x0, y0, x1, y1, colour, width=LINE_WIDTH):
    """A line width pixels thick between points already clipped to the
    canvas (less a margin of width): one pixel run per step along the
    longer axis, set by slice assignment, which is what keeps 40,000-point
    plots fast in pure Python."""
    buf, stride = canvas.buf, canvas.stride
    off = width // 2
    if abs(x1 - x0) >= abs(y1 - y0):
        if x0 > x1:
            x0, y0, x1, y1 = x1, y1, x0, y0
        slope = (y1 - y0) / (x1 - x0) if x1 != x0 else 0.0
        for x in range(int(x0 + 0.5), int(x1 + 0.5) + 1):
            y = int(y0 + (x - x0) * slope + 0.5) - off
            o = y * stride + x * 3
            for _ in range(width):
                buf[o:o + 3] = colour
                o += stride
    else:
        if y0 > y1:
            x0, y0, x1, y1 = x1, y1, x0, y0
        slope = (x1 - x0) / (y1 - y0)
        run = colour * width
        for y in range(int(y0 + 0.5), int(y1 + 0.5) + 1):
            o = y * stride + (int(x0 + (y - y0) * slope + 0.5) - off) * 3
            buf[o:o + len(run)] = run


def decimate(run):
    """Thins a polyline in pixel coordinates without changing what it
    covers: consecutive points in one pixel column are replaced by the
    first, lowest, highest and last of them (in their order), since the
    segments between them only fill the column from its lowest to its
    highest point. 8192 points across 800 columns become at most 3200."""
    out = []
    i, n = 0, len(run)
    while i < n:
        column = int(run[i][0] + 0.5)
        j = i
        while j + 1 < n and int(run[j + 1][0] + 0.5) == column:
            j += 1
        if j - i < 4:
            out.extend(run[i:j + 1])
        else:
            group = range(i, j + 1)
            low = min(group, key=lambda k: run[k][1])
            high = max(group, key=lambda k: run[k][1])
            out.extend(run[k] for k in sorted({i, low, high, j}))
        i = j + 1
    return out


def marker_spans(radius=MARKER_RADIUS):
    """A filled disc as (dy, half width) rows."""
    r = int(radius)
    return [(dy, int(math.sqrt(radius * radius - dy * dy))) for dy in range(-r, r + 1)]


def draw_marker(canvas, x, y, colour, box):
    """A filled disc centred on (x, y), clipped to box."""
    left, top, right, bottom = box
    cx, cy = int(x + 0.5), int(y + 0.5)
    for dy, half in marker_spans():
        if top <= cy + dy <= bottom:
            canvas.fill(max(cx - half, left), cy + dy, min(cx + half, right) + 1,
                        cy + dy + 1, colour)


def draw_dashed(canvas, x0, x1, y, colour):
    """A horizontal dashed line LINE_WIDTH thick from x0 to x1 at row y."""
    y0 = int(y + 0.5) - LINE_WIDTH // 2
    for x in range(int(x0), int(x1) + 1, DASH + DASH_GAP):
        canvas.fill(x, y0, min(x + DASH, int(x1) + 1), y0 + LINE_WIDTH, colour)


# ---------------------------------------------------------------- the plot

def prepare_series(plot, warn):
    """Each series' points in axis units, split into runs at the points that
    cannot be plotted (counted in a warning)."""
    for i, s in enumerate(plot["series"]):
        xs, ys = to_units(s["x"], plot["x_log"]), to_units(s["y"], plot["y_log"])
        runs, run, skipped = [], [], 0
        for u, v in zip(xs, ys):
            if u is None or v is None:
                skipped += 1
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((u, v))
        if run:
            runs.append(run)
        s["runs"] = runs
        if skipped:
            name = f" ({s['name']})" if s["name"] else ""
            why = "null or non-finite" + (", or not positive on a log axis"
                                          if plot["x_log"] or plot["y_log"] else "")
            warn(f"series[{i}]{name}: skipped {skipped} of {len(s['x'])} points ({why})")


def extremes(plot, axis):
    """The smallest and largest plotted value on axis 'x' or 'y' (axis
    units), hlines included; (None, None) with nothing to plot."""
    k = 0 if axis == "x" else 1
    values = [p[k] for s in plot["series"] for run in s["runs"] for p in run]
    if axis == "y":
        values += to_units([h["y"] for h in plot["hlines"]], plot["y_log"])
    if not values:
        return None, None
    return min(values), max(values)


def layout(plot):
    """Axes and the axes box (left, top, right, bottom: the frame's pixel
    rows and columns), sized so that every label fits."""
    width, height = plot["width"], plot["height"]
    ranges = {}
    for a in "xy":
        lo, hi = extremes(plot, a)
        ranges[a] = data_range(a, lo, hi, plot[a + "_limits"], plot[a + "_log"])

    def axis(a, length, size):
        # A length below 1 px is reported once the box is known, below.
        lo, hi, fixed = ranges[a]
        return make_axis(plot[a + "_log"], lo, hi, fixed, max(1, length), size)

    top = PAD + (TEXT_BOX + GAP if plot["title"] else 0) + TEXT_CAP // 2 + 1
    bottom = X_TICK_GAP + TEXT_BOX + (GAP + TEXT_BOX if plot["x_label"] else 0) + PAD
    y_axis = axis("y", height - top - bottom, lambda label: TEXT_BOX)
    left = (PAD + (TEXT_BOX + GAP if plot["y_label"] else 0)
            + max(text_width(label) for _, label in y_axis.major) + TICK_GAP)
    # The last x label may hang past the box by half its width; one pass
    # to find it, a second to fit it.
    right = PAD
    for _ in range(2):
        x_axis = axis("x", width - left - right, text_width)
        last = [label for u, label in x_axis.major if x_axis.frac(u) > 0.999]
        right = max(PAD, text_width(last[0]) // 2 + 2 if last else 0)
    box = (left, top, width - 1 - right, height - 1 - bottom)
    if box[2] - box[0] < 40 or box[3] - box[1] < 40:
        raise SpecError(f"{width}x{height} pixels leave no room for the plot "
                        "inside its labels: raise width or height")
    return x_axis, y_axis, box


class Mapper:
    """Axis units to pixel coordinates inside the box (floats, clamped to
    +-FAR so that far-away values stay finite)."""

    def __init__(self, x_axis, y_axis, box):
        self.x_axis, self.y_axis, self.box = x_axis, y_axis, box

    def x(self, u):
        left, _, right, _ = self.box
        return max(-FAR, min(FAR, left + self.x_axis.frac(u) * (right - left)))

    def y(self, v):
        _, top, _, bottom = self.box
        return max(-FAR, min(FAR, bottom - self.y_axis.frac(v) * (bottom - top)))


def draw_series(canvas, s, mapper):
    box = mapper.box
    for run in s["runs"]:
        pixels = [(mapper.x(u), mapper.y(v)) for u, v in run]
        if s["style"] != "points":
            if len(pixels) == 1:
                # An isolated point of a line would otherwise not show.
                x, y = pixels[0]
                if box[0] <= x <= box[2] and box[1] <= y <= box[3]:
                    x, y = int(x + 0.5) - LINE_WIDTH // 2, int(y + 0.5) - LINE_WIDTH // 2
                    canvas.fill(x, y, x + LINE_WIDTH, y + LINE_WIDTH, s["color"])
            pixels = decimate(pixels)
            for (x0, y0), (x1, y1) in zip(pixels, pixels[1:]):
                seg = clip_segment(x0, y0, x1, y1, box)
                if seg:
                    draw_segment(canvas, *seg, s["color"])
        if s["style"] != "line":
            # Markers closer than a pixel look the same; draw each once.
            seen = set()
            for x, y in pixels:
                key = (int(x + 0.5), int(y + 0.5))
                if key not in seen and box[0] <= x <= box[2] and box[1] <= y <= box[3]:
                    seen.add(key)
                    draw_marker(canvas, x, y, s["color"], box)


def draw_grid(canvas, x_axis, y_axis, mapper):
    """Light grid lines at the major ticks, drawn only on white pixels so
    that the data stays on top (they go in after the data, whose pixels
    the legend placement counts)."""
    left, top, right, bottom = mapper.box
    buf, stride = canvas.buf, canvas.stride

    def paint(pixels):
        for x, y in pixels:
            o = y * stride + x * 3
            if buf[o:o + 3] == WHITE:
                buf[o:o + 3] = GRID

    for u, _ in x_axis.major:
        x = int(mapper.x(u) + 0.5)
        if left < x < right:
            paint((x, y) for y in range(top + 1, bottom))
    for v, _ in y_axis.major:
        y = int(mapper.y(v) + 0.5)
        if top < y < bottom:
            paint((x, y) for x in range(left + 1, right))


def draw_frame(canvas, x_axis, y_axis, mapper):
    """The axes box, ticks pointing inwards on the left and bottom, and
    tick labels."""
    left, top, right, bottom = mapper.box
    canvas.fill(left, top, right + 1, top + 1, BLACK)
    canvas.fill(left, bottom, right + 1, bottom + 1, BLACK)
    canvas.fill(left, top, left + 1, bottom + 1, BLACK)
    canvas.fill(right, top, right + 1, bottom + 1, BLACK)
    for u in x_axis.minor:
        x = int(mapper.x(u) + 0.5)
        canvas.fill(x, bottom - MINOR_TICK, x + 1, bottom, BLACK)
    for v in y_axis.minor:
        y = int(mapper.y(v) + 0.5)
        canvas.fill(left + 1, y, left + 1 + MINOR_TICK, y + 1, BLACK)
    for u, label in x_axis.major:
        x = int(mapper.x(u) + 0.5)
        canvas.fill(x, bottom - MAJOR_TICK, x + 1, bottom, BLACK)
        draw_text(canvas, x - text_width(label) // 2, bottom + X_TICK_GAP, label, BLACK)
    for v, label in y_axis.major:
        y = int(mapper.y(v) + 0.5)
        canvas.fill(left + 1, y, left + 1 + MAJOR_TICK, y + 1, BLACK)
        draw_text(canvas, left - TICK_GAP - text_width(label), y - TEXT_CAP // 2, label, BLACK)


def fitting_scale(text, room):
    """TEXT_SCALE, or 1 where the text would not fit the room at that size."""
    return TEXT_SCALE if text_width(text) <= room else 1


def draw_labels(canvas, plot, box):
    """Title above the box, x label below the tick labels, y label turned
    to read upwards left of the tick labels; each centred on the box."""
    left, top, right, bottom = box
    width, height = plot["width"], plot["height"]
    if plot["title"]:
        scale = fitting_scale(plot["title"], width - 2 * PAD)
        w = text_width(plot["title"], scale)
        x = min(max(PAD, (left + right - w) // 2), max(PAD, width - PAD - w))
        draw_text(canvas, x, PAD, plot["title"], BLACK, scale)
    if plot["x_label"]:
        scale = fitting_scale(plot["x_label"], width - 2 * PAD)
        w = text_width(plot["x_label"], scale)
        x = min(max(PAD, (left + right - w) // 2), max(PAD, width - PAD - w))
        draw_text(canvas, x, height - PAD - TEXT_BOX, plot["x_label"], BLACK, scale)
    if plot["y_label"]:
        scale = fitting_scale(plot["y_label"], height - 2 * PAD)
        h = text_width(plot["y_label"], scale)
        y = min(max(PAD, (top + bottom - h) // 2), max(PAD, height - PAD - h))
        draw_text(canvas, PAD, y, plot["y_label"], BLACK, scale, vertical=True)


def legend_entries(plot):
    entries = [(s["name"], s["color"], s["style"]) for s in plot["series"] if s["name"]]
    entries += [(h["name"], h["color"], "dashed") for h in plot["hlines"] if h["name"]]
    return entries


def place_legend(canvas, plot, box, size):
    """The legend's top-left corner: the named corner of the box, or for
    'auto' the corner whose area holds the least ink (data, reference
    lines), preferring upper right, upper left, lower right, lower left."""
    left, top, right, bottom = box
    w, h = size
    corners = {
        "upper right": (right - LEGEND_INSET - w, top + LEGEND_INSET),
        "upper left": (left + LEGEND_INSET, top + LEGEND_INSET),
        "lower right": (right - LEGEND_INSET - w, bottom - LEGEND_INSET - h),
        "lower left": (left + LEGEND_INSET, bottom - LEGEND_INSET - h),
    }
    if plot["legend"] != "auto":
        return corners[plot["legend"]]
    # min() keeps the first of equal scores: dict order is the preference.
    return min(corners.values(), key=lambda p: canvas.ink(p[0], p[1], p[0] + w, p[1] + h))


def legend_layout(canvas, plot, box):
    """The legend's entries [(name, colour, style)] and its rectangle
    (x, y, w, h), or None when there is no legend."""
    entries = legend_entries(plot)
    if not entries or plot["legend"] == "none":
        return None
    w = 3 * LEGEND_PAD + LEGEND_SAMPLE + max(text_width(name) for name, _, _ in entries)
    h = 2 * LEGEND_PAD + LEGEND_ROW * len(entries) - (LEGEND_ROW - TEXT_BOX)
    x, y = place_legend(canvas, plot, box, (w, h))
    return entries, (x, y, w, h)


def draw_legend(canvas, entries, rect):
    """A white box with a black border and, for each entry, a sample of its
    line, markers or dashes and its name."""
    x0, y0, w, h = rect
    canvas.fill(x0, y0, x0 + w, y0 + h, WHITE)
    canvas.fill(x0, y0, x0 + w, y0 + 1, BLACK)
    canvas.fill(x0, y0 + h - 1, x0 + w, y0 + h, BLACK)
    canvas.fill(x0, y0, x0 + 1, y0 + h, BLACK)
    canvas.fill(x0 + w - 1, y0, x0 + w, y0 + h, BLACK)
    whole = (0, 0, canvas.width - 1, canvas.height - 1)
    for i, (name, colour, style) in enumerate(entries):
        ty = y0 + LEGEND_PAD + i * LEGEND_ROW
        cy = ty + TEXT_CAP // 2
        sx0, sx1 = x0 + LEGEND_PAD, x0 + LEGEND_PAD + LEGEND_SAMPLE
        if style == "dashed":
            draw_dashed(canvas, sx0, sx1, cy, colour)
        if style in ("line", "linepoints"):
            draw_segment(canvas, sx0, cy, sx1, cy, colour)
        if style in ("points", "linepoints"):
            draw_marker(canvas, (sx0 + sx1) / 2, cy, colour, whole)
        draw_text(canvas, sx1 + LEGEND_PAD, ty, name, BLACK)


def render(plot, warn):
    """The plot as a Canvas."""
    prepare_series(plot, warn)
    x_axis, y_axis, box = layout(plot)
    mapper = Mapper(x_axis, y_axis, box)
    canvas = Canvas(plot["width"], plot["height"])
    for h in plot["hlines"]:
        y = mapper.y(to_units([h["y"]], plot["y_log"])[0])
        if box[1] <= y <= box[3]:
            draw_dashed(canvas, box[0], box[2], y, h["color"])
    for s in plot["series"]:
        draw_series(canvas, s, mapper)
    # The legend goes where the data is not: place it before the grid adds
    # ink of its own, draw it last, over everything.
    legend = legend_layout(canvas, plot, box)
    draw_grid(canvas, x_axis, y_axis, mapper)
    draw_frame(canvas, x_axis, y_axis, mapper)
    draw_labels(canvas, plot, box)
    if legend:
        draw_legend(canvas, *legend)
    return canvas


# ---------------------------------------------------------------- PNG

def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(canvas):
    """8-bit RGB PNG, filter type 0 on every row; zlib level 9 (a fixed
    level keeps the bytes the same run to run)."""
    stride = canvas.stride
    raw = bytearray()
    for y in range(canvas.height):
        raw.append(0)
        raw += canvas.buf[y * stride:(y + 1) * stride]
    header = struct.pack(">IIBBBBB", canvas.width, canvas.height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + png_chunk(b"IEND", b""))


def write_atomically(path, data):
    """Writes data to a temporary file in path's directory and renames it
    over path, so that path never holds a partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; give it the mode open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Draw a line/scatter plot from a JSON spec into a PNG.")
    parser.add_argument("spec", help="the JSON spec, or - for stdin")
    parser.add_argument("-o", "--output", required=True, help="the PNG to write")
    args = parser.parse_args(argv)
    name = "<stdin>" if args.spec == "-" else args.spec

    def warn(message):
        print(f"{PROG}: warning: {name}: {message}", file=sys.stderr)

    try:
        plot = parse_spec(load_spec(args.spec))
        png = encode_png(render(plot, warn))
    except SpecError as e:
        print(f"{PROG}: {name}: {e}", file=sys.stderr)
        return 1
    except (ArithmeticError, ValueError) as e:
        # Values at the edges of float range that the checks above missed:
        # still an error message, not a traceback.
        print(f"{PROG}: {name}: cannot lay out these values: {e}", file=sys.stderr)
        return 1
    try:
        write_atomically(args.output, png)
    except OSError as e:
        print(f"{PROG}: {args.output}: cannot write: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
