"""English prose: Jane Austen's novels (R data set), Project Gutenberg plain-text books, and a
book in HTML."""
from . import rdata
from .htmltext import html_paragraphs
from .textutil import strip_gutenberg, unwrap, natural_key

# Publication order, so the corpus reads as the six novels did.
AUSTEN_ORDER = ['sensesensibility', 'prideprejudice', 'mansfieldpark', 'emma', 'northangerabbey', 'persuasion']


def austen_novels(paths, root):
    """paths: [.../janeaustenr/data/Rdata.rdx]; one document per novel (a character vector of
    lines in the R data set)."""
    (rdx,) = paths
    books = rdata.character_vectors(str(rdx)[:-len('.rdx')])
    missing = [b for b in AUSTEN_ORDER if b not in books]
    if missing:
        raise ValueError(f'{rdx}: data set lacks {missing}; has {sorted(books)}')
    rel = str(rdx.relative_to(root))
    return [(f'{rel}#{name}', unwrap('\n'.join(line or '' for line in books[name])))
            for name in AUSTEN_ORDER]


def gutenberg_books(paths, root):
    """Plain-text Project Gutenberg books, boilerplate removed, one line per paragraph."""
    return [(str(p.relative_to(root)), unwrap(strip_gutenberg(p.read_text(encoding='utf-8'))))
            for p in paths]


def html_book(paths, root):
    """A book as one HTML page per chapter, in natural file-name order (ch2 before ch10)."""
    docs = []
    for p in sorted(paths, key=lambda p: natural_key(p.name)):
        paras = html_paragraphs(p.read_text(encoding='utf-8', errors='replace'))
        docs.append((str(p.relative_to(root)), '\n\n'.join(paras) + '\n'))
    return docs
