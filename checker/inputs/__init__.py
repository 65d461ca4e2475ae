"""Where bytes and documents come from: files, git revisions, stdin streams, the live cluster, image bundles and lists."""
