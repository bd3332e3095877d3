// ActivationArena: planned reuse of a pass's memory, the heap for what outlives the pass, and
// a safe fallback when a pass differs from the one recorded.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>

#include "fovea/core/arena.hpp"
#include "fovea/core/tensor.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/activation_memory.hpp"
#include "fovea/plan/inference.hpp"

using fovea::ActivationArena;
using fovea::ArenaScope;
using fovea::Shape;
using fovea::Tensor;

namespace {

struct PassPointers {
  const float *a, *b, *c;
};

// a (1 KiB) and b (2 KiB) alive together, a freed, then c (1 KiB): c can take a's bytes.
PassPointers three_tensors(ActivationArena& arena) {
  ArenaScope scope(arena);
  Tensor<float> a = Tensor<float>(Shape{256}).fill(1);
  Tensor<float> b = Tensor<float>(Shape{512}).fill(2);
  const float* a_data = a.data();
  a = Tensor<float>();
  Tensor<float> c = Tensor<float>(Shape{256}).fill(3);
  CHECK(b[0] == 2);
  CHECK(b[511] == 2);
  CHECK(c[255] == 3);
  return {a_data, b.data(), c.data()};
}

}  // namespace

TEST_SUITE("core") {
  TEST_CASE("an arena plans the bytes of tensors freed within a pass for reuse") {
    ActivationArena arena;
    CHECK(arena.planned_bytes() == 0);
    three_tensors(arena);  // recorded, on the heap
    CHECK(arena.served() == 0);
    CHECK(arena.from_heap() == 3);
    // b at 0, then a and c (never alive together) share the next KiB.
    CHECK(arena.planned_bytes() == 3072);
    const PassPointers p = three_tensors(arena);
    CHECK(arena.served() == 3);
    CHECK(arena.from_heap() == 0);
    CHECK(p.c == p.a);
    CHECK(p.b + 512 == p.a);
    const PassPointers q = three_tensors(arena);  // the same blocks again
    CHECK(q.a == p.a);
    CHECK(q.b == p.b);
  }

  TEST_CASE("a pass's output has two slots, used in turn, and is never overwritten") {
    ActivationArena arena;
    const auto pass = [&](float value) {
      ArenaScope scope(arena);
      Tensor<float> scratch = Tensor<float>(Shape{300}).fill(value);
      Tensor<float> out = Tensor<float>(Shape{300});
      for (int64_t i = 0; i < 300; ++i)
        out[i] = scratch[i] + 1;
      return out;
    };
    const Tensor<float> first = pass(1);   // recorded, on the heap
    const Tensor<float> second = pass(5);  // served: scratch, and out in the first slot
    CHECK(arena.served() == 2);
    CHECK(arena.from_heap() == 0);
    const Tensor<float> third = pass(9);  // out in the second slot
    CHECK(arena.served() == 2);
    CHECK(third.data() != second.data());
    const Tensor<float> fourth = pass(13);  // both slots held: out from the heap
    CHECK(arena.served() == 1);
    CHECK(arena.from_heap() == 1);
    CHECK(first[299] == 2);
    CHECK(second[0] == 6);
    CHECK(third[0] == 10);
    CHECK(fourth[0] == 14);
  }

  TEST_CASE("a loop that keeps the last output while making the next takes nothing from the heap") {
    ActivationArena arena;
    const auto pass = [&](float value) {
      ArenaScope scope(arena);
      Tensor<float> scratch = Tensor<float>(Shape{64}).fill(value);
      return Tensor<float>(Shape{64}).fill(scratch[0] * 2);
    };
    Tensor<float> y = pass(0);
    for (int i = 1; i <= 6; ++i) {
      const Tensor<float> last = y;
      y = pass(float(i));
      CHECK(y[63] == 2 * i);
      CHECK(last[0] == 2 * (i - 1));
      if (i > 1) CHECK(arena.from_heap() == 0);
    }
  }

  TEST_CASE("a pass unlike the recorded one goes to the heap and the next one records again") {
    ActivationArena arena;
    {
      ArenaScope scope(arena);
      Tensor<float> a(Shape{64}), b(Shape{128});
    }
    const int64_t planned = arena.planned_bytes();
    CHECK(planned == 64 * 4 + 128 * 4);
    {
      ArenaScope scope(arena);
      Tensor<float> b = Tensor<float>(Shape{128}).fill(4);  // sizes in the other order
      Tensor<float> a = Tensor<float>(Shape{64}).fill(5);
      CHECK(b[127] == 4);
      CHECK(a[0] == 5);
    }
    CHECK(arena.served() == 0);
    CHECK(arena.from_heap() == 2);
    {
      ArenaScope scope(arena);  // records the new order
      Tensor<float> b(Shape{128}), a(Shape{64});
    }
    {
      ArenaScope scope(arena);
      Tensor<float> b(Shape{128}), a(Shape{64});
    }
    CHECK(arena.served() == 2);
  }

  TEST_CASE("a block kept past its pass is caught before its bytes are handed out again") {
    ActivationArena arena;
    Tensor<float> kept;
    const auto pass = [&](bool keep) {
      ArenaScope scope(arena);
      Tensor<float> t = Tensor<float>(Shape{100}).fill(7);
      if (keep) kept = t;
    };
    pass(false);  // recorded: t is freed within the pass
    pass(true);   // served from the arena, then kept
    CHECK(arena.served() == 1);
    pass(false);  // must not reuse kept's bytes: this pass records afresh
    CHECK(arena.served() == 0);
    CHECK(kept[99] == 7);
  }

  TEST_CASE("mobilenet_v2 in an arena gives the heap's bits from a buffer near the live peak") {
    std::unique_ptr<fovea::nn::Module> model = fovea::build_model("mobilenet_v2");
    fovea::init_weights(*model, 3);
    fovea::prepare_for_inference(*model);
    Tensor<float> x(Shape{2, 3, 64, 64});
    x.fill_uniform(5, -1, 1);
    // measure_activation_peak runs the layers on the whole batch, as forward() does inside the
    // arena scopes below, rather than the prepared model's plan; it also packs their weights.
    const fovea::AllocationStats live = fovea::measure_activation_peak(*model, x.shape());
    Tensor<float> want;
    {
      ActivationArena warm_up;
      ArenaScope scope(warm_up);
      want = model->forward(x);
    }
    ActivationArena arena;
    for (int pass = 0; pass < 3; ++pass) {
      ArenaScope scope(arena);
      const Tensor<float> got = model->forward(x);
      CHECK(std::equal(got.begin(), got.end(), want.begin()));
    }
    CHECK(arena.served() > 50);
    CHECK(arena.from_heap() <= 2);  // the logits, and at most one scratch buffer growing
    CHECK(arena.planned_bytes() > 0);
    CHECK(arena.planned_bytes() <= live.peak_bytes * 3 / 2);
    MESSAGE("live peak ", live.peak_bytes, " B, arena ", arena.planned_bytes(), " B");
  }
}
