// CLIP's byte-level BPE tokenizer (the one SD 1.5's text encoder was trained with), plus the prompt
// syntax users write: A1111/ComfyUI attention weights `(word:1.2)`, `(word)` x1.1, `[word]` /1.1,
// `\(` escapes, and long prompts chunked by 75 tokens into 77-token windows.
//
// Text rules as CLIP's (openai/CLIP simple_tokenizer.py, transformers' CLIPTokenizer): NFC,
// whitespace runs -> one space, trim, lower-case; pre-tokens by the regex
//   <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+
// then each pre-token's UTF-8 bytes mapped through bytes_to_unicode, "</w>" appended to its last
// symbol, and BPE merges applied by rank. (ftfy's mojibake repair and html unescaping of the
// original are not applied; transformers' tokenizer skips them too.)
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace camgraph::sd {

class ClipTokenizer {
 public:
  static constexpr int kContext = 77;  // tokens per window, BOS and EOS included
  static constexpr int kChunk = 75;    // prompt tokens per window

  // From a diffusers folder's tokenizer/vocab.json + merges.txt.
  static ClipTokenizer from_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);
  // From the merges file alone (openai's bpe_simple_vocab_16e6.txt[.gz] or a merges.txt): the
  // vocabulary is rebuilt as CLIP does (256 byte symbols, the same with "</w>", one token per
  // merge, then <|startoftext|> and <|endoftext|>), using the first 48,894 merges as CLIP does.
  static ClipTokenizer from_merges(const std::filesystem::path& merges);

  // Token ids of `text`, no BOS/EOS, no truncation.
  std::vector<int> encode(const std::string& text) const;
  // BOS + ids + EOS, padded with pad_id() (or truncated, keeping EOS) to kContext.
  std::vector<int> encode_padded(const std::string& text) const;

  int bos_id() const { return bos_; }
  int eos_id() const { return eos_; }
  int pad_id() const { return pad_; }
  void set_pad_id(int id) { pad_ = id; }  // SD 1.5 pads with EOS (49407); SD 2 with "!" (0)
  size_t vocab_size() const { return vocab_.size(); }
  int token_id(const std::string& token) const;  // -1 if absent

 private:
  ClipTokenizer() = default;
  void init(std::unordered_map<std::string, int> vocab, std::vector<std::pair<std::string, std::string>> merges,
            const std::string& source);
  std::vector<std::string> bpe(const std::string& word) const;  // word already byte-mapped

  std::unordered_map<std::string, int> vocab_;
  std::unordered_map<std::string, int> ranks_;  // "a b" -> merge rank
  std::string byte_symbol_[256];                // bytes_to_unicode, UTF-8 encoded
  int bos_ = 49406, eos_ = 49407, pad_ = 49407;
};

// The lower-cased, whitespace-normalised text CLIP tokenizes.
std::string clip_clean_text(const std::string& text);
// CLIP's pre-tokenizer (regex above) over cleaned text.
std::vector<std::string> clip_pre_tokenize(const std::string& cleaned);

// One run of prompt text with its attention weight.
struct WeightedText {
  std::string text;
  float weight = 1.0f;
};
// A1111's parse_prompt_attention: "a (b:1.5) [c] \(d\)" -> [("a ",1), ("b",1.5), (" ",1),
// ("c",1/1.1), (" (d)",1)]; adjacent runs with equal weights merged; unclosed brackets apply to
// the rest of the prompt.
std::vector<WeightedText> parse_prompt_weights(const std::string& prompt);

// A prompt as the text encoder sees it: windows of kContext tokens (BOS, 75 prompt tokens padded
// with pad_id, EOS) and a weight per token (1 for BOS/EOS/padding). Empty prompt: one window.
struct TokenizedPrompt {
  std::vector<std::vector<int>> ids;        // [windows][77]
  std::vector<std::vector<float>> weights;  // [windows][77]
};
// A1111's chunking rules beyond the plain 75-token split:
//  - "BREAK" (upper case, a word of its own, also inside brackets) closes the current window and
//    starts a new one (the closed window is padded; a BREAK at the very start gives an empty window);
//  - comma back-off: when a window is full and the next token is not a comma, the tokens after the
//    window's last comma move to the next window if that comma is within the last `comma_backtrack`
//    tokens (A1111's "comma_padding_backtrack", default 20; 0 disables), so phrases are not split.
struct PromptChunking {
  bool break_keyword = true;
  int comma_backtrack = 20;
};
TokenizedPrompt tokenize_prompt(const ClipTokenizer& tok, const std::string& prompt,
                                const PromptChunking& options = {});

}  // namespace camgraph::sd
