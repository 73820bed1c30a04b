"""What an attack managed to do outside its own notebook: network connections and changed files.

Shared by the attack tests and ``tools/attacks_report.py``.
"""
from __future__ import annotations

import hashlib
import os
import socket
import threading
from pathlib import Path


class LeakServer:
    """A TCP server on 127.0.0.1 that counts every connection made to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def digest(path: Path, skip_parts: tuple[str, ...] = (), skip_suffixes: tuple[str, ...] = ()) -> str | None:
    """sha256 of a file, or of a folder's file names and contents; None when absent.

    Files under a folder named in ``skip_parts``, or ending in ``skip_suffixes``, are left out
    (a grading run is allowed to write its own output there); those folders are not even
    entered, since an attack may nest folders there deeper than any path can name. A file
    that cannot be read counts by its error, so that it still changes the digest.
    """
    path = Path(path)
    if not path.exists():
        return None
    h = hashlib.sha256()
    if path.is_file():
        files = [path]
    else:
        files = []
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in skip_parts)
            files += [Path(folder) / n for n in names if Path(n).suffix not in skip_suffixes]
        files = sorted(f for f in files if not set(skip_parts) & set(f.relative_to(path).parts))
    for f in files:
        h.update(str(f).encode())
        try:
            if f.is_file():
                h.update(f.read_bytes())
        except OSError as err:
            h.update(f"unreadable: {err.errno}".encode())
    return h.hexdigest()
