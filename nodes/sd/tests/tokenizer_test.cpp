// CLIP tokenizer against transformers' CLIPTokenizer (nodes/sd/tests/golden/make_goldens.py), prompt
// weighting as A1111's parse_prompt_attention, 75-token chunking.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "camgraph/shipped_files.h"
#include "sd/clip_tokenizer.h"
#include "test_support.h"
#include "sd_test_support.h"

using namespace camgraph::sd;
using camgraph::testing::error_of;
namespace fs = std::filesystem;
using camgraph::sd::testing::golden_dir;
using json = nlohmann::json;
using camgraph::describe_shipped_search;
using camgraph::find_shipped_file;
using camgraph::kClipVocabularyFile;

namespace {

json load_json(const fs::path& p) {
  std::ifstream f(p);
  return json::parse(f);
}

std::vector<int> with_bos_eos(const ClipTokenizer& t, const std::string& text) {
  std::vector<int> ids{t.bos_id()};
  for (int id : t.encode(text)) ids.push_back(id);
  ids.push_back(t.eos_id());
  return ids;
}

void expect_matches_reference(const ClipTokenizer& t, const json& cases, const std::string& what) {
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    const std::string prompt = c["prompt"];
    EXPECT_EQ(with_bos_eos(t, prompt), c["ids"].get<std::vector<int>>()) << what << ": \"" << prompt << "\"";
  }
}

}  // namespace

TEST(ClipTokenizer, SyntheticVocabularyMatchesTransformers) {
  const json g = load_json(golden_dir() / "tokenizer_golden.json");
  const ClipTokenizer from_files = ClipTokenizer::from_files(golden_dir() / "tokenizer/vocab.json",
                                                             golden_dir() / "tokenizer/merges.txt");
  expect_matches_reference(from_files, g["synthetic"], "vocab.json + merges.txt");
  // The same vocabulary rebuilt from the merges alone (the single-file checkpoint case).
  const ClipTokenizer from_merges = ClipTokenizer::from_merges(golden_dir() / "tokenizer/merges.txt");
  EXPECT_EQ(from_merges.vocab_size(), from_files.vocab_size());
  expect_matches_reference(from_merges, g["synthetic"], "merges only");
  EXPECT_EQ(from_files.bos_id(), int(from_files.vocab_size()) - 2);
  // Merged tokens are used: "cat" is one token, not three.
  EXPECT_EQ(from_files.encode("cat").size(), 1u);
  EXPECT_EQ(from_files.encode("cat").front(), from_files.token_id("cat</w>"));
}

TEST(ClipTokenizer, RealClipVocabularyShippedWithCamGraph) {
  // resources/clip/bpe_simple_vocab_16e6.txt.gz, found as an installed program finds it
  // (build/share/camgraph links to resources/); $CAMGRAPH_CLIP_MERGES tests another merges file.
  const char* env = std::getenv("CAMGRAPH_CLIP_MERGES");
  const fs::path merges = env && *env ? fs::path(env) : find_shipped_file(kClipVocabularyFile);
  ASSERT_FALSE(merges.empty()) << "the shipped CLIP vocabulary is missing; looked in "
                               << describe_shipped_search(kClipVocabularyFile);
  const ClipTokenizer t = ClipTokenizer::from_merges(merges);
  EXPECT_EQ(t.vocab_size(), 49408u);
  EXPECT_EQ(t.bos_id(), 49406);
  EXPECT_EQ(t.eos_id(), 49407);
  // The golden.
  EXPECT_EQ(with_bos_eos(t, "a photo of a cat"), (std::vector<int>{49406, 320, 1125, 539, 320, 2368, 49407}));
  const json g = load_json(golden_dir() / "tokenizer_golden.json");
  ASSERT_TRUE(g.contains("clip_vit_l14")) << "regenerate the goldens with open_clip installed";
  expect_matches_reference(t, g["clip_vit_l14"], "CLIP ViT-L/14");
  const std::vector<int> padded = t.encode_padded("a photo of a cat");
  ASSERT_EQ(padded.size(), 77u);
  EXPECT_EQ(padded[6], 49407);
  EXPECT_EQ(padded[76], 49407);
}

TEST(ClipTokenizer, CleansTextAsClip) {
  EXPECT_EQ(clip_clean_text("  A Photo\t\tof\n a CAT  "), "a photo of a cat");
  EXPECT_EQ(clip_clean_text("ÉCOLE"), "école");
  EXPECT_EQ(clip_pre_tokenize("it's 42!! ok"), (std::vector<std::string>{"it", "'s", "4", "2", "!!", "ok"}));
  EXPECT_EQ(clip_pre_tokenize("a<|endoftext|>b"), (std::vector<std::string>{"a", "<|endoftext|>", "b"}));
}

