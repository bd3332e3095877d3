// Version and build-wide switches. Every public header includes this first.
#pragma once

#define FOVEA_VERSION_MAJOR 0
#define FOVEA_VERSION_MINOR 1
#define FOVEA_VERSION_PATCH 0

// Marks functions that nvcc may compile for the device. With a host compiler it expands to
// nothing, so every header under include/ stays plain C++17.
#if defined(__CUDACC__)
#define FOVEA_HOST_DEVICE __host__ __device__
#else
#define FOVEA_HOST_DEVICE
#endif

// Bounds checks on element access cost a branch per access: on in debug builds, off with NDEBUG.
// Define FOVEA_CHECK_BOUNDS=1 to force them on in an optimized build.
#ifndef FOVEA_CHECK_BOUNDS
#ifdef NDEBUG
#define FOVEA_CHECK_BOUNDS 0
#else
#define FOVEA_CHECK_BOUNDS 1
#endif
#endif
