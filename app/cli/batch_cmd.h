// camgraph-cli subcommands over camgraph_batch (batch, batch gather) and over the dataset folder
// format (dataset index, dataset report: dataset_cmd.cpp).
#pragma once
#include <string>
#include <vector>

namespace camgraph::cli {
int cmd_batch(const std::vector<std::string>& args);
int cmd_dataset(const std::vector<std::string>& args);
}  // namespace camgraph::cli
