"""What the fovea_scan tests share: pass/fail lines, skipping, and the corrupt files they scan."""
import os
import sys

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def skip_unless(present, why):
    """Exits with ctest's skip code (77) when `present` is false."""
    if not present:
        print(f"skipped: {why}")
        sys.exit(77)


def write_bad_files(folder, jpeg):
    """Files no decoder should take, from one good JPEG's bytes; returns their sorted paths."""
    os.makedirs(folder, exist_ok=True)
    bad = {
        "truncated.JPEG": jpeg[: len(jpeg) // 3],
        "text.jpg": b"not an image\n",
        "empty.png": b"",
        "short.bmp": b"BM\x00\x00",
        "zip.png": b"PK\x03\x04" + b"\x00" * 40,
    }
    for name, data in bad.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return sorted(os.path.join(folder, name) for name in bad)


def finish():
    print(f"{len(failures)} failed" if failures else "all passed")
    sys.exit(1 if failures else 0)
