// gunzip: a small, bounds-checked DEFLATE decoder (RFC 1951) behind a gzip reader (RFC 1952),
// so data loaders read .gz files without zlib. Every read is checked against the input's end,
// every back-reference against the output so far, and the gzip trailer's CRC-32 and length
// against what was decoded. Members may be concatenated, as gzip allows.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"

namespace fovea::data {

namespace detail {

class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size, size_t pos, const std::string& source)
      : data_(data), size_(size), pos_(pos), source_(source) {}

  uint32_t bits(int count) {
    uint32_t value = 0;
    for (int i = 0; i < count; ++i) {
      if (bit_ == 0) {
        FOVEA_CHECK(pos_ < size_, source_, ": deflate stream ends early at byte ", pos_);
        byte_ = data_[pos_++];
      }
      value |= static_cast<uint32_t>((byte_ >> bit_) & 1u) << i;
      bit_ = (bit_ + 1) & 7;
    }
    return value;
  }
  void align_to_byte() { bit_ = 0; }
  size_t pos() const { return pos_; }
  void skip_bytes(size_t n) { pos_ += n; }
  const std::string& source() const { return source_; }

 private:
  const uint8_t* data_;
  size_t size_, pos_;
  const std::string& source_;
  uint8_t byte_ = 0;
  int bit_ = 0;
};

// A canonical Huffman code from code lengths, decoded bit by bit (counts per length and symbols
// in code order, as zlib's puff.c does).
struct Huffman {
  std::array<uint16_t, 16> count{};
  std::vector<uint16_t> symbol;

  Huffman(const uint8_t* lengths, int n, const std::string& source) : symbol(n) {
    for (int s = 0; s < n; ++s)
      ++count[lengths[s]];
    FOVEA_CHECK(count[0] < n, source, ": a deflate Huffman code has no symbols");
    int left = 1;
    for (int len = 1; len < 16; ++len) {
      left = 2 * left - count[len];
      FOVEA_CHECK(left >= 0, source, ": over-subscribed deflate Huffman code");
    }
    std::array<uint16_t, 16> offset{};
    for (int len = 1; len < 15; ++len)
      offset[len + 1] = offset[len] + count[len];
    for (int s = 0; s < n; ++s)
      if (lengths[s] != 0) symbol[offset[lengths[s]]++] = static_cast<uint16_t>(s);
  }

  int decode(BitReader& in) const {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; ++len) {
      code |= static_cast<int>(in.bits(1));
      const int n = count[len];
      if (code - n < first) return symbol[index + (code - first)];
      index += n;
      first = (first + n) << 1;
      code <<= 1;
    }
    fail(in.source(), ": invalid deflate Huffman code");
  }
};

