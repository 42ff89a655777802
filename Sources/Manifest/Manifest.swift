// Filled by the manifest work.
