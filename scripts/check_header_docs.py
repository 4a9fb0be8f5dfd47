#!/usr/bin/env python3
"""Every public item of the generated header must carry a doc comment.

    python3 scripts/check_header_docs.py [include/bgcopy.h]

Items are the top-level `#define`s, `typedef`s, `extern` declarations and function prototypes.
Each must be immediately preceded (no blank line) by a comment: a line ending in `*/` or a `//`
line. Rust doc comments (`///`) become these comments through cbindgen, so a missing one here is
a missing doc comment in src/ffi. Not items: the include guard, `#include`, conditional
preprocessor lines, the `extern "C"` wrapper, and the members inside struct bodies.

Prints every offending line as `path:line: <item> has no doc comment` and exits 1 if any.
"""
import re
import sys

ITEM_START = re.compile(r"^(#\s*define\b|typedef\b|extern\b|[A-Za-z_][\w \t\*]*\()")
NAME_PATTERNS = [
    re.compile(r"^#\s*define\s+(\w+)"),
    re.compile(r"^typedef\b.*?\(\s*\*\s*(\w+)\s*\)"),  # function-pointer typedef
    re.compile(r"^typedef\s+(?:struct|union|enum)\s+(\w+)"),
    re.compile(r"^typedef\b.*?(\w+)\s*;\s*$"),
    re.compile(r"(\w+)\s*\("),  # prototype
    re.compile(r"(\w+)\s*(?:\[.*\])?\s*;\s*$"),  # extern variable
]


def item_name(line):
    for pat in NAME_PATTERNS:
        m = pat.search(line)
        if m:
            return m.group(1)
    return line.strip()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "include/bgcopy.h"
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")

    # The include guard: the first #ifndef X directly followed by #define X.
    guard = None
    for i, line in enumerate(lines[:-1]):
        m = re.match(r"^#\s*ifndef\s+(\w+)\s*$", line)
        if m:
            if re.match(r"^#\s*define\s+%s\s*$" % re.escape(m.group(1)), lines[i + 1]):
                guard = m.group(1)
            break

    problems = []
    items = 0
    in_comment = False
    depth = 0  # brace depth, not counting the extern "C" { } wrapper
    in_item = False  # inside a multi-line declaration (prototype wrapped over lines)
    prev = ""  # the previous line, as written

    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        prev_line, prev = prev, raw.rstrip()

        if in_comment:
            if "*/" in line:
                in_comment = False
            continue
        if line.startswith("/*"):
            if "*/" not in line[2:]:
                in_comment = True
            continue
        if line.startswith("//") or line == "":
            continue

        if re.match(r'^extern\s+"C"\s*\{', line) or re.match(r'^\}\s*(//.*)?$', line) and depth == 0:
            continue  # the C++ wrapper (opening or closing)

        if in_item:
            in_item = not line.endswith(";")
            depth += line.count("{") - line.count("}")
            continue
        if depth > 0:
            depth += line.count("{") - line.count("}")
            continue

        if line.startswith("#"):
            if not re.match(r"^#\s*define\b", line):
                continue  # #include, #if, #ifdef, #endif, #pragma ...
            if guard and re.match(r"^#\s*define\s+%s\s*$" % re.escape(guard), line):
                continue
        if not ITEM_START.match(line):
            continue

        items += 1
        documented = prev_line.strip().endswith("*/") or prev_line.strip().startswith("//")
        if not documented:
            problems.append(f"{path}:{lineno}: {item_name(line)} has no doc comment: {line}")

        if not line.startswith("#"):
            depth += line.count("{") - line.count("}")
            if depth == 0 and not line.endswith(";"):
                in_item = True

    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} of {items} header items have no doc comment "
              f"(add /// docs in src/ffi and regenerate: scripts/gen-header.sh)")
        return 1
    if items == 0:
        print(f"{path}: no items found; is this the generated header?")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
