// Internal: a private copy of stb_image (Debian's libstb-dev) for the including translation unit.
//
// fovea is header-only, so there is no library .cpp to hold the single STB_IMAGE_IMPLEMENTATION
// that stb_image expects. Instead every translation unit that includes fovea/image/decode.hpp
// compiles its own copy with STB_IMAGE_STATIC: all stbi_* functions get internal linkage, so two
// TUs never define the same symbol and a program that links stb_image itself does not clash with
// us. The price is code size (one decoder per TU that decodes, about 100 KB with three formats),
// which is why only JPEG, PNG and BMP are compiled in and the stdio entry points are left out
// (fovea reads files itself, so it can name the file in errors).
//
// If another header has already included <stb/stb_image.h> in this TU its declarations are
// extern, not static, and our implementation would define extern symbols in every TU; refuse
// that at compile time rather than fail at link time.
#pragma once

#if defined(STBI_INCLUDE_STB_IMAGE_H) && !defined(FOVEA_STB_IMAGE_INCLUDED)
#error "include fovea/image headers before <stb/stb_image.h>, or not both in one file"
#endif

#ifndef FOVEA_STB_IMAGE_INCLUDED
#define FOVEA_STB_IMAGE_INCLUDED

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR

// stb_image is third-party C-style code; its warnings (unused static functions, sign compares)
// are not ours to fix.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wshadow"
#endif

#include <stb/stb_image.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#undef STB_IMAGE_IMPLEMENTATION

#endif  // FOVEA_STB_IMAGE_INCLUDED
