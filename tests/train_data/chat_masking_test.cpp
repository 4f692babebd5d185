// Loss masks of chat samples against the real DeepSeek-V3 and Qwen3 chat templates and tokenizers:
// the assistant tokens (content, <think> block as rendered, end-of-turn token) and only they carry loss.
#include <gtest/gtest.h>

#include "core/error.h"
#include "template/chat_template.h"
#include "train/data/chat_sample.h"
#include "train_data_util.h"

namespace moe::train {
namespace {

using test::runs;

Json msg(const std::string& role, const std::string& content) { return Json{{"role", role}, {"content", content}}; }

// The conversation rendered in one go, as transformers' apply_chat_template(tokenize=False) does.
std::string render_whole(const Tokenizer& tok, const Json& messages) {
    const TokenizerConfig& tc = tok.config();
    Json ctx = Json::object();
    if (tc.bos_token) ctx["bos_token"] = *tc.bos_token;
    if (tc.eos_token) ctx["eos_token"] = *tc.eos_token;
    return ChatTemplate::compile(tc.chat_template, "test").render(messages, false, ctx);
}

std::vector<Sample> chat_samples(const Tokenizer& tok, const Json& messages) {
    validate_messages(messages);
    ChatRenderer renderer(tok);
    std::vector<Sample> out;
    for (const ChatRender& r : renderer.render(messages)) out.push_back(renderer.tokenize(r));
    return out;
}

void expect_well_formed(const Sample& s) {
    ASSERT_EQ(s.tokens.size(), s.is_target.size());
    ASSERT_FALSE(s.tokens.empty());
    EXPECT_EQ(s.is_target[0], 0) << "the first token is never a target";
}

// ---- DeepSeek-V3 ----------------------------------------------------------------------------

TEST(ChatMaskingDeepSeekV3, SystemPromptMultiTurnAndThink) {
    SKIP_WITHOUT_SHARED("deepseek-v3");
    const Tokenizer& tok = test::deepseek_v3();
    const Json messages = Json::array({msg("system", "You are terse."), msg("user", "What is 2+2?"),
                                       msg("assistant", "<think>\nadd them\n</think>\n\n4"),
                                       msg("user", "And 3+3?"), msg("assistant", "6")});
    const std::vector<Sample> samples = chat_samples(tok, messages);
    // Every turn renders the same as a prefix of the whole: one sample, both turns trained.
    ASSERT_EQ(samples.size(), 1u);
    const Sample& s = samples[0];
    expect_well_formed(s);
    const std::string eos = "<｜end▁of▁sentence｜>";
    EXPECT_EQ(runs(tok, s, true), (std::vector<std::string>{"<think>\nadd them\n</think>\n\n4" + eos, "6" + eos}));
    EXPECT_EQ(runs(tok, s, false),
              (std::vector<std::string>{"<｜begin▁of▁sentence｜>You are terse.<｜User｜>What is 2+2?<｜Assistant｜>",
                                        "<｜User｜>And 3+3?<｜Assistant｜>"}));
    // BOS as the template writes it: once, first.
    EXPECT_EQ(s.tokens[0], tok.bos_id());
    EXPECT_EQ(std::count(s.tokens.begin(), s.tokens.end(), tok.bos_id()), 1);
    // Cutting at the span boundaries did not change the tokens of the whole render.
    EXPECT_EQ(s.tokens, tok.encode(render_whole(tok, messages), false));
}

TEST(ChatMaskingDeepSeekV3, ToolOutputTurnTrainsWhatTheModelWrites) {
    SKIP_WITHOUT_SHARED("deepseek-v3");
    const Tokenizer& tok = test::deepseek_v3();
    // After tool outputs DeepSeek's template closes them with <｜tool▁outputs▁end｜> and writes no
    // <｜Assistant｜>: the prompt ends with the closing token, the answer follows it directly.
    const Json messages = Json::array({msg("user", "Weather in Paris?"),
                                       Json{{"role", "assistant"}, {"content", nullptr},
                                            {"tool_calls", Json::array({Json{{"type", "function"},
                                                                             {"function", Json{{"name", "weather"},
                                                                                               {"arguments", "{\"city\": \"Paris\"}"}}}}})}},
                                       msg("tool", "18C, sunny"), msg("assistant", "It is 18C and sunny.")});
    const std::vector<Sample> samples = chat_samples(tok, messages);
    ASSERT_EQ(samples.size(), 1u);
    const std::vector<std::string> targets = runs(tok, samples[0], true);
    ASSERT_EQ(targets.size(), 2u);
    EXPECT_EQ(targets[0].rfind("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>weather", 0), 0u)
        << targets[0];
    EXPECT_EQ(targets[1], "It is 18C and sunny.<｜end▁of▁sentence｜>");
    const std::vector<std::string> prompts = runs(tok, samples[0], false);
    ASSERT_EQ(prompts.size(), 2u);
    EXPECT_EQ(prompts[1], "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>18C, sunny<｜tool▁output▁end｜><｜tool▁outputs▁end｜>");
}

// ---- Qwen3 ----------------------------------------------------------------------------------

TEST(ChatMaskingQwen3, SystemPromptAndThink) {
    SKIP_WITHOUT_SHARED("qwen3");
    const Tokenizer& tok = test::qwen3();
    const Json messages = Json::array({msg("system", "You are terse."), msg("user", "Hi"),
                                       msg("assistant", "<think>\nGreet back.\n</think>\n\nHello!")});
    const std::vector<Sample> samples = chat_samples(tok, messages);
    ASSERT_EQ(samples.size(), 1u);
    expect_well_formed(samples[0]);
    EXPECT_EQ(runs(tok, samples[0], true),
              (std::vector<std::string>{"<think>\nGreet back.\n</think>\n\nHello!<|im_end|>\n"}));
    EXPECT_EQ(runs(tok, samples[0], false),
              (std::vector<std::string>{
                  "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"}));
    EXPECT_EQ(samples[0].tokens, tok.encode(render_whole(tok, messages), false));
    EXPECT_EQ(std::count(samples[0].tokens.begin(), samples[0].tokens.end(), tok.token_to_id("<think>")), 1);
}

TEST(ChatMaskingQwen3, EmptyThinkBlockIsKeptAsTheTemplateRendersIt) {
    SKIP_WITHOUT_SHARED("qwen3");
    const Tokenizer& tok = test::qwen3();
    const std::vector<Sample> samples =
        chat_samples(tok, Json::array({msg("user", "Hi"), msg("assistant", "Hello!")}));
    ASSERT_EQ(samples.size(), 1u);
    EXPECT_EQ(runs(tok, samples[0], true), (std::vector<std::string>{"<think>\n\n</think>\n\nHello!<|im_end|>\n"}));
}

TEST(ChatMaskingQwen3, MultiTurnTrainsEachTurnAsTheModelSawIt) {
    SKIP_WITHOUT_SHARED("qwen3");
    const Tokenizer& tok = test::qwen3();
    // Qwen3's template drops the reasoning of turns before the last user message, so turn 1 is not
    // a prefix of the whole conversation: it gets a sample of its own, ending with it.
    const Json messages = Json::array({msg("user", "What is 2+2?"), msg("assistant", "<think>\nadd\n</think>\n\n4"),
                                       msg("user", "And 3+3?"), msg("assistant", "<think>\nadd again\n</think>\n\n6")});
    const std::vector<Sample> samples = chat_samples(tok, messages);
    ASSERT_EQ(samples.size(), 2u);
    for (const Sample& s : samples) expect_well_formed(s);
    EXPECT_EQ(runs(tok, samples[0], true), (std::vector<std::string>{"<think>\nadd\n</think>\n\n4<|im_end|>\n"}));
    EXPECT_EQ(runs(tok, samples[1], true),
              (std::vector<std::string>{"<think>\nadd again\n</think>\n\n6<|im_end|>\n"}));
    // The second sample is the whole conversation: turn 1 there has no reasoning and no loss.
    EXPECT_EQ(samples[1].tokens, tok.encode(render_whole(tok, messages), false));
    EXPECT_EQ(runs(tok, samples[1], false),
              (std::vector<std::string>{"<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
                                        "<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n"}));
}

// ---- checks of the conversation itself ----------------------------------------------------------

TEST(ChatMessages, RejectsWhatCannotBeTrained) {
    auto code_of = [](const Json& messages) {
        try {
            validate_messages(messages);
        } catch (const Error& e) {
            return e.code();
        }
        return std::string("ok");
    };
    EXPECT_EQ(code_of(Json::array({msg("user", "q"), msg("assistant", "a")})), "ok");
    EXPECT_EQ(code_of(Json::array({msg("user", "q")})), "data.no_assistant");
    EXPECT_EQ(code_of(Json::array({msg("narrator", "q"), msg("assistant", "a")})), "data.unknown_role");
    EXPECT_EQ(code_of(Json::array()), "data.bad_field");
    EXPECT_EQ(code_of(Json::object()), "data.bad_field");
    EXPECT_EQ(code_of(Json::array({Json{{"role", "user"}}, msg("assistant", "a")})), "data.bad_field");
    EXPECT_EQ(code_of(Json::array({msg("user", "q"), Json{{"role", "assistant"}, {"content", nullptr}}})),
              "data.bad_field");
}

TEST(ChatMessages, AssistantFirstHasNothingToConditionOn) {
    ChatRenderer renderer(test::tiny());
    try {
        renderer.render(Json::array({msg("assistant", "a"), msg("user", "q")}));
        FAIL() << "expected data.assistant_first";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "data.assistant_first");
    }
}

TEST(ChatMessages, TemplateThatRewritesTheTurnIsRefused) {
    // DeepSeek-R1's template opens <think> in the generation prompt and strips the reasoning from
    // the rendered turn: no render holds what the model writes, so no mask can come from them.
    const Json config = {{"bos_token", "<｜begin▁of▁sentence｜>"}, {"eos_token", "<｜end▁of▁sentence｜>"},
                         {"chat_template", moe::test::read_file(test::data_path("templates/deepseek-r1.jinja"))}};
    const std::unique_ptr<Tokenizer> r1 = Tokenizer::from_json_text(
        moe::test::read_file(test::data_path("models/deepseek-v3-tiny/tokenizer.json")), "r1", config.dump());
    ChatRenderer renderer(*r1);
    ASSERT_TRUE(renderer.has_template()) << renderer.unavailable_reason();
    try {
        renderer.render(Json::array({msg("user", "q"), msg("assistant", "<think>\nr\n</think>\n\na")}));
        FAIL() << "expected data.template_prefix";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "data.template_prefix");
        EXPECT_NE(e.detail().find("<think>"), std::string::npos) << e.detail();
    }
}

TEST(ChatMessages, TinyTokenizerMasksLikeDeepSeek) {
    // The tiny tokenizer carries DeepSeek-V3's template with a 500-entry BPE: the same spans.
    const Tokenizer& tok = test::tiny();
    const std::vector<Sample> samples =
        chat_samples(tok, Json::array({msg("user", "Ping"), msg("assistant", "Pong"), msg("user", "Again"),
                                       msg("assistant", "Pong pong")}));
    ASSERT_EQ(samples.size(), 1u);
    EXPECT_EQ(runs(tok, samples[0], true),
              (std::vector<std::string>{"Pong<｜end▁of▁sentence｜>", "Pong pong<｜end▁of▁sentence｜>"}));
    // Loss tokens = the content's own tokens + the end-of-sentence token, per turn.
    EXPECT_EQ(samples[0].loss_tokens(), int64_t(tok.encode("Pong").size() + tok.encode("Pong pong").size() + 2));
}

}  // namespace
}  // namespace moe::train