TEST(PromptWeights, FollowA1111Syntax) {
  auto p = parse_prompt_weights("a (b:1.5) [c] \\(d\\)");
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0].text, "a ");
  EXPECT_FLOAT_EQ(p[0].weight, 1.0f);
  EXPECT_EQ(p[1].text, "b");
  EXPECT_FLOAT_EQ(p[1].weight, 1.5f);
  EXPECT_EQ(p[2].text, " ");
  EXPECT_EQ(p[3].text, "c");
  EXPECT_NEAR(p[3].weight, 1 / 1.1, 1e-6);
  EXPECT_EQ(p[4].text, " (d)");
  EXPECT_FLOAT_EQ(p[4].weight, 1.0f);

  p = parse_prompt_weights("((x)) y");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NEAR(p[0].weight, 1.21, 1e-6);
  p = parse_prompt_weights("(a (b:2) c:0.5)");  // nested multiply
  ASSERT_EQ(p.size(), 3u);
  EXPECT_FLOAT_EQ(p[1].weight, 1.0f);
  EXPECT_FLOAT_EQ(p[0].weight, 0.5f);
  p = parse_prompt_weights("(unclosed");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NEAR(p[0].weight, 1.1, 1e-6);
  p = parse_prompt_weights("no:1.2) bracket");  // weight syntax without an open bracket is text
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].text, "no:1.2) bracket");
  p = parse_prompt_weights("");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].text, "");
}

TEST(PromptWeights, TokenizedPromptsAreChunkedBy75WithWeights) {
  const ClipTokenizer t = ClipTokenizer::from_files(golden_dir() / "tokenizer/vocab.json",
                                                    golden_dir() / "tokenizer/merges.txt");
  const int cat = t.token_id("cat</w>"), dog = t.token_id("dog</w>");
  ASSERT_GE(cat, 0);
  ASSERT_GE(dog, 0);
  auto one = tokenize_prompt(t, "(cat:1.5) dog");
  ASSERT_EQ(one.ids.size(), 1u);
  ASSERT_EQ(one.ids[0].size(), 77u);
  EXPECT_EQ(one.ids[0][0], t.bos_id());
  EXPECT_EQ(one.ids[0][1], cat);
  EXPECT_EQ(one.ids[0][2], dog);
  EXPECT_EQ(one.ids[0][3], t.eos_id());
  EXPECT_EQ(one.ids[0][76], t.pad_id());
  EXPECT_FLOAT_EQ(one.weights[0][1], 1.5f);
  EXPECT_FLOAT_EQ(one.weights[0][2], 1.0f);

  std::string long_prompt;
  for (int i = 0; i < 80; ++i) long_prompt += (i % 2 ? "dog " : "cat ");
  auto two = tokenize_prompt(t, long_prompt);
  ASSERT_EQ(two.ids.size(), 2u);
  EXPECT_EQ(two.ids[0][76], t.eos_id());  // 75 prompt tokens fill the first window
  EXPECT_EQ(two.ids[0][75], cat);         // prompt token 75 (index 74, even) is "cat"
  EXPECT_EQ(two.ids[1][1], dog);          // token 76 (index 75) is "dog"
  EXPECT_EQ(two.ids[1][6], t.eos_id());   // 5 tokens left
  EXPECT_EQ(two.ids[1][7], t.pad_id());

  auto empty = tokenize_prompt(t, "");
  ASSERT_EQ(empty.ids.size(), 1u);
  EXPECT_EQ(empty.ids[0][1], t.eos_id());
}

namespace {
// Prompt tokens of one window (between BOS and the first EOS).
std::vector<int> window_tokens(const ClipTokenizer& t, const std::vector<int>& w) {
  std::vector<int> out;
  for (size_t i = 1; i < w.size() && w[i] != t.eos_id(); ++i) out.push_back(w[i]);
  return out;
}
}  // namespace

