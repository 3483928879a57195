// Implemented in the metadata store change.
