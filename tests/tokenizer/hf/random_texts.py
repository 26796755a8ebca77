#!/usr/bin/env python3
"""Prints {"texts": [...]}: texts.json's texts plus N seeded random strings mixing scripts,
combining marks, emoji with joiners and skin tones, digits, punctuation and whitespace runs.
(No U+0085 or U+FEFF: JavaScript's \\s and Oniguruma's disagree on them.)
Usage: random_texts.py <texts.json> <N>"""
import json
import random
import sys

POOL = [
    "a", "Z", "\u00e9", "\u00df", "\u0131", "\u017f", "\u0434", "\u0416", "\u03a9", "\u4e2d", "\u6587", "\u3042",
    "\u30ab", "\ud55c", "\u0639", "\u05d0", "\u0915", "\u094d", "\u0e01", "\u0301", "\u0308", "\u0327",
    "\U0001F600", "\U0001F44B", "\U0001F3FD", "\u200d", "\ufe0f", "\U0001F469", "\U0001F4BB", "\u2764",
    "0", "7", "\u0663", "\u00bd", "\u2167", ".", ",", "'", "'s", "'LL", "-", "/", "(", "}", "#", "$", "\u2014",
    "\u00ab", "\u3002", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2009", "<|endoftext|>",
    "Hello", "world", "don't", "CamelCase", "HTTPServer", "12345",
]

base = json.load(open(sys.argv[1]))["texts"]
rng = random.Random(16)
extra = ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 40))) for _ in range(int(sys.argv[2]))]
json.dump({"texts": base + extra}, sys.stdout, ensure_ascii=False)
