// camgraph-cli's help texts: the whole tool's (--help) and each subcommand's (`SUBCOMMAND --help`).
#pragma once
#include <string>

namespace camgraph::cli {

// `camgraph-cli --help`.
std::string main_usage();
// The usage of "run", "validate", "nodes", "batch", "batch gather", "dataset", "dataset index",
// "cache", "cache usage" or "cache prune"; the main usage for any other name.
std::string subcommand_usage(const std::string& name);
// --help or -h.
bool is_help(const std::string& arg);
// Prints subcommand_usage(name) on stdout; returns 0 (the exit code of `... --help`).
int print_help(const std::string& name);

}  // namespace camgraph::cli
