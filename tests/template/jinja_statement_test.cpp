// Statements: if, for (loop variables, else, filtering, unpacking, break/continue), set and
// namespaces, macros and call blocks, filter/with blocks and jinja2's scoping rules.
#include <gtest/gtest.h>

#include "jinja_test_util.h"

namespace moe {
namespace {

using test::error_code;
using test::render;

constexpr const char* kCtx = R"({"d": {"a": 1, "b": 2}, "l": [3, 1, 2], "n": 7,
  "msgs": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]})";

TEST(JinjaStatements, IfElifElse) {
    EXPECT_EQ(render("{% if n > 5 %}big{% elif n > 2 %}mid{% else %}small{% endif %}", kCtx), "big");
    EXPECT_EQ(render("{% if 0 %}a{% elif 1 %}b{% endif %}|{% if missing %}x{% else %}y{% endif %}"), "b|y");
}

TEST(JinjaStatements, LoopVariables) {
    EXPECT_EQ(render("{% for m in msgs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                     "{{ loop.first }}{{ loop.last }}{{ loop.length }},{% endfor %}",
                     kCtx),
              "1021TrueFalse2,2110FalseTrue2,");
    EXPECT_EQ(render("{% for x in l %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}{{ loop.cycle('a', 'b') }}|{% endfor %}", kCtx),
              "<3>1a|3<1>2b|1<2>a|");
    EXPECT_EQ(render("{% for x in [1, 1, 2, 2, 1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}"), "121");
    // Nested loops shadow `loop`; depth only grows in recursive loops.
    EXPECT_EQ(render("{% for x in [1, 2] %}{% for y in 'ab' %}{{ loop.index }}{{ loop.depth }}{% endfor %}{{ loop.index }};{% endfor %}"),
              "11211;11212;");
}

TEST(JinjaStatements, LoopFilterElseAndUnpacking) {
    EXPECT_EQ(render("{% for x in [1, 2, 3, 4, 5] if x is odd %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %}"),
              "1:1/3 3:2/3 5:3/3 ");
    EXPECT_EQ(render("{% for x in [] %}a{% else %}E{% endfor %}{% for x in missing %}a{% else %}M{% endfor %}"), "EM");
    EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}", kCtx),
              "a=1;b=2;37");
    EXPECT_EQ(render("{% for c in 'héy' %}[{{ c }}]{% endfor %}{% for k in d %}{{ k }}{% endfor %}", kCtx), "[h][é][y]ab");
    EXPECT_EQ(error_code("{% for a, b in [[1]] %}{% endfor %}"), "template.runtime");
    EXPECT_EQ(error_code("{% for x in 5 %}{% endfor %}"), "template.runtime");
}

TEST(JinjaStatements, BreakAndContinue) {
    EXPECT_EQ(render("{% for x in [1, 2, 3, 4, 5] %}{% if x == 2 %}{% continue %}{% endif %}"
                     "{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
              "13");
    EXPECT_EQ(error_code("{% break %}"), "template.syntax");
    EXPECT_EQ(error_code("{% for x in l %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}"), "template.syntax");
}

TEST(JinjaStatements, SetScopingFollowsJinja2) {
    // A loop body gets a fresh scope every iteration; outer variables are read, not written.
    EXPECT_EQ(render("{% set x = 5 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}"), "51525");
    EXPECT_EQ(render("{% for i in [1, 2] %}{% if i == 2 %}[{{ y }}]{% endif %}{% set y = i %}{% endfor %}[{{ y }}]"), "[][]");
    EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = (3, 4) %}{{ c }}"), "12(3, 4)");
    EXPECT_EQ(render("{% set blk %}block {{ n }}\n{% endset %}[{{ blk }}]{% set up | upper %}shout{% endset %}{{ up }}", kCtx),
              "[block 7\n]SHOUT");
}

TEST(JinjaStatements, NamespacesCarryStateOutOfLoops) {
    EXPECT_EQ(render("{% set ns = namespace(total=0, items=[]) %}{% for i in l %}{% set ns.total = ns.total + i %}"
                     "{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.total }}{{ ns.items }}{{ ns }}",
                     kCtx),
              "6[3, 1, 2]<Namespace {'total': 6, 'items': [3, 1, 2]}>");
    EXPECT_EQ(render("{% set ns = namespace(d) %}{{ ns.a }}{% set ns.self = ns %}{{ ns.self.b }}", kCtx), "12");
    EXPECT_EQ(error_code("{% set x = 1 %}{% set x.y = 2 %}"), "template.runtime");
}

TEST(JinjaStatements, Macros) {
    EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
                     "{{ greet('Bob') }}|{{ greet('Al', '?') }}|{{ greet(punct='.', name='Cy') }}|{{ greet() }}"),
              "Hi Bob!|Hi Al?|Hi Cy.|Hi !");
    EXPECT_EQ(render("{% macro m(a, b=2) %}{{ a }}-{{ b }}-{{ varargs }}-{{ kwargs }}{% endmacro %}{{ m(1) }}|{{ m(1, 3, 4, z=5) }}"),
              "1-2-()-{}|1-3-(4,)-{'z': 5}");
    EXPECT_EQ(render("{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k }}*{{ fact(k - 1) }}{% endif %}{% endmacro %}{{ fact(4) }}"),
              "4*3*2*1");
    // Macros see the template's variables as they are when called.
    EXPECT_EQ(render("{% set v = 6 %}{% macro show() %}{{ v }}{% endmacro %}{% set v = 7 %}{{ show() }}"), "7");
    EXPECT_EQ(error_code("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}"), "template.runtime");
    EXPECT_EQ(error_code("{% macro m(a) %}{% endmacro %}{{ m(b=1) }}"), "template.runtime");
}

TEST(JinjaStatements, CallBlocks) {
    EXPECT_EQ(render("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}"
                     "{% call wrap('b') %}inner {{ n }}{% endcall %}",
                     kCtx),
              "<b>inner 7</b>");
    EXPECT_EQ(render("{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}"
                     "{% call(x) each([1, 2]) %}({{ x }}){% endcall %}"),
              "(1)(2)");
}

TEST(JinjaStatements, FilterWithAndGenerationBlocks) {
    EXPECT_EQ(render("{% filter upper %}shout{% endfilter %}|{% filter trim | replace('a', 'b') %}  aaa  {% endfilter %}"),
              "SHOUT|bbb");
    EXPECT_EQ(render("{% with a = 1, b = n %}{{ a + b }}{% endwith %}[{{ a }}]", kCtx), "8[]");
    EXPECT_EQ(render("{% generation %}gen {{ n }}{% endgeneration %}", kCtx), "gen 7");
    EXPECT_EQ(render("{% print n, 'x' %}", kCtx), "7x");
}

}  // namespace
}  // namespace moe
