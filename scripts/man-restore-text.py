#!/usr/bin/env python3
"""man-restore-text.py PAGE BINARY: puts back the characters generate-manual drops.

swift-argument-parser's generate-manual writes ASCII only: a help text naming the Chinese
column headers of a CRM export (`--number-column 手机号`) would lose them on the page. For every
line of help text (abstracts, discussions, option help) of BINARY --experimental-dump-help that
is not ASCII, the page's line that is that text with the non-ASCII characters removed is
replaced by the text itself (man renders UTF-8). Exits 1, naming the text, when a line cannot
be found on the page.
"""

import json
import subprocess
import sys


def texts(command):
    for key in ("abstract", "discussion"):
        if command.get(key):
            yield from command[key].splitlines()
    for argument in command.get("arguments", []):
        for key in ("abstract", "discussion"):
            if argument.get(key):
                yield from argument[key].splitlines()
    for sub in command.get("subcommands", []):
        yield from texts(sub)


def main():
    page, binary = sys.argv[1], sys.argv[2]
    dump = json.loads(subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True).stdout)
    lines = open(page, encoding="utf-8").read().split("\n")
    missing = []
    for text in dict.fromkeys(texts(dump["command"])):
        if text.isascii():
            continue
        stripped = "".join(c for c in text if c.isascii())
        found = False
        for i, line in enumerate(lines):
            if line == stripped or line.strip() == stripped.strip():
                lines[i] = line[: len(line) - len(line.lstrip())] + text.strip() if line != stripped else text
                found = True
        if not found:
            missing.append(text)
    if missing:
        sys.exit(f"{page}: cannot find the page's line for:\n" + "\n".join(missing))
    open(page, "w", encoding="utf-8").write("\n".join(lines))


if __name__ == "__main__":
    main()
