// CLIP BPE tokenizer; see clip_tokenizer.h for the rules followed.
#include "sd/clip_tokenizer.h"

#include <regex>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace camgraph::sd {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxMerges = 49152 - 256 - 2;  // as CLIP: merges[1 : 49152-256-2+1]

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

// UTF-8 -> code points; an invalid byte becomes U+FFFD (as Python's errors="replace").
std::u32string decode_utf8(const std::string& s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    const int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    char32_t cp = n <= 0 ? c : (c & (0x3F >> n));
    bool ok = n >= 0 && i + n < s.size();
    for (int k = 1; ok && k <= n; ++k) {
      const unsigned char d = s[i + k];
      ok = (d & 0xC0) == 0x80;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += size_t(n) + 1;
  }
  return out;
}

std::string encode_utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

bool is_letter(char32_t c) {
  const int t = u_charType(UChar32(c));
  return t == U_UPPERCASE_LETTER || t == U_LOWERCASE_LETTER || t == U_TITLECASE_LETTER || t == U_MODIFIER_LETTER ||
         t == U_OTHER_LETTER;
}
bool is_number(char32_t c) {
  const int t = u_charType(UChar32(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}
// Python's str.isspace / regex \s.
bool is_space(char32_t c) { return u_isUWhiteSpace(UChar32(c)) || (c >= 0x1C && c <= 0x1F); }

// Character classes as transformers' BasicTokenizer.
bool bert_whitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || u_charType(UChar32(c)) == U_SPACE_SEPARATOR;
}
bool bert_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  const int t = u_charType(UChar32(c));
  return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_UNASSIGNED || t == U_PRIVATE_USE_CHAR || t == U_SURROGATE;
}
std::string read_text(const fs::path& p, const std::string& what) {
  const std::string name = p.filename().string();
  if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") {
    gzFile f = gzopen(p.c_str(), "rb");
    if (!f) throw std::runtime_error(p.string() + ": cannot open " + what);
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    const bool bad = n < 0;
    gzclose(f);
    if (bad) throw std::runtime_error(p.string() + ": corrupt gzip " + what);
    return out;
  }
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error(p.string() + ": cannot open " + what);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::pair<std::string, std::string>> parse_merges(const std::string& text, const fs::path& p) {
  // As CLIP: strip, split on "\n", drop the first line ("#version: ..."), keep at most kMaxMerges.
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream in(text);
  std::string line;
  bool first = true;
  size_t lineno = 0;
  while (std::getline(in, line) && merges.size() < kMaxMerges) {
    ++lineno;
    if (first) {
      first = false;
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
      throw std::runtime_error(p.string() + ": line " + std::to_string(lineno) +
                               " is not a BPE merge (\"left right\"): " + line.substr(0, 60));
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  if (merges.empty()) throw std::runtime_error(p.string() + ": no BPE merges found");
  return merges;
}

}  // namespace

void ClipTokenizer::init(std::unordered_map<std::string, int> vocab,
                         std::vector<std::pair<std::string, std::string>> merges, const std::string& source) {
  // bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    std::string s;
    append_utf8(s, printable ? char32_t(b) : char32_t(256 + n++));
    byte_symbol_[b] = s;
  }
  vocab_ = std::move(vocab);
  for (size_t i = 0; i < merges.size(); ++i) ranks_.emplace(merges[i].first + " " + merges[i].second, int(i));
  const int b = token_id("<|startoftext|>"), e = token_id("<|endoftext|>");
  if (b < 0 || e < 0) throw std::runtime_error(source + ": vocabulary lacks <|startoftext|> or <|endoftext|>");
  bos_ = b;
  eos_ = pad_ = e;
}

ClipTokenizer ClipTokenizer::from_files(const fs::path& vocab_json, const fs::path& merges_txt) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text(vocab_json, "CLIP vocabulary (vocab.json)"));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(vocab_json.string() + ": vocabulary is not JSON: " + e.what());
  }
  if (!j.is_object()) throw std::runtime_error(vocab_json.string() + ": vocabulary must be a JSON object token -> id");
  std::unordered_map<std::string, int> vocab;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_number_integer())
      throw std::runtime_error(vocab_json.string() + ": id of token '" + it.key() + "' is not an integer");
    vocab.emplace(it.key(), it->get<int>());
  }
  ClipTokenizer t;
  t.init(std::move(vocab), parse_merges(read_text(merges_txt, "BPE merges"), merges_txt), vocab_json.string());
  return t;
}

