"""Chinese: classical poems and sayings (fortunes-zh), Chinese documentation (LibreOffice help,
Debian Reference), and the Chinese translation of Wesnoth's campaign stories."""
import gettext
import gzip
import re

from . import wml
from .htmltext import html_paragraphs
from .textutil import cjk_ratio, join_lines, natural_key, paragraphs

MIN_CJK = 0.3  # a paragraph below this share of Chinese characters is untranslated or code
_ANSI = re.compile(r'\x1b\[[0-9;]*m')
_BOX = re.compile('[\u2500-\u257f]')  # box-drawing: a table from a manual, not prose


def fortunes(paths, root):
    """paths: fortune databases (entries separated by '%' lines, with ANSI colour codes);
    the entries that are Chinese and not tables, separated by blank lines."""
    docs = []
    for p in sorted(paths, key=lambda p: p.name):
        text = _ANSI.sub('', p.read_text(encoding='utf-8'))
        entries = [e.strip('\n') for e in re.split(r'\n%\n', text)]
        kept = [e for e in entries if cjk_ratio(e) >= MIN_CJK and not _BOX.search(e)]
        docs.append((str(p.relative_to(root)), '\n\n'.join(kept) + '\n'))
    return docs


def help_pages(paths, root):
    """paths: translated HTML help pages; their Chinese paragraphs, each paragraph once across
    the whole set (help pages repeat the same notes and menu paths)."""
    seen, docs = set(), []
    for p in sorted(paths, key=lambda p: natural_key(str(p))):
        kept = []
        for para in html_paragraphs(p.read_text(encoding='utf-8', errors='replace')):
            if len(para) >= 8 and cjk_ratio(para) >= MIN_CJK and para not in seen:
                seen.add(para)
                kept.append(para)
        if len(kept) >= 2:
            docs.append((str(p.relative_to(root)), '\n'.join(kept) + '\n'))
    return docs


def plain_text_book(paths, root):
    """paths: a book as (gzipped) plain text with hard-wrapped lines; its Chinese paragraphs,
    unwrapped without spaces between Chinese characters."""
    docs = []
    for p in paths:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == '.gz' else p.read_bytes()
        kept = [join_lines(para.split('\n')) for para in paragraphs(raw.decode('utf-8'))]
        kept = [k for k in kept if cjk_ratio(k) >= MIN_CJK]
        docs.append((str(p.relative_to(root)), '\n\n'.join(kept) + '\n'))
    return docs


def _catalog(mo_path):
    with open(mo_path, 'rb') as f:
        return gettext.GNUTranslations(f)._catalog


def wesnoth_translated(paths, root):
    """paths: a campaign's scenario .cfg files and its zh_CN .mo catalog; the campaign's story
    narration and dialogue in Chinese (English source strings looked up in the catalog;
    a line without a translation is left out, so nothing English slips in)."""
    mos = [p for p in paths if p.suffix == '.mo']
    if len(mos) != 1:
        raise ValueError(f'wesnoth_translated wants one .mo per source, got {mos}')
    catalog = _catalog(mos[0])
    docs = []
    for p in sorted((p for p in paths if p.suffix == '.cfg'), key=lambda p: natural_key(str(p))):
        blocks = []
        for scene in wml.scenes(p.read_text(encoding='utf-8')):
            lines = []
            for item in scene:
                zh = catalog.get(item[-1])
                if not zh or not wml.usable(zh) or cjk_ratio(zh) < MIN_CJK:
                    continue
                zh = wml.clean_line(zh)
                if item[0] == 'message':
                    name = wml.speaker_name(item[1])
                    zh_name = catalog.get(name) if name else None
                    lines.append(f'{zh_name}：{zh}' if zh_name and cjk_ratio(zh_name) >= MIN_CJK else zh)
                else:
                    lines.append(zh)
            if lines:
                blocks.append('\n'.join(lines))
        if blocks:
            docs.append((str(p.relative_to(root)), '\n\n'.join(blocks) + '\n'))
    return docs
