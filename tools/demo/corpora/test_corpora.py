"""Tests of the corpus cleaners: python3 -m unittest corpora.test_corpora (from tools/demo)."""
import struct
import tempfile
import unittest
from pathlib import Path

from . import extract_dialogue, rdata, textutil, wml


class TextUtilTest(unittest.TestCase):
    def test_gutenberg_header_footer_and_credits_are_removed(self):
        book = ('The Project Gutenberg EBook of X\n\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\n\n'
                'Produced by a volunteer\n\nCHAPTER 1\n\nIt began.\n\n'
                '*** END OF THIS PROJECT GUTENBERG EBOOK X ***\nlicence text\n')
        self.assertEqual(textutil.strip_gutenberg(book).strip(), 'CHAPTER 1\n\nIt began.')

    def test_unwrap_joins_english_with_spaces_and_chinese_without(self):
        self.assertEqual(textutil.unwrap('one\ntwo\n\n三个\n四个\n'), 'one two\n\n三个四个\n')

    def test_normalise_strips_ansi_controls_and_trailing_space(self):
        self.assertEqual(textutil.normalise('\ufeff\x1b[32mgreen\x1b[m  \r\nx\x07\n\n\n\n\ny'), 'green\nx\n\n\ny\n')

    def test_licence_comments_are_removed_but_ordinary_comments_kept(self):
        src = '// Copyright 2020 A. Author\n// Licensed under MIT.\n\n// Adds one.\nint f(int x) { return x + 1; }\n'
        self.assertEqual(textutil.strip_leading_comment(src), '// Adds one.\nint f(int x) { return x + 1; }\n')
        self.assertEqual(textutil.strip_leading_comment('// Adds one.\nint f();\n'), '// Adds one.\nint f();\n')
        self.assertEqual(textutil.strip_trailing_comment('int f();\n/*\nMIT License\n*/\n'), 'int f();\n')

    def test_cjk_ratio_counts_ideographs_among_visible_characters(self):
        self.assertAlmostEqual(textutil.cjk_ratio('中文 ab'), 0.5)


class WmlTest(unittest.TestCase):
    CFG = '''[event]
    [message]
        speaker=Konrad
        message= _ "Where is ""the"" ship?
It sails."
    [/message]
#ifdef EASY
    [message]
        id=Delfador
        message= _ "Easy."
    [/message]
#else
    [message]
        id=Delfador
        message= _ "Hard."
    [/message]
#endif
    [message]
        speaker=narrator
        message= _ "You may recruit."
    [/message]
[/event]
'''

    def test_messages_in_order_first_branch_only_with_quotes_and_lines_joined(self):
        (scene,) = wml.scenes(self.CFG)
        self.assertEqual(scene, [('message', 'Konrad', 'Where is "the" ship?\nIt sails.'),
                                 ('message', 'Delfador', 'Easy.'), ('message', 'narrator', 'You may recruit.')])
        self.assertEqual(wml.clean_line(scene[0][2]), 'Where is "the" ship? It sails.')
        self.assertIsNone(wml.speaker_name('narrator'))


class DialogueTest(unittest.TestCase):
    def test_freedroid_node_choices_are_spoken_by_tux(self):
        lua = ('return {\n FirstTime = function()\n  Tux:says(_"Hello!")\n  Npc:says(_"Hi, [b]friend[/b].")\n'
               ' end,\n {\n  id = "node1",\n  text = _"Who are you?",\n  code = function()\n'
               '   Npc:says(_"I am %s.", x)\n   Npc:says(_"A cook.")\n  end,\n },\n}\n')
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / 'Chef.lua'
            path.write_text(lua)
            ((_, text),) = extract_dialogue.freedroid_dialogues([path], Path(d))
        self.assertEqual(text, 'Tux: Hello!\nChef: Hi, friend.\n\nTux: Who are you?\nChef: A cook.\n')

    def test_faq_sections_with_questions_become_exchanges(self):
        rst = 'General\n=======\n\nWhat is it?\n-----------\n\nA :func:`tool` for ``x``.\n\n.. index:: x\n\nMore.\n'
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / 'faq.rst.txt'
            path.write_text(rst)
            ((_, text),) = extract_dialogue.rst_faq([path], Path(d))
        self.assertEqual(text, 'Q: What is it?\nA: A tool for `x`.\n\nMore.\n')


class RDataTest(unittest.TestCase):
    def test_character_vector_with_na_is_read(self):
        def chars(s):
            b = s.encode()
            return struct.pack('>ii', 9 | (1 << 15), len(b)) + b  # CHARSXP, UTF-8 flag
        raw = (b'X\n' + struct.pack('>iii', 2, 0x040100, 0x020300) + struct.pack('>ii', 16, 3)
               + chars('It is a truth') + struct.pack('>ii', 9, -1) + chars('universally acknowledged'))
        kind_value = rdata._unserialize(raw, 'test')
        self.assertEqual(kind_value[:3], ('vector', rdata.STR, ['It is a truth', None, 'universally acknowledged']))

    def test_unknown_format_is_a_clear_error(self):
        with self.assertRaisesRegex(rdata.RDataError, 'test: not XDR'):
            rdata._unserialize(b'A\n', 'test')


if __name__ == '__main__':
    unittest.main()