TEST(PromptWeights, BreakKeywordStartsANewWindow) {
  const ClipTokenizer t = ClipTokenizer::from_files(golden_dir() / "tokenizer/vocab.json",
                                                    golden_dir() / "tokenizer/merges.txt");
  const int cat = t.token_id("cat</w>"), dog = t.token_id("dog</w>"), sky = t.token_id("sky</w>");
  auto p = tokenize_prompt(t, "cat dog BREAK sky");
  ASSERT_EQ(p.ids.size(), 2u);
  EXPECT_EQ(window_tokens(t, p.ids[0]), (std::vector<int>{cat, dog}));
  EXPECT_EQ(window_tokens(t, p.ids[1]), (std::vector<int>{sky}));
  EXPECT_EQ(p.ids[0][3], t.eos_id());
  EXPECT_EQ(p.ids[0][76], t.pad_id());

  // Inside weights: the weight carries over; a leading BREAK yields an empty window; a trailing
  // one none; "break" in lower case and "BREAKs" are ordinary words.
  auto w = tokenize_prompt(t, "BREAK (cat BREAK dog:1.5) BREAK");
  ASSERT_EQ(w.ids.size(), 3u);
  EXPECT_TRUE(window_tokens(t, w.ids[0]).empty());
  EXPECT_EQ(window_tokens(t, w.ids[1]), (std::vector<int>{cat}));
  EXPECT_FLOAT_EQ(w.weights[1][1], 1.5f);
  EXPECT_EQ(window_tokens(t, w.ids[2]), (std::vector<int>{dog}));
  EXPECT_FLOAT_EQ(w.weights[2][1], 1.5f);
  EXPECT_EQ(tokenize_prompt(t, "cat break dog").ids.size(), 1u);
  EXPECT_EQ(tokenize_prompt(t, "cat BREAKs dog").ids.size(), 1u);
  PromptChunking off;
  off.break_keyword = false;
  EXPECT_EQ(tokenize_prompt(t, "cat BREAK dog", off).ids.size(), 1u);
}

TEST(PromptWeights, CommaBackOffKeepsPhrasesTogether) {
  const ClipTokenizer t = ClipTokenizer::from_files(golden_dir() / "tokenizer/vocab.json",
                                                    golden_dir() / "tokenizer/merges.txt");
  const int cat = t.token_id("cat</w>"), dog = t.token_id("dog</w>"), comma = t.token_id(",</w>");
  ASSERT_GE(comma, 0);
  // 70 x cat, a comma (token 71), then 10 x dog: the window fills at token 75 in the dog
  // phrase; the comma sits 5 tokens back (<= 20), so the 4 dogs after it move to window 2.
  std::string prompt;
  for (int i = 0; i < 70; ++i) prompt += "cat ";
  prompt += ", ";
  for (int i = 0; i < 10; ++i) prompt += "dog ";
  auto p = tokenize_prompt(t, prompt);
  ASSERT_EQ(p.ids.size(), 2u);
  const auto w0 = window_tokens(t, p.ids[0]), w1 = window_tokens(t, p.ids[1]);
  ASSERT_EQ(w0.size(), 71u);
  EXPECT_EQ(w0.back(), comma);
  EXPECT_EQ(p.ids[0][72], t.eos_id());
  EXPECT_EQ(p.ids[0][73], t.pad_id());
  EXPECT_EQ(w1, std::vector<int>(10, dog));

  // Disabled, or the comma too far back (backtrack 3 < 5): plain split at 75.
  PromptChunking plain;
  plain.comma_backtrack = 0;
  auto q = tokenize_prompt(t, prompt, plain);
  ASSERT_EQ(q.ids.size(), 2u);
  EXPECT_EQ(window_tokens(t, q.ids[0]).size(), 75u);
  EXPECT_EQ(window_tokens(t, q.ids[1]).size(), 6u);
  PromptChunking near;
  near.comma_backtrack = 3;
  EXPECT_EQ(window_tokens(t, tokenize_prompt(t, prompt, near).ids[0]).size(), 75u);

  // A comma as the 76th token does not move anything (A1111 checks non-comma tokens only).
  std::string exact;
  for (int i = 0; i < 75; ++i) exact += "cat ";
  auto e = tokenize_prompt(t, exact + ", dog");
  ASSERT_EQ(e.ids.size(), 2u);
  EXPECT_EQ(window_tokens(t, e.ids[0]), std::vector<int>(75, cat));
  EXPECT_EQ(window_tokens(t, e.ids[1]), (std::vector<int>{comma, dog}));
}

TEST(ClipTokenizer, MissingFilesAreNamed) {
  const std::string e = error_of([] { ClipTokenizer::from_merges("/nonexistent/merges.txt"); });
  EXPECT_NE(e.find("/nonexistent/merges.txt"), std::string::npos) << e;
  const std::string v = error_of(
      [] { ClipTokenizer::from_files("/nonexistent/vocab.json", golden_dir() / "tokenizer/merges.txt"); });
  EXPECT_NE(v.find("/nonexistent/vocab.json"), std::string::npos) << v;
}
