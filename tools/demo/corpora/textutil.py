"""Text clean-up shared by the corpus extractors: normalisation, paragraph unwrapping,
Project Gutenberg boilerplate, licence headers, CJK detection."""
import re
import unicodedata

_CONTROL = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')
_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')


def normalise(text):
    """NFC, LF line ends, no BOM, no control characters or ANSI colour codes, no trailing
    spaces, at most two consecutive blank lines, ends with exactly one newline."""
    text = text.replace('\r\n', '\n').replace('\r', '\n').replace('\ufeff', '')
    text = _ANSI.sub('', text)
    text = _CONTROL.sub('', text)
    text = unicodedata.normalize('NFC', text)
    text = '\n'.join(line.rstrip() for line in text.split('\n'))
    text = re.sub(r'\n{4,}', '\n\n\n', text).strip('\n')
    return text + '\n' if text else ''


def is_cjk(ch):
    return '\u4e00' <= ch <= '\u9fff' or '\u3400' <= ch <= '\u4dbf'


def cjk_ratio(text):
    """Share of the non-space characters that are CJK ideographs."""
    visible = [c for c in text if not c.isspace()]
    return sum(1 for c in visible if is_cjk(c)) / len(visible) if visible else 0.0


def join_lines(lines):
    """Join hard-wrapped lines of one paragraph: a space between words, nothing between two
    CJK characters (Chinese is written without spaces)."""
    out = ''
    for line in (l.strip() for l in lines):
        if not line:
            continue
        if out and not (is_cjk(out[-1]) or is_cjk(line[0]) or out[-1] in '，。；：、！？（）《》「」'):
            out += ' '
        out += line
    return out


def paragraphs(text):
    """Blank-line separated paragraphs of text, each with its lines as they are."""
    return [p for p in re.split(r'\n[ \t]*\n', text) if p.strip()]


def unwrap(text):
    """One line per paragraph, paragraphs separated by one blank line."""
    return '\n\n'.join(join_lines(p.split('\n')) for p in paragraphs(text)) + '\n'


_PG_START = re.compile(r'^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG.*$', re.M | re.I)
_PG_END = re.compile(r'^(\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG|End of (the )?Project Gutenberg)', re.M | re.I)
_PRODUCED_BY = re.compile(r'^\s*Produced by .*?\n\s*\n', re.S | re.I)


def strip_gutenberg(text):
    """The book without Project Gutenberg's header, licence footer and producer credits
    (which PG's trademark licence asks redistributors to remove anyway)."""
    start = _PG_START.search(text)
    if start:
        text = text[start.end():]
    end = _PG_END.search(text)
    if end:
        text = text[:end.start()]
    text = text.lstrip('\n')
    return _PRODUCED_BY.sub('', text, count=1)


_LICENCE_WORDS = re.compile(r'copyright|licen[cs]e|SPDX|warranty|redistribut|permission is hereby', re.I)


def strip_leading_comment(text, line_prefixes=('#', '//', '--', '%', ';')):
    """Remove a leading comment block (line comments or one /* */ block) when it is a
    copyright/licence notice: such headers repeat in every file and would dominate a corpus."""
    lines = text.split('\n')
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith('#!')
                              or lines[i].lstrip().startswith(('# -*-', '# vim:'))):
        i += 1
    head_start = i
    if i < len(lines) and lines[i].lstrip().startswith('/*'):
        while i < len(lines) and '*/' not in lines[i]:
            i += 1
        i += 1
    else:
        while i < len(lines) and lines[i].lstrip().startswith(line_prefixes):
            i += 1
    block = '\n'.join(lines[head_start:i])
    if block and _LICENCE_WORDS.search(block):
        return '\n'.join(lines[:head_start] + lines[i:]).lstrip('\n')
    return text


def natural_key(name):
    """Sort key that orders embedded numbers numerically: ch2 < ch10."""
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', name)]


def strip_trailing_comment(text):
    """Remove a final /* */ block that is a licence (stb puts its licence at the end of each file)."""
    body = text.rstrip()
    if not body.endswith('*/'):
        return text
    start = body.rfind('/*')
    if start >= 0 and _LICENCE_WORDS.search(body[start:]):
        return body[:start].rstrip() + '\n'
    return text