ClipTokenizer ClipTokenizer::from_merges(const fs::path& merges_path) {
  auto merges = parse_merges(read_text(merges_path, "BPE merges"), merges_path);
  ClipTokenizer t;
  t.init({{"<|startoftext|>", 0}, {"<|endoftext|>", 1}}, {}, merges_path.string());  // byte symbols
  // Byte symbols in bytes_to_unicode's order (printable bytes first), the same with "</w>", one
  // token per merge, then the two special tokens.
  std::vector<std::string> symbols;
  for (int pass = 0; pass < 2; ++pass)
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      if (printable == (pass == 0)) symbols.push_back(t.byte_symbol_[b]);
    }
  std::unordered_map<std::string, int> vocab;
  int id = 0;
  for (const auto& s : symbols) vocab[s] = id++;  // later duplicates win, as Python's dict(zip(...))
  for (const auto& s : symbols) vocab[s + "</w>"] = id++;
  for (const auto& m : merges) vocab[m.first + m.second] = id++;
  vocab["<|startoftext|>"] = id++;
  vocab["<|endoftext|>"] = id++;
  t.init(std::move(vocab), std::move(merges), merges_path.string());
  return t;
}

int ClipTokenizer::token_id(const std::string& token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

std::vector<std::string> ClipTokenizer::bpe(const std::string& mapped) const {
  // Split into symbols (one per original byte = one code point of the mapped string).
  std::vector<std::string> word;
  const std::u32string cps = decode_utf8(mapped);
  for (char32_t c : cps) {
    std::string s;
    append_utf8(s, c);
    word.push_back(s);
  }
  if (word.empty()) return word;
  word.back() += "</w>";
  while (word.size() > 1) {
    int best = INT_MAX;
    size_t at = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = ranks_.find(word[i] + " " + word[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == INT_MAX) break;
    const std::string a = word[at], b = word[at + 1];
    std::vector<std::string> next;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == a && word[i + 1] == b) {
        next.push_back(a + b);
        i += 2;
      } else {
        next.push_back(word[i++]);
      }
    }
    word.swap(next);
  }
  return word;
}

