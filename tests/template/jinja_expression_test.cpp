// Expressions: Python values, operators, precedence, attribute and item access, tests and the
// jinja2 Undefined rules. Expected strings were produced by jinja2 3.1.6.
#include <gtest/gtest.h>

#include "jinja_test_util.h"

namespace moe {
namespace {

using test::error_code;
using test::render;

constexpr const char* kCtx = R"({"d": {"a": 1, "b": [1, 2], "c": null, "items": "key named items"},
  "l": [3, 1, 2], "s": "Hello, World", "u": "héllo wörld ✓ 你好", "n": 7,
  "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": null}]})";

TEST(JinjaExpressions, PrintsValuesLikePythonStr) {
    EXPECT_EQ(render("{{ 1 }}|{{ 2.5 }}|{{ 1e20 }}|{{ 1.0 }}|{{ 0.1 + 0.2 }}|{{ 1e-5 }}|{{ 1e16 }}|{{ 1e15 }}"),
              "1|2.5|1e+20|1.0|0.30000000000000004|1e-05|1e+16|1000000000000000.0");
    EXPECT_EQ(render("{{ true }}{{ none }}{{ False }}|{{ missing }}|{{ [1, 'a', none, true, 2.5] }}"),
              "TrueNoneFalse||[1, 'a', None, True, 2.5]");
    EXPECT_EQ(render("{{ {'a': 1, 'b': {'c': none}} }}|{{ (1, 2) }}|{{ (1,) }}|{{ () }}"),
              "{'a': 1, 'b': {'c': None}}|(1, 2)|(1,)|()");
    EXPECT_EQ(render(R"({{ ["it's", 'a"b', 'x\ny', '\x01', 'é'] }})"), R"(["it's", 'a"b', 'x\ny', '\x01', 'é'])");
}

TEST(JinjaExpressions, ArithmeticFollowsPython) {
    EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}"),
              "3 -4 2 3.5 2.0 1024 64 4");
    EXPECT_EQ(render("{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** -1 }} {{ 10 % -3 }} {{ true + 1 }}"), "3.0 0.5 0.5 -2 2");
    EXPECT_EQ(render("{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] + [2] }} {{ [0] * 2 }} {{ 'ab' + 'cd' }}"), "ababab xxx [1, 2] [0, 0] abcd");
    EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ true ~ missing ~ [1] }}"), "a1NoneTrue[1]");
}

TEST(JinjaExpressions, PrecedenceMatchesJinja2) {
    // ~ binds tighter than + and -, looser than * and /.
    EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 * 3 ~ 4 }}"), "7 9 64");
    EXPECT_EQ(error_code("{{ 1 + 2 ~ 3 }}"), "template.runtime");
    // Filters bind to the operand before them; `not` binds looser than tests.
    EXPECT_EQ(render("{{ -3 | abs }} {{ not 1 is string }} {{ 'a' if false else 'b' if false else 'c' }}"), "3 True c");
}

TEST(JinjaExpressions, ComparisonsAndLogic) {
    EXPECT_EQ(render("{{ 1 == 1.0 }}{{ 'a' < 'b' }}{{ [1, 2] < [1, 3] }}{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ (1, 2) == [1, 2] }}"),
              "TrueTrueTrueTrueFalseFalse");
    EXPECT_EQ(render("{{ 1 in [1] }}{{ 'ell' in 'hello' }}{{ 'a' in d }}{{ 3 not in l }}{{ 'x' in missing }}", kCtx),
              "TrueTrueTrueFalseFalse");
    EXPECT_EQ(render("{{ 1 and 2 }}{{ 0 and 2 }}{{ 0 or 'x' }}{{ '' or none }}{{ missing or 'def' }}{{ not [] }}"),
              "20xNonedefTrue");
    EXPECT_EQ(error_code("{{ 1 < 'a' }}"), "template.runtime");
    EXPECT_EQ(error_code("{{ 1 in 'abc' }}"), "template.runtime");
}

