// The trained demo tokenizer in resources/demo-trained/ (tools/demo/train_tokenizer.py): it loads,
// its added tokens (DeepSeek's specials, FIM, padding) are single ids, text of every training
// domain round-trips, and it compresses as a 4096-token BPE should.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/test_paths.h"
#include "tokenizer/tokenizer.h"

namespace moe {
namespace {

const Tokenizer& trained() {
    static const std::unique_ptr<Tokenizer> t = Tokenizer::load(test::data_path("../../resources/demo-trained"));
    return *t;
}

// Ids 0..9 in the order tools/demo/bpe/hf_files.py writes them.
const std::vector<std::string> kAddedTokens = {
    "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>",
    "<｜fim▁hole｜>", "<｜fim▁begin｜>", "<｜fim▁end｜>", "<｜▁pad▁｜>"};

struct DomainText {
    const char* domain;
    std::vector<std::string> samples;
};

const std::vector<DomainText>& domain_texts() {
    static const std::vector<DomainText> texts = {
        {"code",
         {"int main(void) {\n\tfor (int i = 0; i < 10; ++i)\n\t\tprintf(\"%d\\n\", i);\n\treturn 0;\n}\n",
          "def parse(self, text):\n    \"\"\"Split text into words.\"\"\"\n    return [w for w in text.split() if w]\n\n\n",
          "func (s *Server) Close() error {\n\ts.mu.Lock()\n\tdefer s.mu.Unlock()\n\treturn s.ln.Close()\n}\n",
          "fn main() -> Result<(), Box<dyn Error>> {\r\n    let v: Vec<u8> = vec![0x1f, 255];\r\n    Ok(())\r\n}"}},
        {"english",
         {"It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in "
          "want of a wife.",
          "\"You have been in Afghanistan, I perceive.\"  \"How on earth did you know that?\" I asked in astonishment.",
          "Tom appeared on the sidewalk with a bucket of whitewash and a long-handled brush.\n\n"}},
        {"math",
         {"gap> G := SymmetricGroup(4);; Size(G);\n24\n",
          "The integral of x^2 from 0 to 1 is 1/3, and sum_{i=1}^{n} i = n(n+1)/2 for n >= 1.",
          "sage: factor(2^64 - 1)\n3 * 5 * 17 * 257 * 641 * 65537 * 6700417\n"}},
        {"chinese",
         {"在 Debian 这种规模的项目中，很难避免遇到与你意见不和的人。",
          "请始终假设其他人都在为这一目标而付诸努力。\n\n    -- Debian 《行为准则》第一条\n",
          "点击“确定”按钮，然后选择【工具】－【选项】。全角数字１２３与半角数字123。"}},
        {"dialogue",
         {"Prince Haldric: Father, I am of age now. May I lead our forces into battle?\n"
          "King Eldaric IV: You’re showing initiative, son!\n",
          "Q: How do I stop a running program?\nA: Press Ctrl-C, or send it SIGTERM.\n",
          "<｜User｜>Hello, who are you?<｜Assistant｜><think>\nA greeting.\n</think>I am a demo model."}},
    };
    return texts;
}

TEST(DemoTrainedTokenizer, VocabAndSpecialIds) {
    const Tokenizer& t = trained();
    EXPECT_EQ(t.vocab_size(), 4096u);
    EXPECT_EQ(t.bos_id(), 0);
    EXPECT_EQ(t.eos_id(), 1);
    EXPECT_EQ(t.pad_id(), 9);
}

TEST(DemoTrainedTokenizer, EveryAddedTokenIsOneId) {
    const Tokenizer& t = trained();
    for (size_t i = 0; i < kAddedTokens.size(); ++i) {
        const std::string& tok = kAddedTokens[i];
        EXPECT_EQ(t.token_to_id(tok), int32_t(i)) << tok;
        EXPECT_EQ(t.encode(tok), std::vector<int32_t>{int32_t(i)}) << tok;
        // Also inside text, with no space around it.
        const std::vector<int32_t> ids = t.encode("x=1;" + tok + "y");
        EXPECT_EQ(std::count(ids.begin(), ids.end(), int32_t(i)), 1) << tok;
        EXPECT_EQ(t.decode(ids), "x=1;" + tok + "y") << tok;
    }
}

TEST(DemoTrainedTokenizer, SkipSpecialDropsSpecialsButKeepsFimMarkers) {
    const Tokenizer& t = trained();
    const std::string text = "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜><｜end▁of▁sentence｜><｜▁pad▁｜>";
    EXPECT_EQ(t.decode(t.encode(text, true), true), "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>");
}

TEST(DemoTrainedTokenizer, AddSpecialTokensPrependsOneBos) {
    const Tokenizer& t = trained();
    const std::vector<int32_t> plain = t.encode("Hello world");
    std::vector<int32_t> with_bos = {0};
    with_bos.insert(with_bos.end(), plain.begin(), plain.end());
    EXPECT_EQ(t.encode("Hello world", true), with_bos);
}

TEST(DemoTrainedTokenizer, TextOfEveryDomainRoundTrips) {
    const Tokenizer& t = trained();
    for (const DomainText& d : domain_texts())
        for (const std::string& s : d.samples) EXPECT_EQ(t.decode(t.encode(s)), s) << d.domain << ": " << s;
}

// On the full corpora tools/demo/check_tokenizer.py measured 2.57 (math) to 3.24 (English) bytes
// per token; on these short strings it is 2.12 code, 2.81 English, 1.76 math (numbers: digits
// go in groups of three and few groups are tokens), 2.81 Chinese, 2.88 dialogue. The untrained
// 500-token tokenizer in resources/demo gives about 1.3, raw bytes 1.0: a tokenizer that lost its
// merges (or never learned the CJK ones) falls below the 1.6 asked for here.
TEST(DemoTrainedTokenizer, CompressesEveryDomain) {
    const Tokenizer& t = trained();
    for (const DomainText& d : domain_texts()) {
        size_t bytes = 0, tokens = 0;
        for (const std::string& s : d.samples) bytes += s.size(), tokens += t.encode(s).size();
        EXPECT_GE(double(bytes) / double(tokens), 1.6) << d.domain << ": " << bytes << " bytes, " << tokens << " tokens";
    }
}

// DeepSeek-V3's pre-tokenizer: digits in groups of three, CJK runs apart from Latin text.
TEST(DemoTrainedTokenizer, TokensStayInsideDigitGroupsAndScriptRuns) {
    const Tokenizer& t = trained();
    auto cuts = [&](const std::string& s) {
        std::vector<size_t> out;
        size_t at = 0;
        for (int32_t id : t.encode(s)) out.push_back(at += t.token_bytes(id).size());
        return out;
    };
    const std::vector<size_t> digits = cuts("1234567");
    EXPECT_NE(std::find(digits.begin(), digits.end(), 3u), digits.end());
    EXPECT_NE(std::find(digits.begin(), digits.end(), 6u), digits.end());
    const std::vector<size_t> mixed = cuts("中文abc");  // two 3-byte characters, then Latin
    EXPECT_NE(std::find(mixed.begin(), mixed.end(), 6u), mixed.end());
}

}  // namespace
}  // namespace moe
