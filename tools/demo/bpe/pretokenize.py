"""DeepSeek-V3's pre-tokenizer and the GPT-2 byte-to-character map, in Python's `re`.

DeepSeek-V3's tokenizer.json splits text in three Isolated steps, then maps bytes to characters
(ByteLevel, use_regex false):
  1. \\p{N}{1,3}                  digits in groups of up to three
  2. [一-龥぀-ゟ゠-ヿ]+             runs of CJK ideographs, hiragana, katakana
  3. [!"#...~][A-Za-z]+ | [^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+ | ?[\\p{P}\\p{S}]+[\\r\\n]*
     | \\s*[\\r\\n]+ | \\s+(?!\\S) | \\s+
Python's `re` has no \\p{..}, so the general categories are spelled out as explicit character
ranges built from `unicodedata`, and \\s as Oniguruma's Unicode White_Space set (the set the
engine's engine/tokenizer/onig_translate.cpp uses; Python's own \\s also takes U+001C..U+001F).
Both engines pick the first alternative that matches, with greedy backtracking repeats, so the
pieces are the engine's. (Python's Unicode tables may be a version older than the engine's
utf8proc/PCRE2 ones; that only matters for characters assigned since.)
"""
import re
import sys
import unicodedata

# The pre_tokenizer block written into tokenizer.json: DeepSeek-V3's, verbatim.
DEEPSEEK_V3_PRE_TOKENIZER = {
    'type': 'Sequence',
    'pretokenizers': [
        {'type': 'Split', 'pattern': {'Regex': '\\p{N}{1,3}'}, 'behavior': 'Isolated', 'invert': False},
        {'type': 'Split', 'pattern': {'Regex': '[一-龥぀-ゟ゠-ヿ]+'}, 'behavior': 'Isolated', 'invert': False},
        {'type': 'Split',
         'pattern': {'Regex': "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?"
                              "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},
         'behavior': 'Isolated', 'invert': False},
        {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False},
    ],
}

# Oniguruma's \s: the Unicode White_Space property.
_SPACE = '\t\n\x0b\x0c\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000'
_CJK = '\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff'
_ASCII_PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'


def _category_ranges(major):
    """Body of a character class holding every code point whose general category starts with `major`."""
    out, start, prev = [], None, None
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] == major:
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            out.append((start, prev))
            start = None
    if start is not None:
        out.append((start, prev))
    return ''.join(f'\\U{a:08x}' if a == b else f'\\U{a:08x}-\\U{b:08x}' for a, b in out)


def _compile():
    cat = {m: _category_ranges(m) for m in 'LMNPS'}
    space = _SPACE
    step1 = re.compile(f'[{cat["N"]}]{{1,3}}|[{_CJK}]+')
    punct = ''.join('\\' + c for c in _ASCII_PUNCT)
    step3 = re.compile(
        f'[{punct}][A-Za-z]+'
        f'|[^\\r\\n{cat["L"]}{cat["P"]}{cat["S"]}]?[{cat["L"]}{cat["M"]}]+'
        f'| ?[{cat["P"]}{cat["S"]}]+[\\r\\n]*'
        f'|[{space}]*[\\r\\n]+'
        f'|[{space}]+(?![^{space}])'
        f'|[{space}]+')
    return step1, step3


_STEP1, _STEP3 = _compile()


def _isolated(regex, text):
    """Split.Isolated: the matches and the text between them, in order, none empty."""
    pieces, prev = [], 0
    for m in regex.finditer(text):
        if m.start() > prev:
            pieces.append(text[prev:m.start()])
        pieces.append(m.group())
        prev = m.end()
    if prev < len(text):
        pieces.append(text[prev:])
    return pieces


def pre_tokenize(text):
    """The pieces (str) DeepSeek-V3's pre-tokenizer cuts `text` into, before the byte mapping.

    Steps 1 and 2 are one regex: a digit group never holds a CJK character nor the reverse, so
    cutting both at once gives the same pieces as cutting one after the other.
    """
    out = []
    for piece in _isolated(_STEP1, text):
        out.extend(_isolated(_STEP3, piece))
    return out


def _bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters."""
    keep = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


BYTE_TO_CHAR = _bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def byte_level(piece):
    """The ByteLevel form of a piece: each UTF-8 byte as its GPT-2 character."""
    return ''.join(BYTE_TO_CHAR[b] for b in piece.encode('utf-8'))


def from_byte_level(token):
    """The bytes a ByteLevel token string stands for."""
    return bytes(CHAR_TO_BYTE[c] for c in token)
