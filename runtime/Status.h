//===- Status.h - Error values for the MLIR-free runtime -------*- C++ -*-===//
//
// The runtime reports failures as values, never as exceptions crossing its
// API: it is called from MLIR code built with -fno-exceptions and, later, from
// a C API. An Error carries one human-readable message that names the file,
// tensor or key at fault and what was expected.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace quamba {

struct Error {
  std::string message;
};

/// A value of type T or an Error. Check with `ok()` (or `if (result)`) before
/// dereferencing.
template <typename T> class Result {
public:
  Result(T value) : value_(std::move(value)) {}
  Result(Error error) : error_(std::move(error)) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  T &operator*() { assert(ok()); return *value_; }
  const T &operator*() const { assert(ok()); return *value_; }
  T *operator->() { assert(ok()); return &*value_; }
  const T *operator->() const { assert(ok()); return &*value_; }
  T take() { assert(ok()); return std::move(*value_); }

  const std::string &error() const { assert(!ok()); return error_.message; }

private:
  std::optional<T> value_;
  Error error_;
};

/// Success or an Error, for operations with no value.
class Status {
public:
  Status() = default;
  Status(Error error) : error_(std::move(error.message)), failed_(true) {}
  static Status success() { return Status(); }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string &error() const { return error_; }

private:
  std::string error_;
  bool failed_ = false;
};

inline Error makeError(std::string message) { return Error{std::move(message)}; }

} // namespace quamba
