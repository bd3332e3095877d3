// FunctionRef: a non-owning reference to a callable, for parameters that are called during the
// call and not kept (parallel_for's loop bodies). Unlike std::function it never allocates: a
// lambda capturing more than two pointers' worth made every std::function a heap allocation,
// hundreds per ResNet-50 forward, where an inference forward is meant to allocate nothing.
// Like std::string_view, it must not outlive the callable it refers to.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace fovea {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef> &&
                                              std::is_invocable_r_v<R, F&, Args...>>>
  FunctionRef(F&& f) noexcept  // NOLINT(google-explicit-constructor): converts like a function
      : callable_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* callable, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(callable))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(callable_, std::forward<Args>(args)...); }

 private:
  void* callable_;
  R (*call_)(void*, Args...);
};

}  // namespace fovea
