// Whitespace control and lexing, checked against jinja2 with trim_blocks and lstrip_blocks on.
#include <gtest/gtest.h>

#include "template/jinja_lexer.h"
#include "jinja_test_util.h"

namespace moe {
namespace {

using test::render;

TEST(JinjaLexer, TrimBlocksEatsOneNewlineAfterBlockTags) {
    EXPECT_EQ(render("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter");
    EXPECT_EQ(render("{% for i in [1, 2] %}\n  - {{ i }}\n{% endfor %}\nend"), "  - 1\n  - 2\nend");
    // Variables are not blocks: the newline after }} stays.
    EXPECT_EQ(render("{{ 'a' }}\nb"), "a\nb");
}

TEST(JinjaLexer, LstripBlocksRemovesIndentationOfTagsAloneOnALine) {
    EXPECT_EQ(render("line1\n  {% if true %}\n    kept\n  {% endif %}\nline2\n"), "line1\n    kept\nline2");
    // Text before the tag on the same line keeps its spaces.
    EXPECT_EQ(render("x   {% if true %}\ny{% endif %}"), "x   y");
    // "+" disables lstrip; comments are stripped like blocks.
    EXPECT_EQ(render("a\n  {%+ if true %}b{% endif %}"), "a\n  b");
    EXPECT_EQ(render("a\n  {# c #}\nb"), "a\nb");
}

TEST(JinjaLexer, MinusStripsWhitespaceOnThatSide) {
    EXPECT_EQ(render("a  {{- ' b ' -}}  c"), "a b c");
    EXPECT_EQ(render("  {%- if true -%}  d  {%- endif -%}  |e"), "d|e");
    EXPECT_EQ(render("{%- for i in [1, 2] -%}\n  {{ i }}\n{%- endfor %}\n"), "12");
    EXPECT_EQ(render("a\n  {#- trimmed -#}  \nc{#+ keep +#}\nd"), "ac\nd");
    // "{{-1}}" is strip + 1, as in jinja2.
    EXPECT_EQ(render("x {{-1}}"), "x1");
}

TEST(JinjaLexer, NewlinesAreNormalizedAndOneTrailingNewlineDropped) {
    EXPECT_EQ(render("\r\nwindows\r\nline\rendings\r\n"), "\nwindows\nline\nendings");
    EXPECT_EQ(render("kept once\n\n"), "kept once\n");
    EXPECT_EQ(render("{% if true %}yes{% endif %}\n\n"), "yes");
}

TEST(JinjaLexer, RawBlocksAndLiteralBraces) {
    EXPECT_EQ(render("  {%- raw -%}  {{ not evaluated }} {% if %} {% endraw %}\nafter"),
              "{{ not evaluated }} {% if %} after");
    EXPECT_EQ(render("text with } and { braces and %} and #}"), "text with } and { braces and %} and #}");
    EXPECT_EQ(render("{{ {'a': {'b': 1}} }}"), "{'a': {'b': 1}}");
}

TEST(JinjaLexer, StringEscapesFollowPythonUnicodeEscape) {
    EXPECT_EQ(render(R"({{ 'a\tb\\c\x41\u00e9\U0001F600\101\qz' }})"), "a\tb\\cAé😀A\\qz");
    EXPECT_EQ(render(R"({{ "it's" ~ 'say "hi"' ~ 'x\'y' }})"), "it'ssay \"hi\"x'y");
    EXPECT_EQ(render("{{ 'a' \"b\" 'c' }}"), "abc");  // adjacent literals concatenate
    EXPECT_EQ(render("{{ 'multi\nline' }}"), "multi\nline");
}

TEST(JinjaLexer, NumberLiterals) {
    EXPECT_EQ(render("{{ 0x1F }} {{ 0b101 }} {{ 0o17 }} {{ 1_000 }} {{ 1.5e3 }} {{ 2E-3 }} {{ 00 }}"),
              "31 5 15 1000 1500.0 0.002 0");
    EXPECT_EQ(test::error_code("{{ 007 }}"), "template.syntax");
    EXPECT_EQ(test::error_code("{{ 99999999999999999999 }}"), "template.unsupported");
}

TEST(JinjaLexer, TokensCarryLineAndColumn) {
    const auto toks = jinja::tokenize("ab\n  {{ x }}");
    ASSERT_GE(toks.size(), 4u);
    EXPECT_EQ(toks[1].type, jinja::Tok::VarBegin);
    EXPECT_EQ(toks[1].pos.line, 2u);
    EXPECT_EQ(toks[1].pos.column, 3u);
    EXPECT_EQ(toks[2].text, "x");
    EXPECT_EQ(toks[2].pos.column, 6u);
}

TEST(JinjaLexer, RejectsMalformedInput) {
    EXPECT_EQ(test::error_code("{{ 'unterminated }}"), "template.syntax");
    EXPECT_EQ(test::error_code("{# unterminated comment"), "template.syntax");
    EXPECT_EQ(test::error_code("{% raw %} no end"), "template.syntax");
    EXPECT_EQ(test::error_code("{{ (1 }}"), "template.syntax");
    EXPECT_EQ(test::error_code("{{ [1, 2) }}"), "template.syntax");
    EXPECT_EQ(test::error_code("{{ a ! b }}"), "template.syntax");
    EXPECT_EQ(test::error_code("bad utf8 \xff"), "template.syntax");
    EXPECT_EQ(test::error_code(R"({{ '\x4' }})"), "template.syntax");
}

}  // namespace
}  // namespace moe
