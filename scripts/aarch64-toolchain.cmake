# Cross build for AArch64 Linux with Debian's cross compiler (g++-aarch64-linux-gnu), run under
# qemu-user: scripts/test.sh --target aarch64 (docs/embedding.md, ARM builds).
#
# Headers and libraries come from the host's multiarch folders (/usr/include,
# /usr/lib/aarch64-linux-gnu: Debian's :arm64 packages), so find_package works for the cross
# build as for a native one; header-only packages (doctest, nlohmann/json) serve both.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Programs run at build or test time (doctest's test discovery, ctest, the parity tests'
# classify) go through qemu-user. The CPU model comes from QEMU_CPU in the environment, so one
# build runs under several: qemu's default for AArch64 programs is "max", which has ARMv8.2's dot
# product; QEMU_CPU=cortex-a53 lacks it, and the INT8 kernels take their no-dot-product path.
#
# Programs are linked statically: under Debian 12's qemu-user (7.2), a dynamically linked AArch64
# program hangs in its first pthread_create (it spins in the guest's dynamic loader and never
# reaches clone), and every kernel test starts the thread pool. Static ones run normally.
set(CMAKE_EXE_LINKER_FLAGS_INIT -static)
find_program(FOVEA_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${FOVEA_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)

# Target libraries and packages only from the target's folders; programs from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# pkg-config (FindOpenSSL asks it first) sees the target's .pc files and the architecture-free
# ones, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
