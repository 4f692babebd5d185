// Differential test against Python jinja2: tests/data/templates/snippets.json holds small templates
// and what jinja2 (in transformers' sandboxed environment) renders for them, or the error it raises.
// Regenerate with tools/fixtures/render_templates_jinja2.py.
#include <gtest/gtest.h>

#include "template/chat_template.h"
#include "core/error.h"
#include "support/test_paths.h"

namespace moe {
namespace {

using OJson = nlohmann::ordered_json;

// Snippets do not look at `messages`; apply_chat_template needs at least one.
const OJson kOneMessage = OJson::array({OJson{{"role", "user"}, {"content", "x"}}});

TEST(JinjaSnippets, MatchPythonJinja2) {
    const std::string path = test::data_path("templates/snippets.json");
    ASSERT_TRUE(test::file_exists(path)) << path << " missing: run tools/fixtures/render_templates_jinja2.py";
    const OJson fixture = OJson::parse(test::read_file(path));
    const OJson& context = fixture.at("context");
    size_t matched = 0, total = 0;
    for (const auto& c : fixture.at("cases")) {
        ++total;
        const std::string source = c.at("template").get<std::string>();
        SCOPED_TRACE("template: " + source);
        std::string text, error;
        try {
            text = ChatTemplate::compile(source, "snippet").render(kOneMessage, false, context);
        } catch (const Error& e) {
            error = e.what();
        }
        if (c.at("text").is_null()) {
            EXPECT_FALSE(error.empty()) << "jinja2 raised " << c.at("error").get<std::string>() << " but we rendered "
                                        << ::testing::PrintToString(text);
            matched += !error.empty();
        } else {
            const std::string want = c.at("text").get<std::string>();
            EXPECT_TRUE(error.empty()) << "unexpected error: " << error;
            EXPECT_EQ(text, want);
            matched += error.empty() && text == want;
        }
    }
    std::cout << "[snippets] " << matched << "/" << total << " match " << fixture.value("source", "?") << "\n";
}

}  // namespace
}  // namespace moe