std::string clip_clean_text(const std::string& text) {
  // As openai's CLIP and transformers' CLIPTokenizer (tokenizers normalizer): NFC, whitespace runs
  // -> one space, trim, lower-case. Control characters (other than whitespace) are dropped.
  std::u32string in;
  for (char32_t c : decode_utf8(text))
    if (c != 0 && c != 0xFFFD && !bert_control(c)) in.push_back(c);
  // NFC through ICU (UTF-16 in and out).
  std::vector<UChar> u16(in.size() * 2 + 1), nfc;
  int32_t n16 = 0;
  UErrorCode err = U_ZERO_ERROR;
  u_strFromUTF32(u16.data(), int32_t(u16.size()), &n16, reinterpret_cast<const UChar32*>(in.data()), int32_t(in.size()),
                 &err);
  const UNormalizer2* norm = unorm2_getNFCInstance(&err);
  if (U_SUCCESS(err)) {
    nfc.resize(size_t(n16) * 3 + 1);
    const int32_t m = unorm2_normalize(norm, u16.data(), n16, nfc.data(), int32_t(nfc.size()), &err);
    if (U_SUCCESS(err)) {
      std::vector<UChar32> back(size_t(m) + 1);
      int32_t n32 = 0;
      u_strToUTF32(back.data(), int32_t(back.size()), &n32, nfc.data(), m, &err);
      if (U_SUCCESS(err)) in.assign(back.begin(), back.begin() + n32);
    }
  }
  std::u32string out;
  for (char32_t c : in) {
    if (bert_whitespace(c) || is_space(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      continue;
    }
    out.push_back(char32_t(u_tolower(UChar32(c))));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return encode_utf8(out);
}

std::vector<std::string> clip_pre_tokenize(const std::string& cleaned) {
  static const std::u32string kSpecial[] = {U"<|startoftext|>", U"<|endoftext|>"};
  static const std::u32string kContractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  const std::u32string s = decode_utf8(cleaned);
  std::vector<std::string> out;
  size_t i = 0;
  auto starts = [&](const std::u32string& p) {
    if (s.size() - i < p.size()) return false;
    for (size_t k = 0; k < p.size(); ++k)
      if (char32_t(u_tolower(UChar32(s[i + k]))) != p[k]) return false;
    return true;
  };
  while (i < s.size()) {
    size_t len = 0;
    for (const auto& p : kSpecial)
      if (!len && starts(p)) len = p.size();
    for (const auto& p : kContractions)
      if (!len && starts(p)) len = p.size();
    if (!len && is_letter(s[i]))
      while (i + len < s.size() && is_letter(s[i + len])) ++len;
    if (!len && is_number(s[i])) len = 1;
    if (!len && !is_space(s[i]))
      while (i + len < s.size() && !is_space(s[i + len]) && !is_letter(s[i + len]) && !is_number(s[i + len])) ++len;
    if (!len) {
      ++i;  // whitespace: findall skips it
      continue;
    }
    out.push_back(encode_utf8(s.substr(i, len)));
    i += len;
  }
  return out;
}

std::vector<int> ClipTokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  for (const std::string& piece : clip_pre_tokenize(clip_clean_text(text))) {
    if (piece == "<|startoftext|>" || piece == "<|endoftext|>") {
      ids.push_back(piece == "<|startoftext|>" ? bos_ : eos_);
      continue;
    }
    std::string mapped;
    for (unsigned char c : piece) mapped += byte_symbol_[c];
    for (const std::string& tok : bpe(mapped)) {
      const auto it = vocab_.find(tok);
      // Every byte symbol is in a CLIP vocabulary; a custom one without it cannot encode the text.
      if (it == vocab_.end()) throw std::runtime_error("CLIP tokenizer: token '" + tok + "' is not in the vocabulary");
      ids.push_back(it->second);
    }
  }
  return ids;
}

std::vector<int> ClipTokenizer::encode_padded(const std::string& text) const {
  std::vector<int> ids = encode(text);
  if (ids.size() > size_t(kContext - 2)) ids.resize(kContext - 2);
  ids.insert(ids.begin(), bos_);
  ids.push_back(eos_);
  ids.resize(kContext, pad_);
  return ids;
}

std::vector<WeightedText> parse_prompt_weights(const std::string& text) {
  std::vector<WeightedText> res;
  std::vector<size_t> round, square;
  auto multiply = [&](size_t from, float m) {
    for (size_t k = from; k < res.size(); ++k) res[k].weight *= m;
  };
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '\\') {
      // \( \) \[ \] \\ -> the literal character; a lone backslash stays.
      if (i + 1 < n && std::string("()[]\\").find(text[i + 1]) != std::string::npos) {
        res.push_back({std::string(1, text[i + 1]), 1.0f});
        i += 2;
      } else {
        res.push_back({"\\", 1.0f});
        ++i;
      }
      continue;
    }
    if (c == '(') {
      round.push_back(res.size());
      ++i;
      continue;
    }
    if (c == '[') {
      square.push_back(res.size());
      ++i;
      continue;
    }
    if (c == ':') {
      // ":\s*([+-]?[.\d]+)\s*\)" closes a round bracket with that weight.
      size_t j = i + 1;
      while (j < n && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
      const size_t num_start = j;
      if (j < n && (text[j] == '+' || text[j] == '-')) ++j;
      const size_t digits = j;
      while (j < n && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.')) ++j;
      const size_t num_end = j;
      while (j < n && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
      if (num_end > digits && j < n && text[j] == ')') {
        const std::string num = text.substr(num_start, num_end - num_start);
        char* end = nullptr;
        const float w = std::strtof(num.c_str(), &end);
        if (!round.empty() && end == num.c_str() + num.size()) {
          multiply(round.back(), w);
          round.pop_back();
          i = j + 1;
          continue;
        }
        if (round.empty()) {  // no open bracket: the whole match is text
          res.push_back({text.substr(i, j + 1 - i), 1.0f});
          i = j + 1;
          continue;
        }
      }
      res.push_back({":", 1.0f});
      ++i;
      continue;
    }
    if (c == ')' && !round.empty()) {
      multiply(round.back(), 1.1f);
      round.pop_back();
      ++i;
      continue;
    }
    if (c == ']' && !square.empty()) {
      multiply(square.back(), 1.0f / 1.1f);
      square.pop_back();
      ++i;
      continue;
    }
    if (c == ')' || c == ']') {
      res.push_back({std::string(1, c), 1.0f});
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && std::string("\\()[]:").find(text[j]) == std::string::npos) ++j;
    res.push_back({text.substr(i, j - i), 1.0f});
    i = j;
  }
  for (size_t p : round) multiply(p, 1.1f);
  for (size_t p : square) multiply(p, 1.0f / 1.1f);
  if (res.empty()) return {{"", 1.0f}};
  std::vector<WeightedText> merged;
  for (auto& r : res) {
    if (!merged.empty() && merged.back().weight == r.weight) merged.back().text += r.text;
    else merged.push_back(r);
  }
  return merged;
}

TokenizedPrompt tokenize_prompt(const ClipTokenizer& tok, const std::string& prompt, const PromptChunking& opt) {
  // A1111's FrozenCLIPEmbedderWithCustomWords.tokenize_line: tokens are appended to the current
  // chunk; "BREAK" closes it (padded); a full chunk is closed, and when the token that would open
  // the next chunk is not a comma and the chunk's last comma lies within the last
  // `comma_backtrack` tokens, the tokens after that comma move to the next chunk.
  static const std::regex break_re("\\s*\\bBREAK\\b\\s*");
  const int comma = tok.token_id(",</w>");
  const size_t chunk_len = size_t(ClipTokenizer::kChunk);
  TokenizedPrompt out;
  std::vector<int> ids;
  std::vector<float> weights;
  int last_comma = -1;
  auto close_chunk = [&] {
    std::vector<int> w_ids{tok.bos_id()};
    std::vector<float> w_w{1.0f};
    w_ids.insert(w_ids.end(), ids.begin(), ids.end());
    w_w.insert(w_w.end(), weights.begin(), weights.end());
    w_ids.push_back(tok.eos_id());
    w_w.push_back(1.0f);
    w_ids.resize(ClipTokenizer::kContext, tok.pad_id());
    w_w.resize(ClipTokenizer::kContext, 1.0f);
    out.ids.push_back(std::move(w_ids));
    out.weights.push_back(std::move(w_w));
    ids.clear();
    weights.clear();
    last_comma = -1;
  };
  auto add = [&](int id, float w) {
    if (id == comma && comma >= 0) {
      last_comma = int(ids.size());
    } else if (opt.comma_backtrack > 0 && ids.size() == chunk_len && last_comma != -1 &&
               int(ids.size()) - last_comma <= opt.comma_backtrack) {
      const size_t at = size_t(last_comma) + 1;
      std::vector<int> moved_ids(ids.begin() + long(at), ids.end());
      std::vector<float> moved_w(weights.begin() + long(at), weights.end());
      ids.resize(at);
      weights.resize(at);
      close_chunk();
      ids = std::move(moved_ids);
      weights = std::move(moved_w);
    }
    if (ids.size() == chunk_len) close_chunk();
    ids.push_back(id);
    weights.push_back(w);
  };
  for (const auto& seg : parse_prompt_weights(prompt)) {
    // BREAK (upper case, a word of its own) splits the run as Python's re.split does (empty
    // pieces kept); each occurrence closes the current chunk, even an empty one.
    std::vector<std::string> pieces;
    if (opt.break_keyword) {
      auto from = seg.text.cbegin();
      std::smatch m;
      while (std::regex_search(from, seg.text.cend(), m, break_re)) {
        pieces.emplace_back(from, m[0].first);
        from = m[0].second;
      }
      pieces.emplace_back(from, seg.text.cend());
    } else {
      pieces.push_back(seg.text);
    }
    for (size_t k = 0; k < pieces.size(); ++k) {
      if (k > 0) close_chunk();
      for (int id : tok.encode(pieces[k])) add(id, seg.weight);
    }
  }
  if (!ids.empty() || out.ids.empty()) close_chunk();
  return out;
}

}  // namespace camgraph::sd
