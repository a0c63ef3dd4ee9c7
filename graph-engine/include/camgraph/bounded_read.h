// Bounded reading of users' files: a size limit checked before reading, and JSON whose nesting
// depth is checked (a cheap scan outside strings) before nlohmann builds anything, since copying,
// comparing and dumping a json value recurse once per level.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace camgraph {

// Nesting limit of the JSON files CamGraph reads (.cgraph, sweeps, manifests, transforms.json).
constexpr int kMaxJsonDepth = 128;

// Reads a regular file of at most `max_bytes`; `what` names the kind of file in the error
// ("<path>: <what> is N bytes, more than the M this reader accepts"). Throws std::runtime_error
// naming the path when it is missing, not a regular file, too large or unreadable.
std::string read_file_bounded(const std::filesystem::path& path, uint64_t max_bytes, const std::string& what);

// Where a byte offset of `text` is, as "line L, column C" (1-based).
std::string text_position(std::string_view text, size_t byte);

// Throws std::runtime_error "<source>: line L, column C: JSON nested deeper than N levels" when
// `text` opens more than `max_depth` arrays/objects at once. Brackets inside strings do not count.
void check_json_depth(std::string_view text, const std::string& source, int max_depth = kMaxJsonDepth);

// nlohmann's message without its "[json.exception...] " prefix.
std::string json_error_text(const nlohmann::json::exception& e);

// check_json_depth, then nlohmann::json::parse; a syntax error becomes a std::runtime_error
// "<source>: invalid JSON at line L, column C: ..."; a number that overflows a double (nlohmann's
// out_of_range) "<source>: invalid JSON: number overflow parsing '1e999'".
nlohmann::json parse_json_bounded(std::string_view text, const std::string& source, int max_depth = kMaxJsonDepth);

}  // namespace camgraph
