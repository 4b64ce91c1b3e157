#!/usr/bin/env python3
"""Generates runtime/tokenizer/UnicodeTables.inc from the Unicode Character
Database, for the byte-level BPE tokenizer (shared/reference/formats.md §2.2):

  - the general-category classes the GPT-2 pre-split regex needs (\\p{L},
    \\p{N}) and the White_Space property (\\s in Oniguruma, which the Hugging
    Face tokenizers use);
  - what NFC needs: canonical combining classes, canonical (single-level)
    decompositions, primary composites (canonical pairs minus the full
    composition exclusions) and the "quick-check unsafe" set that lets nfc()
    return ASCII/Latin text untouched.

Python 3 standard library only. The inputs are the files of Debian's
`unicode-data` package (Unicode 15.0 on bookworm):

  python3 runtime/tokenizer/gen_unicode_tables.py \\
      [--ucd /usr/share/unicode] [-o runtime/tokenizer/UnicodeTables.inc]

The output is committed, so building quamba does not need the package; rerun
this script only to move to another Unicode version.
"""

import argparse
import os
import re
import sys

HANGUL_S_BASE, HANGUL_S_COUNT = 0xAC00, 11172
HANGUL_V_FIRST, HANGUL_V_LAST = 0x1161, 0x1175
HANGUL_T_FIRST, HANGUL_T_LAST = 0x11A8, 0x11C2

# Class codes shared with Unicode.cpp (kClassLetter, ...).
CLASS_LETTER, CLASS_NUMBER, CLASS_SPACE = 1, 2, 3


def read_unicode_data(path):
    """Returns ({cp: category}, {cp: ccc}, {cp: [canonical decomposition]}).

    Expands the <..., First>/<..., Last> range pairs (CJK, Hangul, Tangut, ...).
    """
    category, ccc, decomp = {}, {}, {}
    range_start = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) < 15:
                continue
            cp = int(fields[0], 16)
            name, cat, cls, dec = fields[1], fields[2], int(fields[3]), fields[5]
            if name.endswith(", First>"):
                range_start = cp
                continue
            if name.endswith(", Last>"):
                if range_start is None:
                    sys.exit(f"{path}: range end {cp:04X} without a start")
                for c in range(range_start, cp + 1):
                    category[c] = cat
                    if cls:
                        ccc[c] = cls
                range_start = None
                continue
            category[cp] = cat
            if cls:
                ccc[cp] = cls
            # Compatibility decompositions start with a <tag>; NFC ignores them.
            if dec and not dec.startswith("<"):
                decomp[cp] = [int(x, 16) for x in dec.split()]
    return category, ccc, decomp


def read_code_point_list(path, property_name=None):
    """Code points listed in a UCD file (`cp` or `lo..hi`, optionally `; prop`)."""
    result = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            data = line.split("#", 1)[0].strip()
            if not data:
                continue
            parts = [p.strip() for p in data.split(";")]
            if property_name is not None and (len(parts) < 2 or parts[1] != property_name):
                continue
            m = re.fullmatch(r"([0-9A-F]+)(?:\.\.([0-9A-F]+))?", parts[0])
            if not m:
                sys.exit(f"{path}: cannot parse {line!r}")
            lo = int(m.group(1), 16)
            hi = int(m.group(2), 16) if m.group(2) else lo
            result.update(range(lo, hi + 1))
    return result


def ranges(mapping):
    """{cp: value} -> [(lo, hi, value)] merging runs of equal values."""
    out = []
    for cp in sorted(mapping):
        v = mapping[cp]
        if out and out[-1][1] == cp - 1 and out[-1][2] == v:
            out[-1][1] = cp
        else:
            out.append([cp, cp, v])
    return out


