// Long plain text is cut into pieces of at most seq_len tokens, nothing lost, cuts on character
// boundaries, each piece knowing the line it starts on.
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "train/data/dataset.h"
#include "train/data/text_chunks.h"
#include "train_data_util.h"

namespace moe::train {
namespace {

std::string long_text(int lines) {
    std::string s;
    for (int i = 0; i < lines; ++i) s += "Line " + std::to_string(i) + ": 世界 and the river, ünïcode here.\n";
    return s;
}

bool starts_mid_character(const Tokenizer& tok, int32_t id) {
    const std::string_view b = tok.token_bytes(id);
    return !b.empty() && (static_cast<unsigned char>(b[0]) & 0xC0) == 0x80;
}

TEST(TextChunks, PiecesCoverTheDocumentAndRespectTheLimit) {
    const Tokenizer& tok = test::tiny();
    const std::string text = long_text(40);
    const std::vector<int32_t> whole = tok.encode(text, true);
    for (int64_t max_tokens : {7, 32, 100, 100000}) {
        SCOPED_TRACE("max_tokens " + std::to_string(max_tokens));
        const std::vector<TextPiece> pieces = chunk_document(tok, text, max_tokens);
        std::vector<int32_t> joined;
        int64_t lines_before = 0;
        for (const TextPiece& p : pieces) {
            EXPECT_LE(int64_t(p.tokens.size()), max_tokens);
            EXPECT_FALSE(p.tokens.empty());
            EXPECT_FALSE(starts_mid_character(tok, p.tokens.front())) << "a cut splits a UTF-8 character";
            EXPECT_EQ(p.first_line, 1 + lines_before);
            const std::string piece_text = tok.decode(p.tokens);
            lines_before += std::count(piece_text.begin(), piece_text.end(), '\n');
            joined.insert(joined.end(), p.tokens.begin(), p.tokens.end());
        }
        EXPECT_EQ(joined, whole);
        EXPECT_EQ(pieces.size() > 1, int64_t(whole.size()) > max_tokens);
    }
}

TEST(TextChunks, DatasetCutsLongTextInsteadOfTruncating) {
    const Tokenizer& tok = test::tiny();
    moe::test::TempDir dir("chunks");
    const std::string text = long_text(30);
    test::write_file(dir.file("book.txt"), text);
    DataConfig config;
    config.sources = {DataSourceSpec::parse(dir.file("book.txt"))};
    config.seq_len = 64;
    const Dataset data(config, tok);
    const DataReport r = data.report();
    EXPECT_EQ(r.chunked_documents, 1);
    EXPECT_EQ(r.truncated_samples, 0);
    int64_t tokens = 0;
    for (const Sample& s : data.train_samples()) {
        EXPECT_LE(s.size(), config.seq_len);
        EXPECT_EQ(s.loss_tokens(), s.size() - 1);
        tokens += s.size();
    }
    // Every token is in a piece, except a final 1-token piece (no loss), which the report lists.
    EXPECT_EQ(tokens + int64_t(r.dropped.size()), int64_t(tok.encode(text, true).size()));
    EXPECT_GT(data.train_samples().size(), 5u);
    // Each piece's origin is the line it starts on.
    EXPECT_EQ(data.train_samples().front().origin, dir.file("book.txt") + ":1");
    const std::string second = data.train_samples()[1].origin;
    const int64_t line = std::stoll(second.substr(second.rfind(':') + 1));
    const std::string first_text = tok.decode(data.train_samples()[0].tokens);
    EXPECT_EQ(line, 1 + std::count(first_text.begin(), first_text.end(), '\n'));
}

}  // namespace
}  // namespace moe::train