TEST(JinjaExpressions, AttributeAndItemAccess) {
    EXPECT_EQ(render("{{ d.a }}|{{ d['a'] }}|{{ d.b[1] }}|{{ d.missing }}|{{ d.c }}|{{ d['items'] }}|{{ d.items is callable }}", kCtx),
              "1|1|2||None|key named items|True");
    EXPECT_EQ(render("{{ l[0] }}{{ l[-1] }}{{ l[5] }}{{ l.0 }}|{{ s[0] }}{{ s[-1] }}|{{ u[1] }}", kCtx), "323|Hd|é");
    EXPECT_EQ(render("{{ msgs[0].role }} {{ msgs[1].content is none }} {{ msgs[0].content.upper() }}", kCtx), "user True HI");
}

TEST(JinjaExpressions, SlicesCountCodePoints) {
    EXPECT_EQ(render("{{ l[::-1] }}|{{ l[1:] }}|{{ l[:2] }}|{{ l[-2:] }}|{{ s[::2] }}|{{ u[::-1] }}|{{ u[2:5] }}|{{ l[10:] }}", kCtx),
              "[2, 1, 3]|[1, 2]|[3, 1]|[1, 2]|Hlo ol|好你 ✓ dlröw olléh|llo|[]");
    EXPECT_EQ(error_code("{{ l[::0] }}", kCtx), "template.runtime");
    EXPECT_EQ(error_code("{{ l[1.5:] }}", kCtx), "template.runtime");
}

TEST(JinjaExpressions, UndefinedPrintsEmptyButFailsWhenUsed) {
    EXPECT_EQ(render("[{{ missing }}][{{ d.nope }}][{{ missing | length }}][{{ missing is defined }}]", kCtx), "[][][0][False]");
    EXPECT_EQ(render("{{ msgs[1].content is none }}{{ msgs[0].nope is none }}{{ missing == missing }}", kCtx), "TrueFalseTrue");
    EXPECT_EQ(error_code("{{ missing.x }}"), "template.undefined");
    EXPECT_EQ(error_code("{{ d.nope.x }}", kCtx), "template.undefined");
    EXPECT_EQ(error_code("{{ missing() }}"), "template.undefined");
    EXPECT_EQ(error_code("{{ missing + 1 }}"), "template.undefined");
    EXPECT_EQ(error_code("{{ (x if false).y }}"), "template.undefined");
}

TEST(JinjaExpressions, Tests) {
    EXPECT_EQ(render("{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 1 is number }}{{ 's' is string }}"
                     "{{ {} is mapping }}{{ [] is iterable }}{{ 5 is iterable }}{{ 's' is sequence }}"),
              "FalseTrueTrueTrueTrueTrueTrueFalseTrue");
    EXPECT_EQ(render("{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 2 is in [1, 2] }}{{ 1 is eq 1 }}"
                     "{{ 1 is equalto 2 }}{{ 3 is gt 2 }}{{ true is true }}{{ 1 is true }}{{ 'ABC' is upper }}"),
              "TrueTrueTrueTrueTrueFalseTrueTrueFalseTrue");
    EXPECT_EQ(render("{{ x is not defined }}{{ 'upper' is filter }}{{ 'nope' is test }}"), "TrueTrueFalse");
}

TEST(JinjaExpressions, SandboxRefusesMutationAndPrivateAttributes) {
    EXPECT_EQ(render("[{{ l.append }}][{{ d.update }}][{{ s.__class__ }}]", kCtx), "[][][]");
    EXPECT_EQ(error_code("{{ l.append(4) }}", kCtx), "template.security");
    EXPECT_EQ(error_code("{{ d.pop('a') }}", kCtx), "template.security");
    EXPECT_EQ(error_code("{{ s.__class__() }}", kCtx), "template.security");
}

TEST(JinjaExpressions, GlobalsFromTransformers) {
    EXPECT_EQ(render("{{ range(3) | list }} {{ range(5, 0, -2) | list }} {{ dict(a=1) }} {{ namespace(x=1).x }}"),
              "[0, 1, 2] [5, 3, 1] {'a': 1} 1");
    EXPECT_EQ(render("{{ strftime_now('%Y') | length }}"), "4");
    EXPECT_EQ(error_code("{{ raise_exception('boom') }}"), "template.raised");
    EXPECT_NE(test::error_text("{{ raise_exception('boom') }}").find("boom"), std::string::npos);
}

}  // namespace
}  // namespace moe