def emit_table(lines, ctype, name, rows, per_line):
    lines.append(f"static const {ctype} {name}[] = {{")
    for i in range(0, len(rows), per_line):
        lines.append("  " + " ".join(rows[i:i + per_line]))
    lines.append("};")
    lines.append("")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ucd", default="/usr/share/unicode")
    ap.add_argument("-o", "--output",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "UnicodeTables.inc"))
    args = ap.parse_args()

    unicode_data = os.path.join(args.ucd, "UnicodeData.txt")
    category, ccc, decomp = read_unicode_data(unicode_data)
    script_exclusions = read_code_point_list(
        os.path.join(args.ucd, "CompositionExclusions.txt"))
    white_space = read_code_point_list(os.path.join(args.ucd, "PropList.txt"), "White_Space")

    version = "unknown"
    with open(os.path.join(args.ucd, "ReadMe.txt"), encoding="utf-8") as f:
        m = re.search(r"Version (\d+\.\d+\.\d+)", f.read())
        if m:
            version = m.group(1)
    if version == "unknown":
        # DerivedAge.txt names the version in its first line.
        age = os.path.join(args.ucd, "DerivedAge.txt")
        if os.path.exists(age):
            with open(age, encoding="utf-8") as f:
                m = re.search(r"DerivedAge-(\d+\.\d+\.\d+)", f.readline())
                if m:
                    version = m.group(1)

    # --- Character classes. White_Space code points are never L or N.
    classes = {}
    for cp, cat in category.items():
        if cat[0] == "L":
            classes[cp] = CLASS_LETTER
        elif cat[0] == "N":
            classes[cp] = CLASS_NUMBER
    for cp in white_space:
        if cp in classes:
            sys.exit(f"U+{cp:04X} is White_Space and L/N")
        classes[cp] = CLASS_SPACE
    class_ranges = ranges(classes)

    # --- Canonical combining classes.
    ccc_ranges = ranges(ccc)

    # --- Decompositions (single level; nfc() recurses). Canonical mappings
    # have one or two code points.
    for cp, d in decomp.items():
        if len(d) not in (1, 2):
            sys.exit(f"U+{cp:04X}: canonical decomposition of length {len(d)}")

    # Full_Composition_Exclusion = the listed exclusions + singletons +
    # non-starter decompositions (UAX #15; DerivedNormalizationProps derives
    # the same set).
    def fully_excluded(cp):
        d = decomp[cp]
        return (cp in script_exclusions or len(d) == 1 or ccc.get(cp, 0) != 0
                or ccc.get(d[0], 0) != 0)

    compositions = sorted((d[0], d[1], cp) for cp, d in decomp.items()
                          if len(d) == 2 and not fully_excluded(cp))
    pairs = [(a, b) for a, b, _ in compositions]
    if len(set(pairs)) != len(pairs):
        sys.exit("two primary composites share a decomposition")

    # --- NFC quick-check: a code point is "unsafe" if it can change under NFC
    # when it follows anything: a non-zero combining class (reordering), a
    # fully excluded decomposition (NFC_QC=No) or the second element of a
    # composition (NFC_QC=Maybe), Hangul vowel and trailing jamo included.
    unsafe = {cp for cp in ccc}
    unsafe.update(cp for cp in decomp if fully_excluded(cp))
    unsafe.update(b for _, b, _ in compositions)
    unsafe.update(range(HANGUL_V_FIRST, HANGUL_V_LAST + 1))
    unsafe.update(range(HANGUL_T_FIRST, HANGUL_T_LAST + 1))
    unsafe_ranges = ranges({cp: 1 for cp in unsafe})

    lines = [
        "// Generated by runtime/tokenizer/gen_unicode_tables.py from the Unicode",
        f"// Character Database {version} (UnicodeData.txt, CompositionExclusions.txt,",
        "// PropList.txt). Do not edit; rerun the script.",
        "// clang-format off",
        "",
        f'#define QUAMBA_UNICODE_VERSION "{version}"',
        "",
        "// Code points below this one never change under NFC and need no table lookup.",
        f"static constexpr char32_t kNfcSafeBelow = 0x{min(unsafe):X};",
        "",
        "// {first, last, class}: 1 = \\p{L}, 2 = \\p{N}, 3 = White_Space.",
    ]
    emit_table(lines, "ClassRange", "kClassRanges",
               [f"{{0x{lo:X},0x{hi:X},{v}}}," for lo, hi, v in class_ranges], 5)
    lines.append("// {first, last, canonical combining class} for classes other than 0.")
    emit_table(lines, "ClassRange", "kCombiningClassRanges",
               [f"{{0x{lo:X},0x{hi:X},{v}}}," for lo, hi, v in ccc_ranges], 5)
    lines.append("// {first, last}: code points that may change under NFC (see kNfcSafeBelow).")
    emit_table(lines, "CodePointRange", "kNfcUnsafeRanges",
               [f"{{0x{lo:X},0x{hi:X}}}," for lo, hi, _ in unsafe_ranges], 6)
    lines.append("// {code point, first, second (0 for a singleton)}: canonical decompositions,")
    lines.append("// one level; Hangul syllables are algorithmic and not listed.")
    emit_table(lines, "Decomposition", "kDecompositions",
               [f"{{0x{cp:X},0x{d[0]:X},0x{d[1] if len(d) == 2 else 0:X}}},"
                for cp, d in sorted(decomp.items())], 4)
    lines.append("// {first, second, composite}: primary composites, sorted by (first, second).")
    emit_table(lines, "Composition", "kCompositions",
               [f"{{0x{a:X},0x{b:X},0x{c:X}}}," for a, b, c in compositions], 4)

    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))
    print(f"{args.output}: Unicode {version}, {len(class_ranges)} class ranges, "
          f"{len(ccc_ranges)} ccc ranges, {len(unsafe_ranges)} NFC-unsafe ranges, "
          f"{len(decomp)} decompositions, {len(compositions)} compositions, "
          f"kNfcSafeBelow = U+{min(unsafe):04X}")


if __name__ == "__main__":
    main()
