// Error codes, positions, unsupported constructs, sandbox limits and the ChatTemplate facade.
#include <gtest/gtest.h>

#include <chrono>

#include "jinja_test_util.h"

namespace moe {
namespace {

using test::error_code;
using test::error_text;
using test::render;

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

TEST(JinjaErrors, SyntaxErrorsNameTemplateLineAndColumn) {
    const std::string e = error_text("{% if true %}\n  {{ 1 + }}{% endif %}");
    EXPECT_TRUE(contains(e, "line 2, column 10")) << e;
    EXPECT_TRUE(contains(e, "[template.syntax]")) << e;
    try {
        ChatTemplate::compile("{% for %}", "my-template.jinja");
        FAIL() << "expected an error";
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), "template.syntax");
        EXPECT_EQ(err.file(), "my-template.jinja");
    }
    EXPECT_EQ(error_code("{% if true %}unclosed"), "template.syntax");
    EXPECT_EQ(error_code("{% for x in l %}{% endif %}"), "template.syntax");
    EXPECT_EQ(error_code("{% endfor %}"), "template.syntax");
    EXPECT_EQ(error_code("{% do l.append(1) %}"), "template.syntax");  // the `do` extension is not enabled
    EXPECT_EQ(error_code("{% set 1 = 2 %}"), "template.syntax");
}

TEST(JinjaErrors, UnsupportedConstructsAreNamedWithTheirPosition) {
    const std::string e = error_text("ok\n  {% extends 'base.html' %}");
    EXPECT_TRUE(contains(e, "[template.unsupported]")) << e;
    EXPECT_TRUE(contains(e, "extends")) << e;
    EXPECT_TRUE(contains(e, "line 2, column 6")) << e;
    EXPECT_EQ(error_code("{% include 'x' %}"), "template.unsupported");
    EXPECT_EQ(error_code("{% import 'x' as y %}"), "template.unsupported");
    EXPECT_EQ(error_code("{% from 'x' import y %}"), "template.unsupported");
    EXPECT_EQ(error_code("{% block b %}{% endblock %}"), "template.unsupported");
    EXPECT_EQ(error_code("{% for x in [1] recursive %}{% endfor %}"), "template.unsupported");
    EXPECT_EQ(error_code("{{ range(*[1]) }}"), "template.unsupported");
    EXPECT_EQ(error_code(R"({{ '\N{EM DASH}' }})"), "template.unsupported");
    EXPECT_EQ(error_code("{{ cycler(1, 2) }}"), "template.unsupported");
    EXPECT_EQ(error_code("{{ [1] | batch(2) }}"), "template.unsupported");
}

TEST(JinjaErrors, RuntimeErrorsCarryThePositionOfTheFailingNode) {
    const std::string e = error_text("line one\n{{ 'a' + 1 }}");
    EXPECT_TRUE(contains(e, "[template.runtime]")) << e;
    EXPECT_TRUE(contains(e, "line 2")) << e;
    EXPECT_EQ(error_code("{{ 1 / 0 }}"), "template.runtime");
    EXPECT_EQ(error_code("{{ 'a' is odd }}"), "template.runtime");
    // Arguments of the wrong type are Python TypeErrors, never a crash.
    EXPECT_EQ(error_code("{{ 2.5 | round('a') }}"), "template.runtime");
    EXPECT_EQ(error_code("{{ 'a,b'.split(',', 'x') }}"), "template.runtime");
    EXPECT_EQ(error_code("{{ 'ab' | center('x') }}"), "template.runtime");
    EXPECT_EQ(error_code("{{ 'x' | indent(none) }}"), "template.runtime");
}

TEST(JinjaErrors, RaiseExceptionCarriesTheTemplateMessage) {
    const std::string src = "{% if messages[0].role != 'system' %}{{ raise_exception('Conversation roles must alternate!') }}{% endif %}";
    try {
        ChatTemplate::compile(src, "strict").render(Json::array({Json{{"role", "user"}, {"content", "x"}}}), true);
        FAIL() << "expected template.raised";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "template.raised");
        EXPECT_EQ(e.file(), "strict");
        EXPECT_TRUE(contains(e.detail(), "Conversation roles must alternate!")) << e.detail();
    }
}

TEST(JinjaErrors, StepLimitStopsRunawayLoopsQuickly) {
    const auto start = std::chrono::steady_clock::now();
    // jinja2's sandbox refuses ranges over 100000 items outright...
    EXPECT_EQ(error_code("{% for i in range(10**9) %}x{% endfor %}"), "template.limit");
    // ...and nested loops hit the step limit.
    EXPECT_EQ(error_code("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"), "template.limit");
    EXPECT_TRUE(contains(error_text("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"), "steps"));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 5.0);
    ChatTemplateLimits tight;
    tight.max_steps = 100;
    EXPECT_EQ(error_code("{% for i in range(1000) %}{% endfor %}", "{}", tight), "template.limit");
    EXPECT_EQ(render("{% for i in range(10) %}{{ i }}{% endfor %}", "{}", tight), "0123456789");
}

