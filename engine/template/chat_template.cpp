#include "template/chat_template.h"

#include <algorithm>

#include "template/jinja_eval.h"
#include "template/jinja_parser.h"
#include "core/error.h"

namespace moe {

struct ChatTemplate::Impl {
    std::string source;
    jinja::Template tmpl;
    ChatTemplateLimits limits;
};

namespace {

// Internal errors carry a code and a position; callers get a moe::Error naming the template.
[[noreturn]] void rethrow(const jinja::JinjaError& e, const std::string& name) {
    std::string detail;
    if (e.pos().line) detail = "line " + std::to_string(e.pos().line) + ", column " + std::to_string(e.pos().column) + ": ";
    detail += e.message();
    throw Error(e.code(), name, detail);
}

using Context = std::vector<std::pair<std::string, jinja::Value>>;

// transformers' apply_chat_template refuses an empty list before the template runs.
template <class J>
void check_messages(const J& messages, const std::string& name) {
    if (!messages.is_array()) throw_invalid_argument("chat messages must be a JSON array");
    if (messages.empty())
        throw Error("template.empty_conversation", name,
                    "Cannot apply chat template to an empty conversation. Provide at least one message.");
}

template <class J>
Context make_context(jinja::Value messages, bool add_generation_prompt, const J& extra) {
    if (!extra.is_null() && !extra.is_object()) throw_invalid_argument("chat template extra context must be a JSON object");
    Context ctx;
    ctx.emplace_back("messages", std::move(messages));
    ctx.emplace_back("tools", jinja::Value::none());
    ctx.emplace_back("documents", jinja::Value::none());
    ctx.emplace_back("add_generation_prompt", jinja::Value::boolean(add_generation_prompt));
    if (extra.is_null()) return ctx;
    for (auto it = extra.begin(); it != extra.end(); ++it) {
        const std::string& key = it.key();
        if (key == "messages" || key == "add_generation_prompt")
            throw_invalid_argument("chat template extra context may not set '" + key + "'");
        jinja::Value v = jinja::value_from_json(it.value());
        auto slot = std::find_if(ctx.begin(), ctx.end(), [&](const auto& kv) { return kv.first == key; });
        if (slot != ctx.end())
            slot->second = std::move(v);
        else
            ctx.emplace_back(key, std::move(v));
    }
    return ctx;
}

jinja::RenderLimits render_limits(const ChatTemplateLimits& l) {
    jinja::RenderLimits r;
    r.max_steps = l.max_steps;
    r.max_output_bytes = l.max_output_bytes;
    r.max_string_bytes = l.max_string_bytes;
    r.max_call_depth = l.max_call_depth;
    return r;
}

std::string run(const ChatTemplate::Impl& impl, const std::string& name, const Context& ctx) {
    try {
        jinja::Renderer renderer(impl.tmpl, render_limits(impl.limits));
        return renderer.render(ctx);
    } catch (const jinja::JinjaError& e) {
        rethrow(e, name);
    }
}

}  // namespace

ChatTemplate ChatTemplate::compile(std::string source, std::string name, const ChatTemplateLimits& limits) {
    if (source.size() > limits.max_source_bytes)
        throw Error("template.limit", name,
                    "template of " + std::to_string(source.size()) + " bytes exceeds " +
                        std::to_string(limits.max_source_bytes));
    auto impl = std::make_shared<Impl>();
    impl->limits = limits;
    try {
        impl->tmpl = jinja::parse_template(source, name);
    } catch (const jinja::JinjaError& e) {
        rethrow(e, name);
    }
    impl->source = std::move(source);
    ChatTemplate t;
    t.impl_ = std::move(impl);
    return t;
}

std::string ChatTemplate::render(const Json& messages, bool add_generation_prompt, const Json& extra_context) const {
    check_messages(messages, impl_->tmpl.name);
    try {
        return run(*impl_, impl_->tmpl.name, make_context(jinja::value_from_json(messages), add_generation_prompt, extra_context));
    } catch (const jinja::JinjaError& e) {
        rethrow(e, impl_->tmpl.name);
    }
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra_context) const {
    check_messages(messages, impl_->tmpl.name);
    try {
        return run(*impl_, impl_->tmpl.name, make_context(jinja::value_from_json(messages), add_generation_prompt, extra_context));
    } catch (const jinja::JinjaError& e) {
        rethrow(e, impl_->tmpl.name);
    }
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const Json& extra_context) const {
    if (messages.empty()) check_messages(Json::array(), impl_->tmpl.name);
    try {
        // Built as template values directly (key order: role, content, then extra's keys).
        std::vector<jinja::Value> list;
        for (const auto& m : messages) {
            auto d = std::make_shared<jinja::DictData>();
            d->set(jinja::Value::string("role"), jinja::value_from_json(Json(m.role)));
            d->set(jinja::Value::string("content"), m.content ? jinja::value_from_json(Json(*m.content)) : jinja::Value::none());
            if (m.extra.is_object())
                for (auto it = m.extra.begin(); it != m.extra.end(); ++it)
                    if (it.key() != "role" && it.key() != "content")
                        d->set(jinja::Value::string(it.key()), jinja::value_from_json(it.value()));
            list.push_back(jinja::Value::dict(std::move(d)));
        }
        return run(*impl_, impl_->tmpl.name,
                   make_context(jinja::Value::list(std::move(list)), add_generation_prompt, extra_context));
    } catch (const jinja::JinjaError& e) {
        rethrow(e, impl_->tmpl.name);
    }
}

const std::string& ChatTemplate::name() const { return impl_->tmpl.name; }
const std::string& ChatTemplate::source() const { return impl_->source; }

}  // namespace moe
