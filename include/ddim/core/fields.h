// One way to write an options struct to JSON and read it back (checkpoint metadata, run
// configurations): the struct lists its fields once, and fields_to_json / fields_from_json
// walk that list.
//
//   struct TrainOptions {
//     int64_t batch = 64;
//     Loss loss = Loss::MAE;
//     template <class Self, class Field>
//     static void fields(Self& self, Field&& field) {
//       field("batch", self.batch);
//       field("loss", self.loss);  // an enum: written and read by its name (core/names.h)
//     }
//   };
//
// field.required(key, value) refuses to read a description without the key; a nested options
// struct (one with its own fields()) is written as an object. Reading keeps the default of every
// absent key, so that files written before a field existed still load; a value of the wrong
// type throws nlohmann's exception, a description that is not an object ddim::InvalidArgument,
// which meta_parse (io/checkpoint.h) turns into one line naming the file and the key.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <type_traits>
#include <utility>

#include "ddim/core/names.h"

namespace ddim {
namespace detail {

template <class T, class = void>
struct HasFields : std::false_type {};
template <class T>
struct HasFields<
    T, std::void_t<decltype(T::fields(std::declval<T&>(), std::declval<void (*)(const char*, int&)>()))>>
    : std::true_type {};

[[noreturn]] void throw_not_an_object(const nlohmann::json& j);

struct FieldWriter {
  nlohmann::json& j;
  template <class T>
  void operator()(const char* key, const T& value) const {
    if constexpr (std::is_enum_v<T>) {
      j[key] = name_table<T>().name(value);
    } else if constexpr (HasFields<T>::value) {
      nlohmann::json nested = nlohmann::json::object();
      T::fields(value, FieldWriter{nested});
      j[key] = std::move(nested);
    } else {
      j[key] = value;
    }
  }
  template <class T>
  void required(const char* key, const T& value) const {
    (*this)(key, value);
  }
};

struct FieldReader {
  const nlohmann::json& j;
  template <class T>
  void operator()(const char* key, T& value) const {
    const auto it = j.find(key);
    if (it != j.end()) read(*it, value);
  }
  template <class T>
  void required(const char* key, T& value) const {
    read(j.at(key), value);
  }
  template <class T>
  static void read(const nlohmann::json& x, T& value) {
    if constexpr (std::is_enum_v<T>) {
      value = name_table<T>().parse(x.get<std::string>());
    } else if constexpr (HasFields<T>::value) {
      if (!x.is_object()) throw_not_an_object(x);
      T::fields(value, FieldReader{x});
    } else {
      value = x.template get<T>();
    }
  }
};

}  // namespace detail

/// The fields of `options` as a JSON object (keys sorted, as nlohmann::json keeps them).
template <class T>
nlohmann::json fields_to_json(const T& options) {
  nlohmann::json j = nlohmann::json::object();
  T::fields(options, detail::FieldWriter{j});
  return j;
}

/// `defaults` with the fields that `j` holds read over them.
template <class T>
T fields_from_json(const nlohmann::json& j, T defaults = {}) {
  if (!j.is_object()) detail::throw_not_an_object(j);
  T::fields(defaults, detail::FieldReader{j});
  return defaults;
}

}  // namespace ddim
