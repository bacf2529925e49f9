// Errors from the KVM layer are values: the operation that failed and errno.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace hvshim::kvm {

struct Error {
  int err = 0;             // errno
  const char* op = "";     // ioctl or syscall name
  std::string describe() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::move(v)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return e_; }

 private:
  Error e_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace hvshim::kvm
