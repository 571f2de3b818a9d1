"""Make asv's published site work offline.

asv's index.html loads jQuery, flot, bootstrap and a few plugins from CDNs. ``make_offline`` copies each of them
from its npm package tarball (pinned by version and by the registry's sha512 ``dist.integrity``, cached in a
folder) into ``<html_dir>/vendor/`` and points index.html at the copies.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import re
import tarfile
import urllib.request
from pathlib import Path

from .errors import OfflineError

REGISTRY = "https://registry.npmjs.org"

# npm package -> (version, dist.integrity of its tarball).
PACKAGES = {
    "jquery": (
        "3.3.1", "sha512-Ubldcmxp5np52/ENotGxlLe6aGMvmF4R8S6tZjsP6Knsaxd/xp3Zrh50cG93lR6nPXyUFwzN3ZSOQI0wRJNdGg=="),
    "flot": (
        "0.8.3", "sha512-xg2otcTJDvS+ERK+my4wxG/ASq90QURXtoM4LhacCq0jQW2jbyjdttbRNqU2cPykrpMvJ6b2uSp6SAgYAzj9tQ=="),
    "flot-orderbars": (
        "1.0.0", "sha512-Jv51fvzevUjNXEeozpwEKfPjhiZhfiJddv0WHjduUTCmSF+7T5K7C9c9Y1wIVmUhDBv5fLMjgbwKecT0GIKPZA=="),
    # npm has no 1.0.1 (asv's cdnjs version): 1.1.3 is the only release and keeps stupidtable()/stupidsort().
    "stupid-table-plugin": (
        "1.1.3", "sha512-2Vk7XouQPxUQPRe9w0Fu7ZZ8kHLK7rDoLMsCgtKxRNJ7f4dSOGvW9CkHsq5wD6QsaEnWoyLBYH3xOEsrK3yWBg=="),
    "blueimp-md5": (
        "2.19.0", "sha512-DRQrD6gJyy8FbiE4s+bDoXS9hiW3Vbx5uCdwvcCf3zLHL+Iv7LtGHLpr+GZV8rHG8tK766FGYBwRbu8pELTt+w=="),
    "bootstrap": (
        "3.1.1", "sha512-TAzqS8E/ISpVHP29gYhy+1NSV+FJwApDVQhDfgLYsIuUDJiqJzH2DfORN5tiu+Ie2iBLrzEG34t4Rf465cigqg=="),
}

CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
JSDELIVR = "https://cdn.jsdelivr.net/npm"
# CDN URL in index.html -> (npm package, file in the package). flot's npm release has no minified files.
ASSETS = {
    "https://code.jquery.com/jquery-3.3.1.min.js": ("jquery", "dist/jquery.min.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.min.js": ("flot", "jquery.flot.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.time.min.js": ("flot", "jquery.flot.time.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.selection.min.js": ("flot", "jquery.flot.selection.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.categories.min.js": ("flot", "jquery.flot.categories.js"),
    f"{JSDELIVR}/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js": ("flot-orderbars", "js/jquery.flot.orderBars.js"),
    f"{CDNJS}/stupidtable/1.0.1/stupidtable.min.js": ("stupid-table-plugin", "stupidtable.min.js"),
    f"{CDNJS}/blueimp-md5/2.19.0/js/md5.min.js": ("blueimp-md5", "js/md5.min.js"),
    f"{JSDELIVR}/bootstrap@3.1.1/dist/js/bootstrap.min.js": ("bootstrap", "dist/js/bootstrap.min.js"),
    f"{JSDELIVR}/bootstrap@3.1.1/dist/css/bootstrap.min.css": ("bootstrap", "dist/css/bootstrap.min.css"),
}
# Files that a vendored file loads by a relative path (bootstrap.min.css: url(../fonts/...)).
EXTRA_FILES = {
    "bootstrap": [f"dist/fonts/glyphicons-halflings-regular.{ext}" for ext in ("eot", "svg", "ttf", "woff")],
}

# Tags that make the browser fetch their URL: any src=, and <link href=> (stylesheets, icons, preloads).
LOADING_TAG = re.compile(r"<(?:script|link|img|iframe|source|embed)\b[^>]*>", re.IGNORECASE)
REMOTE_URL = re.compile(r"""\b(src|href)\s*=\s*["'](https?://[^"']+)["']""", re.IGNORECASE)
# The CDN files' SRI hashes do not fit the vendored copies (flot's are unminified); the tarballs are checked instead.
CDN_ONLY_ATTRS = re.compile(r"""\s+(?:integrity|crossorigin|referrerpolicy)\s*=\s*["'][^"']*["']""", re.IGNORECASE)


def integrity(data: bytes) -> str:
    """The ``sha512-<base64>`` Subresource Integrity string npm records for a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def tarball(package: str, cache_dir: Path) -> bytes:
    """The package's pinned tarball, from ``cache_dir`` or else downloaded into it; its integrity verified."""
    version, expected = PACKAGES[package]
    path = cache_dir / f"{package}-{version}.tgz"
    if path.exists():
        data = path.read_bytes()
        if integrity(data) != expected:
            raise OfflineError(f"cached {path} does not match {expected}: delete it to download it again")
        return data
    url = f"{REGISTRY}/{package}/-/{package}-{version}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
    except (OSError, http.client.HTTPException) as error:  # URLError and timeouts are OSErrors
        raise OfflineError(f"cannot download {url}: {error}") from error
    if integrity(data) != expected:
        raise OfflineError(f"{url} does not match its pinned integrity {expected}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(path)  # atomic: a concurrent or interrupted run never leaves a half-written tarball
    return data


def local_path(package: str, file: str) -> str:
    """Where a package's file goes, relative to the html dir (the package's layout kept for relative URLs)."""
    return f"vendor/{package}-{PACKAGES[package][0]}/{file}"


def make_offline(html_dir: Path, cache_dir: Path) -> None:
    """Copy every CDN asset of ``html_dir/index.html`` into ``html_dir/vendor/`` and point the page at them.

    Raises OfflineError if the page loads a remote URL this module does not know (a newer asv may add one).
    """
    index = html_dir / "index.html"
    page = index.read_text(encoding="utf-8")
    needed: dict[str, set[str]] = {}

    def localize(tag: re.Match) -> str:
        text = tag.group(0)
        for attr, url in REMOTE_URL.findall(text):
            if attr.lower() == "href" and not text.lower().startswith("<link"):
                continue
            if url not in ASSETS:
                raise OfflineError(f"index.html loads {url}, which reports/offline.py has no local copy for")
            package, file = ASSETS[url]
            needed.setdefault(package, set()).update([file, *EXTRA_FILES.get(package, [])])
            text = CDN_ONLY_ATTRS.sub("", text.replace(url, local_path(package, file)))
        return text

    page = LOADING_TAG.sub(localize, page)
    for package, files in sorted(needed.items()):
        with tarfile.open(fileobj=io.BytesIO(tarball(package, cache_dir)), mode="r:gz") as tar:
            # npm tarballs hold the package under one top folder, usually "package/".
            members = {m.name.split("/", 1)[-1]: m for m in tar.getmembers() if m.isfile()}
            for file in sorted(files):
                if file not in members:
                    raise OfflineError(f"{package}@{PACKAGES[package][0]} has no file {file}")
                target = html_dir / local_path(package, file)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(members[file]).read())
    index.write_text(page, encoding="utf-8")
