"""Plain paragraphs from an HTML page (standard library html.parser): the text of block
elements, without scripts, styles, navigation, headers and side panels."""
import html.parser
import re

_BLOCK = {'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'li', 'td', 'th', 'pre', 'dt', 'dd', 'div',
          'br', 'tr', 'title', 'blockquote', 'table', 'ul', 'ol', 'section', 'article'}
_SKIP = {'script', 'style', 'header', 'aside', 'nav', 'noscript', 'head', 'footer'}


class _Paragraphs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.current, self.skip_depth = [], [], 0

    def _flush(self):
        text = re.sub(r'\s+', ' ', ''.join(self.current)).strip()
        if text:
            self.out.append(text)
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag in _BLOCK:
            self._flush()

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK:
            self._flush()

    def handle_data(self, data):
        if not self.skip_depth:
            self.current.append(data)


def html_paragraphs(markup):
    """The page's paragraphs, whitespace collapsed, in document order."""
    parser = _Paragraphs()
    parser.feed(markup)
    parser.close()
    parser._flush()
    return parser.out
