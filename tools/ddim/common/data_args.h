// The data options of the commands that read a data set (--data, --split, --limit, ...), bound
// to the library's DataSource (ddim/data/dataset.h), and what the parsed ones need before a
// command runs (the faces set rendered on first use) or while it runs (the global seed, the
// validation split).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

#include "ddim/data/dataset.h"

namespace ddim::cli {

/// Declares --data, --split, --limit, --pad-to, --crop, --resize, --channels, --toy-size,
/// --attributes and --class-attribute on `sub`, bound to `source`; `split` is the command's
/// default split.
void add_data_options(CLI::App* sub, DataSource& source, Split split = Split::Train);
/// Renders the cached faces set when a parsed command's --data is `faces` (no DIR) and the
/// cache holds none yet: 30,000 faces at 64x64, once, with a progress bar. A cache folder
/// that exists and is not a set is left to the loader, which says what is wrong with it.
void render_missing_faces();
/// Forgets the data options add_data_options registered (a new application's are new objects).
void forget_data_options();
/// The source with the global --seed (toy sets are a function of it).
DataSource seeded(DataSource source);
/// The test split of a training source, for validation, when the set has one.
std::optional<Dataset> validation_split(const DataSource& source);

}  // namespace ddim::cli
