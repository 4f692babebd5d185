// Parity of real chat templates with transformers' apply_chat_template.
//
// tests/data/templates/renders.json (made with real transformers on a GPU machine) is the
// reference: {"transformers_version": ..., "renders": [{"template", "conversation", "text", "error"}]}.
// Until it exists the test falls back to renders.jinja2.json, made by
// tools/fixtures/render_templates_jinja2.py with Python jinja2 in transformers' environment, and
// says so in its output. A reference error means our engine must fail as well.
#include <gtest/gtest.h>

#include <map>

#include "template/chat_template.h"
#include "core/error.h"
#include "support/test_paths.h"

namespace moe {
namespace {

using OJson = nlohmann::ordered_json;

OJson load(const std::string& rel) { return OJson::parse(test::read_file(test::data_path(rel))); }

// bos_token / eos_token of a shared tokenizer: plain strings or AddedToken objects.
OJson special_tokens(const std::string& tokenizer) {
    const OJson config = OJson::parse(test::read_file(test::shared_path("tokenizers/" + tokenizer + "/tokenizer_config.json")));
    OJson out = OJson::object();
    for (const char* key : {"bos_token", "eos_token"}) {
        if (!config.contains(key)) continue;
        const OJson& v = config[key];
        if (v.is_string()) out[key] = v;
        if (v.is_object() && v.contains("content")) out[key] = v["content"];
    }
    return out;
}

struct Reference {
    std::string source;
    OJson renders;
};

Reference reference() {
    if (test::file_exists(test::data_path("templates/renders.json"))) {
        const OJson r = load("templates/renders.json");
        return {"transformers " + r.value("transformers_version", std::string("?")) + " (renders.json)", r.at("renders")};
    }
    const OJson r = load("templates/renders.jinja2.json");
    return {"PROVISIONAL " + r.value("source", std::string("jinja2")) + " (renders.jinja2.json; renders.json not yet made)",
            r.at("renders")};
}

TEST(ChatTemplateParity, RealTemplatesMatchReferenceRenders) {
    if (!test::file_exists(test::data_path("templates/renders.json")) &&
        !test::file_exists(test::data_path("templates/renders.jinja2.json")))
        GTEST_SKIP() << "no reference renders: need tests/data/templates/renders.json (transformers) or "
                        "renders.jinja2.json (tools/fixtures/render_templates_jinja2.py)";
    const Reference ref = reference();
    std::cout << "[parity] reference: " << ref.source << "\n";

    std::map<std::string, ChatTemplate> templates;
    std::map<std::string, OJson> tokens;
    const OJson manifest = load("templates/manifest.json");
    for (const auto& t : manifest.at("templates")) {
        const std::string name = t.at("name").get<std::string>();
        templates.emplace(name, ChatTemplate::compile(test::read_file(test::data_path("templates/" + t.at("file").get<std::string>())), name));
        tokens[name] = special_tokens(t.at("tokenizer").get<std::string>());
    }
    std::map<std::string, OJson> conversations;
    const OJson convs = load("templates/conversations.json");
    for (const auto& c : convs.at("conversations")) conversations[c.at("name").get<std::string>()] = c;

    size_t matched = 0, total = 0;
    for (const auto& r : ref.renders) {
        const std::string tname = r.at("template").get<std::string>();
        const std::string cname = r.at("conversation").get<std::string>();
        SCOPED_TRACE(tname + " x " + cname);
        ASSERT_TRUE(templates.count(tname)) << "template not in manifest";
        ASSERT_TRUE(conversations.count(cname)) << "conversation not in conversations.json";
        const OJson& conv = conversations[cname];
        OJson extra = tokens[tname];
        if (conv.contains("kwargs"))
            for (auto it = conv["kwargs"].begin(); it != conv["kwargs"].end(); ++it) extra[it.key()] = it.value();
        ++total;
        std::string text, error;
        try {
            text = templates.at(tname).render(conv.at("messages"), conv.at("add_generation_prompt").get<bool>(), extra);
        } catch (const Error& e) {
            error = e.what();
        }
        if (!r.at("error").is_null()) {
            EXPECT_FALSE(error.empty()) << "reference failed with " << r["error"] << " but we rendered "
                                        << ::testing::PrintToString(text);
            matched += !error.empty();
            continue;
        }
        const std::string want = r.at("text").get<std::string>();
        EXPECT_TRUE(error.empty()) << error;
        EXPECT_EQ(text, want);
        matched += error.empty() && text == want;
    }
    std::cout << "[parity] " << matched << "/" << total << " renders match (" << ref.source << ")\n";
    EXPECT_EQ(matched, total);
}

// More real templates (tests/data/templates/extra, from llama.cpp's models/templates) against Python
// jinja2 in transformers' environment: macros, |items, tojson(ensure_ascii=False), reasoning splits.
TEST(ChatTemplateParity, ExtraRealTemplatesMatchJinja2) {
    const std::string path = test::data_path("templates/extra_renders.jinja2.json");
    if (!test::file_exists(path)) GTEST_SKIP() << "no extra_renders.jinja2.json: run tools/fixtures/render_templates_jinja2.py";
    const OJson ref = OJson::parse(test::read_file(path));
    const OJson convs = load("templates/conversations.json");
    std::map<std::string, OJson> conversations;
    for (const auto& c : convs.at("conversations")) conversations[c.at("name").get<std::string>()] = c;
    std::map<std::string, ChatTemplate> templates;
    size_t matched = 0, total = 0;
    for (const auto& r : ref.at("renders")) {
        const std::string file = r.at("template").get<std::string>();
        const OJson& conv = conversations.at(r.at("conversation").get<std::string>());
        SCOPED_TRACE(file + " x " + r.at("conversation").get<std::string>());
        if (!templates.count(file)) templates.emplace(file, ChatTemplate::compile(test::read_file(test::data_path("templates/" + file)), file));
        OJson extra = {{"bos_token", ref.at("bos_token")}, {"eos_token", ref.at("eos_token")}};
        if (conv.contains("kwargs"))
            for (auto it = conv["kwargs"].begin(); it != conv["kwargs"].end(); ++it) extra[it.key()] = it.value();
        ++total;
        std::string text, error;
        try {
            text = templates.at(file).render(conv.at("messages"), conv.at("add_generation_prompt").get<bool>(), extra);
        } catch (const Error& e) {
            error = e.what();
        }
        if (!r.at("error").is_null()) {
            EXPECT_FALSE(error.empty()) << "jinja2 failed with " << r["error"] << " but we rendered " << ::testing::PrintToString(text);
            matched += !error.empty();
            continue;
        }
        EXPECT_TRUE(error.empty()) << error;
        EXPECT_EQ(text, r.at("text").get<std::string>());
        matched += error.empty() && text == r.at("text").get<std::string>();
    }
    std::cout << "[parity] extra templates: " << matched << "/" << total << " renders match " << ref.value("source", "?") << "\n";
    EXPECT_EQ(matched, total);
}

}  // namespace
}  // namespace moe
