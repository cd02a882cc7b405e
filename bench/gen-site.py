#!/usr/bin/env python3
"""Generate the benchmark site: the corpus pages copied until there are N distinct pages.

One site: the five corpus configs merged (later keys win), their _data and _includes merged,
the corpus collections kept, and N pages under pages/, each a corpus page with one extra line
that makes it distinct. usage: gen-site.py CORPUS OUT [N]"""
import os, re, shutil, sys

corpus, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
sites = sorted(os.listdir(os.path.join(corpus, "sites")))
shutil.rmtree(out, ignore_errors=True)
os.makedirs(os.path.join(out, "pages"))
config = []
pages = []
for s in sites:
    root = os.path.join(corpus, "sites", s)
    with open(os.path.join(root, "_config.yml")) as f:
        # drop theme/plugin lines and the document separator; keep the rest
        text = f.read().replace("\n---\n", "\n")
        text = re.sub(r"^(theme|remote_theme):.*$", "", text, flags=re.M)
        text = re.sub(r"^plugins:\n(  - .*\n)*", "", text, flags=re.M)
        config.append(f"# from {s}\n{text}\n")
    for d in ("_data", "_includes", "_episodes", "_extras", "_documentation", "_examples"):
        src = os.path.join(root, d)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(out, d), dirs_exist_ok=True)
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith("_")]
        for f in sorted(files):
            if f.endswith((".md", ".markdown")):
                pages.append(os.path.join(dirpath, f))
# a YAML file with repeated top-level keys: keep the last of each (Psych does too)
merged = {}
for block in config:
    key = None
    for line in block.splitlines(keepends=True):
        m = re.match(r"^([A-Za-z_][\w-]*):", line)
        if m:
            key = m.group(1)
            merged[key] = line
        elif key and (line.startswith((" ", "-")) or not line.strip()):
            merged[key] += line
with open(os.path.join(out, "_config.yml"), "w") as f:
    f.write("".join(merged.values()))
pages.sort()
for i in range(n):
    src = pages[i % len(pages)]
    with open(src) as f:
        text = f.read()
    line = f"<!-- generated copy {i} of {os.path.basename(src)} -->\n"
    m = re.match(r"(---\s*\n.*?\n?^(?:---|\.\.\.)\s*$\n?)", text, flags=re.M | re.S)
    text = (m.group(1) + line + text[m.end():]) if m else line + text
    name = os.path.basename(src)
    with open(os.path.join(out, "pages", f"{i:04d}-{name}"), "w") as f:
        f.write(text)
print(f"{n} pages from {len(pages)} corpus pages in {out}")