inline void inflate_codes(BitReader& in, std::vector<uint8_t>& out, const Huffman& lit,
                          const Huffman& dist, size_t max_output) {
  static constexpr uint16_t kLenBase[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                            15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                            67, 83, 99, 115, 131, 163, 195, 227, 258};
  static constexpr uint8_t kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                            2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
  static constexpr uint16_t kDistBase[30] = {
      1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
      193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
  static constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                             6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
  for (;;) {
    const int sym = lit.decode(in);
    if (sym < 256) {
      FOVEA_CHECK(out.size() < max_output, in.source(), ": inflated data exceeds ", max_output,
                  " bytes");
      out.push_back(static_cast<uint8_t>(sym));
      continue;
    }
    if (sym == 256) return;
    FOVEA_CHECK(sym - 257 < 29, in.source(), ": invalid deflate length symbol ", sym);
    const size_t length = kLenBase[sym - 257] + in.bits(kLenExtra[sym - 257]);
    const int dsym = dist.decode(in);
    FOVEA_CHECK(dsym < 30, in.source(), ": invalid deflate distance symbol ", dsym);
    const size_t distance = kDistBase[dsym] + in.bits(kDistExtra[dsym]);
    FOVEA_CHECK(distance <= out.size(), in.source(), ": deflate back-reference ", distance,
                " bytes reaches before the start of the output (", out.size(), " bytes)");
    FOVEA_CHECK(out.size() + length <= max_output, in.source(), ": inflated data exceeds ",
                max_output, " bytes");
    const size_t from = out.size() - distance;
    for (size_t i = 0; i < length; ++i)
      out.push_back(out[from + i]);  // may overlap what this copy writes, as DEFLATE intends
  }
}

inline void inflate_dynamic(BitReader& in, std::vector<uint8_t>& out, size_t max_output) {
  const int nlen = static_cast<int>(in.bits(5)) + 257, ndist = static_cast<int>(in.bits(5)) + 1;
  const int ncode = static_cast<int>(in.bits(4)) + 4;
  FOVEA_CHECK(nlen <= 286 && ndist <= 30, in.source(), ": bad deflate code counts");
  static constexpr uint8_t kOrder[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                         11, 4,  12, 3, 13, 2, 14, 1, 15};
  uint8_t lengths[320] = {};
  for (int i = 0; i < ncode; ++i)
    lengths[kOrder[i]] = static_cast<uint8_t>(in.bits(3));
  const Huffman code_lengths(lengths, 19, in.source());
  int index = 0;
  while (index < nlen + ndist) {
    int sym = code_lengths.decode(in);
    if (sym < 16) {
      lengths[index++] = static_cast<uint8_t>(sym);
      continue;
    }
    uint8_t value = 0;
    int repeat = 0;
    if (sym == 16) {
      FOVEA_CHECK(index > 0, in.source(), ": deflate repeat with no previous length");
      value = lengths[index - 1];
      repeat = 3 + static_cast<int>(in.bits(2));
    } else if (sym == 17) {
      repeat = 3 + static_cast<int>(in.bits(3));
    } else {
      repeat = 11 + static_cast<int>(in.bits(7));
    }
    FOVEA_CHECK(index + repeat <= nlen + ndist, in.source(), ": deflate lengths overrun");
    while (repeat-- > 0)
      lengths[index++] = value;
  }
  FOVEA_CHECK(lengths[256] != 0, in.source(), ": deflate block has no end-of-block code");
  const Huffman lit(lengths, nlen, in.source());
  const Huffman dist(lengths + nlen, ndist, in.source());
  inflate_codes(in, out, lit, dist, max_output);
}

inline void inflate_fixed(BitReader& in, std::vector<uint8_t>& out, size_t max_output) {
  static const std::pair<Huffman, Huffman> codes = [] {
    uint8_t lengths[288];
    for (int s = 0; s < 288; ++s)
      lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    uint8_t dist[30];
    for (uint8_t& d : dist)
      d = 5;
    const std::string name = "fixed code";
    return std::make_pair(Huffman(lengths, 288, name), Huffman(dist, 30, name));
  }();
  inflate_codes(in, out, codes.first, codes.second, max_output);
}

inline uint32_t crc32(const uint8_t* data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i)
    c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

inline uint32_t read_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace detail

// Decodes a raw DEFLATE stream starting at data[pos]; returns the position after its last byte.
inline size_t inflate(const uint8_t* data, size_t size, size_t pos, std::vector<uint8_t>& out,
                      const std::string& source, size_t max_output) {
  detail::BitReader in(data, size, pos, source);
  for (bool last = false; !last;) {
    last = in.bits(1) != 0;
    const uint32_t type = in.bits(2);
    if (type == 0) {
      in.align_to_byte();
      const size_t at = in.pos();
      FOVEA_CHECK(at + 4 <= size, source, ": stored deflate block header past the end");
      const uint32_t len = data[at] | uint32_t(data[at + 1]) << 8;
      const uint32_t nlen = data[at + 2] | uint32_t(data[at + 3]) << 8;
      FOVEA_CHECK(len == (~nlen & 0xFFFFu), source, ": stored deflate block length check fails");
      FOVEA_CHECK(at + 4 + len <= size, source, ": stored deflate block runs past the end");
      FOVEA_CHECK(out.size() + len <= max_output, source, ": inflated data exceeds ", max_output,
                  " bytes");
      out.insert(out.end(), data + at + 4, data + at + 4 + len);
      in.skip_bytes(4 + len);
    } else if (type == 1) {
      detail::inflate_fixed(in, out, max_output);
    } else if (type == 2) {
      detail::inflate_dynamic(in, out, max_output);
    } else {
      fail(source, ": invalid deflate block type 3");
    }
  }
  return in.pos();
}

// The decompressed contents of gzip data (one or more members). `max_output` bounds the result
// so a small hostile file cannot claim gigabytes.
inline std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& source,
                                   size_t max_output = size_t(1) << 31) {
  std::vector<uint8_t> out;
  size_t pos = 0;
  do {
    FOVEA_CHECK(size - pos >= 18 && data[pos] == 0x1f && data[pos + 1] == 0x8b, source,
                ": not gzip data (expected bytes 1f 8b at offset ", pos, ")");
    FOVEA_CHECK(data[pos + 2] == 8, source, ": gzip compression method ", int(data[pos + 2]),
                ", expected 8 (deflate)");
    const uint8_t flags = data[pos + 3];
    FOVEA_CHECK((flags & 0xE0) == 0, source, ": reserved gzip header flags set");
    size_t at = pos + 10;
    if (flags & 4) {  // FEXTRA
      FOVEA_CHECK(at + 2 <= size, source, ": gzip extra field past the end");
      at += 2 + (data[at] | size_t(data[at + 1]) << 8);
    }
    for (uint8_t zero_terminated : {uint8_t(8), uint8_t(16)}) {  // FNAME, FCOMMENT
      if (!(flags & zero_terminated)) continue;
      while (at < size && data[at] != 0)
        ++at;
      ++at;
    }
    if (flags & 2) at += 2;  // FHCRC
    FOVEA_CHECK(at < size, source, ": gzip header runs past the end");
    const size_t start = out.size();
    at = inflate(data, size, at, out, source, max_output);
    FOVEA_CHECK(at + 8 <= size, source, ": gzip trailer missing");
    const uint32_t crc = detail::crc32(out.data() + start, out.size() - start);
    FOVEA_CHECK(crc == detail::read_le32(data + at), source, ": gzip CRC-32 mismatch (data ",
                "corrupt)");
    FOVEA_CHECK(uint32_t(out.size() - start) == detail::read_le32(data + at + 4), source,
                ": gzip length mismatch");
    pos = at + 8;
  } while (pos < size);
  return out;
}

inline std::vector<uint8_t> gunzip(const std::vector<uint8_t>& bytes, const std::string& source,
                                   size_t max_output = size_t(1) << 31) {
  return gunzip(bytes.data(), bytes.size(), source, max_output);
}

}  // namespace fovea::data
