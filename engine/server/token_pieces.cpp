#include "server/token_pieces.h"

#include "core/error.h"

namespace moe::server {

void TokenPieces::push(int32_t id) {
    ids_.push_back(id);
    try {
        texts_.push_back(decoder_.push(id));
    } catch (const Error&) {
        texts_.emplace_back();  // an id past the vocabulary (embedding padding): no text, as decode drops it
    }
}

Json TokenPieces::finish() {
    if (!texts_.empty()) texts_.back() += decoder_.flush();
    Json out = Json::array();
    for (size_t i = 0; i < ids_.size(); ++i) out.push_back(Json{{"id", ids_[i]}, {"text", texts_[i]}});
    return out;
}

}  // namespace moe::server
