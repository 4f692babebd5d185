"""Mathematics: the PARI/GP manuals in TeX, the Sage tutorials in reStructuredText with LaTeX
maths, and GAP's manuals as plain text."""
import re

from .textutil import natural_key


def _drop_leading_tex_comments(text):
    lines = text.split('\n')
    i = 0
    while i < len(lines) and (lines[i].startswith('%') or not lines[i].strip()):
        i += 1
    return '\n'.join(lines[i:])


def tex_sources(paths, root, order=None):
    """TeX chapters without their leading %-comment licence header, in natural file order."""
    return [(str(p.relative_to(root)), _drop_leading_tex_comments(p.read_text(encoding='utf-8', errors='replace')))
            for p in sorted(paths, key=lambda p: natural_key(p.name))]


_RST_META = re.compile(r'^\.\. (_[^:]+:|-\*-|MODULEAUTHOR::|sectionauthor::|moduleauthor::|linkall|'
                       r'toctree::|index::|highlight::|contents::|include::|only::|image::|figure::|'
                       r'plot::|\|)')


def rst_sources(paths, root):
    """reStructuredText tutorials without Sphinx bookkeeping (labels, author lines, tables of
    contents and their option lines), in natural path order."""
    docs = []
    for p in sorted(paths, key=lambda p: natural_key(str(p))):
        out, in_meta = [], False
        for line in p.read_text(encoding='utf-8', errors='replace').split('\n'):
            if _RST_META.match(line):
                in_meta = True
                continue
            if in_meta and (line.startswith((' ', '\t')) or not line.strip()):
                if line.strip():
                    continue
                in_meta = False
            else:
                in_meta = False
            out.append(line)
        docs.append((str(p.relative_to(root)), '\n'.join(out)))
    return docs


_GAP_ESCAPE = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')


def gap_manual(paths, root):
    """GAP's terminal help chapters (chapN.txt), the tutorial first: terminal escape codes and
    the spaces that justify each line removed."""
    docs = []
    for p in sorted(paths, key=lambda p: ('/tut/' not in str(p), natural_key(str(p)))):
        text = _GAP_ESCAPE.sub('', p.read_text(encoding='utf-8', errors='replace')).replace('\x17', '')
        lines = []
        for line in text.split('\n'):
            indent = len(line) - len(line.lstrip(' '))
            lines.append(line[:indent] + re.sub(r' {2,}', ' ', line[indent:]))
        docs.append((str(p.relative_to(root)), '\n'.join(lines)))
    return docs
