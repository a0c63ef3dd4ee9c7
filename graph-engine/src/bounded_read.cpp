// Bounded file and JSON reading (see bounded_read.h).
#include "camgraph/bounded_read.h"

#include <fstream>
#include <stdexcept>

namespace camgraph {
namespace fs = std::filesystem;

std::string read_file_bounded(const fs::path& path, uint64_t max_bytes, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw std::runtime_error(path.string() + ": file not found");
  if (!fs::is_regular_file(st)) throw std::runtime_error(path.string() + ": not a regular file");
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw std::runtime_error(path.string() + ": cannot read the file size (" + ec.message() + ")");
  if (size > max_bytes)
    throw std::runtime_error(path.string() + ": " + what + " is " + std::to_string(size) + " bytes, more than the " +
                             std::to_string(max_bytes) + " this reader accepts");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open file");
  std::string data(size_t(size), '\0');
  in.read(data.data(), std::streamsize(size));
  data.resize(size_t(in.gcount()));  // a file that shrank meanwhile is read as it is now
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
  return data;
}

std::string text_position(std::string_view text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

void check_json_depth(std::string_view text, const std::string& source, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw std::runtime_error(source + ": " + text_position(text, i) + ": JSON nested deeper than " +
                                 std::to_string(max_depth) + " levels");
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced closers are the parser's to report
    }
  }
}

std::string json_error_text(const nlohmann::json::exception& e) {
  const std::string what = e.what();  // "[json.exception.out_of_range.406] number overflow parsing '1e999'"
  const auto close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

nlohmann::json parse_json_bounded(std::string_view text, const std::string& source, int max_depth) {
  check_json_depth(text, source, max_depth);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    const std::string what = e.what();
    const auto p = what.find("syntax error");
    throw std::runtime_error(source + ": invalid JSON at " + text_position(text, e.byte > 0 ? e.byte - 1 : 0) + ": " +
                             (p == std::string::npos ? what : what.substr(p)));
  } catch (const nlohmann::json::exception& e) {  // out_of_range: a number that overflows a double
    throw std::runtime_error(source + ": invalid JSON: " + json_error_text(e));
  }
}

}  // namespace camgraph
