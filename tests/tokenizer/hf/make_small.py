#!/usr/bin/env python3
"""Writes the small hand-made tokenizer.json files of tests/tokenizer/hf (one per pipeline shape
the general reader must follow), each a byte-level BPE trained here on a few sentences (60 merges),
so that each is a few KB. Their goldens come from tokenizers.js: see make_goldens.sh."""
import json
import os
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = ("the quick brown fox jumps over the lazy dog. hello world, hello there! "
          "caf\u00e9 r\u00e9sum\u00e9 \u043f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440 "
          "def main():\n    return 12345 + 678\n\n" * 3)
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
DEEPSEEK = (r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|"
            r" ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
O200K = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train(n_merges):
    table = bytes_to_unicode()
    words = Counter(tuple(table[b] for b in w.encode()) for w in CORPUS.replace("\n", " \n").split(" ") if w)
    vocab = [table[b] for b in range(256)]
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        vocab.append(best[0] + best[1])
        merged = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return vocab, merges


def byte_level(prefix=False, regex=False):
    return {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": False, "use_regex": regex}


def split(regex, behavior="Isolated"):
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": behavior, "invert": False}


def tokenizer(normalizer, pre, extra_tokens=(), ignore_merges=False, merges_as_pairs=True, post=None):
    vocab, merges = train(60)
    vocab += [t for t in extra_tokens if t not in vocab]
    added = [("<|end|>", True), ("<think>", False), ("<s>", True)]
    ids = {t: i for i, t in enumerate(vocab)}
    added_tokens = []
    for content, special in added:
        added_tokens.append({"id": len(ids), "content": content, "single_word": False, "lstrip": False,
                             "rstrip": False, "normalized": False, "special": special})
        ids[content] = len(ids)
    model_vocab = {t: i for t, i in ids.items() if t not in dict(added)}
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
            "normalizer": normalizer, "pre_tokenizer": pre, "post_processor": post or byte_level(),
            "decoder": byte_level(),
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": ignore_merges, "vocab": model_vocab,
                      "merges": [list(m) if merges_as_pairs else " ".join(m) for m in merges]}}


BOS = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}}],
       "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}}
FILES = {
    # Qwen3: NFC, then Qwen2's split regex.
    "nfc_qwen": tokenizer({"type": "NFC"}, {"type": "Sequence", "pretokenizers": [split(QWEN2), byte_level()]}),
    # DeepSeek-V3: three Splits (digits in threes, CJK runs, \p{M}/\p{P}/\p{S} words), merges as strings.
    "deepseek": tokenizer({"type": "Sequence", "normalizers": []},
                          {"type": "Sequence", "pretokenizers": [
                              split(r"\p{N}{1,3}"), split("[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"),
                              split(DEEPSEEK), byte_level()]}, merges_as_pairs=False, post=BOS),
    # o200k (gpt-oss): case-aware words, ignore_merges (a whole-piece token no merge reaches).
    "o200k": tokenizer(None, {"type": "Sequence", "pretokenizers": [split(O200K), byte_level()]},
                       extra_tokens=["\u0120world", "hello"], ignore_merges=True),
    # ByteLevel's own regex with a prefix space, after individual digits; NFKC and Replace.
    "digits_bytelevel": tokenizer({"type": "Sequence", "normalizers": [
        {"type": "NFKC"}, {"type": "Replace", "pattern": {"String": "\t"}, "content": "    "}]},
        {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                               byte_level(prefix=True, regex=True)]}),
    # Removed behaviour: the matched whitespace runs are dropped; Lowercase and a literal Replace
    # (regex metacharacters in a String pattern) first.
    "removed_lower": tokenizer({"type": "Sequence", "normalizers": [
        {"type": "Lowercase"}, {"type": "Replace", "pattern": {"String": "\\E(."}, "content": "$1"}]},
        {"type": "Sequence", "pretokenizers": [split(r"\s+", "Removed"), byte_level()]}),
}

for name, content in FILES.items():
    with open(os.path.join(HERE, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(content, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
