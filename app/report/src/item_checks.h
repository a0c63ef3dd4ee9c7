// The per-item file checks of the dataset report (scan.cpp calls them for every metadata line).
#pragma once
#include <filesystem>
#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "camgraph/dataset_report.h"

namespace camgraph::report {

// std::getline that keeps at most `max_bytes` of a line (the rest is read and dropped, so a file
// without newlines cannot make it allocate more); `too_long` says whether it dropped any.
bool read_bounded_line(std::istream& in, std::string& line, size_t max_bytes, bool& too_long);

// True in builds with FFmpeg (videos are decoded and thumbnails made).
bool video_decoding_available();

// Checks the files `line` names (video, caption text, poses, cameras) and appends one Problem per
// fault: the video's header always (builds with FFmpeg), its frames when options.decode_videos;
// fills item.thumbnails when asked and the video decodes.
void check_item(const std::filesystem::path& folder, const nlohmann::json& line, ReportItem& item,
                const ReportOptions& options, std::vector<Problem>& problems);

// The RealEstate10K poses file checked line by line: "" when it is sound, else the first problem.
// `frames` is the count the metadata line gives.
std::string check_poses_file(const std::filesystem::path& file, const std::string& id, int frames);

// The first frame's line of the item's poses file ("" when unreadable).
std::string first_pose_line(const std::filesystem::path& folder, const nlohmann::json& line);

}  // namespace camgraph::report
