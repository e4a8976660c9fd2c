#!/usr/bin/env python3
"""Prints the Unicode tables of src/eval/ptb-regex.cpp: [:letter:] (General_Category L*) and [:digit:] (Nd) in the
BMP as JFlex 1.5.1 saw them when it generated CoreNLP 3.4.1's PTBLexer, i.e. Unicode 6.3: characters assigned after
6.3 are left out, and the few whose category changed since then get their 6.3 category back.

Reads the Unicode Character Database of Debian's unicode-data package (/usr/share/unicode, any later version).
usage: scripts/ptb-unicode-tables.py [ucd folder] > tables.txt
"""
import sys

ucd = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
MAX_AGE = (6, 3)
# category changes after 6.3 that touch L*/Nd in the BMP: code point ranges and whether they were letters in 6.3
CHANGED = [
    (0x1885, 0x1886, True),   # Mongolian Ali Gali baluda: Lo in 6.3, Mn since 9.0
    (0x19B0, 0x19C0, False),  # New Tai Lue vowel signs: Mc in 6.3, Lo since 8.0
    (0x19C8, 0x19C9, False),  # New Tai Lue tone marks: Mc in 6.3, Lo since 8.0
    (0x1CF2, 0x1CF3, False),  # Vedic signs ardhavisarga, rotated ardhavisarga: Mc in 6.3, Lo since 10.0
]


def load(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if not line:
            continue
        rng, val = [x.strip() for x in line.split(";")[:2]]
        a, _, b = rng.partition("..")
        for c in range(int(a, 16), min(int(b or a, 16), 0xFFFF) + 1):
            out[c] = val
    return out


gc = load(f"{ucd}/extracted/DerivedGeneralCategory.txt")
age = {c: tuple(int(x) for x in v.split(".")) for c, v in load(f"{ucd}/DerivedAge.txt").items()}


def old(c):
    return age.get(c, (99, 0)) <= MAX_AGE


def letter(c):
    for a, b, was in CHANGED:
        if a <= c <= b:
            return was
    return old(c) and gc.get(c, "Cn").startswith("L")


def ranges(pred):
    r = []
    for c in range(0x10000):
        if pred(c):
            if r and r[-1][1] == c - 1:
                r[-1][1] = c
            else:
                r.append([c, c])
    return r


letters = ranges(letter)
print(f"// General_Category L* in the BMP as of Unicode {MAX_AGE[0]}.{MAX_AGE[1]} ({len(letters)} ranges)")
items = ["{ 0x%04X, 0x%04X }" % (a, b) for a, b in letters]
for i in range(0, len(items), 5):
    print("    " + ", ".join(items[i:i + 5]) + ",")
digits = ranges(lambda c: old(c) and gc.get(c) == "Nd")
assert all(b - a == 9 for a, b in digits)
print(f"// General_Category Nd in the BMP as of Unicode {MAX_AGE[0]}.{MAX_AGE[1]}: first digit of each block of ten")
items = ["0x%04X" % a for a, _ in digits]
for i in range(0, len(items), 13):
    print("    " + ", ".join(items[i:i + 13]) + ",")
