// A fixture of the test Layout.TheCheckFindsAnUpwardInclude: io must not reach methods.
#include "ddim/methods/embedding.h"
