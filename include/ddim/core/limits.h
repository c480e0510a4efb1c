// Limits on what ddim reads, so that a small hostile file cannot make it allocate gigabytes:
// an 822-byte BMP may claim 16,777,216 rows, a 40 KB gzip stream may inflate to 40 MB, a
// deflated `.pt` record may claim 4 GB. Readers check a file's declared sizes against these
// limits before they allocate, and fail with ddim::InvalidArgument naming the file and the limit.
//
// The limits are process-wide (the CLI sets them once from --max-image-pixels before any
// work starts); a library user may lower them, e.g. for a service that decodes uploads.
#pragma once

#include <cstdint>

namespace ddim {

struct InputLimits {
  /// Width x height of one image: decoded, padded to a square (--pad-to) or resized. The
  /// default, 64 megapixels, admits photographs of any current camera (a 50-megapixel frame
  /// decodes to 600 MB of float RGB) while a hostile header cannot ask for more than
  /// 768 MB of float RGB per image.
  int64_t max_image_pixels = int64_t{64} << 20;
  /// Bytes one input file may expand to in memory: the tensors of a `.pt` file, a gunzipped
  /// IDX file. Default: half the physical memory, between 1 GiB and 16 GiB.
  int64_t max_bytes = 0;
};

/// The limits in force (max_bytes filled in with the default when 0).
InputLimits input_limits();

/// Replaces the limits; values <= 0 restore the default of that field.
void set_input_limits(const InputLimits& limits);

/// The default of InputLimits::max_bytes on this machine.
int64_t default_max_bytes();

}  // namespace ddim
