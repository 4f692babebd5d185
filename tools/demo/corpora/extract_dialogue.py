"""Dialogue: what the characters of three free games say to each other, as `Name: line`
exchanges (Wesnoth campaigns, FreedroidRPG) and as conversation-driven interactive fiction
(Endless Sky missions)."""
import re

from . import wml
from .textutil import natural_key


def wesnoth_scenes(paths, root):
    """paths: campaign scenario .cfg files; one document per scenario, one paragraph per event."""
    docs = []
    for p in sorted(paths, key=lambda p: natural_key(str(p))):
        blocks = []
        for scene in wml.scenes(p.read_text(encoding='utf-8')):
            lines = []
            for item in scene:
                if item[0] != 'message':
                    continue
                name, text = wml.speaker_name(item[1]), wml.clean_line(item[2])
                if name and wml.usable(text):
                    lines.append(f'{name}: {text}')
            if lines:
                blocks.append('\n'.join(lines))
        if blocks:
            docs.append((str(p.relative_to(root)), '\n\n'.join(blocks) + '\n'))
    return docs


_SAYS = re.compile(r'\b(Tux|Npc):says\(\s*_\s*"((?:[^"\\]|\\.)*)"')
_NODE_TEXT = re.compile(r'^\s*text\s*=\s*_\s*"((?:[^"\\]|\\.)*)"')
_NODE_START = re.compile(r'^\s*(id\s*=\s*"|FirstTime\s*=|EveryTime\s*=)')
_SET_NAME = re.compile(r'Npc:set_name\(\s*"([^"]+)"')
_FORMAT = re.compile(r'%[-0-9.]*[sdif]')
_BBCODE = re.compile(r'\[/?[a-z]+\]')


def _lua_unescape(s):
    return re.sub(r'\\(.)', lambda m: {'n': ' ', 't': ' '}.get(m.group(1), m.group(1)), s)


def _npc_name(text, stem):
    m = _SET_NAME.search(text)
    if m:
        return m.group(1)
    return re.sub(r'(?<=[a-z])(?=[A-Z])', ' ', stem).replace('_', ' ')


def freedroid_dialogues(paths, root):
    """paths: FreedroidRPG dialogs/*.lua; the lines Tux and the NPC say, a paragraph per dialogue
    node (a node's `text` is the player's choice, which Tux says)."""
    docs = []
    for p in sorted(paths, key=lambda p: natural_key(str(p))):
        text = p.read_text(encoding='utf-8')
        npc = _npc_name(text, p.stem)
        blocks, lines = [], []
        for line in text.split('\n'):
            if _NODE_START.match(line) and lines:
                blocks.append('\n'.join(lines))
                lines = []
            choice = _NODE_TEXT.match(line)
            spoken = [('Tux', choice.group(1))] if choice else []
            spoken += [('Tux' if who == 'Tux' else npc, said) for who, said in _SAYS.findall(line)]
            for who, said in spoken:
                said = _BBCODE.sub('', _lua_unescape(said)).strip()
                if said and not _FORMAT.search(said) and not (lines and lines[-1] == f'{who}: {said}'):
                    lines.append(f'{who}: {said}')
        if lines:
            blocks.append('\n'.join(lines))
        blocks = [b for b in blocks if '\n' in b]  # a lone line is a menu entry, not an exchange
        if blocks:
            docs.append((str(p.relative_to(root)), '\n\n'.join(blocks) + '\n'))
    return docs


# Endless Sky fills these in from the game state; fixed values keep the sentences whole.
_ES_FIELDS = {'<first>': 'Alex', '<last>': 'Morgan', '<ship>': 'Wanderer', '<planet>': 'New Tortuga',
              '<origin>': 'Hestia', '<destination>': 'New Tortuga', '<system>': 'Alcyone', '<npc>': 'Vagrant'}
_ES_FIELD = re.compile(r'<[a-z ]+>')


