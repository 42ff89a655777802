// Filled by the loop work.
