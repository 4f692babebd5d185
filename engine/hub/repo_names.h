// Names that come from the hub (repository ids, file paths in a listing) are hostile input:
// each is validated before it touches the filesystem or a URL.
#pragma once

#include <string>

namespace moe::hub {

// "org/name" (or a legacy root "name"): 1..96 chars per part from [A-Za-z0-9._-], no "--" or ".." (huggingface_hub's rules),
// not starting or ending with '-' or '.'. Throws moe::Error("hub.bad_repo_id").
void validate_repo_id(const std::string& repo);

// A repository file path from a listing: relative, '/'-separated, each segment non-empty, not "."
// or "..", no backslash, no ':' (Windows drive / stream), no NUL or control characters, valid
// UTF-8, no Windows reserved device names, segment <= 255 bytes, whole path <= 1024 bytes.
// Returns "" when valid, otherwise the reason (for tests and messages).
std::string filename_problem(const std::string& path);
// Throws moe::Error("hub.bad_filename", <repo>, "<reason>: '<escaped path>'").
void validate_repo_filename(const std::string& repo, const std::string& path);

// A revision name as given by the user or the hub: branch/tag names or a 40-hex sha; same
// character rules as paths plus no spaces. Throws moe::Error("hub.bad_revision").
void validate_revision(const std::string& revision);
bool is_commit_sha(const std::string& s);  // 40 lowercase hex

// What a file is, for the download filter: only safetensors, json and tokenizer files are fetched.
enum class FileKind { Safetensors, Json, Tokenizer, Pickle, Other };
FileKind classify_file(const std::string& path);
const char* file_kind_name(FileKind k);
bool is_downloadable(FileKind k);

// "org/name" -> "models--org--name" (huggingface_hub's cache folder name).
std::string repo_folder_name(const std::string& repo);

// Printable form of an untrusted string for messages (control bytes as \xNN).
std::string escape_for_message(const std::string& s);

}  // namespace moe::hub
