#pragma once
// Files the program ships beside its binaries (example graphs, the CLIP vocabulary, model files),
// found relative to the running executable so that an installed tree is relocatable:
//
//   <prefix>/bin/camgraph-cli            the program
//   <prefix>/share/camgraph/...          its shipped files (examples/, clip/, models/)
//
// The build tree has the same shape (build/bin, build/share/camgraph: links into the sources made
// at configure time), so a build runs exactly as an installation does. $CAMGRAPH_DATA_DIR, when
// set, is searched first.
#include <filesystem>
#include <string>
#include <vector>

namespace camgraph {

// What the program ships, relative to a data folder (resources/ in the sources; see its README).
inline constexpr const char* kExamplesFolder = "examples";
// CLIP's BPE merges (MIT), for checkpoints that carry no tokenizer (single-file SD 1.x).
inline constexpr const char* kClipVocabularyFile = "clip/bpe_simple_vocab_16e6.txt.gz";

// The running program's file (/proc/self/exe, symlinks resolved); empty when it cannot be read.
std::filesystem::path executable_path();

// Folders searched for shipped files, in order: $CAMGRAPH_DATA_DIR, then
// <executable's folder>/../share/camgraph. Only folders that exist are listed.
std::vector<std::filesystem::path> shipped_data_dirs();

// The first `relative` (e.g. "clip/bpe_simple_vocab_16e6.txt.gz") that exists under
// shipped_data_dirs(); an empty path when none has it.
std::filesystem::path find_shipped_file(const std::filesystem::path& relative);

// Where find_shipped_file looked for `relative`, for error messages: "a, b" (or a sentence saying
// no data folder exists next to the program).
std::string describe_shipped_search(const std::filesystem::path& relative);

}  // namespace camgraph
