"""Paths of this machine: masked in everything reported, and the child's own files on disk.

``PathMasker`` maps absolute paths to readable placeholders (``<stdlib>``, ``<site-packages>``,
``<tmp>``, ``~``...) so a capture never publishes where the build ran; the rest are the small
file helpers the child uses instead of tempfile and shutil (which bring random, zlib, bz2...).
"""

import os
import sys

from .protocol import ADDRESS, ADDRESS_MASK, CHILD_DIR


class PathMasker:
    """Maps absolute paths of this machine to readable placeholders.

    Site-packages is checked before the stdlib because it usually sits inside it.
    """

    def __init__(self, extra=()):
        self.sites = sorted(real_variants(_site_dirs()), key=len, reverse=True)
        self.stdlib = sorted(real_variants(_stdlib_dirs()), key=len, reverse=True)
        pairs = [(path, "<site-packages>") for path in self.sites]
        pairs += [(path, "<stdlib>") for path in self.stdlib]
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        pairs += [(path, "<prefix>") for path in real_variants(prefixes)]
        for path, label in extra:
            pairs += [(variant, label) for variant in real_variants([path])]
        pairs.append((CHILD_DIR, "<layertrace>"))
        temps = {temp_dir(), "/tmp", "/var/tmp", "/dev/shm"}
        pairs += [(path, "<tmp>") for path in real_variants(temps)]
        home = _home()
        if home and home not in ("/", ""):
            pairs += [(path, "~") for path in real_variants([home])]
        # Longest first, so /home/u/.venv/lib/site-packages wins over /home/u.
        self.pairs = sorted(
            [(p, label) for p, label in pairs if p and len(p) > 1], key=lambda x: -len(x[0])
        )

    def text(self, text):
        if not text:
            return text
        for path, label in self.pairs:
            if path in text:
                text = text.replace(path, label)
        if "0x" in text:  # every network capture has one: repr of the default timeout
            text = ADDRESS.sub(ADDRESS_MASK, text)
        return text

    def classify(self, filename, module):
        """Return (origin, stdlib relative path) for a frame."""
        if filename.startswith("<frozen "):
            name = filename[len("<frozen ") : -1]
            return "stdlib", name.replace(".", "/") + ".py"
        if filename.startswith("<") or module == "__main__" or not os.path.isabs(filename):
            return "user", ""  # a pseudo-file, or the snippet's own relative script name
        real = os.path.normcase(os.path.abspath(filename))
        for path in self.sites:
            if under(real, path):
                return "site", ""
        parts = real.replace("\\", "/").split("/")
        if "site-packages" in parts or "dist-packages" in parts:
            return "site", ""
        for path in self.stdlib:
            if under(real, path):
                return "stdlib", os.path.relpath(real, path).replace(os.sep, "/")
        return "other", ""


def _site_dirs():
    import sysconfig

    sites = set()
    try:
        import site

        sites.update(site.getsitepackages())
        sites.add(site.getusersitepackages())
    except Exception:
        pass
    for key in ("purelib", "platlib"):
        try:
            sites.add(sysconfig.get_paths()[key])
        except Exception:
            pass
    for entry in sys.path:
        base = os.path.basename(entry.rstrip("/\\"))
        if base in ("site-packages", "dist-packages"):
            sites.add(entry)
    return sites


def _stdlib_dirs():
    import sysconfig

    stdlib = set()
    try:
        stdlib.add(sysconfig.get_paths()["stdlib"])
    except Exception:
        pass
    stdlib.add(os.path.dirname(os.__file__))
    if getattr(sys, "_stdlib_dir", None):
        stdlib.add(getattr(sys, "_stdlib_dir"))  # noqa: B009 - 3.11+, private
    return stdlib


def _home():
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except Exception:
        return os.path.expanduser("~")


def temp_dir():
    """``tempfile.gettempdir()`` without importing tempfile (and random, shutil, bz2...)."""
    candidates = [os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
    candidates += ["/tmp", "/var/tmp", "/usr/tmp"]
    for path in candidates:
        if path and os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK):
            return os.path.abspath(path)
    return os.getcwd()


def make_private_dir(base, prefix):
    """What ``tempfile.mkdtemp`` does: a fresh name under ``base``, created atomically, 0o700."""
    while True:
        path = os.path.join(base, prefix + os.urandom(6).hex())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


def remove_tree(path, names=None):
    """``shutil.rmtree(path, ignore_errors=True)`` for the snippets' working directories."""
    if names is None:
        try:
            names = os.listdir(path)
        except OSError:
            names = []
    for name in names:
        full = os.path.join(path, name)
        try:
            os.unlink(full)
        except OSError:
            try:
                import stat

                if stat.S_ISDIR(os.lstat(full).st_mode):
                    remove_tree(full)
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def write_new(path, data):
    """Write a file that only this process creates. No temporary name and rename: the worker
    reads it only after this process exited with status 0, that is after the write finished.
    Never through whatever the snippet may have left at that name (a symbolic link...)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        os.unlink(path)
        fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def real_variants(paths):
    out = set()
    for path in paths:
        if not path:
            continue
        path = path.rstrip("/\\") or path
        out.add(path)
        try:
            out.add(os.path.realpath(path))
        except OSError:
            pass
    return out


def under(path, root):
    root = os.path.normcase(root)
    return path == root or path.startswith(root.rstrip("/\\") + os.sep)
