"""What makes a load.py process look like a dev server: the C extensions and
shared libraries it maps, and the size of its environment.

A node, python or esbuild dev server maps 100 to 400 files; `load_modules`
imports a fixed list of CPython's C extensions and loads a fixed list of
common shared libraries (each only if this machine has it), and returns how
many distinct files the process then maps. `environment` gives ~50
variables of the sizes a developer's shell exports.
"""
import ctypes
import importlib
import os

EXTENSIONS = [
    "_asyncio", "_bz2", "_codecs_cn", "_codecs_hk", "_codecs_iso2022", "_codecs_jp",
    "_codecs_kr", "_codecs_tw", "_contextvars", "_ctypes", "_curses", "_curses_panel",
    "_decimal", "_hashlib", "_json", "_lsprof", "_lzma", "_multibytecodec",
    "_multiprocessing", "_posixshmem", "_queue", "_sqlite3", "_ssl", "_uuid", "_zoneinfo",
    "mmap", "readline", "resource", "termios", "pyexpat", "_elementtree", "_dbm",
    "yaml", "_cffi_backend", "cryptography.hazmat.bindings._rust",
]

# Common libraries of a Debian machine, loaded by soname when present.
LIBRARIES = [
    "libz.so.1", "libzstd.so.1", "libbrotlicommon.so.1", "libbrotlidec.so.1",
    "libbrotlienc.so.1", "libcurl.so.4", "libxml2.so.2", "libpcre2-8.so.0",
    "libglib-2.0.so.0", "libgobject-2.0.so.0", "libgio-2.0.so.0", "libicuuc.so.72",
    "libicui18n.so.72", "libpng16.so.16", "libjpeg.so.62", "libfreetype.so.6",
    "libfontconfig.so.1", "libexpat.so.1", "libgmp.so.10", "libgnutls.so.30",
    "libnettle.so.8", "libhogweed.so.6", "libidn2.so.0", "libunistring.so.2",
    "libtasn1.so.6", "libp11-kit.so.0", "libssh2.so.1", "libnghttp2.so.14",
    "librtmp.so.1", "libpsl.so.5", "libkrb5.so.3", "libgssapi_krb5.so.2",
    "libk5crypto.so.3", "libcom_err.so.2", "libkrb5support.so.0", "libldap-2.5.so.0",
    "liblber-2.5.so.0", "libsasl2.so.2", "libkeyutils.so.1", "libsystemd.so.0",
    "libcap.so.2", "libgcrypt.so.20", "libgpg-error.so.0", "libacl.so.1", "libattr.so.1",
    "libselinux.so.1", "libmount.so.1", "libblkid.so.1", "libuuid.so.1", "libbsd.so.0",
    "libmd.so.0", "libpcre2-16.so.0", "libpcre2-32.so.0", "libtinfo.so.6",
    "libncursesw.so.6", "libreadline.so.8", "libsqlite3.so.0", "libarchive.so.13",
    "libelf.so.1", "libdw.so.1", "libbpf.so.1", "libaio.so.1", "libatomic.so.1",
    "libgomp.so.1", "libstdc++.so.6", "libgfortran.so.5", "libquadmath.so.0",
    "libyaml-0.so.2", "libffi.so.8", "libmpfr.so.6", "libmpc.so.3", "libisl.so.23",
]


def load_modules():
    """Imports the extensions and loads the libraries; returns the number of
    distinct files this process maps."""
    for name in EXTENSIONS:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    for name in LIBRARIES:
        try:
            ctypes.CDLL(name)
        except OSError:
            pass
    files = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(None, 5)
            if len(fields) == 6 and fields[5].startswith("/"):
                files.add(fields[5].rstrip("\n"))
    return len(files)


def addon_source():
    """A small shared library to copy into each worktree as a native addon."""
    for name in ("libyaml-0.so.2", "libz.so.1", "libffi.so.8"):
        for folder in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return path
    raise SystemExit("load.py: no shared library to use as a native addon")


def map_addon(path):
    """Maps the worktree's native addon, as a dev server's require() does."""
    fd = os.open(path, os.O_RDONLY)
    import mmap

    mapping = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    os.close(fd)
    map_addon.kept = mapping


def environment(base):
    """The environment of a developer's shell: ~50 variables, some long."""
    env = dict(base)
    env["LIMIER_LOAD_ENV"] = "1"
    env["PATH"] = ":".join(
        [f"/home/dev/.local/share/pnpm/tool{i}/bin" for i in range(12)] + [base.get("PATH", "/usr/bin")]
    )
    env["NODE_OPTIONS"] = "--max-old-space-size=8192 --enable-source-maps"
    env["LS_COLORS"] = ":".join(f"*.ext{i}=01;3{i % 8}" for i in range(120))
    for i in range(46):
        env[f"DEV_SETTING_{i:02}"] = f"value-{i}-" + "x" * (i % 7 * 12)
    return env
