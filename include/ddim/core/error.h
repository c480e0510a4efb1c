// Errors thrown by the ddim library.
//
// The library never prints and never exits: it throws. Two kinds, so that a front end can
// tell a bad request from a failure:
//   - InvalidArgument: a value the caller chose is not acceptable (an unknown dataset name,
//     a zero step count, a seed file of the wrong shape). The CLI exits with status 2.
//   - Error: anything else (a missing, truncated or corrupt file, a failed computation).
//     The CLI exits with status 1.
// Messages are one line meant for the user: they name the file or value and say what is
// wrong. The source location is kept apart (`where()`), for debug logs.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace ddim {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string where = {})
      : std::runtime_error(message), where_(std::move(where)) {}
  /// "file:line" of the check that failed, empty when not thrown by a macro.
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A feature this build of ddim was compiled without (charts without PLplot, data-parallel
/// training without gloo's headers). Callers may skip optional outputs on it.
class Unavailable : public Error {
 public:
  using Error::Error;
};

/// `text` read from a file, fit for a one-line message: control and non-ASCII bytes escaped
/// (\x0a), cut to `max` characters.
std::string printable(std::string_view text, size_t max = 80);

}  // namespace ddim

#define DDIM_WHERE_ (::fmt::format("{}:{}", __FILE__, __LINE__))

/// Throws ddim::Error with a formatted message when `cond` is false.
#define DDIM_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) throw ::ddim::Error(::fmt::format(__VA_ARGS__), DDIM_WHERE_); \
  } while (0)

/// Throws ddim::InvalidArgument with a formatted message when `cond` is false.
#define DDIM_CHECK_ARG(cond, ...)                                                        \
  do {                                                                                   \
    if (!(cond)) throw ::ddim::InvalidArgument(::fmt::format(__VA_ARGS__), DDIM_WHERE_); \
  } while (0)

/// Throws ddim::Error unconditionally.
#define DDIM_FAIL(...) throw ::ddim::Error(::fmt::format(__VA_ARGS__), DDIM_WHERE_)
