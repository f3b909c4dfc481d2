"""External files: the registry of remote files, checked and resumable downloads, checksums, archives and their guards."""
