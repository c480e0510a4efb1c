// What every command shares, in one include: the application and its global options
// (app.h), option kinds and the effective configuration (options.h), run directories and
// outputs (run_dir.h), data options (data_args.h), and stop requests and data-parallel runs
// (parallel.h). Each of these headers holds one job; a command that needs more (sampling,
// embedding, inputs, training runs, progress bars) includes those headers itself.
#pragma once

#include "common/app.h"
#include "common/data_args.h"
#include "common/options.h"
#include "common/parallel.h"
#include "common/run_dir.h"
