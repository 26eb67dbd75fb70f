"""Writes a C++ file holding the given static files (see static_assets.h)."""
import os
import sys

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


def main(output, files):
    lines = ['#include "http/static_assets.h"', "", "namespace voxgate::http {",
             "namespace {", ""]
    entries = []
    for index, path in enumerate(files):
        data = open(path, "rb").read()
        # A byte array, not a string literal: any content is safe.
        body = ",".join(str(b if b < 128 else b - 256) for b in data)
        lines.append(f"const char kAsset{index}[] = {{{body},0}};")
        name = "/" + os.path.basename(path)
        kind = CONTENT_TYPES[os.path.splitext(path)[1]]
        entries.append(
            f'{{"{name}", "{kind}", std::string_view(kAsset{index}, {len(data)})}}')
    lines += ["", "}  // namespace", "",
              "const std::vector<StaticAsset>& StaticAssets() {",
              "  static const auto* const kAssets = new std::vector<StaticAsset>{",
              ",\n".join("      " + e for e in entries), "  };",
              "  return *kAssets;", "}", "", "}  // namespace voxgate::http", ""]
    with open(output, "w") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
