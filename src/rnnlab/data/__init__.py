"""Data: readers, vocabularies, batching, and tasks generated on the fly."""
