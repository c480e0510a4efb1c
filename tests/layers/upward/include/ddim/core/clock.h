// A fixture of the test Layout.TheCheckFindsAnUpwardInclude: core must not reach analysis.
#pragma once
#include "ddim/analysis/report.h"