def _es_text(raw):
    text = raw.strip()
    for field, value in _ES_FIELDS.items():
        text = text.replace(field, value)
    return None if _ES_FIELD.search(text) else text


def endless_sky_conversations(paths, root):
    """paths: Endless Sky data/*.txt; every `conversation` block as narration paragraphs, with
    the player's choices listed as `> "..."` lines."""
    docs = []
    for p in sorted(paths, key=lambda p: natural_key(p.name)):
        convs = []
        conv, conv_indent, choice_indent = None, None, None
        for line in p.read_text(encoding='utf-8').split('\n'):
            stripped = line.strip()
            if not stripped or stripped.startswith('#'):
                continue
            indent = len(line) - len(line.lstrip('\t'))
            if conv is not None and indent <= conv_indent:
                convs.append(conv)
                conv = None
            if stripped == 'conversation' or stripped.startswith('conversation '):
                conv, conv_indent, choice_indent = [], indent, None
                continue
            if conv is None:
                continue
            if stripped == 'choice':
                choice_indent = indent
                continue
            if choice_indent is not None and indent <= choice_indent:
                choice_indent = None
            m = re.match(r'^`(.*)`$', stripped)
            if not m:
                continue
            text = _es_text(m.group(1))
            if text is None:
                continue
            is_option = choice_indent is not None and indent == choice_indent + 1
            conv.append(f'> {text}' if is_option else text)
        if conv is not None:
            convs.append(conv)
        blocks = []
        for c in convs:
            out = []
            for entry in c:  # options of one choice stay together; narration is its own paragraph
                if out and not (entry.startswith('> ') and out[-1].startswith('> ')):
                    out.append('')
                out.append(entry)
            if out:
                blocks.append('\n'.join(out))
        if blocks:
            docs.append((str(p.relative_to(root)), '\n\n\n'.join(blocks) + '\n'))
    return docs


_RST_UNDERLINE = re.compile(r'^([=\-~^"*+#])\1{2,}\s*$')
_RST_ROLE = re.compile(r':[a-z:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`')
_RST_LINK = re.compile(r'`([^`<]+?)\s*<[^>]*>`_+')
_RST_DIRECTIVE = re.compile(r'^\.\. ')


def _rst_inline(text):
    text = _RST_LINK.sub(r'\1', text)
    text = _RST_ROLE.sub(r'\1', text)
    return text.replace('``', '`')


def rst_faq(paths, root):
    """paths: FAQ documents in reStructuredText whose section titles are questions; each
    question and its answer as a `Q:` / `A:` exchange (sections whose title is not a question,
    and Sphinx directives, are left out)."""
    docs = []
    for p in sorted(paths, key=lambda p: natural_key(str(p))):
        lines = p.read_text(encoding='utf-8').split('\n')
        exchanges, question, answer, in_directive = [], None, [], False
        i = 0
        while i < len(lines):
            line = lines[i]
            underlined = i + 1 < len(lines) and _RST_UNDERLINE.match(lines[i + 1]) and line.strip() \
                and len(lines[i + 1].strip()) >= len(line.strip())
            if underlined:
                if question and any(a.strip() for a in answer):
                    exchanges.append((question, answer))
                title = _rst_inline(line.strip())
                question, answer = (title if title.endswith('?') else None), []
                i += 2
                continue
            if _RST_UNDERLINE.match(line):  # an overline
                i += 1
                continue
            if _RST_DIRECTIVE.match(line):
                in_directive = True
            elif in_directive and line.strip() and not line.startswith((' ', '\t')):
                in_directive = False
            if question and not in_directive:
                answer.append(_rst_inline(line))
            i += 1
        if question and any(a.strip() for a in answer):
            exchanges.append((question, answer))
        blocks = []
        for q, a in exchanges:
            body = '\n'.join(a).strip('\n')
            blocks.append(f'Q: {q}\nA: {body}')
        if blocks:
            docs.append((str(p.relative_to(root)), '\n\n\n'.join(blocks) + '\n'))
    return docs
