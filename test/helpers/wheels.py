"""Wheels for the dependency tests, made offline (the package index is not reachable here).

  python3 wheels.py make OUT NAME VERSION [--tag TAG] [--requires REQ]...   a small real wheel
  python3 wheels.py repack OUT DIST...                                         installed distributions as wheels,
                                                                               with what they need (markers of this Python)

A wheel is a zip with the package, METADATA, WHEEL and RECORD; `repack` takes an installed
distribution's files from its RECORD and its tags from its WHEEL, as `pip wheel` would have
made it (console scripts are left out: they are written by the installer).
"""
import base64, hashlib, os, sys, zipfile
from importlib import metadata

EPOCH = (2020, 1, 1, 0, 0, 0)


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(out, name, version, tag, files, dist_info):
    lines = [f"{p},{record_hash(d)},{len(d)}" for p, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files = dict(files)
    files[f"{dist_info}/RECORD"] = ("\n".join(lines) + "\n").encode()
    fn = os.path.join(out, f"{name.replace('-', '_')}-{version}-{tag}.whl")
    with zipfile.ZipFile(fn, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(files):
            z.writestr(zipfile.ZipInfo(p, EPOCH), files[p])
    print(fn)


def make(out, name, version, tag="py3-none-any", requires=()):
    mod = name.replace("-", "_")
    dist = f"{mod}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    wheel = f"Wheel-Version: 1.0\nGenerator: plexichat-tests\nRoot-Is-Purelib: {'true' if tag.endswith('-any') else 'false'}\nTag: {tag}\n"
    files = {f"{mod}/__init__.py": f"VERSION = {version!r}\n".encode(), f"{dist}/METADATA": meta.encode(), f"{dist}/WHEEL": wheel.encode()}
    write_wheel(out, name, version, tag, files, dist)


def repack(out, dist_name):
    d = metadata.distribution(dist_name)
    base = d.locate_file("")
    dist_info = None
    files = {}
    for f in d.files or []:
        p = str(f)
        if p.startswith("..") or p.endswith(".pyc") or "__pycache__" in p:
            continue
        if p.endswith("/RECORD") and ".dist-info/" in p:
            dist_info = p.rsplit("/", 1)[0]
            continue
        if p.endswith("/INSTALLER") or p.endswith("/REQUESTED") or p.endswith("/direct_url.json"):
            continue
        with open(os.path.join(base, p), "rb") as fh:
            files[p] = fh.read()
    tags = [l.split(":", 1)[1].strip() for l in (d.read_text("WHEEL") or "").splitlines() if l.startswith("Tag:")]
    tag = tags[0] if tags else "py3-none-any"
    write_wheel(out, d.metadata["Name"], d.version, tag, files, dist_info)


def closure(names):
    from pip._vendor.packaging.requirements import Requirement

    seen, todo = {}, list(names)
    while todo:
        d = metadata.distribution(todo.pop())
        key = d.metadata["Name"].lower()
        if key in seen:
            continue
        seen[key] = d.metadata["Name"]
        for r in d.requires or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


if __name__ == "__main__":
    cmd, out, *rest = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    if cmd == "make":
        name, version, *flags = rest
        tag, reqs = "py3-none-any", []
        while flags:
            k, v, *flags = flags
            if k == "--tag":
                tag = v
            else:
                reqs.append(v)
        make(out, name, version, tag, reqs)
    else:
        for r in closure(rest):
            repack(out, r)
