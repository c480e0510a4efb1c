// A fixture of the test Layout.TheCheckFindsAnUpwardInclude (a legal include: analysis sits above io).
#pragma once
#include "ddim/io/reader.h"
