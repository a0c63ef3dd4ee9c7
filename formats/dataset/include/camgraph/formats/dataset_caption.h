// The camera-motion vocabulary of captions (CameraBench verbs): how dataset.annotate words a clip's
// motion records, and the check `camgraph-cli dataset report` makes that a caption still says what its
// records say. Library camgraph_dataset_formats.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace camgraph::dataset {

// One motion type's caption words: "pan" -> "pans" / "panning".
struct MotionVerb {
  const char* type;
  const char* third;
  const char* gerund;
};
// Every motion type camera.path writes, in the order the dataset card lists them.
const std::vector<MotionVerb>& motion_verbs();

// "camera pans left slowly, then dollies in"; "static camera" for a static (or empty) record list.
// Records sorted by first frame; overlapping frame ranges join with "while <gerund>", consecutive
// ones with ", then".
std::string describe_motion(const nlohmann::json& motion);

// What a caption gets wrong about its motion records (empty when it agrees): a record whose verb
// and direction ("pans left", or "panning left" after "while") the caption lacks, a camera verb the
// caption uses that no record has, "static camera" beside moving records or its absence for a
// static clip. Matching is on whole words, case-insensitive.
std::vector<std::string> caption_motion_problems(const std::string& caption, const nlohmann::json& motion);

}  // namespace camgraph::dataset
