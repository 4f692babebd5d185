"""The story of a Battle for Wesnoth campaign from its WML scenario files: the [message]
lines characters speak and the [part] story= narration, in file order, grouped by [event].

WML is line based: `[tag]` / `[/tag]` open and close elements, `key=value` sets attributes,
and a translatable string is `_ "text"` ("" is an escaped quote; strings may span lines).
Preprocessor branches (#ifdef EASY ... #else ... #endif) keep only their first arm, so each
difficulty-dependent line appears once.
"""
import re

_TAG = re.compile(r'^\s*\[(/?)([a-z_+]+)\]')
_KEY = re.compile(r'^\s*([a-z_]+)\s*=\s*(.*)$')
_STRING = re.compile(r'"((?:[^"]|"")*)"')


def _string_open(s):
    quotes, j = 0, 0
    while j < len(s):
        if s[j] == '"':
            if quotes % 2 == 1 and s[j + 1:j + 2] == '"':
                j += 2
                continue
            quotes += 1
        j += 1
    return quotes % 2 == 1


def _value(first, lines, i):
    """The value that starts with `first` (continuing on following lines while a string is
    open), and the index of the next line. Concatenated strings are joined."""
    buf = first
    while _string_open(buf) and i < len(lines):
        buf += '\n' + lines[i]
        i += 1
    parts = [m.group(1).replace('""', '"') for m in _STRING.finditer(buf)]
    return (''.join(parts) if parts else buf.strip()), i


def scenes(text):
    """[[('message', speaker, text) | ('story', text), ...], ...] — one list per [event] or
    [story] element that says something."""
    lines = text.split('\n')
    i, branches, skipping = 0, [], 0
    element, out, scene = None, [], []
    while i < len(lines):
        line = lines[i]
        i += 1
        s = line.strip()
        if s.startswith(('#ifdef', '#ifndef', '#ifhave', '#ifnhave', '#ifver', '#ifnver')):
            branches.append('if')
            continue
        if s.startswith('#else'):
            branches.append('else')
            skipping += 1
            continue
        if s.startswith('#endif'):
            while branches and branches[-1] == 'else':
                branches.pop()
                skipping -= 1
            if branches:
                branches.pop()
            continue
        if s.startswith('#'):
            continue
        key = _KEY.match(line)
        if skipping:
            if key:
                _, i = _value(key.group(2), lines, i)
            continue
        tag = _TAG.match(line)
        if tag:
            closing, name = tag.groups()
            if name in ('message', 'part'):
                if not closing:
                    element = {'kind': name}
                elif element is not None:
                    if name == 'message' and element.get('message'):
                        # the speaker is named by speaker= or, as a standard unit filter, by id=
                        who = element.get('speaker') or element.get('id', '')
                        scene.append(('message', who, element['message']))
                    elif name == 'part' and element.get('story'):
                        scene.append(('story', element['story']))
                    element = None
            elif name in ('event', 'story') and closing and scene:
                out.append(scene)
                scene = []
            continue
        if key:
            value, i = _value(key.group(2), lines, i)
            if element is not None:
                element[key.group(1)] = value
    if scene:
        out.append(scene)
    return out


_MARKUP = re.compile(r'<[^>]+>')


def clean_line(text):
    """One spoken line or story paragraph as plain text: markup removed, on one line."""
    text = _MARKUP.sub('', text).replace('&amp;', '&').replace('&lt;', '<').replace('&gt;', '>')
    return re.sub(r'\s*\n\s*', ' ', text).strip()


def usable(text):
    """False for lines that depend on game state ($variables, {MACROS}) rather than read as prose."""
    return bool(text) and '$' not in text and '{' not in text and '}' not in text


NON_CHARACTERS = {'narrator', 'unit', 'second_unit'}


def speaker_name(speaker):
    """The character's name for a speaker= id, or None when it is not a fixed character."""
    if not speaker or speaker in NON_CHARACTERS or not usable(speaker):
        return None
    return speaker.replace('_', ' ')
