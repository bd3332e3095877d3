// SHA-256 of byte strings and files, through OpenSSL's libcrypto (the examples that record
// provenance link OpenSSL::Crypto).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fovea::examples {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("SHA-256: OpenSSL could not start a digest");
  }

  Sha256& update(const void* data, size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1)
      throw std::runtime_error("SHA-256: OpenSSL could not update a digest");
    return *this;
  }
  Sha256& update(const std::string& text) { return update(text.data(), text.size()); }

  // Adds a file's bytes; throws naming the file if it cannot be read.
  Sha256& update_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open to hash it");
    std::vector<char> buffer(1 << 16);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) throw std::runtime_error(path + ": read error while hashing it");
    return *this;
  }

  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1)
      throw std::runtime_error("SHA-256: OpenSSL could not finish a digest");
    std::string out;
    char byte[3];
    for (unsigned int i = 0; i < size; ++i) {
      std::snprintf(byte, sizeof byte, "%02x", digest[i]);
      out += byte;
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

inline std::string sha256_of_file(const std::string& path) {
  return Sha256().update_file(path).hex();
}

}  // namespace fovea::examples