TEST(JinjaErrors, OutputAndValueSizeLimits) {
    EXPECT_EQ(error_code("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}"), "template.limit");
    EXPECT_EQ(error_code("{{ 'x' * 1000000000 }}"), "template.limit");
    EXPECT_EQ(error_code("{{ [1] * 1000000000 }}"), "template.limit");
    EXPECT_EQ(error_code("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
              "template.limit");
    EXPECT_EQ(error_code("{% set ns = namespace(l=[]) %}{% for i in range(200) %}{% set ns.l = [ns.l] %}{% endfor %}"),
              "template.limit");
    ChatTemplateLimits small;
    small.max_output_bytes = 10;
    EXPECT_EQ(error_code("{{ 'x' * 11 }}", "{}", small), "template.limit");
    EXPECT_EQ(render("{{ 'x' * 10 }}", "{}", small), "xxxxxxxxxx");
}

TEST(JinjaErrors, RecursionAndNestingLimits) {
    EXPECT_EQ(error_code("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}"), "template.limit");
    EXPECT_EQ(error_code("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"), "template.limit");
    EXPECT_EQ(error_code("{{ " + std::string(20000, '[') + std::string(20000, ']') + " }}"), "template.limit");
    std::string nots = "{{ ";
    for (int i = 0; i < 5000; ++i) nots += "not ";
    EXPECT_EQ(error_code(nots + "x }}"), "template.limit");
    std::string chain = "{{ 1";
    for (int i = 0; i < 20000; ++i) chain += " + 1";
    EXPECT_EQ(error_code(chain + " }}"), "template.limit");
    std::string ifs;
    for (int i = 0; i < 2000; ++i) ifs += "{% if true %}";
    EXPECT_EQ(error_code(ifs), "template.limit");
    ChatTemplateLimits tiny;
    tiny.max_source_bytes = 8;
    EXPECT_EQ(error_code("0123456789", "{}", tiny), "template.limit");
}

TEST(ChatTemplateFacade, RendersChatMessagesWithContextDefaults) {
    const auto t = ChatTemplate::compile(
        "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}{% if m.tool_calls %}+{{ m.tool_calls | length }}"
        "{% endif %}]{% endfor %}{% if add_generation_prompt %}>{% endif %}{{ tools is none }}{{ documents is none }}",
        "facade");
    std::vector<ChatMessage> msgs = {{"user", "hi", Json()},
                                     {"assistant", std::nullopt, Json{{"tool_calls", Json::array({Json::object()})}}}};
    EXPECT_EQ(t.render(msgs, true, Json{{"bos_token", "<s>"}}), "<s>[user:hi][assistant:None+1]>TrueTrue");
    EXPECT_EQ(t.render(Json::array({Json{{"role", "user"}, {"content", "x"}}}), false), "[user:x]TrueTrue");
    EXPECT_EQ(t.render(nlohmann::ordered_json::array({{{"role", "user"}, {"content", "y"}}}), true,
                       nlohmann::ordered_json{{"bos_token", "B"}}),
              "B[user:y]>TrueTrue");
    EXPECT_EQ(t.name(), "facade");
    // Invalid UTF-8 in a message is refused, not passed through.
    EXPECT_THROW(t.render(std::vector<ChatMessage>{{"user", std::string("bad \xff"), Json()}}, false), Error);
    EXPECT_THROW(t.render(std::vector<ChatMessage>{}, false), Error);
}

TEST(ChatTemplateFacade, RejectsBadArguments) {
    const auto t = ChatTemplate::compile("{{ messages | length }}", "facade");
    const Json one = Json::array({Json{{"role", "user"}, {"content", "x"}}});
    EXPECT_THROW(t.render(one, false, Json::array()), Error);
    EXPECT_THROW(t.render(one, false, Json{{"messages", 1}}), Error);
    EXPECT_THROW(t.render(Json::object(), false), Error);
    try {
        t.render(Json::array(), true);
        FAIL() << "expected template.empty_conversation";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "template.empty_conversation");  // as transformers' apply_chat_template
    }
    Json deep = Json::array();
    for (int i = 0; i < 300; ++i) deep = Json::array({deep});
    try {
        t.render(deep, false);
        FAIL() << "expected template.limit";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "template.limit");
    }
}

}  // namespace
}  // namespace moe
